"""What a pruned Parquet read fetches: the footer first, then only the column chunks of the row groups kept.

:class:`ParquetPlan` works on a :class:`~dreambolt_magic.transfer.Transfer` whose first GET fetched the head
of the file (its ``Content-Range`` gives the size). It fetches the end of the file, reads the footer, picks
the chunks that ``columns``, ``nrows`` and a row filter (Parquet statistics, :mod:`dreambolt_magic.rowgroups`)
need, checks their size against the memory guard, and fetches them with explicit ranges, near ones coalesced.
Bytes that turn out not to be Parquet, or a footer that does not parse, are fetched whole for the reader to
report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa

from dreambolt_magic import memory, readers
from dreambolt_magic.parts import coalesce
from dreambolt_magic.transfer import Transfer

if TYPE_CHECKING:
    from dreambolt_magic.rowgroups import RowFilter

__all__ = ["COALESCE_GAP", "LOAD_TAIL", "ParquetPlan"]

#: Column chunks of a Parquet file closer than this are fetched in one request: a request costs more.
COALESCE_GAP = 256 << 10
#: The most of a Parquet file's end fetched first by a pruned read, to find its footer (1/32 of the file
#: up to this, at least 64 KiB).
LOAD_TAIL = 1 << 20


class ParquetPlan:
    """Reads only what ``columns``, ``nrows`` and ``row_filter`` need of a Parquet file: its footer, then those
    column chunks of the row groups kept."""

    #: The first GET asks for the head alone: enough to see the PAR1 magic bytes.
    first_bytes = readers.HEAD_BYTES

    def __init__(self, columns: list[str] | None, nrows: int | None, row_filter: RowFilter | None = None) -> None:
        self.columns = columns
        self.nrows = nrows
        self.row_filter = row_filter
        self.row_groups: list[int] | None = None

    def fetch(self, transfer: Transfer, client: Any) -> None:
        size = transfer.size
        assert size is not None
        self.row_groups = None
        if bytes(transfer.data[:4]) != b"PAR1":
            # Not Parquet after all: fetch it whole, and let the reader say what it is.
            transfer.fetch(client, [(transfer.limit, size)])
            return
        # A big file's footer (an entry per row group and column, with statistics) often passes 64 KiB: a
        # longer tail, still a small share of the file, spares a second round trip for the rest of it.
        tail = max(transfer.limit, size - min(LOAD_TAIL, max(readers.PARQUET_TAIL, size // 32)))
        transfer.fetch(client, [(tail, size)])
        try:
            footer = readers.parquet_footer_start(transfer.data)
            if footer < tail:
                transfer.fetch(client, [(footer, tail)])
            ranges, self.row_groups = readers.parquet_ranges(transfer.data, columns=self.columns, nrows=self.nrows,
                                                             row_filter=self.row_filter)
        except (ValueError, OSError, pa.ArrowException):
            # A footer that does not parse: fetch the rest, and let the reader say what is wrong.
            self.row_groups = None
            transfer.fetch(client, [(transfer.limit, tail)])
            return
        transfer.check_memory(memory.parquet_need(transfer.data, columns=self.columns, row_groups=self.row_groups),
                              what="parquet")
        head, footer = transfer.limit, min(footer, tail)  # the first GET holds the head; the footer is here
        needed = [(max(a, head), min(b, footer)) for a, b in ranges]
        transfer.fetch(client, coalesce(needed, COALESCE_GAP))
