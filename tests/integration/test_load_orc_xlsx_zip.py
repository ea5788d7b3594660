"""ORC, Excel workbooks and ZIP archives over HTTP against moto, single objects and sets.

Each object is written here with pyarrow.orc, pandas.to_excel or zipfile, never with the loader, and the
loader's frame is compared with pandas' own read of the same bytes.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.orc
import pytest
from helpers import make_frame

import dreambolt_magic

if TYPE_CHECKING:
    from conftest import S3Helper

BUCKET = "real-data"
ROWS = 300


def _load(s3: S3Helper, uri: str | list[str], **kw: Any) -> pd.DataFrame:
    return dreambolt_magic.load(uri, endpoint_url=s3.endpoint_url, progress=False, **kw)


@pytest.fixture
def source() -> pd.DataFrame:
    return make_frame(ROWS, seed=3, with_timestamps=True)


def orc_bytes(frame: pd.DataFrame, **kw: Any) -> bytes:
    sink = io.BytesIO()
    pyarrow.orc.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink, **kw)
    return sink.getvalue()


def stripes_of(data: bytes) -> int:
    return int(pyarrow.orc.ORCFile(pa.BufferReader(data)).nstripes)


# --- ORC ---------------------------------------------------------------------------------------------------


def test_orc_round_trips(s3: S3Helper, source: pd.DataFrame) -> None:
    s3.make_bucket(BUCKET)
    body = orc_bytes(source)
    df = _load(s3, s3.put(BUCKET, "t/data.orc", body))

    pd.testing.assert_frame_equal(df, pd.read_orc(io.BytesIO(body)))
    # ORC keeps timestamps in nanoseconds: the values are the ones written.
    pd.testing.assert_frame_equal(df, source.astype({"ts": "datetime64[ns]"}))
    assert df.attrs["s3"]["size"] == len(body)


def test_orc_columns_and_nrows_across_stripes(s3: S3Helper, source: pd.DataFrame) -> None:
    s3.make_bucket(BUCKET)
    body = orc_bytes(source, stripe_size=1024, batch_size=64)
    assert stripes_of(body) > 2  # the point: nrows must stop inside the stripes, not at the first
    uri = s3.put(BUCKET, "striped.orc", body)
    expected = pd.read_orc(io.BytesIO(body), columns=["value", "id"])

    pd.testing.assert_frame_equal(_load(s3, uri, columns=["value", "id"]), expected[["value", "id"]])
    pd.testing.assert_frame_equal(_load(s3, uri, nrows=150), pd.read_orc(io.BytesIO(body)).head(150))
    pd.testing.assert_frame_equal(_load(s3, uri, columns="city,id", nrows=70),
                                  pd.read_orc(io.BytesIO(body))[["city", "id"]].head(70))
    empty = _load(s3, uri, nrows=0)
    assert list(empty.columns) == list(source.columns) and len(empty) == 0


def test_orc_without_extension_is_sniffed(s3: S3Helper, source: pd.DataFrame) -> None:
    s3.make_bucket(BUCKET)
    body = orc_bytes(source)
    df = _load(s3, s3.put(BUCKET, "exports/latest", body))

    pd.testing.assert_frame_equal(df, pd.read_orc(io.BytesIO(body)))


def test_a_prefix_of_orc_files_loads_as_one_frame(s3: S3Helper, source: pd.DataFrame) -> None:
    s3.make_bucket(BUCKET)
    parts = [source.iloc[:100], source.iloc[100:200], source.iloc[200:]]
    for i, part in enumerate(parts):
        s3.put(BUCKET, f"orc/part-{i}.orc", orc_bytes(part))

    df = _load(s3, f"s3://{BUCKET}/orc/", columns=["id", "city"], source_column="source")

    assert df["id"].tolist() == source["id"].tolist()
    assert df["city"].tolist() == source["city"].tolist()
    assert df["source"].iloc[-1] == f"s3://{BUCKET}/orc/part-2.orc"
    assert df.attrs["s3"]["object_count"] == 3
