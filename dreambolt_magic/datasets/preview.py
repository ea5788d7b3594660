"""What a load would bring, without downloading it: objects, bytes, schema and rows where the files say.

:func:`info` expands URIs, globs and prefixes as :func:`dreambolt_magic.datasets.loader.load_many` does (a listing
gives every object's size), then reads as little of each as its format allows:

- Parquet: the footer alone (one ranged GET of the file's last 64 KiB, a second only for a bigger footer),
  which gives the schema with its types and the row count;
- other formats: the column names, from the first few KiB (:func:`dreambolt_magic.datasets.browse.peek_columns`),
  for the first object only; their types and rows are unknown until the data is read.

It also estimates the memory the DataFrame would take (:mod:`dreambolt_magic.transfer.memory`): for Parquet from the
footers (rows, types, null counts, string lengths), usually within a few percent; for the other formats from
the objects' sizes by a factor per format, a rough guess (shown with ``~``) that can be off by half or double.

Every GET carries an explicit ``Range``: no object body is downloaded whole. Objects the listing says are archived
(Glacier, Deep Archive, not restored) are flagged and not read at all (S3 would refuse): their rows and memory
are not counted.

One object that cannot be read (not Parquet after all, truncated, refused) does not spoil the rest: the info
names it with the reason (:attr:`SetInfo.failed`, :attr:`ObjectSummary.error`) and counts what it could read.
Only when no object at all could be read is the first error raised, with its explanation: then there is
nothing to show, and the cause (credentials, say) is likely the same for all.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from dreambolt_magic.datasets import tables
from dreambolt_magic.datasets.listing import ObjectRef, expand, set_label
from dreambolt_magic.datasets.loader import MAX_WORKERS
from dreambolt_magic.datasets.partitions import partition_types
from dreambolt_magic.errors import S3Error, S3FormatError
from dreambolt_magic.formats import estimates, readers
from dreambolt_magic.options import ConnectOptions, CustomerKey, LoadOptions
from dreambolt_magic.uri import S3Uri

__all__ = ["FAILURES_LISTED", "ObjectSummary", "SetInfo", "info"]

#: The most objects that could not be read that the text names one by one (all are in ``SetInfo.failed``).
FAILURES_LISTED = 50
#: The objects of a text format whose first bytes are tried for the column names, one after another while
#: they cannot be read.
PEEK_TRIES = 3


@dataclass(frozen=True)
class ObjectSummary:
    """One object: its URI, size, format, and (for Parquet) its row count and schema."""

    uri: str
    size: int | None
    format: str | None
    rows: int | None = None
    schema: dict[str, str] | None = None
    #: Bytes the object's DataFrame would take, estimated; ``rough`` when from the size alone.
    memory: int | None = None
    rough: bool = False
    #: The listing's storage class; ``archived``: it must be restored before it can be read.
    storage_class: str | None = None
    archived: bool = False
    #: Why it could not be read (our error's one-line message), or ``None``: its rows and memory are not counted.
    error: str | None = None


@dataclass
class SetInfo:
    """What :func:`info` found. ``schema`` maps each column to its type (``"?"`` where only the name is
    known); ``rows`` is ``None`` unless every object's count is known."""

    uri: str
    objects: list[ObjectSummary]
    schema: dict[str, str] = field(default_factory=dict)
    partitions: dict[str, str] = field(default_factory=dict)
    #: For a table's root: what ``df.attrs["s3"]["table"]`` would say (format, root, version, files, rows).
    table: dict[str, Any] | None = None

    @property
    def total_bytes(self) -> int:
        return sum(o.size or 0 for o in self.objects)

    @property
    def archived(self) -> list[ObjectSummary]:
        """The objects that must be restored before they can be read."""
        return [o for o in self.objects if o.archived]

    @property
    def failed(self) -> list[ObjectSummary]:
        """The objects that could not be read, each with its :attr:`~ObjectSummary.error`."""
        return [o for o in self.objects if o.error is not None]

    @property
    def _readable(self) -> list[ObjectSummary]:
        return [o for o in self.objects if not o.archived and o.error is None]

    @property
    def rows(self) -> int | None:
        """The rows of the objects that can be read (``None`` unless every one's count is known)."""
        counts = [o.rows for o in self._readable]
        return None if any(c is None for c in counts) else sum(c for c in counts if c is not None)

    @property
    def memory(self) -> int | None:
        """The estimated memory of the frame of the objects that can be read, in bytes (``None`` if some
        object's format is unknown)."""
        sizes = [o.memory for o in self._readable]
        return None if any(m is None for m in sizes) else sum(m for m in sizes if m is not None)

    @property
    def rough(self) -> bool:
        """Whether :attr:`memory` is a rough guess from sizes (some object is not Parquet)."""
        return any(o.rough for o in self._readable)

    def lines(self, limit: int = 10) -> list[str]:
        from dreambolt_magic.units import human_bytes, plural

        rows = plural(self.rows, "row") if self.rows is not None else "rows unknown until loaded"
        out = [f"{self.uri}: {plural(len(self.objects), 'object')} · {human_bytes(self.total_bytes)} · {rows}"]
        if self.table is not None:
            out.insert(0, f"{tables.label(self.table)}: the {plural(self.table['files'], 'file')} its "
                          f"{'log' if self.table['format'] == 'delta' else 'metadata'} names")
            if self.table.get("metadata"):
                out.append(f"Metadata: {self.table['metadata']}")
        need = self.memory
        if need is None:
            out.append("Memory as a DataFrame: unknown (an object's format is unknown)")
        elif self.rough:
            out.append(f"Memory as a DataFrame: ~{human_bytes(need)} (a rough guess from the objects' sizes)")
        else:
            out.append(f"Memory as a DataFrame: about {human_bytes(need)} (estimated from the Parquet footers)")
        if cold := self.archived:
            classes = ", ".join(sorted({o.storage_class or "?" for o in cold}))
            out.append(f"Archived: {plural(len(cold), 'object')} ({classes}) must be restored "
                       "before loading (not counted above); --skip-archived loads the rest")
        if failed := self.failed:
            out.append(f"Could not read {plural(len(failed), 'object')} (not counted above):")
            out += [f"  {obj.uri}: {obj.error}" for obj in failed[:FAILURES_LISTED]]
            if len(failed) > FAILURES_LISTED:
                out.append(f"  ... and {len(failed) - FAILURES_LISTED:,} more (their errors: .failed)")
        for obj in self.objects[:limit]:
            count = f" · {plural(obj.rows, 'row')}" if obj.rows is not None else ""
            note = f" · archived ({obj.storage_class})" if obj.archived else " · could not be read" if obj.error else ""
            out.append(f"  {obj.uri}  {human_bytes(obj.size or 0)}{count}{note}")
        if len(self.objects) > limit:
            out.append(f"  ... and {len(self.objects) - limit:,} more")
        out.append("Columns:" if self.schema else "Columns: unknown")
        out += [f"  {name}: {kind}" for name, kind in self.schema.items()]
        out += [f"  {name}: {kind} (partition)" for name, kind in self.partitions.items()]
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(str(self))

    def _repr_html_(self) -> str:
        first, *rest = self.lines()
        return (f"<div><b>{html.escape(first)}</b><pre style='margin:0.3em 0'>"
                f"{html.escape(chr(10).join(rest))}</pre></div>")


