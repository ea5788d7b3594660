"""Many objects in one DataFrame: lists of URIs, globs, prefixes and Hive partitions.

:func:`load_many` expands what it is given into objects (:mod:`dreambolt_magic.listing` says what a glob,
a prefix or a list names), fetches them concurrently (a bounded pool of threads, each object read by
:func:`dreambolt_magic.s3.load` with its retries, regions and parsers), then unifies their schemas and
concatenates them (:mod:`dreambolt_magic.schema`), in the order the objects were named or listed.

A ``filter`` (see :mod:`dreambolt_magic.expr`) is first decided on the Hive partition values, so objects in
partitions that cannot match are never fetched, then on each Parquet object's row-group statistics (from its
footer, :mod:`dreambolt_magic.rowgroups`), so row groups that cannot match are never fetched either, and
finally applied to the rows.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import replace
from typing import Any

import pandas as pd

from dreambolt_magic import logs, readers
from dreambolt_magic.errors import S3FormatError, S3NotFound
from dreambolt_magic.expr import Filter, FilterColumnError
from dreambolt_magic.listing import ObjectRef, expand, is_many, load_default
from dreambolt_magic.progress import CancelFlag, Cancelled, NoProgress, Progress, TqdmProgress, check_cancel
from dreambolt_magic.schema import (
    Loaded,
    apply_filter,
    columns_to_read,
    combine,
    partition_types,
    typed,
    with_partitions,
)
from dreambolt_magic.uri import S3Uri

__all__ = ["MAX_WORKERS", "ObjectRef", "expand", "is_many", "load_many"]

#: Objects fetched at the same time.
MAX_WORKERS = 8


def load_many(
    uris: str | S3Uri | Sequence[str | S3Uri],
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
    connect_timeout: float | None = None,
    read_timeout: float | None = None,
    cancel: CancelFlag | None = None,
    source_column: str | None = None,
    filter: str | Filter | None = None,
    partitions: bool = True,
    max_workers: int = MAX_WORKERS,
    **options: Any,
) -> pd.DataFrame:
    """Load many S3 objects into one pandas DataFrame (see the module docstring for what is accepted).

    The options are :func:`dreambolt_magic.s3.load`'s, applied to every object, and:

    source_column:
        Add a column of this name holding each row's object URI (``s3://bucket/key``), as a categorical.
    filter:
        A restricted expression such as ``"year == 2024 and region in ('eu', 'us')"``: objects whose Hive
        partitions cannot match are not fetched, nor are Parquet row groups whose statistics (min, max, null
        count) prove that none of their rows can, and only matching rows are kept.
    partitions:
        Turn ``name=value`` folders in the keys into columns (default ``True``).
    max_workers:
        Objects fetched at the same time (default 8).

    ``columns`` may name partition columns; ``nrows`` keeps the first rows of the set and fetches objects
    (in order, ``max_workers`` at a time) only until it has them. ``df.attrs["s3"]`` describes the set, and
    its ``objects`` entry lists each object's own provenance. Raises the loader's
    :class:`~dreambolt_magic.errors.S3Error` subclasses; nothing partial is returned.
    """
    from dreambolt_magic import s3

    started = time.monotonic()
    logs.install()
    if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
        raise ValueError(f"max_workers must be a whole number of at least 1, not {max_workers!r}")
    if nrows is not None and (isinstance(nrows, bool) or not isinstance(nrows, int) or nrows < 0):
        raise ValueError(f"nrows must be a whole number of at least 0, not {nrows!r}")
    if source_column is not None and (not isinstance(source_column, str) or not source_column):
        raise ValueError(f"source_column must be a column name, not {source_column!r}")
    expression = Filter(filter) if isinstance(filter, str) else filter
    wanted = s3._columns(columns)
    if format is not None:
        format = readers.normalize_format(format)  # before any request
    label = _label(uris)
    settings = {"region": region, "profile": profile, "endpoint_url": endpoint_url, "anon": anon,
                "max_attempts": max_attempts, "unsigned_fallback": unsigned_fallback,
                "connect_timeout": load_default("connect_timeout", connect_timeout),
                "read_timeout": load_default("read_timeout", read_timeout)}
    bar = _set_progress(progress)
    ok = False
    try:
        refs = expand(uris, cancel=cancel, **settings)
        if not partitions:
            refs = [replace(r, partitions={}) for r in refs]
        kinds = partition_types(refs)
        listed = len(refs)
        if expression is not None:
            refs = [r for r in refs if expression.decide(typed(r.partitions, kinds)) is not False]
        if not refs:
            raise S3NotFound(
                f"no object of {label} matches the filter {expression.text!r}" if expression else None,
                uri=label, code="NoMatchingObjects",
                hints={"filter": expression.text if expression else None, "listed": listed},
            )
        read_columns = columns_to_read(wanted, expression, kinds)
        bar.start(_total(refs), f"{len(refs)} files")
        fetch = _Fetcher(refs, bar, cancel, max_workers, lambda ref, part, flag, cols: s3.load(
            ref.uri, format=format, columns=cols, nrows=None if expression and expression.names - set(kinds)
            else nrows, progress=part, cancel=flag,
            row_filter=expression.bind(typed(ref.partitions, kinds)) if expression is not None else None,
            **settings, **options), read_columns)
        loaded = fetch.run(nrows, expression, kinds)
        provenance = _provenance(label, loaded, listed)
        frame = combine(loaded, kinds, source_column)
        if expression is not None:
            frame = apply_filter(expression, frame, label)
        if wanted is not None:
            missing = [c for c in wanted if c not in frame.columns]
            if missing:
                available = [str(c) for c in frame.columns if c != source_column]
                raise S3FormatError(
                    f"no object of {label} has the column {', '.join(map(repr, missing))}; their columns are "
                    f"{', '.join(map(repr, available))}", uri=label, code="MissingColumns",
                    hints={"missing": missing, "available": available},
                )
            extra = [source_column] if source_column is not None else []
            frame = frame[[c for c in wanted if c in frame.columns and c not in extra] + extra]
        if nrows is not None:
            frame = frame.iloc[:nrows]
        if expression is not None or nrows is not None:
            frame = frame.reset_index(drop=True)
        provenance["elapsed"] = round(time.monotonic() - started, 6)
        frame.attrs["s3"] = provenance
        ok = True
        return frame
    finally:
        bar.finish(ok=ok)


def _total(refs: Sequence[ObjectRef]) -> int | None:
    sizes = [r.size for r in refs]
    return None if any(s is None for s in sizes) else sum(s for s in sizes if s is not None)


def _label(uris: Any) -> str:
    if isinstance(uris, (str, S3Uri)):
        return str(uris).strip()
    items = [str(u).strip() for u in uris]
    return items[0] if len(items) == 1 else f"{items[0]} and {len(items) - 1} more"


# --- fetching ----------------------------------------------------------------------------------------------


class _FilesBar(TqdmProgress):
    """The tqdm bar, which also says "file n of N"."""

    def files(self, done: int, total: int) -> None:
        with self._lock:
            if self._bar is not None:
                self._bar.set_description(f"file {done} of {total}", refresh=False)


def _set_progress(progress: bool | Progress) -> Progress:
    if progress is True:
        return _FilesBar()
    if progress is False or progress is None:
        return NoProgress()
    return progress


class _Part:
    """What one object's load reports, folded into the set's bar: bytes and retries, not its start and end."""

    def __init__(self, bar: Progress) -> None:
        self.bar = bar

    def start(self, total: int | None, description: str = "") -> None:
        pass

    def advance(self, n: int) -> None:
        self.bar.advance(n)

    def rewind(self, n: int) -> None:
        self.bar.rewind(n)

    def retrying(self, attempt: int, max_attempts: int, reason: str, wait: float) -> None:
        self.bar.retrying(attempt, max_attempts, reason, wait)

    def finish(self, ok: bool) -> None:
        pass


class _EitherFlag:
    """Set when the caller's cancel flag is, or when another object of the set failed."""

    def __init__(self, user: CancelFlag | None) -> None:
        self.user = user
        self.own = threading.Event()

    def is_set(self) -> bool:
        return self.own.is_set() or (self.user is not None and self.user.is_set())

    def wait(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.is_set():
            left = 0.05 if deadline is None else min(0.05, deadline - time.monotonic())
            if left <= 0:
                break
            self.own.wait(left)
        return self.is_set()


class _Fetcher:
    """Runs the loads on a bounded pool; the first failure cancels the others and is raised."""

    def __init__(self, refs: list[ObjectRef], bar: Progress, cancel: CancelFlag | None, workers: int,
                 load: Callable[[ObjectRef, Progress, CancelFlag, list[str] | None], pd.DataFrame],
                 columns: list[str] | None) -> None:
        self.refs, self.bar, self.cancel, self.workers, self.load = refs, bar, cancel, workers, load
        self.columns = columns
        self.done = 0
        self._lock = threading.Lock()

    def _one(self, ref: ObjectRef, flag: CancelFlag) -> Loaded:
        try:
            frame = self.load(ref, _Part(self.bar), flag, self.columns)
        except S3FormatError as exc:
            # A set's objects need not all have every column asked for: the others are null there.
            present = [c for c in self.columns or () if c in (exc.hints.get("available") or ())]
            if exc.code != "MissingColumns" or not present:
                raise
            frame = self.load(ref, _Part(self.bar), flag, present)
        with self._lock:
            self.done += 1
            done = self.done
        files = getattr(self.bar, "files", None)
        if files is not None:
            files(done, len(self.refs))
        return Loaded(ref, frame)

    def run(self, nrows: int | None, expression: Filter | None, kinds: dict[str, type]) -> list[Loaded]:
        flag = _EitherFlag(self.cancel)
        # With nrows, objects are taken in order a pool-full at a time, until the rows are there.
        waves = [self.refs] if nrows is None else [self.refs[i : i + self.workers]
                                                  for i in range(0, len(self.refs), self.workers)]
        loaded: list[Loaded] = []
        rows = 0
        with ThreadPoolExecutor(max_workers=min(self.workers, len(self.refs)),
                                thread_name_prefix="dreambolt-set") as pool:
            for wave in waves:
                futures = [pool.submit(self._one, ref, flag) for ref in wave]
                finished, _ = wait(futures, return_when=FIRST_EXCEPTION)
                failure = _first_failure(futures, finished)
                if failure is not None:
                    flag.own.set()
                    for future in futures:
                        future.cancel()
                    wait(futures)
                    check_cancel(self.cancel)
                    raise failure
                batch = [f.result() for f in futures]
                loaded += batch
                if nrows is not None:
                    rows += sum(_matching_rows(b, expression, kinds) for b in batch)
                    if rows >= nrows:
                        break
        return loaded


def _first_failure(futures: list[Future[Loaded]], finished: set[Future[Loaded]]) -> BaseException | None:
    failures = [f.exception() for f in futures if f in finished and not f.cancelled() and f.exception()]
    real = [e for e in failures if not isinstance(e, Cancelled)]
    return (real or failures or [None])[0]


def _matching_rows(loaded: Loaded, expression: Filter | None, kinds: dict[str, type]) -> int:
    if expression is None:
        return len(loaded.frame)
    frame = with_partitions(loaded.frame, loaded.ref, kinds)
    try:
        return int(expression.mask(frame).sum())
    except (FilterColumnError, TypeError):
        return 0  # the whole set decides, and reports, once it is combined


def _provenance(label: str, loaded: list[Loaded], listed: int) -> dict[str, Any]:
    objects = [dict(item.frame.attrs.get("s3", {})) for item in loaded]
    regions = {o.get("region") for o in objects}
    return {
        "uri": label,
        "objects": objects,
        "object_count": len(objects),
        "listed": listed,
        "region": regions.pop() if len(regions) == 1 else None,
        "endpoint": objects[0].get("endpoint") if objects else None,
        "size": sum(o.get("size") or 0 for o in objects),
        "bytes_fetched": sum(o.get("bytes_fetched") or 0 for o in objects),
        "attempts": max((o.get("attempts") or 1 for o in objects), default=1),
        "signed": all(o.get("signed", True) for o in objects),
        "unsigned_reason": next((o.get("unsigned_reason") for o in objects if o.get("unsigned_reason")), None),
    }
