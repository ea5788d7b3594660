"""The memory that holds an object's bytes while a load fetches and parses them. No I/O.

:func:`zeroed` is the buffer a transfer writes into: a bytearray for a small object, else a private anonymous
mapping, whose pages take memory only once written (so a sparse, pruned read costs what it fetches).
:func:`in_memory_file` is the same in an in-memory file with a path, for a parser that reads a path faster
than bytes (:mod:`dreambolt_magic.objects.overlap`). :func:`release` unmaps a buffer on a thread once its bytes are
parsed, so the load does not wait for the kernel to take back the pages.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import threading
import traceback
import weakref

__all__ = ["SMALL_BUFFER", "forget_frames", "in_memory_file", "release", "zeroed"]

#: A buffer smaller than this is a bytearray, not a mapping: mapping and unmapping cost system calls (and
#: the unmapping a TLB flush on each CPU the process's threads run on), more than writing this many zeros.
SMALL_BUFFER = 1 << 20


def zeroed(size: int) -> bytearray | mmap.mmap:
    """A writable buffer of ``size`` zero bytes whose pages take memory only once they are written.

    ``bytearray(size)`` writes every byte (a memset: 0.12 s and the whole size resident for 240 MB, even
    for a sparse read that fills a tenth of it); an anonymous mapping is zero pages the kernel hands out
    as they are first written. The mapping is private: Python's default, a shared one, is backed like a file
    and costs more to fill (0.18 s against 0.13 s for 240 MB here) and to unmap (40 ms against 14 ms). Below
    :data:`SMALL_BUFFER` a bytearray costs less than a mapping's system calls.
    """
    if size < SMALL_BUFFER:
        return bytearray(size)
    private = getattr(mmap, "MAP_PRIVATE", None)
    if private is None:  # Windows: no flags
        return mmap.mmap(-1, size)
    return mmap.mmap(-1, size, flags=private | mmap.MAP_ANONYMOUS)


def in_memory_file(size: int) -> tuple[mmap.mmap, str]:
    """Like :func:`zeroed`, but the pages belong to an in-memory file (Linux's memfd) that has a path too.

    The path (``/proc/self/fd/N``) is valid while the buffer lives: the descriptor is closed with it.
    """
    fd = os.memfd_create("dreambolt-object", os.MFD_CLOEXEC)
    try:
        os.ftruncate(fd, size)
        buffer = mmap.mmap(fd, size)
    except BaseException:
        os.close(fd)
        raise
    weakref.finalize(buffer, os.close, fd)
    return buffer, f"/proc/self/fd/{fd}"


def release(buffer: bytearray | mmap.mmap | None) -> None:
    """Let go of a buffer whose bytes are no longer needed; a mapping is unmapped on a thread of its own.

    Unmapping a whole object's pages takes time (50 ms for 240 MB here) that the kernel spends without the
    GIL: the caller goes on while a thread spends it. A mapping something still views (a memoryview kept
    somewhere) cannot be closed; it is left to be freed with its last reference, as without this.
    """
    if isinstance(buffer, mmap.mmap):
        threading.Thread(target=_close, args=(buffer,), name="dreambolt-release", daemon=True).start()


def _close(buffer: mmap.mmap) -> None:
    with contextlib.suppress(BufferError):
        buffer.close()


def forget_frames(exc: BaseException) -> None:
    """Clear the locals of the finished frames ``exc`` and the exceptions behind it passed through.

    Those frames hold views of the buffer that the exception made obsolete, and exceptions with their frames
    form reference cycles: without this, a restarted transfer's first buffer (and its in-memory file) would
    live until the garbage collector next ran.
    """
    pending: list[BaseException | None] = [exc]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        traceback.clear_frames(current.__traceback__)
        pending += [current.__cause__, current.__context__]
