"""Filters decided on value ranges (row-group statistics), and the row groups a Parquet footer lets us skip.

The decisions are checked against :meth:`Filter.mask` itself: a group judged ``False`` must have no matching
row, one judged ``True`` only matching rows, for any data (hypothesis draws it).
"""

from __future__ import annotations

import datetime
import io
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dreambolt_magic.datasets.filters import Filter
from dreambolt_magic.formats import parquet, readers, rowgroups
from dreambolt_magic.objects import parquetplan

# --- the decision, pure --------------------------------------------------------------------------------

GROUP = {"n": (10, 20, False), "s": ("b", "d", False), "f": (1.5, 2.5, True)}


@pytest.mark.parametrize(("text", "expected"), [
    ("n == 15", None), ("n == 9", False), ("n == 21", False), ("n != 9", True),
    ("n < 10", False), ("n < 11", None), ("n < 21", True), ("n <= 9", False), ("n <= 20", True),
    ("n > 20", False), ("n > 9", True), ("n >= 21", False), ("n >= 10", True),
    ("9 < n", True), ("20 < n", False), ("21 <= n", False),  # the column on the right
    ("0 <= n < 10", False), ("10 <= n <= 20", True), ("5 < n < 15", None),
    ("n in (1, 2, 30)", False), ("n in (1, 15)", None), ("n not in (1, 2)", True), ("n not in (15,)", None),
    ("s == 'a'", False), ("s >= 'b'", True), ("s > 'd'", False), ("s in ('e', 'f')", False),
    ("f > 3", False), ("f < 3", None),  # a float may hold NaN, which matches nothing: never "all"
    ("n == 9 or s == 'c'", None), ("n == 9 or s == 'z'", False), ("n > 9 and s < 'z'", True),
    ("not n == 9", True), ("not n >= 10", False), ("not (n > 9 and s < 'z')", False),
    ("n == 9 and other == 1", False), ("n == 15 and other == 1", None), ("other == 1", None),
    ("n == 15.5", None), ("n < 9.5", False),  # ints with floats compare as numbers
])
def test_a_comparison_on_ranges(text: str, expected: bool | None) -> None:
    assert Filter(text).decide_ranges(GROUP) is expected


@pytest.mark.parametrize(("text", "ranges"), [
    ("n == 5", {"n": ("1", "9", False)}),  # text statistics, a number literal: pandas would not say yes
    ("n < 'x'", {"n": (1, 9, False)}),
    ("n == None", {"n": (1, 9, False)}),
    ("n in (None, 3)", {"n": (1, 9, False)}),
    ("n > 1", {"n": (float("nan"), float("nan"), True)}),
    ("n == True", {"n": (0, 1, False)}),  # bools only with bools
    ("d == '2024-01-01'", {"d": (datetime.date(2024, 1, 1), datetime.date(2024, 1, 9), False)}),
    ("a < b", {"a": (1, 2, False), "b": (5, 6, False)}),
])
def test_what_cannot_be_compared_for_sure_is_unknown(text: str, ranges: dict[str, Any]) -> None:
    assert Filter(text).decide_ranges(ranges) is None


def test_nulls_match_no_comparison_but_every_not_in() -> None:
    some = {"n": (1, 1, True)}
    assert Filter("n == 1").decide_ranges(some) is None  # the null rows do not match
    assert Filter("n == 1").decide_ranges({"n": (1, 1, False)}) is True
    assert Filter("n not in (1,)").decide_ranges(some) is None
    assert Filter("n not in (1,)").decide_ranges({"n": (1, 1, False)}) is False
    only = {"n": (None, None, True)}
    assert Filter("n == 1").decide_ranges(only) is False
    assert Filter("n != 1").decide_ranges(only) is False
    assert Filter("n in (1, 2)").decide_ranges(only) is False
    assert Filter("n not in (1, 2)").decide_ranges(only) is True
    assert Filter("not n == 1").decide_ranges(only) is True


