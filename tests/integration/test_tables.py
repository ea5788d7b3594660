"""Delta Lake and Iceberg tables read as tables, over HTTP against moto: the frame is the table's current
version (or the one asked for), never its raw files.

Delta tables are written with deltalake to a local folder (an append, then an overwrite, so the folder holds
files the current version no longer has) and uploaded as they are; Iceberg tables are written by pyiceberg
straight into moto (its metadata holds absolute paths), with a SQLite catalog in a temporary folder. Expected
frames come from each library's own reader, never from ours.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import deltalake
import pandas as pd
import pytest

import dreambolt_magic as dm
from dreambolt_magic import S3FormatError

if TYPE_CHECKING:
    from conftest import S3Helper
    from faults.proxy import FaultProxy

BUCKET = "lake"


def _upload(s3: S3Helper, folder: Path, prefix: str) -> None:
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            s3.put(BUCKET, prefix + path.relative_to(folder).as_posix(), path.read_bytes())


def _same(actual: pd.DataFrame, expected: pd.DataFrame, by: str = "n") -> None:
    actual = actual.sort_values(by).reset_index(drop=True)
    expected = expected.sort_values(by).reset_index(drop=True)
    pd.testing.assert_frame_equal(actual, expected, check_dtype=False)


@pytest.fixture
def delta(s3: S3Helper, tmp_path: Path) -> dict[str, Any]:
    """A partitioned Delta table at s3://lake/sales/: version 0 of 6 rows, version 1 overwritten to 2."""
    from deltalake import write_deltalake

    folder = tmp_path / "sales"
    first = pd.DataFrame({"n": [1, 2, 3, 4, 5, 6], "year": [2023, 2023, 2024, 2024, 2024, 2025],
                          "city": ["Oslo", "Rome", "Lima", "Pune", "Kyiv", "Baku"]})
    write_deltalake(str(folder), first, partition_by=["year"])
    write_deltalake(str(folder), first.iloc[[1, 4]], mode="overwrite", partition_by=["year"])
    s3.make_bucket(BUCKET)
    _upload(s3, folder, "sales/")
    return {"folder": folder, "uri": f"s3://{BUCKET}/sales/"}


def _library(folder: Path, version: int | None = None) -> pd.DataFrame:
    frame = deltalake.DeltaTable(str(folder), version=version).to_pandas()
    return frame


def test_a_delta_tables_root_loads_its_current_version_not_its_files(s3: S3Helper, delta: dict[str, Any]) -> None:
    df = dm.load(delta["uri"], endpoint_url=s3.endpoint_url, progress=False)
    _same(df, _library(delta["folder"]))
    assert len(df) == 2  # the raw files hold 8 rows
    assert list(df.columns) == ["n", "year", "city"]  # the table's own column order
    table = df.attrs["s3"]["table"]
    assert (table["format"], table["version"], table["files"], table["rows"]) == ("delta", 1, 2, 2)


def test_table_version_reads_an_older_version(s3: S3Helper, delta: dict[str, Any]) -> None:
    df = dm.load(delta["uri"], endpoint_url=s3.endpoint_url, progress=False, table_version=0)
    _same(df, _library(delta["folder"], 0))
    assert len(df) == 6 and df.attrs["s3"]["table"]["version"] == 0


def test_a_delta_tables_columns_and_filter_go_through_our_engine(
    s3: S3Helper, delta: dict[str, Any], proxy: FaultProxy
) -> None:
    df = dm.load(delta["uri"], endpoint_url=proxy.endpoint_url, progress=False, columns=["city"],
                 filter="year == 2024")
    assert df["city"].tolist() == ["Kyiv"]
    # The other partition's file was never fetched: the filter decided on the log's partition values.
    fetched = [unquote(r.path) for r in proxy.requests if r.method == "GET" and r.path.endswith(".parquet")]
    assert fetched and all("year=2024" in p for p in fetched)


def test_the_magic_reads_a_table_and_its_versions(ip: Any, s3: S3Helper, delta: dict[str, Any]) -> None:
    ip.run_cell_magic("s3ingest", "now --quiet", delta["uri"])
    ip.run_cell_magic("s3ingest", "then --quiet --table-version 0", delta["uri"])
    _same(ip.user_ns["now"], _library(delta["folder"]))
    _same(ip.user_ns["then"], _library(delta["folder"], 0))


def test_a_partition_of_a_table_is_still_refused(s3: S3Helper, delta: dict[str, Any]) -> None:
    with pytest.raises(S3FormatError) as caught:
        dm.load(delta["uri"] + "year=2024/", endpoint_url=s3.endpoint_url, progress=False)
    assert caught.value.code == "DeltaTable"
    assert "--filter" in caught.value.remedy


def test_without_deltalake_the_table_is_refused_naming_the_install(
    s3: S3Helper, delta: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "deltalake", None)  # as if it were not installed: import fails
    with pytest.raises(S3FormatError) as caught:
        dm.load(delta["uri"], endpoint_url=s3.endpoint_url, progress=False)
    assert caught.value.code == "TableReaderMissing"
    assert "pip install 'dreambolt_magic[delta]'" in caught.value.remedy


