"""Many objects in one DataFrame: lists of URIs, globs, prefixes and Hive partitions.

:func:`load_many` expands what it is given into objects, fetches them concurrently (a bounded pool of
threads, each object read by :func:`dreambolt_magic.s3.load` with its retries, regions and parsers), unifies
their schemas and concatenates them, in the order the objects were named or listed.

- ``s3://b/logs/`` (a key ending in ``/``): every object under the prefix, at any depth, except folder
  markers and names starting with ``_`` or ``.`` below it (``_SUCCESS``, ``_delta_log/``, ``.crc``).
- ``s3://b/logs/2024-*/*.csv.gz``: a glob, when the key has a ``*``. ``*`` matches within one path
  segment, ``**`` across segments (``**/`` also matches none), ``?`` one character and ``[abc]`` one of a
  set. A key without ``*`` is taken literally: S3 keys may hold ``?`` and ``[``.
- A list of any of these (and of plain URIs): all of their objects, each once.

Listings are paged (:data:`LIST_PAGE_SIZE` keys a request) from the literal part of the key before the first
wildcard. A listing that matches nothing is :class:`~dreambolt_magic.errors.S3NotFound` (code
``NoMatchingObjects``), never an empty frame.

Hive partitions (``year=2024/month=05/``) in a key's folders become columns (whole numbers when every value
of a partition is one, else text). A ``filter`` (see :mod:`dreambolt_magic.expr`) is first decided on the
partition values, so objects in partitions that cannot match are never fetched, then applied to the rows.

Schemas are unified: a column missing from some objects is null there (whole-number columns then become
float, as in ``pandas.concat``); a column whose type conflicts between objects (text in one, numbers in
another) is :class:`~dreambolt_magic.errors.S3FormatError` (code ``SchemaMismatch``) naming both objects.
"""

from __future__ import annotations

import fnmatch
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote

import botocore.exceptions as bce
import numpy as np
import pandas as pd

from dreambolt_magic import logs, readers
from dreambolt_magic.errors import S3FormatError, S3NotFound, S3RegionError, S3UriError
from dreambolt_magic.expr import Filter, FilterColumnError
from dreambolt_magic.progress import CancelFlag, Cancelled, NoProgress, Progress, TqdmProgress, check_cancel
from dreambolt_magic.regions import region_cache
from dreambolt_magic.retry import RetryPolicy
from dreambolt_magic.uri import S3Uri, parse

__all__ = ["LIST_PAGE_SIZE", "MAX_WORKERS", "ObjectRef", "expand", "is_many", "load_many"]

#: Keys asked for per ListObjectsV2 request (S3's maximum).
LIST_PAGE_SIZE = 1000
#: Objects fetched at the same time.
MAX_WORKERS = 8
_GLOB = "*"
_PARTITION = re.compile(r"([^=/]+)=([^/]*)")
_HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"
_WHOLE = re.compile(r"-?\d{1,18}")


@dataclass(frozen=True)
class ObjectRef:
    """One object of a set: where it is, what the listing said about it, and its partition values."""

    uri: S3Uri
    size: int | None = None
    etag: str | None = None
    partitions: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return str(self.uri)


def is_many(uri: Any) -> bool:
    """Whether ``uri`` names a set of objects: a list or tuple, or text whose key has a ``*`` or ends in ``/``."""
    if isinstance(uri, (list, tuple)):
        return True
    if not isinstance(uri, str):
        return False
    try:
        target = _parse(uri)
    except S3UriError:
        return False
    return _GLOB in target.key or target.key == "" or target.key.endswith("/")


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
        partitions cannot match are not fetched, and only matching rows are kept.
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
                "connect_timeout": _default("connect_timeout", connect_timeout),
                "read_timeout": _default("read_timeout", read_timeout)}
    bar = _set_progress(progress)
    ok = False
    try:
        refs = expand(uris, cancel=cancel, **settings)
        if not partitions:
            refs = [replace(r, partitions={}) for r in refs]
        kinds = _partition_types(refs)
        listed = len(refs)
        if expression is not None:
            refs = [r for r in refs if expression.decide(_typed(r.partitions, kinds)) is not False]
        if not refs:
            raise S3NotFound(
                f"no object of {label} matches the filter {expression.text!r}" if expression else None,
                uri=label, code="NoMatchingObjects",
                hints={"filter": expression.text if expression else None, "listed": listed},
            )
        read_columns = _read_columns(wanted, expression, kinds)
        bar.start(_total(refs), f"{len(refs)} files")
        fetch = _Fetcher(refs, bar, cancel, max_workers, lambda ref, part, flag, cols: s3.load(
            ref.uri, format=format, columns=cols, nrows=None if expression and expression.names - set(kinds)
            else nrows, progress=part, cancel=flag, **settings, **options), read_columns)
        loaded = fetch.run(nrows, expression, kinds)
        provenance = _provenance(label, loaded, listed)
        frame = _combine(loaded, kinds, source_column)
        if expression is not None:
            frame = _apply(expression, frame, label)
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


