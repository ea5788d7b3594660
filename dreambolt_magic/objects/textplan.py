"""Reading only the start of a text object: CSV, TSV and JSON Lines with ``nrows``.

A preview (``nrows=1000``) of a 700 MB CSV should not download 700 MB. :class:`TextPlan` makes the
transfer start with the first :data:`FIRST_BYTES` (one GET with an explicit range), then fetches the next
stretch, twice as long as the last each time (up to :data:`MAX_STEP`, over several connections once it is
big), until the bytes held parse into one row more than asked for. Only then is the prefix known to hold
``nrows`` whole rows: a row is whole once the next one has started, and a prefix cut inside a quoted field
fails to parse rather than giving a short row. The prefix is always cut after its last line end.

Compressed objects stream too (gzip, bz2, xz, zstd): the fetched start is decompressed only until it
holds the line ends the rows need, under the memory guard, so that the first rows of a decompression bomb
come at once, and a bomb of one endless line is refused (``S3TooLarge``) once its start passes the limit,
rather than expanded whole to find its end. Read options that change what a line is, or that need the end of the
file (``skipfooter``, ``encoding``, ``lineterminator``), turn streaming off: the whole object is read.
No I/O here beyond asking the transfer for ranges.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from dreambolt_magic.errors import S3FormatError
from dreambolt_magic.formats import readers
from dreambolt_magic.formats.compression import STREAMS, Guard, expand_start
from dreambolt_magic.transfer import memory

if TYPE_CHECKING:
    import pandas as pd

    from dreambolt_magic.transfer.engine import Transfer

__all__ = ["FIRST_BYTES", "MAX_STEP", "STREAMABLE", "TextPlan", "can_stream"]

#: The first GET of a streamed text read asks for this much; 1000 rows of a wide CSV fit in it.
FIRST_BYTES = 256 << 10
#: Each further request asks for twice what the last did, up to this.
MAX_STEP = 64 << 20
#: Formats whose rows are lines, so that a prefix cut at a line end is a table of whole rows.
STREAMABLE = ("csv", "tsv", "jsonl")
#: Options that make a cut prefix parse differently from the same rows of the whole file.
_WHOLE_FILE_OPTIONS = ("skipfooter", "encoding", "encoding_errors", "lineterminator", "compression")


def can_stream(key: str, format: str | None, *, nrows: int | None, options: Mapping[str, Any]) -> bool:
    """Whether reading the first ``nrows`` rows of ``key`` can stop the download early."""
    if nrows is None or any(name in options for name in _WHOLE_FILE_OPTIONS):
        return False
    fmt, compression = readers.named(key, format)
    return fmt in STREAMABLE and (compression is None or compression in STREAMS)


class TextPlan:
    """Fetches a text object's start until it holds ``nrows`` rows; :attr:`frame` is then those rows.

    :attr:`frame` stays ``None`` if the whole object was fetched after all (it is short, or its rows are
    long): the loader then reads the buffer as for any other load, which also reports any real problem.
    """

    first_bytes = FIRST_BYTES
    #: The start of the object, never another range first.
    first_range = None

    def __init__(self, key: str, format: str | None, *, columns: Sequence[Any] | None, nrows: int,
                 options: Mapping[str, Any], allow_missing: bool = False) -> None:
        self.format, self.compression = readers.named(key, format)
        self.key = key
        self.columns = None if columns is None else list(columns)
        self.nrows = nrows
        self.options = dict(options)
        self.allow_missing = allow_missing
        self.frame: pd.DataFrame | None = None
        #: How many bytes of the object's start were fetched.
        self.end = 0

    def fetch(self, transfer: Transfer, client: Any) -> None:
        """Extend the transfer's first bytes, a doubling stretch at a time, until they hold the rows."""
        size = transfer.size
        assert size is not None
        end, step = transfer.limit, max(transfer.limit, FIRST_BYTES)
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
        # A header, the rows asked for and one more (the proof that the last asked-for row is whole); a line
        # end inside a quoted field is no row's end, so a start that parses short is taken further.
        lines = self.nrows + 2
        plain: bytes | bytearray
        while True:
            if self.compression is None:
                plain, ended = bytes(prefix), True
            else:
                plain, ended = expand_start(self.compression, prefix, lines=lines, guard=guard)
            cut = plain.rfind(b"\n") + 1
            if plain.count(b"\n", 0, cut) < self.nrows + 2:
                return None
            try:
                frame = readers.read(memoryview(plain)[:cut], key=self.key, format=self.format,
                                     columns=self.columns, nrows=self.nrows + 1, compression=None,
                                     allow_missing=self.allow_missing, **self.options)
            except S3FormatError as exc:
                if exc.code != "ParseError":
                    raise
                frame = None  # cut inside a quoted field, say: more lines will tell
            if frame is not None and len(frame) > self.nrows:
                return frame.iloc[: self.nrows]
            if ended:
                return None
            lines *= 2
