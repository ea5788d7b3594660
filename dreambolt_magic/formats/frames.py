"""Arrow tables into pandas DataFrames, handing columns over without a copy where Arrow's memory allows.

``Table.to_pandas()`` copies the whole table: it gathers the columns of each type into one 2-D block. For a
240 MB Parquet file of 7.5M rows that copy took 0.4 s, twice as long as decoding the file, and the table
and the frame both had to be in memory at once. ``split_blocks=True`` gives each column a block of its own
and hands fixed-width columns without nulls over in the memory Arrow decoded them into: 0.03 s, and a peak
of 0.8 GB instead of 1.1. (``self_destruct=True`` is not used: it saved nothing measurable here, and a
table used after it crashes the process.)

But pyarrow marks the arrays it hands over read-only, so ``df.loc[0, "a"] = 1`` would raise "assignment
destination is read-only" on a frame the user owns. :func:`to_pandas` gives each such column a writable view
of the same memory instead: the table is the caller's to give up, and once it is gone the frame is the only
owner of those buffers. A column that views the bytes the table was read from (an uncompressed Feather file
is read without a copy) or memory that another column views too, or that cannot be written, is copied
instead, so a write can never reach anything but its own column.
"""

from __future__ import annotations

import bisect
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = ["can_concat", "to_pandas", "views"]


def _shareable(column: pa.ChunkedArray) -> bool:
    # The columns pyarrow may hand over without a copy: one chunk of fixed-width values (a dictionary's
    # indices are a Categorical's codes) and no nulls to fill in.
    kind = column.type
    fixed = pa.types.is_primitive(kind) and not pa.types.is_boolean(kind)  # booleans are bits: always copied
    return column.num_chunks == 1 and column.null_count == 0 and (fixed or pa.types.is_dictionary(kind))


class _Owners:
    """The Arrow buffers a table's columns may be handed over in, and which parts of them a column took."""

    def __init__(self, table: pa.Table, source: Any = None) -> None:
        found = {}
        for column in table.columns:
            if _shareable(column) and (data := column.chunk(0).buffers()[1]) is not None:
                found[data.address] = data
        self.buffers = [found[address] for address in sorted(found)]
        self.starts = sorted(found)
        self.taken: list[tuple[int, int]] = []
        if source is not None:  # the bytes read are the caller's: never handed over as a column
            self.taken.append(_span(source))

    def writable(self, storage: np.ndarray) -> np.ndarray | None:
        """A writable array over ``storage``'s memory, or a copy of it; None if Arrow does not own it."""
        start = storage.__array_interface__["data"][0]
        end = start + storage.nbytes
        at = bisect.bisect_right(self.starts, start) - 1
        if at < 0 or end > self.starts[at] + self.buffers[at].size:
            return None
        buffer = self.buffers[at]
        if not buffer.is_mutable or any(start < stop and first < end for first, stop in self.taken):
            return storage.copy()
        self.taken.append((start, end))
        return np.frombuffer(buffer, dtype=storage.dtype, count=len(storage), offset=start - buffer.address)


def _span(source: Any) -> tuple[int, int]:
    # The addresses of a buffer's first byte and of the byte after its last.
    start = np.frombuffer(source, dtype=np.uint8).__array_interface__["data"][0]
    return start, start + memoryview(source).nbytes


def _storage(values: pd.Series) -> np.ndarray | None:
    # The numpy array under a column, without a copy; None for columns kept in other forms.
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.array.asi8
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.array.codes
    if isinstance(values.dtype, np.dtype) and values.dtype.kind in "iufmM":
        return values.to_numpy(copy=False)
    return None


def _writable(values: pd.Series, owners: _Owners) -> Any:
    # The column as it is if pandas made its array (it is writable); else over a writable view or a copy.
    storage = _storage(values)
    view = owners.writable(storage) if storage is not None and storage.nbytes else None
    if view is None:
        return values.array
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return pd.array(view, dtype=values.dtype, copy=False)
    if isinstance(values.dtype, pd.CategoricalDtype):
        return pd.Categorical.from_codes(view, dtype=values.dtype)
    return view if view.dtype.kind in "iuf" else pd.array(view, copy=False)


def to_pandas(table: pa.Table, *, source: Any = None, **options: Any) -> pd.DataFrame:
    """``table.to_pandas(**options)`` with every column writable, copying only what Arrow cannot hand over.

    The caller gives ``table`` up: its memory now belongs to the frame, whose writes it would show. ``source``
    is the buffer the table was read from, if any: a column that views it is copied.
    """
    owners = _Owners(table, source)
    frame = table.to_pandas(**{"split_blocks": True, **options})
    if not owners.buffers:
        return frame
    columns = {i: _writable(frame.iloc[:, i], owners) for i in range(frame.shape[1])}
    result = pd.DataFrame(columns, index=frame.index, copy=False)
    result.columns = frame.columns
    result.attrs = frame.attrs
    return result


def views(table: pa.Table, source: Any) -> bool:
    """Whether a buffer of ``table`` lies in ``source``'s memory (an uncompressed Feather file is read without
    a copy): such a table must not outlive ``source``."""
    start, end = _span(source)
    for column in table.columns:
        for chunk in column.chunks:
            arrays = [chunk, chunk.dictionary] if pa.types.is_dictionary(chunk.type) else [chunk]
            for array in arrays:
                if any(b is not None and start <= b.address < end for b in array.buffers()):
                    return True
    return False


def can_concat(tables: list[pa.Table]) -> bool:
    """Whether converting ``tables`` concatenated gives what ``pandas.concat`` of each one converted gives
    (the index aside), so that many files' tables can be converted at once.

    Conservative: the same columns of the same types and pandas metadata, no column without a value in some
    table (a set drops it there before concatenating: see :mod:`dreambolt_magic.datasets.partitions`), and so no table
    without rows, and each dictionary column with the same values in every table (pandas concatenates
    categoricals of other categories as objects, where Arrow would unify them).
    """
    first = tables[0].schema
    if len(set(first.names)) != len(first.names) or not first.names:
        return False
    meta = _pandas_meta(first)
    for table in tables:
        if not table.schema.equals(first, check_metadata=False) or _pandas_meta(table.schema) != meta:
            return False
        if any(column.null_count == len(column) for column in table.columns):
            return False
    dictionaries = [i for i, f in enumerate(first) if pa.types.is_dictionary(f.type)]
    return all(_same_values([t.column(i) for t in tables]) for i in dictionaries)


def _pandas_meta(schema: pa.Schema) -> Any:
    # A file's pandas metadata, but for where its RangeIndex starts and stops (one file's rows follow another's).
    meta = schema.pandas_metadata or {}
    index = [i.get("name") if isinstance(i, dict) else i for i in meta.get("index_columns", [])]
    return {**{k: v for k, v in meta.items() if k != "index_columns"}, "index_columns": index}


def _same_values(columns: list[pa.ChunkedArray]) -> bool:
    # Whether these dictionary columns' dictionaries hold the same values (in any order).
    dictionaries = [chunk.dictionary for column in columns for chunk in column.chunks]
    if all(d.equals(dictionaries[0]) for d in dictionaries[1:]):
        return True
    per_column = [{v for chunk in column.chunks for v in chunk.dictionary.to_pylist()} for column in columns]
    return all(values == per_column[0] for values in per_column[1:])
