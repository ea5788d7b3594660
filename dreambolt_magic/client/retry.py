"""The one retry policy: which failures are worth another try, and how long to wait before it.

Modelled on urllib3's ``Retry`` and botocore's ``retries/standard.py``: an immutable policy, data tables of
what is retryable, exponential backoff with full jitter (AWS's recommended form) and a cap. ``random`` and
``sleep`` are injected so tests run on a fake clock. botocore's own retries are set to one attempt wherever
this policy wraps a call, so the two layers never multiply.
"""

from __future__ import annotations

import random as _random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar

__all__ = [
    "RETRYABLE_CODES",
    "RETRYABLE_STATUSES",
    "THROTTLING_CODES",
    "TRANSIENT_CODES",
    "RetryPolicy",
    "is_retryable",
]

T = TypeVar("T")

#: S3 (and STS) codes that mean "slow down": retried, and reported as S3RateLimit if they outlast the policy.
THROTTLING_CODES = frozenset(
    {
        "SlowDown",
        "ServiceUnavailable",
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "BandwidthLimitExceeded",
        "ProvisionedThroughputExceededException",
        "EC2ThrottledException",
    }
)

#: Codes for failures that a second try usually cures: server faults, and the loader's codes for
#: failures below HTTP (connection refused or reset, timeouts, a body cut short or too slow).
TRANSIENT_CODES = frozenset(
    {
        "InternalError",
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
        "IDPCommunicationError",
        "EndpointConnectionError",
        "ConnectTimeout",
        "ReadTimeout",
        "ConnectionClosed",
        "IncompleteBody",
        "TooSlow",
        "ChecksumMismatch",
    }
)

RETRYABLE_CODES = THROTTLING_CODES | TRANSIENT_CODES

#: HTTP statuses retried whatever the code (HEAD answers carry no code).
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


def is_retryable(code: str | None, status: int | None) -> bool:
    """Whether a failure with this S3 error code and HTTP status is worth another attempt."""
    return (code is not None and code in RETRYABLE_CODES) or (
        status is not None and status in RETRYABLE_STATUSES
    )


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts, and the backoff between them.

    The wait before attempt ``n + 1`` is uniform in ``[0, min(cap, base * 2 ** (n - 1))]``: "full jitter",
    which spreads clients that failed together so they do not retry together.
    """

    max_attempts: int = 5
    base: float = 0.2
    cap: float = 10.0
    random: Callable[[], float] = field(default=_random.random, repr=False, compare=False)
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.max_attempts, int) or self.max_attempts < 1:
            raise ValueError(f"max_attempts must be a whole number of at least 1, not {self.max_attempts!r}")
        if self.base < 0 or self.cap < 0:
            raise ValueError("base and cap must not be negative")

    def with_attempts(self, max_attempts: int) -> RetryPolicy:
        return replace(self, max_attempts=max_attempts)

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        ceiling = min(self.cap, self.base * (2 ** (attempt - 1)))
        return self.random() * ceiling

    def should_retry(self, attempt: int, code: str | None, status: int | None) -> bool:
        """Whether to try again after attempt ``attempt`` failed with this code and status."""
        return attempt < self.max_attempts and is_retryable(code, status)

    def call(
        self,
        fn: Callable[[int], T],
        *,
        classify: Callable[[BaseException], tuple[str | None, int | None] | None],
        on_retry: Callable[[int, BaseException, float], None] | None = None,
    ) -> T:
        """Run ``fn(attempt)`` until it succeeds or the policy gives up.

        ``classify`` turns an exception into its ``(code, status)``, or ``None`` for exceptions that are
        not ours to retry (they propagate at once, as does anything not retryable). ``on_retry(attempt,
        exc, wait)`` is told before each wait, so a progress bar can say why it is slow. The last exception
        propagates with an ``attempts`` attribute set to the number of attempts made.
        """
        attempt = 1
        while True:
            try:
                return fn(attempt)
            except Exception as exc:
                kind = classify(exc)
                if kind is None or not self.should_retry(attempt, *kind):
                    if hasattr(exc, "attempts"):
                        exc.attempts = attempt
                    raise
                wait = self.backoff(attempt)
                if on_retry is not None:
                    on_retry(attempt, exc, wait)
                self.sleep(wait)
                attempt += 1