# --- expansion -------------------------------------------------------------------------------------------


def expand(
    uris: str | S3Uri | Sequence[str | S3Uri],
    *,
    cancel: CancelFlag | None = None,
    region: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
    anon: bool = False,
    max_attempts: int = 5,
    unsigned_fallback: bool = True,
    connect_timeout: float | None = None,
    read_timeout: float | None = None,
) -> list[ObjectRef]:
    """The objects ``uris`` name, in order, each once: globs and prefixes listed (paged), others as given.

    Raises :class:`~dreambolt_magic.errors.S3NotFound` (``NoMatchingObjects``) when a glob or prefix matches
    nothing, and the loader's errors for the listing requests (a missing bucket, access refused, ...).
    """
    from dreambolt_magic import s3

    items = [uris] if isinstance(uris, (str, S3Uri)) else list(uris)
    if not items:
        raise ValueError("no URI was given: pass one or more s3:// URIs, globs or prefixes")
    targets = [(item if isinstance(item, S3Uri) else _parse(item), isinstance(item, str)) for item in items]
    conn = None
    refs: list[ObjectRef] = []
    seen: set[str] = set()
    for target, textual in targets:
        pattern = textual and (_GLOB in target.key or target.key == "" or target.key.endswith("/"))
        if not pattern:
            found = [ObjectRef(target, partitions=_partitions_of(target.key))]
        else:
            if conn is None:
                conn = s3.Connection.open(
                    profile=profile, endpoint_url=endpoint_url or target.endpoint or s3.endpoint_from_env(),
                    anon=anon, unsigned_fallback=unsigned_fallback,
                    connect_timeout=_default("connect_timeout", connect_timeout),
                    read_timeout=_default("read_timeout", read_timeout),
                )
            lister = _Lister(conn, RetryPolicy(max_attempts=max_attempts, sleep=s3._cancellable_sleep(cancel)),
                             region or target.region, cancel)
            found = lister.matching(target)
            if not found:
                raise S3NotFound(uri=str(target).rstrip("/") + ("/" if target.key.endswith("/") else ""),
                                 bucket=target.bucket, key=target.key, code="NoMatchingObjects",
                                 endpoint=conn.endpoint_url, hints={"pattern": target.key})
        for ref in found:
            if ref.text not in seen:
                seen.add(ref.text)
                refs.append(ref)
    _learn_regions(refs, region, settings={"profile": profile, "endpoint_url": endpoint_url, "anon": anon,
                                           "unsigned_fallback": unsigned_fallback,
                                           "connect_timeout": _default("connect_timeout", connect_timeout),
                                           "read_timeout": _default("read_timeout", read_timeout)},
                   policy=RetryPolicy(max_attempts=max_attempts), conn=conn)
    return refs


def _learn_regions(refs: list[ObjectRef], region: str | None, *, settings: dict[str, Any], policy: RetryPolicy,
                   conn: Any) -> None:
    """Find each bucket's region once, before the loads: else every load of a list would ask at the same time."""
    from dreambolt_magic import s3

    counts: dict[tuple[str | None, str], int] = {}
    for ref in refs:
        if region is None and ref.uri.region is None:
            where = (settings["endpoint_url"] or ref.uri.endpoint, ref.uri.bucket)
            counts[where] = counts.get(where, 0) + 1
    for (endpoint, bucket), count in counts.items():
        if count < 2:
            continue
        endpoint = endpoint or s3.endpoint_from_env()
        if region_cache.get(endpoint, bucket):
            continue
        if conn is None or conn.endpoint_url != endpoint:
            conn = s3.Connection.open(**{**settings, "endpoint_url": endpoint})
        s3.bucket_region(conn, bucket, policy, NoProgress())


