"""The magic's parser options, read from its line as IPython hands it over: --sep, --encoding, --header, --sheet
and --option KEY=VALUE into the read options dreambolt_magic.load takes. Pure parsing, no shell, no S3."""

from __future__ import annotations

from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.magic_arguments import parse_argstring

from dreambolt_magic.notebook.arguments import literal, parser_options
from dreambolt_magic.notebook.magics import S3IngestMagics


def options(line: str) -> dict[str, Any]:
    return parser_options(parse_argstring(S3IngestMagics.s3ingest, f"df {line}"))


def usage_error(line: str) -> str:
    with pytest.raises(UsageError) as info:
        options(line)
    assert type(info.value) is UsageError  # IPython prints exactly UsageError without a traceback
    return str(info.value)


def test_no_parser_options_is_none() -> None:
    assert options("--nrows 3 -q") == {}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("--sep ';'", {"sep": ";"}),
        ('--sep "|"', {"sep": "|"}),
        ("--sep ;", {"sep": ";"}),
        ("--sep '\\t'", {"sep": "\t"}),
        ("--sep \\t", {"sep": "\t"}),
        ("--encoding latin-1", {"encoding": "latin-1"}),
        ("--encoding 'cp1252'", {"encoding": "cp1252"}),
        ("--header none", {"header": None}),
        ("--header None", {"header": None}),
        ("--header 2", {"header": 2}),
        ("--header 0,1", {"header": [0, 1]}),
        ("--sheet Sales", {"sheet": "Sales"}),
        ("--sheet 2", {"sheet": "2"}),  # the reader tells a sheet named 2 from the third sheet
        ("--sheet 'Q1 2024'", {"sheet": "Q1 2024"}),
        ("--sep ';' --encoding latin-1 --header none", {"sep": ";", "encoding": "latin-1", "header": None}),
    ],
)
def test_the_named_options(line: str, expected: dict[str, Any]) -> None:
    assert options(line) == expected


@pytest.mark.parametrize(
    ("option", "key", "value"),
    [
        ("skiprows=2", "skiprows", 2),
        ("skiprows=[1,3]", "skiprows", [1, 3]),
        ('"na_values=[\'-\', \'n/a\']"', "na_values", ["-", "n/a"]),
        ("dtype={'id':'str'}", "dtype", {"id": "str"}),
        ("keep_default_na=False", "keep_default_na", False),
        ("index_col=None", "index_col", None),
        ("decimal=,", "decimal", ","),
        ("comment=#", "comment", "#"),
        ("true_values=yes", "true_values", "yes"),
        ("quotechar=\"'\"", "quotechar", "'"),
        ('"thousands=\' \'"', "thousands", " "),
        ("sep='\\s+'", "sep", "\\s+"),
        ("engine_kwargs={'read_only':True}", "engine_kwargs", {"read_only": True}),
        ("date_format=%d/%m/%Y", "date_format", "%d/%m/%Y"),
        ("names=", "names", ""),
    ],
)
def test_an_option_value_is_a_python_literal_else_text(option: str, key: str, value: Any) -> None:
    assert options(f"--option {option}") == {key: value}


def test_options_repeat() -> None:
    assert options("--option skiprows=1 --option nrows_hint=3 --sep ;") == {"skiprows": 1, "nrows_hint": 3, "sep": ";"}


@pytest.mark.parametrize("text", ["2", "'x'", "[1, 2]", "None", "True", "{'a': 1}", "-1.5", "(1, 2)"])
def test_literal_reads_python_literals(text: str) -> None:
    assert literal(text) == eval(text)


@pytest.mark.parametrize("text", ["latin-1", "none", "__import__('os')", "a b", "x.y", "[1, 2", ""])
def test_literal_keeps_anything_else_as_text(text: str) -> None:
    assert literal(text) == text


@pytest.mark.parametrize("option", ["skiprows", "=2", "'a b=1'", "2x=1", "a.b=1", "''"])
def test_a_malformed_option_is_a_usage_error(option: str) -> None:
    assert "KEY=VALUE" in usage_error(f"--option {option}")


@pytest.mark.parametrize(
    "line",
    ["--option sep=, --sep ';'", "--option delimiter=, --sep ';'", "--option sheet_name=1 --sheet 2",
     "--option a=1 --option a=2", "--option header=0 --header none"],
)
def test_an_option_given_twice_is_a_usage_error(line: str) -> None:
    assert "give it once" in usage_error(line)


@pytest.mark.parametrize(
    ("option", "instead"),
    [("nrows=5", "use --nrows"), ("columns=a", "use --columns"), ("engine=python", "use --engine"),
     ("max_concurrency=2", "dreambolt_magic.load(max_concurrency=...)")],
)
def test_a_setting_of_the_load_is_not_a_parser_option(option: str, instead: str) -> None:
    message = usage_error(f"--option {option}")
    assert "setting of the load" in message and instead in message


@pytest.mark.parametrize(("line", "said"), [("--encoding bogus-8", "no encoding Python knows"),
                                             ("--header first", "row number"), ("--header -1", "row number")])
def test_a_bad_named_option_is_a_usage_error(line: str, said: str) -> None:
    assert said in usage_error(line)
