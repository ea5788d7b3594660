"""The reader for each format: :data:`READERS` maps a format name to a function that parses bytes into a
DataFrame, and :func:`read` (or :func:`decode`, which may leave a Parquet file's table for the caller to
convert) tells the format (:mod:`dreambolt_magic.formats.detection`), checks and decompresses the bytes,
and parses them. No I/O happens here: the loader hands over bytes.

The detection names (:func:`detect`, :func:`named`, :data:`HEAD_BYTES`, ...) are re-exported: callers that
read bytes need both.
"""

from __future__ import annotations

import contextlib
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from types import EllipsisType
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.ipc
import pyarrow.parquet as pq

from dreambolt_magic.errors import S3TooLarge
from dreambolt_magic.formats import frames
from dreambolt_magic.formats.detection import (
    ALIASES,
    COMPRESSIONS,
    DECODERS,
    EXTENSIONS,
    FORMATS,
    HEAD_BYTES,
    KINDS,
    check_bytes,
    compression_of,
    decompress,
    detect,
    format_error,
    format_of,
    is_json_lines,
    looks_like,
    named,
    normalize_format,
    sniff,
    text_start,
)
from dreambolt_magic.formats.parquet import cut_range_index
from dreambolt_magic.options import column_list

__all__ = [
    "ALIASES",
    "COMPRESSIONS",
    "DECODERS",
    "Decoded",
    "EXTENSIONS",
    "FORMATS",
    "HEAD_BYTES",
    "READERS",
    "column_list",
    "decode",
    "detect",
    "looks_like",
    "named",
    "normalize_format",
    "read",
    "schema_columns",
]

@dataclass(frozen=True)
class Request:
    """What a reader is asked for: the decompressed bytes, the key (for errors), the columns and the row
    count (None: all of them) and the caller's read options."""

    data: memoryview
    key: str
    columns: list[Any] | None = None
    nrows: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    #: Parquet only: the row groups the bytes hold (a sparse read); None: all of them.
    row_groups: list[int] | None = None
    #: CSV and TSV only: a file that holds the same bytes, which pandas parses on several threads.
    path: str | None = None
    #: Parquet only: hand the decoded table back not yet converted into pandas (:class:`Decoded`), where it may.
    defer: bool = False
    #: Columns asked for that the object lacks are left out rather than refused (as long as one is there):
    #: a set's objects need not all have every column, the set has nulls there.
    allow_missing: bool = False

    def source(self) -> pa.BufferReader:
        # A file-like view of the bytes, so the parsers read them without a copy of the whole object.
        return pa.BufferReader(pa.py_buffer(self.data))

    def frame(self, table: pa.Table) -> pd.DataFrame:
        """A decoded table as the DataFrame asked for: with the read options, its columns writable, and none
        of them viewing the bytes read (see :mod:`dreambolt_magic.formats.frames`)."""
        return frames.to_pandas(table, source=self.data, **self.options)

    def result(self, table: pa.Table) -> pd.DataFrame | Decoded:
        """:meth:`frame`, or with ``defer`` the table as :class:`Decoded`, unless a column of it views the bytes
        read (which the loader frees once this returns)."""
        if self.defer and not frames.views(table, self.data):
            return Decoded(table, self.key, self.columns, self.options)
        return self.frame(table)

    def require(self, available: Iterable[Any]) -> Request:
        """This request, for the columns of ``available`` it asks for: MissingColumns if it asks for one that is
        not there (with :attr:`allow_missing`, only if none of them is)."""
        available = list(available)
        missing = [c for c in self.columns or () if c not in available]
        if not missing:
            return self
        assert self.columns is not None
        present = [c for c in self.columns if c in available]
        if self.allow_missing and present:
            return replace(self, columns=present)
        names = f"{', '.join(map(repr, missing))}; its columns are {', '.join(map(repr, available))}"
        hints = {"missing": missing, "available": available}
        raise format_error(self.key, "MissingColumns", f"has no column {names}", hints=hints)

    def first(self, batches: Iterable[pa.RecordBatch]) -> list[pa.RecordBatch]:
        """The batches holding the first nrows: a preview of a big file decodes only its start."""
        taken, count = [], 0
        for batch in batches if self.nrows != 0 else ():
            taken.append(batch)
            count += batch.num_rows
            if self.nrows is not None and count >= self.nrows:
                break
        return taken


