"""A transfer's threads (``dreambolt_magic.transfer.workers``): failures, stops and shut sockets, with no I/O.

The bodies here are stand-ins that record being closed and shut down; the loads that use real sockets are
in tests/faults (test_interrupt.py) and tests/integration (test_small_loads.py).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from dreambolt_magic.transfer import workers
from dreambolt_magic.transfer.workers import Stopped, Workers

PATIENCE = 5.0


class Body:
    """A body whose socket can be shut down: reading it blocks until then."""

    def __init__(self) -> None:
        self.shut = threading.Event()
        self.closed = False
        self.connection = self  # _shut_down looks for body.connection.sock
        self.sock = self

    def shutdown(self, how: int) -> None:
        self.shut.set()

    def close(self) -> None:
        self.closed = True


def test_join_raises_the_first_failure_and_the_others_stop() -> None:
    crew = Workers()
    stopped: list[bool] = []
    first = threading.Event()

    def work() -> None:
        if not first.is_set():
            first.set()
            raise ValueError("the first part failed")
        stopped.append(crew.stop.wait(PATIENCE))  # the failure stops the others
        raise Stopped

    crew.start(3, work)
    with pytest.raises(ValueError, match="the first part failed"):
        crew.join()
    assert stopped == [True, True]
    assert crew.threads == {}


def test_abort_shuts_the_bodies_being_read_and_waits_for_the_threads() -> None:
    crew = Workers()
    body = Body()
    reading = threading.Event()

    def work() -> None:
        with crew.reading(body):
            reading.set()
            if body.shut.wait(PATIENCE):  # a read of a stalled server, ended by the shutdown
                raise Stopped

    crew.start(1, work)
    assert reading.wait(PATIENCE)
    began = time.monotonic()
    crew.abort()
    assert time.monotonic() - began < PATIENCE
    assert body.shut.is_set() and body.closed
    assert crew.threads == {}
    crew.join()  # the failure, if any, was dropped


def test_a_set_cancel_flag_shuts_the_bodies_being_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers, "CANCEL_POLL", 0.01)
    crew, body, flag = Workers(), Body(), threading.Event()
    with crew.watching(flag), crew.reading(body):
        flag.set()
        assert body.shut.wait(PATIENCE)
    assert not any(t.name == "dreambolt-watch" for t in threading.enumerate())


def test_renew_forgets_the_stop_but_keeps_the_bodies_registered() -> None:
    crew, body = Workers(), Body()
    crew.abort()
    with crew.reading(body):
        crew.renew()
        assert not crew.stop.is_set()
        crew.shut_open()  # a cancel after a restart still reaches the body
        assert body.shut.is_set()


def test_a_thread_that_raises_base_exception_is_a_failure_too() -> None:
    crew = Workers()

    def work() -> Any:
        raise KeyboardInterrupt

    crew.start(1, work)
    with pytest.raises(KeyboardInterrupt):
        crew.join()


def test_run_works_in_the_calling_thread_and_starts_one_thread_fewer() -> None:
    crew = Workers()
    where: list[threading.Thread] = []
    lock = threading.Lock()

    def work() -> None:
        with lock:
            where.append(threading.current_thread())

    crew.run(1, work)
    assert where == [threading.current_thread()]  # one range: no thread started at all
    where.clear()
    crew.run(3, work)
    assert len(where) == 3 and where.count(threading.current_thread()) == 1
    assert crew.threads == {}


def test_run_raises_a_worker_s_failure_after_the_calling_thread_s_share() -> None:
    crew = Workers()
    failed = threading.Event()

    def work() -> None:
        if threading.current_thread() is not threading.main_thread():
            failed.set()
            raise ValueError("a part failed")
        assert failed.wait(PATIENCE)
        raise Stopped  # the caller saw the stop

    with pytest.raises(ValueError, match="a part failed"):
        crew.run(2, work)
    assert crew.threads == {}


def test_run_waits_for_the_others_when_the_calling_thread_s_share_fails() -> None:
    crew = Workers()
    finished: list[bool] = []

    def work() -> None:
        if threading.current_thread() is threading.main_thread():
            raise ValueError("the caller's part failed")
        finished.append(crew.stop.wait(PATIENCE))  # told to stop, and waited for

    with pytest.raises(ValueError, match="the caller's part failed"):
        crew.run(3, work)
    assert finished == [True, True]
    assert crew.threads == {}


def test_an_interrupt_in_the_calling_thread_stops_the_others_without_waiting_for_them() -> None:
    crew, body = Workers(), Body()
    reading = threading.Event()

    def work() -> None:
        if threading.current_thread() is threading.main_thread():
            assert reading.wait(PATIENCE)
            raise KeyboardInterrupt
        with crew.reading(body):
            reading.set()
            if body.shut.wait(PATIENCE):  # a stalled read: only abort() ends it
                raise Stopped

    began = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        crew.run(2, work)
    assert time.monotonic() - began < PATIENCE / 2 and crew.stop.is_set()
    crew.abort()  # what the loader does next: the stalled read ends at once
    assert body.shut.is_set() and crew.threads == {}
