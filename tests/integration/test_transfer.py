"""The transfer engine against moto over HTTP: parallel ranged parts, their faults, and Parquet pruning.

moto's server is fast on loopback, so the engine would keep to one stream; ``parallel`` turns the probe off
so that every object above one part is fetched by the main stream and workers together. A
:class:`FaultProxy` records each request (its Range and If-Match) and injects faults into chosen ones.
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pytest
from faults.proxy import Corrupt, Cut, Delay, Fault, FaultProxy, FromStart, Hook, Reply, Throttle
from helpers import make_frame, to_bytes

import dreambolt_magic
from dreambolt_magic.errors import S3AuthError, S3GenericError
from dreambolt_magic.formats import parquet, readers
from dreambolt_magic.objects.parquetplan import tail_start
from dreambolt_magic.transfer import ranged as ranged_reads
from dreambolt_magic.transfer.progress import Cancelled

if TYPE_CHECKING:
    from conftest import S3Helper

BUCKET = "transfer"
KEY = "data.csv"
PART = 256 * 1024
MiB = 1 << 20
EXPLICIT = re.compile(r"bytes=(\d+)-(\d+)")
SUFFIX = re.compile(r"bytes=-(\d+)")


@pytest.fixture
def parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ranged_reads, "FAST_STREAM", None)


@pytest.fixture
def frame() -> pd.DataFrame:
    return make_frame(60_000, seed=3)  # about 1.3 MB of CSV: 6 parts of 256 KiB


@pytest.fixture
def body(frame: pd.DataFrame) -> bytes:
    return to_bytes(frame, "csv")


@pytest.fixture
def uri(s3: S3Helper, body: bytes) -> str:
    s3.make_bucket(BUCKET)
    return s3.put(BUCKET, KEY, body)


def fetch(proxy: FaultProxy, uri: str, **kw: Any) -> pd.DataFrame:
    kw.setdefault("max_attempts", 3)
    kw.setdefault("progress", False)
    kw.setdefault("part_size", PART)
    kw.setdefault("max_concurrency", 4)
    return dreambolt_magic.load(uri, endpoint_url=proxy.endpoint_url, **kw)


def ranged(proxy: FaultProxy, size: int | None = None) -> list[tuple[int, int]]:
    """The GETs' ranges as ``(start, end)``. Only the first may be a suffix (``bytes=-N``: a pruned Parquet
    read's first, the end of an object of ``size`` bytes); every other is explicit."""
    spans = []
    for r in proxy.requests:
        if r.method == "GET" and r.range is not None:
            suffix = SUFFIX.fullmatch(r.range)
            if suffix and not spans and size is not None:
                spans.append((max(0, size - int(suffix.group(1))), size))
                continue
            match = EXPLICIT.fullmatch(r.range)
            assert match, f"not an explicit range: {r.range}"
            spans.append((int(match.group(1)), int(match.group(2)) + 1))
    return spans


def etag_of(s3: S3Helper) -> str:
    return str(s3.client.head_object(Bucket=BUCKET, Key=KEY)["ETag"])


def no_workers_left() -> bool:
    return not [t for t in threading.enumerate() if t.name.startswith("dreambolt-part")]


# --- whole objects in parts ----------------------------------------------------------------------------


def test_parts_fill_one_buffer_with_explicit_ranges(
    parallel: None, proxy: FaultProxy, s3: S3Helper, uri: str, frame: pd.DataFrame, body: bytes
) -> None:
    df = fetch(proxy, uri)

    pd.testing.assert_frame_equal(df, frame)
    gets = [r for r in proxy.requests if r.method == "GET"]
    assert gets[0].range is None  # the main stream: one plain GET, which tells the size
    assert all(r.if_match == etag_of(s3) for r in gets[1:])
    assert len(gets) > 2
    assert df.attrs["s3"]["bytes_fetched"] == len(body)  # each byte once: the main stream stops at a taken part
    assert no_workers_left()


def test_small_object_costs_one_request(parallel: None, proxy: FaultProxy, s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)
    small = to_bytes(make_frame(500), "csv")
    df = fetch(proxy, s3.put(BUCKET, KEY, small), part_size=None)

    assert len(df) == 500
    assert [(r.method, r.range) for r in proxy.requests if r.method == "GET"] == [("GET", None)]


