"""Ctrl-C during a load: every download thread stops within 2 s, the bar closes red, nothing is bound.

The interrupt is a real SIGINT, sent to the main thread (``signal.pthread_kill``) by a helper thread once
the download is under way and the proxy is stalling every body, so the main thread is blocked in a socket
read when it arrives, as it would be when a user presses Ctrl-C in a notebook waiting on a slow S3. The
proxy then sees every connection closed within a second, even of requests still waiting for their answer,
even with every core busy.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import psutil
import pytest

import dreambolt_magic
from dreambolt_magic.objects import overlap
from dreambolt_magic.transfer import engine as transfer
from dreambolt_magic.transfer import ranged

from .proxy import Delay, Fault, FaultProxy, Stall, Throttle
from .test_faults import BUCKET, Recorder, gets

if TYPE_CHECKING:
    from conftest import S3Helper
    from IPython.core.interactiveshell import InteractiveShell

#: Longer than any test: a stalled body would hold a download for this long if nothing stopped it.
STALL = 60.0
#: The issue's bound: every download thread has stopped this long after Ctrl-C.
STOPPED_WITHIN = 2.0
SMALL = b"a,b\n" + b"1,2\n" * 500_000  # 2 MB: one stream
LARGE = b"a,b\n" + b"1,2\n" * 3_000_000  # 12 MB: a main stream and workers


@pytest.fixture(autouse=True)
def _python_sigint_handler() -> Iterator[None]:
    # Python's handler raises KeyboardInterrupt in the main thread, as in a kernel. A shell that starts the
    # suite in the background (CI runners, `make test &`) leaves SIGINT ignored: put the handler in place.
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


@contextmanager
def ctrl_c_when(ready: Callable[[], bool], *, delay: float = 0.3) -> Iterator[dict[str, float]]:
    """Press Ctrl-C (SIGINT to the main thread) ``delay`` s after ``ready()`` is first true, once.

    Yields a dict whose ``"sent"`` is the monotonic time the signal went; on exit the helper thread is
    stopped and joined, so it never outlives the block (nor interrupts anything after it).
    """
    main = threading.main_thread().ident
    assert main is not None and threading.current_thread() is threading.main_thread()
    done = threading.Event()
    record: dict[str, float] = {}

    def press() -> None:
        deadline = time.monotonic() + 20
        while not done.is_set() and time.monotonic() < deadline:
            if ready():
                if not done.wait(delay):
                    record["sent"] = time.monotonic()
                    signal.pthread_kill(main, signal.SIGINT)
                return
            done.wait(0.01)

    helper = threading.Thread(target=press, name="test-ctrl-c", daemon=True)
    helper.start()
    try:
        yield record
    finally:
        done.set()
        helper.join()


def stalled_gets(proxy: FaultProxy, n: int) -> Callable[[], bool]:
    return lambda: sum(1 for r in gets(proxy) if r.fault == "Stall") >= n


def ours(before: set[threading.Thread]) -> list[threading.Thread]:
    """Threads started since ``before``, but not the proxy's (its handlers stall until it stops)."""
    return [t for t in threading.enumerate() if t not in before and "process_request_thread" not in t.name]


def established_to(port: int) -> list[Any]:
    return [c for c in psutil.Process().net_connections(kind="tcp")
            if c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED]


def port_of(proxy: FaultProxy) -> int:
    return int(proxy.endpoint_url.rsplit(":", 1)[1])


def interrupted_load(proxy: FaultProxy, uri: str, *, streams: int, **kw: Any) -> tuple[Recorder, float]:
    """Load ``uri`` through stalled bodies, Ctrl-C once ``streams`` GETs stall; the seconds to stop."""
    progress = Recorder()
    with ctrl_c_when(stalled_gets(proxy, streams)) as pressed, pytest.raises(KeyboardInterrupt):
        dreambolt_magic.load(uri, endpoint_url=proxy.endpoint_url, progress=progress, max_attempts=2,
                             read_timeout=STALL * 2, **kw)
    return progress, time.monotonic() - pressed["sent"]


