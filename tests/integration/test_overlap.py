"""A whole CSV or TSV parsed while it downloads, or by path once it is whole (``dreambolt_magic.objects.overlap``),
against moto over HTTP.

The overlapped parse is a head start: these tests check that the frame it gives is the frame a plain read
gives, that it is used when the download goes well, and that every failure (a broken body, a replaced
object, bytes that are not CSV, a refused part) ends exactly as it does without it. The same holds for the
parse by path of an object downloaded into an in-memory file. ``MIN_SIZE`` is set to 0 so that small objects
take these paths, and each test chooses one of the two.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest
from faults.proxy import Corrupt, Cut, Delay, Fault, FaultProxy, Hook, Reply, Throttle
from helpers import compress, make_frame, to_bytes

import dreambolt_magic
from dreambolt_magic.errors import S3AuthError, S3FormatError
from dreambolt_magic.objects import overlap
from dreambolt_magic.transfer import buffers, ranged
from dreambolt_magic.transfer import engine as transfer

if TYPE_CHECKING:
    from conftest import S3Helper

BUCKET = "overlap"


@pytest.fixture
def plain_reads(monkeypatch: pytest.MonkeyPatch, parsed: list[bytes]) -> list[bytes]:
    """Overlap on for every size; returns the buffers parsed after the download instead (the fallback)."""
    monkeypatch.setattr(overlap, "MIN_SIZE", 0)
    monkeypatch.setattr(overlap, "parallel_path_reads", lambda: False)
    return parsed


@pytest.fixture
def path_reads(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """Parses by path for every size; returns the ``path`` each ``readers.read`` call was given."""
    from dreambolt_magic.formats import readers

    monkeypatch.setattr(overlap, "MIN_SIZE", 0)
    monkeypatch.setattr(overlap, "parallel_path_reads", lambda: True)
    seen: list[str | None] = []
    real = readers.read

    def spy(data: Any, **kw: Any) -> Any:
        seen.append(kw.get("path"))
        if kw.get("path"):
            with open(kw["path"], "rb") as file:
                assert file.read() == bytes(data)  # the file holds exactly the bytes downloaded
        return real(data, **kw)

    monkeypatch.setattr(readers, "read", spy)
    return seen


def memory_files() -> int:
    """The in-memory files (memfds) the loader has open, once the buffers it let go of are unmapped."""
    for thread in threading.enumerate():
        if thread.name == "dreambolt-release":  # buffers.release
            thread.join()
    found = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            found += "dreambolt-object" in os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed since the listing
            pass
    return found


def fetch(proxy: FaultProxy, uri: str, **kw: Any) -> pd.DataFrame:
    kw.setdefault("max_attempts", 3)
    kw.setdefault("progress", False)
    return dreambolt_magic.load(uri, endpoint_url=proxy.endpoint_url, **kw)


def no_parse_left() -> bool:
    return not any(t.name == "dreambolt-parse" and t.is_alive() for t in threading.enumerate())


def cut_midway(s3: S3Helper, proxy: FaultProxy, seed: int) -> tuple[str, pd.DataFrame]:
    """A CSV object whose body the proxy cuts once, 300 KB in."""
    frame = make_frame(60_000, seed=seed)
    s3.make_bucket(BUCKET)
    uri = s3.put(BUCKET, "cut.csv", to_bytes(frame, "csv"))
    proxy.add(Fault(Cut(after=300_000)))
    return uri, frame


def replaced_midway(
    s3: S3Helper, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch, seed: int
) -> tuple[str, pd.DataFrame]:
    """A CSV object replaced by another once its first answer is on the way; returns the new one's frame."""
    monkeypatch.setattr(ranged, "FAST_STREAM", None)  # parts, so a part meets the new ETag
    old, new = make_frame(60_000, seed=seed), make_frame(61_000, seed=seed + 1)
    s3.make_bucket(BUCKET)
    uri = s3.put(BUCKET, "moving.csv", to_bytes(old, "csv"))
    proxy.add(Fault(Delay(0)))
    proxy.add(Fault(Hook(lambda: s3.client.put_object(Bucket=BUCKET, Key="moving.csv", Body=to_bytes(new, "csv")))))
    return uri, new


#: Bodies a plain read reports with these codes: a gzip behind a .csv name, and an unclosed quote.
BAD_BODIES = pytest.mark.parametrize(
    ("body", "code"),
    [
        (compress(b"a,b\n" + b"1,2\n" * 200_000, "gzip"), "FormatMismatch"),
        (b"a,b\n" + b"1,2\n" * 200_000 + b'3,"4\n', "ParseError"),
    ],
    ids=["gzip-named-csv", "unclosed-quote"],
)


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_the_frame_is_parsed_while_it_downloads(
    plain_reads: list[bytes], proxy: FaultProxy, s3: S3Helper, fmt: str
) -> None:
    frame = make_frame(60_000, seed=5)
    s3.make_bucket(BUCKET)
    uri = s3.put(BUCKET, f"data.{fmt}", to_bytes(frame, fmt))

    df = fetch(proxy, uri)

    pd.testing.assert_frame_equal(df, frame)
    assert plain_reads == []  # the overlapped parse's frame was used
    assert no_parse_left()


