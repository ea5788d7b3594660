"""``sample=N``: the first N rows of a set of objects, for a look at it, fetching as little as it takes.

A sample is not random: it is the first N rows in listing order (the order of a list of URIs, or S3's
order of keys under a prefix), as ``df.head(N)`` of the whole set would be, so the same cell gives the same
rows each time. For a random sample, load more and use ``df.sample``. What it saves:

- objects are fetched in waves: the first object alone, then as many as the rows seen so far say are still
  needed (at most ``max_workers`` at a time), and none once N rows are there;
- each object is asked for at most the rows still missing, so a Parquet file is read as its footer and its
  first row groups (with a ``filter`` on data columns, every row group the filter keeps, since rows are
  counted once filtered);
- a listing is requested a page (1,000 keys) at a time, only while more objects are needed.

Partition types (``year=2024`` as a whole number) are those of the objects sampled. No I/O here: the set
loader (:func:`dreambolt_magic.datasets.loader.load_many`) runs the waves.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from dreambolt_magic.datasets.filters import Filter
from dreambolt_magic.datasets.listing import ObjectRef
from dreambolt_magic.datasets.partitions import Loaded, columns_to_read, matching_rows, partition_types, typed

__all__ = ["Sampler", "Wave", "check"]


def check(sample: object, nrows: object) -> int | None:
    """``sample`` as a row count, or ValueError for what makes no sense: not a whole number of at least 1,
    or given with ``nrows`` (both limit the rows; one is enough)."""
    if sample is None:
        return None
    if isinstance(sample, bool) or not isinstance(sample, int) or sample < 1:
        raise ValueError(f"sample must be a whole number of rows of at least 1, not {sample!r}")
    if nrows is not None:
        raise ValueError("give sample or nrows, not both: sample=N is the first N rows of the first objects, "
                         "nrows=N the first N rows of the whole set")
    return sample


@dataclass(frozen=True)
class Wave:
    """Objects to fetch together: each is asked for at most ``rows`` rows (``None``: all) of ``columns``."""

    refs: list[ObjectRef]
    rows: int | None
    columns: list[str] | None


class Sampler:
    """The waves of a sample of ``wanted`` rows, taken from ``source`` (objects in listing order)."""

    def __init__(self, source: Iterator[ObjectRef], wanted: int, *, expression: Filter | None, workers: int,
                 columns: list[str] | None) -> None:
        self.source, self.wanted, self.expression, self.workers = source, wanted, expression, workers
        self.columns = columns
        self.pulled: list[ObjectRef] = []  # objects whose partitions may match, in order
        self.listed = 0
        self.rows = 0
        self.loaded = 0

    @property
    def kinds(self) -> dict[str, type]:
        return partition_types(self.pulled)

    def waves(self) -> Iterator[Wave]:
        size = 1
        while self.rows < self.wanted:
            refs = self._take(size)
            if not refs:
                return
            names = set(partition_types(refs))
            # A filter on data columns counts rows only once they are filtered: objects give all theirs.
            filtered = self.expression is not None and bool(self.expression.names - names)
            yield Wave(refs, None if filtered else self.wanted - self.rows,
                       columns_to_read(self.columns, self.expression, partition_types(refs)))
            rate = self.rows / max(self.loaded, 1)
            left = self.wanted - self.rows
            size = self.workers if rate == 0 else max(1, min(self.workers, math.ceil(left / rate)))

    def stop(self, batch: list[Loaded]) -> bool:
        """Count a fetched wave's rows; whether the sample has them all."""
        self.loaded += len(batch)
        kinds = self.kinds
        self.rows += sum(matching_rows(item, self.expression, kinds) for item in batch)
        return self.rows >= self.wanted

    def _take(self, size: int) -> list[ObjectRef]:
        refs: list[ObjectRef] = []
        while len(refs) < size:
            ref = next(self.source, None)
            if ref is None:
                break
            self.listed += 1
            if self.expression is None or self.expression.decide(
                    typed(ref.partitions, partition_types([ref]))) is not False:
                self.pulled.append(ref)
                refs.append(ref)
        return refs