def assert_clean(proxy: FaultProxy, before: set[threading.Thread], progress: Recorder) -> None:
    assert ours(before) == []
    assert established_to(port_of(proxy)) == []
    assert progress.calls[-1] == ("finish", (False,))
    assert progress.of("finish") == [(False,)]
    # Once the proxy stops, its stalled handlers end too: nothing at all is left of the load.
    proxy.stop()
    deadline = time.monotonic() + 5
    while set(threading.enumerate()) - before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert set(threading.enumerate()) - before == set()


def test_ctrl_c_stops_a_single_stream_at_once(proxy: FaultProxy, s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)
    uri = s3.put(BUCKET, "small.csv", SMALL)
    proxy.add(Fault(Stall(after=1_200_000, seconds=STALL), times=None))
    before = set(threading.enumerate())

    progress, took = interrupted_load(proxy, uri, streams=1)

    assert took < STOPPED_WITHIN
    assert [(r.fault, r.range) for r in gets(proxy)] == [("Stall", None)]
    assert 0 < sum(n for (n,) in progress.of("advance")) < len(SMALL)
    assert_clean(proxy, before, progress)


@pytest.mark.parametrize("concurrency", [2, 4])
def test_ctrl_c_stops_every_part_thread_within_two_seconds(
    proxy: FaultProxy, s3: S3Helper, monkeypatch: pytest.MonkeyPatch, concurrency: int
) -> None:
    # Workers start at once (no probe of the main stream's speed), and every body they get stalls: each
    # worker is blocked in a socket read, which only the shutdown of its socket can end before STALL.
    monkeypatch.setattr(ranged, "FAST_STREAM", None)
    s3.make_bucket(BUCKET)
    uri = s3.put(BUCKET, "large.csv", LARGE)
    proxy.add(Fault(Stall(after=100_000, seconds=STALL), times=None))
    before = set(threading.enumerate())
    seen_workers: list[str] = []
    real_start = transfer.Transfer._start_workers

    def spy(self: transfer.Transfer, client: Any, count: int) -> None:
        real_start(self, client, count)
        seen_workers.extend(t.name for t in self.workers.threads)

    monkeypatch.setattr(transfer.Transfer, "_start_workers", spy)

    progress, took = interrupted_load(proxy, uri, streams=concurrency, max_concurrency=concurrency,
                                      part_size=2 << 20)

    assert took < STOPPED_WITHIN
    assert len(seen_workers) == concurrency - 1
    ranges = [r.range for r in gets(proxy)]
    assert ranges[0] is None and len(ranges) == concurrency  # the main stream, then one part per worker
    assert all(r and r.startswith("bytes=") for r in ranges[1:])
    assert_clean(proxy, before, progress)


def test_ctrl_c_while_waiting_for_the_parts_stops_them(
    proxy: FaultProxy, s3: S3Helper, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The main stream reads its share at full speed and waits in join() for the worker's stalled part.
    # (Without a CSV parse alongside, the worker takes parts from the back: the main stream's share is the rest.)
    monkeypatch.setattr(ranged, "FAST_STREAM", None)
    monkeypatch.setattr(overlap, "can_overlap", lambda *args, **kwargs: False)
    s3.make_bucket(BUCKET)
    uri = s3.put(BUCKET, "large.csv", LARGE)
    proxy.add(Fault(Delay(0)))  # the main stream's GET: answered as it is
    proxy.add(Fault(Stall(after=100_000, seconds=STALL), times=None))
    before = set(threading.enumerate())

    progress, took = interrupted_load(proxy, uri, streams=1, max_concurrency=2, part_size=2 << 20)

    assert took < STOPPED_WITHIN
    assert [(r.fault, r.range is None) for r in gets(proxy)] == [("Delay", True), ("Stall", False)]
    received = sum(n for (n,) in progress.of("advance"))
    assert len(LARGE) - (2 << 20) <= received < len(LARGE)  # all but the stalled part
    assert_clean(proxy, before, progress)


def test_ctrl_c_in_a_cell_keeps_the_previous_value(ip: InteractiveShell, proxy: FaultProxy, s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)
    uri = s3.put(BUCKET, "small.csv", SMALL)
    proxy.add(Fault(Stall(after=1_200_000, seconds=STALL), times=None))
    previous = object()
    ip.user_ns["df"] = previous
    before = set(threading.enumerate())

    with ctrl_c_when(stalled_gets(proxy, 1)) as pressed:
        result = ip.run_cell(f"%%s3ingest df --endpoint-url {proxy.endpoint_url} --max-attempts 2\n{uri}\n")
    took = time.monotonic() - pressed["sent"]

    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    assert took < STOPPED_WITHIN
    assert ip.user_ns["df"] is previous
    assert ours(before) == []
    assert established_to(port_of(proxy)) == []


# --- every socket is shut down by the thread the interrupt lands in ----------------------------------

#: The bound on the proxy seeing every connection of an interrupted load closed.
CLOSED_WITHIN = 1.0


def closed_after(proxy: FaultProxy, sent: float, *, bound: float = CLOSED_WITHIN) -> float:
    """Seconds from ``sent`` until the proxy sees no connection of the load open (or a little past ``bound``)."""
    while proxy.open_connections() and time.monotonic() - sent < bound + 2:
        time.sleep(0.01)
    return time.monotonic() - sent


@contextmanager
def busy_machine() -> Iterator[None]:
    """Every core busy with a process that burns CPU (two per core), as when other work shares the machine."""
    import os
    import subprocess
    import sys

    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2 * (os.cpu_count() or 1))]
    try:
        time.sleep(0.2)  # running before the load starts
        yield
    finally:
        for burner in burners:
            burner.kill()
        for burner in burners:
            burner.wait()