def test_fast_stream_is_left_alone(proxy: FaultProxy, uri: str, frame: pd.DataFrame) -> None:
    # Without the `parallel` fixture: moto on loopback is faster than FAST_STREAM, so no worker starts.
    df = fetch(proxy, uri)

    pd.testing.assert_frame_equal(df, frame)
    assert [r.range for r in proxy.requests if r.method == "GET"] == [None]


def test_max_concurrency_one_is_one_stream(parallel: None, proxy: FaultProxy, uri: str, frame: pd.DataFrame) -> None:
    df = dreambolt_magic.load(uri, endpoint_url=proxy.endpoint_url, progress=False, max_concurrency=1)

    pd.testing.assert_frame_equal(df, frame)
    assert [r.range for r in proxy.requests if r.method == "GET"] == [None]


@pytest.mark.parametrize("wait", [0.0, 0.5])
def test_costly_requests_make_fewer_longer_parts(proxy: FaultProxy, s3: S3Helper, wait: float) -> None:
    # Every answer at 8 MB/s, about what one connection to S3 gets; with `wait`, each also starts 0.5 s late,
    # as moto's ranged answers do. 20 MiB is planned in parts of 4 MiB. Without the wait the first answer
    # still takes 30-50 ms here (the proxy reads moto's whole answer first): a tenth of a part's transfer.
    body = b"x\n" + (b"y" * 1023 + b"\n") * ((20 << 10) - 1) + b"y" * 1021 + b"\n"  # 20 MiB
    s3.make_bucket(BUCKET)
    uri = s3.put(BUCKET, "lines.csv", body)
    # Once straight from moto first: a fresh machine's first answer of 20 MiB took over 0.13 s (a quarter of
    # a part's transfer, where parts get longer), which is the server warming up, not what this test is about.
    s3.client.get_object(Bucket=BUCKET, Key="lines.csv")["Body"].read()
    proxy.add(Fault(Throttle(rate=8e6, piece=64 << 10, wait=wait), times=None))

    df = dreambolt_magic.load(uri, endpoint_url=proxy.endpoint_url, progress=False)

    assert df.shape == (20 << 10, 1) and df["x"].str.len().sum() == len(body) - len(b"x\n") - (20 << 10)  # no newlines
    gets = [r for r in proxy.requests if r.method == "GET"]
    assert gets[0].range is None
    spans = [int(b) - int(a) + 1 for a, b in (EXPLICIT.fullmatch(r.range or "").groups() for r in gets[1:])]
    if wait:
        # The first answer's wait is most of a part's time: the rest goes in fewer parts, longer than planned.
        assert len(spans) < 4 and all(span > 4 * MiB for span in spans)
    else:
        assert spans == [4 * MiB] * 4


# --- faults in a part ----------------------------------------------------------------------------------


def test_cut_part_is_resumed_with_range_and_if_match(
    parallel: None, proxy: FaultProxy, s3: S3Helper, uri: str, frame: pd.DataFrame, body: bytes
) -> None:
    proxy.add(Fault(Delay(0)))  # the main stream's GET passes
    proxy.add(Fault(Cut(after=1000)))  # the first part's GET breaks after 1000 bytes

    df = fetch(proxy, uri)

    pd.testing.assert_frame_equal(df, frame)
    cut = next(r for r in proxy.requests if r.fault == "Cut")
    start, end = (int(x) for x in EXPLICIT.fullmatch(cut.range or "").groups())  # type: ignore[union-attr]
    resumed = [r for r in proxy.requests if r.range == f"bytes={start + 1000}-{end}"]
    assert len(resumed) == 1 and resumed[0].status == 206 and resumed[0].if_match == etag_of(s3)
    assert df.attrs["s3"]["bytes_fetched"] == len(body)
    assert df.attrs["s3"]["attempts"] == 2


def test_damaged_part_is_caught_by_the_stored_checksum(
    parallel: None, proxy: FaultProxy, uri: str, frame: pd.DataFrame, body: bytes
) -> None:
    proxy.add(Fault(Delay(0)))  # the main stream's GET passes
    proxy.add(Fault(Corrupt(offset=10)))  # the first part arrives with one byte flipped

    df = fetch(proxy, uri)

    pd.testing.assert_frame_equal(df, frame)
    assert [r.range for r in proxy.requests if r.method == "GET"].count(None) == 2  # read again from the start
    assert df.attrs["s3"]["checksum"] == "verified"


