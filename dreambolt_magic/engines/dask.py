"""**dask.** On the client only two things happen: the URIs are expanded with our listing
(:func:`dreambolt_magic.datasets.listing.expand`; a ``filter`` prunes Hive partitions there, so objects that cannot
match never become partitions), and ``meta`` (the empty frame that gives dask the columns and their types)
is read from the first object: for Parquet and Feather with ``nrows=0`` (for Parquet the footer alone), for
text formats the whole first object (or its first ``nrows``), because a header does not tell the column
types (this is what ``dask.dataframe.from_map`` would do without ``meta``). Each partition is then read,
when dask computes it, by :func:`dreambolt_magic.api.load` on the worker, with the same retries, region
detection, endpoint, memory guard, parsers and error translation as a pandas load.

Only settings cross to the workers (format, columns, region and the bucket regions learnt while listing,
profile name, endpoint, ``anon``, ``requester_pays``, attempts, timeouts, the filter's text, partition and
source-column handling, ``read_options``), never credentials: each worker finds its own through the standard
AWS chain, so a remote cluster's workers need credentials of their own (an instance role, their environment).

Schemas: the columns and types are the first object's (or ``columns=``), plus the Hive partition columns and
the source column. A partition whose object lacks a column has nulls there; a column the first object lacks
is dropped from later objects unless ``columns=`` names it; a column whose type conflicts with the first
object's (text against numbers) raises :class:`~dreambolt_magic.errors.S3FormatError` (``SchemaMismatch``)
when that partition is computed, as the pandas engine does when it combines. Integers and floats combine as
in pandas. Each partition keeps its own 0-based index, as dask's own readers do:
``.compute().reset_index(drop=True)`` is the pandas engine's frame.

Scheduler: dask computes with the ``distributed.Client`` the user has created (dask uses the most recent
one by itself), else with dask's local threaded scheduler. No cluster is started behind the user's back: a
``LocalCluster`` is processes, ports and a dashboard that would outlive the cell; ``Client()`` is one line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dreambolt_magic.client.connection import endpoint_from_env
from dreambolt_magic.client.regions import region_cache
from dreambolt_magic.datasets.archived import refuse_or_skip
from dreambolt_magic.datasets.filters import Filter
from dreambolt_magic.datasets.listing import ObjectRef, expand, is_many, set_label
from dreambolt_magic.datasets.partitions import (
    apply_filter,
    columns_to_read,
    kind_of,
    partition_types,
    typed,
    with_partitions,
)
from dreambolt_magic.engines.extras import require
from dreambolt_magic.errors import S3FormatError, S3NotFound
from dreambolt_magic.formats import readers
from dreambolt_magic.objects.load import load_object
from dreambolt_magic.options import LoadOptions
from dreambolt_magic.uri import S3Uri

if TYPE_CHECKING:
    import os

    import dask.dataframe as dd

    from dreambolt_magic.objects.cache import Cache
    from dreambolt_magic.transfer.progress import CancelFlag, Progress

__all__ = ["load_dask"]

#: Formats whose files carry their schema: their meta is read with nrows=0 (for Parquet, the footer alone).
_SCHEMA_FORMATS = ("parquet", "feather", "orc")


def load_dask(
    uri: str | S3Uri | Sequence[str | S3Uri],
    *,
    format: str | None = None,
    columns: Sequence[str] | str | None = None,
    nrows: int | None = None,
    region: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
    anon: bool = False,
    requester_pays: bool = False,
    max_attempts: int = 5,
    progress: bool | Progress = True,
    unsigned_fallback: bool = True,
    connect_timeout: float | None = None,
    read_timeout: float | None = None,
    cancel: CancelFlag | None = None,
    max_concurrency: int | None = None,
    part_size: int | None = None,
    force: bool = False,
    memory_limit: int | None = None,
    min_speed: int | None = None,
    source_column: str | None = None,
    filter: str | Filter | None = None,
    cache: bool | str | os.PathLike[str] | Cache | None = None,
    partitions: bool = True,
    max_workers: int | None = None,
    skip_archived: bool = False,
    **read_options: Any,
) -> dd.DataFrame:
    """A lazy dask DataFrame over the objects ``uri`` names, one partition per object.

    The options are :func:`dreambolt_magic.api.load`'s (and ``partitions`` and ``skip_archived`` of
    :func:`dreambolt_magic.datasets.loader.load_many`). ``progress`` and ``cancel`` apply to the listing and the
    read of ``meta`` on the client; on the workers there is no bar (dask's dashboard shows the progress).
    ``nrows`` gives a lazy frame of the set's first rows (``DataFrame.head(nrows, npartitions=-1,
    compute=False)``), each object read no further than it needs. ``max_workers`` is accepted for symmetry
    and ignored: the cluster decides how many objects are read at once. ``cache`` is each worker's own
    disk. Raises the loader's errors for the listing and the first object now, and for the other objects
    when dask computes them.
    """
    del max_workers  # the cluster's threads decide
    if format is not None:
        format = readers.normalize_format(format)  # before any request
    options = LoadOptions.of(format=format, columns=columns, nrows=nrows, region=region, profile=profile,
                             endpoint_url=endpoint_url, anon=anon, requester_pays=requester_pays,
                             max_attempts=max_attempts, unsigned_fallback=unsigned_fallback,
                             connect_timeout=connect_timeout, read_timeout=read_timeout,
                             max_concurrency=max_concurrency, part_size=part_size, force=force,
                             memory_limit=memory_limit, min_speed=min_speed, cache=cache, **read_options)
    return lazy_frame(uri, options, progress=progress, cancel=cancel, source_column=source_column, filter=filter,
                      partitions=partitions, skip_archived=skip_archived)


def lazy_frame(
    uri: str | S3Uri | Sequence[str | S3Uri],
    options: LoadOptions,
    *,
    progress: bool | Progress = True,
    cancel: CancelFlag | None = None,
    source_column: str | None = None,
    filter: str | Filter | None = None,
    partitions: bool = True,
    skip_archived: bool = False,
) -> dd.DataFrame:
    """:func:`load_dask` with its options as one object (checked already)."""
    require("dask")
    import dask.dataframe as dd

    from dreambolt_magic.client import redaction

    redaction.install()
    if options.sse_customer_key is not None:
        raise ValueError("an SSE-C key is not sent to dask's workers (it would travel in the task graph): load "
                         "SSE-C encrypted objects with engine='pandas' or 'polars'")
    nrows = options.read.nrows
    if source_column is not None and (not isinstance(source_column, str) or not source_column):
        raise ValueError(f"source_column must be a column name, not {source_column!r}")
    many = not isinstance(uri, (str, S3Uri)) or is_many(uri) or source_column is not None or filter is not None
    expression = Filter(filter) if isinstance(filter, str) else filter
    wanted = options.read.column_list
    label = set_label(uri)
    endpoint_url = options.connect.endpoint_url

    refs = expand(uri, options.connect, region=options.region, cancel=cancel)
    if not partitions or not many:
        # A single object loads without partition columns in the pandas engine too.
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
    # Archived objects would fail their partitions when computed: refused (or left out) now instead.
    refs, _ = refuse_or_skip(refs, label, skip=skip_archived, endpoint=endpoint_url or endpoint_from_env())
    read_columns = columns_to_read(wanted, expression, kinds)
    per_object_rows = None if expression is not None and expression.names - set(kinds) else nrows
    sample = _sample(refs[0], options, read_columns, per_object_rows, progress, cancel)
    meta = with_partitions(sample.iloc[:0], refs[0], kinds)
    for name, kind in kinds.items():
        meta[name] = meta[name].astype("int64" if kind is int else pd.Series(["text"]).dtype)
    if expression is not None:
        apply_filter(expression, meta, label)  # a name that is neither a column nor a partition: BadFilter now
    out = [c for c in wanted if c in meta.columns] if wanted is not None else list(meta.columns)
    meta = meta[out]
    if source_column is not None:
        if source_column in meta.columns:
            raise S3FormatError(
                f"the source column {source_column!r} is already a column of the data; choose another name",
                uri=refs[0].text, code="ColumnClash", hints={"column": source_column},
            )
        meta[source_column] = pd.Categorical([], categories=[r.text for r in refs])
    meta.attrs = {}
    reader = _Partition(
        options=options,
        env_endpoint=endpoint_from_env(),
        regions=_regions(refs, endpoint_url, endpoint_from_env()),
        kinds=kinds,
        read_columns=read_columns,
        filter=expression.text if expression is not None else None,
        source_column=source_column,
        nrows=per_object_rows,
        meta=meta,
        meta_kinds={name: kind_of(meta[name]) for name in meta.columns},
        first=refs[0].text,
    )
    frame = dd.from_map(reader, refs, meta=meta, label="s3ingest", enforce_metadata=False)
    if nrows is not None:
        frame = frame.head(nrows, npartitions=-1, compute=False)
    return frame


def _sample(ref: ObjectRef, options: LoadOptions, columns: list[str] | None, nrows: int | None, progress: Any,
            cancel: Any) -> pd.DataFrame:
    """The first object, as little of it as tells its columns' types (see the module docstring)."""
    try:
        fmt, _ = readers.detect(ref.uri.key, b"", format=options.read.format)
    except S3FormatError:
        fmt = None  # no extension: the bytes will tell, so read them
    rows = 0 if fmt in _SCHEMA_FORMATS else nrows
    endpoint = options.connect.endpoint_url
    frame = _frame(ref.uri, options.at(endpoint).reading(columns=columns, nrows=rows, allow_missing=True),
                   progress=progress, cancel=cancel)
    # The first object may lack some of the columns asked for: their type is unknown until another has them.
    for name in columns or ():
        if name not in frame.columns:
            frame[name] = pd.Series(index=frame.index, dtype=object)
    return frame if columns is None else frame[columns]