@dataclass(frozen=True)
class Decoded:
    """A Parquet file decoded into Arrow and not yet into pandas: :meth:`frame` does that, as :func:`read` would
    have. A set of files converts its files' tables at once (:meth:`concat`): one conversion instead of one per
    file, where each costs about 2 ms of Python under the GIL whatever the file's size."""

    table: pa.Table
    key: str
    columns: list[Any] | None
    options: dict[str, Any]

    def frame(self) -> pd.DataFrame:
        """The DataFrame :func:`read` returns for these columns and read options."""
        with _parse_errors("parquet", self.key, self.options):
            frame = frames.to_pandas(self.table, **self.options)
        return _selected(frame, self.columns)

    @classmethod
    def concat(cls, items: Sequence[Decoded]) -> Decoded | None:
        """All of ``items`` as one, whose :meth:`frame` equals :func:`pandas.concat` of theirs (index aside);
        None where it might not: other columns or options, or tables that :func:`frames.can_concat` refuses."""
        first = items[0]
        if any(i.columns != first.columns or i.options != first.options for i in items[1:]):
            return None
        tables = [i.table for i in items]
        if not frames.can_concat(tables):
            return None
        return cls(pa.concat_tables(tables), first.key, first.columns, first.options)


#: A reader parses the bytes of one format into a DataFrame, with the columns (maybe more) and rows asked.
Reader = Callable[[Request], "pd.DataFrame | Decoded"]


def _read_parquet(request: Request) -> pd.DataFrame | Decoded:
    file = pq.ParquetFile(request.source())
    schema = file.schema_arrow
    # pyarrow silently skips asked-for columns that do not exist, so check against the schema first.
    request = request.require(n for n in schema.names if not re.fullmatch(r"__index_level_\d+__", n))
    columns, nrows = request.columns, request.nrows
    if nrows is None and request.row_groups is not None:
        # The others were never fetched (a filter's statistics ruled them out).
        table = file.read_row_groups(request.row_groups, columns=columns, use_pandas_metadata=True)
        return request.result(table.replace_schema_metadata(cut_range_index(schema, len(table))))
    if nrows is None:
        return request.result(file.read(columns=columns, use_pandas_metadata=True))
    # With row_groups, the others were never fetched: nothing may look at them, not even a read-ahead.
    batches = file.iter_batches(
        min(max(nrows, 1), 65_536), row_groups=request.row_groups, columns=columns, use_pandas_metadata=True
    )
    taken = request.first(batches)
    table = (pa.Table.from_batches(taken) if taken else schema.empty_table()).slice(0, nrows)
    return request.result(table.replace_schema_metadata(cut_range_index(schema, len(table))))


def _read_feather(request: Request) -> pd.DataFrame:
    is_file = bytes(request.data[:6]) == b"ARROW1"

    def open_ipc(options: pa.ipc.IpcReadOptions | None = None) -> Any:
        return (pa.ipc.open_file if is_file else pa.ipc.open_stream)(request.source(), options=options)

    reader = open_ipc()
    names = reader.schema.names
    request = request.require(names)
    if request.columns is not None:
        # Decode only the asked columns: Feather v2 compresses its buffers (LZ4) by default.
        fields = sorted({names.index(c) for c in request.columns})
        reader = open_ipc(pa.ipc.IpcReadOptions(included_fields=fields))
    batches = (reader.get_batch(i) for i in range(reader.num_record_batches)) if is_file else reader
    table = pa.Table.from_batches(request.first(batches), schema=reader.schema)
    return request.frame(table.slice(0, request.nrows))


def _delimited(sep: str) -> Reader:
    def read_delimited(request: Request) -> pd.DataFrame:
        # delimiter= is pandas' other name for sep=, which it refuses beside it: the format's sep gives way.
        defaults = {} if "delimiter" in request.options else {"sep": sep}
        options, columns = {**defaults, **request.options}, request.columns
        # A callable usecols never raises for absent names, so require() can name them all at once.
        usecols = None if columns is None else columns.__contains__
        frame = pd.read_csv(request.path or request.source(), usecols=usecols, nrows=request.nrows, **options)
        if columns is not None and not set(columns) <= set(frame.columns):
            request.require(pd.read_csv(request.source(), nrows=0, **options).columns)
        return frame

    return read_delimited


