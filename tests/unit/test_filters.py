"""The filter parser (``dreambolt_magic.datasets.filters``): what it accepts, what it refuses before any
request, and its decisions on partition values and masks on frames. No I/O.

Decisions on row-group ranges (``decide_ranges``) are in test_row_groups.py, beside the footers they read.
Expected rows are computed here by plain Python over the same values, never by the filter.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dreambolt_magic.datasets.filters import Filter, FilterColumnError, FilterSyntaxError

# --- refused when parsed ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "__import__('os').system('true')", "year.real == 1", "year + 1 == 2", "year", "1 == 1", "year in range(3)",
    "lambda: 1", "year == [1]", "", "year ==",
])
def test_filters_are_parsed_never_evaluated(text: str) -> None:
    with pytest.raises(FilterSyntaxError):
        Filter(text)


@pytest.mark.parametrize(("text", "what"), [
    # calls
    ("f(year) == 1", "Call"), ("len(name) > 1", "Call"), ("year == int('5')", "Call"),
    ("(lambda x: x)(1) == year", "Call"),
    # attributes and subscripts
    ("a.b == 1", "Attribute"), ("year == os.sep", "Attribute"),
    ("a[0] == 1", "Subscript"), ("a == b[0]", "Subscript"), ("a == 'text'[0]", "Subscript"),
    # lambdas
    ("lambda: 1", "Lambda"), ("year == (lambda: 1)", "Lambda"),
    # arithmetic, bitwise, and a minus on anything but a number
    ("year + 1 == 2", "BinOp"), ("a * 2 > 1", "BinOp"), ("a == 1 + 1", "BinOp"), ("a == 2 ** 8", "BinOp"),
    ("a & b", "BinOp"), ("a in (1 + 1,)", "BinOp"), ("-a < 1", "UnaryOp"), ("a == --1", "UnaryOp"),
    ("a == ~1", "UnaryOp"),
    # other expressions
    ("a == (1 if b else 2)", "IfExp"), ('a == f"{b}"', "JoinedStr"), ("(a := 1) == 1", "NamedExpr"),
    ("[x for x in a] == 1", "ListComp"), ("a == {1: 2}", "Dict"),
    # operators that are not comparisons of values
    ("a is None", "Is"), ("a is not None", "IsNot"),
    # literals that are not text, numbers, booleans or None
    ("a == b'x'", "bytes literal"), ("a == 1j", "complex literal"), ("a == ...", "ellipsis literal"),
    # names where literals belong, collections where they do not
    ("a in b", "'in' without a literal tuple, list or set"), ("a in (b,)", "Name"),
    ("a in (1, (2,))", "Tuple"), ("(1, 2) == a", "a collection outside 'in'"),
    ("a == [1]", "a collection outside 'in'"), ("a in {1: 2}", "'in' without a literal tuple, list or set"),
    # a collection in the middle of a chain: mask() would compare it again, and fail on it
    ("a in (1, 2) == 1", "a collection compared again after 'in'"),
    ("a in (1,) < b", "a collection compared again after 'in'"),
    ("a in (1, 2) in (3,)", "a collection compared again after 'in'"),
    # no column, or a column with nothing to compare
    ("1 == 1", "no column name"), ("1 < 2 < 3", "no column name"), ("flag", "a bare column name"),
    ("not flag", "a bare column name"), ("flag and year == 1", "a bare column name"),
])
def test_what_is_refused_is_named_in_the_message(text: str, what: str) -> None:
    with pytest.raises(FilterSyntaxError) as caught:
        Filter(text)
    message = str(caught.value)
    assert what in message
    assert repr(text) in message  # the whole filter, quoted, so the user sees which one
    assert "year == 2024 and month in (5, 6)" in message  # and an example of what is allowed


@pytest.mark.parametrize("text", ["", "   ", "\n", "year ==", "year = 1", "(year == 1", "year === 1"])
def test_empty_or_broken_text_is_a_syntax_error(text: str) -> None:
    with pytest.raises(FilterSyntaxError):
        Filter(text)


@pytest.mark.parametrize("text", [None, 5, b"year == 1", ["year == 1"]])
def test_a_filter_must_be_text(text: Any) -> None:
    with pytest.raises(FilterSyntaxError, match="empty"):
        Filter(text)


def test_a_syntax_error_is_a_value_error() -> None:
    # So a caller that catches ValueError for bad arguments catches a bad filter too.
    assert issubclass(FilterSyntaxError, ValueError)
    with pytest.raises(ValueError):
        Filter("year +")


@pytest.mark.parametrize(("text", "names"), [
    ("year == 2024", {"year"}),
    ("2020 <= year < 2024", {"year"}),
    ("a < b", {"a", "b"}),
    ("a < b <= c", {"a", "b", "c"}),
    ("year in (1, 2) and not (month not in [3]) or flag == True", {"year", "month", "flag"}),
    ("n == -1 and s == 'x' and m == 2.5 and z == None", {"n", "s", "m", "z"}),
    ("s == 'a' 'b'", {"s"}),  # adjacent strings are one literal
    ("year in []", {"year"}),
])
def test_what_is_accepted_and_the_names_it_uses(text: str, names: set[str]) -> None:
    f = Filter(f"  {text}\n")
    assert f.names == names
    assert f.text == text  # kept without the blanks around it
    assert repr(f) == f"Filter({text!r})"


# --- on partition values -------------------------------------------------------------------------------


def test_filter_decisions_on_partition_values() -> None:
    f = Filter("2020 <= year < 2024 and month in (5, 6) or not flag != True")
    assert f.names == {"year", "month", "flag"}
    assert f.decide({"year": 2021, "month": 5}) is True
    assert f.decide({"year": 2021, "month": 7}) is None  # flag unknown: must fetch
    assert f.decide({"year": 2024, "month": 5, "flag": False}) is False
    assert Filter("month == 5").decide({"month": "05"}) is True


@pytest.mark.parametrize(("year", "expected"), [(2019, False), (2020, True), (2023, True), (2024, False)])
def test_a_chained_comparison_holds_only_if_every_link_does(year: int, expected: bool) -> None:
    assert Filter("2020 <= year < 2024").decide({"year": year}) is expected
    assert Filter("2020 <= year < 2024").decide({"year": str(year)}) is expected  # as a key holds it


def test_a_chain_of_columns_compares_each_with_the_next() -> None:
    f = Filter("a < b <= c")
    assert f.decide({"a": 1, "b": 2, "c": 2}) is True
    assert f.decide({"a": 1, "b": 3, "c": 2}) is False
    assert f.decide({"a": 2, "b": 2, "c": 9}) is False
    assert f.decide({"a": 1, "b": 2}) is None  # c unknown


@pytest.mark.parametrize(("text", "values", "expected"), [
    ("month in (5, 6)", {"month": 6}, True),
    ("month in [5, 6]", {"month": "05"}, True),  # text from the key, compared as a number
    ("month in {5, 6}", {"month": 7}, False),
    ("month in ()", {"month": 5}, False),
    ("month not in (5, 6)", {"month": 7}, True),
    ("month not in (5, 6)", {"month": "6"}, False),
    ("region in ('eu', 'us')", {"region": "eu"}, True),
    ("region not in ('eu', 'us')", {"region": "ap"}, True),
    ("region in ('eu',)", {"region": "EU"}, False),  # text is compared as it is
    ("month in (5,)", {}, None),
    ("month in (None,)", {"month": None}, False),  # a null partition is in no list
    ("month not in (5,)", {"month": None}, True),  # ... so it is in "not in" every one
])
def test_in_and_not_in_on_partition_values(text: str, values: dict[str, Any], expected: bool | None) -> None:
    assert Filter(text).decide(values) is expected


@pytest.mark.parametrize(("text", "values", "expected"), [
    ("year == None", {"year": None}, False),  # a null partition matches nothing, not even None (SQL's rule)
    ("year != 2024", {"year": None}, True),
    ("year < 'x'", {"year": 2024}, None),  # cannot be compared: unknown, so the object is fetched
    ("year == 'x'", {"year": 2024}, False),
    ("year < 2025", {"year": "not a number"}, None),
    ("name > 'b'", {"name": "c"}, True),
    ("v == 1.5", {"v": "1.5"}, True),
    ("v == -1", {"v": "-1"}, True),
])
def test_partition_values_of_other_types(text: str, values: dict[str, Any], expected: bool | None) -> None:
    assert Filter(text).decide(values) is expected


@pytest.mark.parametrize(("text", "expected"), [
    ("known == 1 and other == 1", None), ("known == 2 and other == 1", False),
    ("known == 1 or other == 1", True), ("known == 2 or other == 1", None),
    ("not other == 1", None), ("not known == 2", True), ("not (known == 2 or known == 3)", True),
])
def test_unknown_names_stay_unknown_unless_the_rest_decides(text: str, expected: bool | None) -> None:
    assert Filter(text).decide({"known": 1}) is expected


# --- on a frame --------------------------------------------------------------------------------------------

YEARS: list[int | None] = [2019, 2020, 2023, 2024, None]
MONTHS = [5, 6, 7, 5, 6]
NAMES: list[str | None] = ["a", "b", None, "d", "e"]


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"year": pd.array(YEARS, dtype="Int64"), "month": MONTHS,
                         "name": pd.array(NAMES, dtype=object)})


def _rows(test: Any) -> list[bool]:
    """The expected mask, by plain Python over each row's values (a null row matches no comparison)."""
    return [bool(test(y, m, n)) for y, m, n in zip(YEARS, MONTHS, NAMES, strict=True)]


