"""``load(engine="dask")`` on a ``distributed.LocalCluster`` and ``load(engine="polars")``, against moto over HTTP.

Every dask result is compared with the pandas engine's load of the same objects (the pandas engine is tested
against independent writers in test_dataset.py). The cluster is one per module, on 127.0.0.1 only: its
worker is another process, so each partition's task crosses a pickle boundary and the worker finds its
credentials through its own AWS chain (the fake ones the suite's ``_offline`` fixture put in the environment
before the cluster started).

polars is imported only after ``load(engine="polars")`` has: importing it plainly would make Ctrl-C stop
interrupting blocking waits for the rest of the session (see ``engines.extras._keep_ctrl_c_interrupting``).
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import cloudpickle
import dask.dataframe as dd
import pandas as pd
import psutil
import pytest
from distributed import Client, LocalCluster, get_task_stream
from helpers import make_frame, to_bytes

import dreambolt_magic as dm
from dreambolt_magic import S3FormatError, S3NotFound

if TYPE_CHECKING:
    from conftest import S3Helper
    from faults.proxy import FaultProxy

BUCKET = "engines"


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    """One worker process with two threads; scheduler, worker and dashboards on loopback, at free ports."""
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0", worker_dashboard_address="127.0.0.1:0") as cluster, \
            Client(cluster) as running:
        yield running


def _load(s3: Any, uri: Any, **kw: Any) -> Any:
    return dm.load(uri, endpoint_url=s3.endpoint_url, progress=False, **kw)


def _dask_strings(expected: pd.DataFrame, lazy: dd.DataFrame) -> pd.DataFrame:
    """``expected`` with text columns in dask's text type: dask holds text as ``string[pyarrow]`` (its
    ``dataframe.convert-string`` setting, on by default), whose null is ``pd.NA`` where pandas' is NaN."""
    text = {name: lazy.dtypes[name] for name in expected.columns
            if isinstance(expected[name].dtype, pd.StringDtype) and isinstance(lazy.dtypes[name], pd.StringDtype)}
    return expected.astype(text)


def _same(lazy: dd.DataFrame, expected: pd.DataFrame) -> None:
    """The computed dask frame is the pandas engine's, once each partition's own index is replaced."""
    result = lazy.compute()
    assert list(result.dtypes) == list(lazy.dtypes)  # meta told the truth
    pd.testing.assert_frame_equal(result.reset_index(drop=True), _dask_strings(expected, lazy))


@pytest.fixture
def logs(s3: S3Helper) -> list[pd.DataFrame]:
    """Three CSV objects under logs/ and a Parquet one beside them that the glob below does not name."""
    s3.make_bucket(BUCKET)
    frames = [make_frame(4 + i, seed=i) for i in range(3)]
    for i, frame in enumerate(frames):
        s3.put(BUCKET, f"logs/2024-0{i + 1}.csv", to_bytes(frame, "csv"))
    s3.put(BUCKET, "logs/other.parquet", to_bytes(make_frame(2), "parquet"))
    return frames


@pytest.fixture
def table(s3: S3Helper) -> dict[tuple[int, int], pd.DataFrame]:
    """A Hive-partitioned Parquet table: table/year=Y/month=M/part.parquet for 2023-2024, months 1-3."""
    s3.make_bucket(BUCKET)
    parts = {}
    for year in (2023, 2024):
        for month in (1, 2, 3):
            frame = make_frame(5 + month, seed=year * 10 + month)
            parts[year, month] = frame
            s3.put(BUCKET, f"table/year={year}/month={month}/part.parquet", to_bytes(frame, "parquet"))
    return parts


# --- dask on the cluster -----------------------------------------------------------------------------------


