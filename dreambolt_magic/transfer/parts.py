"""How an object is cut into ranged GETs: how many, how long, and which near ranges go in one. No I/O.

:mod:`dreambolt_magic.transfer.engine` fetches what these plan. A whole object is cut by :func:`plan_parts` from
its size alone; the ranges of a sparse read (Parquet column chunks) are first merged where they are close
(:func:`coalesce`), then cut into pieces whose length :func:`piece_size` chooses from what the earlier
requests to the same server cost.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from dreambolt_magic.options import TRANSFER

__all__ = [
    "DEFAULT_CONCURRENCY",
    "MAX_PART",
    "MIN_PART",
    "PARALLEL_THRESHOLD",
    "PartTable",
    "coalesce",
    "piece_size",
    "plan_parts",
    "recut",
]

#: Below this size an object is read by one stream: more requests would cost more than they save.
PARALLEL_THRESHOLD = 8 << 20
#: Parts are never smaller than this (AWS's advice is 8-16 MB per ranged GET; smaller parts let a mid-sized
#: object use a few connections).
MIN_PART = 4 << 20
#: Parts are never larger than this, so the last part does not leave every other connection idle for long.
MAX_PART = 64 << 20
#: Connections in flight for one object, the main stream included.
DEFAULT_CONCURRENCY = TRANSFER.max_concurrency
#: Where the first GET waited for its first byte longer than this share of a planned part's transfer, the
#: rest of the object is cut again, in fewer and longer parts (:func:`recut`).
COSTLY_REQUEST = 0.25


def plan_parts(size: int, *, part_size: int | None = None, max_concurrency: int | None = None) -> list[tuple[int, int]]:
    """The ``(start, end)`` byte ranges (end exclusive) an object of ``size`` bytes is fetched in.

    One part below :data:`PARALLEL_THRESHOLD` or with ``max_concurrency=1``; else about two parts per
    connection (so a slow connection's share can go to another), each between :data:`MIN_PART` and
    :data:`MAX_PART` unless ``part_size`` says otherwise.
    """
    concurrency = DEFAULT_CONCURRENCY if max_concurrency is None else max_concurrency
    if size <= 0:
        return [(0, 0)]
    if concurrency <= 1 or (part_size is None and size < PARALLEL_THRESHOLD):
        return [(0, size)]
    if part_size is None:
        part_size = min(MAX_PART, max(MIN_PART, -(-size // (2 * concurrency))))
        part_size = -(-part_size // (1 << 20)) << 20  # whole MiB
    part_size = max(1, part_size)
    return [(start, min(start + part_size, size)) for start in range(0, size, part_size)]


def piece_size(total: int, concurrency: int, timings: Sequence[tuple[int, float]] = ()) -> int:
    """The bytes each ranged GET of :meth:`Transfer.fetch` asks for, to fetch ``total`` bytes of ranges.

    By default about two pieces per connection, at least :data:`MIN_PART`: on S3 one connection gets a
    fraction of the link, and more connections multiply the rate. But where a request costs far more than
    its bytes (moto slices the whole object for every ranged GET: 0.13 s for 64 KiB or 1 MiB alike), fewer,
    longer pieces win. So once two earlier requests of different sizes (the head and the tail of a pruned
    read) show the fixed cost and the rate, the count of pieces is the one that minimises
    ``pieces x fixed cost + total / (min(pieces, concurrency) x rate)``: the fixed costs counted as if they
    queued (they do on a server that is busy working, and cost little where they do not).
    """
    default = max(MIN_PART, -(-total // (2 * concurrency)))
    sizes = [n for n, _ in timings]
    if total <= 0 or len(timings) < 2 or max(sizes) < 4 * min(sizes):
        return default
    mean_n = sum(sizes) / len(sizes)
    mean_t = sum(t for _, t in timings) / len(timings)
    spread = sum((n - mean_n) ** 2 for n in sizes)
    slope = sum((n - mean_n) * (t - mean_t) for n, t in timings) / spread  # seconds per byte
    fixed = max(0.0, mean_t - slope * mean_n)
    if fixed <= 0:
        return default
    rate = 1 / slope if slope > 0 else float("inf")
    best = min(range(1, 2 * concurrency + 1), key=lambda k: k * fixed + total / (min(k, concurrency) * rate))
    return max(default, -(-total // best))


def recut(
    start: int, end: int, part: int, *, concurrency: int, wait: float, rate: float
) -> list[tuple[int, int]] | None:
    """Longer parts for bytes ``start`` to ``end`` of an object planned in parts of ``part`` bytes, where a
    request costs much more than its bytes; None where it does not.

    ``wait`` is the seconds the first GET waited for its first byte, ``rate`` the bytes per second its stream
    then read at. On S3 the wait (20-50 ms) is a small share of a part's transfer (a few hundred ms), and
    the parts stay as planned: two per connection, so a slow connection's share can go to another. Where it
    is a large share (over :data:`COSTLY_REQUEST`; moto slices the whole object for every ranged GET and
    answers them one at a time, 0.15 s each), the count of parts is the one :func:`piece_size` finds from
    that wait and rate, each part at most :data:`MAX_PART`.
    """
    if end <= start or part <= 0 or not 0 < rate < float("inf") or wait * rate < COSTLY_REQUEST * part:
        return None
    length = min(MAX_PART, piece_size(end - start, concurrency, [(0, wait), (part, wait + part / rate)]))
    length = -(-length // (1 << 20)) << 20  # whole MiB
    if length <= part:
        return None
    return [(at, min(at + length, end)) for at in range(start, end, length)]


def coalesce(ranges: Sequence[tuple[int, int]], gap: int) -> list[tuple[int, int]]:
    """Sorted ranges, with those less than ``gap`` bytes apart merged: one request costs more than a gap."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(r for r in ranges if r[1] > r[0]):
        if merged and start - merged[-1][1] <= gap:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


class PartTable:
    """Which of a transfer's parts are taken, by any of its threads: the main stream takes each next one as it
    reaches it, workers take from the back (or, in order, from the front)."""

    def __init__(self, parts: list[tuple[int, int]]) -> None:
        self.parts = parts
        self.taken = [False] * len(parts)
        self._lock = threading.Lock()

    def take(self, index: int) -> bool:
        with self._lock:
            if index >= len(self.parts) or self.taken[index]:
                return False
            self.taken[index] = True
            return True

    def take_last(self) -> int | None:
        return self._take_in(range(len(self.parts) - 1, -1, -1))

    def take_first(self) -> int | None:
        return self._take_in(range(len(self.parts)))

    def _take_in(self, order: range) -> int | None:
        with self._lock:
            for index in order:
                if not self.taken[index]:
                    self.taken[index] = True
                    return index
        return None
