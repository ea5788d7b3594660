"""The load of one object: an S3 URI in, its frame (or Arrow table) and its provenance out.

:func:`load_object` finds the bucket's region, decides what to fetch (the whole object, or a plan's ranges:
:mod:`~dreambolt_magic.objects.parquetplan`, :mod:`~dreambolt_magic.objects.textplan`), runs the transfer
under the load's retry policy, through the client's funnel (:mod:`dreambolt_magic.client.calls`), parses the
bytes (overlapped with the download where that wins: :mod:`~dreambolt_magic.objects.overlap`) and keeps them
in the cache if asked. The public :func:`dreambolt_magic.load` validates once and dispatches here for one
object; the set loader calls it for each of a set's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from dreambolt_magic.client import redaction
from dreambolt_magic.client.calls import bucket_region, call_in, in_region, s3_errors
from dreambolt_magic.client.connection import Connection, endpoint_from_env
from dreambolt_magic.client.connection import forget as forget_connections
from dreambolt_magic.client.retry import RetryPolicy
from dreambolt_magic.client.translation import classify
from dreambolt_magic.errors import S3AuthError, S3Error
from dreambolt_magic.formats import readers
from dreambolt_magic.objects import overlap, textplan
from dreambolt_magic.objects.cache import Cache, open_cache
from dreambolt_magic.objects.overlap import OverlappedParse
from dreambolt_magic.objects.parquetplan import ParquetPlan, can_prune
from dreambolt_magic.objects.textplan import TextPlan
from dreambolt_magic.transfer import memory
from dreambolt_magic.transfer.checksums import VERIFIED
from dreambolt_magic.transfer.engine import ObjectChangedSignal, Transfer
from dreambolt_magic.transfer.parts import DEFAULT_CONCURRENCY
from dreambolt_magic.transfer.progress import (
    CancelFlag,
    NoProgress,
    Progress,
    TqdmProgress,
    cancellable_sleep,
    check_cancel,
)
from dreambolt_magic.uri import S3Uri
from dreambolt_magic.uri import parse as parse_uri

if TYPE_CHECKING:
    import os

    import pandas as pd

    from dreambolt_magic.formats.rowgroups import RowFilter

__all__ = ["load_object", "progress_for"]


def load_object(
    uri: str | S3Uri,
    *,
    format: str | None = None,
    columns: Sequence[str] | str | None = None,
    nrows: int | None = None,
    region: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
    anon: bool = False,
    max_attempts: int = 5,
    progress: bool | Progress = True,
    unsigned_fallback: bool = True,
    connect_timeout: float = 5.0,
    read_timeout: float = 15.0,
    cancel: CancelFlag | None = None,
    max_concurrency: int = DEFAULT_CONCURRENCY,
    part_size: int | None = None,
    force: bool = False,
    memory_limit: int | None = None,
    row_filter: RowFilter | None = None,
    listed_etag: str | None = None,
    listed_size: int | None = None,
    connection: Connection | None = None,
    cache: bool | str | os.PathLike[str] | Cache | None = None,
    defer: bool = False,
    **read_options: Any,
) -> tuple[pd.DataFrame | readers.Decoded, dict[str, Any]]:
    """One object, as :func:`load` reads it (the same options), and what goes in its ``df.attrs["s3"]``.

    With ``defer``, a Parquet file's table may come back not yet converted into pandas
    (:class:`~dreambolt_magic.formats.readers.Decoded`): the set loader converts its files' tables at once.
    """
    started = time.monotonic()
    redaction.install()  # before botocore logs its first signed request
    target = uri if isinstance(uri, S3Uri) else parse_uri(uri)
    cols = readers.column_list(columns)
    if nrows is not None and (isinstance(nrows, bool) or not isinstance(nrows, int) or nrows < 0):
        raise ValueError(f"nrows must be a whole number of at least 0, not {nrows!r}")
    if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int) or max_concurrency < 1:
        raise ValueError(f"max_concurrency must be a whole number of at least 1, not {max_concurrency!r}")
    if part_size is not None and (isinstance(part_size, bool) or not isinstance(part_size, int) or part_size < 1):
        raise ValueError(f"part_size must be a whole number of bytes of at least 1, not {part_size!r}")
    policy = RetryPolicy(max_attempts=max_attempts, sleep=cancellable_sleep(cancel))
    bar = progress_for(progress)
    endpoint = endpoint_url or target.endpoint or endpoint_from_env()
    context = {"uri": str(target), "bucket": target.bucket, "key": target.key, "endpoint": endpoint}
    transfer: Transfer | None = None
    parse: OverlappedParse | None = None
    conn: Connection | None = None
    try:
        if format is not None:
            format = readers.normalize_format(format, key=target.key)  # before any download
        bar.start(None, target.name)
        conn = connection if connection is not None and connection.endpoint_url == endpoint else Connection.lease(
            profile=profile,
            endpoint_url=endpoint,
            anon=anon,
            unsigned_fallback=unsigned_fallback,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_pool_connections=max_concurrency + 2,
        )
        chosen = region or target.region or bucket_region(conn, target.bucket, policy, _on_retry(policy, bar))
        context["region"] = chosen
        store = open_cache(cache)
        if store is not None:
            store.check_directory()  # before any request: a directory we refuse fails the load at once
        where = (conn.endpoint_url, target.bucket, target.key, target.version_id)
        cached: memoryview | None = None
        listed = store.entry(*where) if store is not None and listed_etag is not None else None
        if store is not None and listed is not None and listed.etag == listed_etag:
            # A listing has just given the object's ETag, and the entry has it: no HEAD needed.
            head, head_attempts = listed.head(), 0
            cached = store.get(*where, etag=listed_etag)
        elif store is not None and listed_etag is None and store.has(*where):
            # The object's current ETag decides whether the entry is still the object.
            head, chosen, head_attempts = _head(conn, target, chosen, policy, bar)
            context["region"] = chosen
            cached = store.get(*where, etag=head.get("ETag"))
        if cached is not None:
            size = len(cached)
            memory.check(memory.estimate(size), limit=memory_limit, force=force, what="object", size=size)
            bar.start(size, f"{target.name} (cached)")
            bar.advance(size)
            check_cancel(cancel)
            frame = readers.read(cached, key=target.key, format=format, columns=cols, nrows=nrows, **read_options)
            modified = head.get("LastModified")
            fetched: dict[str, Any] = {
                "etag": head.get("ETag"),
                "version_id": head.get("VersionId") or target.version_id,
                "last_modified": modified.isoformat() if isinstance(modified, datetime) else modified,
                "size": size,
                "bytes_fetched": 0,
                "attempts": head_attempts,
                "checksum": None,
            }
        else:
            # With a cache the whole object is fetched (no Parquet pruning), so that the entry is the object.
            pruning = store is None and can_prune(target.key, format, columns=cols, nrows=nrows,
                                                          row_filter=row_filter)
            plan: ParquetPlan | TextPlan | None = (
                ParquetPlan(cols, nrows, row_filter, size=listed_size) if pruning else None
            )
            if store is None and nrows is not None and textplan.can_stream(target.key, format, nrows=nrows,
                                                                           options=read_options):
                plan = TextPlan(target.key, format, columns=cols, nrows=nrows, options=read_options)
            transfer = Transfer(
                target,
                bar,
                cancel,
                retry=lambda fn: policy.call(fn, classify=classify, on_retry=_on_retry(policy, bar)),
                part_size=part_size,
                max_concurrency=max_concurrency,
                # A pruned read starts with the plan's first bytes; the answer's Content-Range gives the size.
                first_bytes=None if plan is None else plan.first_bytes,
                first_range=None if plan is None else plan.first_range,
                force=force,
                memory_limit=memory_limit,
            )
            if plan is None and overlap.can_overlap(target.key, format, columns=cols, nrows=nrows,
                                                    options=read_options):
                if overlap.parallel_path_reads():
                    transfer.file_from = overlap.MIN_SIZE  # parsed by path, on several threads, once it is whole
                else:
                    parse = OverlappedParse(transfer, target.key, format, read_options)
                    parse.start()
            with transfer.watching():  # a cancel ends even a read that a stalled server holds
                chosen = _fetch(conn, transfer, chosen, policy, bar, plan=plan)
            context["region"] = chosen
            check_cancel(cancel)
            if store is not None and not transfer.sparse:
                store.put(*where, transfer.data, etag=transfer.etag, object_version=transfer.version_id,
                          last_modified=transfer.last_modified, checksum=transfer.checksum,
                          verified=transfer.checked == VERIFIED)
            # A parse that ran ahead may have finished on the bytes of an attempt that was then read again
            # (damaged, or another object): only the last attempt's bytes are parsed.
            parsed = parse.finish(ok=not transfer.restarted) if parse is not None else None
            if parsed is not None:
                frame = parsed  # parsed while it downloaded
            elif isinstance(plan, TextPlan) and plan.frame is not None:
                frame = plan.frame  # the rows asked for, parsed from the start of the object
            else:
                row_groups = plan.row_groups if isinstance(plan, ParquetPlan) else None
                pruned = isinstance(plan, ParquetPlan) and plan.pruned
                if defer and transfer.path is None:
                    frame = readers.decode(transfer.data, key=target.key, format=format, columns=cols, nrows=nrows,
                                           row_groups=row_groups, pruned=pruned, **read_options)
                else:
                    frame = readers.read(transfer.data, key=target.key, format=format, columns=cols, nrows=nrows,
                                         row_groups=row_groups, path=transfer.path, pruned=pruned, **read_options)
            transfer.release()
            fetched = {
                "etag": transfer.etag,
                "version_id": transfer.version_id,
                "last_modified": transfer.last_modified,
                "size": transfer.size,
                "bytes_fetched": transfer.fetched,
                "attempts": transfer.attempts,
                "checksum": transfer.checked,
            }
        context["region"] = chosen
    except S3Error as exc:
        if parse is not None:
            parse.finish(ok=False)
        _abort(transfer)
        bar.finish(ok=False)
        _fill(exc, context)
        if isinstance(exc, S3AuthError):
            # Credentials whose sources the kept connections do not watch (an SSO login, say) may have
            # changed by the next load: it reads them afresh.
            forget_connections()
        raise
    except BaseException:
        if parse is not None:
            parse.finish(ok=False)
        _abort(transfer)
        bar.finish(ok=False)
        raise
    finally:
        if conn is not None and conn is not connection:
            conn.release()  # kept for the next load
    bar.finish(ok=True)
    return frame, {
        "uri": str(target),
        "bucket": target.bucket,
        "key": target.key,
        "region": chosen,
        "endpoint": conn.endpoint_url,
        **fetched,
        "signed": conn.signed,
        "unsigned_reason": conn.unsigned_reason,
        "cached": cached is not None,
        "elapsed": round(time.monotonic() - started, 6),
    }


# --- download ------------------------------------------------------------------------------------------


def _head(
    conn: Connection, target: S3Uri, region: str, policy: RetryPolicy, bar: Progress
) -> tuple[dict[str, Any], str, int]:
    """One HeadObject through the funnel: the answer, the region that gave it and the attempts made."""
    params: dict[str, Any] = {"Bucket": target.bucket, "Key": target.key}
    if target.version_id:
        params["VersionId"] = target.version_id
    attempts = 0

    def counted(answer: Any) -> dict[str, Any]:
        nonlocal attempts
        attempts += 1
        return dict(answer)

    on_retry = _on_retry(policy, bar)

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


def _fetch(
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
    on_retry = _on_retry(policy, bar)

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
                if plan is not None and transfer.sparse:
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


def _abort(transfer: Transfer | None) -> None:
    if transfer is not None:
        transfer.abort()


def _on_retry(policy: RetryPolicy, bar: Progress) -> Callable[[int, BaseException, float], None]:
    def report(attempt: int, exc: BaseException, wait: float) -> None:
        reason = getattr(exc, "code", None) or type(exc).__name__
        bar.retrying(attempt, policy.max_attempts, reason, wait)

    return report


def progress_for(progress: bool | Progress) -> Progress:
    if progress is True:
        return TqdmProgress()
    if progress is False or progress is None:
        return NoProgress()
    return progress


def _fill(exc: S3Error, context: dict[str, Any]) -> None:
    for name, value in context.items():
        if getattr(exc, name, None) is None:
            setattr(exc, name, value)