def _read_json(request: Request) -> pd.DataFrame:
    # A .json holding one object per line is common enough to read as what it is rather than fail.
    if is_json_lines(text_start(bytes(request.data[:HEAD_BYTES]))):
        return _read_json_lines(request)
    frame = pd.read_json(request.source(), **request.options)
    request.require(frame.columns)
    return frame.iloc[: request.nrows]


def _read_json_lines(request: Request) -> pd.DataFrame:
    # Only rows tell the columns, so even nrows=0 reads a row to check the columns asked for.
    nrows = None if request.nrows is None else max(request.nrows, 1)
    frame = pd.read_json(request.source(), lines=True, nrows=nrows, **request.options)
    request.require(frame.columns)
    return frame.iloc[: request.nrows]


#: Format name → the function that parses (decompressed) bytes of that format into a DataFrame.
READERS: dict[str, Reader] = {
    "parquet": _read_parquet,
    "csv": _delimited(","),
    "tsv": _delimited("\t"),
    "json": _read_json,
    "jsonl": _read_json_lines,
    "feather": _read_feather,
}
assert tuple(READERS) == FORMATS


@contextlib.contextmanager
def _parse_errors(fmt: str, key: str, options: dict[str, Any]) -> Iterator[None]:
    """Turn the parsers' own exceptions into ours."""
    try:
        yield
    except UnicodeDecodeError as exc:
        encoding = options.get("encoding")
        advice = f"it is not {encoding}; pass its encoding= read option" if encoding else None
        advice = advice or 'it is not UTF-8; pass its encoding as a read option, e.g. encoding="latin-1"'
        raise format_error(key, "BadEncoding", f"cannot be decoded as text: {advice}", detail=str(exc)) from exc
    except pd.errors.EmptyDataError as exc:
        raise format_error(key, "EmptyObject", "holds no data", detail=str(exc)) from exc
    except MemoryError as exc:  # pyarrow's ArrowMemoryError too: not a corrupt file, a frame too large
        raise S3TooLarge(f"{key} ran out of memory while it was parsed as {KINDS[fmt]}", key=key,
                         code="OutOfMemory", detail=str(exc) or type(exc).__name__) from exc
    except (ValueError, OSError, EOFError, pa.ArrowException) as exc:
        message = f"could not be parsed as {KINDS[fmt]}: it is malformed, corrupt or truncated"
        raise format_error(key, "ParseError", f"{message}, or needs read options", detail=str(exc)) from exc


def _parse(fmt: str, request: Request) -> pd.DataFrame | Decoded:
    """Run the reader, turning the parsers' own exceptions into ours."""
    with _parse_errors(fmt, request.key, request.options):
        result = READERS[fmt](request)
    return result if isinstance(result, Decoded) else _selected(result, request.columns, request.allow_missing)


def _selected(frame: pd.DataFrame, columns: list[Any] | None, allow_missing: bool = False) -> pd.DataFrame:
    """``frame``'s ``columns``, in that order (with ``allow_missing``, those of them it has)."""
    if columns is None or list(frame.columns) == columns:
        return frame
    if allow_missing:
        columns = [c for c in columns if c in frame.columns or c in frame.index.names]
    # pandas metadata may have made an asked-for Parquet column the index: give it back as a column.
    in_index = [c for c in columns if c not in frame.columns and c in frame.index.names]
    return (frame.reset_index(level=in_index) if in_index else frame)[columns]


