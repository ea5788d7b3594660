"""What a table may hold that dreambolt_magic's engine cannot apply is refused, never read into wrong rows,
over HTTP against moto: Iceberg delete files (position and equality deletes), Delta deletion vectors in use
and column mapping; and a Delta table that only allows deletion vectors is read.

The tables are real ones written by their libraries (tests/integration/tables_support.py); the delete files
are committed through pyiceberg's own manifest and snapshot classes, as a merge-on-read writer commits them,
and pyiceberg's own scan is the witness that its rows are deleted; the deletion vector is written as the Delta
protocol lays it out, and deltalake's kernel is the witness. Each refusal's remedy is run on the table's
local copy and gives the rows the table holds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pytest
from pyiceberg.manifest import DataFileContent
from tables_support import BUCKET, commit_deletes, delete_in_place, same, upload, write_iceberg

import dreambolt_magic as dm
from dreambolt_magic import S3FormatError
from dreambolt_magic.datasets import preview

if TYPE_CHECKING:
    from pathlib import Path

    from conftest import S3Helper


@pytest.fixture
def iceberg(s3: S3Helper, tmp_path: Path) -> dict[str, Any]:
    return write_iceberg(s3, tmp_path)


def _refused(uri: str, s3: S3Helper, **kw: Any) -> S3FormatError:
    with pytest.raises(S3FormatError) as caught:
        dm.load(uri, endpoint_url=s3.endpoint_url, progress=False, **kw)
    assert caught.value.code == "UnsupportedTable"
    return caught.value


def test_iceberg_position_deletes_are_refused_not_ignored(s3: S3Helper, iceberg: dict[str, Any]) -> None:
    before = iceberg["table"].current_snapshot().snapshot_id
    task = next(iter(iceberg["table"].scan().plan_files()))
    rows = pa.table({"file_path": [task.file.file_path], "pos": pa.array([0], pa.int64())})
    table = commit_deletes(iceberg["table"], DataFileContent.POSITION_DELETES, rows)
    # pyiceberg applies the delete: of the file's 2 rows (n 2 and 3), the first is gone in its view.
    assert table.scan().to_pandas()["n"].tolist() == [3]
    assert any(t.delete_files for t in table.scan().plan_files())

    refused = _refused(iceberg["uri"], s3)
    assert "position delete files" in str(refused)
    assert "1 of its 1 data files" in str(refused)
    # The remedy reads it with pyiceberg, from this very metadata file.
    assert f"StaticTable.from_metadata('{table.metadata_location}')" in refused.remedy
    with pytest.raises(S3FormatError) as caught:
        preview.info(iceberg["uri"], endpoint_url=s3.endpoint_url)
    assert caught.value.code == "UnsupportedTable"
    # The snapshot before the delete has none: it loads, as pyiceberg reads it.
    df = dm.load(iceberg["uri"], endpoint_url=s3.endpoint_url, progress=False, table_version=before)
    same(df, table.scan(snapshot_id=before).to_pandas())


def test_iceberg_equality_deletes_are_refused_not_ignored(s3: S3Helper, iceberg: dict[str, Any]) -> None:
    rows = pa.table({"n": pa.array([3], pa.int64())})
    table = commit_deletes(iceberg["table"], DataFileContent.EQUALITY_DELETES, rows, equality_ids=[1])
    # pyiceberg cannot apply them either: its own scan refuses.
    with pytest.raises(ValueError, match="equality deletes"):
        table.scan().to_pandas()

    refused = _refused(iceberg["uri"], s3)
    assert "equality delete files" in str(refused)
    assert "Spark" in refused.remedy  # pyiceberg cannot: an engine that applies them


def _by_its_remedy(refused: S3FormatError, uri: str, folder: Path) -> list[int]:
    """The rows the refusal's remedy reads (run on the table's local copy): what the table really holds."""
    import deltalake

    code = refused.hints["reader"].replace(repr(uri), repr(str(folder)))
    frame = eval(code, {"pyarrow": pa, "deltalake": deltalake})  # noqa: S307 (our own message, tested)
    return sorted(frame["n"].tolist())


def test_delta_column_mapping_is_refused_not_read_under_other_names(s3: S3Helper, tmp_path: Path) -> None:
    from deltalake import DeltaTable, write_deltalake

    folder = tmp_path / "mapped"
    write_deltalake(str(folder), pd.DataFrame({"n": [1, 2, 3]}), configuration={"delta.columnMapping.mode": "name"})
    assert "delta.columnMapping.physicalName" in DeltaTable(str(folder)).schema().to_json()  # names mapped
    s3.make_bucket(BUCKET)
    upload(s3, folder, "mapped/")
    refused = _refused(f"s3://{BUCKET}/mapped/", s3)
    assert "column mapping (name)" in str(refused)
    assert _by_its_remedy(refused, f"s3://{BUCKET}/mapped/", folder) == [1, 2, 3]


def test_delta_deletion_vectors_in_use_are_refused_not_ignored(s3: S3Helper, tmp_path: Path) -> None:
    import deltalake
    from deltalake import write_deltalake

    folder = tmp_path / "dv"
    write_deltalake(str(folder), pd.DataFrame({"n": [1, 2, 3]}), configuration={"delta.enableDeletionVectors": "true"})
    delete_in_place(folder, [1])
    # deltalake's kernel reads the vector: the second row is deleted in its view.
    vectors = pa.table(deltalake.DeltaTable(str(folder)).deletion_vectors()).to_pylist()
    assert [v["selection_vector"] for v in vectors] == [[True, False, True]]
    s3.make_bucket(BUCKET)
    upload(s3, folder, "dv/")
    refused = _refused(f"s3://{BUCKET}/dv/", s3)
    assert "deletion vectors (rows deleted in place, in 1 of its files)" in str(refused)
    assert _by_its_remedy(refused, f"s3://{BUCKET}/dv/", folder) == [1, 3]


def test_a_delta_table_that_allows_deletion_vectors_but_uses_none_loads(s3: S3Helper, tmp_path: Path) -> None:
    from deltalake import DeltaTable, write_deltalake

    folder = tmp_path / "dv"
    write_deltalake(str(folder), pd.DataFrame({"n": [1, 2, 3]}), configuration={"delta.enableDeletionVectors": "true"})
    DeltaTable(str(folder)).delete("n = 2")  # deltalake rewrites the file: the feature is on, no vector in use
    assert "deletionVectors" in (DeltaTable(str(folder)).protocol().reader_features or [])
    s3.make_bucket(BUCKET)
    upload(s3, folder, "dv/")
    df = dm.load(f"s3://{BUCKET}/dv/", endpoint_url=s3.endpoint_url, progress=False)
    assert sorted(df["n"].tolist()) == [1, 3]
