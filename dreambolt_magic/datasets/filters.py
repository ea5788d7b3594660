"""A restricted filter expression: ``year == 2024 and month in (5, 6)``, parsed with :mod:`ast`, never ``eval``.

Allowed: comparisons (``== != < <= > >=``, chains like ``2020 <= year < 2024``), ``in`` / ``not in`` with a
tuple, list or set of literals, ``and``, ``or``, ``not``, parentheses, column names and literals (strings,
numbers, ``True``, ``False``, ``None``; a leading ``-`` on a number). Anything else (calls, attributes,
subscripts, arithmetic, lambdas) is refused when the text is parsed, before anything is downloaded.

One expression is used twice by the dataset loader:

- :meth:`Filter.decide` on the Hive partition values of an object's key (``year=2024/``): ``False`` means no
  row of the object can match, so the object is never fetched. A name that is not a partition makes the
  answer unknown (``None``), and unknown objects are fetched.
- :meth:`Filter.decide_ranges` on what a Parquet row group's statistics say of each column (its smallest and
  largest value, and whether it may hold nulls): ``False`` means no row of the group can match, so the group is
  never fetched. Unknown stays unknown (``None``), and unknown groups are fetched.
- :meth:`Filter.mask` on a loaded frame: the rows to keep.

No I/O here.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from dreambolt_magic.datasets.ranges import link, literal_value
from dreambolt_magic.formats.rowgroups import Range

__all__ = ["Bound", "Filter", "FilterColumnError", "FilterSyntaxError", "Range"]

_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_HELP = ("use comparisons (==, !=, <, <=, >, >=, in, not in) of column names with literals, joined by "
         "and, or, not; e.g. year == 2024 and month in (5, 6)")


#: The longest filter text, and the deepest nesting of its expression, accepted.
MAX_LENGTH = 10_000
MAX_DEPTH = 64


def _depth(root: ast.AST) -> int:
    """How deep the expression tree goes (walked with a stack: a deep tree must not exhaust Python's)."""
    deepest, stack = 0, [(root, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if level <= MAX_DEPTH:
            stack.extend((child, level + 1) for child in ast.iter_child_nodes(node)
                         if not isinstance(child, (ast.expr_context, ast.boolop, ast.cmpop, ast.unaryop)))
    return deepest


class FilterSyntaxError(ValueError):
    """The filter text is not a restricted expression (raised before any request)."""


class FilterColumnError(LookupError):
    """The filter names a column that the loaded data does not have; ``name`` is the column."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class Filter:
    """A parsed, checked filter expression. ``names`` are the column names it uses."""

    def __init__(self, text: str) -> None:
        if not isinstance(text, str) or not text.strip():
            raise FilterSyntaxError(f"the filter is empty; {_HELP}")
        self.text = text.strip()
        if len(self.text) > MAX_LENGTH:
            raise FilterSyntaxError(f"the filter is {len(self.text):,} characters long, more than the "
                                    f"{MAX_LENGTH:,} allowed; {_HELP}")
        try:
            tree = ast.parse(self.text, mode="eval")
        except SyntaxError as exc:
            raise FilterSyntaxError(f"the filter {self.text!r} is not a valid expression ({exc.msg}); "
                                    f"{_HELP}") from None
        except (RecursionError, MemoryError):  # Python's parser gives up on very deep nesting
            raise FilterSyntaxError(f"the filter is nested too deeply to parse; {_HELP}") from None
        depth = _depth(tree.body)
        if depth > MAX_DEPTH:
            # Deciding and masking walk the expression recursively: bound it here, not in the middle of a load.
            raise FilterSyntaxError(f"the filter nests {depth} levels deep (of not, and, or, parentheses), more "
                                    f"than the {MAX_DEPTH} allowed; {_HELP}")
        self.names: set[str] = set()
        self._check(tree.body)
        self._tree = tree.body

    def __repr__(self) -> str:
        return f"Filter({self.text!r})"

    # --- checking ----------------------------------------------------------------------------------------

    def _refuse(self, node: ast.AST, what: str) -> FilterSyntaxError:
        part = ast.get_source_segment(self.text, node) or type(node).__name__
        return FilterSyntaxError(f"the filter {self.text!r} uses {what} ({part!r}), which is not allowed; {_HELP}")

    def _check(self, node: ast.AST) -> None:
        if isinstance(node, ast.BoolOp):
            for value in node.values:
                self._check(value)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            self._check(node.operand)
        elif isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for op, right in zip(node.ops, node.comparators, strict=True):
                if isinstance(op, (ast.In, ast.NotIn)):
                    if not isinstance(right, (ast.Tuple, ast.List, ast.Set)):
                        raise self._refuse(right, "'in' without a literal tuple, list or set after it")
                    for element in right.elts:
                        _literal(element, self)
                elif type(op) not in _COMPARE:
                    raise self._refuse(node, f"the operator {type(op).__name__}")
            for index, operand in enumerate(operands):
                if isinstance(operand, (ast.Tuple, ast.List, ast.Set)):
                    if index == 0 or not isinstance(node.ops[index - 1], (ast.In, ast.NotIn)):
                        raise self._refuse(operand, "a collection outside 'in'")
                    if index < len(operands) - 1:  # a in (1, 2) == 1: the collection compared again
                        raise self._refuse(operand, "a collection compared again after 'in'")
                    continue  # checked above, as the right side of in / not in
                if isinstance(operand, ast.Name):
                    self.names.add(operand.id)
                else:
                    _literal(operand, self)
            if not any(isinstance(o, ast.Name) for o in operands):
                raise self._refuse(node, "a comparison with no column name in it")
        elif isinstance(node, ast.Name):
            raise self._refuse(node, "a bare column name; compare it with a value, e.g. flag == True,")
        else:
            raise self._refuse(node, type(node).__name__)

    # --- on partition values: True, False or None (unknown) ------------------------------------------------

    def decide(self, values: Mapping[str, Any]) -> bool | None:
        """Whether rows with these column values can match: ``False`` only if none can; ``None`` if the
        expression uses a name not in ``values`` (or compares values that cannot be compared)."""
        return self._decide(self._tree, values)

    def _decide(self, node: ast.AST, values: Mapping[str, Any]) -> bool | None:
        if isinstance(node, ast.BoolOp):
            results = [self._decide(v, values) for v in node.values]
            if isinstance(node.op, ast.And):
                return False if False in results else (None if None in results else True)
            return True if True in results else (None if None in results else False)
        if isinstance(node, ast.UnaryOp):
            inner = self._decide(node.operand, values)
            return None if inner is None else not inner
        assert isinstance(node, ast.Compare)
        left = node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            a, b = _scalar(left, values), _scalar(right, values)
            if a is _UNKNOWN or b is _UNKNOWN:
                return None
            try:
                if isinstance(op, (ast.In, ast.NotIn)):
                    found = any(_equal(a, item) for item in b)
                    ok = found if isinstance(op, ast.In) else not found
                elif isinstance(op, (ast.Eq, ast.NotEq)):
                    ok = _equal(a, b) == isinstance(op, ast.Eq)
                else:
                    ok = bool(_COMPARE[type(op)](*_coerce(a, b)))
            except TypeError:
                return None
            if not ok:
                return False
            left = right
        return True

    # --- on value ranges (row-group statistics): True, False or None (unknown) ----------------------------

    def decide_ranges(self, ranges: Mapping[str, Range]) -> bool | None:
        """Whether rows whose values lie in these ranges can match: ``False`` only if none can, ``True`` only if
        every one does, ``None`` if unknown.

        ``ranges`` maps a column to ``(min, max, may_have_nulls)`` (see :data:`Range`). A column missing from it
        is unknown, and so is any comparison whose values cannot be compared with certainty: text with numbers,
        a date or time of day with anything, a time zone with none, ``None`` as a literal, two columns. Rows are
        judged as :meth:`mask` judges them: a null (or NaN) matches no comparison and no ``in``, but does match
        ``not in``; ``not`` turns all into none and back.
        """
        return self._ranges(self._tree, ranges)

    def _ranges(self, node: ast.AST, ranges: Mapping[str, Range]) -> bool | None:
        if isinstance(node, ast.BoolOp):
            results = [self._ranges(v, ranges) for v in node.values]
            if isinstance(node.op, ast.And):
                return False if False in results else (None if None in results else True)
            return True if True in results else (None if None in results else False)
        if isinstance(node, ast.UnaryOp):
            inner = self._ranges(node.operand, ranges)
            return None if inner is None else not inner
        assert isinstance(node, ast.Compare)
        results = []
        left = node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            results.append(link(op, left, right, ranges))
            left = right
        return False if False in results else (None if None in results else True)

    def bind(self, values: Mapping[str, Any]) -> Bound:
        """This filter with some columns' values known for a whole object (its Hive partitions): what a row
        group test of that object needs besides its statistics."""
        return Bound(self, dict(values))

    # --- on a frame: a boolean mask ------------------------------------------------------------------------

    def mask(self, frame: pd.DataFrame) -> pd.Series:
        """The rows of ``frame`` that match. Raises :class:`FilterColumnError` for a name not in the frame,
        and ``TypeError`` for values that cannot be compared (a number with text, say)."""
        for name in sorted(self.names):
            if name not in frame.columns:
                raise FilterColumnError(name)
        result = self._mask(self._tree, frame)
        if not isinstance(result, pd.Series):  # pragma: no cover - every comparison names a column
            result = pd.Series(bool(result), index=frame.index)
        return result.fillna(False).astype(bool)

    def _mask(self, node: ast.AST, frame: pd.DataFrame) -> Any:
        if isinstance(node, ast.BoolOp):
            parts = [self._mask(v, frame) for v in node.values]
            combined = parts[0]
            for part in parts[1:]:
                combined = (combined & part) if isinstance(node.op, ast.And) else (combined | part)
            return combined
        if isinstance(node, ast.UnaryOp):
            return ~self._mask(node.operand, frame)
        assert isinstance(node, ast.Compare)
        result: Any = None
        left = node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            a = _column_or_literal(left, frame)
            if isinstance(op, (ast.In, ast.NotIn)):
                items = [literal_value(e) for e in right.elts]  # type: ignore[attr-defined]
                series = a if isinstance(a, pd.Series) else pd.Series(a, index=frame.index)
                step = series.isin(items)
                step = step if isinstance(op, ast.In) else ~step
            else:
                b = _column_or_literal(right, frame)
                step = _COMPARE[type(op)](a, b)
                if isinstance(op, ast.NotEq):
                    # SQL's rule, as in pyarrow: a null is neither equal nor unequal to anything.
                    for side in (a, b):
                        if isinstance(side, pd.Series):
                            step = step & side.notna()
            step = step.fillna(False) if isinstance(step, pd.Series) else step
            result = step if result is None else (result & step)
            left = right
        return result


_UNKNOWN = object()


def _literal(node: ast.AST, owner: Filter) -> None:
    try:
        literal_value(node)
    except ValueError:
        raise owner._refuse(node, type(node).__name__ if not isinstance(node, ast.Constant) else
                            f"a {type(node.value).__name__} literal") from None


def _scalar(node: ast.AST, values: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Name):
        return values[node.id] if node.id in values else _UNKNOWN
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [literal_value(e) for e in node.elts]
    return literal_value(node)


def _column_or_literal(node: ast.AST, frame: pd.DataFrame) -> Any:
    return frame[node.id] if isinstance(node, ast.Name) else literal_value(node)


def _coerce(a: Any, b: Any) -> tuple[Any, Any]:
    """A partition value is text in the key: compare ``"05"`` with ``5`` as numbers where both can be."""
    if isinstance(a, str) and isinstance(b, (int, float)) and not isinstance(b, bool):
        try:
            return type(b)(a), b
        except ValueError:
            return a, b
    if isinstance(b, str) and isinstance(a, (int, float)) and not isinstance(a, bool):
        flipped = _coerce(b, a)
        return flipped[1], flipped[0]
    return a, b


def _equal(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return False  # a null partition matches nothing, not even None (SQL's rule)
    x, y = _coerce(a, b)
    return bool(x == y)


@dataclass(frozen=True)
class Bound:
    """A filter and the values some of its columns have in every row of one object (its partition values).

    ``names`` are the columns left for statistics to tell; :meth:`decide_ranges` decides a row group of the
    object from their ranges, each known value counting as a range of one value.
    """

    filter: Filter
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> set[str]:
        return self.filter.names - set(self.values)

    def decide_ranges(self, ranges: Mapping[str, Range]) -> bool | None:
        known = {name: (value, value, value is None) for name, value in self.values.items()}
        return self.filter.decide_ranges({**known, **ranges})
