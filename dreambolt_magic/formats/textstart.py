"""The first rows of a text object (CSV, TSV, JSON Lines) from its start alone: the start of the bytes fetched
so far (:mod:`dreambolt_magic.objects.textplan`), or of a whole compressed object that needs only ``nrows`` rows
(:func:`dreambolt_magic.formats.readers.read`). A compressed start is decompressed only until it holds the line
ends the rows need, under the memory guard: the first rows of a decompression bomb come at once, and a line
longer than the limit (a bomb of one endless line) is refused by the guard rather than expanded whole to find
its end. No I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from dreambolt_magic.errors import S3FormatError
from dreambolt_magic.formats.compression import STREAMS, Guard, expand_start

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["STREAMABLE", "first_rows", "streamable"]

#: Formats whose rows are lines, so that a start cut at a line end is a table of whole rows.
STREAMABLE = ("csv", "tsv", "jsonl")
#: Options that make a cut start parse differently from the same rows of the whole file.
_WHOLE_FILE_OPTIONS = ("skipfooter", "encoding", "encoding_errors", "lineterminator", "compression")


def streamable(fmt: str | None, compression: str | None, options: Mapping[str, Any]) -> bool:
    """Whether the first rows of a ``fmt`` object compressed with ``compression`` can come from its start."""
    if any(name in options for name in _WHOLE_FILE_OPTIONS):
        return False
    return fmt in STREAMABLE and (compression is None or compression in STREAMS)


def first_rows(start: memoryview, *, compression: str | None, nrows: int,
               parse: Callable[[memoryview, int], pd.DataFrame], guard: Guard | None) -> pd.DataFrame | None:
    """The first ``nrows`` rows, if ``start`` surely holds them whole; else None (more bytes are needed, or
    the whole object, which is then read as any other, so that its errors are those a whole read reports).

    ``parse(plain, rows)`` parses the first ``rows`` rows of decompressed bytes that end with a line end.
    One row more than asked for is parsed: a row is whole once the next one has started, and a start cut
    inside a quoted field fails to parse (ParseError) rather than giving a short row.
    """
    # A header, the rows asked for and one more; a line end inside a quoted field is no row's end, so a start
    # that parses short is decompressed further.
    lines = nrows + 2
    plain: bytes | bytearray
    while True:
        if compression is None:
            plain, ended = bytes(start), True
        else:
            plain, ended = expand_start(compression, start, lines=lines, guard=guard)
        cut = plain.rfind(b"\n") + 1
        if plain.count(b"\n", 0, cut) < nrows + 2:
            return None
        try:
            frame = parse(memoryview(plain)[:cut], nrows + 1)
        except S3FormatError as exc:
            if exc.code != "ParseError":
                raise
            frame = None  # cut inside a quoted field, say: more lines will tell
        if frame is not None and len(frame) > nrows:
            return frame.iloc[:nrows]
        if ended:
            return None
        lines *= 2
