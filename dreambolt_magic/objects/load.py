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
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from dreambolt_magic.client import redaction
from dreambolt_magic.client.calls import bucket_region
from dreambolt_magic.client.connection import Connection, endpoint_from_env
from dreambolt_magic.client.connection import forget as forget_connections
from dreambolt_magic.client.retry import RetryPolicy
from dreambolt_magic.client.translation import classify
from dreambolt_magic.errors import S3AuthError, S3Error
from dreambolt_magic.formats import readers
from dreambolt_magic.objects import overlap, textplan
from dreambolt_magic.objects.fetch import download, head_object, retry_reporter
from dreambolt_magic.objects.overlap import OverlappedParse
from dreambolt_magic.objects.parquetplan import ParquetPlan, can_prune, guard_whole
from dreambolt_magic.objects.textplan import TextPlan
from dreambolt_magic.options import LoadOptions
from dreambolt_magic.transfer import memory
from dreambolt_magic.transfer.checksums import VERIFIED
from dreambolt_magic.transfer.engine import Transfer
from dreambolt_magic.transfer.progress import (
    CancelFlag,
    NoProgress,
    Progress,
    TqdmProgress,
    cancellable_sleep,
    check_cancel,
    from_cache,
)
from dreambolt_magic.uri import S3Uri
from dreambolt_magic.uri import parse as parse_uri

if TYPE_CHECKING:
    import pandas as pd

    from dreambolt_magic.formats.rowgroups import RowFilter
    from dreambolt_magic.objects.cache import Cache

__all__ = ["DEFAULTS", "Listed", "load_object", "progress_for"]

#: A load of everything with every default.
DEFAULTS = LoadOptions()


@dataclass(frozen=True)
class Listed:
    """What a listing has just said of an object: with a cache, an entry with this ETag is used without a HEAD;
    a pruned Parquet read starts with the file's end (an object of another size by then is read as if no size
    were given)."""

    etag: str | None = None
    size: int | None = None


def load_object(
    uri: str | S3Uri,
    options: LoadOptions = DEFAULTS,
    *,
    progress: bool | Progress = True,
    cancel: CancelFlag | None = None,
    listed: Listed | None = None,
    row_filter: RowFilter | None = None,
    connection: Connection | None = None,
    defer: bool = False,
) -> tuple[pd.DataFrame | readers.Decoded, dict[str, Any]]:
    """One object, as :func:`dreambolt_magic.load` reads it, and what goes in its ``df.attrs["s3"]``.

    The set loader gives what a listing said of the object (``listed``), the filter its Parquet row groups are
    decided on (``row_filter``: the groups whose statistics rule out every row are not fetched; the rows of
    those read are the caller's to filter), and a ``connection`` its objects share (used for its own endpoint
    only). With ``defer``, a Parquet file's table may come back not yet converted into pandas
    (:class:`~dreambolt_magic.formats.readers.Decoded`): the set loader converts its files' tables at once.
    """
    redaction.install()  # before botocore logs its first signed request
    target = uri if isinstance(uri, S3Uri) else parse_uri(uri)
    load = _ObjectLoad(target, options, progress_for(progress), cancel, listed or Listed(), row_filter, defer)
    try:
        load.connect(connection)
        frame = load.from_cache()
        if frame is None:
            frame = load.download()
    except S3Error as exc:
        load.failed()
        _fill(exc, load.context)
        if target.version_id:
            exc.hints.setdefault("version_id", target.version_id)  # for a restore command, say
        if isinstance(exc, S3AuthError):
            # Credentials whose sources the kept connections do not watch (an SSO login, say) may have
            # changed by the next load: it reads them afresh.
            forget_connections()
        raise
    except BaseException:
        load.failed()
        raise
    finally:
        if load.conn is not None and load.conn is not connection:
            load.conn.release()  # kept for the next load
    load.bar.finish(ok=True)
    return frame, load.provenance()


