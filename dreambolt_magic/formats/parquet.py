"""A Parquet file's footer, on bytes alone (no I/O): where it starts (:func:`parquet_footer_start`), and which
column chunks, at which byte ranges, a read of some columns and rows needs (:func:`parquet_chunks`,
:func:`parquet_ranges`). The plan of a pruned read (:mod:`dreambolt_magic.objects.parquetplan`) and the memory
estimate of one (:func:`dreambolt_magic.formats.estimates.parquet_need`) both pick their chunks here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from dreambolt_magic.formats import rowgroups

if TYPE_CHECKING:
    from dreambolt_magic.formats.rowgroups import RowFilter

__all__ = ["MIN_PARQUET", "PARQUET_TAIL", "cut_range_index", "parquet_chunks", "parquet_footer_start", "parquet_ranges"]

#: The end of a Parquet file fetched to find its footer; most footers fit in it, others take a second request.
PARQUET_TAIL = 64 * 1024
#: The smallest a Parquet file can be: ``PAR1``, a footer length and ``PAR1``, around an empty footer.
MIN_PARQUET = 12


def parquet_footer_start(data: memoryview) -> int:
    """Where the footer of a Parquet file (its metadata, their length and ``PAR1``) starts, from its end.

    Raises ValueError if ``data`` does not end like a Parquet file.
    """
    size = len(data)
    if size < 12 or bytes(data[size - 4 :]) != b"PAR1":
        raise ValueError("does not end with PAR1")
    length = int.from_bytes(bytes(data[size - 8 : size - 4]), "little")
    if length > size - 12:
        raise ValueError("the footer length is larger than the file")
    return size - 8 - length


def parquet_ranges(
    data: memoryview, *, columns: Sequence[Any] | None, nrows: int | None, row_filter: RowFilter | None = None
) -> tuple[list[tuple[int, int]], list[int] | None]:
    """The byte ranges of a Parquet file that reading ``columns`` of its first ``nrows`` rows needs.

    ``data`` must hold the footer (the rest may be zeros). Returns ``(ranges, row_groups)``: ``(start,
    end)`` pairs, and the row groups to read (None: all of them). The leading ``PAR1`` is not among them: a
    reader reads a Parquet file from its footer, which ends with the other ``PAR1``, so the first four bytes
    would cost a request of their own for nothing (see :func:`dreambolt_magic.formats.readers.read`'s ``pruned``).
    Columns the file lacks are left out here: the reader reports them. The pandas index columns are kept, since
    the reader restores the index from them. With ``row_filter``, row groups whose statistics rule out
    every row are left out first (:mod:`dreambolt_magic.formats.rowgroups`); ``nrows`` then counts the rows of
    those kept.
    """
    metadata = pq.ParquetFile(pa.BufferReader(pa.py_buffer(data))).metadata
    groups = list(range(metadata.num_row_groups))
    if row_filter is not None:
        groups = rowgroups.kept(metadata, groups, row_filter)
    if nrows is not None:
        taken, count = [], 0
        for index in groups:
            if count >= nrows:
                break
            taken.append(index)
            count += metadata.row_group(index).num_rows
        groups = taken
    ranges = [_chunk_span(c) for c in parquet_chunks(metadata, columns=columns, row_groups=groups)]
    return ranges, (groups if nrows is not None or row_filter is not None else None)


def _chunk_span(chunk: Any) -> tuple[int, int]:
    """The ``(start, end)`` bytes of one Parquet column chunk (its dictionary page included), from its footer entry."""
    start = chunk.data_page_offset
    if chunk.has_dictionary_page and chunk.dictionary_page_offset:
        start = min(start, chunk.dictionary_page_offset)
    return start, start + chunk.total_compressed_size


def parquet_chunks(metadata: Any, *, columns: Sequence[Any] | None, row_groups: Iterable[int]) -> Iterator[Any]:
    """The column chunks of ``row_groups`` that reading ``columns`` (``None``: all) needs, from a footer.

    The pandas index columns are kept with the columns asked for, since the reader restores the index from
    them. :func:`parquet_ranges` and :func:`dreambolt_magic.transfer.memory.parquet_need` both pick chunks here, so
    the memory guard measures exactly what the read will fetch.
    """
    wanted: set[str] | None = None
    if columns is not None:
        wanted = {str(c) for c in columns}
        pandas_meta = metadata.schema.to_arrow_schema().pandas_metadata or {}
        wanted |= {i for i in pandas_meta.get("index_columns", []) if isinstance(i, str)}
    for index in row_groups:
        group = metadata.row_group(index)
        for j in range(group.num_columns):
            chunk = group.column(j)
            path = chunk.path_in_schema
            if wanted is None or any(path == name or path.startswith(name + ".") for name in wanted):
                yield chunk


def cut_range_index(schema: pa.Schema, rows: int) -> dict[bytes, bytes] | None:
    # pandas saves a RangeIndex as start/stop/step metadata, which pyarrow drops when its length does
    # not match the table's, so without this the first rows of a file would be renumbered from 0.
    metadata = schema.pandas_metadata
    if not metadata:
        return schema.metadata
    for index in metadata.get("index_columns", []):
        if isinstance(index, dict) and index.get("kind") == "range":
            index["stop"] = index["start"] + index["step"] * rows
    return {**schema.metadata, b"pandas": json.dumps(metadata).encode()}
