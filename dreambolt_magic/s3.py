"""The loader: an S3 URI in, a pandas DataFrame out.

``load()`` parses the URI, finds the credentials and the bucket's region, downloads the object with one
retry policy of ours (resuming a body that breaks mid-way), checks and parses the bytes, and records where
the frame came from in ``df.attrs["s3"]``. Every botocore exception is translated into one of ours where
it is met, once (:func:`~dreambolt_magic.translation.translate`); nothing else handles botocore's errors.
``load_object()`` is the load of one object with its provenance apart: the set loader's way in, which may
leave a Parquet file's table to be converted into pandas with the set's others.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import botocore.exceptions as bce

from dreambolt_magic import logs, memory, overlap, readers, textplan
from dreambolt_magic.cache import Cache, open_cache
from dreambolt_magic.checksums import VERIFIED
from dreambolt_magic.connection import Connection, endpoint_from_env
from dreambolt_magic.connection import forget as forget_connections
from dreambolt_magic.errors import (
    S3AuthError,
    S3Error,
    S3RegionError,
    class_for,
)
from dreambolt_magic.overlap import OverlappedParse
from dreambolt_magic.parquetplan import ParquetPlan, can_prune
from dreambolt_magic.parts import DEFAULT_CONCURRENCY
from dreambolt_magic.progress import CancelFlag, NoProgress, Progress, TqdmProgress, cancellable_sleep, check_cancel
from dreambolt_magic.regions import detect_region, region_cache
from dreambolt_magic.retry import RetryPolicy
from dreambolt_magic.textplan import TextPlan
from dreambolt_magic.transfer import ObjectChangedSignal, Transfer
from dreambolt_magic.translation import classify, translate
from dreambolt_magic.uri import S3Uri, parse

if TYPE_CHECKING:
    import os

    import pandas as pd

    from dreambolt_magic.rowgroups import RowFilter

__all__ = [
    "Connection",
    "bucket_region",
    "classify",
    "endpoint_from_env",
    "human_bytes",
    "load",
    "load_object",
    "parse_uri",
    "summarize",
    "translate",
]


def parse_uri(text: str) -> S3Uri:
    """Parse ``s3://bucket/key`` (or an ``s3a://``, virtual-hosted or path-style https URL) into an S3Uri."""
    return parse(text)


