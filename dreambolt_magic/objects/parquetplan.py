"""What a pruned Parquet read fetches: the footer first, then only the column chunks of the row groups kept.

:class:`ParquetPlan` works on a :class:`~dreambolt_magic.transfer.engine.Transfer` whose first GET fetched the head
of the file (its ``Content-Range`` gives the size), or, where a listing has given the size, the end of the
file (one request fewer). It fetches the end of the file if it has not, reads the footer, picks
the chunks that ``columns``, ``nrows`` and a row filter (Parquet statistics, :mod:`dreambolt_magic.formats.rowgroups`)
need, checks their size against the memory guard, and fetches them with explicit ranges, near ones coalesced.
Bytes that turn out not to be Parquet, or a footer that does not parse, are fetched whole for the reader to
report.

:func:`can_prune` says whether a read can be pruned at all; the footer work on bytes alone is
:mod:`dreambolt_magic.formats.parquet`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from dreambolt_magic.formats import estimates, readers
from dreambolt_magic.formats.parquet import MIN_PARQUET, PARQUET_TAIL, parquet_footer_start, parquet_ranges
from dreambolt_magic.transfer.engine import Transfer
from dreambolt_magic.transfer.parts import coalesce

if TYPE_CHECKING:
    from dreambolt_magic.formats.rowgroups import RowFilter

__all__ = ["COALESCE_GAP", "FOOTER_TAIL", "LOAD_TAIL", "ParquetPlan", "can_prune", "guard_whole", "tail_start"]

#: Column chunks of a Parquet file closer than this are fetched in one request: a request costs more.
COALESCE_GAP = 256 << 10
#: The most of a Parquet file's end fetched first by a pruned read, to find its footer (1/32 of the file
#: up to this, at least 64 KiB).
LOAD_TAIL = 1 << 20
#: With ``nrows=0`` the footer is all a read needs (the schema, no rows): the end fetched first is this much,
#: which holds a typical footer (a longer one takes one more request), and nothing of the file's head is.
FOOTER_TAIL = 8 << 10


class ParquetPlan:
    """Reads only what ``columns``, ``nrows`` and ``row_filter`` need of a Parquet file: its footer, then those
    column chunks of the row groups kept."""

    #: With no size known, the first GET asks for the file's end (``bytes=-N``): the footer, most often whole,
    #: and the size, in one answer. A server that answers from byte 0 instead (s3rver 3.7) gives the head,
    #: whose PAR1 magic bytes are then checked, and the end is asked for next.
    first_bytes: int = -PARQUET_TAIL

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
        #: With no rows asked for, only the footer is read: the first GET asks for a short end.
        self.footer_only = nrows == 0
        if self.footer_only:
            self.first_bytes = -FOOTER_TAIL
        self.first_range = ((tail_start(size, footer_only=self.footer_only), size)
                            if size is not None and size >= MIN_PARQUET else None)

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
            tail = max(head, tail_start(size, footer_only=self.footer_only))
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
        transfer.check_memory(estimates.parquet_need(transfer.data, columns=self.columns, row_groups=self.row_groups),
                              what="parquet")
        footer = min(footer, tail)  # the head (if fetched) and the footer are here already
        needed = [(max(a, head), min(b, footer)) for a, b in ranges]
        transfer.fetch(client, coalesce(needed, COALESCE_GAP))
        self.pruned = True


def tail_start(size: int, *, footer_only: bool = False) -> int:
    """Where the end a pruned read fetches first starts, in a Parquet file of ``size`` bytes.

    A big file's footer (an entry per row group and column, with statistics) often passes 64 KiB: a longer
    tail, 1/32 of the file up to :data:`LOAD_TAIL`, still a small share of it, spares a second round trip for
    the rest of the footer. A read of the footer alone (``footer_only``) fetches no column chunk that a longer
    tail could bring along: its end is :data:`FOOTER_TAIL`.
    """
    if footer_only:
        return max(0, size - FOOTER_TAIL)
    return max(0, size - min(LOAD_TAIL, max(PARQUET_TAIL, size // 32)))


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


def guard_whole(data: memoryview, key: str, format: str | None, check: Callable[[int], None]) -> None:
    """Before a whole Parquet file is decoded, hold the frame its footer says it becomes to the memory guard
    (``check(need)``): a few megabytes of constant columns can decode into gigabytes. Bytes that are not
    Parquet, or a footer that does not parse, are left to the reader to report."""
    fmt, compression = readers.named(key, format)
    if fmt != "parquet" or compression is not None:
        return
    try:
        metadata = pq.ParquetFile(pa.BufferReader(pa.py_buffer(data))).metadata
    except (ValueError, OSError, pa.ArrowException):
        return
    check(len(data) + estimates.parquet_frame(metadata))