def info(
    uris: str | S3Uri | Sequence[str | S3Uri],
    *,
    format: str | None = None,
    region: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
    anon: bool = False,
    requester_pays: bool = False,
    max_attempts: int = 5,
    unsigned_fallback: bool = True,
    connect_timeout: float | None = None,
    read_timeout: float | None = None,
    max_workers: int = MAX_WORKERS,
    sse_customer_key: bytes | None = None,
    table_version: int | None = None,
) -> SetInfo:
    """Objects, total bytes, schema and row counts of what ``uris`` name, reading footers and headers only
    (with ``sse_customer_key``, the SSE-C key of objects encrypted with one). A Delta Lake or Iceberg table's
    root is its current version's files, or ``table_version``'s."""
    from dreambolt_magic.datasets import browse

    connect = ConnectOptions.of(profile=profile, endpoint_url=endpoint_url, anon=anon, requester_pays=requester_pays,
                                max_attempts=max_attempts, unsigned_fallback=unsigned_fallback,
                                connect_timeout=connect_timeout, read_timeout=read_timeout)
    if format is not None:
        format = readers.normalize_format(format)
    customer_key = CustomerKey.of(sse_customer_key)
    table = None
    tables.check_version(table_version)
    try:
        refs = expand(uris, connect, region=region)
        if table_version is not None:
            raise tables.not_a_table(set_label(uris), table_version)
    except S3FormatError as exc:
        root = tables.table_root(uris, exc)
        if root is None:
            raise
        table = tables.open_table(root, tables.TABLE_CODES[str(exc.code)], LoadOptions(connect=connect, region=region),
                                  version=table_version)
        refs = table.refs
    session = browse.Session.open(connect.at(endpoint_url or (refs[0].uri.endpoint if refs else None)))

    kinds = partition_types(refs)

    def one(ref: ObjectRef) -> ObjectSummary:
        try:
            fmt, compression = readers.detect(ref.uri.key, b"", format=format)
        except S3FormatError:
            fmt, compression = None, None
        if ref.archived:  # S3 refuses any read of it: its footer too
            return ObjectSummary(str(ref.uri), ref.size, fmt, storage_class=ref.storage_class, archived=True)
        try:
            if fmt == "parquet" and compression is None:
                found = _parquet(session, ref, region, customer_key)
                # The partition columns the load adds: 8 bytes a row for a number, an offset and the text for text.
                extra = sum(8 + (len(str(v)) if kinds.get(k) is str else 0) for k, v in ref.partitions.items())
                return replace(found, memory=(found.memory or 0) + (found.rows or 0) * extra,
                               storage_class=ref.storage_class)
            size = ref.size if ref.size is not None else _head_size(session, ref, region, customer_key)
        except S3Error as exc:
            failures.append(exc)
            return ObjectSummary(str(ref.uri), ref.size, fmt, storage_class=ref.storage_class, error=exc.message)
        guess = estimates.text_frame(size, fmt, compression) if fmt is not None else None
        return ObjectSummary(str(ref.uri), size, fmt, memory=guess, rough=True, storage_class=ref.storage_class)

    failures: list[S3Error] = []
    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(refs)))) as pool:
        objects = list(pool.map(one, refs))
    if failures and all(o.archived or o.error is not None for o in objects) and not all(o.archived for o in objects):
        # Not one object could be read: nothing to show but the error, whose explanation helps most.
        raise failures[0]
    # The listing gave sizes; plain URIs were not listed: their size comes from the footer read or stays unknown.
    schema: dict[str, str] = {}
    for obj in objects:
        for name, kind in (obj.schema or {}).items():
            if name in schema and schema[name] != kind and kind not in schema[name].split(" | "):
                schema[name] = f"{schema[name]} | {kind}"
            else:
                schema.setdefault(name, kind)
    readable = [i for i, o in enumerate(objects) if not o.archived and o.error is None]
    names: list[str] = []
    for index in readable[:PEEK_TRIES] if not schema else ():
        try:
            names = browse.peek_columns(refs[index].uri, format=format, endpoint_url=session.conn.endpoint_url,
                                        region=region, profile=profile, anon=anon, requester_pays=requester_pays,
                                        unsigned_fallback=unsigned_fallback, max_attempts=max_attempts,
                                        sse_customer_key=customer_key)
        except S3Error as exc:
            # This object's start does not read: name it, and take the names from the next one.
            objects[index] = replace(objects[index], memory=None, rough=False, error=exc.message)
            if len(readable) == 1:
                raise
            continue
        schema = dict.fromkeys(names, "?")
        break
    partitions = {name: "int64" if kind is int else "str" for name, kind in kinds.items()}
    if table is not None:
        typed = {f.name: str(f.type) for f in table.schema} if table.schema is not None else {}
        # The footers' types, else the partition values', else (no file: an empty table) the table's own.
        schema = {name: schema.get(name, partitions.pop(name, typed.get(name, "?"))) for name in table.columns}
    return SetInfo(set_label(uris), objects, schema, partitions, table.describe() if table is not None else None)


