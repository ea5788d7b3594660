"""Previews: objects, bytes, schema and rows without downloading bodies (every GET is a small range)."""

from __future__ import annotations

import gzip
import re
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pytest
from helpers import make_frame, to_bytes
from IPython.utils.capture import capture_output

import dreambolt_magic as dm
from dreambolt_magic import S3NotFound
from dreambolt_magic.datasets import preview
from dreambolt_magic.formats import estimates
from dreambolt_magic.units import human_bytes

if TYPE_CHECKING:
    from faults.proxy import FaultProxy
    from IPython.core.interactiveshell import InteractiveShell

BUCKET = "peek"


@pytest.fixture
def table(s3: Any) -> list[bytes]:
    """Three Parquet files of 10k, 20k and 30k rows under year=2023|2024: larger than one footer read."""
    s3.make_bucket(BUCKET)
    bodies = []
    for i, year in enumerate([2023, 2024, 2024]):
        frame = make_frame(10_000 * (i + 1), seed=i)
        body = to_bytes(frame, "parquet")
        bodies.append(body)
        s3.put(BUCKET, f"t/year={year}/part-{i}.parquet", body)
    return bodies


def _ranges_ok(proxy: FaultProxy, sizes: dict[str, int]) -> None:
    gets = [r for r in proxy.requests if r.method == "GET" and ".parquet" in r.path]
    assert gets, "footers were read"
    for request in gets:
        assert request.range is not None, f"a whole body was fetched: {request}"
        first, last = map(int, re.fullmatch(r"bytes=(\d+)-(\d+)", request.range).groups())  # type: ignore[union-attr]
        size = sizes[request.path.rsplit("/", 1)[-1]]
        assert size > 64 << 10 and first > 0 and last == size - 1, (request, size)


def test_info_reads_footers_only(s3: Any, proxy: FaultProxy, table: list[bytes]) -> None:
    found = preview.info(f"s3://{BUCKET}/t/", endpoint_url=proxy.endpoint_url)
    assert [o.rows for o in found.objects] == [10_000, 20_000, 30_000] and found.rows == 60_000
    assert found.total_bytes == sum(map(len, table))
    assert found.schema == {"id": "int64", "city": "large_string", "value": "double", "flag": "bool"}
    assert found.partitions == {"year": "int64"}
    sizes = {f"part-{i}.parquet": len(b) for i, b in enumerate(table)}
    _ranges_ok(proxy, sizes)
    text = str(found)
    assert text.startswith(f"s3://{BUCKET}/t/: 3 objects · ") and "60,000 rows" in text
    assert "year: int64 (partition)" in text


def test_info_on_csv_names_columns_from_the_first_object(s3: Any, proxy: FaultProxy) -> None:
    s3.make_bucket(BUCKET)
    frame = pd.DataFrame({"a": np.arange(20_000), "b": ["x"] * 20_000})  # bigger than one peek
    body = to_bytes(frame, "csv")
    s3.put(BUCKET, "c/1.csv", body)
    s3.put(BUCKET, "c/2.csv", body)
    found = preview.info(f"s3://{BUCKET}/c/*.csv", endpoint_url=proxy.endpoint_url)
    assert found.schema == {"a": "?", "b": "?"} and found.rows is None and found.total_bytes == 2 * len(body)
    gets = [r for r in proxy.requests if r.method == "GET" and r.path.endswith(".csv")]
    assert gets and all(r.range is not None for r in gets)


def test_info_of_nothing_is_not_found(s3: Any, table: list[bytes]) -> None:
    with pytest.raises(S3NotFound, match="NoMatchingObjects"):
        preview.info(f"s3://{BUCKET}/t/*.csv", endpoint_url=s3.endpoint_url)


def test_the_info_magics(ip: InteractiveShell, table: list[bytes]) -> None:
    found = ip.run_line_magic("s3ingest_info", f"s3://{BUCKET}/t/")
    assert found.rows == 60_000
    with capture_output() as cap:
        ip.run_cell_magic("s3ingest", "df --info", f"s3://{BUCKET}/t/year=2024/*.parquet")
    assert "df" not in ip.user_ns
    assert "50,000 rows" in cap.outputs[0].data["text/html"]
    with capture_output() as cap:
        ip.run_cell_magic("s3ingest", "df --info", f"s3://{BUCKET}/t/year=2023/part-0.parquet\n"
                                                   f"s3://{BUCKET}/t/year=2024/part-1.parquet")
    assert "2 objects" in cap.outputs[0].data["text/plain"] and "30,000 rows" in cap.outputs[0].data["text/plain"]