def test_timestamps_compare_with_text_as_pandas_reads_it() -> None:
    naive = {"ts": (datetime.datetime(2024, 1, 1), datetime.datetime(2024, 1, 31, 23), False)}
    assert Filter("ts >= '2024-02-01'").decide_ranges(naive) is False
    assert Filter("ts < '2024-02'").decide_ranges(naive) is True
    assert Filter("ts == 'not a date'").decide_ranges(naive) is None
    assert Filter("ts > 5").decide_ranges(naive) is None
    assert Filter("ts in ('2023-01-01',)").decide_ranges(naive) is None  # isin does not parse text
    utc = datetime.timezone.utc
    aware = {"ts": (datetime.datetime(2024, 1, 1, tzinfo=utc), datetime.datetime(2024, 1, 2, tzinfo=utc), False)}
    assert Filter("ts > '2024-01-03T00:00:00+00:00'").decide_ranges(aware) is False
    # Naive text is read in the column's own zone, which statistics in UTC do not tell.
    assert Filter("ts > '2024-01-03'").decide_ranges(aware) is None
    assert Filter("ts > '2024-01-03T00:00:00+00:00'").decide_ranges(naive) is None


def test_bound_partition_values_count_as_one_value_ranges() -> None:
    bound = Filter("year == 2024 and n > 15").bind({"year": 2024})
    assert bound.names == {"n"}
    assert bound.decide_ranges({"n": (1, 9, False)}) is False
    assert bound.decide_ranges({"n": (1, 99, False)}) is None
    assert Filter("year == 2023 or n > 15").bind({"year": 2024}).decide_ranges({"n": (1, 9, False)}) is False


# --- the decision agrees with the mask, whatever the data ------------------------------------------------

_COLUMN = st.lists(st.one_of(st.none(), st.integers(-3, 3)), min_size=1, max_size=6)
_OPS = ["==", "!=", "<", "<=", ">", ">="]


@st.composite
def _filters(draw: st.DrawFn, depth: int = 0) -> str:
    if depth < 2 and draw(st.booleans()):
        joiner = draw(st.sampled_from([" and ", " or "]))
        parts = [draw(_filters(depth + 1)) for _ in range(2)]
        text = "(" + joiner.join(parts) + ")"
        return f"not {text}" if draw(st.booleans()) else text
    name = draw(st.sampled_from(["a", "b"]))
    value = draw(st.integers(-4, 4))
    kind = draw(st.sampled_from(["cmp", "flip", "chain", "in", "not in"]))
    if kind == "cmp":
        return f"{name} {draw(st.sampled_from(_OPS))} {value}"
    if kind == "flip":
        return f"{value} {draw(st.sampled_from(_OPS))} {name}"
    if kind == "chain":
        first, second = draw(st.sampled_from(_OPS)), draw(st.sampled_from(_OPS))
        return f"{value} {first} {name} {second} {draw(st.integers(-4, 4))}"
    items = draw(st.lists(st.integers(-4, 4), min_size=1, max_size=3))
    return f"{name} {kind} ({', '.join(map(str, items))},)"


def _range(values: list[int | None]) -> tuple[Any, Any, bool]:
    present = [v for v in values if v is not None]
    nulls = len(present) < len(values)
    return (min(present), max(present), nulls) if present else (None, None, True)


@settings(max_examples=300, deadline=None)
@given(a=_COLUMN, b=_COLUMN, text=_filters())
def test_a_decision_never_contradicts_the_rows(a: list[int | None], b: list[int | None], text: str) -> None:
    size = min(len(a), len(b))
    a, b = a[:size], b[:size]
    frame = pd.DataFrame({"a": pd.array(a, dtype="Int64"), "b": pd.array(b, dtype="float64")})
    matched = Filter(text).mask(frame)
    decided = Filter(text).decide_ranges({"a": _range(a), "b": _range(b)})
    if decided is False:
        assert not matched.any(), (text, frame)
    if decided is True:
        assert matched.all(), (text, frame)
    # A group of one row (or of one value, no nulls) leaves nothing unknown: its range is the row itself, so
    # the decision must be made, and be the row's. Without this, a decide_ranges that never decides would pass.
    for i in range(size):
        one = Filter(text).decide_ranges({"a": _range(a[i : i + 1]), "b": _range(b[i : i + 1])})
        assert one is bool(matched.iloc[i]), (text, a[i], b[i], one)


# --- from a Parquet footer ---------------------------------------------------------------------------


def _parquet(table: pa.Table, **kw: Any) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, **kw)
    return sink.getvalue()


