"""A read takes back the bytes it lent to Arrow before it returns (:mod:`dreambolt_magic.formats.loans`).

Arrow's pool thread that lets go of our bytes last, at the interpreter's exit, aborts the process (SIGABRT,
"terminate called without an active exception"). That happens about once in a hundred runs under CPU
contention, too rarely for a test; these tests hold the mechanism instead: a holder that lets go late, as a
pool thread does when it is scheduled late, is waited for.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pandas as pd
import pytest
from helpers import make_frame, to_bytes

from dreambolt_magic.formats import readers
from dreambolt_magic.formats.loans import Loans
from dreambolt_magic.formats.request import Request

#: How long the late holder keeps the buffer after the reader returned (seconds).
LATE = 0.3


def late_holder(monkeypatch: pytest.MonkeyPatch, fmt: str) -> threading.Event:
    """Make ``fmt``'s reader also lend the bytes to a thread that drops them :data:`LATE` seconds after the
    reader returned, as Arrow's pool thread drops its task (and the file it read) after the result is in;
    the event is set once it has."""
    real = readers.READERS[fmt]
    dropped = threading.Event()

    def reader(request: Request) -> Any:
        held = [request.source()]
        go = threading.Event()

        def hold() -> None:
            go.wait()
            time.sleep(LATE)
            held.clear()
            dropped.set()

        threading.Thread(target=hold, daemon=True).start()
        try:
            return real(request)
        finally:
            go.set()

    monkeypatch.setitem(readers.READERS, fmt, reader)
    return dropped


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_a_read_returns_only_once_arrow_let_go_of_the_bytes(monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    dropped = late_holder(monkeypatch, fmt)
    data = bytearray(to_bytes(make_frame(50), fmt))

    frame = readers.read(data, key=f"t.{fmt}")

    assert dropped.is_set()
    data.append(0)  # nothing views the bytes any more: a bytearray with a view left cannot grow
    assert len(frame) == 50


def test_a_decoded_table_too(monkeypatch: pytest.MonkeyPatch) -> None:
    dropped = late_holder(monkeypatch, "parquet")

    readers.decode(bytearray(to_bytes(make_frame(50), "parquet")), key="t.parquet")

    assert dropped.is_set()


def test_a_view_held_elsewhere_is_waited_for_a_bounded_time() -> None:
    loans = Loans()
    kept = loans.lend(bytearray(b"x" * 64))  # held here, not by Arrow: never given back while the test runs

    started = time.monotonic()
    assert loans.settle(timeout=0.2) is False
    assert 0.15 < time.monotonic() - started < 5
    assert loans.outstanding() == 1
    del kept
    assert loans.settle(timeout=0) is True and loans.outstanding() == 0


def test_what_arrow_reads_on_its_threads_is_given_back() -> None:
    # A real Parquet read, whose columns Arrow decodes on its pool. Without the wait, about 1 read in 150
    # here returned while a pool thread still held the bytes: over 1000 reads the test saw it 10 times in 10.
    frame = pd.DataFrame({f"c{i}": range(1000) for i in range(8)})
    data = bytearray(to_bytes(frame, "parquet"))

    for _ in range(1000):
        readers.read(data, key="t.parquet")
        data.append(0)  # BufferError while anything still views the bytes
        del data[-1]
