"""Combining a set's frames into one: Hive partition columns, schema unification, the filter on rows.

Hive partitions (``year=2024/month=05/``) in a key's folders become columns (whole numbers when every value
of a partition is one, else text). A ``filter`` (see :mod:`dreambolt_magic.datasets.filters`) is first decided on the
partition values, so objects in partitions that cannot match are never fetched, then applied to the rows.

Schemas are unified: a column missing from some objects is null there (whole-number columns then become
float, as in ``pandas.concat``); a column whose type conflicts between objects (text in one, numbers in
another) is :class:`~dreambolt_magic.errors.S3FormatError` (code ``SchemaMismatch``) naming both objects.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dreambolt_magic.datasets.filters import Filter, FilterColumnError
from dreambolt_magic.datasets.listing import ObjectRef
from dreambolt_magic.errors import S3FormatError
from dreambolt_magic.formats.readers import Decoded

__all__ = ["HIVE_NULL", "Loaded", "apply_filter", "columns_to_read", "combine", "kind_of", "matching_rows",
           "partition_types", "typed", "with_partitions"]

#: How Hive (and Delta, on disk) names a partition whose value is null.
HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"
_WHOLE = re.compile(r"-?\d{1,18}")


def partition_types(refs: Sequence[ObjectRef]) -> dict[str, type]:
    """For each partition name, in order of first appearance: ``int`` if every value is a whole number."""
    kinds: dict[str, type] = {}
    for ref in refs:
        for name, value in ref.partitions.items():
            whole = value == HIVE_NULL or _WHOLE.fullmatch(value) is not None
            kinds[name] = int if whole and kinds.get(name, int) is int else str
    return kinds


def typed(partitions: dict[str, str], kinds: dict[str, type]) -> dict[str, Any]:
    values: dict[str, Any] = dict.fromkeys(kinds)
    for name, value in partitions.items():
        values[name] = None if value == HIVE_NULL else kinds[name](value)
    return values


def columns_to_read(wanted: list[str] | None, expression: Filter | None, kinds: dict[str, type]) -> list[str] | None:
    """The columns to read from the objects: those asked for and those the filter needs, not partitions."""
    if wanted is None:
        return None
    names = [c for c in wanted if c not in kinds]
    names += sorted((expression.names if expression else set()) - set(names) - set(kinds))
    return names or None


@dataclass
class Loaded:
    """One object of a set, loaded: its frame (or, for a Parquet file, its table not yet converted into pandas:
    :class:`~dreambolt_magic.formats.readers.Decoded`), and its ``attrs["s3"]`` (``info``), kept apart from the frame.

    Kept apart because pandas deep-copies ``attrs`` in every operation on a frame: on 300 small frames,
    combining them spent a third of its time copying their provenance.
    """

    ref: ObjectRef
    result: pd.DataFrame | Decoded
    info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, ref: ObjectRef, result: pd.DataFrame | Decoded, info: dict[str, Any] | None = None) -> Loaded:
        """``result`` with ``info``; without, the frame's ``attrs["s3"]`` is taken out of it as ``info``."""
        if isinstance(result, pd.DataFrame):
            found = result.attrs.pop("s3", {})
            result.attrs.clear()
            info = found if info is None else info
        return cls(ref, result, info or {})

    @property
    def frame(self) -> pd.DataFrame:
        """The object's frame (a table not yet converted is converted now, once)."""
        if isinstance(self.result, Decoded):
            self.result = self.result.frame()
        return self.result

    @property
    def rows(self) -> int:
        """The object's rows, converted or not."""
        return self.result.table.num_rows if isinstance(self.result, Decoded) else len(self.result)


def with_partitions(frame: pd.DataFrame, ref: ObjectRef, kinds: dict[str, type]) -> pd.DataFrame:
    values = typed(ref.partitions, kinds)
    for name in kinds:
        if name in frame.columns:
            raise S3FormatError(
                f"{ref.text} has a column {name!r} and its key has a partition {name}=...; rename one, or "
                "load with partitions=False", uri=ref.text, bucket=ref.uri.bucket, key=ref.uri.key,
                code="ColumnClash", hints={"column": name},
            )
    if not kinds:
        return frame
    frame = frame.copy(deep=False)
    for name in kinds:
        frame[name] = values[name]
    return frame


def matching_rows(loaded: Loaded, expression: Filter | None, kinds: dict[str, type]) -> int:
    """The rows of one object's frame that ``expression`` keeps (all, without one), counted before combining."""
    if expression is None:
        return loaded.rows
    frame = with_partitions(loaded.frame, loaded.ref, kinds)
    try:
        return int(expression.mask(frame).sum())
    except (FilterColumnError, TypeError):
        return 0  # the whole set decides, and reports, once it is combined


