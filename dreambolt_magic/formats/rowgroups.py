"""Which row groups of a Parquet file a filter keeps, decided from the statistics in its footer alone.

A Parquet footer records, for each column chunk of each row group, the smallest and largest value and the
count of nulls. :func:`column_ranges` turns those into the ``(min, max, may_have_nulls)`` ranges that
:meth:`dreambolt_magic.datasets.filters.Filter.decide_ranges` decides on, and :func:`kept` drops the row groups whose
ranges prove that no row can match. Statistics only prune whole groups: the rows of a kept group are still
filtered once they are read.

Anything uncertain counts as unknown, and an unknown group is kept: a chunk without statistics, a nested
or repeated column, a null count that is missing. Parquet writers leave NaN out of a float column's min and
max, so a float column always "may have nulls" here (a NaN, like a null, matches no comparison). No I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from typing import Any, Protocol

__all__ = ["Range", "RowFilter", "column_ranges", "kept"]

#: What a row group's statistics say of one column: ``(min, max, may_have_nulls)``. ``min`` and ``max`` bound
#: its non-null values (``None`` for both: it holds only nulls); ``may_have_nulls`` is true unless the group
#: surely has no null (nor NaN: Parquet statistics leave NaN out, so a float column always may have one).
Range = tuple[Any, Any, bool]

_FLOATS = ("FLOAT", "DOUBLE")


class RowFilter(Protocol):
    """What decides a row group: the columns it looks at, and a decision on their ranges
    (:class:`~dreambolt_magic.datasets.filters.Filter` and :class:`~dreambolt_magic.datasets.filters.Bound`
    are ones)."""

    @property
    def names(self) -> Set[str]: ...

    def decide_ranges(self, ranges: Mapping[str, Range]) -> bool | None: ...


def column_ranges(metadata: Any, index: int, names: Iterable[str]) -> dict[str, Range]:
    """The ranges of the top-level columns ``names`` in row group ``index``, from a footer's metadata
    (:class:`pyarrow.parquet.FileMetaData`). A column whose statistics do not tell is left out."""
    wanted = set(names)
    group = metadata.row_group(index)
    schema = metadata.schema
    found: dict[str, Range] = {}
    for j in range(group.num_columns):
        column = schema.column(j)
        # A top-level column's path is its name; a nested field's path is longer than its name.
        if column.path not in wanted or column.name != column.path or column.max_repetition_level != 0:
            continue
        chunk = group.column(j)
        stats = chunk.statistics if chunk.is_stats_set else None
        if stats is None:
            continue
        nulls = not stats.has_null_count or stats.null_count > 0 or chunk.physical_type in _FLOATS
        if stats.has_min_max:
            found[column.path] = (stats.min, stats.max, nulls)
        elif stats.has_null_count and stats.null_count == group.num_rows:
            found[column.path] = (None, None, True)  # nothing but nulls
    return found


def kept(metadata: Any, groups: Iterable[int], row_filter: RowFilter) -> list[int]:
    """The row groups of ``groups`` where some row may match ``row_filter`` (all of them, if unsure)."""
    names = row_filter.names
    return [i for i in groups if row_filter.decide_ranges(column_ranges(metadata, i, names)) is not False]
