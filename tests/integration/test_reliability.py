"""Reliability over HTTP: the memory guard and the short default timeouts.

The memory guard is exercised with real objects on moto behind the :class:`FaultProxy` (which counts the
requests); only the amount of memory is made small, with ``memory_limit`` (the loader's own argument) or,
where the default (the memory available now) must be used, by replacing :func:`memory.available`.
"""

from __future__ import annotations

import inspect
import time
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest
from faults.proxy import Fault, FaultProxy, Stall
from faults.test_faults import Recorder
from helpers import make_frame, to_bytes

import dreambolt_magic
from dreambolt_magic import S3TooLarge
from dreambolt_magic import api as loader
from dreambolt_magic.client.connection import Connection
from dreambolt_magic.formats import estimates
from dreambolt_magic.notebook.magics import S3IngestMagics
from dreambolt_magic.transfer import memory

if TYPE_CHECKING:
    from conftest import S3Helper
    from IPython.core.interactiveshell import InteractiveShell

BUCKET = "guard"


def gets(proxy: FaultProxy) -> list[Any]:
    return [r for r in proxy.requests if r.method == "GET"]


@pytest.fixture
def csv_object(s3: S3Helper) -> tuple[str, bytes, pd.DataFrame]:
    frame = make_frame(3000, seed=3)
    data = to_bytes(frame, "csv")
    s3.make_bucket(BUCKET)
    return s3.put(BUCKET, "data.csv", data), data, frame


@pytest.fixture
def wide_parquet(s3: S3Helper) -> tuple[str, pd.DataFrame]:
    """A Parquet file with a small column ``id`` and a large incompressible one ``blob``, 4 row groups."""
    import numpy as np

    rng = np.random.default_rng(7)
    n = 4000
    frame = pd.DataFrame({"id": np.arange(n, dtype="int64"),
                          "blob": [rng.bytes(200).hex() for _ in range(n)]})
    import io

    buf = io.BytesIO()
    frame.to_parquet(buf, index=False, row_group_size=1000)
    s3.make_bucket(BUCKET)
    return s3.put(BUCKET, "wide.parquet", buf.getvalue()), frame


# --- the memory guard ----------------------------------------------------------------------------------


def test_an_object_too_large_for_the_limit_is_refused_before_its_body_is_read(
    proxy: FaultProxy, csv_object: tuple[str, bytes, pd.DataFrame]
) -> None:
    uri, data, _ = csv_object
    progress = Recorder()

    with pytest.raises(S3TooLarge) as caught:
        dreambolt_magic.load(uri, endpoint_url=proxy.endpoint_url, progress=progress, memory_limit=len(data))

    err = caught.value
    assert (err.code, err.status, err.attempts, err.uri) == ("TooLarge", None, 1, uri)
    assert err.hints["need"] == 2 * len(data) and err.hints["available_memory"] == len(data)
    assert isinstance(err, MemoryError)
    assert [r.status for r in gets(proxy)] == [200]  # one GET, not retried
    assert progress.of("advance") == []  # not a byte of the body was read
    assert progress.calls[-1] == ("finish", (False,))
    for advice in ("--columns", "--nrows", "dask.dataframe.read_csv", "--force"):
        assert advice in err.remedy
    assert "memory_limit" in err.explanation


def test_force_loads_it_anyway(proxy: FaultProxy, csv_object: tuple[str, bytes, pd.DataFrame]) -> None:
    uri, data, frame = csv_object

    df = dreambolt_magic.load(uri, endpoint_url=proxy.endpoint_url, progress=False, memory_limit=len(data),
                              force=True)

    pd.testing.assert_frame_equal(df, frame)
    assert df.attrs["s3"]["bytes_fetched"] == len(data)


def test_an_object_that_fits_is_loaded(proxy: FaultProxy, csv_object: tuple[str, bytes, pd.DataFrame]) -> None:
    uri, data, frame = csv_object

    df = dreambolt_magic.load(uri, endpoint_url=proxy.endpoint_url, progress=False, memory_limit=2 * len(data))

    pd.testing.assert_frame_equal(df, frame)