def test_read_options_apply_as_in_a_plain_read(plain_reads: list[bytes], proxy: FaultProxy, s3: S3Helper) -> None:
    frame = make_frame(20_000, seed=6)
    s3.make_bucket(BUCKET)
    uri = s3.put(BUCKET, "semi.csv", frame.to_csv(index=False, sep=";").encode())

    df = fetch(proxy, uri, sep=";", dtype={"id": "int32"})

    pd.testing.assert_frame_equal(df, frame.astype({"id": "int32"}))
    assert plain_reads != []  # sep changes how bytes split: not overlapped


def test_a_body_cut_midway_is_resumed_and_parsed_whole(
    plain_reads: list[bytes], proxy: FaultProxy, s3: S3Helper
) -> None:
    uri, frame = cut_midway(s3, proxy, seed=7)

    df = fetch(proxy, uri)

    pd.testing.assert_frame_equal(df, frame)
    assert [r.fault for r in proxy.requests].count("Cut") == 1


def test_an_object_replaced_midway_gives_the_new_object(
    plain_reads: list[bytes], proxy: FaultProxy, s3: S3Helper, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri, new = replaced_midway(s3, proxy, monkeypatch, seed=8)

    df = fetch(proxy, uri, max_concurrency=2, part_size=256 * 1024)

    pd.testing.assert_frame_equal(df, new)
    assert no_parse_left()


def test_a_parse_of_damaged_bytes_is_dropped_when_they_are_read_again(
    plain_reads: list[bytes], proxy: FaultProxy, s3: S3Helper, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The checksum is known only once the body has ended, and the parse may finish on the damaged bytes
    # before they are found out (here it is given the time to): that frame must not be the answer.
    frame = make_frame(60_000, seed=12)
    body = to_bytes(frame, "csv")
    s3.make_bucket(BUCKET)
    uri = s3.put(BUCKET, "damaged.csv", body)
    value = body.index(b",", body.index(b",", body.index(b"\n") + 1) + 1) + 1  # the first row's value
    proxy.add(Fault(Corrupt(offset=value, mask=0x01)))  # a digit turned into another: still a number
    verify = transfer.Transfer.verify

    def late_verify(self: transfer.Transfer) -> None:
        if not self.restarted:
            time.sleep(0.5)
        verify(self)

    monkeypatch.setattr(transfer.Transfer, "verify", late_verify)

    df = fetch(proxy, uri)

    pd.testing.assert_frame_equal(df, frame)
    assert plain_reads == [body]  # the bytes read again, parsed once they were there
    assert no_parse_left()


@BAD_BODIES
@pytest.mark.parametrize("by_path", [False, True], ids=["overlapped", "by-path"])
def test_bad_bytes_are_reported_as_a_plain_read_reports_them(
    proxy: FaultProxy, s3: S3Helper, monkeypatch: pytest.MonkeyPatch, body: bytes, code: str, by_path: bool
) -> None:
    monkeypatch.setattr(overlap, "MIN_SIZE", 0)
    monkeypatch.setattr(overlap, "parallel_path_reads", lambda: by_path)
    s3.make_bucket(BUCKET)
    uri = s3.put(BUCKET, "bad.csv", body)

    with pytest.raises(S3FormatError) as caught:
        fetch(proxy, uri)

    assert caught.value.code == code
    assert "/proc/" not in str(caught.value)
    assert no_parse_left()
    del caught  # its traceback holds the load's frames, and so the buffer
    gc.collect()
    assert memory_files() == 0


def test_a_refused_download_stops_the_parse(plain_reads: list[bytes], proxy: FaultProxy, s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)
    uri = s3.put(BUCKET, "refused.csv", to_bytes(make_frame(60_000, seed=10), "csv"))
    proxy.add(Fault(Reply(403, "AccessDenied"), method="GET"))

    with pytest.raises(S3AuthError):
        fetch(proxy, uri)

    assert no_parse_left()
    assert plain_reads == []


def test_parts_fetched_in_parallel_are_parsed_as_they_arrive(
    plain_reads: list[bytes], proxy: FaultProxy, s3: S3Helper, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As on S3: the workers fetch parts beside the main stream. They take them in order from the front, so
    # the parse follows the filled start of the buffer beyond the main stream's reach while the rest comes
    # in (it used to stop there and wait for the end).
    monkeypatch.setattr(ranged, "FAST_STREAM", None)
    frame = make_frame(60_000, seed=11)  # about 1.3 MB of CSV: 10 parts of 128 KiB
    s3.make_bucket(BUCKET)
    uri = s3.put(BUCKET, "parallel.csv", to_bytes(frame, "csv"))
    proxy.add(Fault(Throttle(rate=400_000), times=None))  # each part takes about 0.3 s
    parts = 128 * 1024
    reached: list[tuple[int, int]] = []
    finish = overlap.OverlappedParse.finish

    def finish_spy(self: overlap.OverlappedParse, ok: bool) -> Any:
        # How far the parse had read when the download ended, and how far the main stream had.
        reached.append((self._feed.position, self._feed.transfer.received))
        return finish(self, ok)

    monkeypatch.setattr(overlap.OverlappedParse, "finish", finish_spy)

    df = fetch(proxy, uri, part_size=parts, max_concurrency=4)

    pd.testing.assert_frame_equal(df, frame)
    assert plain_reads == []
    (position, main_stream), = reached
    assert position > main_stream  # the workers' parts were parsed as they came


# --- parsed by path, once whole --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_a_whole_object_is_parsed_by_the_path_of_its_in_memory_file(
    path_reads: list[str | None], proxy: FaultProxy, s3: S3Helper, fmt: str
) -> None:
    frame = make_frame(60_000, seed=12)
    s3.make_bucket(BUCKET)
    uri = s3.put(BUCKET, f"data.{fmt}", to_bytes(frame, fmt))
    df = fetch(proxy, uri)

    pd.testing.assert_frame_equal(df, frame)
    (path,) = path_reads
    assert path is not None and path.startswith("/proc/self/fd/")
    assert no_parse_left()  # no parse ran alongside
    assert memory_files() == 0  # the in-memory file went with the load


def test_without_an_in_memory_file_the_bytes_are_parsed(
    path_reads: list[str | None], proxy: FaultProxy, s3: S3Helper, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(size: int) -> Any:
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(buffers, "in_memory_file", refused)
    frame = make_frame(60_000, seed=17)
    s3.make_bucket(BUCKET)
    uri = s3.put(BUCKET, "data.csv", to_bytes(frame, "csv"))

    df = fetch(proxy, uri)

    pd.testing.assert_frame_equal(df, frame)
    assert path_reads == [None]


def test_options_that_change_the_split_are_read_from_bytes(
    path_reads: list[str | None], proxy: FaultProxy, s3: S3Helper
) -> None:
    frame = make_frame(20_000, seed=13)
    s3.make_bucket(BUCKET)
    uri = s3.put(BUCKET, "semi.csv", frame.to_csv(index=False, sep=";").encode())

    df = fetch(proxy, uri, sep=";")

    pd.testing.assert_frame_equal(df, frame)
    assert path_reads == [None]


def test_a_body_cut_midway_is_resumed_into_the_file_and_parsed_whole(
    path_reads: list[str | None], proxy: FaultProxy, s3: S3Helper
) -> None:
    uri, frame = cut_midway(s3, proxy, seed=14)

    df = fetch(proxy, uri)

    pd.testing.assert_frame_equal(df, frame)
    assert [r.fault for r in proxy.requests].count("Cut") == 1
    assert path_reads[0] is not None


def test_an_object_replaced_midway_is_read_again_into_a_new_file(
    path_reads: list[str | None], proxy: FaultProxy, s3: S3Helper, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri, new = replaced_midway(s3, proxy, monkeypatch, seed=15)

    gc.disable()  # so that only reference counts free the first attempt's buffer, never a collection by chance
    try:
        df = fetch(proxy, uri, max_concurrency=2, part_size=256 * 1024)
        files = memory_files()
    finally:
        gc.enable()

    pd.testing.assert_frame_equal(df, new)
    assert [p is not None for p in path_reads] == [True]
    assert files == 0  # the first attempt's file too, at once: no cycle holds its buffer


def test_a_pandas_without_parallel_path_reads_keeps_the_overlapped_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    # pandas before 3.1 has no mode.max_threads and parses a path on one thread: the head start is worth more.
    def no_such_option(name: str) -> Any:
        raise pd.errors.OptionError(f"No such keys(s): {name!r}")

    overlap.parallel_path_reads.cache_clear()
    monkeypatch.setattr(pd, "get_option", no_such_option)
    try:
        assert not overlap.parallel_path_reads()
        assert overlap.can_overlap("data.csv", None, columns=None, nrows=None, options={})
    finally:
        overlap.parallel_path_reads.cache_clear()
