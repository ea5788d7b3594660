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
from IPython.utils.capture import capture_output
from tables_support import BUCKET, same, upload, write_delta, write_iceberg

import dreambolt_magic as dm
from dreambolt_magic import S3FormatError
from dreambolt_magic.datasets import preview

if TYPE_CHECKING:
    from conftest import S3Helper
    from faults.proxy import FaultProxy


@pytest.fixture
def delta(s3: S3Helper, tmp_path: Path) -> dict[str, Any]:
    return write_delta(s3, tmp_path)


def _library(folder: Path, version: int | None = None) -> pd.DataFrame:
    frame = deltalake.DeltaTable(str(folder), version=version).to_pandas()
    return frame


def test_a_delta_tables_root_loads_its_current_version_not_its_files(s3: S3Helper, delta: dict[str, Any]) -> None:
    df = dm.load(delta["uri"], endpoint_url=s3.endpoint_url, progress=False)
    same(df, _library(delta["folder"]))
    assert len(df) == 2  # the raw files hold 8 rows
    assert list(df.columns) == ["n", "year", "city"]  # the table's own column order
    table = df.attrs["s3"]["table"]
    assert (table["format"], table["version"], table["files"], table["rows"]) == ("delta", 1, 2, 2)


def test_table_version_reads_an_older_version(s3: S3Helper, delta: dict[str, Any]) -> None:
    df = dm.load(delta["uri"], endpoint_url=s3.endpoint_url, progress=False, table_version=0)
    same(df, _library(delta["folder"], 0))
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
    same(ip.user_ns["now"], _library(delta["folder"]))
    same(ip.user_ns["then"], _library(delta["folder"], 0))


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
    with pytest.raises(S3FormatError) as caught:
        dm.load(f"s3://{BUCKET}/plain/", endpoint_url=s3.endpoint_url, progress=False, table_version=0)
    err = caught.value
    assert err.code == "NotATable" and err.uri == f"s3://{BUCKET}/plain/"
    assert "is not the root of a Delta Lake or Apache Iceberg table" in err.explanation
    assert "--table-version" in err.explanation and "applies only to" in err.explanation
    assert "leave --table-version out" in err.remedy.lower() and "_delta_log/" in err.remedy


@pytest.fixture
def iceberg(s3: S3Helper, tmp_path: Path) -> dict[str, Any]:
    return write_iceberg(s3, tmp_path)


def test_an_iceberg_tables_root_loads_its_current_snapshot(s3: S3Helper, iceberg: dict[str, Any]) -> None:
    df = dm.load(iceberg["uri"], endpoint_url=s3.endpoint_url, progress=False)
    expected = iceberg["table"].scan().to_pandas()
    same(df, expected)
    assert len(df) == 2 and df.attrs["s3"]["table"]["format"] == "iceberg"


def test_an_iceberg_snapshot_id_reads_that_snapshot(s3: S3Helper, iceberg: dict[str, Any]) -> None:
    df = dm.load(iceberg["uri"], endpoint_url=s3.endpoint_url, progress=False, table_version=iceberg["first"])
    expected = iceberg["table"].scan(snapshot_id=iceberg["first"]).to_pandas()
    same(df, expected)
    assert len(df) == 4 and df.attrs["s3"]["table"]["version"] == iceberg["first"]


def test_info_on_a_tables_root_describes_the_table(s3: S3Helper, delta: dict[str, Any]) -> None:
    found = preview.info(delta["uri"], endpoint_url=s3.endpoint_url)
    assert found.table is not None and (found.table["format"], found.table["version"]) == ("delta", 1)
    assert len(found.objects) == 2 and found.rows == 2  # the current files, not the folder's four
    assert list(found.schema) == ["n", "year", "city"]
    assert str(found).splitlines()[0] == "Delta Lake table, version 1: the 2 files its log names"


def test_info_on_an_iceberg_root_describes_its_snapshot(ip: Any, s3: S3Helper, iceberg: dict[str, Any]) -> None:
    table = iceberg["table"]
    current = table.current_snapshot().snapshot_id
    found = ip.run_line_magic("s3ingest_info", iceberg["uri"])  # what dreambolt_magic.datasets.preview.info gives
    assert found.table is not None
    assert (found.table["format"], found.table["version"], found.table["files"]) == ("iceberg", current, 1)
    assert found.table["metadata"] == table.metadata_location
    assert len(found.objects) == 1 and found.rows == 2  # the current snapshot's file, not the folder's two
    assert found.schema == {"n": "int64", "city": "string"}
    lines = str(found).splitlines()
    assert lines[0] == f"Apache Iceberg table, snapshot {current}: the 1 file its metadata names"
    assert f"Metadata: {table.metadata_location}" in lines
    # And at another snapshot, as --table-version loads it.
    older = ip.run_line_magic("s3ingest_info", f"{iceberg['uri']} --table-version {iceberg['first']}")
    assert (older.table["version"], older.rows) == (iceberg["first"], 4)
    with capture_output() as shown:
        ip.run_cell_magic("s3ingest", f"df --info --table-version {iceberg['first']}", iceberg["uri"])
    text = "".join(str(o.data.get("text/plain", "")) for o in shown.outputs)
    assert f"snapshot {iceberg['first']}: the 1 file" in text and "4 rows" in text


def test_a_tables_load_says_which_version_it_read(s3: S3Helper, delta: dict[str, Any],
                                                   iceberg: dict[str, Any]) -> None:
    df = dm.load(delta["uri"], endpoint_url=s3.endpoint_url, progress=False, table_version=0)
    assert dm.summarize(df).startswith("Loaded s3://lake/sales/ (Delta Lake table, version 0: 3 files): 6 rows")
    df = dm.load(iceberg["uri"], endpoint_url=s3.endpoint_url, progress=False)
    snapshot = iceberg["table"].current_snapshot().snapshot_id
    assert dm.summarize(df).startswith(f"Loaded {iceberg['uri']} (Apache Iceberg table, snapshot {snapshot}: "
                                       "1 file): 2 rows")


def test_a_table_with_no_file_loads_as_an_empty_frame_of_its_columns(
    s3: S3Helper, iceberg: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deltalake import DeltaTable, write_deltalake

    created = iceberg["catalog"].create_table("db.new", schema=iceberg["table"].schema())  # no snapshot yet
    folder = tmp_path / "gone"
    write_deltalake(str(folder), pd.DataFrame({"n": [1, 2], "city": ["Oslo", "Rome"]}))
    DeltaTable(str(folder)).delete("n > 0")  # version 1 has no file
    upload(s3, folder, "gone/")
    for uri in (created.metadata_location.split("/metadata/")[0] + "/", f"s3://{BUCKET}/gone/"):
        df = dm.load(uri, endpoint_url=s3.endpoint_url, progress=False)
        assert df.empty and list(df.columns) == ["n", "city"] and str(df["n"].dtype) == "int64"
        assert df.attrs["s3"]["table"]["files"] == 0
        assert list(dm.load(uri, endpoint_url=s3.endpoint_url, progress=False, columns=["city"]).columns) == ["city"]
        monkeypatch.setenv("AWS_ENDPOINT_URL", s3.endpoint_url)
        found = preview.info(uri)  # the endpoint from the environment: no file gives one
        monkeypatch.delenv("AWS_ENDPOINT_URL")
        assert found.rows == 0 and found.schema["n"] == "int64"
