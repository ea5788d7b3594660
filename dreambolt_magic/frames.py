"""Arrow tables into pandas DataFrames, handing columns over without a copy where Arrow's memory allows.

``Table.to_pandas()`` copies the whole table: it gathers the columns of each type into one 2-D block. For a
240 MB Parquet file of 7.5M rows that copy took 0.4 s, twice as long as decoding the file, and the table
and the frame both had to be in memory at once. ``split_blocks=True, self_destruct=True`` gives each column
a block of its own and hands fixed-width columns without nulls over in the memory Arrow decoded them into,
releasing the rest of the table column by column as it goes: 0.03 s, and a peak of 0.8 GB instead of 1.1.

But pyarrow marks the arrays it hands over read-only, so ``df.loc[0, "a"] = 1`` would raise "assignment
destination is read-only" on a frame the user owns. :func:`to_pandas` gives each such column a writable view
of the same memory instead: the table is the caller's to give up, and once it is gone the frame is the only
owner of those buffers. A buffer that Arrow does not own (one that views bytes a cache has mapped, say) or
that two columns share is copied instead, so a write can never reach anything but its own column.
"""

from __future__ import annotations

import bisect
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = ["to_pandas"]


def _shareable(column: pa.ChunkedArray) -> bool:
    # The columns pyarrow hands over without a copy: one chunk of fixed-width values (or a dictionary's
    # indices, a Categorical's codes) and no nulls to fill in.
    kind = column.type
    numeric = pa.types.is_integer(kind) or pa.types.is_floating(kind)
    other = pa.types.is_timestamp(kind) or pa.types.is_duration(kind) or pa.types.is_dictionary(kind)
    return column.num_chunks == 1 and column.null_count == 0 and (numeric or other)


def _buffers(table: pa.Table) -> list[pa.Buffer]:
    # The data buffers those columns may be handed over in, sorted by address. Only those: holding others
    # would keep memory alive that self_destruct frees while it converts.
    found = {}
    for column in table.columns:
        if _shareable(column):
            data = column.chunk(0).buffers()[1]
            if data is not None:
                found[data.address] = data
    return [found[address] for address in sorted(found)]


def _storage(values: pd.Series) -> np.ndarray | None:
    # The numpy array under a column, without a copy; None for columns kept in other forms.
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.array.asi8
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.array.codes
    if isinstance(values.dtype, np.dtype) and values.dtype.kind in "iufmM":
        return values.to_numpy(copy=False)
    return None


def _writable(values: pd.Series, buffers: list[pa.Buffer], taken: list[tuple[int, int]]) -> Any:
    # A column pyarrow handed over in Arrow's memory, as a writable array over the same memory (or a copy).
    storage = _storage(values)
    if storage is None or storage.nbytes == 0:
        return values.array
    start = storage.__array_interface__["data"][0]
    end = start + storage.nbytes
    at = bisect.bisect_right([buffer.address for buffer in buffers], start) - 1
    if at < 0 or end > buffers[at].address + buffers[at].size:
        return values.array  # pandas made this array: it is writable already
    buffer = buffers[at]
    if buffer.is_mutable and not any(start < stop and first < end for first, stop in taken):
        taken.append((start, end))
        view = np.frombuffer(buffer, dtype=storage.dtype, count=len(storage), offset=start - buffer.address)
    else:
        view = storage.copy()
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return pd.array(view, dtype=values.dtype, copy=False)
    if isinstance(values.dtype, pd.CategoricalDtype):
        return pd.Categorical.from_codes(view, dtype=values.dtype)
    return view if view.dtype.kind in "iuf" else pd.array(view, copy=False)


def to_pandas(table: pa.Table, **options: Any) -> pd.DataFrame:
    """``table.to_pandas(**options)`` with every column writable, copying only what Arrow cannot hand over.

    The caller gives ``table`` up: it is unusable afterwards (its memory now belongs to the frame).
    """
    buffers = _buffers(table)
    frame = table.to_pandas(**{"split_blocks": True, "self_destruct": True, **options})
    del table
    if not buffers:
        return frame
    taken: list[tuple[int, int]] = []
    columns = {i: _writable(frame.iloc[:, i], buffers, taken) for i in range(frame.shape[1])}
    result = pd.DataFrame(columns, index=frame.index, copy=False)
    result.columns = frame.columns
    result.attrs = frame.attrs
    return result