def kind_of(series: pd.Series) -> str:
    """A coarse type, for telling whether two objects' columns can share one: number, text, bool, ..."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    if isinstance(dtype, pd.DatetimeTZDtype):
        return f"datetime ({dtype.tz})"
    if pd.api.types.is_datetime64_dtype(dtype):
        return "datetime"
    if pd.api.types.is_timedelta64_dtype(dtype):
        return "timedelta"
    if isinstance(dtype, pd.CategoricalDtype):
        return kind_of(pd.Series(dtype.categories))
    inferred = pd.api.types.infer_dtype(series, skipna=True)
    return {"string": "text", "boolean": "bool", "integer": "number", "floating": "number",
            "mixed-integer-float": "number", "decimal": "number", "datetime": "datetime",
            "datetime64": "datetime", "date": "date", "bytes": "bytes"}.get(inferred, "object")


def combine(loaded: list[Loaded], kinds: dict[str, type], source_column: str | None) -> pd.DataFrame:
    result = _at_once(loaded, kinds)
    if result is None:
        frames = [with_partitions(item.frame, item.ref, kinds) for item in loaded]
        order: dict[str, None] = {}
        for frame in frames:
            order.update(dict.fromkeys(frame.columns))
        trimmed = frames if _same_schema(frames) else _unified(loaded, frames)
        if len(trimmed) == 1:
            result = trimmed[0].reset_index(drop=True)
        else:
            result = pd.concat(trimmed, ignore_index=True, sort=False)
        result = result.reindex(columns=list(order)) if list(result.columns) != list(order) else result
    if source_column is not None:
        if source_column in result.columns:
            raise S3FormatError(
                f"the source column {source_column!r} is already a column of the data; choose another name",
                uri=loaded[0].ref.text, code="ColumnClash", hints={"column": source_column},
            )
        codes = np.repeat(np.arange(len(loaded)), [item.rows for item in loaded])
        result[source_column] = pd.Categorical.from_codes(codes, categories=[i.ref.text for i in loaded])
    result.attrs = {}
    return result


def _at_once(loaded: list[Loaded], kinds: dict[str, type]) -> pd.DataFrame | None:
    """The set's frame from its Parquet files' tables converted into pandas at once, where that gives what
    converting each and concatenating would (:meth:`Decoded.concat` says); else None.

    Converting each file costs about 2 ms of Python whatever its size: for 60 files of 2 columns that was a
    fifth of the load. Hive partition values are added after, as :func:`with_partitions` adds them to each.
    """
    items = [item.result for item in loaded]
    decoded = [r for r in items if isinstance(r, Decoded)]
    if len(decoded) < 2 or len(decoded) != len(items):
        return None
    if any(v is None for item in loaded for v in typed(item.ref.partitions, kinds).values()):
        return None  # a null partition is dropped, not filled, where the frames are unified one by one
    joined = Decoded.concat(decoded)
    if joined is None:
        return None
    frame = joined.frame().reset_index(drop=True)
    if not kinds:
        return frame
    with_partitions(frame.iloc[:0], loaded[0].ref, kinds)  # a column named as a partition is refused
    empty = [pd.DataFrame(index=pd.RangeIndex(item.rows)) for item in loaded]
    values = pd.concat([with_partitions(e, item.ref, kinds) for e, item in zip(empty, loaded, strict=True)],
                       ignore_index=True)
    return pd.concat([frame, values], axis=1)


def _same_schema(frames: list[pd.DataFrame]) -> bool:
    """Whether the frames have the same columns, of the same types, none of them ``object``: then there is
    nothing to check or unify (the usual set: one writer, one schema), and the per-column checks are skipped.
    ``object`` columns may hold text in one object and numbers in another, so they are always checked."""
    columns, dtypes = frames[0].columns, frames[0].dtypes.tolist()
    if columns.has_duplicates or any(pd.api.types.is_object_dtype(dtype) for dtype in dtypes):
        return False
    return all(f.columns.equals(columns) and f.dtypes.tolist() == dtypes for f in frames[1:])


def _unified(loaded: list[Loaded], frames: list[pd.DataFrame]) -> list[pd.DataFrame]:
    """The frames ready to concatenate: columns whose types conflict between objects are refused
    (``SchemaMismatch``), and a column that is all null in one object is dropped there."""
    # Per column, the objects where it holds values: only those decide its type.
    first: dict[str, tuple[str, str, str]] = {}
    informative: dict[str, set[int]] = {}
    for index, (item, frame) in enumerate(zip(loaded, frames, strict=True)):
        for name in frame.columns:
            column = frame[name]
            if isinstance(column, pd.DataFrame) or column.isna().all():
                continue
            kind = kind_of(column)
            informative.setdefault(name, set()).add(index)
            seen = first.setdefault(name, (kind, item.ref.text, str(column.dtype)))
            if kind != seen[0] and "object" not in (kind, seen[0]):
                raise S3FormatError(
                    f"column {name!r} is {kind} ({column.dtype}) in {item.ref.text} but {seen[0]} ({seen[2]}) "
                    f"in {seen[1]}: the objects cannot be combined", uri=item.ref.text, bucket=item.ref.uri.bucket,
                    key=item.ref.uri.key, code="SchemaMismatch",
                    hints={"column": name, "other": seen[1], "types": [seen[2], str(column.dtype)]},
                )
    # A column that is all null in one object would otherwise decide the type (float NaN beside text).
    trimmed = []
    for index, frame in enumerate(frames):
        empty = [n for n in frame.columns if n in informative and index not in informative[n]]
        trimmed.append(frame.drop(columns=empty) if empty else frame)
    return trimmed


def apply_filter(expression: Filter, frame: pd.DataFrame, label: str) -> pd.DataFrame:
    try:
        return frame[expression.mask(frame)]
    except FilterColumnError as exc:
        raise S3FormatError(
            f"the filter {expression.text!r} names {exc.name!r}, which is neither a column of {label} nor a "
            f"partition; its columns are {', '.join(map(repr, frame.columns))}", uri=label, code="BadFilter",
            hints={"column": exc.name, "available": [str(c) for c in frame.columns]},
        ) from None
    except TypeError as exc:
        raise S3FormatError(
            f"the filter {expression.text!r} compares values of different types in {label}: {exc}", uri=label,
            code="BadFilter", detail=str(exc),
        ) from None
