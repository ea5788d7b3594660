"""Reading only the start of a text object: CSV, TSV and JSON Lines with ``nrows``.

A preview (``nrows=1000``) of a 700 MB CSV should not download 700 MB. :class:`TextPlan` makes the
transfer start with the first :data:`FIRST_BYTES` (one GET with an explicit range), then fetches the next
stretch, twice as long as the last each time (up to :data:`MAX_STEP`, over several connections once it is
big), until the bytes held parse into one row more than asked for. Only then is the prefix known to hold
``nrows`` whole rows: a row is whole once the next one has started, and a prefix cut inside a quoted field
fails to parse rather than giving a short row. The prefix is always cut after its last line end.

Compressed objects stream too (gzip, bz2, xz, zstd): the fetched start is decompressed only until it
holds the line ends the rows need, under the memory guard (:mod:`~dreambolt_magic.formats.textstart`), so
that the first rows of a decompression bomb come at once, and a bomb of one endless line is refused
(``S3TooLarge``) once its start passes the limit, rather than expanded whole to find its end. Read options
that change what a line is, or that need the end of the file (``skipfooter``, ``encoding``,
``lineterminator``), turn streaming off: the whole object is read.
No I/O here beyond asking the transfer for ranges.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from dreambolt_magic.formats import readers
from dreambolt_magic.formats.compression import Guard
from dreambolt_magic.formats.textstart import STREAMABLE, first_rows, streamable
from dreambolt_magic.transfer import memory

if TYPE_CHECKING:
    import pandas as pd

    from dreambolt_magic.transfer.engine import Transfer

__all__ = ["FIRST_BYTES", "HEADER_BYTES", "MAX_STEP", "STREAMABLE", "TextPlan", "can_stream"]

#: The first GET of a streamed text read asks for this much; 1000 rows of a wide CSV fit in it.
FIRST_BYTES = 256 << 10
#: With ``nrows=0`` only the header and the first row are needed (the row gives the columns' types): the first
#: GET asks for this much, and each further one for twice as much as the last.
HEADER_BYTES = 8 << 10
#: Each further request asks for twice what the last did, up to this.
MAX_STEP = 64 << 20


def can_stream(key: str, format: str | None, *, nrows: int | None, options: Mapping[str, Any]) -> bool:
    """Whether reading the first ``nrows`` rows of ``key`` can stop the download early."""
    return nrows is not None and streamable(*readers.named(key, format), options)


class TextPlan:
    """Fetches a text object's start until it holds ``nrows`` rows; :attr:`frame` is then those rows.

    :attr:`frame` stays ``None`` if the whole object was fetched after all (it is short, or its rows are
    long): the loader then reads the buffer as for any other load, which also reports any real problem.
    """

    first_bytes: int = FIRST_BYTES
    #: The start of the object, never another range first.
    first_range = None

    def __init__(self, key: str, format: str | None, *, columns: Sequence[Any] | None, nrows: int,
                 options: Mapping[str, Any], allow_missing: bool = False) -> None:
        self.format, self.compression = readers.named(key, format)
        self.key = key
        self.columns = None if columns is None else list(columns)
        self.nrows = nrows
        if nrows == 0:
            self.first_bytes = HEADER_BYTES
        self.options = dict(options)
        self.allow_missing = allow_missing
        self.frame: pd.DataFrame | None = None
        #: How many bytes of the object's start were fetched.
        self.end = 0

    def fetch(self, transfer: Transfer, client: Any) -> None:
        """Extend the transfer's first bytes, a doubling stretch at a time, until they hold the rows."""
        size = transfer.size
        assert size is not None
        end, step = transfer.limit, max(transfer.limit, self.first_bytes)
        # A compressed object fetched whole is still decompressed only as far as its rows: a small bomb too.
        while end < size or self.compression is not None:
            guard = memory.guard(held=end, limit=transfer.memory_limit, force=transfer.force, what="rows")
            self.frame = self._rows(transfer.data[:end], guard)
            if self.frame is not None or end >= size:
                break
            step = min(2 * step, MAX_STEP)
            start, end = end, min(size, end + step)
            transfer.check_memory(memory.estimate(end), what="object")
            transfer.fetch(client, [(start, end)])
        self.end = end

    def _rows(self, prefix: memoryview, guard: Guard | None) -> pd.DataFrame | None:
        """The first ``nrows`` rows, if ``prefix`` surely holds them whole; else None (more bytes are needed)."""

        def parse(plain: memoryview, rows: int) -> pd.DataFrame:
            return readers.read(plain, key=self.key, format=self.format, columns=self.columns, nrows=rows,
                                compression=None, allow_missing=self.allow_missing, **self.options)

        return first_rows(prefix, compression=self.compression, nrows=self.nrows, parse=parse, guard=guard)