def test_the_cluster_listens_on_loopback_only(client: Client) -> None:
    info = client.scheduler_info()
    ports = {int(info["address"].rpartition(":")[2]), *info["services"].values()}
    ports |= {int(w["nanny"].rpartition(":")[2]) for w in info["workers"].values()}
    # In this process: the scheduler, its dashboard and the nanny. In the worker's: every socket it listens on.
    here = [c.laddr for c in psutil.Process().net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN and c.laddr.port in ports]
    workers = [c.laddr for pid in client.run(lambda: psutil.Process().pid).values()
               for c in psutil.Process(pid).net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
    assert {a.port for a in here} == ports and len(workers) >= 2  # the worker and its dashboard
    assert all(a.ip in ("127.0.0.1", "::1") for a in here + workers), here + workers


def test_a_glob_computes_on_the_cluster_and_equals_the_pandas_load(
    s3: S3Helper, client: Client, logs: list[pd.DataFrame]
) -> None:
    uri = f"s3://{BUCKET}/logs/*.csv"
    lazy = _load(s3, uri, engine="dask", source_column="src")
    assert isinstance(lazy, dd.DataFrame)
    assert lazy.npartitions == 3
    assert list(lazy.columns) == ["id", "city", "value", "flag", "src"]
    with get_task_stream(client) as stream:
        result = lazy.compute()
    assert len(stream.data) >= 3  # the default client ran the partitions: dask found it by itself
    pd.testing.assert_frame_equal(result.reset_index(drop=True), _dask_strings(_load(s3, uri, source_column="src"),
                                                                               lazy))
    assert list(result.dtypes) == list(lazy.dtypes)  # meta told the truth


def test_a_prefix_of_mixed_formats_with_columns_and_a_reduction(
    s3: S3Helper, client: Client, logs: list[pd.DataFrame]
) -> None:
    uri = f"s3://{BUCKET}/logs/"  # three CSV objects and a Parquet one: each read by its own format
    lazy = _load(s3, uri, engine="dask", columns="value,id")
    assert lazy.npartitions == 4
    expected = _load(s3, uri, columns="value,id")
    assert len(expected) == 4 + 5 + 6 + 2
    _same(lazy, expected)
    assert float(lazy["value"].sum().compute()) == pytest.approx(expected["value"].sum())


def test_a_hive_table_with_a_filter_prunes_partitions_before_binding(
    s3: S3Helper, client: Client, table: dict[tuple[int, int], pd.DataFrame]
) -> None:
    uri = f"s3://{BUCKET}/table/"
    condition = "year == 2024 and month != 2 and value > 100"
    lazy = _load(s3, uri, engine="dask", filter=condition, source_column="src")
    assert lazy.npartitions == 2  # 2024-01 and 2024-03: the others were pruned by the listing
    assert list(lazy.columns) == ["id", "city", "value", "flag", "year", "month", "src"]
    expected = _load(s3, uri, filter=condition, source_column="src")
    _same(lazy, expected)
    assert set(expected["year"]) == {2024} and (expected["value"] > 100).all()


def test_columns_and_projection_take_partition_and_source_columns(
    s3: S3Helper, client: Client, table: dict[tuple[int, int], pd.DataFrame]
) -> None:
    uri = f"s3://{BUCKET}/table/**/*.parquet"
    lazy = _load(s3, uri, engine="dask", columns=["month", "id"], filter="value >= 90", source_column="src")
    _same(lazy, _load(s3, uri, columns=["month", "id"], filter="value >= 90", source_column="src"))
    whole = _load(s3, uri, engine="dask", source_column="src")
    # A selection is pushed into each partition's read (dask calls the reader with columns=[...]).
    _same(whole[["src", "year"]], _load(s3, uri, source_column="src")[["src", "year"]])


def test_a_column_selection_reaches_each_objects_read(
    s3: S3Helper, table: dict[tuple[int, int], pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    from dreambolt_magic.engines import dask as dask_engine

    lazy = _load(s3, f"s3://{BUCKET}/table/", engine="dask", source_column="src")
    asked: list[Any] = []
    real = dask_engine.load_object

    def spy(uri: Any, options: Any, **kw: Any) -> Any:
        asked.append(options.read.column_list)
        return real(uri, options, **kw)

    monkeypatch.setattr(dask_engine, "load_object", spy)
    # In this process (the synchronous scheduler), so that the spy sees each partition's read.
    result = lazy[["value", "year", "src"]].compute(scheduler="sync")
    assert asked == [["value"]] * 6  # dask's optimizer passed the selection down; year and src are ours
    expected = _load(s3, f"s3://{BUCKET}/table/", source_column="src")[["value", "year", "src"]]
    pd.testing.assert_frame_equal(result.reset_index(drop=True), expected)


def test_nrows_is_a_lazy_head_of_the_set(s3: S3Helper, client: Client, logs: list[pd.DataFrame]) -> None:
    uri = f"s3://{BUCKET}/logs/*.csv"
    lazy = _load(s3, uri, engine="dask", nrows=7)
    assert isinstance(lazy, dd.DataFrame)
    _same(lazy, _load(s3, uri, nrows=7))


def test_a_single_object_is_one_partition_without_partition_columns(
    s3: S3Helper, client: Client, table: dict[tuple[int, int], pd.DataFrame]
) -> None:
    uri = f"s3://{BUCKET}/table/year=2023/month=2/part.parquet"
    lazy = _load(s3, uri, engine="dask")
    assert lazy.npartitions == 1
    _same(lazy, table[2023, 2])


def test_binding_reads_the_listing_and_the_first_object_only(
    s3: S3Helper, proxy: FaultProxy, client: Client, table: dict[tuple[int, int], pd.DataFrame]
) -> None:
    lazy = dm.load(f"s3://{BUCKET}/table/", engine="dask", endpoint_url=proxy.endpoint_url, progress=False)
    gets = [r for r in proxy.requests if r.method == "GET" and r.path.endswith(".parquet")]
    assert {unquote(r.path) for r in gets} == {f"/{BUCKET}/table/year=2023/month=1/part.parquet"}
    assert all(r.range for r in gets)  # nrows=0: a pruned read of the head and the footer, never a plain GET
    proxy.clear()
    lazy.compute()
    fetched = {unquote(r.path) for r in proxy.requests if r.method == "GET" and r.path.endswith(".parquet")}
    assert len(fetched) == 6


def test_no_credentials_travel_in_the_task_graph(
    s3: S3Helper, client: Client, monkeypatch: pytest.MonkeyPatch, logs: list[pd.DataFrame]
) -> None:
    key_id, secret, token = "AKIDENGINESTEST0001", "sEcReT/engines+test/0123456789", "TOKENengines0123"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    monkeypatch.setenv("AWS_SESSION_TOKEN", token)
    lazy = _load(s3, f"s3://{BUCKET}/logs/*.csv", engine="dask")
    graph = dict(lazy.__dask_graph__())
    blob = cloudpickle.dumps(graph)
    assert pickle.loads(blob).keys() == graph.keys()
    for value in (key_id, secret, token):
        assert value.encode() not in blob
    # The worker signed with its own credentials (the fake ones it started with); moto accepts any.
    _same(lazy, pd.concat(logs, ignore_index=True))


def test_an_s3_error_on_a_worker_is_ours(s3: S3Helper, client: Client, logs: list[pd.DataFrame]) -> None:
    lazy = _load(s3, f"s3://{BUCKET}/logs/*.csv", engine="dask")
    s3.client.delete_object(Bucket=BUCKET, Key="logs/2024-02.csv")  # gone between binding and computing
    with pytest.raises(S3NotFound) as caught:
        lazy.compute()
    assert caught.value.code == "NoSuchKey" and caught.value.uri == f"s3://{BUCKET}/logs/2024-02.csv"


def test_schemas_that_differ_follow_the_first_object(s3: S3Helper, client: Client) -> None:
    s3.make_bucket(BUCKET)
    first = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    s3.put(BUCKET, "mixed/1.csv", to_bytes(first, "csv"))
    s3.put(BUCKET, "mixed/2.csv", to_bytes(pd.DataFrame({"a": [3]}), "csv"))  # no b: null there
    s3.put(BUCKET, "mixed/3.csv", to_bytes(pd.DataFrame({"a": [4], "b": ["z"], "c": [1.5]}), "csv"))
    lazy = _load(s3, f"s3://{BUCKET}/mixed/", engine="dask")
    assert list(lazy.columns) == ["a", "b"]  # c, which the first object lacks, is not in the frame
    _same(lazy, _load(s3, f"s3://{BUCKET}/mixed/")[["a", "b"]])
    s3.put(BUCKET, "mixed/4.csv", to_bytes(pd.DataFrame({"a": ["text"], "b": ["w"]}), "csv"))
    with pytest.raises(S3FormatError) as caught:
        _load(s3, f"s3://{BUCKET}/mixed/", engine="dask").compute()
    assert caught.value.code == "SchemaMismatch" and caught.value.hints["column"] == "a"


def test_a_filter_on_an_unknown_column_fails_when_binding(
    s3: S3Helper, client: Client, logs: list[pd.DataFrame]
) -> None:
    with pytest.raises(S3FormatError) as caught:
        _load(s3, f"s3://{BUCKET}/logs/*.csv", engine="dask", filter="colour == 'red'")
    assert caught.value.code == "BadFilter"


# --- polars --------------------------------------------------------------------------------------------------


def test_polars_single_object_and_set_equal_the_pandas_load(
    s3: S3Helper, table: dict[tuple[int, int], pd.DataFrame]
) -> None:
    one = f"s3://{BUCKET}/table/year=2024/month=3/part.parquet"
    frame = _load(s3, one, engine="polars", columns="id,value")
    import polars as pl

    assert isinstance(frame, pl.DataFrame)
    assert frame.schema == pl.Schema({"id": pl.Int64, "value": pl.Float64})
    pd.testing.assert_frame_equal(frame.to_pandas(), _load(s3, one, columns="id,value"))
    many = f"s3://{BUCKET}/table/"
    frame = _load(s3, many, engine="polars", filter="month == 1", source_column="src")
    assert frame.columns == ["id", "city", "value", "flag", "year", "month", "src"]
    assert frame.schema["src"] == pl.Categorical and frame.schema["city"] == pl.String
    pd.testing.assert_frame_equal(frame.to_pandas(), _load(s3, many, filter="month == 1", source_column="src"))


def test_an_unknown_engine_is_refused_before_any_request(s3: S3Helper) -> None:
    with pytest.raises(ValueError, match="'pandas', 'dask', 'polars'"):
        _load(s3, "s3://no-such-bucket/x.csv", engine="spark")