def load(
    uri: str | S3Uri | Sequence[str | S3Uri],
    *,
    format: str | None = None,
    columns: Sequence[str] | str | None = None,
    nrows: int | None = None,
    sample: int | None = None,
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
    source_column: str | None = None,
    filter: str | None = None,
    row_filter: RowFilter | None = None,
    listed_etag: str | None = None,
    listed_size: int | None = None,
    connection: Connection | None = None,
    cache: bool | str | os.PathLike[str] | Cache | None = None,
    engine: str = "pandas",
    **read_options: Any,
) -> pd.DataFrame:
    """Load one S3 object into a pandas DataFrame.

    Parameters
    ----------
    uri:
        ``s3://bucket/key``, ``s3a://...``, ``https://bucket.s3.REGION.amazonaws.com/key``, a path-style
        URL, or any of these with ``?versionId=...``. Several objects load into one frame: a list of
        URIs, a glob (``s3://b/logs/2024-*/*.csv.gz``, ``**`` across folders) or a prefix ending in ``/``
        (see :func:`dreambolt_magic.dataset.load_many`, which takes the same options and a few more).
    format:
        ``parquet``, ``csv``, ``tsv``, ``json``, ``jsonl`` or ``feather``; by default taken from the key's
        extension (compression ``.gz``, ``.bz2``, ``.xz``, ``.zst`` too), else sniffed from the bytes.
    columns, nrows:
        Read only these columns (a list, or ``"a,b"``) and only the first ``nrows`` rows.
    sample:
        A first look: the first ``sample`` rows, of the first objects of a set, fetching as little as that
        takes (see :mod:`dreambolt_magic.sampling`); ``df.attrs["s3"]["sample"]`` says it is one. Not with
        ``nrows``.
    region:
        Sign for this region. By default: a region in the URL, else the bucket's own region as S3 reports
        it (cached per bucket).
    profile, endpoint_url, anon:
        A named AWS profile; an S3-compatible endpoint (``AWS_ENDPOINT_URL_S3`` and ``AWS_ENDPOINT_URL``
        are honoured too); unsigned requests, for public buckets.
    max_attempts:
        Attempts per request, with exponential backoff and full jitter between them.
    progress:
        ``True`` for a tqdm bar (a widget in Jupyter), ``False`` for none, or a :class:`Progress`.
    unsigned_fallback:
        With no credentials configured at all, try the object unsigned once (it may be public).
    connect_timeout, read_timeout:
        Seconds before a connection attempt, or a read that receives nothing, counts as failed.
    cancel:
        A ``threading.Event`` (or anything with ``is_set()`` and ``wait()``); once it is set the load
        stops at the next check (between 64 KiB slices of the body, between attempts, during backoff
        waits) and raises :class:`~dreambolt_magic.progress.Cancelled`.
    max_concurrency, part_size:
        Connections in flight for one object, and the bytes each ranged GET asks for. An object under
        8 MiB is read by one GET; a larger one starts as one stream and, if that stream is slow, goes on
        in parts of 4-64 MiB (about two per connection; fewer and longer where each request waits long for
        its first byte) unless ``part_size`` is given;
        ``max_concurrency=1`` reads every object with one stream.
    force, memory_limit:
        Before the body is read, the object's size (for a Parquet read of some columns or rows, their size
        as the footer gives it) is compared with the memory available, or with ``memory_limit`` bytes if
        given; a load that would not fit raises :class:`~dreambolt_magic.errors.S3TooLarge` unless
        ``force=True``.
    source_column, filter:
        For a set of objects (see below): a column naming each row's object, and a restricted expression
        (``"year == 2024"``) that prunes Hive partitions before download and then filters the rows.
    row_filter:
        For one Parquet object: skip the row groups whose footer statistics prove that no row can match
        (a :class:`~dreambolt_magic.rowgroups.RowFilter`; the set loader passes its ``filter`` here). The
        rows of the groups read are not filtered: that is the caller's part.
    cache:
        Keep the object's bytes on disk (:mod:`dreambolt_magic.cache`): ``True`` in the default directory
        (``$XDG_CACHE_HOME/dreambolt_magic`` or ``~/.cache/dreambolt_magic``), a path for that directory,
        or a :class:`~dreambolt_magic.cache.Cache` (to set its size limit). A cached object costs one HEAD
        (its current ETag) and no GET; a changed one is fetched again. With a cache the whole object is
        fetched, even for a Parquet read of some columns, so that the next load of any columns is a hit.
        ``df.attrs["s3"]["cached"]`` tells whether the bytes came from the cache.
    listed_etag, listed_size:
        The object's ETag and size as a listing has just given them (the set loader passes them): with a
        cache, an entry with this ETag is used without the HEAD; a pruned Parquet read starts with the file's
        end, one request fewer (an object of another size by then is read as if no size were given).
    connection:
        A :class:`Connection` to use rather than open one (the set loader shares one across its objects: a
        client takes longer to make than a small object to load). Its credentials and settings replace
        ``profile``, ``anon``, ``unsigned_fallback`` and the timeouts; it is used only for its own endpoint.
    engine:
        ``"pandas"`` (the default); ``"dask"`` for a lazy dask DataFrame with one partition per object, read
        on the workers by this function with these settings; ``"polars"`` for a polars DataFrame. The
        others need ``pip install 'dreambolt_magic[dask]'`` (or ``[polars]``); see
        :mod:`dreambolt_magic.engines`. An unknown name is a ValueError.
    read_options:
        Passed to the parser (e.g. ``sep=";"``, ``encoding="latin-1"`` for CSV).

    Raises
    ------
    S3Error
        One of its subclasses, with ``explanation`` and ``remedy``; nothing partial is returned.
    """
    if engine != "pandas":
        from dreambolt_magic import engines

        if sample is not None:
            if engine == "dask":
                raise ValueError("sample is for an in-memory frame; with engine='dask' use nrows=N, which gives "
                                 "the first N rows as a lazy frame")
            read_options["sample"] = sample
        return engines.load(
            uri, engine=engine, format=format, columns=columns, nrows=nrows, region=region, profile=profile,
            endpoint_url=endpoint_url, anon=anon, max_attempts=max_attempts, progress=progress,
            unsigned_fallback=unsigned_fallback, connect_timeout=connect_timeout, read_timeout=read_timeout,
            cancel=cancel, max_concurrency=max_concurrency, part_size=part_size, force=force,
            memory_limit=memory_limit, source_column=source_column, filter=filter, cache=cache, **read_options,
        )
    if (not isinstance(uri, (str, S3Uri)) or _is_many(uri) or source_column is not None or filter is not None
            or sample is not None):
        # A list of URIs, a glob (a key with *) or a prefix (a key ending in /): one frame from many objects.
        from dreambolt_magic import dataset

        return dataset.load_many(
            uri, format=format, columns=columns, nrows=nrows, region=region, profile=profile,
            endpoint_url=endpoint_url, anon=anon, max_attempts=max_attempts, progress=progress,
            unsigned_fallback=unsigned_fallback, connect_timeout=connect_timeout, read_timeout=read_timeout,
            cancel=cancel, max_concurrency=max_concurrency, part_size=part_size, force=force,
            memory_limit=memory_limit, source_column=source_column, filter=filter, cache=cache, sample=sample,
            **read_options,
        )
    frame, info = load_object(
        uri, format=format, columns=columns, nrows=nrows, region=region, profile=profile, endpoint_url=endpoint_url,
        anon=anon, max_attempts=max_attempts, progress=progress, unsigned_fallback=unsigned_fallback,
        connect_timeout=connect_timeout, read_timeout=read_timeout, cancel=cancel, max_concurrency=max_concurrency,
        part_size=part_size, force=force, memory_limit=memory_limit, row_filter=row_filter,
        listed_etag=listed_etag, listed_size=listed_size, connection=connection, cache=cache, **read_options,
    )
    assert not isinstance(frame, readers.Decoded)  # only load_object(defer=True) gives one
    frame.attrs["s3"] = info
    return frame


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
    (:class:`~dreambolt_magic.readers.Decoded`): the set loader converts its files' tables at once.
    """
    started = time.monotonic()
    logs.install()  # before botocore logs its first signed request
    target = uri if isinstance(uri, S3Uri) else parse_uri(uri)
    cols = readers.column_list(columns)
    if nrows is not None and (isinstance(nrows, bool) or not isinstance(nrows, int) or nrows < 0):
        raise ValueError(f"nrows must be a whole number of at least 0, not {nrows!r}")
    if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int) or max_concurrency < 1:
        raise ValueError(f"max_concurrency must be a whole number of at least 1, not {max_concurrency!r}")
    if part_size is not None and (isinstance(part_size, bool) or not isinstance(part_size, int) or part_size < 1):
        raise ValueError(f"part_size must be a whole number of bytes of at least 1, not {part_size!r}")
    policy = RetryPolicy(max_attempts=max_attempts, sleep=cancellable_sleep(cancel))
    bar = _progress(progress)
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
        chosen = region or target.region or bucket_region(conn, target.bucket, policy, bar)
        context["region"] = chosen
        store = open_cache(cache)
        if store is not None:
            store.check_directory()  # before any request: a directory we refuse fails the load at once
        explicit = bool(region or target.region)
        where = (conn.endpoint_url, target.bucket, target.key, target.version_id)
        cached: memoryview | None = None
        listed = store.entry(*where) if store is not None and listed_etag is not None else None
        if store is not None and listed is not None and listed.etag == listed_etag:
            # A listing has just given the object's ETag, and the entry has it: no HEAD needed.
            head, head_attempts = listed.head(), 0
            cached = store.get(*where, etag=listed_etag)
        elif store is not None and listed_etag is None and store.has(*where):
            # The object's current ETag decides whether the entry is still the object.
            head, chosen, head_attempts = _head(conn, target, chosen, policy, bar, explicit=explicit)
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
                chosen = _fetch(conn, transfer, chosen, policy, bar, explicit=explicit, plan=plan)
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


def summarize(frame: pd.DataFrame) -> str:
    """One line about a loaded frame: rows x columns, bytes, elapsed, MB/s, region, how it was signed."""
    info = frame.attrs.get("s3", {})
    size = info.get("bytes_fetched") or 0
    elapsed = info.get("elapsed") or 0.0
    rate = f"{size / elapsed / 1e6:,.1f} MB/s" if elapsed > 0 else "n/a"
    rows, cols = frame.shape
    parts = [
        f"{rows:,} rows x {cols:,} columns",
        human_bytes(size),
        f"{elapsed:.2f} s",
        rate,
        f"region {info.get('region') or 'unknown'}",
    ]
    if info.get("signed") is False:
        parts.append(f"unsigned ({info.get('unsigned_reason')})")
    if (info.get("attempts") or 1) > 1:
        parts.append(f"{info['attempts']} attempts")
    count = f" ({info['object_count']:,} objects)" if "object_count" in info else ""
    if info.get("sample"):
        objects = info.get("object_count") or 1
        count = f" (sample: the first {info['sample']:,} rows, from {objects:,} object{'s' if objects != 1 else ''})"
    return f"Loaded {info.get('uri', 'the object')}{count}: " + " · ".join(parts)


# --- region --------------------------------------------------------------------------------------------


def bucket_region(conn: Connection, bucket: str, policy: RetryPolicy, bar: Progress) -> str:
    """The bucket's region: from the cache, else one HeadBucket (retried under ``policy``), else the default."""
    cached = region_cache.get(conn.endpoint_url, bucket)
    if cached:
        return cached
    client = conn.client(conn.default_region)

    def attempt(_: int) -> tuple[str | None, int | None]:
        try:
            return detect_region(client, bucket)
        except (bce.BotoCoreError, bce.ClientError) as exc:
            raise translate(exc, bucket=bucket, operation="HeadBucket", conn=conn) from exc

    found, status = policy.call(attempt, classify=classify, on_retry=_on_retry(policy, bar))
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


