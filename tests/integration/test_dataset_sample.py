"""``sample=N`` / ``--sample N`` over HTTP against moto: the first N rows of the first objects, and no more
fetched (or listed) than that takes. The proxy's request log tells which objects and listing pages were read.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import numpy as np
import pandas as pd
import pytest
from helpers import make_frame, to_bytes
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

import dreambolt_magic as dm
from dreambolt_magic.datasets import listing

if TYPE_CHECKING:
    from conftest import S3Helper
    from faults.proxy import FaultProxy
    from IPython.core.interactiveshell import InteractiveShell

BUCKET = "samples"


@pytest.fixture
def parts(s3: S3Helper) -> list[pd.DataFrame]:
    """20 CSV objects of 5 rows each under p/, named in listing order."""
    s3.make_bucket(BUCKET)
    frames = [make_frame(5, seed=i).assign(id=lambda f, i=i: f.id + 100 * i) for i in range(20)]
    for i, frame in enumerate(frames):
        s3.put(BUCKET, f"p/{i:02d}.csv", to_bytes(frame, "csv"))
    return frames


def _objects(proxy: FaultProxy) -> list[str]:
    """The objects whose bodies were fetched, sorted (a wave's objects are fetched at the same time)."""
    found: list[str] = []
    for r in proxy.requests:
        name = unquote(r.path).rsplit("/", 1)[-1]
        if r.method == "GET" and "." in name and name not in found:
            found.append(name)
    return sorted(found)


def _load(proxy: FaultProxy, uri: Any, **kw: Any) -> pd.DataFrame:
    return dm.load(uri, endpoint_url=proxy.endpoint_url, progress=False, **kw)


def test_a_sample_fetches_the_first_objects_until_it_has_the_rows(proxy: FaultProxy, parts: list[pd.DataFrame]) -> None:
    df = _load(proxy, f"s3://{BUCKET}/p/", sample=12)
    pd.testing.assert_frame_equal(df, pd.concat(parts, ignore_index=True).iloc[:12])
    # One object first (5 rows), then the two that 7 more rows take: 3 of 20.
    assert _objects(proxy) == ["00.csv", "01.csv", "02.csv"]
    info = df.attrs["s3"]
    assert info["sample"] == 12 and info["object_count"] == 3
    assert dm.summarize(df).startswith(f"Loaded s3://{BUCKET}/p/ (sample: the first 12 rows, from 3 objects): "
                                       "12 rows x 4 columns")


def test_a_sample_lists_no_further_than_it_needs(
    proxy: FaultProxy, parts: list[pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listing, "LIST_PAGE_SIZE", 5)  # four pages
    _load(proxy, f"s3://{BUCKET}/p/", sample=3)
    assert proxy.count("GET", f"/{BUCKET}") == 1 and _objects(proxy) == ["00.csv"]
    proxy.clear()
    _load(proxy, f"s3://{BUCKET}/p/", sample=32)  # seven objects: the second page too
    assert proxy.count("GET", f"/{BUCKET}") == 2 and len(_objects(proxy)) == 7
    proxy.clear()
    _load(proxy, f"s3://{BUCKET}/p/", nrows=3)  # nrows lists the whole set first
    assert proxy.count("GET", f"/{BUCKET}") == 4  # every page


def test_a_sample_larger_than_the_set_is_the_set(proxy: FaultProxy, parts: list[pd.DataFrame]) -> None:
    df = _load(proxy, f"s3://{BUCKET}/p/0*.csv", sample=1000)
    pd.testing.assert_frame_equal(df, pd.concat(parts[:10], ignore_index=True))
    assert df.attrs["s3"]["sample"] == 1000 and df.attrs["s3"]["object_count"] == 10


def test_a_sample_of_one_object_reads_its_first_row_groups(s3: S3Helper, proxy: FaultProxy) -> None:
    s3.make_bucket(BUCKET)
    frame = pd.DataFrame({"id": np.arange(80_000), "v": np.random.default_rng(0).normal(size=80_000)})
    sink = io.BytesIO()
    frame.to_parquet(sink, index=False, row_group_size=10_000)
    uri = s3.put(BUCKET, "big.parquet", sink.getvalue())
    df = _load(proxy, uri, sample=10)
    pd.testing.assert_frame_equal(df, frame.head(10))
    assert df.attrs["s3"]["sample"] == 10
    assert df.attrs["s3"]["bytes_fetched"] < len(sink.getvalue()) / 3
    assert "sample" in dm.summarize(df)


def test_a_sample_counts_rows_once_filtered(proxy: FaultProxy, parts: list[pd.DataFrame]) -> None:
    everything = pd.concat(parts, ignore_index=True)
    wanted = everything[everything.city == "Lima"]
    df = _load(proxy, f"s3://{BUCKET}/p/", sample=4, filter="city == 'Lima'")
    pd.testing.assert_frame_equal(df, wanted.head(4).reset_index(drop=True))
    last = int(df["id"].iloc[-1]) // 100  # the object the 4th Lima row is in
    assert len(_objects(proxy)) < 20 and f"{last:02d}.csv" in _objects(proxy)


def test_a_sample_skips_partitions_that_cannot_match(s3: S3Helper, proxy: FaultProxy) -> None:
    s3.make_bucket(BUCKET)
    frames = {}
    for year in (2022, 2023, 2024):
        for part in range(3):
            frames[(year, part)] = make_frame(4, seed=year + part)
            s3.put(BUCKET, f"t/year={year}/{part}.csv", to_bytes(frames[(year, part)], "csv"))
    df = _load(proxy, f"s3://{BUCKET}/t/", sample=6, filter="year == 2024")
    expected = pd.concat([frames[(2024, 0)], frames[(2024, 1)]], ignore_index=True).assign(year=2024).iloc[:6]
    pd.testing.assert_frame_equal(df, expected)
    assert _objects(proxy) == ["0.csv", "1.csv"]
    assert all("year=2024" in unquote(r.path) for r in proxy.requests if r.method == "GET" and r.path.endswith(".csv"))


@pytest.mark.parametrize("bad", [0, -1, True, 2.5, "3"])
def test_a_sample_must_be_a_positive_row_count(s3: S3Helper, bad: Any) -> None:
    with pytest.raises(ValueError, match="sample must be a whole number"):
        dm.load(f"s3://{BUCKET}/p/", endpoint_url=s3.endpoint_url, sample=bad)


def test_a_sample_is_not_given_with_nrows(s3: S3Helper) -> None:
    with pytest.raises(ValueError, match="sample or nrows, not both"):
        dm.load(f"s3://{BUCKET}/p/x.csv", endpoint_url=s3.endpoint_url, sample=3, nrows=3)


def test_the_magic_says_it_is_a_sample(ip: InteractiveShell, parts: list[pd.DataFrame]) -> None:
    with capture_output() as cap:
        ip.run_cell_magic("s3ingest", "df --sample 7", f"s3://{BUCKET}/p/")
    pd.testing.assert_frame_equal(ip.user_ns["df"], pd.concat(parts[:2], ignore_index=True).iloc[:7])
    assert "(sample: the first 7 rows, from 2 objects)" in cap.stdout
    for line, message in (("df --sample 0", "--sample must be 1 or more"),
                          ("df --sample 3 --nrows 3", "--sample and --nrows")):
        with pytest.raises(UsageError, match=message):
            ip.run_cell_magic("s3ingest", line, f"s3://{BUCKET}/p/")
