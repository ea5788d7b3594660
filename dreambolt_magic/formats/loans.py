"""Our bytes lent to Arrow for one read, and taken back before the read returns (:class:`Loans`). No I/O.

A reader hands pyarrow the object's bytes without a copy (``pa.py_buffer``). Arrow then holds them in C++
(a ``PyBuffer``), and so do the tasks its thread pool runs for the read: a Parquet file's columns are decoded
on those threads, and each task's closure keeps the file's reader, and through it the buffer. A task marks
its result done before its closure is destroyed, so the read can return while a pool thread still holds the
buffer; whichever thread lets go of it last runs ``PyBuffer``'s destructor, which takes the GIL to release
the view. If that is a pool thread and the interpreter is shutting down by then (a script that loads and
exits, on a busy machine where the thread was not scheduled in between), taking the GIL ends the thread
with ``pthread_exit``, whose unwinding meets the destructor (``noexcept``) and calls ``std::terminate``:
"terminate called without an active exception", SIGABRT, exit code 134 after a load that went well
(about 1 run in 100 of two small Parquet loads under CPU contention, here). The destructor has no guard
against a finalizing interpreter (pyarrow 26; apache/arrow#34314 reports the same abort).

So every buffer a read lends goes over a view of its own that only Arrow keeps (:meth:`Loans.lend`), and
the read waits, with the GIL free, until Arrow has dropped all of them (:meth:`Loans.settle`): once it
returns no thread of Arrow's holds our bytes, and the last release happened while the interpreter ran.
The wait is nothing in the usual case (the pool let go before the read got that far) and a few
milliseconds when the pool's thread was not yet scheduled.
"""

from __future__ import annotations

import time
import weakref
from typing import Any

import pyarrow as pa

__all__ = ["POLL", "SETTLE_WAIT", "Loans"]

#: How long :meth:`Loans.settle` waits at most for Arrow to let go (seconds). Arrow's pool lets go in
#: microseconds once scheduled; a view still held after this is held by something else (an object a
#: caller kept), which the interpreter itself releases.
SETTLE_WAIT = 2.0
#: How long :meth:`Loans.settle` sleeps between looks (seconds); sleeping frees the GIL the pool waits for.
POLL = 0.0005


class Loans:
    """The views of our bytes that Arrow holds for one read: weak references, dead once Arrow lets go."""

    def __init__(self) -> None:
        self._views: list[weakref.ref[memoryview]] = []

    def lend(self, data: Any) -> pa.Buffer:
        """An Arrow buffer over ``data`` without a copy, through a view only that buffer keeps."""
        view = memoryview(data)
        self._views.append(weakref.ref(view))
        return pa.py_buffer(view)

    def outstanding(self) -> int:
        """How many lent views Arrow (or anything else) still holds."""
        return sum(ref() is not None for ref in self._views)

    def settle(self, timeout: float = SETTLE_WAIT) -> bool:
        """Wait until Arrow holds none of the views lent (at most ``timeout`` seconds); whether it let go."""
        deadline = None
        while self.outstanding():
            now = time.monotonic()
            deadline = now + timeout if deadline is None else deadline
            if now >= deadline:
                return False
            time.sleep(POLL)
        self._views.clear()
        return True