def test_throttled_part_is_retried(parallel: None, proxy: FaultProxy, uri: str, frame: pd.DataFrame) -> None:
    proxy.add(Fault(Delay(0)))
    proxy.add(Fault(Reply(503, "SlowDown")))

    df = fetch(proxy, uri)

    pd.testing.assert_frame_equal(df, frame)
    assert [r.status for r in proxy.requests].count(503) == 1


def test_refused_part_fails_the_load_and_stops_every_worker(parallel: None, proxy: FaultProxy, uri: str) -> None:
    proxy.add(Fault(Delay(0)))
    proxy.add(Fault(Reply(403, "AccessDenied"), times=None))

    with pytest.raises(S3AuthError) as caught:
        fetch(proxy, uri)

    assert (caught.value.code, caught.value.status, caught.value.attempts) == ("AccessDenied", 403, 1)
    assert no_workers_left()


def test_object_replaced_while_parts_are_read_is_read_again(
    parallel: None, proxy: FaultProxy, s3: S3Helper, uri: str, body: bytes
) -> None:
    new = make_frame(61_000, seed=4)
    new_body = to_bytes(new, "csv")
    old_etag = etag_of(s3)
    proxy.add(Fault(Delay(0)))
    proxy.add(Fault(Hook(lambda: s3.client.put_object(Bucket=BUCKET, Key=KEY, Body=new_body))))

    df = fetch(proxy, uri, max_concurrency=2)

    pd.testing.assert_frame_equal(df, new)
    changed = [r for r in proxy.requests if r.status == 412]
    assert len(changed) >= 1 and all(r.if_match == old_etag for r in changed)
    assert df.attrs["s3"]["etag"] == etag_of(s3)
    assert no_workers_left()


def test_object_replaced_twice_is_object_changed(parallel: None, proxy: FaultProxy, s3: S3Helper, uri: str) -> None:
    bodies = [to_bytes(make_frame(61_000 + i, seed=i), "csv") for i in range(2)]
    for replacement in bodies:
        proxy.add(Fault(Delay(0)))
        proxy.add(Fault(Hook(lambda b=replacement: s3.client.put_object(Bucket=BUCKET, Key=KEY, Body=b))))

    with pytest.raises(S3GenericError) as caught:
        fetch(proxy, uri, max_concurrency=2)  # one worker, so the faults meet the requests in a known order

    assert (caught.value.code, caught.value.status) == ("ObjectChanged", 412)
    assert no_workers_left()


def test_cancel_stops_every_thread(parallel: None, proxy: FaultProxy, uri: str) -> None:
    cancel = threading.Event()

    class CancelAfterFirstBytes:
        def start(self, total: int | None, description: str = "") -> None: ...
        def advance(self, n: int) -> None:
            cancel.set()
        def rewind(self, n: int) -> None: ...
        def retrying(self, attempt: int, max_attempts: int, reason: str, wait: float) -> None: ...
        def finish(self, ok: bool) -> None: ...

    with pytest.raises(Cancelled):
        fetch(proxy, uri, cancel=cancel, progress=CancelAfterFirstBytes())

    assert no_workers_left()


def test_progress_is_batched_and_complete(parallel: None, proxy: FaultProxy, uri: str, body: bytes) -> None:
    advances: list[int] = []

    class Count:
        def start(self, total: int | None, description: str = "") -> None: ...
        def advance(self, n: int) -> None:
            advances.append(n)
        def rewind(self, n: int) -> None: ...
        def retrying(self, attempt: int, max_attempts: int, reason: str, wait: float) -> None: ...
        def finish(self, ok: bool) -> None: ...

    fetch(proxy, uri, progress=Count())

    assert sum(advances) == len(body)
    assert len(advances) <= 3  # ~0.1 s of loading: a first update, maybe one more, and the final flush


# --- Parquet: only the column chunks and row groups asked for -------------------------------------------