# --- the memory estimate -------------------------------------------------------------------------------


def test_info_estimates_a_parquet_sets_memory_from_footers_alone(
    s3: Any, proxy: FaultProxy, table: list[bytes]
) -> None:
    found = preview.info(f"s3://{BUCKET}/t/", endpoint_url=proxy.endpoint_url)
    _ranges_ok(proxy, {f"part-{i}.parquet": len(b) for i, b in enumerate(table)})
    loaded = dm.load(f"s3://{BUCKET}/t/", endpoint_url=s3.endpoint_url, progress=False)
    actual = int(loaded.memory_usage(deep=True).sum())
    assert found.memory is not None and not found.rough
    assert 0.5 * actual <= found.memory <= 2 * actual, (found.memory, actual)
    assert f"Memory as a DataFrame: about {human_bytes(found.memory)} (estimated from the Parquet footers)" in str(
        found)


@pytest.mark.parametrize("columns", [
    {"s": [f"a much longer text value, number {i}" for i in range(5000)], "n": list(range(5000))},
    {"c": pd.Categorical(["x", "y"] * 2500), "d": [None, 1.5] * 2500, "i": pd.array([1, None] * 2500, dtype="Int64")},
    {"when": pd.date_range("2024-01-01", periods=5000, freq="s"), "flag": [True, False] * 2500},
])
def test_the_parquet_estimate_is_near_the_frame(s3: Any, columns: dict[str, Any]) -> None:
    s3.make_bucket(BUCKET)
    frame = pd.DataFrame(columns)
    uri = s3.put(BUCKET, "one.parquet", to_bytes(frame, "parquet"))
    found = preview.info(uri, endpoint_url=s3.endpoint_url)
    actual = int(dm.load(uri, endpoint_url=s3.endpoint_url, progress=False).memory_usage(deep=True).sum())
    assert found.memory is not None and 0.5 * actual <= found.memory <= 2 * actual, (found.memory, actual)


def test_info_guesses_text_memory_from_sizes_and_says_it_is_rough(ip: InteractiveShell, s3: Any) -> None:
    s3.make_bucket(BUCKET)
    body = to_bytes(make_frame(2000), "csv")
    s3.put(BUCKET, "c/1.csv", body)
    s3.put(BUCKET, "c/2.csv.gz", gzip.compress(body))
    found = preview.info(f"s3://{BUCKET}/c/", endpoint_url=s3.endpoint_url)
    assert found.rough
    assert found.memory == int(len(body) * estimates.TEXT_FACTORS["csv"]) + int(
        len(gzip.compress(body)) * estimates.TEXT_FACTORS["csv"] * estimates.COMPRESSION_FACTOR)
    with capture_output() as cap:
        ip.run_cell_magic("s3ingest", "df --info", f"s3://{BUCKET}/c/")
    line = f"Memory as a DataFrame: ~{human_bytes(found.memory)} (a rough guess"
    assert line in cap.outputs[0].data["text/plain"] and line in cap.outputs[0].data["text/html"]


def test_info_of_an_unknown_format_does_not_guess(s3: Any) -> None:
    s3.make_bucket(BUCKET)
    s3.put(BUCKET, "u/data.bin", b"a,b\n1,2\n")
    found = preview.info(f"s3://{BUCKET}/u/", endpoint_url=s3.endpoint_url)
    assert found.memory is None and "Memory as a DataFrame: unknown" in str(found)


def test_info_on_one_named_csv_gives_its_size_and_estimate(s3: Any) -> None:
    # A URI named alone is not listed: its size comes from a HEAD, and the estimate from the size.
    s3.make_bucket(BUCKET)
    body = to_bytes(make_frame(2000), "csv")
    uri = s3.put(BUCKET, "one/data.csv", body)
    found = preview.info(uri, endpoint_url=s3.endpoint_url)
    assert found.total_bytes == len(body)
    assert found.memory == int(len(body) * estimates.TEXT_FACTORS["csv"])
    assert f"{human_bytes(len(body))}" in str(found).splitlines()[0]
