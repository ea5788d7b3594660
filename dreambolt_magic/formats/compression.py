"""Decompressing an object's bytes a step at a time, so that what they expand into is counted as it comes: a
20 MB gzip of zeros is 20 GB, and a decoder asked for all of it at once would run the process out of memory
before anyone could look at the size. :func:`expand` decompresses a whole object, calling a ``guard`` with the
bytes produced after each step (the memory guard's :func:`~dreambolt_magic.transfer.memory.guard`, which raises
once they would not fit); :func:`expand_start` decompresses only until the start holds a number of line ends,
for the first rows of a text object, and copes with a cut-off input (the part of an object fetched so far).

Every member of a concatenated file is read (as :func:`gzip.decompress` and the others do); zstd is decoded by
pyarrow's stream, which needs no extra package. No I/O beyond the bytes handed in.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import zlib
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["STEP", "STREAMS", "Guard", "errors", "expand", "expand_start"]

#: The most a step decompresses: the guard is called this often, and a bomb gets no further past the limit.
STEP = 4 << 20
#: The first step of :func:`expand_start`: a few rows are found without decompressing megabytes.
_FIRST_STEP = 64 << 10
def errors() -> tuple[type[Exception], ...]:
    """What the decoders raise for corrupt or truncated input. A function: pyarrow (whose errors are among
    them, and which decodes zstd) is imported by a load, not by ``import dreambolt_magic``."""
    import pyarrow as pa

    return (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError, pa.ArrowException)


def _zstd(raw: Any) -> Any:
    import pyarrow as pa

    return pa.CompressedInputStream(raw, "zstd")


def _buffer(data: memoryview) -> Any:
    import pyarrow as pa

    return pa.BufferReader(pa.py_buffer(data))


#: Compression → a file-like decoder over a binary file that holds the compressed bytes.
STREAMS: dict[str, Callable[[Any], Any]] = {
    "gzip": lambda raw: gzip.GzipFile(fileobj=raw, mode="rb"),
    "bz2": lambda raw: bz2.BZ2File(raw),
    "xz": lambda raw: lzma.LZMAFile(raw),
    "zstd": _zstd,
}

#: Called with the bytes produced so far; raises to stop the decompression.
Guard = Callable[[int], None]


def _pieces(compression: str, data: memoryview, first: int = STEP) -> Iterator[bytes]:
    """The decompressed bytes of ``data``, a step at a time (the steps doubling from ``first`` to STEP)."""
    step = first
    with STREAMS[compression](_buffer(data)) as stream:
        while piece := stream.read(step):
            yield piece
            step = min(2 * step, STEP)


def expand(compression: str, data: memoryview, *, guard: Guard | None = None) -> bytearray:
    """``data`` decompressed, whole; ``guard`` sees the bytes produced after each step. Raises what the
    decoders raise for corrupt or truncated input (:func:`errors`), and what ``guard`` raises."""
    plain = bytearray()
    for piece in _pieces(compression, data):
        plain += piece  # bytearray grows in place (realloc moves no bytes on Linux), unlike a join of pieces
        if guard is not None:
            guard(len(plain))
    return plain


def expand_start(compression: str, data: memoryview, *, lines: int,
                 guard: Guard | None = None) -> tuple[bytearray, bool]:
    """As much of the start of ``data`` decompressed as holds ``lines`` line ends (b"\\n"), or all there is, and
    whether that is all (the input ended, cleanly or cut off: more of it is needed for more).

    ``data`` may be cut anywhere (the start of an object), so an error of the decoder ends the start quietly:
    a whole object that is corrupt is reported by :func:`expand`.
    """
    plain, seen = bytearray(), 0
    try:
        for piece in _pieces(compression, data, first=_FIRST_STEP):
            plain += piece
            seen += piece.count(b"\n")
            if guard is not None:
                guard(len(plain))
            if seen >= lines:
                return plain, False
    except errors():
        pass
    return plain, True
