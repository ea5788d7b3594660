"""Objects that are small on S3 and huge in memory are refused before they are decoded, over HTTP: a Parquet
file of constant columns (its footer tells how many rows it holds), held to a memory limit."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import dreambolt_magic as dm
from dreambolt_magic import S3TooLarge
from dreambolt_magic.formats import readers

if TYPE_CHECKING:
    from conftest import S3Helper

BUCKET = "bombs"


def _constant_parquet(rows: int) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table({"a": np.zeros(rows, dtype="int64"), "b": np.ones(rows, dtype="float64")}), sink)
    return sink.getvalue()


def test_a_parquet_bomb_is_refused_from_its_footer(s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)
    body = _constant_parquet(2_000_000)  # 32 MB as a frame, a few kB on S3
    assert len(body) < 200_000
    uri = s3.put(BUCKET, "bomb.parquet", body)
    with pytest.raises(S3TooLarge) as caught:
        dm.load(uri, endpoint_url=s3.endpoint_url, progress=False, memory_limit=8_000_000)
    assert caught.value.code == "TooLarge"
    assert caught.value.hints["need"] >= 32_000_000  # the footer's rows x widths, not the object's size
    # Within the limit, the same file loads.
    df = dm.load(uri, endpoint_url=s3.endpoint_url, progress=False, memory_limit=200_000_000)
    assert len(df) == 2_000_000


def test_an_allocation_failure_is_reported_as_memory_not_as_a_corrupt_file(
    s3: S3Helper, monkeypatch: pytest.MonkeyPatch
) -> None:
    def out_of_memory(request: readers.Request) -> None:
        raise pa.ArrowMemoryError("malloc of size 12800000000 failed")

    monkeypatch.setitem(readers.READERS, "parquet", out_of_memory)
    s3.make_bucket(BUCKET)
    uri = s3.put(BUCKET, "small.parquet", _constant_parquet(10))
    with pytest.raises(S3TooLarge) as caught:
        dm.load(uri, endpoint_url=s3.endpoint_url, progress=False)
    assert caught.value.code == "OutOfMemory"
    assert "ran out of memory" in caught.value.explanation and "--columns" in caught.value.remedy
