"""Which version of a table a load reads, over HTTP against moto: a version or snapshot that does not exist is
a clear error naming the ones that do (never the library's traceback, never the current rows under another
number), and without one the newest metadata is the table's current state.

The tables are real ones written by their libraries (tests/integration/tables_support.py).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pytest
from helpers import make_frame, to_bytes
from IPython.utils.capture import capture_output
from tables_support import BUCKET, same, write_delta, write_iceberg

import dreambolt_magic as dm
from dreambolt_magic import S3Error, S3FormatError, S3NotFound

if TYPE_CHECKING:
    from pathlib import Path

    from conftest import S3Helper
    from IPython.core.interactiveshell import InteractiveShell


@pytest.fixture
def delta(s3: S3Helper, tmp_path: Path) -> dict[str, Any]:
    return write_delta(s3, tmp_path)


@pytest.fixture
def iceberg(s3: S3Helper, tmp_path: Path) -> dict[str, Any]:
    return write_iceberg(s3, tmp_path)


def _missing(uri: str, s3: S3Helper, version: int) -> S3NotFound:
    with pytest.raises(S3NotFound) as caught:
        dm.load(uri, endpoint_url=s3.endpoint_url, progress=False, table_version=version)
    assert caught.value.code == "NoSuchTableVersion"
    chained: BaseException | None = caught.value
    while chained is not None:  # no library's exception under ours, to show as its traceback
        assert isinstance(chained, S3Error), repr(chained)
        chained = chained.__cause__ or (None if chained.__suppress_context__ else chained.__context__)
    return caught.value


def test_a_delta_version_that_does_not_exist_names_those_that_do(s3: S3Helper, delta: dict[str, Any]) -> None:
    missing = _missing(delta["uri"], s3, 7)
    assert "has no version 7" in str(missing) and "versions 0 to 1 (1 is the current one)" in str(missing)
    assert "--table-version" in missing.remedy
    assert "Kernel" not in str(missing)  # the library's own words are not the message


def test_the_magic_shows_a_missing_version_as_an_explanation(ip: InteractiveShell, delta: dict[str, Any]) -> None:
    with pytest.raises(S3NotFound, match="has no version 7"):
        ip.run_cell_magic("s3ingest", "df --quiet --table-version 7", delta["uri"])
    assert "df" not in ip.user_ns


def test_an_iceberg_snapshot_that_does_not_exist_names_those_that_do(s3: S3Helper, iceberg: dict[str, Any]) -> None:
    table = iceberg["table"]
    current = table.current_snapshot().snapshot_id
    for version in (12345, 0):  # 0 is no snapshot id either: never the current snapshot's rows under it
        missing = _missing(iceberg["uri"], s3, version)
        assert f"has no snapshot {version}" in str(missing)
        assert re.search(rf"{current} \(\d{{4}}-\d\d-\d\d \d\d:\d\d UTC, the current one\)", str(missing))
        assert str(iceberg["first"]) in str(missing)


def test_a_hadoop_tables_newest_metadata_is_read_not_the_hinted_or_the_last_by_name(
    s3: S3Helper, iceberg: dict[str, Any]
) -> None:
    """A table as a Hadoop catalog lays it out: metadata/v1.metadata.json ... v11.metadata.json and a
    version-hint.text that lags. v11 sorts before v9 by name; the number says which is newest."""
    table = iceberg["table"]
    for n in range(8):  # 3 metadata files so far (create, append, overwrite): 8 appends more make 11
        table.append(pa.table({"n": pa.array([10 + n], pa.int64()), "city": [f"c{n}"]}))
    logged = [entry.metadata_file for entry in table.metadata.metadata_log] + [table.metadata_location]
    assert len(logged) == 11
    client, prefix = s3.client, iceberg["uri"].removeprefix(f"s3://{BUCKET}/") + "metadata/"
    for number, location in enumerate(logged, start=1):
        key = location.removeprefix(f"s3://{BUCKET}/")
        client.copy_object(Bucket=BUCKET, Key=f"{prefix}v{number}.metadata.json", CopySource=f"{BUCKET}/{key}")
        client.delete_object(Bucket=BUCKET, Key=key)
    s3.put(BUCKET, prefix + "version-hint.text", b"9")

    df = dm.load(iceberg["uri"], endpoint_url=s3.endpoint_url, progress=False)
    same(df, table.scan().to_pandas())
    assert len(df) == 10 and df.attrs["s3"]["table"]["version"] == table.current_snapshot().snapshot_id
    assert df.attrs["s3"]["table"]["metadata"].endswith("/metadata/v11.metadata.json")
    assert json.loads(client.get_object(Bucket=BUCKET, Key=prefix + "v11.metadata.json")["Body"].read())[
        "current-snapshot-id"] == table.current_snapshot().snapshot_id


@pytest.mark.parametrize("line", ["%%s3ingest df --quiet --table-version 3", "%s3ingest_info --table-version 3"],
                         ids=["load", "info"])
def test_the_magic_explains_a_table_version_on_a_plain_prefix(ip: InteractiveShell, s3: S3Helper, line: str) -> None:
    s3.make_bucket(BUCKET)
    for i in range(2):
        s3.put(BUCKET, f"plain/part-{i}.parquet", to_bytes(make_frame(5, seed=i), "parquet"))
    uri = f"s3://{BUCKET}/plain/"
    with capture_output() as shown, pytest.raises(S3FormatError) as caught:
        if line.startswith("%%"):
            ip.run_cell_magic("s3ingest", line.removeprefix("%%s3ingest "), uri)
        else:
            ip.run_line_magic("s3ingest_info", f"{uri} {line.removeprefix('%s3ingest_info ')}")
    err = caught.value
    assert err.code == "NotATable" and err.displayed  # shown as an explanation, not a traceback
    [output] = shown.outputs
    assert "is not the root of a Delta Lake or Apache Iceberg table" in output.data["text/html"]
    assert "Leave --table-version out" in output.data["text/plain"]
    assert "df" not in ip.user_ns