def test_ctrl_c_shuts_a_part_waiting_for_its_answer(
    proxy: FaultProxy, s3: S3Helper, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The parts' answers are slow to come (as moto's are on a busy machine): their workers wait in botocore for
    # the headers, with no body yet to shut. The socket must be shut down all the same, at once, by the thread
    # the interrupt lands in, whatever the workers are doing.
    monkeypatch.setattr(ranged, "FAST_STREAM", None)
    s3.make_bucket(BUCKET)
    uri = s3.put(BUCKET, "large.csv", LARGE)
    proxy.add(Fault(Stall(after=100_000, seconds=STALL)))  # the main stream
    proxy.add(Fault(Delay(STALL), times=None))  # every part: no answer
    before = set(threading.enumerate())

    with ctrl_c_when(lambda: len(gets(proxy)) >= 3) as pressed, pytest.raises(KeyboardInterrupt):
        dreambolt_magic.load(uri, endpoint_url=proxy.endpoint_url, progress=False, max_attempts=2,
                             read_timeout=STALL * 2, max_concurrency=3, part_size=2 << 20)

    assert closed_after(proxy, pressed["sent"]) < CLOSED_WITHIN
    assert [r.fault for r in gets(proxy)] == ["Stall", "Delay", "Delay"]
    assert ours(before) == []
    assert established_to(port_of(proxy)) == []


def test_ctrl_c_on_a_busy_machine_closes_every_connection_within_a_second(
    proxy: FaultProxy, s3: S3Helper, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The CPU contended, the parts' answers late (1.5 s, as moto's can be on a busy machine) and their bodies
    # slow, the main stream's stalled: Ctrl-C lands while the workers wait for their answers, or read them, or
    # have not been scheduled since. Whatever they do, the proxy sees every connection closed at once.
    monkeypatch.setattr(ranged, "FAST_STREAM", None)
    s3.make_bucket(BUCKET)
    uri = s3.put(BUCKET, "large.csv", LARGE)
    took = []
    with busy_machine():
        for delay in (0.0, 0.3, 0.8, 2.0):
            proxy.clear()
            proxy.add(Fault(Stall(after=100_000, seconds=STALL)))
            proxy.add(Fault(Throttle(rate=20_000, wait=1.5), times=None))
            with ctrl_c_when(lambda: len(gets(proxy)) >= 4, delay=delay) as pressed, pytest.raises(KeyboardInterrupt):
                dreambolt_magic.load(uri, endpoint_url=proxy.endpoint_url, progress=False, max_attempts=2,
                                     read_timeout=STALL * 2, max_concurrency=4, part_size=2 << 20)
            took.append(round(closed_after(proxy, pressed["sent"]), 3))

    assert max(took) < CLOSED_WITHIN, took