def _regions(refs: list[ObjectRef], endpoint_url: str | None, env_endpoint: str | None) -> dict[str, str]:
    """The regions the listing and the first read learnt, by ``endpoint|bucket``, to seed each worker's cache."""
    found = {}
    for ref in refs:
        endpoint = endpoint_url or ref.uri.endpoint or env_endpoint
        region = region_cache.get(endpoint, ref.uri.bucket)
        if region:
            found[f"{endpoint}|{ref.uri.bucket}"] = region
    return found


@dataclass(frozen=True)
class _Partition:
    """Reads one object into one partition, on a worker. Holds settings only: it is pickled into the graph.

    Its ``columns`` argument lets dask's optimizer push a column selection into the read.
    """

    options: LoadOptions
    env_endpoint: str | None
    regions: dict[str, str]
    kinds: dict[str, type]
    read_columns: list[str] | None
    filter: str | None
    source_column: str | None
    nrows: int | None
    meta: pd.DataFrame
    meta_kinds: dict[str, str]
    first: str

    def __dask_tokenize__(self) -> Any:
        return (type(self).__name__, repr(self.options), self.env_endpoint, sorted(self.regions.items()),
                sorted((k, v.__name__) for k, v in self.kinds.items()),
                self.read_columns, self.filter, self.source_column, self.nrows,
                [(str(c), str(t)) for c, t in self.meta.dtypes.items()], self.first)

    def __call__(self, ref: ObjectRef, columns: list[str] | None = None) -> pd.DataFrame:
        endpoint = self.options.connect.endpoint_url or ref.uri.endpoint or self.env_endpoint
        learnt = self.regions.get(f"{endpoint}|{ref.uri.bucket}")
        if learnt and not region_cache.get(endpoint, ref.uri.bucket):
            region_cache.set(endpoint, ref.uri.bucket, learnt)
        out = list(self.meta.columns) if columns is None else list(columns)
        expression = Filter(self.filter) if self.filter is not None else None
        file_columns = [c for c in out if c not in self.kinds and c != self.source_column]
        read = self.read_columns if columns is None else columns_to_read(file_columns, expression, self.kinds)
        # An object need not have every column asked for: it is null there, as in the pandas engine.
        options = self.options.at(endpoint).reading(columns=read, nrows=self.nrows, allow_missing=True)
        frame = _frame(ref.uri, options, progress=False)
        frame = with_partitions(frame, ref, self.kinds)
        needed = [c for c in out if c != self.source_column]
        needed += sorted((expression.names if expression else set()) - set(needed))
        frame = self._conform(frame, needed, ref)
        if expression is not None:
            frame = apply_filter(expression, frame, ref.text)
        frame = frame.reset_index(drop=True)
        if self.source_column is not None and self.source_column in out:
            dtype = self.meta[self.source_column].dtype
            frame[self.source_column] = pd.Categorical([ref.text] * len(frame), dtype=dtype)
        frame = frame[out]
        frame.attrs = {}
        return frame

    def _conform(self, frame: pd.DataFrame, names: list[str], ref: ObjectRef) -> pd.DataFrame:
        """``frame`` with exactly ``names``: those it lacks as nulls, a type that conflicts with meta refused."""
        columns = {}
        for name in names:
            if name not in frame.columns:
                columns[name] = _nulls(self.meta[name].dtype if name in self.meta.columns else None, frame.index)
                continue
            column = frame[name]
            expected = self.meta_kinds.get(name, "object")
            if not column.isna().all() and (kind := kind_of(column)) != expected and "object" not in (kind, expected):
                raise S3FormatError(
                    f"column {name!r} is {kind} ({column.dtype}) in {ref.text} but {expected} "
                    f"({self.meta[name].dtype}) in {self.first}: the objects cannot be combined", uri=ref.text,
                    bucket=ref.uri.bucket, key=ref.uri.key, code="SchemaMismatch",
                    hints={"column": name, "other": self.first, "types": [str(self.meta[name].dtype),
                                                                            str(column.dtype)]},
                )
            columns[name] = column
        return pd.DataFrame(columns, index=frame.index)


def _nulls(dtype: Any, index: pd.Index) -> pd.Series:
    """A column of nulls in ``dtype`` where it can hold them (whole numbers become float, bools object)."""
    if dtype is None or (isinstance(dtype, np.dtype) and dtype.kind == "b"):
        return pd.Series(None, index=index, dtype=object)
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        return pd.Series(np.nan, index=index, dtype="float64")
    return pd.Series(None, index=index, dtype=dtype)


def _frame(uri: S3Uri, options: LoadOptions, *, progress: Any, cancel: Any = None) -> pd.DataFrame:
    """One object's pandas frame, as the object loader reads it."""
    frame, _ = load_object(uri, options, progress=progress, cancel=cancel)
    assert isinstance(frame, pd.DataFrame)  # only load_object(defer=True) gives a table
    return frame
