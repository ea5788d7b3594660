"""The one funnel every S3 call goes through: one retry policy, one translation, one region redirect.

Like s3fs's ``_call_s3`` and httpx's ``map_httpcore_exceptions``:

- :func:`s3_errors` is the translation: within it, a botocore exception becomes one of ours
  (:func:`~dreambolt_magic.client.translation.translate`), raised from it. Nothing outside ``client/``
  inspects a botocore exception; the transfer engine reads the status of ours.
- :func:`in_region` is the redirect: ``fn(region)``, and once more in the region S3 names if it answers
  that the bucket lives elsewhere (the region is remembered for the bucket).
- :func:`call` is both, with the retry policy between them, for one request with no body to stream
  (HeadBucket, HeadObject, ListObjectsV2, ListBuckets, a small ranged GET read at once).
- :func:`bucket_region` finds a bucket's region once (HeadBucket) and keeps it, unless the bucket fixes it
  (an access point ARN, a directory bucket's zone: :func:`~dreambolt_magic.uri.named_region`).

A download's GET streams its body for a while after the answer's headers: the transfer engine runs its
attempts under the same policy and inside :func:`s3_errors`, and the object loader wraps its whole fetch in
:func:`in_region`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import botocore.exceptions as bce
from botocore import xform_name

from dreambolt_magic.client.regions import detect_region, region_cache
from dreambolt_magic.client.translation import classify, translate
from dreambolt_magic.errors import S3RegionError, class_for
from dreambolt_magic.uri import access_point, named_region

if TYPE_CHECKING:
    from dreambolt_magic.client.connection import Connection
    from dreambolt_magic.client.retry import RetryPolicy

__all__ = ["OnRetry", "bucket_region", "call", "call_in", "in_region", "s3_errors"]

T = TypeVar("T")
#: Told before each wait between attempts: ``(attempt, the error, seconds to wait)``.
OnRetry = Callable[[int, BaseException, float], None]


@contextmanager
def s3_errors(
    *, operation: str, conn: Connection | None = None, bucket: str | None = None, region: str | None = None
) -> Iterator[None]:
    """Within, a botocore exception is raised as ours (from it), with the call's context."""
    try:
        yield
    except (bce.BotoCoreError, bce.ClientError) as exc:
        raise translate(exc, bucket=bucket, region=region, operation=operation, conn=conn) from exc


def in_region(conn: Connection, bucket: str, region: str, fn: Callable[[str], T]) -> T:
    """``fn(region)``; if S3 answers that ``bucket`` lives in another region it names, ``fn`` in that one (once)."""
    try:
        return fn(region)
    except S3RegionError as exc:
        named = exc.hints.get("bucket_region")
        if not named or named == region:
            raise
        region_cache.set(conn.endpoint_url, bucket, named)
        return fn(named)


def call(
    conn: Connection,
    operation: str,
    *,
    region: str,
    policy: RetryPolicy,
    on_retry: OnRetry | None = None,
    read: Callable[[Any], T] | None = None,
    **params: Any,
) -> T:
    """One S3 request: ``client.<method>(**params)`` for ``operation`` (``"HeadObject"`` calls ``head_object``),
    retried under ``policy``, translated, and one region redirect followed for ``params["Bucket"]``.

    ``read`` turns the answer into the result inside the attempt (a body read at once is part of it, so a
    body that breaks is retried too); by default the answer itself is the result.
    """
    bucket = params.get("Bucket")

    def in_one(chosen: str) -> T:
        return call_in(conn, operation, region=chosen, policy=policy, on_retry=on_retry, read=read, **params)

    return in_one(region) if bucket is None else in_region(conn, bucket, region, in_one)


def call_in(
    conn: Connection,
    operation: str,
    *,
    region: str,
    policy: RetryPolicy,
    on_retry: OnRetry | None = None,
    read: Callable[[Any], T] | None = None,
    **params: Any,
) -> T:
    """:func:`call` in ``region`` alone, no redirect followed (for a caller that wraps its own :func:`in_region`)."""
    client = conn.client(region)
    method = xform_name(operation)

    def attempt(_: int) -> T:
        with s3_errors(operation=operation, conn=conn, bucket=params.get("Bucket"), region=region):
            answer = getattr(client, method)(**params)
            return read(answer) if read is not None else answer

    return policy.call(attempt, classify=classify, on_retry=on_retry)


def bucket_region(conn: Connection, bucket: str, policy: RetryPolicy, on_retry: OnRetry | None = None) -> str:
    """The bucket's region: the one it fixes, from the cache, else one HeadBucket (retried under ``policy``),
    else the default."""
    # botocore sends an access point ARN's requests to the ARN's region, and a directory bucket's to its zone's
    # endpoint in the client's region: there is nothing to ask, and a HeadBucket from another region would go
    # to a zonal host that does not exist.
    fixed = named_region(bucket)
    if fixed:
        return fixed
    if access_point(bucket) is not None:
        # A Multi-Region Access Point has no region: botocore signs for all of them ("*") whatever the client's.
        return conn.default_region
    cached = region_cache.get(conn.endpoint_url, bucket)
    if cached:
        return cached
    client = conn.client(conn.default_region)

    def attempt(_: int) -> tuple[str | None, int | None]:
        with s3_errors(operation="HeadBucket", conn=conn, bucket=bucket):
            return detect_region(client, bucket)

    found, status = policy.call(attempt, classify=classify, on_retry=on_retry)
    if found:
        region_cache.set(conn.endpoint_url, bucket, found)
        return found
    if status == 404:
        # HeadBucket answers have no body; this one means the bucket does not exist.
        raise class_for("NoSuchBucket", 404)(code="NoSuchBucket", status=404, bucket=bucket,
                                              operation="HeadBucket")
    if status is not None and 200 <= status < 300:
        # A store that names no region (s3rver, some MinIO set-ups) answers the same every time: ask once.
        region_cache.set(conn.endpoint_url, bucket, conn.default_region)
    return conn.default_region