def test_by_default_the_available_memory_is_the_limit(
    proxy: FaultProxy, csv_object: tuple[str, bytes, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    uri, data, frame = csv_object
    real = memory.available()
    assert real is not None and real > 2 * len(data)
    pd.testing.assert_frame_equal(dreambolt_magic.load(uri, endpoint_url=proxy.endpoint_url, progress=False),
                                  frame)

    monkeypatch.setattr(memory, "available", lambda: len(data))
    with pytest.raises(S3TooLarge) as caught:
        dreambolt_magic.load(uri, endpoint_url=proxy.endpoint_url, progress=False)
    assert caught.value.hints["available_memory"] == len(data)
    assert "available now" in caught.value.explanation


def test_available_memory_agrees_with_psutil() -> None:
    # Linux's MemAvailable is read directly (sparing psutil's import); it must be what psutil would say.
    import psutil

    measured, reported = memory.available(), psutil.virtual_memory().available
    assert measured is not None and abs(measured - reported) < max(reported // 4, 256 << 20)


def test_a_parquet_read_of_some_columns_is_judged_by_its_footer(
    proxy: FaultProxy, wide_parquet: tuple[str, pd.DataFrame]
) -> None:
    uri, frame = wide_parquet
    size = inspect_size(proxy, uri)
    ids = memory_need(proxy, uri, ["id"])
    assert ids < size  # the whole object would not fit in this limit; its "id" column does

    df = dreambolt_magic.load(uri, endpoint_url=proxy.endpoint_url, progress=False, columns=["id"],
                              memory_limit=ids)

    pd.testing.assert_frame_equal(df, frame[["id"]])
    with pytest.raises(S3TooLarge) as caught:
        dreambolt_magic.load(uri, endpoint_url=proxy.endpoint_url, progress=False, columns=["id", "blob"],
                             memory_limit=size)
    assert caught.value.hints["what"] == "parquet"
    assert "dask.dataframe.read_parquet" in caught.value.remedy


def test_a_parquet_read_refused_by_its_footer_fetches_no_column(
    proxy: FaultProxy, wide_parquet: tuple[str, pd.DataFrame]
) -> None:
    uri, _ = wide_parquet
    ids = memory_need(proxy, uri, ["id"])
    size = inspect_size(proxy, uri)
    proxy.clear()

    with pytest.raises(S3TooLarge):
        dreambolt_magic.load(uri, endpoint_url=proxy.endpoint_url, progress=False, columns=["id"],
                             memory_limit=ids - 1)

    # The end, with the footer (one GET, whose answer gives the size too), and no column chunk.
    assert size > 65536
    assert [r.range for r in gets(proxy)] == ["bytes=-65536"]


def inspect_size(proxy: FaultProxy, uri: str) -> int:
    return int(dreambolt_magic.load(uri, endpoint_url=proxy.endpoint_url, progress=False, nrows=0)
               .attrs["s3"]["size"])


def memory_need(proxy: FaultProxy, uri: str, columns: list[str]) -> int:
    """What the guard computes for these columns, from the file's own footer."""
    import boto3

    client = boto3.client("s3", endpoint_url=proxy.endpoint_url, region_name="us-east-1")
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    data = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    client.close()
    return estimates.parquet_need(memoryview(data), columns=columns, row_groups=None)


def test_magic_refusal_keeps_the_previous_value_and_force_loads(
    ip: InteractiveShell, s3: S3Helper, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = make_frame(200, seed=1)
    s3.make_bucket(BUCKET)
    uri = s3.put(BUCKET, "data.csv", to_bytes(frame, "csv"))
    monkeypatch.setattr(memory, "available", lambda: 1000)
    previous = object()
    ip.user_ns["df"] = previous

    with pytest.raises(S3TooLarge):
        ip.run_cell_magic("s3ingest", "df --quiet", uri)
    assert ip.user_ns["df"] is previous

    ip.run_cell_magic("s3ingest", "df --quiet --force", uri)
    pd.testing.assert_frame_equal(ip.user_ns["df"], frame)


# --- short default timeouts ----------------------------------------------------------------------------


def test_default_timeouts_are_short() -> None:
    params = inspect.signature(loader.load).parameters
    assert (params["connect_timeout"].default, params["read_timeout"].default) == (5.0, 15.0)
    traits = S3IngestMagics.class_traits()
    assert (traits["connect_timeout"].default_value, traits["read_timeout"].default_value) == (5.0, 15.0)


def test_the_magic_hands_its_timeouts_to_botocore(
    ip: InteractiveShell, s3: S3Helper, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3.make_bucket(BUCKET)
    uri = s3.put(BUCKET, "data.csv", to_bytes(make_frame(10), "csv"))
    seen: list[tuple[Any, Any]] = []
    real = Connection.client

    def spy(self: Connection, region: str) -> Any:
        seen.append((self.config.connect_timeout, self.config.read_timeout))
        return real(self, region)

    monkeypatch.setattr(Connection, "client", spy)
    ip.run_cell_magic("s3ingest", "df --quiet", uri)
    assert set(seen) == {(5.0, 15.0)}


def test_a_stall_is_retried_within_seconds(
    proxy: FaultProxy, csv_object: tuple[str, bytes, pd.DataFrame]
) -> None:
    # A body that stops for a minute: with a read timeout of 1 s the load retries at once, not after it.
    uri, data, frame = csv_object
    proxy.add(Fault(Stall(after=10_000, seconds=60)))
    progress = Recorder()
    started = time.monotonic()

    df = dreambolt_magic.load(uri, endpoint_url=proxy.endpoint_url, progress=progress, max_attempts=3,
                              connect_timeout=1, read_timeout=1)

    assert time.monotonic() - started < 5
    pd.testing.assert_frame_equal(df, frame)
    assert [(r.fault, r.status) for r in gets(proxy)] == [("Stall", 200), (None, 200)]
    assert [args[:3] for args in progress.of("retrying")] == [(1, 3, "ReadTimeout")]
