"""``%%s3ingest`` with parser options (--sep, --encoding, --header, --sheet, --option) in a real InteractiveShell,
against moto over HTTP: each frame is compared with pandas' own read of the same bytes with the same options."""

from __future__ import annotations

import html
import io
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest
from helpers import make_frame
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from dreambolt_magic.errors import S3FormatError

if TYPE_CHECKING:
    from conftest import S3Helper
    from IPython.core.interactiveshell import InteractiveShell

BUCKET = "parser-options"
SENTINEL = object()
#: Semicolons, decimal commas and accents, in latin-1: a European spreadsheet's CSV export.
EUROPEAN = "ville;prix;note\nZürich;1,5;très bien\nSão Paulo;2,25;à revoir\nKöln;3,0;-\n".encode("latin-1")


@pytest.fixture
def objects(s3: S3Helper) -> str:
    s3.make_bucket(BUCKET)
    s3.put(BUCKET, "europe.csv", EUROPEAN)
    s3.put(BUCKET, "plain.csv", b"1,x\n2,y\n3,z\n")
    return BUCKET


def test_sep_and_encoding_read_a_semicolon_separated_latin1_csv(ip: InteractiveShell, objects: str) -> None:
    ip.run_cell_magic("s3ingest", "df -q --sep ';' --encoding latin-1", f"s3://{BUCKET}/europe.csv")

    expected = pd.read_csv(io.BytesIO(EUROPEAN), sep=";", encoding="latin-1")
    pd.testing.assert_frame_equal(ip.user_ns["df"], expected)
    assert ip.user_ns["df"]["ville"].tolist() == ["Zürich", "São Paulo", "Köln"]


def test_the_line_magic_takes_them_too(ip: InteractiveShell, objects: str) -> None:
    df = ip.run_line_magic("s3ingest", f"s3://{BUCKET}/europe.csv -q --sep ; --encoding latin-1 --option decimal=,")

    pd.testing.assert_frame_equal(df, pd.read_csv(io.BytesIO(EUROPEAN), sep=";", encoding="latin-1", decimal=","))
    assert df["prix"].tolist() == [1.5, 2.25, 3.0]


@pytest.mark.parametrize(("header", "expected"), [("none", None), ("None", None), ("1", 1)])
def test_header_none_numbers_the_columns_and_a_row_number_takes_the_names_there(
    ip: InteractiveShell, objects: str, header: str, expected: int | None
) -> None:
    ip.run_cell_magic("s3ingest", f"df -q --header {header}", f"s3://{BUCKET}/plain.csv")

    pd.testing.assert_frame_equal(ip.user_ns["df"], pd.read_csv(io.BytesIO(b"1,x\n2,y\n3,z\n"), header=expected))
    if expected is None:
        assert list(ip.user_ns["df"].columns) == [0, 1]


def test_option_values_are_python_literals(ip: InteractiveShell, objects: str) -> None:
    line = ("df -q --sep ; --encoding latin-1 --option skiprows=[2] --option \"na_values=['-']\" "
            "--option keep_default_na=False --option decimal=,")
    ip.run_cell_magic("s3ingest", line, f"s3://{BUCKET}/europe.csv")

    expected = pd.read_csv(io.BytesIO(EUROPEAN), sep=";", encoding="latin-1", skiprows=[2], na_values=["-"],
                           keep_default_na=False, decimal=",")
    pd.testing.assert_frame_equal(ip.user_ns["df"], expected)
    assert len(ip.user_ns["df"]) == 2 and ip.user_ns["df"]["note"].isna().tolist() == [False, True]


def test_sheet_picks_a_workbooks_sheet(ip: InteractiveShell, s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)
    sink = io.BytesIO()
    with pd.ExcelWriter(sink, engine="openpyxl") as writer:
        make_frame(5).to_excel(writer, sheet_name="Trips", index=False)
        make_frame(3, seed=1).to_excel(writer, sheet_name="Q1 2024", index=False)
    s3.put(BUCKET, "book.xlsx", sink.getvalue())

    for sheet in ("'Q1 2024'", "1"):
        ip.run_cell_magic("s3ingest", f"df -q --sheet {sheet}", f"s3://{BUCKET}/book.xlsx")
        pd.testing.assert_frame_equal(ip.user_ns["df"], pd.read_excel(io.BytesIO(sink.getvalue()), sheet_name=1))


def test_parser_options_reach_every_object_of_a_set(ip: InteractiveShell, s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)
    parts = [make_frame(10, seed=i) for i in range(3)]
    for i, part in enumerate(parts):
        s3.put(BUCKET, f"exports/part-{i}.csv", part.to_csv(index=False, sep="|").encode())

    ip.run_cell_magic("s3ingest", "df -q --sep '|'", f"s3://{BUCKET}/exports/")

    assert ip.user_ns["df"]["id"].tolist() == pd.concat(parts)["id"].tolist()
    assert list(ip.user_ns["df"].columns) == list(parts[0].columns)


def test_an_option_the_parser_does_not_take_is_refused_by_name(ip: InteractiveShell, objects: str) -> None:
    ip.user_ns["df"] = SENTINEL
    with capture_output() as cap, pytest.raises(S3FormatError) as info:
        ip.run_cell_magic("s3ingest", "df --option bogus=1", f"s3://{BUCKET}/europe.csv")

    err = info.value
    assert (err.code, err.hints["unknown"]) == ("UnknownOption", ["bogus"])
    assert "'bogus'" in str(err) and "pandas.read_csv" in str(err) and "encoding" in str(err)
    assert ip.user_ns["df"] is SENTINEL
    shown = cap.outputs[0].data["text/html"]
    assert html.escape("'bogus'") in shown and html.escape(err.remedy) in shown


def test_in_run_cell_the_refusal_is_the_explanation_not_a_traceback(ip: InteractiveShell, objects: str) -> None:
    with capture_output() as cap:
        result = ip.run_cell(f"%%s3ingest df --option sepp=;\ns3://{BUCKET}/europe.csv\n")

    assert isinstance(result.error_in_exec, S3FormatError)
    assert "Traceback" not in cap.stdout + cap.stderr
    (shown,) = cap.outputs  # the explanation, displayed once
    assert "did you mean 'sep'?" in shown.data["text/plain"]


@pytest.mark.parametrize(
    ("line", "said"),
    [("df --option skiprows", "KEY=VALUE"), ("df --option =1", "KEY=VALUE"), ("df --sep ; --option sep=,", "once"),
     ("df --header first", "row number"), ("df --encoding nope-9", "no encoding"),
     ("df --option nrows=2", "use --nrows")],
)
def test_a_malformed_parser_option_is_a_usage_error(ip: InteractiveShell, objects: str, line: str, said: str) -> None:
    ip.user_ns["df"] = SENTINEL
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("s3ingest", line, f"s3://{BUCKET}/europe.csv")
    assert type(info.value) is UsageError
    assert said in str(info.value)
    assert ip.user_ns["df"] is SENTINEL


def test_parser_options_are_checked_before_any_request(ip: InteractiveShell, objects: str, proxy: Any) -> None:
    with capture_output(), pytest.raises(S3FormatError):
        ip.run_cell_magic("s3ingest", f"df --endpoint-url {proxy.endpoint_url} --option encodng=latin-1",
                          f"s3://{BUCKET}/europe.csv")
    assert proxy.count("GET", f"/{BUCKET}/europe.csv") == 0
