"""The retry policy on a fake clock: which failures are retried, how long it waits, when it gives up."""

from __future__ import annotations

import pytest

from dreambolt_magic.client.retry import RETRYABLE_STATUSES, THROTTLING_CODES, RetryPolicy, is_retryable
from dreambolt_magic.errors import S3AuthError, S3Error, S3NotFound, S3RateLimit


class FakeClock:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)


def policy(max_attempts: int = 5, rand: float = 1.0, **kw: float) -> tuple[RetryPolicy, FakeClock]:
    clock = FakeClock()
    return RetryPolicy(max_attempts=max_attempts, random=lambda: rand, sleep=clock.sleep, **kw), clock


def classify(exc: BaseException) -> tuple[str | None, int | None] | None:
    return (exc.code, exc.status) if isinstance(exc, S3Error) else None


def failing(errors: list[BaseException]):
    calls: list[int] = []

    def fn(attempt: int) -> str:
        calls.append(attempt)
        if errors:
            raise errors.pop(0)
        return "ok"

    return fn, calls


def test_backoff_is_exponential_and_capped() -> None:
    p, _ = policy(base=0.5, cap=3.0)
    assert [p.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_full_jitter_scales_the_ceiling() -> None:
    p, _ = policy(rand=0.25, base=1.0, cap=100.0)
    assert p.backoff(3) == pytest.approx(1.0)  # 0.25 * 4


def test_success_after_throttling_waits_between_attempts() -> None:
    p, clock = policy(base=0.1)
    fn, calls = failing([S3RateLimit(code="SlowDown", status=503)] * 2)
    assert p.call(fn, classify=classify) == "ok"
    assert calls == [1, 2, 3]
    assert clock.waits == pytest.approx([0.1, 0.2])


def test_gives_up_after_max_attempts_and_records_them() -> None:
    p, clock = policy(max_attempts=3)
    fn, calls = failing([S3RateLimit(code="SlowDown", status=503) for _ in range(5)])
    with pytest.raises(S3RateLimit) as info:
        p.call(fn, classify=classify)
    assert calls == [1, 2, 3]
    assert info.value.attempts == 3
    assert len(clock.waits) == 2


@pytest.mark.parametrize(
    "error",
    [
        S3NotFound(code="NoSuchKey", status=404),
        S3AuthError(code="AccessDenied", status=403),
        S3AuthError(code="InvalidAccessKeyId", status=403),
        S3AuthError(code="ExpiredToken", status=400),
    ],
)
def test_auth_and_not_found_are_never_retried(error: S3Error) -> None:
    p, clock = policy()
    fn, calls = failing([error])
    with pytest.raises(type(error)):
        p.call(fn, classify=classify)
    assert calls == [1]
    assert clock.waits == []
    assert error.attempts == 1


def test_foreign_exceptions_propagate_at_once() -> None:
    p, clock = policy()
    fn, calls = failing([KeyError("x")])
    with pytest.raises(KeyError):
        p.call(fn, classify=classify)
    assert calls == [1] and clock.waits == []


def test_on_retry_is_told_attempt_error_and_wait() -> None:
    p, _ = policy(rand=0.5, base=1.0)
    seen: list[tuple[int, str | None, float]] = []
    fn, _ = failing([S3Error(code="InternalError", status=500)])
    p.call(fn, classify=classify, on_retry=lambda a, e, w: seen.append((a, e.code, w)))
    assert seen == [(1, "InternalError", 0.5)]


@pytest.mark.parametrize("code", sorted(THROTTLING_CODES) + ["RequestTimeout", "InternalError", "ReadTimeout",
                                                             "IncompleteBody", "EndpointConnectionError"])
def test_retryable_codes(code: str) -> None:
    assert is_retryable(code, None)


@pytest.mark.parametrize("status", sorted(RETRYABLE_STATUSES))
def test_retryable_statuses_without_code(status: int) -> None:
    assert is_retryable(None, status)


@pytest.mark.parametrize(
    ("code", "status"),
    [("NoSuchKey", 404), ("AccessDenied", 403), ("InvalidAccessKeyId", 403), ("SignatureDoesNotMatch", 403),
     ("PermanentRedirect", 301), (None, 400), ("ParseError", None), (None, None)],
)
def test_not_retryable(code: str | None, status: int | None) -> None:
    assert not is_retryable(code, status)


@pytest.mark.parametrize("bad", [0, -1, 1.5])
def test_policy_rejects_bad_attempt_counts(bad: object) -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=bad)  # type: ignore[arg-type]


def test_default_policy_is_five_attempts_with_a_cap() -> None:
    p = RetryPolicy()
    assert p.max_attempts == 5
    assert max(p.backoff(n) for n in range(1, 30)) <= p.cap
