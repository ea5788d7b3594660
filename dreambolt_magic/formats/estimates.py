"""How much memory a frame will take, told before its data are read: what a pruned Parquet read needs, from its
footer (:func:`parquet_need`); the frame read from a Parquet file, from its footer alone (:func:`parquet_frame`:
rows, types, null counts and string lengths); and a rough guess from a text object's size
(:func:`text_frame`). The memory guard (:mod:`dreambolt_magic.transfer.memory`) compares these with what is
available; the previews show them. No I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from dreambolt_magic.formats.parquet import parquet_chunks

__all__ = ["COMPRESSION_FACTOR", "TEXT_FACTORS", "parquet_frame", "parquet_need", "text_frame"]


def parquet_need(data: Any, *, columns: Sequence[Any] | None, row_groups: Sequence[int] | None) -> int:
    """Bytes a pruned Parquet read needs, from its footer: the chunks it fetches, and them uncompressed.

    ``data`` must hold the footer. The chunks are those :func:`dreambolt_magic.objects.parquetplan.parquet_chunks`
    picks, as the read itself does.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    metadata = pq.ParquetFile(pa.BufferReader(pa.py_buffer(data))).metadata
    groups = range(metadata.num_row_groups) if row_groups is None else row_groups
    need = 0
    for chunk in parquet_chunks(metadata, columns=columns, row_groups=groups):
        need += chunk.total_compressed_size + chunk.total_uncompressed_size
    return need


#: A DataFrame's memory per byte of object, for formats whose size is all a preview knows: measured on
#: typical data (numbers, short text, timestamps), where it ranged from about half to twice these. Rough.
TEXT_FACTORS: dict[str, float] = {"csv": 1.3, "tsv": 1.3, "json": 0.8, "jsonl": 0.8, "feather": 2.0}
#: How much a compressed text object (gzip, bz2, xz, zstd) grows when decompressed, typically. Rough too.
COMPRESSION_FACTOR = 5.0
#: What a Python object costs in an object column: the pointer, and the object itself (a str's header,
#: a date, a Decimal), beyond its characters.
_POINTER = 8
_OBJECT_COSTS = {"string": 49, "date": 32, "decimal": 104, "other": 56}


def text_frame(size: int, format: str, compression: str | None = None) -> int | None:
    """A rough guess of the memory of the frame parsed from a ``format`` object of ``size`` bytes (``None`` for
    a format without a factor)."""
    factor = TEXT_FACTORS.get(format)
    if factor is None:
        return None
    return int(size * factor * (COMPRESSION_FACTOR if compression else 1.0))


def parquet_frame(metadata: Any) -> int:
    """An estimate of the memory of the DataFrame read from a Parquet file, from its footer alone.

    Per column: rows x the width of the pandas dtype it becomes (a whole-number column with nulls becomes
    float64); text and binary: the offsets (or object pointers and headers) and the characters, whose length
    comes from the plain-encoded size, else from the statistics' min and max; dates and decimals: Python
    objects. ``metadata`` is a :class:`pyarrow.parquet.FileMetaData`.
    """
    import pyarrow as pa

    schema = metadata.schema.to_arrow_schema()
    rows = metadata.num_rows
    total = 0
    for j, arrow_field in enumerate(schema):
        kind = arrow_field.type
        if pa.types.is_dictionary(kind):  # a pandas Categorical: its codes, and its categories once
            total += rows * kind.index_type.bit_width // 8 + _column_bytes(metadata, j)[1] // max(
                metadata.num_row_groups, 1)
            continue
        nulls, text = _column_bytes(metadata, j)
        if pa.types.is_boolean(kind):
            total += rows * (8 if nulls else 1)  # with nulls: object
        elif pa.types.is_integer(kind) or pa.types.is_floating(kind):
            total += rows * (8 if nulls and pa.types.is_integer(kind) else kind.bit_width // 8)
        elif pa.types.is_timestamp(kind) or pa.types.is_duration(kind):
            total += rows * 8
        elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
            total += rows * _string_overhead() + text
        elif pa.types.is_date(kind):
            total += rows * (_POINTER + _OBJECT_COSTS["date"])
        elif pa.types.is_decimal(kind):
            total += rows * (_POINTER + _OBJECT_COSTS["decimal"])
        else:  # binary, lists, structs, times: Python objects holding their bytes
            total += rows * (_POINTER + _OBJECT_COSTS["other"]) + text
    return total


def _column_bytes(metadata: Any, column: int) -> tuple[int, int]:
    """``(nulls, text)`` of a column over all row groups: its null count, and its values' bytes (for text)."""
    nulls = text = 0
    for index in range(metadata.num_row_groups):
        chunk = metadata.row_group(index).column(column)
        stats = chunk.statistics if chunk.is_stats_set else None
        if stats is not None and stats.has_null_count:
            nulls += stats.null_count
        values = chunk.num_values - (stats.null_count if stats is not None and stats.has_null_count else 0)
        if not chunk.has_dictionary_page:
            # PLAIN byte arrays: a 4-byte length before each value.
            text += max(0, chunk.total_uncompressed_size - 4 * values)
        elif stats is not None and stats.has_min_max and isinstance(stats.min, (str, bytes)):
            text += values * (len(_utf8(stats.min)) + len(_utf8(stats.max))) // 2
        else:
            text += chunk.total_uncompressed_size  # a dictionary: at least its distinct values
    return nulls, text


def _utf8(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


@cache
def _string_overhead() -> int:
    """Bytes per text value beyond its characters: Arrow-backed strings (pandas 3) keep an 8-byte offset;
    object columns (pandas 2) a pointer to a Python str with its header."""
    import pyarrow as pa

    is_object = pa.array(["a"]).to_pandas().dtype == object
    return _POINTER + _OBJECT_COSTS["string"] if is_object else 8