def _head_size(session: Any, ref: ObjectRef, region: str | None, customer_key: CustomerKey | None) -> int:
    """The size of an object named by its URI (no listing gave it): one HEAD."""
    from dreambolt_magic.datasets.browse import Peek

    peek = Peek(session, ref.uri, region or ref.uri.region, customer_key)
    peek.head()
    return peek.size


def _parquet(session: Any, ref: ObjectRef, region: str | None, customer_key: CustomerKey | None) -> ObjectSummary:
    from dreambolt_magic.datasets.browse import PEEK_BYTES, Peek

    peek = Peek(session, ref.uri, region or ref.uri.region, customer_key)
    if ref.size is None:
        peek.head()
    else:
        peek.size, peek.etag = ref.size, ref.etag
    size = peek.size
    key = ref.uri.key
    try:
        if size < 12:
            raise S3FormatError(f"{key} is too short to be Parquet ({size} bytes)", key=key, code="ParseError")
        first = max(0, size - PEEK_BYTES)
        tail = peek.read(first, size - 1)
        if tail[-4:] != b"PAR1":
            raise S3FormatError(f"{key} does not end with the Parquet magic bytes PAR1", key=key, code="ParseError")
        needed = int.from_bytes(tail[-8:-4], "little") + 8
        if needed > size - 4:
            raise S3FormatError(f"{key} has a footer longer than the file", key=key, code="ParseError")
        if needed > len(tail):
            tail = peek.read(size - needed, first - 1) + tail
        try:
            meta = pq.ParquetFile(pa.BufferReader(b"PAR1" + tail[-needed:])).metadata
        except (OSError, ValueError, pa.ArrowException) as exc:
            raise S3FormatError(f"{key} has a Parquet footer that does not parse", key=key, code="ParseError",
                                detail=str(exc)) from exc
    except S3Error as exc:
        for name, value in (("uri", str(ref.uri)), ("bucket", ref.uri.bucket), ("key", key)):
            if getattr(exc, name, None) is None:
                setattr(exc, name, value)
        raise
    schema = meta.schema.to_arrow_schema()
    columns = {f.name: str(f.type) for f in schema if not f.name.startswith("__index_level_")}
    return ObjectSummary(str(ref.uri), size, "parquet", meta.num_rows, columns, memory=estimates.parquet_frame(meta))
