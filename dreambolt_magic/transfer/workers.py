"""The threads that fetch one object's parts (:class:`Workers`): started, waited for, and stopped at once.

A worker's failure is kept for the thread that waits (the first one only) and stops the others. Each request,
by a worker or the main stream, is registered from the moment it starts (:meth:`Workers.requesting`), and so
is each body being read (:meth:`Workers.reading`), so that stopping shuts their sockets down from the thread
that stops, waiting for none: a thread blocked in a read of a stalled server, or waiting for an answer that
is slow to come, then wakes at once, not after the read timeout. :meth:`Workers.watching` does the same when
a cancel flag is set. What each worker does is the transfer's business (:mod:`dreambolt_magic.transfer.engine`);
this module knows threads and sockets only. No I/O of its own.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from dreambolt_magic.client.inflight import InFlight
from dreambolt_magic.transfer.pace import CHUNK, Flow
from dreambolt_magic.transfer.progress import CancelFlag

__all__ = ["ABORT_WAIT", "CANCEL_POLL", "Stopped", "Workers"]

#: How often the watcher of :meth:`Workers.watching` looks at the cancel flag and the bodies' speeds (seconds).
CANCEL_POLL = 0.05
#: How long :meth:`Workers.abort` waits for the workers once their sockets are shut down (seconds).
ABORT_WAIT = 1.5


class Stopped(Exception):
    """Internal: another thread failed or the load was cancelled; this one stops quietly."""


class Workers:
    """The worker threads of one transfer, the bodies being read, and the stop they share."""

    def __init__(self, min_speed: float = 0, step: int = CHUNK) -> None:
        #: The speed floor of each body (bytes a second, 0: none) and the most a read of one asks
        #: (:class:`~dreambolt_magic.transfer.pace.Flow`).
        self.min_speed, self.step = min_speed, step
        #: Set when a worker fails or the transfer is aborted: every thread stops at its next check.
        self.stop = threading.Event()
        #: Each thread with the event it sets as it ends (see :meth:`join` for why not Thread.join).
        self.threads: dict[threading.Thread, threading.Event] = {}
        self._failure: BaseException | None = None
        self._open: set[Any] = set()
        #: The connections of the requests being made, answered or not (:meth:`requesting`).
        self.inflight = InFlight()
        self._lock = threading.Lock()

    def start(self, count: int, work: Callable[[], None]) -> None:
        """Start ``count`` threads, each running ``work()``."""
        for i in range(count):
            done = threading.Event()
            thread = threading.Thread(target=self._run, args=(work, done), name=f"dreambolt-part-{i}", daemon=True)
            self.threads[thread] = done
            thread.start()

    def run(self, count: int, work: Callable[[], None]) -> None:
        """Run ``work()`` on ``count`` threads, this one among them, then :meth:`join` the others.

        The calling thread would only wait: working instead spares a thread's start, and a fetch of one
        range (most of a pruned read's) starts none. Its KeyboardInterrupt is raised at once, with the
        others told to stop; the caller then aborts them (:meth:`abort` shuts their sockets down).
        """
        self.start(count - 1, work)
        try:
            work()
        except Stopped:
            pass
        except Exception as exc:
            self._fail(exc)
        except BaseException:
            self.stop.set()
            raise
        self.join()

    def _run(self, work: Callable[[], None], done: threading.Event) -> None:
        try:
            work()
        except Stopped:
            pass
        except BaseException as exc:
            self._fail(exc)
        finally:
            done.set()

    def _fail(self, exc: BaseException) -> None:
        # The first failure is handed to the thread that joins; the others stop.
        with self._lock:
            if self._failure is None:
                self._failure = exc
        self.stop.set()

    def renew(self) -> None:
        """Forget the threads, the stop and the failure of an attempt given up (after :meth:`abort`); the
        bodies being read stay registered, so that a cancel still reaches them."""
        self.stop = threading.Event()
        self.threads = {}
        self._failure = None
        self.inflight.reopen()

    def again(self) -> None:
        """Ready for another round of workers (after a :meth:`join`)."""
        self.stop.clear()
        self._failure = None

    def join(self) -> None:
        """Wait for every thread; raise the first failure."""
        # Waiting on the threads' own events, not Thread.join(): on Python 3.11 a KeyboardInterrupt that lands
        # in Thread.join() marks the thread as stopped while it still runs, and later joins return at once.
        for thread, done in self.threads.items():
            done.wait()
            thread.join()
        self.threads = {}
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure

    def abort(self) -> None:
        """Stop the threads and wait for them (at most :data:`ABORT_WAIT`), dropping their failures.

        A thread blocked in a read would only notice the stop after the read timeout: the sockets of the
        requests in flight are shut down here, by the calling thread, which ends such a read at once.
        """
        self.stop.set()
        self.shut_open()
        deadline = time.monotonic() + ABORT_WAIT
        for thread, done in self.threads.items():
            if done.wait(max(0.0, deadline - time.monotonic())):
                thread.join(max(0.0, deadline - time.monotonic()))
        self.threads = {t: d for t, d in self.threads.items() if t.is_alive()}
        self._failure = None

    def requesting(self) -> contextlib.AbstractContextManager[None]:
        """While in this block, the calling thread's requests are ones :meth:`shut_open` shuts down, from the
        moment each starts (before its answer comes: :class:`~dreambolt_magic.client.inflight.InFlight`)."""
        return self.inflight.tracking()

    @contextlib.contextmanager
    def reading(self, body: Any) -> Iterator[Flow]:
        """``body`` to read through its :class:`~dreambolt_magic.transfer.pace.Flow`, closed at the end; while
        it is read, :meth:`abort` can shut its socket down, and so can the speed floor (:meth:`watching`)."""
        flow = Flow(body, self.min_speed, self.step)
        with self._lock:
            self._open.add(flow)
        try:
            yield flow
        finally:
            with self._lock:
                self._open.discard(flow)
            body.close()

    def shut_open(self) -> None:
        """Shut down the sockets of the requests being made and the bodies being read, and refuse requests
        that would start later (until :meth:`renew`)."""
        self.inflight.shut_down()
        with self._lock:
            flows = list(self._open)
        for flow in flows:
            _shut_down(flow.body)

    @contextlib.contextmanager
    def watching(self, cancel: CancelFlag | None) -> Iterator[None]:
        """While in this block, a watcher thread shuts down the sockets being read once the cancel flag is
        set, and the socket of a body the speed floor finds too slow (:meth:`~dreambolt_magic.transfer.pace.
        Flow.judge`).

        Without it a cancel is seen between slices of a body, so a stalled server would hold it until the
        read timeout; with it the blocked read ends at once and the next check raises Cancelled. A body
        broken off by the floor raises its ``TooSlow`` error in its reader, which retries it.
        """
        if cancel is None and not self.min_speed:
            yield
            return
        finished = threading.Event()

        def watch() -> None:
            # Sleeping on ``finished``, not on the flag: the block's end wakes the watcher at once, where a
            # wait on the flag would hold every load up to CANCEL_POLL at its end (15 s of 300 small loads).
            while not finished.wait(CANCEL_POLL):
                if cancel is not None and cancel.is_set():
                    self.shut_open()
                    return
                self._judge_speeds()

        watcher = threading.Thread(target=watch, name="dreambolt-watch", daemon=True)
        watcher.start()
        try:
            yield
        finally:
            finished.set()
            watcher.join()


    def _judge_speeds(self) -> None:
        now = time.monotonic()
        with self._lock:
            flows = list(self._open)
        for flow in flows:
            if flow.judge(now):
                _shut_down(flow.body)


def _shut_down(body: Any) -> None:
    """Shut down the socket under a botocore body (its reader then sees the end), from any thread."""
    raw = getattr(body, "_raw_stream", body)  # botocore's StreamingBody wraps urllib3's response
    connection = getattr(raw, "connection", None)
    sock = getattr(connection, "sock", None)
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
