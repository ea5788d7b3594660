"""The parallel half of a transfer: ranged GETs of an object's parts by worker threads, into the one buffer.

:class:`RangedReads` is the part of :class:`~dreambolt_magic.transfer.engine.Transfer` that decides, once the
main stream has been timed, whether to start workers (:meth:`~RangedReads._decide`, with parts cut again
where each request waits long: :func:`~dreambolt_magic.transfer.parts.recut`), and the workers themselves:
each takes a part, reads it with ``readinto`` into its slice of the buffer, resumes a part whose body broke
from its next missing byte (``If-Match`` on the first answer's ETag) and tells, by a 412 or another ETag or
size, that the object changed (:class:`ObjectChangedSignal`). :meth:`~RangedReads.fetch` fills only given
ranges: how a pruned Parquet read fetches its column chunks.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import botocore.exceptions as bce

from dreambolt_magic.client.params import object_params
from dreambolt_magic.errors import S3Error
from dreambolt_magic.transfer.pace import CHUNK
from dreambolt_magic.transfer.parts import PartTable, piece_size, recut
from dreambolt_magic.transfer.progress import CancelFlag, Meter, check_cancel
from dreambolt_magic.transfer.workers import Stopped, Workers

if TYPE_CHECKING:
    import mmap

    from dreambolt_magic.options import CustomerKey
    from dreambolt_magic.uri import S3Uri

__all__ = ["CHUNK", "FAST_STREAM", "PROBE_BYTES", "PROBE_SECONDS", "PROBE_SKIP", "ObjectChangedSignal", "RangedReads",
           "start_of", "total_of"]

#: The main stream is timed over PROBE_BYTES after its first PROBE_SKIP (or PROBE_SECONDS, if that comes
#: first) before any worker starts: a stream faster than FAST_STREAM bytes/s is left alone. That is a local
#: or loopback server, which more connections only slow down (moto re-reads the whole object for every ranged
#: GET); a single connection to S3 gets far less, and there ranged GETs in parallel multiply the rate.
PROBE_BYTES = 2 << 20
PROBE_SECONDS = 0.25
#: The probe's clock starts only once this much has been read: until then the bytes may be ones the kernel
#: buffered while the first answer was being set up (a 40 MB/s stream then looks ten times faster).
PROBE_SKIP = 1 << 20
FAST_STREAM: float | None = 200e6

_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


class ObjectChangedSignal(Exception):
    """Internal: a part's answer shows the object changed since the first answer; start again once."""