@pytest.fixture
def wide() -> pd.DataFrame:
    """8 columns: six wide float64 ones and two narrow ones, in 4 row groups."""
    rng = np.random.default_rng(7)
    n = 80_000
    data: dict[str, Any] = {f"f{i}": rng.normal(size=n) for i in range(6)}
    data["small"] = rng.integers(0, 100, n).astype("int8")
    data["flag"] = rng.random(n) < 0.5
    return pd.DataFrame(data)


@pytest.fixture
def wide_uri(s3: S3Helper, wide: pd.DataFrame, tmp_path: Any) -> str:
    path = tmp_path / "wide.parquet"
    wide.to_parquet(path, index=False, row_group_size=20_000)
    s3.make_bucket(BUCKET)
    return s3.put(BUCKET, "wide.parquet", path.read_bytes())


def size_of(s3: S3Helper, key: str) -> int:
    return int(s3.client.head_object(Bucket=BUCKET, Key=key)["ContentLength"])


def test_parquet_columns_fetch_only_their_chunks(
    proxy: FaultProxy, s3: S3Helper, wide_uri: str, wide: pd.DataFrame
) -> None:
    df = fetch(proxy, wide_uri, columns=["small", "flag"])

    pd.testing.assert_frame_equal(df, wide[["small", "flag"]])
    assert df.attrs["s3"]["bytes_fetched"] < 0.2 * size_of(s3, "wide.parquet")
    size = size_of(s3, "wide.parquet")
    spans = ranged(proxy, size)  # the first asks for the end; every other range explicit (ranged() asserts it)
    assert spans[0] == (size - 65536, size) and len(spans) > 1
    assert df.attrs["s3"]["size"] == size
    assert df.attrs["s3"]["checksum"] == "not checked: ranged read"


def test_parquet_nrows_fetch_only_the_first_row_group(
    proxy: FaultProxy, s3: S3Helper, wide_uri: str, wide: pd.DataFrame
) -> None:
    df = fetch(proxy, wide_uri, nrows=1000)

    pd.testing.assert_frame_equal(df, wide.head(1000))
    assert df.attrs["s3"]["bytes_fetched"] < 0.3 * size_of(s3, "wide.parquet")


def test_parquet_columns_and_nrows_together(
    proxy: FaultProxy, s3: S3Helper, wide_uri: str, wide: pd.DataFrame
) -> None:
    df = fetch(proxy, wide_uri, columns=["f3", "small"], nrows=25_000)

    pd.testing.assert_frame_equal(df, wide[["f3", "small"]].head(25_000))
    assert df.attrs["s3"]["bytes_fetched"] < 0.15 * size_of(s3, "wide.parquet")


def test_parquet_pruned_keeps_a_named_index(proxy: FaultProxy, s3: S3Helper, tmp_path: Any) -> None:
    frame = make_frame(30_000, seed=9).set_index("city")
    path = tmp_path / "indexed.parquet"
    frame.to_parquet(path, row_group_size=10_000)
    s3.make_bucket(BUCKET)

    df = fetch(proxy, s3.put(BUCKET, "indexed.parquet", path.read_bytes()), columns=["value"], nrows=12_000)

    pd.testing.assert_frame_equal(df, frame[["value"]].head(12_000))


def test_parquet_pruned_missing_column_is_reported(proxy: FaultProxy, wide_uri: str) -> None:
    with pytest.raises(dreambolt_magic.S3FormatError) as caught:
        fetch(proxy, wide_uri, columns=["small", "nope"])
    assert caught.value.code == "MissingColumns"


def test_what_the_first_get_brought_is_not_fetched_again(proxy: FaultProxy, s3: S3Helper) -> None:
    # 100 narrow columns: a 74 KB file whose footer (an entry per column) starts 29 KB in, inside the first
    # GET's last 64 KiB. The first column's chunk, before those, is one more GET; nothing is asked twice.
    frame = pd.DataFrame({f"c{i:03d}": np.arange(40, dtype="int64") + i for i in range(100)})
    body = to_bytes(frame, "parquet")
    assert readers.HEAD_BYTES < len(body) and parquet.parquet_footer_start(memoryview(body)) < readers.HEAD_BYTES
    s3.make_bucket(BUCKET)

    df = fetch(proxy, s3.put(BUCKET, "narrow.parquet", body), columns=["c000"])

    pd.testing.assert_frame_equal(df, frame[["c000"]])
    spans = ranged(proxy, len(body))
    assert spans[0] == (len(body) - readers.HEAD_BYTES, len(body)) and len(spans) == 2
    assert spans[1][1] <= spans[0][0]  # before the end already there
    assert df.attrs["s3"]["bytes_fetched"] == sum(b - a for a, b in spans) < len(body)