class _ObjectLoad:
    """One object's load, step by step: connect and find the region, the cache, the plan, the download, the
    parse. Holds what the steps share and what a failure must stop."""

    def __init__(self, target: S3Uri, options: LoadOptions, bar: Progress, cancel: CancelFlag | None,
                 listed: Listed, row_filter: RowFilter | None, defer: bool) -> None:
        self.started = time.monotonic()
        self.target, self.options, self.bar, self.cancel = target, options, bar, cancel
        self.listed, self.row_filter, self.defer = listed, row_filter, defer
        self.read = options.read
        self.columns = self.read.column_list
        self.policy = RetryPolicy(max_attempts=options.connect.max_attempts, sleep=cancellable_sleep(cancel))
        endpoint = options.connect.endpoint_url or target.endpoint or endpoint_from_env()
        self.connect_options = options.connect.at(endpoint)
        self.context: dict[str, Any] = {"uri": str(target), "bucket": target.bucket, "key": target.key,
                                        "endpoint": endpoint}
        self.conn: Connection | None = None
        self.region = ""
        self.store: Cache | None = None
        self.transfer: Transfer | None = None
        self.parse: OverlappedParse | None = None
        self.cached = False
        self.fetched: dict[str, Any] = {}

    def connect(self, shared: Connection | None) -> None:
        """A connection (the set's, if it is for this endpoint; else a kept one), the region and the cache."""
        if self.read.format is not None:  # a format that is none is refused before any request
            self.read = replace(self.read, format=readers.normalize_format(self.read.format, key=self.target.key))
        readers.check_readable(self.target.key, self.read.format, self.read.parser)
        self.bar.start(None, self.target.name)
        endpoint = self.connect_options.endpoint_url
        self.conn = shared if shared is not None and shared.endpoint_url == endpoint else Connection.lease(
            self.connect_options, pool=self.options.transfer.max_concurrency + 2)
        reporter = retry_reporter(self.policy, self.bar)
        self._answered(self.options.region or self.target.region
                       or bucket_region(self.conn, self.target.bucket, self.policy, reporter))
        if self.options.cache is not None and self.options.cache is not False:
            from dreambolt_magic.objects.cache import open_cache  # its modules only for a load that asks for it

            self.store = open_cache(self.options.cache)
        if self.store is not None:
            self.store.check_directory()  # before any request: a directory we refuse fails the load at once

    def _answered(self, region: str) -> None:
        self.region = region
        self.context["region"] = region

    def from_cache(self) -> pd.DataFrame | None:
        """The frame from a cached entry that is still the object, or None (no cache, no entry, a stale one)."""
        store, conn, target, read = self.store, self.conn, self.target, self.read
        if store is None or conn is None:
            return None
        where = (conn.endpoint_url, target.bucket, target.key, target.version_id)
        etag = self.listed.etag
        entry = store.entry(*where) if etag is not None else None
        if entry is not None and entry.etag == etag:
            # A listing has just given the object's ETag, and the entry has it: no HEAD needed.
            head, attempts = entry.head(), 0
            data = store.get(*where, etag=etag)
        elif etag is None and store.has(*where):
            # The object's current ETag decides whether the entry is still the object.
            head, region, attempts = head_object(conn, target, self.region, self.policy, self.bar,
                                                 self.options.sse_customer_key)
            self._answered(region)
            data = store.get(*where, etag=head.get("ETag"))
        else:
            return None
        if data is None:
            return None
        size = len(data)
        limit, force = self.options.transfer.memory_limit, self.options.transfer.force
        memory.check(memory.estimate(size), limit=limit, force=force, what="object", size=size)
        self.bar.start(size, f"{target.name} (from cache)")
        from_cache(self.bar, size)
        check_cancel(self.cancel)
        frame = readers.read(data, key=target.key, format=read.format, columns=self.columns, nrows=read.nrows,
                             allow_missing=read.allow_missing,
                             guard=memory.guard(held=size, limit=limit, force=force), **read.parser)
        modified = head.get("LastModified")
        self.cached = True
        self.fetched = {
            "etag": head.get("ETag"),
            "version_id": head.get("VersionId") or target.version_id,
            "last_modified": modified.isoformat() if isinstance(modified, datetime) else modified,
            "size": size,
            "bytes_fetched": 0,
            "attempts": attempts,
            "checksum": None,
        }
        return frame

    def _plan(self) -> ParquetPlan | TextPlan | None:
        """What a read of some columns or rows fetches: a Parquet footer and chunks, or a text object's start.
        With a cache the whole object is fetched (no pruning), so that the entry is the object."""
        if self.store is not None:
            return None
        key, read = self.target.key, self.read
        if can_prune(key, read.format, columns=self.columns, nrows=read.nrows, row_filter=self.row_filter):
            return ParquetPlan(self.columns, read.nrows, self.row_filter, size=self.listed.size)
        if read.nrows is not None and textplan.can_stream(key, read.format, nrows=read.nrows, options=read.parser):
            return TextPlan(key, read.format, columns=self.columns, nrows=read.nrows, options=read.parser,
                            allow_missing=read.allow_missing)
        return None

    def download(self) -> pd.DataFrame | readers.Decoded:
        """Fetch the object (or what the plan needs of it), keep it in the cache if asked, and parse it."""
        assert self.conn is not None
        target, read, guard = self.target, self.read, self.options.transfer
        plan = self._plan()
        on_retry = retry_reporter(self.policy, self.bar)
        transfer = self.transfer = Transfer(
            target,
            self.bar,
            self.cancel,
            retry=lambda fn: self.policy.call(fn, classify=classify, on_retry=on_retry),
            part_size=guard.part_size,
            max_concurrency=guard.max_concurrency,
            # A pruned read starts with the plan's first bytes; the answer's Content-Range gives the size.
            first_bytes=None if plan is None else plan.first_bytes,
            first_range=None if plan is None else plan.first_range,
            force=guard.force,
            memory_limit=guard.memory_limit,
            customer_key=self.options.sse_customer_key,
            min_speed=guard.min_speed,
        )
        if plan is None and overlap.can_overlap(target.key, read.format, columns=self.columns, nrows=read.nrows,
                                                options=read.parser):
            if overlap.parallel_path_reads():
                transfer.file_from = overlap.MIN_SIZE  # parsed by path, on several threads, once it is whole
            else:
                self.parse = OverlappedParse(transfer, target.key, read.format, read.parser)
                self.parse.start()
        with transfer.watching():  # a cancel ends even a read that a stalled server holds
            self._answered(download(self.conn, transfer, self.region, self.policy, self.bar, plan=plan))
        check_cancel(self.cancel)
        if self.store is not None and not transfer.sparse:
            self.store.put(self.conn.endpoint_url, target.bucket, target.key, target.version_id, transfer.data,
                           etag=transfer.etag, object_version=transfer.version_id,
                           last_modified=transfer.last_modified, checksum=transfer.checksum,
                           verified=transfer.checked == VERIFIED)
        frame = self._parsed(plan, transfer)
        transfer.release()
        self.fetched = {
            "etag": transfer.etag,
            "version_id": transfer.version_id,
            "last_modified": transfer.last_modified,
            "size": transfer.size,
            "bytes_fetched": transfer.fetched,
            "attempts": transfer.attempts,
            "checksum": transfer.checked,
        }
        return frame

    def _parsed(self, plan: ParquetPlan | TextPlan | None, transfer: Transfer) -> pd.DataFrame | readers.Decoded:
        # A parse that ran ahead may have finished on the bytes of an attempt that was then read again
        # (damaged, or another object): only the last attempt's bytes are parsed.
        parsed = self.parse.finish(ok=not transfer.restarted) if self.parse is not None else None
        if parsed is not None:
            return parsed  # parsed while it downloaded
        if isinstance(plan, TextPlan) and plan.frame is not None:
            return plan.frame  # the rows asked for, parsed from the start of the object
        key, read = self.target.key, self.read
        row_groups = plan.row_groups if isinstance(plan, ParquetPlan) else None
        pruned = isinstance(plan, ParquetPlan) and plan.pruned
        if plan is None and self.columns is None and read.nrows is None:
            guard_whole(transfer.data, key, read.format, lambda need: transfer.check_memory(need, what="parquet"))
        # What a compressed object expands into is held to the limit too, as it is decompressed.
        guard = memory.guard(held=len(transfer.data), limit=transfer.memory_limit, force=transfer.force)
        if self.defer and transfer.path is None:
            return readers.decode(transfer.data, key=key, format=read.format, columns=self.columns,
                                  nrows=read.nrows, row_groups=row_groups, pruned=pruned,
                                  allow_missing=read.allow_missing, guard=guard, **read.parser)
        return readers.read(transfer.data, key=key, format=read.format, columns=self.columns, nrows=read.nrows,
                            row_groups=row_groups, path=transfer.path, pruned=pruned,
                            allow_missing=read.allow_missing, guard=guard, **read.parser)

    def failed(self) -> None:
        """Stop what is running: the parse alongside, the transfer's workers, the bar."""
        if self.parse is not None:
            self.parse.finish(ok=False)
        if self.transfer is not None:
            self.transfer.abort()
        self.bar.finish(ok=False)

    def provenance(self) -> dict[str, Any]:
        """What goes in ``df.attrs["s3"]``."""
        assert self.conn is not None
        target = self.target
        return {
            "uri": str(target),
            "bucket": target.bucket,
            "key": target.key,
            "region": self.region,
            "endpoint": self.conn.endpoint_url,
            **self.fetched,
            "signed": self.conn.signed,
            "unsigned_reason": self.conn.unsigned_reason,
            "cached": self.cached,
            "elapsed": round(time.monotonic() - self.started, 6),
        }


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


