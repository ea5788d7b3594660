"""Real Delta Lake and Iceberg tables for the table tests, written by each table's own library.

Delta tables are written with deltalake to a local folder and uploaded as they are (:func:`upload`); Iceberg
tables are written by pyiceberg straight into moto (its metadata holds absolute paths), with a SQLite catalog
in a temporary folder. pyiceberg writes deletes copy-on-write only (its ``write.delete.mode=merge-on-read``
falls back to copy-on-write with a warning), so :func:`commit_deletes` commits a delete file the way a
merge-on-read writer (Spark, Flink) does, through pyiceberg's own manifest and snapshot classes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from pathlib import Path

    from conftest import S3Helper
    from pyiceberg.manifest import DataFileContent, ManifestFile
    from pyiceberg.table import Table

BUCKET = "lake"


def upload(s3: S3Helper, folder: Path, prefix: str) -> None:
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            s3.put(BUCKET, prefix + path.relative_to(folder).as_posix(), path.read_bytes())


def same(actual: pd.DataFrame, expected: pd.DataFrame, by: str = "n") -> None:
    actual = actual.sort_values(by).reset_index(drop=True)
    expected = expected.sort_values(by).reset_index(drop=True)
    pd.testing.assert_frame_equal(actual, expected, check_dtype=False)


def write_delta(s3: S3Helper, tmp_path: Path) -> dict[str, Any]:
    """A partitioned Delta table at s3://lake/sales/: version 0 of 6 rows, version 1 overwritten to 2."""
    from deltalake import write_deltalake

    folder = tmp_path / "sales"
    first = pd.DataFrame({"n": [1, 2, 3, 4, 5, 6], "year": [2023, 2023, 2024, 2024, 2024, 2025],
                          "city": ["Oslo", "Rome", "Lima", "Pune", "Kyiv", "Baku"]})
    write_deltalake(str(folder), first, partition_by=["year"])
    write_deltalake(str(folder), first.iloc[[1, 4]], mode="overwrite", partition_by=["year"])
    s3.make_bucket(BUCKET)
    upload(s3, folder, "sales/")
    return {"folder": folder, "uri": f"s3://{BUCKET}/sales/"}


def write_iceberg(s3: S3Helper, tmp_path: Path) -> dict[str, Any]:
    """An Iceberg table at s3://lake/warehouse/db/events/: an append of 4 rows, then an overwrite to 2."""
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
    return {"uri": table.metadata_location.split("/metadata/")[0] + "/", "table": table, "first": snapshot,
            "catalog": catalog}


def commit_deletes(table: Table, content: DataFileContent, rows: pa.Table, *,
                   equality_ids: list[int] | None = None) -> Table:
    """Commit ``rows`` as one delete file of ``content`` (position deletes: ``file_path``, ``pos``; equality
    deletes: the values of the columns ``equality_ids`` name) in a new snapshot; returns the table refreshed."""
    from pyiceberg.manifest import (
        DataFile,
        FileFormat,
        ManifestContent,
        ManifestEntry,
        ManifestEntryStatus,
        ManifestWriterV2,
    )
    from pyiceberg.table.snapshots import Operation
    from pyiceberg.table.update.snapshot import _FastAppendFiles
    from pyiceberg.typedef import Record

    class DeleteManifest(ManifestWriterV2):  # pyiceberg's writer of data manifests, for a delete manifest
        def content(self) -> ManifestContent:
            return ManifestContent.DELETES

        @property
        def _meta(self) -> dict[str, str]:
            return {**super()._meta, "content": "deletes"}

    path = f"{table.location()}/data/deletes-{content.name.lower()}.parquet"
    with table.io.new_output(path).create(overwrite=True) as out:
        pq.write_table(rows, out)
    delete = DataFile.from_args(content=content, file_path=path, file_format=FileFormat.PARQUET, partition=Record(),
                                record_count=rows.num_rows, file_size_in_bytes=len(table.io.new_input(path)),
                                equality_ids=equality_ids)

    class AddDeletes(_FastAppendFiles):  # a fast append whose new manifest is a delete manifest
        def _manifests(self) -> list[ManifestFile]:
            meta = self._transaction.table_metadata
            with DeleteManifest(meta.spec(), meta.schema(), self.new_manifest_output(), self._snapshot_id,
                                self._compression) as writer:
                writer.add(ManifestEntry.from_args(status=ManifestEntryStatus.ADDED, snapshot_id=self._snapshot_id,
                                                   sequence_number=None, file_sequence_number=None,
                                                   data_file=delete))
            return [writer.to_manifest_file(), *self._existing_manifests()]

    with table.transaction() as transaction:
        AddDeletes(operation=Operation.DELETE, transaction=transaction, io=table.io).commit()
    return table.refresh()


_Z85 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"


def _z85(data: bytes) -> str:
    """Z85 (ZeroMQ's base 85), which Delta uses for a deletion vector's file name in the log."""
    out = []
    for i in range(0, len(data), 4):
        value, chars = int.from_bytes(data[i : i + 4], "big"), []
        for _ in range(5):
            value, digit = divmod(value, 85)
            chars.append(_Z85[digit])
        out.append("".join(reversed(chars)))
    return "".join(out)


def delete_in_place(folder: Path, positions: list[int]) -> None:
    """Commit a deletion vector on the (only) data file of the Delta table at ``folder``: the rows at
    ``positions`` deleted in place, as Spark or Databricks deletes them (deltalake rewrites the file instead).

    The vector is written as the Delta protocol lays it out: a file ``deletion_vector_<uuid>.bin`` (a version
    byte, then the vector's size, a RoaringBitmapArray of one 32-bit Roaring bitmap, and its CRC-32), named
    in the log by the Z85 of its uuid; the commit removes the file's add and adds it again with the vector.
    """
    import json
    import struct
    import time
    import uuid
    import zlib

    log = folder / "_delta_log"
    last = max(log.glob("*.json"))
    adds = [entry["add"] for line in last.read_text().splitlines() if "add" in (entry := json.loads(line))]
    (add,) = adds
    roaring = (struct.pack("<II", 12346, 1) + struct.pack("<HH", 0, len(positions) - 1) + struct.pack("<I", 16)
               + b"".join(struct.pack("<H", p) for p in sorted(positions)))
    vector = struct.pack("<iqi", 1681511377, 1, 0) + roaring
    name = uuid.uuid4()
    (folder / f"deletion_vector_{name}.bin").write_bytes(
        bytes([1]) + struct.pack(">i", len(vector)) + vector + struct.pack(">I", zlib.crc32(vector)))
    now = int(time.time() * 1000)
    dv = {"storageType": "u", "pathOrInlineDv": _z85(name.bytes), "offset": 1, "sizeInBytes": len(vector),
          "cardinality": len(positions)}
    commit = [{"commitInfo": {"timestamp": now, "operation": "DELETE"}},
              {"remove": {"path": add["path"], "deletionTimestamp": now, "dataChange": True,
                          "extendedFileMetadata": True, "partitionValues": add["partitionValues"],
                          "size": add["size"]}},
              {"add": {**add, "modificationTime": now, "deletionVector": dv}}]
    version = int(last.stem) + 1
    (log / f"{version:020d}.json").write_text("".join(json.dumps(entry) + "\n" for entry in commit))
