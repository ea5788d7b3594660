"""Arrow tables into DataFrames (``dreambolt_magic.formats.frames.to_pandas``): the frame ``Table.to_pandas()``
gives, in Arrow's memory where it can be, and every column writable."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dreambolt_magic.formats.frames import can_concat, to_pandas, views

ROWS = 6


def sample() -> pd.DataFrame:
    """One column of each kind pyarrow converts its own way."""
    return pd.DataFrame(
        {
            "int": np.arange(ROWS, dtype="int64"),
            "small": np.arange(ROWS, dtype="uint8"),
            "float": np.linspace(0, 1, ROWS),
            "when": pd.date_range("2024-01-01", periods=ROWS, freq="h", unit="us"),
            "zoned": pd.date_range("2024-01-01", periods=ROWS, freq="h", unit="us", tz="Europe/Paris"),
            "millis": pd.date_range("2024-01-01", periods=ROWS, freq="s", unit="ms"),
            "took": pd.to_timedelta(np.arange(ROWS), unit="s"),
            "city": pd.Categorical(["a", "b", "a", "c", "b", "a"]),
            "name": [f"n{i}" for i in range(ROWS)],
            "flag": [True, False] * (ROWS // 2),
            "holes": [1.0, None, 3.0, None, 5.0, 6.0],
            "counts": pd.array([1, None, 3, 4, 5, 6], dtype="Int64"),
        },
        index=pd.Index([f"r{i}" for i in range(ROWS)], name="row"),
    )


def parquet_table(frame: pd.DataFrame) -> pa.Table:
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    return pq.read_table(pa.BufferReader(buffer.getvalue()))


def test_the_frame_is_the_one_to_pandas_gives() -> None:
    frame = to_pandas(parquet_table(sample()))

    pd.testing.assert_frame_equal(frame, parquet_table(sample()).to_pandas())
    pd.testing.assert_frame_equal(frame, sample())


@pytest.mark.parametrize("column", list(sample().columns))
def test_every_column_can_be_written(column: str) -> None:
    # pyarrow hands zero-copy columns over read-only: even pd.read_parquet's Categorical codes are, and
    # `df.loc[...] = ...` on them raises "assignment destination is read-only".
    expected = sample()
    frame = to_pandas(parquet_table(expected))

    frame.loc["r0", column] = expected.loc["r1", column]
    expected.loc["r0", column] = expected.loc["r1", column]

    pd.testing.assert_series_equal(frame[column], expected[column])


def test_fixed_width_columns_stay_in_the_memory_arrow_decoded_them_into() -> None:
    table = parquet_table(sample())
    decoded = {name: table.column(name).chunk(0).buffers()[1] for name in ("int", "float", "when", "zoned", "city")}

    frame = to_pandas(table)
    frame.loc["r2", "int"] = 99

    def in_place(name: str, storage: np.ndarray) -> bool:
        return np.shares_memory(np.frombuffer(decoded[name], dtype=np.uint8), storage.view(np.uint8))

    assert in_place("int", frame["int"].to_numpy(copy=False))
    assert np.frombuffer(decoded["int"], dtype="int64")[2] == 99
    assert in_place("float", frame["float"].to_numpy(copy=False))
    assert in_place("when", frame["when"].to_numpy(copy=False))
    assert in_place("zoned", frame["zoned"].array.asi8)
    assert in_place("city", frame["city"].array.codes)


def test_columns_sharing_memory_are_parted_so_a_write_changes_one() -> None:
    values = pa.array(np.arange(ROWS, dtype="int64"))
    frame = to_pandas(pa.table({"a": values, "b": values}))

    frame.loc[0, "a"] = 50

    assert frame["a"].tolist() == [50, *range(1, ROWS)]
    assert frame["b"].tolist() == list(range(ROWS))


def test_memory_arrow_does_not_own_is_copied_not_written() -> None:
    # An IPC file read from immutable bytes (a cache entry mapped read-only, say) views those bytes.
    sink = io.BytesIO()
    with pa.ipc.new_file(sink, pa.schema([("a", pa.int64())])) as writer:
        writer.write_table(pa.table({"a": np.arange(ROWS, dtype="int64")}))
    source = sink.getvalue()
    table = pa.ipc.open_file(pa.BufferReader(source)).read_all()
    assert not table.column("a").chunk(0).buffers()[1].is_mutable

    frame = to_pandas(table)
    frame.loc[0, "a"] = 50

    assert frame["a"].tolist() == [50, *range(1, ROWS)]
    assert pa.ipc.open_file(pa.BufferReader(source)).read_all().column("a").to_pylist() == list(range(ROWS))


def test_a_slice_keeps_its_own_rows_and_can_be_written() -> None:
    frame = to_pandas(parquet_table(sample()).slice(2, 3))

    frame.loc["r3", "int"] = -1

    assert frame.index.tolist() == ["r2", "r3", "r4"]
    assert frame["int"].tolist() == [2, -1, 4]


def test_the_callers_options_win() -> None:
    frame = to_pandas(parquet_table(sample()), split_blocks=False, types_mapper={pa.int64(): pd.Int64Dtype()}.get)

    assert frame["int"].dtype == pd.Int64Dtype()
    frame.loc["r0", "float"] = 9.0
    assert frame["float"].iloc[0] == 9.0


def test_columns_that_view_the_bytes_read_are_copied() -> None:
    # A reader may hand back columns that view its input (pyarrow's IPC reader can): those bytes are the
    # caller's, so a write to the frame must not reach them.
    data = bytearray(np.arange(ROWS, dtype="int64").tobytes())
    viewing = pa.Array.from_buffers(pa.int64(), ROWS, [None, pa.py_buffer(data)])
    assert viewing.buffers()[1].is_mutable

    frame = to_pandas(pa.table({"a": viewing}), source=memoryview(data))
    frame.loc[0, "a"] = 50

    assert frame["a"].tolist() == [50, *range(1, ROWS)]
    assert np.frombuffer(data, dtype="int64").tolist() == list(range(ROWS))


# --- many tables converted at once (frames.can_concat, frames.views) --------------------------------------


def _parts(*frames: pd.DataFrame) -> list[pa.Table]:
    return [parquet_table(frame) for frame in frames]


def test_tables_of_one_schema_convert_at_once_as_pandas_concatenates_them() -> None:
    frame = sample()
    tables = _parts(frame.iloc[:3], frame.iloc[3:])  # the city categories differ in order, not in values
    assert can_concat(tables)
    at_once = to_pandas(pa.concat_tables(tables))
    one_by_one = pd.concat([to_pandas(t) for t in tables])
    pd.testing.assert_frame_equal(at_once, one_by_one)


def test_range_indexes_that_follow_one_another_do_not_stop_it() -> None:
    frame = pd.DataFrame({"a": range(6)})
    assert can_concat(_parts(frame.iloc[:3], frame.iloc[3:]))  # RangeIndex 0-3 and 3-6 in their metadata


@pytest.mark.parametrize(
    "other",
    [
        pytest.param(lambda f: f.assign(int=f["int"].astype("int32")), id="another type"),
        pytest.param(lambda f: f.drop(columns=["name"]), id="a column fewer"),
        pytest.param(lambda f: f.assign(city=pd.Categorical(["a", "b", "z"] * (len(f) // 3))), id="other categories"),
        pytest.param(lambda f: f.assign(holes=np.nan), id="a column without values"),
        pytest.param(lambda f: f.iloc[:0], id="no rows"),
        pytest.param(lambda f: f.assign(counts=f["counts"].fillna(0).astype("int64")), id="other pandas metadata"),
    ],
)
def test_tables_that_pandas_would_concatenate_otherwise_are_refused(other: Any) -> None:
    frame = sample()
    assert not can_concat(_parts(frame, other(frame.copy())))


def test_a_table_viewing_the_bytes_read_is_told() -> None:
    data = bytearray(np.arange(ROWS, dtype="int64").tobytes())
    viewing = pa.Array.from_buffers(pa.int64(), ROWS, [None, pa.py_buffer(data)])
    assert views(pa.table({"a": viewing}), memoryview(data))
    assert not views(pa.table({"a": pa.array(range(ROWS))}), memoryview(data))