# --- download ------------------------------------------------------------------------------------------


def _head(
    conn: Connection, target: S3Uri, region: str, policy: RetryPolicy, bar: Progress, *, explicit: bool
) -> tuple[dict[str, Any], str, int]:
    """One HeadObject (retried; one region redirect followed): the answer, the region and the attempts."""
    params: dict[str, Any] = {"Bucket": target.bucket, "Key": target.key}
    if target.version_id:
        params["VersionId"] = target.version_id
    attempts = 0
    redirected = False
    while True:
        client = conn.client(region)

        def attempt(_: int, client: Any = client, region: str = region) -> dict[str, Any]:
            nonlocal attempts
            attempts += 1
            try:
                return dict(client.head_object(**params))
            except (bce.BotoCoreError, bce.ClientError) as exc:
                raise translate(exc, bucket=target.bucket, region=region, operation="HeadObject",
                                conn=conn) from exc

        try:
            answer = policy.call(attempt, classify=classify, on_retry=_on_retry(policy, bar))
            return answer, region, attempts
        except S3RegionError as exc:
            named = exc.hints.get("bucket_region")
            if redirected or not named or named == region:
                raise
            redirected = True
            region_cache.set(conn.endpoint_url, target.bucket, named)
            region = named
            if explicit:
                exc.hints["explicit_region"] = True


