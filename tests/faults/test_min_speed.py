"""The speed floor (``min_speed``): a body that trickles is broken off and resumed, and a body above the floor
is left alone, through a :class:`~faults.proxy.FaultProxy` in front of moto.

The floor's window is 30 s; here it is 1 s (``pace.WINDOW``) and the floor 20 kB/s, so that each test takes
a few seconds. The trickle sends 100 bytes every 50 ms: 2 kB/s, always some bytes before any read timeout.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest
from helpers import make_frame, to_bytes

import dreambolt_magic
from dreambolt_magic.errors import S3NetworkError
from dreambolt_magic.transfer import pace, ranged
from dreambolt_magic.units import human_bytes

from .proxy import Delay, Fault, FaultProxy, Seen, Throttle, Trickle

if TYPE_CHECKING:
    from conftest import S3Helper

BUCKET = "speed"
KEY = "data.csv"
FLOOR = 20_000
TRICKLE = Trickle(size=100, every=0.05)  # 2 kB/s
FAST = 20_000  # the bytes a trickle sends at full speed first, where a test shows the resume


@pytest.fixture(autouse=True)
def _short_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pace, "WINDOW", 1.0)


@pytest.fixture
def frame() -> pd.DataFrame:
    return make_frame(3000, seed=11)  # about 67 kB of CSV


@pytest.fixture
def body(frame: pd.DataFrame) -> bytes:
    return to_bytes(frame, "csv")


@pytest.fixture
def uri(s3: S3Helper, body: bytes) -> str:
    s3.make_bucket(BUCKET)
    return s3.put(BUCKET, KEY, body)


def fetch(proxy: FaultProxy, uri: str, **kw: Any) -> pd.DataFrame:
    kw.setdefault("max_attempts", 2)
    kw.setdefault("min_speed", FLOOR)
    return dreambolt_magic.load(uri, endpoint_url=proxy.endpoint_url, progress=False, **kw)


def gets(proxy: FaultProxy) -> list[Seen]:
    return [r for r in proxy.requests if r.method == "GET"]


def start_of(seen: Seen) -> int:
    assert seen.range is not None
    return int(seen.range.removeprefix("bytes=").split("-")[0])


def etag_of(s3: S3Helper) -> str:
    return str(s3.client.head_object(Bucket=BUCKET, Key=KEY)["ETag"])


def test_a_trickle_once_is_broken_off_and_resumed_where_it_broke(
    proxy: FaultProxy, s3: S3Helper, uri: str, frame: pd.DataFrame, body: bytes
) -> None:
    proxy.add(Fault(Trickle(size=100, every=0.05, after=FAST)))

    df = fetch(proxy, uri)

    pd.testing.assert_frame_equal(df, frame)
    first, second = gets(proxy)
    assert (first.fault, first.range) == ("Trickle", None)
    assert (second.status, second.if_match) == (206, etag_of(s3))
    # From the next missing byte, not from 0: past the first read, at least. A read broken off midway loses
    # what it had read (pace.CHUNK), so where it resumes depends on how far the trickle got by then.
    assert pace.FIRST_SLICE <= start_of(second) < len(body)
    assert second.range == f"bytes={start_of(second)}-{len(body) - 1}"
    assert df.attrs["s3"]["bytes_fetched"] == len(body)
    assert df.attrs["s3"]["attempts"] == 2


def test_a_trickle_every_time_is_a_network_error_that_names_the_rate(proxy: FaultProxy, uri: str) -> None:
    proxy.add(Fault(TRICKLE, times=None))

    with pytest.raises(S3NetworkError) as info:
        fetch(proxy, uri)

    error = info.value
    assert (error.code, error.attempts) == ("TooSlow", 2)
    assert [r.fault for r in gets(proxy)] == ["Trickle", "Trickle"]
    rate = error.hints["rate"]
    assert 500 < rate < 5_000  # about the trickle's 2 kB/s
    assert "too slowly" in str(error) and f"{human_bytes(rate)}/s" in str(error)
    assert f"{human_bytes(rate)}/s" in error.explanation and "20.0 KB/s" in error.explanation
    assert "--min-speed" in error.remedy and "S3IngestMagics.min_speed" in error.remedy


def test_a_slow_body_above_the_floor_is_not_broken_off(
    proxy: FaultProxy, uri: str, frame: pd.DataFrame
) -> None:
    # 30 kB/s, over two windows: each 16 KiB read takes half a second, so when a window ends a read is often
    # under way; its bytes are not seen yet, and must not make the body look slower than it is.
    proxy.add(Fault(Throttle(rate=30_000), times=None))

    df = fetch(proxy, uri)

    pd.testing.assert_frame_equal(df, frame)
    assert [(r.fault, r.range) for r in gets(proxy)] == [("Throttle", None)]
    assert df.attrs["s3"]["attempts"] == 1


def test_no_floor_waits_for_a_trickle(proxy: FaultProxy, s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)
    small = to_bytes(make_frame(100, seed=3), "csv")  # 2 kB: a second at the trickle's rate
    proxy.add(Fault(TRICKLE))

    df = fetch(proxy, s3.put(BUCKET, KEY, small), min_speed=0)

    assert len(df) == 100
    assert [r.fault for r in gets(proxy)] == ["Trickle"]


# --- parts read in parallel ------------------------------------------------------------------------------

PART = 256 << 10


@pytest.fixture
def parted(s3: S3Helper, monkeypatch: pytest.MonkeyPatch) -> tuple[str, pd.DataFrame, bytes]:
    """An object of a few parts, whose workers start at once (no probe of the main stream's speed)."""
    monkeypatch.setattr(ranged, "FAST_STREAM", None)
    frame = make_frame(40_000, seed=7)
    data = to_bytes(frame, "csv")
    assert 3 * PART < len(data) < 5 * PART
    s3.make_bucket(BUCKET)
    return s3.put(BUCKET, KEY, data), frame, data


def test_a_trickling_part_is_broken_off_and_resumed(
    proxy: FaultProxy, s3: S3Helper, parted: tuple[str, pd.DataFrame, bytes]
) -> None:
    uri, frame, data = parted
    proxy.add(Fault(Delay(0)))  # the main stream: as it is
    proxy.add(Fault(Trickle(size=100, every=0.05, after=FAST)))  # the first part a worker asks for

    df = fetch(proxy, uri, max_concurrency=3, part_size=PART)

    pd.testing.assert_frame_equal(df, frame)
    requests = gets(proxy)
    trickled = next(r for r in requests if r.fault == "Trickle")
    end = trickled.range.rsplit("-", 1)[1] if trickled.range else None
    resumed = [r for r in requests if r.range and r.range.endswith(f"-{end}") and r is not trickled]
    assert len(resumed) == 1 and resumed[0].if_match == etag_of(s3) and resumed[0].status == 206
    assert start_of(trickled) + FAST < start_of(resumed[0])  # from its next missing byte
    assert df.attrs["s3"]["bytes_fetched"] == len(data)


def test_parts_that_trickle_every_time_are_a_network_error(
    proxy: FaultProxy, parted: tuple[str, pd.DataFrame, bytes]
) -> None:
    uri, _, _ = parted
    proxy.add(Fault(Delay(0)))
    proxy.add(Fault(TRICKLE, times=None))

    with pytest.raises(S3NetworkError) as info:
        fetch(proxy, uri, max_concurrency=3, part_size=PART)

    assert (info.value.code, info.value.attempts) == ("TooSlow", 2)
    assert 500 < info.value.hints["rate"] < 5_000
    assert any(r.fault == "Trickle" and r.range for r in gets(proxy))


def test_a_body_that_slows_to_a_trickle_in_a_long_read_is_broken_off_soon(
    proxy: FaultProxy, s3: S3Helper
) -> None:
    # Fast for its first MiB, so that its reads have grown to a megabyte, then 2 kB/s: the read under way holds
    # far more than the floor brings in a window. It is broken off within a few windows, not once the megabyte
    # would have trickled in (some 50 s here, 17 minutes at the default floor).
    big = make_frame(120_000, seed=12)
    data = to_bytes(big, "csv")
    s3.make_bucket(BUCKET)
    uri = s3.put(BUCKET, KEY, data)
    proxy.add(Fault(Trickle(size=100, every=0.05, after=1 << 20)))
    done: list[Any] = []
    loading = threading.Thread(target=lambda: done.append(fetch(proxy, uri)), daemon=True)
    loading.start()
    loading.join(20)
    assert not loading.is_alive(), "the trickle was not broken off within 20 s"
    pd.testing.assert_frame_equal(done[0], big)
    first, second = gets(proxy)[:2]
    assert first.fault == "Trickle" and second.status == 206
