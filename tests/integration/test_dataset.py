"""Many objects in one frame, over HTTP against moto: lists, globs, prefixes, partitions, filters, schemas.

Expected frames are built with pandas from the same sample frames the objects were written from, never by
the loader. Where a test must know which objects were fetched, it reads the requests the ``proxy``
fixture (a :class:`~faults.proxy.FaultProxy` in front of moto) saw.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import numpy as np
import pandas as pd
import pytest
from helpers import make_frame, to_bytes

import dreambolt_magic as dm
from dreambolt_magic import S3FormatError, S3NotFound
from dreambolt_magic.datasets import listing

if TYPE_CHECKING:
    from conftest import S3Helper
    from faults.proxy import FaultProxy

BUCKET = "sets"


def _load(s3: Any, uri: Any, **kw: Any) -> pd.DataFrame:
    return dm.load(uri, endpoint_url=s3.endpoint_url, progress=False, **kw)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True)


@pytest.fixture
def parts(s3: S3Helper) -> list[pd.DataFrame]:
    """Three CSV parts under logs/2024-0{1,2,3}/part.csv and one Parquet at the top."""
    s3.make_bucket(BUCKET)
    frames = [make_frame(5 + i, seed=i) for i in range(3)]
    for i, frame in enumerate(frames):
        s3.put(BUCKET, f"logs/2024-0{i + 1}/part.csv", to_bytes(frame, "csv"))
    s3.put(BUCKET, "logs/2023-12/part.csv", to_bytes(make_frame(2, seed=9), "csv"))
    s3.put(BUCKET, "logs/_SUCCESS", b"")
    s3.put(BUCKET, "logs/2024-01/.part.csv.crc", b"junk")
    s3.put(BUCKET, "logs/", b"")  # a folder marker
    return frames


# --- expansion ---------------------------------------------------------------------------------------


def test_a_prefix_of_200_objects_loads_in_listing_order_across_pages(
    s3: S3Helper, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3.make_bucket(BUCKET)
    frames = [pd.DataFrame({"n": [i, i + 1000], "name": [f"o{i}", f"p{i}"]}) for i in range(200)]
    for i, frame in enumerate(frames):
        s3.put(BUCKET, f"many/{i:03d}.csv", to_bytes(frame, "csv"))
    monkeypatch.setattr(listing, "LIST_PAGE_SIZE", 37)  # six pages
    df = _load(s3, f"s3://{BUCKET}/many/", source_column="source")
    expected = _concat(frames)
    expected["source"] = pd.Categorical(np.repeat([f"s3://{BUCKET}/many/{i:03d}.csv" for i in range(200)], 2))
    pd.testing.assert_frame_equal(df, expected)
    info = df.attrs["s3"]
    assert info["object_count"] == 200 and len(info["objects"]) == 200
    assert info["size"] == sum(len(to_bytes(f, "csv")) for f in frames) == info["bytes_fetched"]
    assert dm.summarize(df).startswith(f"Loaded s3://{BUCKET}/many/ (200 objects): 400 rows x 3 columns")


def test_a_glob_matches_within_a_segment_and_skips_hidden_names(s3: S3Helper, parts: list[pd.DataFrame]) -> None:
    df = _load(s3, f"s3://{BUCKET}/logs/2024-*/*.csv")
    pd.testing.assert_frame_equal(df, _concat(parts))


def test_double_star_crosses_folders_and_question_mark_is_one_character(
    s3: S3Helper, parts: list[pd.DataFrame]
) -> None:
    everything = _load(s3, f"s3://{BUCKET}/**.csv", source_column="src")
    assert list(everything["src"].cat.categories) == [
        f"s3://{BUCKET}/logs/2023-12/part.csv", *(f"s3://{BUCKET}/logs/2024-0{i}/part.csv" for i in (1, 2, 3))
    ]
    df = _load(s3, f"s3://{BUCKET}/logs/2024-0[12]/*.cs?")
    pd.testing.assert_frame_equal(df, _concat(parts[:2]))
    df = _load(s3, f"s3://{BUCKET}/logs/**/part.csv")
    assert len(df) == 2 + sum(len(p) for p in parts)


def test_a_list_mixes_uris_globs_and_formats_each_object_once(s3: S3Helper, parts: list[pd.DataFrame]) -> None:
    extra = make_frame(4, seed=7)
    s3.put(BUCKET, "top.parquet", to_bytes(extra, "parquet"))
    uris = [f"s3://{BUCKET}/top.parquet", f"s3://{BUCKET}/logs/2024-01/part.csv", f"s3://{BUCKET}/logs/2024-0*/*.csv"]
    df = _load(s3, uris)
    pd.testing.assert_frame_equal(df, _concat([extra, *parts]))
    assert df.attrs["s3"]["uri"] == f"s3://{BUCKET}/top.parquet and 2 more"


def test_a_whole_bucket_is_a_prefix(s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)
    a, b = make_frame(3, seed=1), make_frame(2, seed=2)
    s3.put(BUCKET, "a.jsonl", to_bytes(a, "jsonl"))
    s3.put(BUCKET, "b/c.jsonl", to_bytes(b, "jsonl"))
    pd.testing.assert_frame_equal(_load(s3, f"s3://{BUCKET}/"), _concat([a, b]))


def test_an_empty_listing_is_not_found_never_an_empty_frame(s3: S3Helper, parts: list[pd.DataFrame]) -> None:
    with pytest.raises(S3NotFound) as caught:
        _load(s3, f"s3://{BUCKET}/nothing/here/")
    assert caught.value.code == "NoMatchingObjects"
    assert "aws s3 ls" in caught.value.remedy
    with pytest.raises(S3NotFound, match="NoMatchingObjects"):
        _load(s3, f"s3://{BUCKET}/logs/*.parquet")


def test_a_missing_object_in_a_list_fails_the_whole_load(s3: S3Helper, parts: list[pd.DataFrame]) -> None:
    with pytest.raises(S3NotFound) as caught:
        _load(s3, [f"s3://{BUCKET}/logs/2024-01/part.csv", f"s3://{BUCKET}/logs/missing.csv"])
    assert caught.value.code == "NoSuchKey" and caught.value.key == "logs/missing.csv"


def test_a_key_without_a_star_is_literal(s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)
    frame = make_frame(3)
    s3.put(BUCKET, "odd?[1].csv", to_bytes(frame, "csv"))
    df = _load(s3, f"s3://{BUCKET}/odd?[1].csv")
    pd.testing.assert_frame_equal(df, frame)
    assert "objects" not in df.attrs["s3"]


# --- schemas -----------------------------------------------------------------------------------------


def test_missing_columns_become_nulls_and_all_null_columns_do_not_decide_types(s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)
    one = pd.DataFrame({"id": [1, 2], "city": ["Lima", "Oslo"], "ts": pd.to_datetime(["2024-01-01", "2024-01-02"])})
    two = pd.DataFrame({"id": [3], "extra": [1.5], "ts": [None]})
    s3.put(BUCKET, "m/1.parquet", to_bytes(one, "parquet"))
    s3.put(BUCKET, "m/2.parquet", to_bytes(two, "parquet"))
    df = _load(s3, f"s3://{BUCKET}/m/")
    expected = pd.DataFrame({
        "id": [1, 2, 3],
        "city": pd.Series(["Lima", "Oslo", None], dtype=one["city"].dtype),
        "ts": pd.to_datetime(["2024-01-01", "2024-01-02", None]).astype(one["ts"].dtype),
        "extra": [np.nan, np.nan, 1.5],
    })
    pd.testing.assert_frame_equal(df, expected)


def test_conflicting_types_name_the_file_and_the_column(s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)
    s3.put(BUCKET, "c/1.csv", b"id,amount\n1,10\n")
    s3.put(BUCKET, "c/2.csv", b"id,amount\n2,ten\n")
    with pytest.raises(S3FormatError) as caught:
        _load(s3, f"s3://{BUCKET}/c/*.csv")
    err = caught.value
    assert err.code == "SchemaMismatch"
    assert err.uri == f"s3://{BUCKET}/c/2.csv"
    assert "'amount'" in str(err) and f"s3://{BUCKET}/c/1.csv" in str(err)
    assert err.explanation and err.remedy


def test_whole_numbers_and_floats_combine(s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)
    s3.put(BUCKET, "n/1.csv", b"x\n1\n")
    s3.put(BUCKET, "n/2.csv", b"x\n2.5\n")
    pd.testing.assert_frame_equal(_load(s3, f"s3://{BUCKET}/n/"), pd.DataFrame({"x": [1.0, 2.5]}))


def test_columns_asked_for_may_be_missing_from_some_objects(s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)
    s3.put(BUCKET, "k/1.csv", b"a,b\n1,x\n")
    s3.put(BUCKET, "k/2.csv", b"a\n2\n")
    df = _load(s3, f"s3://{BUCKET}/k/", columns=["b", "a"])
    pd.testing.assert_frame_equal(df, pd.DataFrame({"b": pd.Series(["x", None], dtype="str"), "a": [1, 2]}))


def test_a_source_column_that_exists_is_refused(s3: S3Helper, parts: list[pd.DataFrame]) -> None:
    with pytest.raises(S3FormatError, match="ColumnClash"):
        _load(s3, f"s3://{BUCKET}/logs/2024-*/*.csv", source_column="city")


# --- partitions and filters ----------------------------------------------------------------------------


@pytest.fixture
def table(s3: S3Helper) -> dict[tuple[int, str], pd.DataFrame]:
    """A Hive-partitioned Parquet table: year=2023..2024 / region=eu,us, one file each, plus a _SUCCESS."""
    s3.make_bucket(BUCKET)
    frames = {}
    for i, (year, region) in enumerate([(2023, "eu"), (2023, "us"), (2024, "eu"), (2024, "us")]):
        frame = pd.DataFrame({"n": np.arange(3, dtype="int64") + 10 * i, "v": [0.5, 1.5, 2.5]})
        frames[(year, region)] = frame
        s3.put(BUCKET, f"t/year={year}/region={region}/part-0.parquet", to_bytes(frame, "parquet"))
    s3.put(BUCKET, "t/_SUCCESS", b"")
    return frames


def _with(frame: pd.DataFrame, year: int, region: str) -> pd.DataFrame:
    return frame.assign(year=year, region=region)


def _fetched(proxy: FaultProxy) -> list[str]:
    return sorted(unquote(r.path) for r in proxy.requests if r.method == "GET" and r.path.endswith(".parquet"))


def test_hive_partitions_become_columns(s3: S3Helper, table: dict[tuple[int, str], pd.DataFrame]) -> None:
    df = _load(s3, f"s3://{BUCKET}/t/")
    expected = _concat([_with(f, *k) for k, f in table.items()])
    pd.testing.assert_frame_equal(df, expected)
    assert df["year"].dtype == "int64"


def test_a_filter_on_partitions_fetches_only_matching_objects(
    s3: S3Helper, proxy: FaultProxy, table: dict[tuple[int, str], pd.DataFrame]
) -> None:
    df = dm.load(f"s3://{BUCKET}/t/", endpoint_url=proxy.endpoint_url, progress=False,
                 filter="year == 2024 and region in ('eu', 'xx')")
    pd.testing.assert_frame_equal(df, _with(table[(2024, "eu")], 2024, "eu"))
    assert _fetched(proxy) == [f"/{BUCKET}/t/year=2024/region=eu/part-0.parquet"]
    assert df.attrs["s3"]["listed"] == 4 and df.attrs["s3"]["object_count"] == 1


def test_a_filter_mixing_partitions_and_data_prunes_then_filters_rows(
    s3: S3Helper, proxy: FaultProxy, table: dict[tuple[int, str], pd.DataFrame]
) -> None:
    df = dm.load(f"s3://{BUCKET}/t/", endpoint_url=proxy.endpoint_url, progress=False,
                 filter="not region == 'us' and (v > 1 or n == 0)", columns=["n", "year"])
    expected = _concat([_with(table[k], *k) for k in ((2023, "eu"), (2024, "eu"))])
    expected = expected[(expected.v > 1) | (expected.n == 0)][["n", "year"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(df, expected)
    assert len(_fetched(proxy)) == 2


def test_a_filter_that_prunes_everything_is_not_found(
    s3: S3Helper, proxy: FaultProxy, table: dict[tuple[int, str], pd.DataFrame]
) -> None:
    with pytest.raises(S3NotFound) as caught:
        dm.load(f"s3://{BUCKET}/t/", endpoint_url=proxy.endpoint_url, progress=False, filter="year > 2030")
    assert caught.value.code == "NoMatchingObjects" and "year > 2030" in caught.value.explanation
    assert _fetched(proxy) == []


def test_a_filter_on_an_unknown_column_says_which(s3: S3Helper, table: dict[tuple[int, str], pd.DataFrame]) -> None:
    with pytest.raises(S3FormatError) as caught:
        _load(s3, f"s3://{BUCKET}/t/", filter="colour == 'red'")
    assert caught.value.code == "BadFilter" and "'colour'" in str(caught.value)


def test_nrows_fetches_objects_in_order_only_until_it_has_them(
    s3: S3Helper, proxy: FaultProxy, table: dict[tuple[int, str], pd.DataFrame]
) -> None:
    df = dm.load(f"s3://{BUCKET}/t/", endpoint_url=proxy.endpoint_url, progress=False, nrows=4, max_workers=1)
    expected = _concat([_with(table[k], *k) for k in ((2023, "eu"), (2023, "us"))]).iloc[:4]
    pd.testing.assert_frame_equal(df, expected)
    assert {p.split("/")[3] for p in _fetched(proxy)} == {"year=2023"}


# --- progress and cancel -----------------------------------------------------------------------------


class Recorder:
    """A Progress that records what it is told, with the optional ``files(done, total)`` of a set's bar."""

    def __init__(self) -> None:
        self.starts: list[tuple[int | None, str]] = []
        self.bytes = 0
        self.file_calls: list[tuple[int, int]] = []
        self.finished: list[bool] = []
        self._lock = threading.Lock()

    def start(self, total: int | None, description: str = "") -> None:
        self.starts.append((total, description))

    def advance(self, n: int) -> None:
        with self._lock:
            self.bytes += n

    def rewind(self, n: int) -> None:
        with self._lock:
            self.bytes -= n

    def retrying(self, attempt: int, max_attempts: int, reason: str, wait: float) -> None:
        pass

    def finish(self, ok: bool) -> None:
        self.finished.append(ok)

    def files(self, done: int, total: int) -> None:
        with self._lock:
            self.file_calls.append((done, total))


