"""A set of Parquet files converted into pandas at once, over HTTP against moto: the frame is the one pandas
makes of the same files (``pd.read_parquet`` of each, ``pd.concat``), whether the files' tables could be
converted at once or, where that would give another frame, one by one.

How many conversions a load made is counted on ``dreambolt_magic.formats.frames.to_pandas``, which every Parquet
conversion goes through.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pytest

import dreambolt_magic as dm
from dreambolt_magic.formats import frames

if TYPE_CHECKING:
    from conftest import S3Helper

BUCKET = "arrow-sets"
FILES = 4


def _frame(i: int, rows: int = 50) -> pd.DataFrame:
    rng = np.random.default_rng(i)
    return pd.DataFrame({
        "id": np.arange(i * rows, (i + 1) * rows, dtype="int64"),
        "city": pd.Categorical(rng.choice(["Berlin", "Lagos", "Lima"], rows), categories=["Berlin", "Lagos", "Lima"]),
        "value": np.round(rng.normal(100, 25, rows), 2),
        "name": [f"n{j}" for j in range(rows)],
        "when": pd.date_range("2024-01-01", periods=rows, freq="min", unit="us"),
    })


def _body(frame: pd.DataFrame) -> bytes:
    sink = io.BytesIO()
    frame.to_parquet(sink, index=False)
    return sink.getvalue()


def _read(body: bytes, **kw: Any) -> pd.DataFrame:
    return pd.read_parquet(io.BytesIO(body), **kw)


@pytest.fixture
def conversions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The row count of each Parquet table converted into pandas, in order."""
    counted: list[int] = []
    convert = frames.to_pandas

    def counting(table: Any, **kw: Any) -> pd.DataFrame:
        counted.append(table.num_rows)
        return convert(table, **kw)

    monkeypatch.setattr(frames, "to_pandas", counting)
    return counted


def test_a_partitioned_set_is_converted_once_into_the_frame_pandas_makes(
    s3: S3Helper, conversions: list[int]
) -> None:
    s3.make_bucket(BUCKET)
    keys = [f"t/year=202{i // 2}/region={'us' if i % 2 else 'eu'}/part.parquet" for i in range(FILES)]
    bodies = [_body(_frame(i)) for i in range(FILES)]
    for key, body in zip(keys, bodies, strict=True):
        s3.put(BUCKET, key, body)
    df = dm.load(f"s3://{BUCKET}/t/", endpoint_url=s3.endpoint_url, progress=False, source_column="source")

    assert conversions == [FILES * 50]  # one conversion, of every file's rows
    parts = []
    for i, body in enumerate(bodies):
        part = _read(body)
        part["year"] = 2020 + i // 2
        part["region"] = "us" if i % 2 else "eu"
        parts.append(part)
    expected = pd.concat(parts, ignore_index=True)
    expected["source"] = pd.Categorical(np.repeat([f"s3://{BUCKET}/{k}" for k in keys], 50))
    pd.testing.assert_frame_equal(df, expected)
    assert df.attrs["s3"]["object_count"] == FILES


def test_some_columns_of_a_set_are_converted_once(s3: S3Helper, conversions: list[int]) -> None:
    s3.make_bucket(BUCKET)
    bodies = [_body(_frame(i)) for i in range(FILES)]
    for i, body in enumerate(bodies):
        s3.put(BUCKET, f"c/{i}.parquet", body)
    df = dm.load(f"s3://{BUCKET}/c/", endpoint_url=s3.endpoint_url, progress=False, columns=["value", "city"])

    assert conversions == [FILES * 50]
    expected = pd.concat([_read(b, columns=["value", "city"]) for b in bodies], ignore_index=True)
    pd.testing.assert_frame_equal(df, expected)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda f: f.assign(city=f["city"].cat.rename_categories(["Berlin", "Lagos", "Oslo"])),
                     id="other categories"),
        pytest.param(lambda f: f.assign(value=np.nan), id="a column without values"),
        pytest.param(lambda f: f.assign(id=f["id"].astype("int32")), id="another type"),
    ],
)
def test_files_that_convert_otherwise_at_once_are_converted_one_by_one(
    s3: S3Helper, conversions: list[int], change: Any
) -> None:
    s3.make_bucket(BUCKET)
    frames_in = [_frame(i) for i in range(FILES)]
    frames_in[2] = change(frames_in[2])
    bodies = [_body(f) for f in frames_in]
    for i, body in enumerate(bodies):
        s3.put(BUCKET, f"o/{i}.parquet", body)
    df = dm.load(f"s3://{BUCKET}/o/", endpoint_url=s3.endpoint_url, progress=False)

    assert conversions == [50] * FILES  # each file by itself, as before
    read = [_read(b) for b in bodies]
    # A column without a value in one file is left out there, so that it does not decide the column's type.
    read = [r.drop(columns=[c for c in r.columns if r[c].isna().all()]) for r in read]
    expected = pd.concat(read, ignore_index=True)[list(frames_in[0].columns)]
    pd.testing.assert_frame_equal(df, expected)