def _default(name: str, value: Any) -> Any:
    """``value``, or :func:`dreambolt_magic.s3.load`'s default for ``name``: one place says what it is."""
    if value is not None:
        return value
    import inspect

    from dreambolt_magic import s3

    return inspect.signature(s3.load).parameters[name].default


def _parse(text: str) -> S3Uri:
    try:
        return parse(text)
    except S3UriError as exc:
        # "s3://bucket/" names the whole bucket: a prefix of "", which parse() refuses as a missing key.
        stripped = text.strip()
        if exc.code == "InvalidUri" and exc.bucket and stripped.endswith("/"):
            return replace(parse(stripped + "_"), key="")
        raise


class _Lister:
    """Paged ListObjectsV2 with the loader's retries, region detection and one redirect followed."""

    def __init__(self, conn: Any, policy: RetryPolicy, region: str | None, cancel: CancelFlag | None) -> None:
        self.conn, self.policy, self.region, self.cancel = conn, policy, region, cancel

    def matching(self, target: S3Uri) -> list[ObjectRef]:
        key = target.key
        if _GLOB in key:
            literal = re.split(r"[*?\[]", key, maxsplit=1)[0]
            regex = _glob_regex(key)
            base = literal.rpartition("/")[0] + "/" if "/" in literal else ""
            hidden_ok = key.rpartition("/")[2][:1] in ("_", ".")
            keep = lambda k: regex.fullmatch(k) is not None and (hidden_ok or not _hidden(k[len(base):]))  # noqa: E731
        else:
            literal = key
            keep = lambda k: not _hidden(k[len(key):])  # noqa: E731
        refs = []
        for entry in self._list(target.bucket, literal):
            name = entry["Key"]
            if name.endswith("/") or not keep(name):
                continue
            refs.append(ObjectRef(S3Uri(target.bucket, name, region=target.region, endpoint=target.endpoint),
                                  size=int(entry.get("Size") or 0), etag=entry.get("ETag"),
                                  partitions=_partitions_of(name)))
        return refs

    def _list(self, bucket: str, prefix: str) -> Iterable[dict[str, Any]]:
        from dreambolt_magic import s3

        region = self.region or s3.bucket_region(self.conn, bucket, self.policy, NoProgress())
        token = None
        while True:
            check_cancel(self.cancel)
            params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": LIST_PAGE_SIZE}
            if token:
                params["ContinuationToken"] = token
            try:
                answer = self._call(region, bucket, params)
            except S3RegionError as exc:
                named = exc.hints.get("bucket_region")
                if not named or named == region:
                    raise
                region_cache.set(self.conn.endpoint_url, bucket, named)
                region = named
                answer = self._call(region, bucket, params)
            yield from answer.get("Contents", [])
            token = answer.get("NextContinuationToken") if answer.get("IsTruncated") else None
            if not token:
                return

    def _call(self, region: str, bucket: str, params: dict[str, Any]) -> dict[str, Any]:
        from dreambolt_magic import s3

        client = self.conn.client(region)

        def attempt(_: int) -> dict[str, Any]:
            try:
                return client.list_objects_v2(**params)
            except (bce.BotoCoreError, bce.ClientError) as exc:
                raise s3.translate(exc, bucket=bucket, region=region, operation="ListObjectsV2",
                                   conn=self.conn) from exc

        return self.policy.call(attempt, classify=s3.classify)


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """``*`` within a segment, ``**`` across segments (``**/`` also none), ``?`` one character, ``[...]`` a set."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 2 :]:
            end = pattern.index("]", i + 2)
            # fnmatch knows the set syntax ([!a-c]); only its inner regex is kept.
            out.append(fnmatch.translate(pattern[i : end + 1])[4:-3])
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out), re.DOTALL)


def _hidden(relative: str) -> bool:
    return any(part[:1] in ("_", ".") for part in relative.split("/") if part)


def _partitions_of(key: str) -> dict[str, str]:
    folders = key.split("/")[:-1]
    found = {}
    for folder in folders:
        match = _PARTITION.fullmatch(folder)
        if match:
            found[unquote(match[1])] = unquote(match[2])
    return found


def _partition_types(refs: Sequence[ObjectRef]) -> dict[str, type]:
    """For each partition name, in order of first appearance: ``int`` if every value is a whole number."""
    kinds: dict[str, type] = {}
    for ref in refs:
        for name, value in ref.partitions.items():
            whole = value == _HIVE_NULL or _WHOLE.fullmatch(value) is not None
            kinds[name] = int if whole and kinds.get(name, int) is int else str
    return kinds


def _typed(partitions: dict[str, str], kinds: dict[str, type]) -> dict[str, Any]:
    values: dict[str, Any] = dict.fromkeys(kinds)
    for name, value in partitions.items():
        values[name] = None if value == _HIVE_NULL else kinds[name](value)
    return values


def _read_columns(wanted: list[str] | None, expression: Filter | None, kinds: dict[str, type]) -> list[str] | None:
    """The columns to read from the objects: those asked for and those the filter needs, not partitions."""
    if wanted is None:
        return None
    names = [c for c in wanted if c not in kinds]
    names += sorted((expression.names if expression else set()) - set(names) - set(kinds))
    return names or None


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


@dataclass
class _Loaded:
    ref: ObjectRef
    frame: pd.DataFrame


class _Fetcher:
    """Runs the loads on a bounded pool; the first failure cancels the others and is raised."""

    def __init__(self, refs: list[ObjectRef], bar: Progress, cancel: CancelFlag | None, workers: int,
                 load: Callable[[ObjectRef, Progress, CancelFlag, list[str] | None], pd.DataFrame],
                 columns: list[str] | None) -> None:
        self.refs, self.bar, self.cancel, self.workers, self.load = refs, bar, cancel, workers, load
        self.columns = columns
        self.done = 0
        self._lock = threading.Lock()

    def _one(self, ref: ObjectRef, flag: CancelFlag) -> _Loaded:
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
        return _Loaded(ref, frame)

    def run(self, nrows: int | None, expression: Filter | None, kinds: dict[str, type]) -> list[_Loaded]:
        flag = _EitherFlag(self.cancel)
        # With nrows, objects are taken in order a pool-full at a time, until the rows are there.
        waves = [self.refs] if nrows is None else [self.refs[i : i + self.workers]
                                                  for i in range(0, len(self.refs), self.workers)]
        loaded: list[_Loaded] = []
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


def _first_failure(futures: list[Future[_Loaded]], finished: set[Future[_Loaded]]) -> BaseException | None:
    failures = [f.exception() for f in futures if f in finished and not f.cancelled() and f.exception()]
    real = [e for e in failures if not isinstance(e, Cancelled)]
    return (real or failures or [None])[0]


def _matching_rows(loaded: _Loaded, expression: Filter | None, kinds: dict[str, type]) -> int:
    if expression is None:
        return len(loaded.frame)
    frame = _with_partitions(loaded.frame, loaded.ref, kinds)
    try:
        return int(expression.mask(frame).sum())
    except (FilterColumnError, TypeError):
        return 0  # the whole set decides, and reports, once it is combined


# --- combining -------------------------------------------------------------------------------------------


def _with_partitions(frame: pd.DataFrame, ref: ObjectRef, kinds: dict[str, type]) -> pd.DataFrame:
    values = _typed(ref.partitions, kinds)
    for name in kinds:
        if name in frame.columns:
            raise S3FormatError(
                f"{ref.text} has a column {name!r} and its key has a partition {name}=...; rename one, or "
                "load with partitions=False", uri=ref.text, bucket=ref.uri.bucket, key=ref.uri.key,
                code="ColumnClash", hints={"column": name},
            )
    if not kinds:
        return frame
    frame = frame.copy(deep=False)
    for name in kinds:
        frame[name] = values[name]
    return frame


def _kind(series: pd.Series) -> str:
    """A coarse type, for telling whether two objects' columns can share one: number, text, bool, ..."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    if isinstance(dtype, pd.DatetimeTZDtype):
        return f"datetime ({dtype.tz})"
    if pd.api.types.is_datetime64_dtype(dtype):
        return "datetime"
    if pd.api.types.is_timedelta64_dtype(dtype):
        return "timedelta"
    if isinstance(dtype, pd.CategoricalDtype):
        return _kind(pd.Series(dtype.categories))
    inferred = pd.api.types.infer_dtype(series, skipna=True)
    return {"string": "text", "boolean": "bool", "integer": "number", "floating": "number",
            "mixed-integer-float": "number", "decimal": "number", "datetime": "datetime",
            "datetime64": "datetime", "date": "date", "bytes": "bytes"}.get(inferred, "object")


