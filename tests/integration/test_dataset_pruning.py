"""``--filter`` on Parquet row groups, over HTTP against moto: groups whose statistics rule out every row are
never fetched, and the rows of the others are still filtered.

The files hold sorted ids in several row groups, so a range of ids lies in one group. What was fetched is read
from the ``proxy`` fixture's request log and ``df.attrs["s3"]["bytes_fetched"]``; expected frames are pandas'
own filter of the whole data.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from faults.proxy import Fault, Hook

import dreambolt_magic as dm

if TYPE_CHECKING:
    from conftest import S3Helper
    from faults.proxy import FaultProxy

BUCKET = "pruned"
ROWS, GROUP_ROWS = 80_000, 20_000


def _sorted_frame(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "id": np.arange(ROWS, dtype="int64"),
        "city": rng.choice(["Berlin", "Lagos", "Lima", "Osaka"], ROWS),
        "value": np.round(rng.normal(100, 25, ROWS), 2),
    })


def _parquet(frame: pd.DataFrame, **kw: Any) -> bytes:
    sink = io.BytesIO()
    frame.to_parquet(sink, index=False, row_group_size=GROUP_ROWS, **kw)
    return sink.getvalue()


def _group_bytes(body: bytes, group: int) -> int:
    metadata = pq.ParquetFile(io.BytesIO(body)).metadata.row_group(group)
    return sum(metadata.column(j).total_compressed_size for j in range(metadata.num_columns))


#: What a pruned read fetches besides the row groups: the first GET (64 KiB) and the end of the file (64 KiB).
OVERHEAD = 2 * (64 << 10)


def _gets(proxy: FaultProxy) -> list[Any]:
    return [r for r in proxy.requests if r.method == "GET" and r.path.endswith(".parquet")]


@pytest.fixture
def one_file(s3: S3Helper) -> tuple[str, pd.DataFrame, bytes]:
    s3.make_bucket(BUCKET)
    frame = _sorted_frame()
    body = _parquet(frame)
    assert len(body) > 4 * (64 << 10), "each row group is larger than the first GET"
    return s3.put(BUCKET, "one.parquet", body), frame, body


def test_a_filter_fetches_only_the_row_group_that_can_match(
    proxy: FaultProxy, one_file: tuple[str, pd.DataFrame, bytes]
) -> None:
    uri, frame, body = one_file
    size = len(body)
    df = dm.load(uri, endpoint_url=proxy.endpoint_url, progress=False, filter="id >= 45000 and id < 46000")
    expected = frame[(frame.id >= 45_000) & (frame.id < 46_000)].reset_index(drop=True)
    pd.testing.assert_frame_equal(df, expected)
    fetched = df.attrs["s3"]["bytes_fetched"]
    # Group 2 of 0..3 (ids 40,000 to 59,999), and the start and end of the file.
    assert fetched <= _group_bytes(body, 2) + OVERHEAD < size * 0.6, (fetched, size)
    assert all(r.range is not None for r in _gets(proxy))
    proxy.clear()
    whole = dm.load(uri, endpoint_url=proxy.endpoint_url, progress=False)
    assert whole.attrs["s3"]["bytes_fetched"] == size


def test_a_filter_no_statistics_can_decide_fetches_everything_and_filters_rows(
    proxy: FaultProxy, one_file: tuple[str, pd.DataFrame, bytes]
) -> None:
    uri, frame, body = one_file
    df = dm.load(uri, endpoint_url=proxy.endpoint_url, progress=False, filter="city == 'Lima' and value > 120")
    expected = frame[(frame.city == "Lima") & (frame.value > 120)].reset_index(drop=True)
    pd.testing.assert_frame_equal(df, expected)
    assert df.attrs["s3"]["bytes_fetched"] >= len(body) * 0.9  # every group may hold Lima


def test_a_file_without_statistics_is_read_whole(s3: S3Helper, proxy: FaultProxy) -> None:
    s3.make_bucket(BUCKET)
    frame = _sorted_frame()
    body = _parquet(frame, write_statistics=False)
    uri = s3.put(BUCKET, "nostats.parquet", body)
    df = dm.load(uri, endpoint_url=proxy.endpoint_url, progress=False, filter="id < 10")
    pd.testing.assert_frame_equal(df, frame[frame.id < 10].reset_index(drop=True))
    assert df.attrs["s3"]["bytes_fetched"] >= len(body) * 0.9


def test_a_filter_no_group_matches_reads_the_footer_alone(
    proxy: FaultProxy, one_file: tuple[str, pd.DataFrame, bytes]
) -> None:
    uri, frame, _ = one_file
    df = dm.load(uri, endpoint_url=proxy.endpoint_url, progress=False, filter="id > 1000000",
                 columns=["id", "city"])
    pd.testing.assert_frame_equal(df, frame[frame.id > 1_000_000][["id", "city"]].reset_index(drop=True))
    assert df.attrs["s3"]["bytes_fetched"] <= OVERHEAD  # the first GET and the footer


@pytest.fixture
def hive(s3: S3Helper) -> dict[int, tuple[pd.DataFrame, bytes]]:
    """t/year=2023|2024/part-0.parquet, each of four sorted row groups."""
    s3.make_bucket(BUCKET)
    found = {}
    for seed, year in enumerate((2023, 2024)):
        frame = _sorted_frame(seed)
        body = _parquet(frame)
        s3.put(BUCKET, f"t/year={year}/part-0.parquet", body)
        found[year] = (frame, body)
    return found


def test_partitions_then_row_groups_are_pruned(
    proxy: FaultProxy, hive: dict[int, tuple[pd.DataFrame, bytes]]
) -> None:
    df = dm.load(f"s3://{BUCKET}/t/", endpoint_url=proxy.endpoint_url, progress=False,
                 filter="year == 2024 and id < 5000", source_column="src")
    frame, body = hive[2024]
    expected = frame[frame.id < 5000].assign(year=2024).reset_index(drop=True)
    expected["src"] = pd.Categorical([f"s3://{BUCKET}/t/year=2024/part-0.parquet"] * len(expected))
    pd.testing.assert_frame_equal(df, expected)
    assert {unquote(r.path) for r in _gets(proxy)} == {f"/{BUCKET}/t/year=2024/part-0.parquet"}
    info = df.attrs["s3"]
    assert info["listed"] == 2 and info["object_count"] == 1
    assert info["bytes_fetched"] <= _group_bytes(body, 0) + OVERHEAD < len(body) * 0.6


def test_a_filter_on_data_alone_prunes_groups_in_every_object(
    proxy: FaultProxy, hive: dict[int, tuple[pd.DataFrame, bytes]]
) -> None:
    df = dm.load(f"s3://{BUCKET}/t/", endpoint_url=proxy.endpoint_url, progress=False,
                 filter="id >= 79990 or year == 2023 and id < 3")
    parts = [hive[2023][0].assign(year=2023), hive[2024][0].assign(year=2024)]
    full = pd.concat(parts, ignore_index=True)
    expected = full[(full.id >= 79_990) | ((full.year == 2023) & (full.id < 3))].reset_index(drop=True)
    pd.testing.assert_frame_equal(df, expected)
    assert len({r.path for r in _gets(proxy)}) == 2
    (_, old), (_, new) = hive[2023], hive[2024]
    # 2023: its first and last groups; 2024: its last one. Three groups of eight.
    wanted = _group_bytes(old, 0) + _group_bytes(old, 3) + _group_bytes(new, 3)
    assert df.attrs["s3"]["bytes_fetched"] <= wanted + 2 * OVERHEAD < (len(old) + len(new)) * 0.7


def test_the_magic_prunes_row_groups(ip: Any, proxy: FaultProxy, one_file: tuple[str, pd.DataFrame, bytes]) -> None:
    uri, frame, body = one_file
    ip.run_line_magic("config", f"S3IngestMagics.endpoint_url = {proxy.endpoint_url!r}")
    ip.run_cell_magic("s3ingest", "df -q --filter \"id < 100\"", uri)
    df = ip.user_ns["df"]
    pd.testing.assert_frame_equal(df, frame[frame.id < 100].reset_index(drop=True))
    assert df.attrs["s3"]["bytes_fetched"] <= _group_bytes(body, 0) + OVERHEAD


# --- a listed file: its size is known, so a pruned read starts with its end -------------------------------


def _first_get_ranges(proxy: FaultProxy) -> dict[str, str | None]:
    """Each object's first GET's Range header, by path."""
    first: dict[str, str | None] = {}
    for request in _gets(proxy):
        first.setdefault(unquote(request.path), request.range)
    return first


def test_a_listed_file_is_read_from_its_end_first(
    proxy: FaultProxy, hive: dict[int, tuple[pd.DataFrame, bytes]]
) -> None:
    df = dm.load(f"s3://{BUCKET}/t/", endpoint_url=proxy.endpoint_url, progress=False, columns=["id", "city"])

    full = pd.concat([hive[2023][0], hive[2024][0]], ignore_index=True)[["id", "city"]]
    pd.testing.assert_frame_equal(df, full)
    first = _first_get_ranges(proxy)
    for year, (_, body) in hive.items():
        asked = first[f"/{BUCKET}/t/year={year}/part-0.parquet"] or ""
        start, end = (int(x) for x in asked.removeprefix("bytes=").split("-"))
        assert end == len(body) - 1 and start > 0  # the end: the listing gave the size, no GET asked for it
    # A read of the same file by its name, with no size known, asks for its end too (a suffix range, which
    # gives the size with it): as many GETs as the listed read.
    listed = len(_gets(proxy))
    proxy.clear()
    for year in hive:
        dm.load(f"s3://{BUCKET}/t/year={year}/part-0.parquet", endpoint_url=proxy.endpoint_url, progress=False,
                columns=["id", "city"])
    assert len(_gets(proxy)) == listed
    assert all(r == "bytes=-65536" for r in _first_get_ranges(proxy).values())


def test_a_listed_file_s_first_bytes_are_not_fetched_for_columns_after_them(
    proxy: FaultProxy, hive: dict[int, tuple[pd.DataFrame, bytes]]
) -> None:
    # The leading PAR1 is not worth a request: the reader reads the file from its footer, which the first GET
    # fetched and which ends with the other PAR1. So with a column other than the first, no GET starts at 0.
    df = dm.load(f"s3://{BUCKET}/t/", endpoint_url=proxy.endpoint_url, progress=False, columns=["value"])

    full = pd.concat([hive[2023][0], hive[2024][0]], ignore_index=True)[["value"]]
    pd.testing.assert_frame_equal(df, full)
    starts = [int((r.range or "bytes=0-").removeprefix("bytes=").split("-")[0]) for r in _gets(proxy)]
    assert len(starts) >= 4 and 0 not in starts


def test_a_listed_file_that_is_not_parquet_is_still_named_as_such(
    proxy: FaultProxy, s3: S3Helper, hive: dict[int, tuple[pd.DataFrame, bytes]]
) -> None:
    # Its end is no footer, so the whole file is fetched and checked from its first bytes, as by name.
    text = hive[2023][0].to_csv(index=False).encode()
    s3.put(BUCKET, "t/year=2025/part-0.parquet", text)

    with pytest.raises(dm.S3FormatError) as caught:
        dm.load(f"s3://{BUCKET}/t/", endpoint_url=proxy.endpoint_url, progress=False, columns=["value"])

    assert caught.value.code == "FormatMismatch"
    assert "year=2025" in str(caught.value) and "CSV" in str(caught.value)


@pytest.mark.parametrize("rows", [10, 2 * ROWS], ids=["smaller", "larger"])
def test_a_listed_file_replaced_before_its_read_is_read_as_it_is_now(
    proxy: FaultProxy, s3: S3Helper, hive: dict[int, tuple[pd.DataFrame, bytes]], rows: int
) -> None:
    # Replaced between the listing and its first GET: the end the listing's size points to is not its end.
    key = "t/year=2024/part-0.parquet"
    now = pd.DataFrame({"id": np.arange(rows, dtype="int64"), "city": "Quito", "value": 1.0})
    proxy.add(Fault(Hook(lambda: s3.client.put_object(Bucket=BUCKET, Key=key, Body=_parquet(now))),
                    path="2024/part-0.parquet"))  # the request's path has "=" as %3D

    df = dm.load(f"s3://{BUCKET}/t/", endpoint_url=proxy.endpoint_url, progress=False, columns=["id", "city"])

    expected = pd.concat([hive[2023][0], now], ignore_index=True)[["id", "city"]]
    pd.testing.assert_frame_equal(df, expected)
    ranges = [r.range for r in _gets(proxy) if unquote(r.path) == f"/{BUCKET}/{key}"]
    assert ranges[1] == "bytes=-65536"  # after the end that was not, the end as a suffix: no size assumed
