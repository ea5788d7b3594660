"""A transfer's threads (``dreambolt_magic.workers``): failures, stops and shut sockets, with no I/O.

The bodies here are stand-ins that record being closed and shut down; the loads that use real sockets are
in tests/faults (test_interrupt.py) and tests/integration (test_small_loads.py).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from dreambolt_magic import workers
from dreambolt_magic.workers import Stopped, Workers

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
    assert not any(t.name == "dreambolt-cancel-watch" for t in threading.enumerate())


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
