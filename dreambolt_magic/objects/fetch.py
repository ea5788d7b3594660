"""One object's requests, through the client's funnel: its HEAD (for the cache) and its download (the transfer,
retried, in the bucket's region with one redirect followed, read again once if the object changes or its bytes
fail its stored checksum)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from dreambolt_magic.client.calls import call_in, in_region, s3_errors
from dreambolt_magic.client.connection import Connection
from dreambolt_magic.client.params import object_params
from dreambolt_magic.client.retry import RetryPolicy
from dreambolt_magic.client.translation import classify
from dreambolt_magic.errors import S3AuthError
from dreambolt_magic.objects.parquetplan import ParquetPlan
from dreambolt_magic.objects.textplan import TextPlan
from dreambolt_magic.options import CustomerKey
from dreambolt_magic.transfer.engine import ObjectChangedSignal, Transfer
from dreambolt_magic.transfer.progress import Progress
from dreambolt_magic.uri import S3Uri

__all__ = ["download", "head_object", "retry_reporter"]


def head_object(
    conn: Connection, target: S3Uri, region: str, policy: RetryPolicy, bar: Progress,
    customer_key: CustomerKey | None = None,
) -> tuple[dict[str, Any], str, int]:
    """One HeadObject through the funnel: the answer, the region that gave it and the attempts made."""
    params = object_params(target, customer_key)
    attempts = 0

    def counted(answer: Any) -> dict[str, Any]:
        nonlocal attempts
        attempts += 1
        return dict(answer)

    on_retry = retry_reporter(policy, bar)

    def counting(attempt: int, exc: BaseException, wait: float) -> None:
        nonlocal attempts
        attempts += 1
        on_retry(attempt, exc, wait)

    answered: list[str] = []

    def in_one(chosen: str) -> dict[str, Any]:
        answered.append(chosen)
        return call_in(conn, "HeadObject", region=chosen, policy=policy, on_retry=counting, read=counted, **params)

    answer = in_region(conn, target.bucket, region, in_one)
    return answer, answered[-1], attempts


def download(
    conn: Connection,
    transfer: Transfer,
    region: str,
    policy: RetryPolicy,
    bar: Progress,
    *,
    plan: ParquetPlan | TextPlan | None = None,
) -> str:
    """Download with retries, in the bucket's region (one redirect followed). Returns the region that answered.

    The main stream's attempts are retried here (it is the request a redirect or a refusal answers first);
    the parts run under the same policy in the transfer's workers. An object that changes while it is
    read is read again from the start, once.
    """
    on_retry = retry_reporter(policy, bar)

    def in_one(chosen: str) -> str:
        client = conn.client(chosen)
        transfer.errors = partial(s3_errors, operation="GetObject", conn=conn, region=chosen)

        def attempt(_: int) -> None:
            with transfer.errors():
                transfer.run(client)

        while True:
            try:
                policy.call(attempt, classify=classify, on_retry=on_retry)
                transfer.join()
                transfer.verify()
                # A text object fetched whole in its first request still has only its rows decompressed.
                if plan is not None and (transfer.sparse or isinstance(plan, TextPlan)):
                    plan.fetch(transfer, client)
                return chosen
            except ObjectChangedSignal as signal:
                transfer.restart(signal)  # or ObjectChanged, the second time

    try:
        return in_region(conn, transfer.target.bucket, region, in_one)
    except S3AuthError as exc:
        if conn.signed or conn.unsigned_reason != "no credentials were found":
            raise
        # The unsigned try of an object that turned out not to be public.
        raise S3AuthError(
            "no AWS credentials were found, and the object is not public",
            code="NoCredentials",
            status=exc.status,
            hints={"profile": conn.profile, "unsigned_tried": True, "server_code": exc.code},
        ) from exc


def retry_reporter(policy: RetryPolicy, bar: Progress) -> Callable[[int, BaseException, float], None]:
    def report(attempt: int, exc: BaseException, wait: float) -> None:
        reason = getattr(exc, "code", None) or type(exc).__name__
        bar.retrying(attempt, policy.max_attempts, reason, wait)

    return report
