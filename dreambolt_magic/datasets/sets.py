"""The set loader: many objects (a list, a glob, a prefix, a table's files) fetched concurrently into one frame.

:func:`load_set` expands what it is given into objects (:mod:`dreambolt_magic.datasets.listing` says what a glob,
a prefix or a list names), fetches them concurrently (a bounded pool of threads, each object read by
:func:`dreambolt_magic.objects.load.load_object` with its retries, regions and parsers), then unifies their
schemas and concatenates them (:mod:`dreambolt_magic.datasets.partitions`), in the order the objects were
named or listed.

A ``filter`` (see :mod:`dreambolt_magic.datasets.filters`) is first decided on the Hive partition values, so objects in
partitions that cannot match are never fetched, then on each Parquet object's row-group statistics (from its
footer, :mod:`dreambolt_magic.formats.rowgroups`), so row groups that cannot match are never fetched either, and
finally applied to the rows.

Objects the listing says are archived (Glacier, Deep Archive) refuse the whole set before any download, or,
with ``skip_archived``, are left out and counted (:mod:`dreambolt_magic.datasets.archived`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from dreambolt_magic.client import redaction
from dreambolt_magic.client.connection import Connection, endpoint_from_env
from dreambolt_magic.datasets import archived, sampling, tables
from dreambolt_magic.datasets.fetcher import Fetcher, set_progress
from dreambolt_magic.datasets.filters import Filter
from dreambolt_magic.datasets.listing import ObjectRef, expand, iter_refs, set_label
from dreambolt_magic.datasets.loader import MAX_WORKERS
from dreambolt_magic.datasets.partitions import (
    Loaded,
    apply_filter,
    columns_to_read,
    combine,
    matching_rows,
    partition_types,
    typed,
)
from dreambolt_magic.datasets.sampling import Sampler, Wave
from dreambolt_magic.errors import S3Error, S3FormatError, S3NotFound
from dreambolt_magic.objects.load import DEFAULTS, Listed, load_object
from dreambolt_magic.options import LoadOptions
from dreambolt_magic.transfer.progress import CancelFlag, Progress
from dreambolt_magic.units import plural
from dreambolt_magic.uri import S3Uri

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["load_set"]


def load_set(
    uris: str | S3Uri | Sequence[str | S3Uri],
    options: LoadOptions = DEFAULTS,
    *,
    progress: bool | Progress = True,
    cancel: CancelFlag | None = None,
    source_column: str | None = None,
    filter: str | Filter | None = None,
    partitions: bool = True,
    max_workers: int = MAX_WORKERS,
    sample: int | None = None,
    table_version: int | None = None,
    skip_archived: bool = False,
) -> pd.DataFrame:
    """:func:`load_many` with its options as one object (checked already).

    A prefix that is the root of a Delta Lake or Iceberg table is read as the table: the files of its current
    version (or ``table_version``), as its log or metadata names them (:mod:`dreambolt_magic.datasets.tables`).
    """
    run: dict[str, Any] = {"progress": progress, "cancel": cancel, "source_column": source_column, "filter": filter,
           "partitions": partitions, "max_workers": max_workers, "sample": sample,
                           "skip_archived": skip_archived}
    tables.check_version(table_version)
    try:
        if table_version is None:
            return _load_set(uris, options, None, **run)
        # Only a table has versions: its listing, which refuses a table's root, says whether this is one.
        expand(uris, options.connect, region=options.region, cancel=cancel)
        raise tables.not_a_table(set_label(uris), table_version)
    except S3FormatError as exc:
        root = tables.table_root(uris, exc)
        if root is None:
            raise
        table = tables.open_table(root, tables.TABLE_CODES[str(exc.code)], options, version=table_version)
    if not table.refs and table.schema is not None:
        return _empty_table(set_label(uris), table, table.schema, options.read.column_list, source_column)
    return _load_set(uris, options, table, **run)


def _empty_table(label: str, table: tables.Table, schema: pa.Schema, wanted: list[str] | None,
                 source_column: str | None) -> pd.DataFrame:
    """The frame of a table whose version has no file (created, not yet written; or every row deleted): no
    row, the table's columns and types (``schema``)."""
    frame = schema.empty_table().to_pandas()
    if wanted is not None:
        missing = [c for c in wanted if c not in frame.columns]
        if missing:
            raise S3FormatError(f"the table {label} has no column {', '.join(map(repr, missing))}; its columns are "
                                f"{', '.join(map(repr, table.columns))}", uri=label, code="MissingColumns",
                                hints={"missing": missing, "available": list(table.columns)})
        frame = frame[wanted]
    if source_column is not None:
        frame[source_column] = pd.Series(dtype=object)
    frame.attrs["s3"] = {**_provenance(label, [], 0), "table": table.describe(), "elapsed": 0.0}
    return frame