class RangedReads:
    """The workers' side of a transfer (mixed into :class:`~dreambolt_magic.transfer.engine.Transfer`, whose
    state it shares: the buffer, the part table, the main stream's reach)."""

    # Set by the transfer (see its __init__ and _reset).
    buffer: bytearray | mmap.mmap | None
    size: int | None
    etag: str | None
    received: int
    limit: int
    parallel: bool
    attempts: int
    max_concurrency: int
    part_size: int | None
    in_order_from: int | None
    timings: list[tuple[int, float]]
    workers: Workers
    meter: Meter
    cancel: CancelFlag | None
    retry: Callable[[Callable[[int], Any]], Any]
    errors: Callable[[], AbstractContextManager[None]]
    _lock: threading.Lock
    _parts: PartTable | None
    _probe: tuple[Any, int, tuple[float, int] | None] | None
    _first_wait: float
    _front: int
    _arrived: list[tuple[int, int]]
    target: S3Uri
    customer_key: CustomerKey | None
    fetched: int
    counted: int
    requests: int

    def _params(self) -> dict[str, Any]:
        return object_params(self.target, self.customer_key)

    def _get(self, client: Any, params: dict[str, Any]) -> Any:
        with self._lock:
            self.requests += 1
        with self.workers.requesting(), self.errors():
            return client.get_object(**params)

    def _count(self, n: int) -> None:
        with self._lock:
            self.fetched += n
            self.counted += n
        self.meter.advance(n)

    def _decide(self) -> None:
        """Once the probe is over, start the workers unless the one stream is already fast."""
        assert self._probe is not None
        client, count, clock = self._probe
        if FAST_STREAM is not None and clock is None:
            if self.received >= min(PROBE_SKIP, self.limit):
                self._probe = (client, count, (time.monotonic(), self.received))
            return
        started, mark = clock or (time.monotonic(), self.received)
        elapsed = time.monotonic() - started
        if FAST_STREAM is not None and self.received - mark < PROBE_BYTES and elapsed < PROBE_SECONDS:
            return
        self._probe = None
        rate = (self.received - mark) / elapsed if elapsed > 0 else float("inf")
        self.parallel = FAST_STREAM is None or rate < FAST_STREAM
        if self.parallel:
            if FAST_STREAM is not None and self.part_size is None:
                count = self._recut(rate, count)
            self._start_workers(client, count)

    def _recut(self, rate: float, count: int) -> int:
        """Cut the parts no one has taken again where a request costs far more than its bytes
        (:func:`~dreambolt_magic.transfer.parts.recut`); the count of workers to start."""
        assert self._parts is not None and self.size is not None
        kept = self._parts.parts[: self._front + 1]
        planned = self._parts.parts[self._front + 1 :]
        if not planned:
            return count
        longer = recut(kept[-1][1], self.size, planned[0][1] - planned[0][0],
                       concurrency=self.max_concurrency, wait=self._first_wait, rate=rate)
        if longer is None:
            return count
        self._parts = PartTable(kept + longer)
        for index in range(len(kept)):
            self._parts.take(index)
        # The main stream goes on into the first of them: no request to wait for.
        return min(self.max_concurrency - 1, len(longer) - 1)

    def _claim_next(self) -> bool:
        if self._parts is None or not self._parts.take(self._front + 1):
            return False
        self._front += 1
        self.limit = self._parts.parts[self._front][1]
        return True

    @property
    def in_order(self) -> bool:
        """Whether the workers take this object's parts in order (see ``in_order_from``)."""
        return self.in_order_from is not None and self.size is not None and self.size >= self.in_order_from

    def arrived(self) -> int:
        """How far from the start the buffer is filled without a gap: the main stream's reach, then the parts
        the workers have finished that follow on from it."""
        with self._lock:
            spans = sorted(self._arrived)
        reach = self.received
        for start, end in spans:
            if start > reach:
                break
            reach = max(reach, end)
        return reach

    def fetch(self, client: Any, ranges: Sequence[tuple[int, int]]) -> None:
        """Fill these ``(start, end)`` ranges of the buffer with ranged GETs in parallel; wait for them."""
        wanted = [(max(0, a), min(b, self.size or 0)) for a, b in ranges]
        wanted = [r for r in wanted if r[1] > r[0]]
        # A long range is cut into parts too, so that it is fetched over several connections.
        total = sum(b - a for a, b in wanted)
        with self._lock:
            samples = list(self.timings)
        piece = piece_size(total, self.max_concurrency, samples)
        wanted = [(s, min(s + piece, b)) for a, b in wanted for s in range(a, b, piece)]
        if not wanted:
            return
        self._parts = PartTable(wanted)
        self.workers.again()
        try:
            self.workers.run(min(self.max_concurrency, len(wanted)), lambda: self._work_on(client))
        finally:
            self.meter.flush()

    def _start_workers(self, client: Any, count: int) -> None:
        self.workers.start(count, lambda: self._work_on(client))

    def _work_on(self, client: Any) -> None:
        parts = self._parts
        assert parts is not None
        take = parts.take_first if self.in_order else parts.take_last
        while not self.workers.stop.is_set() and (index := take()) is not None:
            self._fetch_part(client, *parts.parts[index])

    def _fetch_part(self, client: Any, start: int, end: int) -> None:
        assert self.buffer is not None
        view = memoryview(self.buffer)
        done = start
        began, attempts = time.monotonic(), self.attempts

        def attempt(number: int) -> None:
            nonlocal done
            if number > 1:
                with self._lock:
                    self.attempts += 1
            self._check()
            params = self._params()
            params["Range"] = f"bytes={done}-{end - 1}"
            if self.etag:
                params["IfMatch"] = self.etag
            try:
                try:
                    response = self._get(client, params)
                except S3Error as exc:
                    if exc.status == 412:
                        raise ObjectChangedSignal from exc
                    raise
                with self.workers.reading(response["Body"]) as flow, self.errors():
                    self._check_same(response)
                    if response["ResponseMetadata"]["HTTPStatusCode"] == 200:
                        _skip(flow.body, done)  # the server ignored the Range: the part starts further in
                    while done < end:
                        self._check()
                        n = flow.readinto(view[done:end])
                        if not n:
                            raise bce.IncompleteReadError(actual_bytes=done - start, expected_bytes=end - start)
                        done += n
                        self._count(n)
            except S3Error as exc:
                if self.workers.stop.is_set():
                    raise Stopped from exc  # abort() shut the socket: not a failure to retry
                raise

        self.retry(attempt)
        self._timed(end - start, began, attempts)
        with self._lock:
            self._arrived.append((start, end))

    def _timed(self, size: int, began: float, attempts: int) -> None:
        with self._lock:
            if self.attempts == attempts:  # a retried request's time says nothing about the server
                self.timings.append((size, time.monotonic() - began))

    def _check(self) -> None:
        if self.workers.stop.is_set():
            raise Stopped
        check_cancel(self.cancel)

    def _check_same(self, response: dict[str, Any]) -> None:
        # A server that ignores If-Match still tells, by the ETag or the size, that the object is another.
        etag = response.get("ETag")
        total = total_of(response.get("ContentRange"))
        if (self.etag and etag and etag != self.etag) or (total is not None and total != self.size):
            raise ObjectChangedSignal

    def join(self) -> None:
        """Wait for the workers; raise the first failure (:class:`ObjectChangedSignal`: call :meth:`restart`)."""
        try:
            self.workers.join()
        finally:
            self.meter.flush()

    def watching(self) -> AbstractContextManager[None]:
        """While in this block, a set cancel flag shuts down the sockets being read (:meth:`Workers.watching`)."""
        return self.workers.watching(self.cancel)

    def abort(self) -> None:
        """Stop the workers and wait for them, dropping their failures (the caller has its own); their
        sockets are shut down, so that none waits out a read timeout (:meth:`Workers.abort`)."""
        self.workers.abort()
        self.meter.flush()


def total_of(content_range: str | None) -> int | None:
    match = _CONTENT_RANGE.fullmatch(content_range or "")
    return int(match.group(3)) if match and match.group(3) != "*" else None


def start_of(content_range: str | None) -> int:
    """Where the bytes of a 206 answer start (0 if it does not say)."""
    match = _CONTENT_RANGE.fullmatch(content_range or "")
    return int(match.group(1)) if match else 0


def _skip(body: Any, n: int) -> None:
    while n > 0:
        chunk = body.read(min(n, CHUNK))
        if not chunk:
            raise bce.IncompleteReadError(actual_bytes=0, expected_bytes=n)
        n -= len(chunk)
