"""The reader for each format: :data:`READERS` maps a format name to a function that parses bytes into a
DataFrame, and :func:`read` (or :func:`decode`, which may leave a Parquet file's table for the caller to
convert) tells the format (:mod:`dreambolt_magic.formats.detection`), checks and decompresses the bytes,
and parses them. No I/O happens here: the loader hands over bytes.

The detection names (:func:`detect`, :func:`named`, :data:`HEAD_BYTES`, ...) are re-exported: callers that
read bytes need both. What a reader is asked for and gives back (:class:`Request`, :class:`Decoded`) is
:mod:`dreambolt_magic.formats.request`'s, so that readers in modules of their own need not import this one.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from types import EllipsisType
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.ipc
import pyarrow.parquet as pq

from dreambolt_magic.formats import readoptions, textstart
from dreambolt_magic.formats.compression import Guard
from dreambolt_magic.formats.detection import (
    ALIASES,
    COMPRESSIONS,
    DECODERS,
    EXTENSIONS,
    FORMATS,
    HEAD_BYTES,
    check_bytes,
    compression_of,
    compression_option,
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
from dreambolt_magic.formats.request import Decoded, Reader, Request, parse_errors, selected
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
    "check_readable",
    "column_list",
    "decode",
    "detect",
    "looks_like",
    "named",
    "normalize_format",
    "read",
    "schema_columns",
]


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
    if "lines" not in request.options and is_json_lines(text_start(bytes(request.data[:HEAD_BYTES]))):
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


# The rarer formats' modules are imported when one is read: a load of Parquet or CSV needs none of them.
def _read_orc(request: Request) -> pd.DataFrame:
    from dreambolt_magic.formats import orc

    return orc.read_orc(request)


def _read_xlsx(request: Request) -> pd.DataFrame:
    from dreambolt_magic.formats import spreadsheets

    return spreadsheets.read_xlsx(request)


def _read_zip(request: Request) -> pd.DataFrame:
    from dreambolt_magic.formats import archives

    return archives.read_zip(request, read)  # the member is read as an object of its own


#: Format name → the function that parses (decompressed) bytes of that format into a DataFrame.
READERS: dict[str, Reader] = {
    "parquet": _read_parquet,
    "csv": _delimited(","),
    "tsv": _delimited("\t"),
    "json": _read_json,
    "jsonl": _read_json_lines,
    "feather": _read_feather,
    "orc": _read_orc,
    "xlsx": _read_xlsx,
    "zip": _read_zip,
}
assert tuple(READERS) == FORMATS


def _parse(fmt: str, request: Request) -> pd.DataFrame | Decoded:
    """Run the reader, turning the parsers' own exceptions into ours."""
    readoptions.check(fmt, request.options, request.key)
    with parse_errors(fmt, request.key, request.options):
        result = READERS[fmt](request)
    # Not before Arrow's threads let go of the bytes: one that does at the interpreter's exit aborts it.
    request.loans.settle()
    return result if isinstance(result, Decoded) else selected(result, request.columns, request.allow_missing)


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
    guard: Guard | None = None,
    **read_options: Any,
) -> pd.DataFrame:
    """Parse an object's bytes into a DataFrame.

    The format and compression are found as :func:`detect` does. ``columns`` selects and orders columns
    and ``nrows`` keeps the first rows, for every format, reading no more than needed where the format
    allows. ``read_options`` go to :func:`pandas.read_csv` / :func:`pandas.read_json` for the text
    formats, to :func:`pandas.read_excel` for xlsx (``sheet=`` picks the sheet), to the member's parser for a
    ZIP archive holding one data file, and to :meth:`pyarrow.Table.to_pandas` for Parquet, Feather and ORC.

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
    one of them (a set's object: the set has nulls there). ``guard`` is called with the bytes a compressed
    object (or a ZIP archive's member) has decompressed into so far, and raises to stop it: the memory guard's
    (:func:`dreambolt_magic.transfer.memory.guard`). pandas' ``compression=`` is this ``compression``: what it
    names is decompressed here, under ``guard``, never by pandas (:func:`compression_option`).
    """
    compression = compression_option(compression, key)
    if nrows is not None and row_groups is None:
        first = _first_rows(data, key, format, compression, columns, nrows, allow_missing, guard, read_options)
        if first is not None:
            return first
    fmt, request = _request(data, key, format, columns, nrows, row_groups, compression, path, pruned, read_options,
                            guard)
    request = replace(request, allow_missing=allow_missing, guard=guard)
    result = _parse(fmt, request)
    assert not isinstance(result, Decoded)  # only a request with defer gives one
    return result