def _metadata(data: bytes) -> Any:
    return pq.ParquetFile(io.BytesIO(data)).metadata


def test_column_ranges_read_each_groups_statistics() -> None:
    table = pa.table({
        "n": pa.array([1, 2, 3, 4, None, 6], type=pa.int64()),
        "s": ["a", "b", "c", "d", "e", "f"],
        "f": pa.array([0.5, 1.5, 2.5, 3.5, 4.5, 5.5]),
        "empty": pa.array([None] * 6, type=pa.int32()),
        "nested": [{"x": i} for i in range(6)],
    })
    metadata = _metadata(_parquet(table, row_group_size=3))
    names = {"n", "s", "f", "empty", "nested", "x", "nested.x"}
    assert rowgroups.column_ranges(metadata, 0, names) == {
        "n": (1, 3, False), "s": ("a", "c", False), "f": (0.5, 2.5, True), "empty": (None, None, True),
    }
    assert rowgroups.column_ranges(metadata, 1, {"n"}) == {"n": (4, 6, True)}
    assert rowgroups.kept(metadata, range(2), Filter("n > 3")) == [1]
    assert rowgroups.kept(metadata, range(2), Filter("nested == 1")) == [0, 1]  # nested: unknown


def test_a_file_without_statistics_keeps_every_group() -> None:
    data = _parquet(pa.table({"n": list(range(10))}), row_group_size=5, write_statistics=False)
    assert rowgroups.column_ranges(_metadata(data), 0, {"n"}) == {}
    assert rowgroups.kept(_metadata(data), range(2), Filter("n > 100")) == [0, 1]


def _span(metadata: Any, group: int) -> set[int]:
    """The byte offsets of a row group's column chunks."""
    found: set[int] = set()
    for j in range(metadata.num_columns):
        chunk = metadata.row_group(group).column(j)
        start = min(chunk.data_page_offset, chunk.dictionary_page_offset or chunk.data_page_offset)
        found |= set(range(start, start + chunk.total_compressed_size))
    return found


def test_parquet_ranges_and_read_skip_the_groups_ruled_out() -> None:
    frame = pd.DataFrame({"id": np.arange(40, dtype="int64"), "v": np.arange(40) * 0.5})
    sink = io.BytesIO()
    frame.to_parquet(sink, index=False, row_group_size=10)
    data = sink.getvalue()
    ranges, groups = parquet.parquet_ranges(memoryview(data), columns=None, nrows=None,
                                            row_filter=Filter("id >= 12 and id < 18 or id == 39"))
    assert groups == [1, 3]
    metadata = _metadata(data)
    fetched = {i for start, end in ranges for i in range(start, end)}
    assert all(_span(metadata, g) <= fetched for g in (1, 3))
    assert not any(_span(metadata, g) & fetched for g in (0, 2))
    # Only those groups' bytes are there: the others are zeros, as in a sparse download.
    sparse = bytearray(len(data))
    for start, end in [*ranges, (parquet.parquet_footer_start(memoryview(data)), len(data))]:
        sparse[start:end] = data[start:end]
    got = readers.read(sparse, key="t.parquet", row_groups=groups, pruned=True)
    pd.testing.assert_frame_equal(got, pd.concat([frame.iloc[10:20], frame.iloc[30:40]], ignore_index=True))
    none, kept = parquet.parquet_ranges(memoryview(data), columns=["v"], nrows=None, row_filter=Filter("id > 99"))
    assert kept == [] and none == []
    empty = readers.read(sparse, key="t.parquet", row_groups=[], columns=["v"], pruned=True)
    assert list(empty.columns) == ["v"] and len(empty) == 0


def test_can_prune_needs_a_filter_on_columns_not_only_partitions() -> None:
    f = Filter("year == 2024 and n > 1")
    assert parquetplan.can_prune("t.parquet", None, columns=None, nrows=None, row_filter=f)
    assert not parquetplan.can_prune("t.parquet", None, columns=None, nrows=None,
                                 row_filter=Filter("year == 2024").bind({"year": 2024}))
    assert not parquetplan.can_prune("t.parquet.gz", None, columns=None, nrows=None, row_filter=f)
    assert not parquetplan.can_prune("t.csv", None, columns=None, nrows=None, row_filter=f)
