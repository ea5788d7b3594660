"""A Delta Lake or Iceberg table is never read as its raw files, over HTTP against moto.

A table's root is read through its log or metadata (tests/integration/test_tables.py has real tables); the
logs here are not real ones, so their root is refused as unreadable, and no data file is read either.

A table's data files are its history: after an overwrite, a delete or a compaction, files stay that its log
(Delta) or metadata (Iceberg) no longer names. Read as plain Parquet, they give rows the table no longer has,
as success. These tests lay out tables as their writers do (a current and a superseded part file, the log or
metadata beside them) and check that every way of naming a set inside one is refused before any GET of a
data file, while the same layouts without the table's own files still load.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest
from helpers import make_frame, to_bytes

import dreambolt_magic as dm
from dreambolt_magic import S3FormatError
from dreambolt_magic.datasets import preview

if TYPE_CHECKING:
    from conftest import S3Helper
    from faults.proxy import FaultProxy

BUCKET = "lake"


def _delta(s3: S3Helper, root: str, *, partitioned: bool = False) -> None:
    """A Delta table whose version 1 overwrote version 0: the old part file is still there."""
    folder = f"{root}year=2024/" if partitioned else root
    s3.put(BUCKET, f"{folder}part-00000-old.snappy.parquet", to_bytes(make_frame(5, seed=1), "parquet"))
    s3.put(BUCKET, f"{folder}part-00001-new.snappy.parquet", to_bytes(make_frame(3, seed=2), "parquet"))
    add = {"add": {"path": "part-00000-old.snappy.parquet", "size": 1, "dataChange": True}}
    remove = {"remove": {"path": "part-00000-old.snappy.parquet", "dataChange": True}}
    s3.put(BUCKET, f"{root}_delta_log/00000000000000000000.json", json.dumps(add).encode())
    s3.put(BUCKET, f"{root}_delta_log/00000000000000000001.json", json.dumps(remove).encode())


def _iceberg(s3: S3Helper, root: str) -> None:
    s3.put(BUCKET, f"{root}data/year=2024/00000-0-old.parquet", to_bytes(make_frame(5, seed=1), "parquet"))
    s3.put(BUCKET, f"{root}data/year=2024/00001-0-new.parquet", to_bytes(make_frame(3, seed=2), "parquet"))
    s3.put(BUCKET, f"{root}metadata/00000-1f2e.metadata.json", b'{"format-version": 2}')
    s3.put(BUCKET, f"{root}metadata/snap-1-1-1f2e.avro", b"Obj\x01")


def _data_gets(proxy: FaultProxy) -> list[str]:
    return [seen.path for seen in proxy.requests if seen.method in ("GET", "HEAD") and seen.path.endswith(".parquet")]


def _refused(proxy: FaultProxy, uri: str, code: str, table: str, **kw: Any) -> S3FormatError:
    with pytest.raises(S3FormatError) as caught:
        dm.load(uri, endpoint_url=proxy.endpoint_url, progress=False, **kw)
    assert caught.value.code == code
    assert caught.value.hints["table"] == table
    assert _data_gets(proxy) == []  # refused from the listing, before any data file was read
    return caught.value


@pytest.mark.parametrize(
    ("name", "kw"),
    [("prefix", {}), ("nrows", {"nrows": 2}), ("sample", {"sample": 2}), ("columns", {"columns": ["n"]})],
)
def test_a_delta_tables_root_is_read_by_its_log_never_as_files(
    s3: S3Helper, proxy: FaultProxy, name: str, kw: dict[str, Any]
) -> None:
    s3.make_bucket(BUCKET)
    _delta(s3, "sales/")
    error = _refused(proxy, f"s3://{BUCKET}/sales/", "BadTable", f"s3://{BUCKET}/sales/", **kw)
    assert "Delta Lake" in str(error)


def test_a_glob_over_a_delta_tables_files_is_refused(s3: S3Helper, proxy: FaultProxy) -> None:
    s3.make_bucket(BUCKET)
    _delta(s3, "sales/")
    _refused(proxy, f"s3://{BUCKET}/sales/*.parquet", "DeltaTable", f"s3://{BUCKET}/sales/")


def test_a_partition_of_a_delta_table_is_refused(s3: S3Helper, proxy: FaultProxy) -> None:
    # The listing of one partition holds none of the table's log: the folder above it is asked.
    s3.make_bucket(BUCKET)
    _delta(s3, "sales/", partitioned=True)
    error = _refused(proxy, f"s3://{BUCKET}/sales/year=2024/", "DeltaTable", f"s3://{BUCKET}/sales/")
    assert "--filter" in error.remedy and f"s3://{BUCKET}/sales/" in error.remedy
    _refused(proxy, f"s3://{BUCKET}/sales/year=*/*.parquet", "DeltaTable", f"s3://{BUCKET}/sales/")


def test_a_table_below_a_listed_prefix_is_refused(s3: S3Helper, proxy: FaultProxy) -> None:
    s3.make_bucket(BUCKET)
    s3.put(BUCKET, "warehouse/plain/a.parquet", to_bytes(make_frame(2), "parquet"))
    _delta(s3, "warehouse/sales/")
    _refused(proxy, f"s3://{BUCKET}/warehouse/", "DeltaTable", f"s3://{BUCKET}/warehouse/sales/")


@pytest.mark.parametrize(("sub", "code"), [("", "BadTable"), ("data/", "IcebergTable"),
                                          ("data/year=2024/", "IcebergTable")])
def test_an_iceberg_table_and_its_data_folders_are_refused(
    s3: S3Helper, proxy: FaultProxy, sub: str, code: str
) -> None:
    s3.make_bucket(BUCKET)
    _iceberg(s3, "events/")
    error = _refused(proxy, f"s3://{BUCKET}/events/{sub}", code, f"s3://{BUCKET}/events/")
    assert "Iceberg" in error.explanation
    if sub:
        assert f"s3://{BUCKET}/events/" in error.remedy  # load the table's root instead


def test_info_on_a_table_that_cannot_be_read_is_refused(s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)
    _delta(s3, "sales/")
    with pytest.raises(S3FormatError) as caught:
        preview.info(f"s3://{BUCKET}/sales/", endpoint_url=s3.endpoint_url)
    assert caught.value.code == "BadTable"  # its log is not a real one: read by the log, never as files


def test_the_same_layouts_without_a_table_still_load(s3: S3Helper) -> None:
    # Partition folders, a folder named data, and a metadata folder of other files are not tables.
    s3.make_bucket(BUCKET)
    frames = [make_frame(4, seed=1), make_frame(3, seed=2)]
    s3.put(BUCKET, "plain/data/year=2024/a.parquet", to_bytes(frames[0], "parquet"))
    s3.put(BUCKET, "plain/data/year=2024/b.parquet", to_bytes(frames[1], "parquet"))
    s3.put(BUCKET, "plain/metadata/notes.json", b"{}")
    df = dm.load(f"s3://{BUCKET}/plain/data/year=2024/", endpoint_url=s3.endpoint_url, progress=False)
    expected = pd.concat(frames, ignore_index=True)
    pd.testing.assert_frame_equal(df.drop(columns="year").reset_index(drop=True), expected, check_dtype=False)
    assert set(df["year"]) == {2024}


def test_a_single_named_file_of_a_table_still_loads(s3: S3Helper) -> None:
    # Naming one file by its full key is the user's own choice of file, not a listing of the table.
    s3.make_bucket(BUCKET)
    _delta(s3, "sales/")
    df = dm.load(f"s3://{BUCKET}/sales/part-00001-new.snappy.parquet", endpoint_url=s3.endpoint_url,
                 progress=False)
    pd.testing.assert_frame_equal(df, make_frame(3, seed=2))