def _first_rows(data: bytes | bytearray | memoryview, key: str, format: str | None,
                compression: str | None | EllipsisType, columns: Sequence[Any] | None, nrows: Any,
                allow_missing: bool, guard: Guard | None, options: dict[str, Any]) -> pd.DataFrame | None:
    """The first rows of compressed CSV, TSV or JSON Lines, decompressing only as far as they go (a bomb's too);
    None where that cannot tell (the whole is then read)."""
    fmt, named_compression = named(key, format)
    compression = named_compression if compression is ... else compression
    if compression is None or type(nrows) is not int or nrows < 0:
        return None
    if not textstart.streamable(fmt, compression, options):
        return None

    def parse(plain: memoryview, rows: int) -> pd.DataFrame:
        return read(plain, key=key, format=fmt, columns=columns, nrows=rows, compression=None,
                    allow_missing=allow_missing, **options)

    return textstart.first_rows(memoryview(data).cast("B"), compression=compression, nrows=nrows, parse=parse,
                                guard=guard)


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
    guard: Guard | None = None,
    **read_options: Any,
) -> pd.DataFrame | Decoded:
    """:func:`read`, except that a Parquet file's table may come back as :class:`Decoded`, to be converted into
    pandas later, with others (a set's files: see :meth:`Decoded.concat`)."""
    compression = compression_option(read_options.pop("compression", ...), key)  # ours to decompress, as read()'s
    fmt, request = _request(data, key, format, columns, nrows, row_groups, compression, None, pruned, read_options,
                            guard)
    return _parse(fmt, replace(request, defer=True, allow_missing=allow_missing, guard=guard))


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
    guard: Guard | None,
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
        view = decompress(compression, view, key, guard)
    if sniff(head := bytes(view[:HEAD_BYTES])) == "empty":
        raise format_error(key, "EmptyObject",
                           "holds nothing " + ("once decompressed" if compression else "but blanks"))
    fmt = format_of(key, head, format, compression)
    if not (pruned and fmt == "parquet"):
        check_bytes(fmt, view, key, trust_text="encoding" in read_options)
    wanted = None if columns is None else list(columns)
    path = path if fmt in ("csv", "tsv") and not compression else None
    return fmt, Request(view, key, wanted, nrows, read_options, row_groups, path)


def check_readable(key: str, format: str | None, options: Mapping[str, Any]) -> None:
    """Where the name (or ``format=``) tells the format, refuse before any byte is fetched what :func:`read`
    would refuse once they are: read options the parser does not take, a workbook without openpyxl; and, whatever
    the name, a ``compression=`` the loader cannot decompress itself."""
    compression_option(options.get("compression", ...), key)
    fmt = named(key, format)[0]
    if fmt is None:
        return
    readoptions.check(fmt, options, key)
    if fmt == "xlsx" and options.get("engine", "openpyxl") == "openpyxl":
        from dreambolt_magic.formats import spreadsheets

        spreadsheets.require_openpyxl(key)


def schema_columns(
    data: bytes | bytearray | memoryview, *, key: str, format: str | None = None, **read_options: Any
) -> list[Any]:
    """The column names of an object, reading only its schema or header where the format has one."""
    return list(read(data, key=key, format=format, nrows=0, **read_options).columns)