def _combine(loaded: list[_Loaded], kinds: dict[str, type], source_column: str | None) -> pd.DataFrame:
    frames = [_with_partitions(item.frame, item.ref, kinds) for item in loaded]
    order: dict[str, None] = {}
    for frame in frames:
        order.update(dict.fromkeys(frame.columns))
    # Per column, the objects where it holds values: only those decide its type.
    first: dict[str, tuple[str, str, str]] = {}
    informative: dict[str, set[int]] = {}
    for index, (item, frame) in enumerate(zip(loaded, frames, strict=True)):
        for name in frame.columns:
            column = frame[name]
            if isinstance(column, pd.DataFrame) or column.isna().all():
                continue
            kind = _kind(column)
            informative.setdefault(name, set()).add(index)
            seen = first.setdefault(name, (kind, item.ref.text, str(column.dtype)))
            if kind != seen[0] and "object" not in (kind, seen[0]):
                raise S3FormatError(
                    f"column {name!r} is {kind} ({column.dtype}) in {item.ref.text} but {seen[0]} ({seen[2]}) "
                    f"in {seen[1]}: the objects cannot be combined", uri=item.ref.text, bucket=item.ref.uri.bucket,
                    key=item.ref.uri.key, code="SchemaMismatch",
                    hints={"column": name, "other": seen[1], "types": [seen[2], str(column.dtype)]},
                )
    # A column that is all null in one object would otherwise decide the type (float NaN beside text).
    trimmed = []
    for index, frame in enumerate(frames):
        empty = [n for n in frame.columns if n in informative and index not in informative[n]]
        trimmed.append(frame.drop(columns=empty) if empty else frame)
    lengths = [len(f) for f in trimmed]
    if len(trimmed) == 1:
        result = trimmed[0].reset_index(drop=True)
    else:
        result = pd.concat(trimmed, ignore_index=True, sort=False)
    result = result.reindex(columns=list(order)) if list(result.columns) != list(order) else result
    if source_column is not None:
        if source_column in result.columns:
            raise S3FormatError(
                f"the source column {source_column!r} is already a column of the data; choose another name",
                uri=loaded[0].ref.text, code="ColumnClash", hints={"column": source_column},
            )
        codes = np.repeat(np.arange(len(loaded)), lengths)
        result[source_column] = pd.Categorical.from_codes(codes, categories=[i.ref.text for i in loaded])
    result.attrs = {}
    return result


def _apply(expression: Filter, frame: pd.DataFrame, label: str) -> pd.DataFrame:
    try:
        return frame[expression.mask(frame)]
    except FilterColumnError as exc:
        raise S3FormatError(
            f"the filter {expression.text!r} names {exc.name!r}, which is neither a column of {label} nor a "
            f"partition; its columns are {', '.join(map(repr, frame.columns))}", uri=label, code="BadFilter",
            hints={"column": exc.name, "available": [str(c) for c in frame.columns]},
        ) from None
    except TypeError as exc:
        raise S3FormatError(
            f"the filter {expression.text!r} compares values of different types in {label}: {exc}", uri=label,
            code="BadFilter", detail=str(exc),
        ) from None


def _provenance(label: str, loaded: list[_Loaded], listed: int) -> dict[str, Any]:
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