def _load_set(
    uris: str | S3Uri | Sequence[str | S3Uri],
    options: LoadOptions,
    table: tables.Table | None,
    *,
    progress: bool | Progress,
    cancel: CancelFlag | None,
    source_column: str | None,
    filter: str | Filter | None,
    partitions: bool,
    max_workers: int,
    sample: int | None,
    skip_archived: bool,
) -> pd.DataFrame:
    started = time.monotonic()
    redaction.install()
    if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
        raise ValueError(f"max_workers must be a whole number of at least 1, not {max_workers!r}")
    nrows = options.read.nrows
    sample = sampling.check(sample, nrows)
    if source_column is not None and (not isinstance(source_column, str) or not source_column):
        raise ValueError(f"source_column must be a column name, not {source_column!r}")
    expression = Filter(filter) if isinstance(filter, str) else filter
    wanted = options.read.column_list
    label = set_label(uris)
    bar = set_progress(progress)
    endpoint = options.connect.endpoint_url or endpoint_from_env()
    skipped = archived.Skipped()
    ok = False
    shared = None
    try:
        waves: Iterable[Wave]
        if sample is None:
            refs = list(table.refs) if table is not None else expand(uris, options.connect, region=options.region,
                                                                       cancel=cancel)
            if not partitions:
                refs = [replace(r, partitions={}) for r in refs]
            kinds = partition_types(refs)
            listed = len(refs)
            if expression is not None:
                refs = [r for r in refs if expression.decide(typed(r.partitions, kinds)) is not False]
            _check_found(refs, label, expression, listed)
            refs, skipped.count = archived.refuse_or_skip(refs, label, skip=skip_archived, endpoint=endpoint)
            read_columns = columns_to_read(wanted, expression, kinds)
            rows = None if expression and expression.names - set(kinds) else nrows
            # With nrows, objects are taken in order a pool-full at a time, until the rows are there.
            waves = [Wave(refs, rows, read_columns)] if nrows is None else [
                Wave(refs[i : i + max_workers], rows, read_columns) for i in range(0, len(refs), max_workers)]
            counted = _Rows(nrows, expression, kinds)
            stop, total = counted.stop, len(refs)
            kinds_of: Callable[[ObjectRef], dict[str, type]] = lambda _: kinds  # noqa: E731
            bar.start(_total(refs), plural(len(refs), "file"))
        else:
            listing = iter(table.refs) if table is not None else iter_refs(uris, options.connect,
                                                                            region=options.region, cancel=cancel)
            source = archived.skipping(listing, label, skip=skip_archived, skipped=skipped, endpoint=endpoint)
            sampler = Sampler(source if partitions else (replace(r, partitions={}) for r in source), sample,
                              expression=expression, workers=max_workers, columns=wanted)
            waves, stop, total = sampler.waves(), sampler.stop, None
            kinds_of = lambda ref: partition_types([ref])  # noqa: E731 (the types as the sample meets them)
            bar.start(None, f"sample of {plural(sample, 'row')}")
        shared = _connection(options, max_workers, label)
        # Parquet files' tables are converted into pandas at once, once all are here (partitions.combine).
        fetch = Fetcher(bar, cancel, max_workers, lambda ref, part, flag, cols, rows: load_object(
            ref.uri, options.reading(columns=cols, nrows=rows, allow_missing=True), progress=part, cancel=flag,
            defer=True,
            row_filter=expression.bind(typed(ref.partitions, kinds_of(ref))) if expression is not None else None,
            listed=Listed(ref.etag, ref.size), connection=shared), total)
        loaded = fetch.run(waves, stop)
        if sample is not None:
            kinds, listed = sampler.kinds, sampler.listed
            _check_found(sampler.pulled, label, expression, listed)
            nrows = sample
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
        elif table is not None:
            # The table's own column order, its partition columns where its schema has them.
            order = [c for c in table.columns if c in frame.columns]
            frame = frame[order + [c for c in frame.columns if c not in order]]
        if nrows is not None:
            frame = frame.iloc[:nrows]
        if expression is not None or nrows is not None:
            frame = frame.reset_index(drop=True)
        if sample is not None:
            provenance["sample"] = sample
        if table is not None:
            provenance["table"] = table.describe()
        if skip_archived:
            provenance["skipped_archived"] = skipped.count
        provenance["elapsed"] = round(time.monotonic() - started, 6)
        frame.attrs["s3"] = provenance
        ok = True
        return frame
    finally:
        bar.finish(ok=ok)
        if shared is not None:
            shared.release()  # kept for the next set


def _connection(options: LoadOptions, workers: int, label: str) -> Connection:
    """One botocore session, and one client per region, for every object of the set (at its endpoint): making
    a client takes about 10 ms of CPU, longer than a small object takes to load. Leased (to release at the
    set's end): the next set with the same settings reuses it."""
    connect = options.connect
    try:
        # Each object's own share: its parts in flight, and its main stream.
        return Connection.lease(connect.at(connect.endpoint_url or endpoint_from_env()),
                                pool=workers * (options.transfer.max_concurrency + 2))
    except S3Error as exc:
        exc.uri = exc.uri or label
        raise


def _check_found(refs: Sequence[ObjectRef], label: str, expression: Filter | None, listed: int) -> None:
    if not refs:
        raise S3NotFound(
            f"no object of {label} matches the filter {expression.text!r}" if expression else None,
            uri=label, code="NoMatchingObjects",
            hints={"filter": expression.text if expression else None, "listed": listed},
        )


def _total(refs: Sequence[ObjectRef]) -> int | None:
    sizes = [r.size for r in refs]
    return None if any(s is None for s in sizes) else sum(s for s in sizes if s is not None)


class _Rows:
    """Counts the rows the objects bring, until ``limit`` (none: never enough, every object is fetched)."""

    def __init__(self, limit: int | None, expression: Filter | None, kinds: dict[str, type]) -> None:
        self.limit, self.expression, self.kinds = limit, expression, kinds
        self.seen = 0

    def stop(self, batch: list[Loaded]) -> bool:
        if self.limit is None:
            return False
        self.seen += sum(matching_rows(b, self.expression, self.kinds) for b in batch)
        return self.seen >= self.limit


def _provenance(label: str, loaded: list[Loaded], listed: int) -> dict[str, Any]:
    objects = [dict(item.info) for item in loaded]
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
