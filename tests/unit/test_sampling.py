"""``sample=N`` planned without S3 (``dreambolt_magic.datasets.sampling``): the argument's checks, and the waves
a :class:`Sampler` asks for as a fake fetch brings each wave's rows. No I/O: objects are refs and frames made here.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from dreambolt_magic.datasets.filters import Filter
from dreambolt_magic.datasets.listing import ObjectRef
from dreambolt_magic.datasets.partitions import Loaded
from dreambolt_magic.datasets.sampling import Sampler, Wave, check
from dreambolt_magic.uri import S3Uri

# --- the argument ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("sample", [1, 5, 10**9])
def test_a_positive_whole_number_is_the_sample(sample: int) -> None:
    assert check(sample, None) == sample


def test_no_sample_is_none() -> None:
    assert check(None, None) is None
    assert check(None, 5) is None  # nrows alone is not a sample


@pytest.mark.parametrize("bad", [0, -1, True, False, 2.5, "3", [3]])
def test_a_sample_must_be_a_whole_number_of_at_least_one(bad: Any) -> None:
    with pytest.raises(ValueError, match="sample must be a whole number"):
        check(bad, None)


def test_a_sample_is_not_given_with_nrows() -> None:
    with pytest.raises(ValueError, match="not both"):
        check(3, 10)
    with pytest.raises(ValueError, match="not both"):
        check(3, 0)


# --- the waves ---------------------------------------------------------------------------------------------


class Listing:
    """Objects in listing order, each with its rows; counts how many were taken from it."""

    def __init__(self, rows: list[int], partitions: list[dict[str, str]] | None = None) -> None:
        self.rows = rows
        self.partitions = partitions or [{} for _ in rows]
        self.taken = 0

    def __iter__(self) -> Iterator[ObjectRef]:
        for i, parts in enumerate(self.partitions):
            self.taken += 1
            folders = "".join(f"{k}={v}/" for k, v in parts.items())
            yield ObjectRef(S3Uri("bkt", f"t/{folders}part-{i}.csv"), size=100, partitions=parts)

    def frame(self, ref: ObjectRef, wave: Wave) -> pd.DataFrame:
        """What a load of ``ref`` would give for this wave: its first ``wave.rows`` rows of ``wave.columns``."""
        index = int(ref.uri.key.rsplit("part-", 1)[1].removesuffix(".csv"))
        n = self.rows[index]
        frame = pd.DataFrame({"id": range(index * 1000, index * 1000 + n), "v": [i % 7 for i in range(n)]})
        frame = frame if wave.rows is None else frame.head(wave.rows)
        return frame if wave.columns is None else frame[[c for c in wave.columns if c in frame.columns]]


def run(listing: Listing, wanted: int, *, workers: int = 4, expression: Filter | None = None,
        columns: list[str] | None = None) -> tuple[Sampler, list[Wave]]:
    """The set loader's loop, with a fetch that is a frame made at once: every wave, until ``stop`` says enough."""
    sampler = Sampler(iter(listing), wanted, expression=expression, workers=workers, columns=columns)
    waves = []
    for wave in sampler.waves():
        waves.append(wave)
        if sampler.stop([Loaded.of(ref, listing.frame(ref, wave)) for ref in wave.refs]):
            break
    return sampler, waves


def shape(waves: list[Wave]) -> list[tuple[int, int | None]]:
    return [(len(w.refs), w.rows) for w in waves]


def test_the_first_wave_is_one_object_then_as_many_as_its_rows_say_are_needed() -> None:
    listing = Listing([10] * 20)
    sampler, waves = run(listing, 35)
    # 10 rows from one object: 25 more is 3 objects of 10, each asked for at most the 25 still missing.
    assert shape(waves) == [(1, 35), (math.ceil(25 / 10), 25)]
    assert sampler.rows == 40 and sampler.loaded == 4
    assert listing.taken == 4 and sampler.listed == 4  # the listing was read no further
    assert [r.uri.key for r in sampler.pulled] == [f"t/part-{i}.csv" for i in range(4)]


def test_a_wave_is_never_larger_than_the_workers() -> None:
    sampler, waves = run(Listing([10] * 50), 1000, workers=3)
    assert [len(w.refs) for w in waves] == [1] + [3] * 16 + [1]
    assert sampler.rows == 500  # the set ran out first: every object, and no more waves


def test_objects_without_rows_make_the_next_wave_a_full_one() -> None:
    sampler, waves = run(Listing([0, 0, 0, 0, 0, 5, 5, 5, 5]), 6, workers=4)
    # Nothing seen yet says how many are needed: as many as can be fetched at once, until rows come.
    assert shape(waves) == [(1, 6), (4, 6), (4, 6)]
    assert sampler.rows == 20 and sampler.listed == 9


def test_enough_rows_in_the_first_object_is_one_wave() -> None:
    listing = Listing([100, 100, 100])
    sampler, waves = run(listing, 10)
    assert shape(waves) == [(1, 10)]
    assert sampler.rows == 10 and listing.taken == 1


def test_a_filter_on_partitions_skips_objects_without_fetching_them() -> None:
    parts = [{"year": "2023"}, {"year": "2024"}, {"year": "2023"}, {"year": "2024"}, {"year": "2024"}]
    listing = Listing([5] * 5, parts)
    sampler, waves = run(listing, 8, expression=Filter("year == 2024"), columns=["v", "year"])
    fetched = [r.partitions["year"] for w in waves for r in w.refs]
    assert fetched == ["2024", "2024"]  # the 2023 objects were listed, not fetched
    assert sampler.listed == 4 and listing.taken == 4
    # The filter is on partitions only: each object can still be asked for just the rows missing, and the
    # partition column is not read from the objects.
    assert shape(waves) == [(1, 8), (1, 3)]
    assert all(w.columns == ["v"] for w in waves)
    assert sampler.kinds == {"year": int}


def test_a_filter_on_data_counts_rows_once_filtered_and_reads_what_it_needs() -> None:
    listing = Listing([14] * 6)  # v is 0..6 twice: two rows of each value per object
    sampler, waves = run(listing, 5, expression=Filter("v == 3"), columns=["id"])
    # Every row is needed to know which match: no object is asked for fewer.
    assert all(w.rows is None for w in waves)
    assert all(w.columns == ["id", "v"] for w in waves)
    # 2 matching rows from the first object: 3 more needed, 2 per object, so 2 more objects.
    assert [len(w.refs) for w in waves] == [1, 2]
    assert sampler.rows == 6 and sampler.loaded == 3


def test_a_filter_nothing_matches_reads_the_whole_listing() -> None:
    listing = Listing([3] * 5)
    sampler, waves = run(listing, 2, expression=Filter("v > 100"), workers=2)
    assert [len(w.refs) for w in waves] == [1, 2, 2]
    assert sampler.rows == 0 and listing.taken == 5