@pytest.mark.parametrize(("text", "expected"), [
    ("2020 <= year < 2024", _rows(lambda y, m, n: y is not None and 2020 <= y < 2024)),
    ("5 <= month <= 6 and year > 2019", _rows(lambda y, m, n: 5 <= m <= 6 and y is not None and y > 2019)),
    ("year < month", _rows(lambda y, m, n: y is not None and y < m)),
    ("year in (2020, 2024)", _rows(lambda y, m, n: y in (2020, 2024))),
    ("year in [2019]", _rows(lambda y, m, n: y == 2019)),
    ("month in {6, 7}", _rows(lambda y, m, n: m in (6, 7))),
    ("year not in (2020, 2024)", _rows(lambda y, m, n: y not in (2020, 2024))),  # a null is "not in" any list
    ("month in []", _rows(lambda y, m, n: False)),
    ("year != 2020", _rows(lambda y, m, n: y is not None and y != 2020)),  # a null is not "unequal" either
    ("name != 'a'", _rows(lambda y, m, n: n is not None and n != "a")),
    ("name not in ('a',)", _rows(lambda y, m, n: n != "a")),
    ("not year == 2020", _rows(lambda y, m, n: not (y is not None and y == 2020))),
    ("month == 5 or year == 2023", _rows(lambda y, m, n: m == 5 or y == 2023)),
    ("year == None", _rows(lambda y, m, n: False)),
    ("month > -6", _rows(lambda y, m, n: m > -6)),
])
def test_mask_keeps_the_rows_that_match(text: str, expected: list[bool]) -> None:
    mask = Filter(text).mask(_frame())
    assert mask.dtype == bool
    assert mask.tolist() == expected


