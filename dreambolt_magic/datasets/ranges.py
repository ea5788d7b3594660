"""Deciding one comparison of a filter on what a row group's statistics say of a column: its range
(``(min, max, may_have_nulls)``, :data:`~dreambolt_magic.formats.rowgroups.Range`). ``True``: every row
matches; ``False``: none can; ``None``: the statistics cannot tell. And the literals a filter may hold."""

from __future__ import annotations

import ast
import datetime
import decimal
import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from dreambolt_magic.formats.rowgroups import Range

__all__ = ["LITERALS", "link", "literal_value"]

#: The Python values a filter's literals may be.
LITERALS = (str, int, float, bool, type(None))


def literal_value(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, LITERALS):
        return node.value
    if (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant)
            and isinstance(node.operand.value, (int, float)) and not isinstance(node.operand.value, bool)):
        return -node.operand.value
    raise ValueError(node)


_FLIPPED: dict[type[ast.cmpop], type[ast.cmpop]] = {ast.Lt: ast.Gt, ast.LtE: ast.GtE, ast.Gt: ast.Lt, ast.GtE: ast.LtE,
                                                     ast.Eq: ast.Eq, ast.NotEq: ast.NotEq}
_NUMBERS = (int, float, decimal.Decimal)


def link(op: ast.cmpop, left: ast.AST, right: ast.AST, ranges: Mapping[str, Range]) -> bool | None:
    """One ``left op right`` of a chain, where one side is a column with a known range."""
    if isinstance(op, (ast.In, ast.NotIn)):
        if not isinstance(left, ast.Name) or left.id not in ranges:
            return None
        items = [literal_value(e) for e in right.elts]  # type: ignore[attr-defined]
        return _in_range(ranges[left.id], items, isinstance(op, ast.In))
    kind = type(op)
    if isinstance(right, ast.Name) and not isinstance(left, ast.Name):
        left, right, kind = right, left, _FLIPPED[kind]  # the column on the left
    if not isinstance(left, ast.Name) or isinstance(right, ast.Name) or left.id not in ranges:
        return None
    return _compare_range(kind, ranges[left.id], literal_value(right))


def _compare_range(kind: type[ast.cmpop], column: Range, literal: Any) -> bool | None:
    low, high, nulls = column
    if literal is None:
        return None
    if low is None and high is None:
        return False  # only nulls, and a null matches no comparison
    bounds = _comparable(low, high, literal)
    if bounds is None:
        return None
    low, high, literal = bounds
    none, every = {
        ast.Eq: (literal < low or literal > high, low == high == literal),
        ast.NotEq: (low == high == literal, literal < low or literal > high),
        ast.Lt: (low >= literal, high < literal),
        ast.LtE: (low > literal, high <= literal),
        ast.Gt: (high <= literal, low > literal),
        ast.GtE: (high < literal, low >= literal),
    }[kind]
    if none:
        return False
    return True if every and not nulls else None


def _in_range(column: Range, items: list[Any], positive: bool) -> bool | None:
    low, high, nulls = column
    if any(item is None for item in items) or isinstance(low, datetime.date) or isinstance(high, datetime.date):
        return None  # pandas' isin does not read text as timestamps, as its comparisons do
    if low is None and high is None:
        return not positive  # a null is in no list, so it is always "not in" one
    inside, single = [], True
    for item in items:
        bounds = _comparable(low, high, item)
        if bounds is None:
            return None
        lo, hi, value = bounds
        if lo <= value <= hi:
            inside.append(value)
            single = single and lo == hi == value
    if not inside:
        return not positive  # no value of the group is in the list
    if single and not nulls:
        return positive  # every row holds the one value, and it is in the list
    return None


def _comparable(low: Any, high: Any, literal: Any) -> tuple[Any, Any, Any] | None:
    """``low``, ``high`` and ``literal`` as values Python compares as pandas would, or ``None`` if unsure."""
    if isinstance(low, bool) or isinstance(high, bool) or isinstance(literal, bool):
        ok = all(isinstance(v, bool) for v in (low, high, literal))
        return (low, high, literal) if ok else None
    if all(isinstance(v, _NUMBERS) for v in (low, high, literal)):
        if any(isinstance(v, float) and math.isnan(v) for v in (low, high, literal)):
            return None
        return low, high, literal
    if isinstance(low, str) and isinstance(high, str) and isinstance(literal, str):
        return low, high, literal
    if isinstance(low, datetime.datetime) and isinstance(high, datetime.datetime) and isinstance(literal, str):
        # pandas compares a datetime column with text by reading the text as a timestamp.
        try:
            when = pd.Timestamp(literal)
        except (ValueError, TypeError):
            return None
        if when is pd.NaT or (when.tzinfo is None) != (low.tzinfo is None) or (low.tzinfo is None) != (
                high.tzinfo is None):
            # pandas reads naive text in the column's own zone, which the statistics (in UTC) do not tell.
            return None
        return pd.Timestamp(low), pd.Timestamp(high), when
    return None
