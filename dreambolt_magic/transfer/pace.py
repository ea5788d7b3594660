"""The speed floor: a body that comes too slowly is broken off, as a stalled one is, and read on where it broke.

botocore's read timeout is per socket read: a server that sends a byte a second never trips it, and the load
would never end. Each body being read is a :class:`Flow`. Its reader reads through it
(:meth:`Flow.readinto`), and the transfer's watcher judges it several times a second (:meth:`Flow.judge`):
once a window of at least :data:`WINDOW` seconds shows that the body certainly brought less than the floor
(``min_speed`` bytes a second), its socket is shut down. The read under way then returns what had come and the
reader raises :class:`~dreambolt_magic.errors.S3NetworkError` ``TooSlow``, which is retried like a stall: from
the next missing byte (``Range``, ``If-Match``). When the attempts run out, that error says the rate measured.

*Certainly*: the bytes of a read under way are not seen until it returns, so a body is judged too slow only if
all the bytes asked, had they come, would still be under the floor. A body above the floor is never broken
off, and one below it is broken off after the window, or after the time the read under way takes at the
floor if that is longer. So reads are small while that matters: a body is read in slices that start at
:data:`FIRST_SLICE` bytes (less for a low floor), double while they come fast and halve when they come slowly,
up to the transfer's step and ending on multiples of their size (a fast body's reads soon match the step's, as
without a floor). Only the reading thread and the watcher touch a flow. No I/O of its own.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from dreambolt_magic.errors import S3NetworkError
from dreambolt_magic.units import human_bytes

__all__ = ["CHUNK", "FIRST_SLICE", "SLICE_SECONDS", "WINDOW", "Flow"]

#: The most a read asks: a read that times out loses what it had read, so reads are not made larger.
CHUNK = 1 << 20
#: Seconds over which a body's speed is judged (the floor itself is ``min_speed``, a setting).
WINDOW = 30.0
#: A body's first read asks this many bytes, at most (a power of two, as every read size is).
FIRST_SLICE = 16 << 10
#: A read asks about what the body brings in this long: its size doubles while the last read brought twice
#: that, and halves while it brought half.
SLICE_SECONDS = 0.25


class Flow:
    """One body being read, with its speed as the floor sees it (``floor`` 0: none; reads of ``step``)."""

    def __init__(self, body: Any, floor: float, step: int = CHUNK) -> None:
        self.body = body
        self.floor = floor
        self.step = step
        self.size = _first_slice(floor, step) if floor else step
        self._least = self.size
        #: Bytes read from the body so far, and those the read under way asks for.
        self.done = 0
        self.asked = 0
        #: When the window began, and ``done`` then.
        self.since = time.monotonic()
        self.mark = 0
        #: When the watcher found it too slow and shut its socket down.
        self.broken: float | None = None
        self._lock = threading.Lock()

    def readinto(self, view: memoryview) -> int:
        """Read the next slice of the body into the start of ``view``; the bytes read (0 at the end).
        Raises the ``TooSlow`` error once the watcher has broken the body off."""
        want = min(len(view), self.size - self.done % self.size)
        with self._lock:
            self.asked = want
        began = time.monotonic()
        try:
            n = self.body.readinto(view[:want])
        except Exception as exc:
            if self.broken is not None:
                raise self.too_slow() from exc
            raise
        self._read(n, time.monotonic() - began)
        if not n and self.broken is not None:
            raise self.too_slow()
        return n

    def read(self) -> bytes:
        """The next slice of the body (``b""`` at the end); as :meth:`readinto`."""
        want = self.size - self.done % self.size
        with self._lock:
            self.asked = want
        began = time.monotonic()
        try:
            chunk: bytes = self.body.read(want)
        except Exception as exc:
            if self.broken is not None:
                raise self.too_slow() from exc
            raise
        self._read(len(chunk), time.monotonic() - began)
        if not chunk and self.broken is not None:
            raise self.too_slow()  # a body without a length ends where its socket was shut down
        return chunk

    def _read(self, n: int, took: float) -> None:
        with self._lock:
            self.done += n
            self.asked = 0
        if not self.floor or not n:
            return
        reach = n / took * SLICE_SECONDS if took > 0 else float("inf")  # what the body brings in SLICE_SECONDS
        if reach >= 2 * self.size:
            self.size = min(self.step, self.size * 2)
        elif reach < self.size / 2:
            self.size = max(self._least, self.size // 2)

    def judge(self, now: float) -> bool:
        """Whether the body is now certainly under the floor (see the module docstring): if so it is marked
        broken off, and the caller shuts its socket down."""
        with self._lock:
            if not self.floor or self.broken is not None:
                return False
            elapsed = now - self.since
            if elapsed < WINDOW:
                return False
            got = self.done - self.mark
            if got >= self.floor * elapsed:
                self.since, self.mark = now, self.done  # fast enough: a new window
                return False
            # The read under way may hold enough: wait for it, but from the second window on credit it with no
            # more than a window's worth at the floor. A body that was fast may be in a read of a megabyte when
            # it slows to a trickle; full credit would wait some 17 minutes at 1 kB/s. Broken off after about
            # two windows instead, it is resumed from its next byte with reads sized for its new speed.
            credit = self.asked if elapsed < 2 * WINDOW else min(self.asked, self.floor * WINDOW)
            if got + credit >= self.floor * elapsed:
                return False
            self.broken = now
            return True

    def too_slow(self) -> S3NetworkError:
        """The error of a body broken off: the rate it came at over the window (the bytes of the read that the
        shutdown ended are counted)."""
        assert self.broken is not None
        seconds = max(self.broken - self.since, 1e-9)
        rate = (self.done - self.mark) / seconds
        return S3NetworkError(
            f"S3 sent the object too slowly: {human_bytes(rate)}/s over {seconds:.0f} s, under the floor of "
            f"{human_bytes(self.floor)}/s (min_speed)",
            code="TooSlow",
            hints={"rate": rate, "floor": self.floor, "window": seconds},
        )


def _first_slice(floor: float, step: int) -> int:
    # At most what the floor brings in a window, so that a body that trickles from its first byte is found out
    # when the window ends; a power of two, so that doubling reaches the step's boundaries.
    size = FIRST_SLICE
    while size > 1024 and size > floor * WINDOW:
        size //= 2
    return min(size, step)