def read(
    data: bytes | bytearray | memoryview,
    *,
    key: str,
    format: str | None = None,
    columns: Sequence[Any] | None = None,
    nrows: int | None = None,
    row_groups: list[int] | None = None,
    compression: str | None | EllipsisType = ...,
    path: str | None = None,
    pruned: bool = False,
    allow_missing: bool = False,
    **read_options: Any,
) -> pd.DataFrame:
    """Parse an object's bytes into a DataFrame.

    The format and compression are found as :func:`detect` does. ``columns`` selects and orders columns
    and ``nrows`` keeps the first rows, for every format, reading no more than needed where the format
    allows. ``read_options`` go to :func:`pandas.read_csv` / :func:`pandas.read_json` for the text
    formats and to :meth:`pyarrow.Table.to_pandas` for Parquet and Feather.

    Every failure is an :class:`S3FormatError` with ``key`` and one of the codes ``UnsupportedFormat``,
    ``UnknownFormat``, ``FormatMismatch``, ``BadCompression``, ``EmptyObject``, ``MissingColumns``,
    ``BadEncoding`` or ``ParseError``; ill-typed ``columns`` or ``nrows`` raise TypeError or ValueError.

    ``row_groups`` (Parquet) names the only row groups ``data`` holds, for bytes fetched sparsely as
    :func:`dreambolt_magic.objects.parquetplan.parquet_ranges` planned them. ``compression`` overrides what the key and
    the bytes say (``None``: the bytes are already decompressed). ``path`` names a file holding exactly
    ``data`` (the loader's in-memory file): an uncompressed CSV or TSV is parsed from it, which pandas 3.1 and
    later do on several threads, where they parse bytes on one. ``pruned`` says that ``data`` holds only what
    a Parquet file's footer, read from these bytes, said a pruned read needs (zeros elsewhere): its leading
    ``PAR1`` may be among the zeros, so it is not looked for (the footer ends with the other one). With
    ``allow_missing``, columns asked for that the object lacks are left out of the frame, as long as it has
    one of them (a set's object: the set has nulls there).
    """
    fmt, request = _request(data, key, format, columns, nrows, row_groups, compression, path, pruned, read_options)
    request = replace(request, allow_missing=allow_missing)
    result = _parse(fmt, request)
    assert not isinstance(result, Decoded)  # only a request with defer gives one
    return result


def decode(
    data: bytes | bytearray | memoryview,
    *,
    key: str,
    format: str | None = None,
    columns: Sequence[Any] | None = None,
    nrows: int | None = None,
    row_groups: list[int] | None = None,
    pruned: bool = False,
    allow_missing: bool = False,
    **read_options: Any,
) -> pd.DataFrame | Decoded:
    """:func:`read`, except that a Parquet file's table may come back as :class:`Decoded`, to be converted into
    pandas later, with others (a set's files: see :meth:`Decoded.concat`)."""
    fmt, request = _request(data, key, format, columns, nrows, row_groups, ..., None, pruned, read_options)
    return _parse(fmt, replace(request, defer=True, allow_missing=allow_missing))


def _request(
    data: bytes | bytearray | memoryview,
    key: str,
    format: str | None,
    columns: Sequence[Any] | None,
    nrows: int | None,
    row_groups: list[int] | None,
    compression: str | None | EllipsisType,
    path: str | None,
    pruned: bool,
    read_options: dict[str, Any],
) -> tuple[str, Request]:
    """The checks, decompression and format detection :func:`read` makes before its reader runs."""
    if nrows is not None:
        if isinstance(nrows, bool) or not hasattr(nrows, "__index__"):
            raise TypeError(f"nrows must be a non-negative int, not {nrows!r}")
        if (nrows := operator.index(nrows)) < 0:
            raise ValueError(f"nrows must be a non-negative int, not {nrows!r}")
    if isinstance(columns, (str, bytes)):
        raise TypeError(f"columns must be a list of column names, not the string {columns!r}")
    view = memoryview(data).cast("B")
    if not view.nbytes:
        raise format_error(key, "EmptyObject", "is empty (0 bytes)")
    if format is not None:
        format = normalize_format(format, key=key)  # before any decompression work
    if compression is ...:
        compression = compression_of(key, bytes(view[:HEAD_BYTES]))
    if compression:
        view = decompress(compression, view, key)
    if sniff(head := bytes(view[:HEAD_BYTES])) == "empty":
        raise format_error(key, "EmptyObject",
                           "holds nothing " + ("once decompressed" if compression else "but blanks"))
    fmt = format_of(key, head, format, compression)
    if not (pruned and fmt == "parquet"):
        check_bytes(fmt, view, key, trust_text="encoding" in read_options)
    wanted = None if columns is None else list(columns)
    path = path if fmt in ("csv", "tsv") and not compression else None
    return fmt, Request(view, key, wanted, nrows, read_options, row_groups, path)


def schema_columns(
    data: bytes | bytearray | memoryview, *, key: str, format: str | None = None, **read_options: Any
) -> list[Any]:
    """The column names of an object, reading only its schema or header where the format has one."""
    return list(read(data, key=key, format=format, nrows=0, **read_options).columns)
