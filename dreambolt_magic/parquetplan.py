"""What a pruned Parquet read fetches: the footer first, then only the column chunks of the row groups kept.

:class:`ParquetPlan` works on a :class:`~dreambolt_magic.transfer.Transfer` whose first GET fetched the head
of the file (its ``Content-Range`` gives the size), or, where a listing has given the size, the end of the
file (one request fewer). It fetches the end of the file if it has not, reads the footer, picks
the chunks that ``columns``, ``nrows`` and a row filter (Parquet statistics, :mod:`dreambolt_magic.rowgroups`)
need, checks their size against the memory guard, and fetches them with explicit ranges, near ones coalesced.
Bytes that turn out not to be Parquet, or a footer that does not parse, are fetched whole for the reader to
report.

Below the plan, the footer work on bytes alone, no I/O: whether a read can be pruned (:func:`can_prune`),
where the footer starts (:func:`parquet_footer_start`), and which column chunks, at which byte ranges, a read
needs (:func:`parquet_chunks`, :func:`parquet_ranges`); the memory guard picks its chunks here too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from dreambolt_magic import memory, readers, rowgroups
from dreambolt_magic.parts import coalesce
from dreambolt_magic.transfer import Transfer

if TYPE_CHECKING:
    from dreambolt_magic.rowgroups import RowFilter

__all__ = [
    "COALESCE_GAP",
    "LOAD_TAIL",
    "PARQUET_TAIL",
    "ParquetPlan",
    "can_prune",
    "parquet_chunks",
    "parquet_footer_start",
    "parquet_ranges",
    "tail_start",
]

#: Column chunks of a Parquet file closer than this are fetched in one request: a request costs more.
COALESCE_GAP = 256 << 10
#: The end of a Parquet file fetched to find its footer; most footers fit in it, others take a second request.
PARQUET_TAIL = 64 * 1024
#: The most of a Parquet file's end fetched first by a pruned read, to find its footer (1/32 of the file
#: up to this, at least 64 KiB).
LOAD_TAIL = 1 << 20
#: The smallest a Parquet file can be: ``PAR1``, a footer length and ``PAR1``, around an empty footer.
MIN_PARQUET = 12


class ParquetPlan:
    """Reads only what ``columns``, ``nrows`` and ``row_filter`` need of a Parquet file: its footer, then those
    column chunks of the row groups kept."""

    #: The first GET asks for the head alone: enough to see the PAR1 magic bytes.
    first_bytes = readers.HEAD_BYTES

    def __init__(
        self,
        columns: list[str] | None,
        nrows: int | None,
        row_filter: RowFilter | None = None,
        *,
        size: int | None = None,
    ) -> None:
        self.columns = columns
        self.nrows = nrows
        self.row_filter = row_filter
        self.row_groups: list[int] | None = None
        #: True once the footer was read and only what it says is needed was fetched: the buffer then lacks
        #: the rest of the file, the leading PAR1 too unless it came with the head or a column chunk.
        self.pruned = False
        #: With the size known (``size``, from a listing), the first GET asks for the file's end instead.
        self.first_range = (tail_start(size), size) if size is not None and size >= MIN_PARQUET else None

    def fetch(self, transfer: Transfer, client: Any) -> None:
        size = transfer.size
        assert size is not None
        self.row_groups, self.pruned = None, False
        if transfer.first_start:
            # The first GET fetched the end: nothing of the head yet.
            head, tail = 0, transfer.first_start
        else:
            head = transfer.limit
            if bytes(transfer.data[:4]) != b"PAR1":
                # Not Parquet after all: fetch it whole, and let the reader say what it is.
                transfer.fetch(client, [(head, size)])
                return
            tail = max(head, tail_start(size))
            transfer.fetch(client, [(tail, size)])
        try:
            footer = parquet_footer_start(transfer.data)
            if max(footer, head) < tail:
                transfer.fetch(client, [(max(footer, head), tail)])
            ranges, self.row_groups = parquet_ranges(transfer.data, columns=self.columns, nrows=self.nrows,
                                                             row_filter=self.row_filter)
        except (ValueError, OSError, pa.ArrowException):
            # Not Parquet, or a footer that does not parse: fetch the rest, and let the reader say what is wrong.
            self.row_groups = None
            transfer.fetch(client, [(head, tail)])
            return
        transfer.check_memory(memory.parquet_need(transfer.data, columns=self.columns, row_groups=self.row_groups),
                              what="parquet")
        footer = min(footer, tail)  # the head (if fetched) and the footer are here already
        needed = [(max(a, head), min(b, footer)) for a, b in ranges]
        transfer.fetch(client, coalesce(needed, COALESCE_GAP))
        self.pruned = True


def tail_start(size: int) -> int:
    """Where the end a pruned read fetches first starts, in a Parquet file of ``size`` bytes.

    A big file's footer (an entry per row group and column, with statistics) often passes 64 KiB: a longer
    tail, 1/32 of the file up to :data:`LOAD_TAIL`, still a small share of it, spares a second round trip for
    the rest of the footer.
    """
    return max(0, size - min(LOAD_TAIL, max(PARQUET_TAIL, size // 32)))


# --- the footer ------------------------------------------------------------------------------------------


def can_prune(
    key: str,
    format: str | None,
    *,
    columns: Sequence[Any] | None,
    nrows: int | None,
    row_filter: RowFilter | None = None,
) -> bool:
    """Whether a read of ``key`` can fetch only some byte ranges: uncompressed Parquet with columns or nrows,
    or with a row filter on columns (whose statistics may rule out row groups)."""
    if columns is None and nrows is None and not (row_filter is not None and row_filter.names):
        return False
    fmt, compression = readers.named(key, format)
    return fmt == "parquet" and compression is None


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
    would cost a request of their own for nothing (see :func:`dreambolt_magic.readers.read`'s ``pruned``).
    Columns the file lacks are left out here: the reader reports them. The pandas index columns are kept, since
    the reader restores the index from them. With ``row_filter``, row groups whose statistics rule out
    every row are left out first (:mod:`dreambolt_magic.rowgroups`); ``nrows`` then counts the rows of
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
    them. :func:`parquet_ranges` and :func:`dreambolt_magic.memory.parquet_need` both pick chunks here, so
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