def _fetch(
    conn: Connection,
    transfer: Transfer,
    region: str,
    policy: RetryPolicy,
    bar: Progress,
    *,
    explicit: bool,
    plan: ParquetPlan | TextPlan | None = None,
) -> str:
    """Download with retries; follow one region redirect. Returns the region that answered.

    The main stream's attempts are retried here (it is the request a redirect or a refusal answers first);
    the parts run under the same policy in the transfer's workers. An object that changes while it is
    read is read again from the start, once.
    """
    redirected = False
    while True:
        client = conn.client(region)

        def attempt(_: int, client: Any = client, region: str = region) -> None:
            try:
                transfer.run(client)
            except (bce.BotoCoreError, bce.ClientError) as exc:
                raise translate(exc, region=region, operation="GetObject", conn=conn) from exc

        transfer.translate = lambda exc, region=region: translate(
            exc, region=region, operation="GetObject", conn=conn
        )
        try:
            policy.call(attempt, classify=classify, on_retry=_on_retry(policy, bar))
            transfer.join()
            transfer.verify()
            if plan is not None and transfer.sparse:
                plan.fetch(transfer, client)
            return region
        except ObjectChangedSignal as signal:
            transfer.restart(signal)  # or ObjectChanged, the second time
        except S3RegionError as exc:
            named = exc.hints.get("bucket_region")
            if redirected or not named or named == region:
                raise
            # S3 named the bucket's region: follow once, and remember it.
            redirected = True
            region_cache.set(conn.endpoint_url, transfer.target.bucket, named)
            region = named
            if explicit:
                exc.hints["explicit_region"] = True
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


# --- small helpers -------------------------------------------------------------------------------------


def _is_many(uri: Any) -> bool:
    from dreambolt_magic import dataset

    return dataset.is_many(uri)


def _progress(progress: bool | Progress) -> Progress:
    if progress is True:
        return TqdmProgress()
    if progress is False or progress is None:
        return NoProgress()
    return progress


def _fill(exc: S3Error, context: dict[str, Any]) -> None:
    for name, value in context.items():
        if getattr(exc, name, None) is None:
            setattr(exc, name, value)


def human_bytes(n: float) -> str:
    """A byte count for people: ``1.2 MB``."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n:,.1f} TB"  # pragma: no cover