def test_table_version_on_a_plain_prefix_is_refused(s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)
    s3.put(BUCKET, "plain/a.csv", b"n\n1\n")
    with pytest.raises(ValueError, match="table_version is for the root"):
        dm.load(f"s3://{BUCKET}/plain/", endpoint_url=s3.endpoint_url, progress=False, table_version=0)


def test_deletion_vectors_are_refused_not_ignored(s3: S3Helper, tmp_path: Path) -> None:
    from deltalake import DeltaTable, write_deltalake

    folder = tmp_path / "dv"
    write_deltalake(str(folder), pd.DataFrame({"n": [1, 2, 3]}),
                    configuration={"delta.enableDeletionVectors": "true"})
    DeltaTable(str(folder)).delete("n = 2")
    s3.make_bucket(BUCKET)
    _upload(s3, folder, "dv/")
    with pytest.raises(S3FormatError) as caught:
        dm.load(f"s3://{BUCKET}/dv/", endpoint_url=s3.endpoint_url, progress=False)
    assert caught.value.code == "UnsupportedTable"
    assert "deletion vectors" in str(caught.value)


@pytest.fixture
def iceberg(s3: S3Helper, tmp_path: Path) -> dict[str, Any]:
    """An Iceberg table at s3://lake/warehouse/db/events/: an append of 4 rows, then an overwrite to 2."""
    import pyarrow as pa
    from pyiceberg.catalog.sql import SqlCatalog

    s3.make_bucket(BUCKET)
    catalog = SqlCatalog("test", uri=f"sqlite:///{tmp_path / 'catalog.db'}", warehouse=f"s3://{BUCKET}/warehouse",
                         **{"s3.endpoint": s3.endpoint_url, "s3.access-key-id": "testing",
                            "s3.secret-access-key": "testing", "s3.region": "us-east-1"})
    catalog.create_namespace("db")
    first = pa.table({"n": pa.array([1, 2, 3, 4], pa.int64()), "city": ["Oslo", "Rome", "Lima", "Pune"]})
    table = catalog.create_table("db.events", schema=first.schema)
    table.append(first)
    snapshot = table.current_snapshot().snapshot_id
    table.overwrite(first.slice(1, 2))
    return {"uri": table.metadata_location.split("/metadata/")[0] + "/", "table": table, "first": snapshot}


def test_an_iceberg_tables_root_loads_its_current_snapshot(s3: S3Helper, iceberg: dict[str, Any]) -> None:
    df = dm.load(iceberg["uri"], endpoint_url=s3.endpoint_url, progress=False)
    expected = iceberg["table"].scan().to_pandas()
    _same(df, expected)
    assert len(df) == 2 and df.attrs["s3"]["table"]["format"] == "iceberg"


def test_an_iceberg_snapshot_id_reads_that_snapshot(s3: S3Helper, iceberg: dict[str, Any]) -> None:
    df = dm.load(iceberg["uri"], endpoint_url=s3.endpoint_url, progress=False, table_version=iceberg["first"])
    expected = iceberg["table"].scan(snapshot_id=iceberg["first"]).to_pandas()
    _same(df, expected)
    assert len(df) == 4 and df.attrs["s3"]["table"]["version"] == iceberg["first"]


def test_an_iceberg_table_with_delete_files_is_refused(s3: S3Helper, iceberg: dict[str, Any]) -> None:
    table = iceberg["table"]
    try:
        table.delete("n == 2", snapshot_properties={})
    except Exception as exc:  # pragma: no cover - a pyiceberg that cannot write position deletes
        pytest.fail(f"pyiceberg could not delete: {exc}")
    df_expected = table.scan().to_pandas()
    tasks = list(table.scan().plan_files())
    if not any(t.delete_files for t in tasks):
        # pyiceberg rewrote the data file (copy-on-write): no delete file, so the load must simply be right.
        _same(dm.load(iceberg["uri"], endpoint_url=s3.endpoint_url, progress=False), df_expected)
        return
    with pytest.raises(S3FormatError) as caught:
        dm.load(iceberg["uri"], endpoint_url=s3.endpoint_url, progress=False)
    assert caught.value.code == "UnsupportedTable"


def test_info_on_a_tables_root_describes_the_table(s3: S3Helper, delta: dict[str, Any]) -> None:
    from dreambolt_magic.datasets import preview

    found = preview.info(delta["uri"], endpoint_url=s3.endpoint_url)
    assert found.table is not None and (found.table["format"], found.table["version"]) == ("delta", 1)
    assert len(found.objects) == 2 and found.rows == 2  # the current files, not the folder's four
    assert list(found.schema) == ["n", "year", "city"]
    assert str(found).splitlines()[0] == "Delta Lake table, version 1: the 2 files its log names"
