"""Combining a set's frames (``dreambolt_magic.datasets.partitions``): Hive partition values and their types, the
columns to read, the filter on rows, and ``combine``, whose same-schema shortcut gives what the full unification
gives (only frames that truly share a schema take it). No I/O: refs and frames are made here."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dreambolt_magic.datasets import partitions
from dreambolt_magic.datasets.filters import Filter
from dreambolt_magic.datasets.listing import ObjectRef
from dreambolt_magic.errors import S3FormatError
from dreambolt_magic.uri import S3Uri


def loaded(frames: list[pd.DataFrame]) -> list[partitions.Loaded]:
    refs = [ObjectRef(S3Uri("b", f"part-{i}.csv")) for i in range(len(frames))]
    return [partitions.Loaded.of(ref, frame) for ref, frame in zip(refs, frames, strict=True)]


def part(seed: int, n: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "id": np.arange(n, dtype="int64") + 100 * seed,
        "x": rng.normal(size=n),
        "city": pd.array([f"c{i}" for i in rng.integers(0, 9, n)], dtype="str"),
        "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 99, n), unit="D"),
    })


def test_frames_of_one_schema_take_the_shortcut_and_give_the_full_result() -> None:
    frames = [part(i) for i in range(4)]
    frames[2]["x"] = np.nan  # all null in one object, of the same type: nothing to unify
    assert partitions._same_schema(frames)

    combined = partitions.combine(loaded([f.copy() for f in frames]), {}, "source")
    unified = partitions._unified(loaded([f.copy() for f in frames]), frames)

    expected = pd.concat(unified, ignore_index=True)
    pd.testing.assert_frame_equal(combined.drop(columns="source"), expected)
    assert combined["source"].tolist() == [f"s3://b/part-{i}.csv" for i in range(4) for _ in range(5)]
    assert combined.attrs == {}


@pytest.mark.parametrize(
    "change",
    [
        lambda f: f.assign(x=f["x"].astype("float32")),  # another type
        lambda f: f[["x", "id", "city", "when"]],  # another order
        lambda f: f.drop(columns="city"),  # a column fewer
        lambda f: f.assign(city=f["city"].astype(object)),  # object: may hold anything
    ],
)
def test_frames_that_differ_take_the_full_unification(change: object) -> None:
    frames = [part(0), change(part(1))]  # type: ignore[operator]
    assert not partitions._same_schema(frames)


def test_duplicate_column_names_take_the_full_unification() -> None:
    frame = pd.DataFrame([[1, 2]], columns=["a", "a"])
    assert not partitions._same_schema([frame, frame.copy()])


def test_a_type_conflict_is_still_refused() -> None:
    other = part(1).assign(id=lambda f: f["id"].astype(str))
    with pytest.raises(S3FormatError) as caught:
        partitions.combine(loaded([part(0), other]), {}, None)
    assert caught.value.code == "SchemaMismatch"


def test_loaded_takes_the_provenance_out_of_the_frame() -> None:
    frame = part(0)
    frame.attrs["s3"] = {"size": 10}
    item = partitions.Loaded.of(ObjectRef(S3Uri("b", "k.csv")), frame)
    assert item.info == {"size": 10}
    assert item.frame.attrs == {}


# --- Hive partitions ------------------------------------------------------------------------------------


def ref(key: str, **parts: str) -> ObjectRef:
    return ObjectRef(S3Uri("b", key), partitions=parts)


def test_a_partition_is_whole_numbers_only_if_every_value_is_one() -> None:
    refs = [ref("y=2024/m=05/r=eu/a", y="2024", m="05", r="eu"), ref("y=-1/m=x/r=us/b", y="-1", m="x", r="us"),
            ref("y=__HIVE_DEFAULT_PARTITION__/c", y="__HIVE_DEFAULT_PARTITION__")]
    kinds = partitions.partition_types(refs)
    assert kinds == {"y": int, "m": str, "r": str}
    assert list(kinds) == ["y", "m", "r"]  # in order of first appearance
    assert partitions.partition_types([ref("k", n="1" * 19)]) == {"n": str}  # too long for a whole number
    assert partitions.partition_types([]) == {}


def test_typed_values_fill_every_partition_and_read_the_null_one_as_none() -> None:
    kinds = {"y": int, "m": str, "extra": str}
    assert partitions.typed({"y": "2024", "m": "05"}, kinds) == {"y": 2024, "m": "05", "extra": None}
    assert partitions.typed({"y": "__HIVE_DEFAULT_PARTITION__"}, kinds) == {"y": None, "m": None, "extra": None}


@pytest.mark.parametrize(("wanted", "text", "expected"), [
    (None, "v > 1", None),  # every column
    (["a", "b"], None, ["a", "b"]),
    (["a"], "v > 1 and year == 2024", ["a", "v"]),  # what the filter needs, but no partition
    (["year", "a"], None, ["a"]),
    (["year"], "year == 2024", None),  # only partitions: read every column
    (["a"], "z == 1 or c == 2", ["a", "c", "z"]),
])
def test_columns_to_read(wanted: list[str] | None, text: str | None, expected: list[str] | None) -> None:
    expression = Filter(text) if text else None
    assert partitions.columns_to_read(wanted, expression, {"year": int}) == expected


def test_partition_values_become_columns_and_a_clash_is_refused() -> None:
    item = ref("y=2024/r=eu/k.csv", y="2024", r="eu")
    frame = pd.DataFrame({"v": [1, 2]})
    got = partitions.with_partitions(frame, item, {"y": int, "r": str})
    pd.testing.assert_frame_equal(got, frame.assign(y=2024, r="eu"))
    assert list(frame.columns) == ["v"]  # the object's own frame is left as it was
    assert partitions.with_partitions(frame, ref("k.csv"), {}) is frame  # no partitions: the frame as it is
    with pytest.raises(S3FormatError) as caught:
        partitions.with_partitions(pd.DataFrame({"r": ["x"]}), item, {"y": int, "r": str})
    assert caught.value.code == "ColumnClash" and caught.value.hints == {"column": "r"}


def test_matching_rows_counts_what_the_filter_keeps_in_one_object() -> None:
    item = partitions.Loaded.of(ref("y=2024/k.csv", y="2024"), pd.DataFrame({"v": [1, 5, 9, 5]}))
    kinds = {"y": int}
    assert partitions.matching_rows(item, None, kinds) == 4
    assert partitions.matching_rows(item, Filter("v == 5"), kinds) == 2
    assert partitions.matching_rows(item, Filter("v > 1 and y == 2024"), kinds) == 3
    assert partitions.matching_rows(item, Filter("y == 2023"), kinds) == 0
    # The whole set decides, and reports, a filter it cannot apply; one object counts none.
    assert partitions.matching_rows(item, Filter("missing == 1"), kinds) == 0
    assert partitions.matching_rows(item, Filter("v > 'x'"), kinds) == 0


def test_apply_filter_explains_what_it_cannot_apply() -> None:
    frame = pd.DataFrame({"v": [1, 5, 9]})
    pd.testing.assert_frame_equal(partitions.apply_filter(Filter("v >= 5"), frame, "s3://b/t/"), frame.iloc[1:])
    with pytest.raises(S3FormatError) as missing:
        partitions.apply_filter(Filter("w == 1"), frame, "s3://b/t/")
    assert missing.value.code == "BadFilter" and missing.value.hints["column"] == "w"
    assert missing.value.hints["available"] == ["v"]
    with pytest.raises(S3FormatError) as types:
        partitions.apply_filter(Filter("v > 'x'"), frame, "s3://b/t/")
    assert types.value.code == "BadFilter" and "different types" in str(types.value)


@pytest.mark.parametrize(("series", "kind"), [
    (pd.Series([1, 2]), "number"), (pd.Series([1.5]), "number"), (pd.Series([True]), "bool"),
    (pd.Series(["a"], dtype=object), "text"), (pd.Series(["a"], dtype="string"), "text"),
    (pd.Series(pd.to_datetime(["2024-01-01"])), "datetime"),
    (pd.Series(pd.to_datetime(["2024-01-01"]).tz_localize("UTC")), "datetime (UTC)"),
    (pd.Series(pd.to_timedelta([1], unit="s")), "timedelta"), (pd.Series(["a"], dtype="category"), "text"),
    (pd.Series([b"x"], dtype=object), "bytes"), (pd.Series([{"a": 1}], dtype=object), "object"),
])
def test_kind_of_is_the_coarse_type_that_decides_a_conflict(series: pd.Series, kind: str) -> None:
    assert partitions.kind_of(series) == kind