def test_a_suffix_answered_from_byte_0_is_placed_where_it_says(
    proxy: FaultProxy, s3: S3Helper, wide_uri: str, wide: pd.DataFrame
) -> None:
    # s3rver 3.7 answers bytes=-N with the first N+1 bytes, and a Content-Range that says so: those are the
    # head, and the end is asked for next, as it was before the first GET asked for the end.
    proxy.add(Fault(FromStart(), path="/wide.parquet"))
    df = fetch(proxy, wide_uri, columns=["small", "flag"])

    pd.testing.assert_frame_equal(df, wide[["small", "flag"]])
    size = size_of(s3, "wide.parquet")
    gets = [r.range for r in proxy.requests if r.method == "GET"]
    assert gets[0] == "bytes=-65536" and gets[1] == f"bytes={tail_start(size)}-{size - 1}"
    assert df.attrs["s3"]["bytes_fetched"] < 0.2 * size


def test_an_object_shorter_than_the_suffix_is_read_whole(proxy: FaultProxy, s3: S3Helper) -> None:
    frame = make_frame(50)
    body = to_bytes(frame, "parquet")
    assert len(body) < 65536
    s3.make_bucket(BUCKET)

    df = fetch(proxy, s3.put(BUCKET, "short.parquet", body), columns=["id"])

    pd.testing.assert_frame_equal(df, frame[["id"]])
    assert [r.range for r in proxy.requests if r.method == "GET"] == ["bytes=-65536"]
    assert df.attrs["s3"]["bytes_fetched"] == len(body)


def test_parquet_named_but_not_parquet_is_a_format_error(proxy: FaultProxy, s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)
    text = to_bytes(make_frame(20_000), "csv")

    with pytest.raises(dreambolt_magic.S3FormatError) as caught:
        fetch(proxy, s3.put(BUCKET, "fake.parquet", text), columns=["id"])
    assert caught.value.code == "FormatMismatch"


def test_empty_parquet_object_is_reported_as_empty(proxy: FaultProxy, s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)

    with pytest.raises(dreambolt_magic.S3FormatError) as caught:
        fetch(proxy, s3.put(BUCKET, "empty.parquet", b""), columns=["id"])
    assert caught.value.code == "EmptyObject"


def test_parquet_pruned_object_replaced_midway_is_read_again(
    proxy: FaultProxy, s3: S3Helper, wide_uri: str, wide: pd.DataFrame, tmp_path: Any
) -> None:
    newer = wide.assign(small=(wide["small"] + 1).astype("int8"))
    path = tmp_path / "newer.parquet"
    newer.to_parquet(path, index=False, row_group_size=20_000)
    proxy.add(Fault(Delay(0)))  # the head
    proxy.add(Fault(Hook(lambda: s3.client.put_object(Bucket=BUCKET, Key="wide.parquet", Body=path.read_bytes()))))

    df = fetch(proxy, wide_uri, columns=["small", "flag"])

    pd.testing.assert_frame_equal(df, newer[["small", "flag"]])
    assert 412 in [r.status for r in proxy.requests]


def test_reader_hook_reads_only_the_given_row_groups(wide: pd.DataFrame, tmp_path: Any) -> None:
    path = tmp_path / "w.parquet"
    wide.to_parquet(path, index=False, row_group_size=20_000)
    data = bytearray(path.read_bytes())
    ranges, groups = parquet.parquet_ranges(memoryview(data), columns=["small"], nrows=100)
    assert groups == [0]
    sparse = bytearray(len(data))
    for a, b in ranges + [(parquet.parquet_footer_start(memoryview(data)), len(data))]:
        sparse[a:b] = data[a:b]

    df = readers.read(sparse, key="w.parquet", columns=["small"], nrows=100, row_groups=groups, pruned=True)

    pd.testing.assert_frame_equal(df, wide[["small"]].head(100))