def test_mask_names_a_missing_column_and_refuses_values_that_cannot_be_compared() -> None:
    with pytest.raises(FilterColumnError) as caught:
        Filter("month == 5 and zone == 'eu'").mask(_frame())
    assert caught.value.name == "zone"
    assert isinstance(caught.value, LookupError)
    with pytest.raises(TypeError):
        Filter("month > 'x'").mask(_frame())


# --- decide and mask agree with Python on complete values ------------------------------------------------

_OPS = ["==", "!=", "<", "<=", ">", ">="]
_VALUE = st.integers(-4, 4)


@st.composite
def _expressions(draw: st.DrawFn, depth: int = 0, columns: bool = True) -> str:
    """Filter text over the columns ``a`` and ``b``; ``columns``: also comparisons of the two columns."""
    if depth < 2 and draw(st.booleans()):
        joiner = draw(st.sampled_from([" and ", " or "]))
        text = "(" + joiner.join(draw(_expressions(depth + 1, columns)) for _ in range(2)) + ")"
        return f"not {text}" if draw(st.booleans()) else text
    name = draw(st.sampled_from(["a", "b"]))
    kinds = ["cmp", "flip", "chain", "in", "not in"] + (["columns"] if columns else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "cmp":
        return f"{name} {draw(st.sampled_from(_OPS))} {draw(_VALUE)}"
    if kind == "flip":
        return f"{draw(_VALUE)} {draw(st.sampled_from(_OPS))} {name}"
    if kind == "chain":
        first, second = draw(st.sampled_from(_OPS)), draw(st.sampled_from(_OPS))
        return f"{draw(_VALUE)} {first} {name} {second} {draw(_VALUE)}"
    if kind == "columns":
        return f"a {draw(st.sampled_from(_OPS))} b"
    items = ", ".join(map(str, draw(st.lists(_VALUE, max_size=3))))
    collection = draw(st.sampled_from([f"({items},)" if items else "()", f"[{items}]", f"{{{items}}}" if items
                                       else "[]"]))
    return f"{name} {kind} {collection}"


def _python(text: str, row: dict[str, int]) -> bool:
    """What Python says of the expression on these values: the oracle. The text is one the strategy above
    wrote (comparisons of two names and small whole numbers), never user input."""
    return bool(eval(text, {"__builtins__": {}}, dict(row)))


@settings(max_examples=300, deadline=None)
@given(a=_VALUE, b=_VALUE, text=_expressions())
def test_decide_and_mask_agree_with_python_on_whole_numbers(a: int, b: int, text: str) -> None:
    expected = _python(text, {"a": a, "b": b})
    f = Filter(text)
    assert f.decide({"a": a, "b": b}) is expected
    assert f.mask(pd.DataFrame({"a": [a], "b": [b]})).tolist() == [expected]


@settings(max_examples=200, deadline=None)
@given(a=_VALUE, b=_VALUE, text=_expressions(columns=False))
def test_partition_text_is_decided_as_the_number_it_spells(a: int, b: int, text: str) -> None:
    # Hive keys hold text (year=05/); compared with a number, it is read as one. (Two columns of text would
    # compare as text, so the strategy compares each column with numbers only.)
    values = {"a": str(a), "b": f"{b:02d}" if b >= 0 else str(b)}
    assert Filter(text).decide(values) is _python(text, {"a": a, "b": b})


# --- bounds: a filter that would exhaust the parser, or the recursion deciding it, is refused when parsed --


@pytest.mark.parametrize("text", [
    "not " * 5000 + "a == 1",                      # RecursionError in Python's parser, unbounded
    "not " * 100 + "a == 1",                       # short, but deeper than the walks may go
    "(" * 900 + "a == 1" + ")" * 900,              # too many nested parentheses for the parser
    " or ".join(["(a == 1"] * 300) + ")" * 300,    # nested or( ... )
    "a == 1 and " * 1000 + "b == 2",               # just long
])
def test_a_filter_too_deep_or_too_long_is_a_syntax_error(text: str) -> None:
    with pytest.raises(FilterSyntaxError) as caught:
        Filter(text)
    assert "year == 2024 and month in (5, 6)" in str(caught.value)


def test_a_filter_just_within_the_bounds_parses_and_decides() -> None:
    deep = "not " * 40 + "a == 1"  # an even count of nots: a == 1
    assert Filter(deep).decide({"a": 1}) is True
    wide = " or ".join(f"a == {i}" for i in range(500))
    assert Filter(wide).decide({"a": 499}) is True
