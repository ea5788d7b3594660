"""Combining a set's frames (``dreambolt_magic.datasets.partitions.combine``): the same-schema shortcut gives
what the full unification gives, and only frames that truly share a schema take it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dreambolt_magic.datasets import partitions
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