def test_one_bar_in_bytes_for_the_whole_set_and_file_n_of_n(s3: S3Helper, parts: list[pd.DataFrame]) -> None:
    recorder = Recorder()
    df = dm.load(f"s3://{BUCKET}/logs/2024-*/*.csv", endpoint_url=s3.endpoint_url, progress=recorder)
    total = sum(len(to_bytes(p, "csv")) for p in parts)
    assert recorder.starts == [(total, "3 files")]
    assert recorder.bytes == total == df.attrs["s3"]["bytes_fetched"]
    assert sorted(recorder.file_calls) == [(1, 3), (2, 3), (3, 3)]
    assert recorder.finished == [True]


def test_the_default_bar_says_file_n_of_n(s3: S3Helper, parts: list[pd.DataFrame],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    dm.load(f"s3://{BUCKET}/logs/2024-*/*.csv", endpoint_url=s3.endpoint_url)
    assert "file 3 of 3" in capsys.readouterr().err


def test_a_failure_ends_the_bar_red_and_cancels_the_rest(s3: S3Helper, parts: list[pd.DataFrame]) -> None:
    recorder = Recorder()
    with pytest.raises(S3NotFound):
        dm.load([f"s3://{BUCKET}/logs/2024-01/part.csv", f"s3://{BUCKET}/nope.csv"], endpoint_url=s3.endpoint_url,
                progress=recorder)
    assert recorder.finished == [False]


def test_a_cancelled_set_raises_cancelled(s3: S3Helper, parts: list[pd.DataFrame]) -> None:
    from dreambolt_magic.transfer.progress import Cancelled

    flag = threading.Event()
    flag.set()
    with pytest.raises(Cancelled):
        dm.load(f"s3://{BUCKET}/logs/", endpoint_url=s3.endpoint_url, progress=False, cancel=flag)


def test_a_list_asks_for_the_bucket_region_once(s3: S3Helper, proxy: FaultProxy) -> None:
    s3.make_bucket(BUCKET)
    frames = [make_frame(2, seed=i) for i in range(5)]
    uris = [s3.put(BUCKET, f"l/{i}.csv", to_bytes(f, "csv")) for i, f in enumerate(frames)]
    df = dm.load(uris, endpoint_url=proxy.endpoint_url, progress=False)
    pd.testing.assert_frame_equal(df, _concat(frames))
    assert [r.method for r in proxy.requests].count("HEAD") == 1


def test_a_set_shares_one_connection_across_its_objects(
    s3: S3Helper, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dreambolt_magic.client.connection import Connection

    s3.make_bucket(BUCKET)
    frames = [make_frame(2, seed=i) for i in range(12)]
    for i, frame in enumerate(frames):
        s3.put(BUCKET, f"shared/{i:02d}.csv", to_bytes(frame, "csv"))
    opened: list[Any] = []
    real_open = Connection.open.__func__  # type: ignore[attr-defined]

    def spy(cls: type, options: Any, **kw: Any) -> Any:
        opened.append(real_open(cls, options, **kw))
        return opened[-1]

    monkeypatch.setattr(Connection, "open", classmethod(spy))
    df = _load(s3, f"s3://{BUCKET}/shared/")
    pd.testing.assert_frame_equal(df, _concat(frames))
    assert len(opened) == 2  # the listing's, and the one the twelve loads share
    assert list(opened[1].clients) == ["us-east-1"]
