"""ORC, xlsx and zip on bytes made here: what each reader decodes, and what it refuses and how; and the read
options each format's parser takes."""

from __future__ import annotations

import inspect
import io
import zipfile
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.orc
import pytest

from dreambolt_magic import explanations
from dreambolt_magic.errors import S3FormatError
from dreambolt_magic.formats import archives, readers, readoptions
from dreambolt_magic.notebook.arguments import ARGUMENTS


def frame(rows: int = 1000) -> pd.DataFrame:
    return pd.DataFrame({"id": range(rows), "name": [f"n{i}" for i in range(rows)], "x": [i / 4 for i in range(rows)]})


def orc_bytes(data: pd.DataFrame, **kw: Any) -> bytes:
    sink = io.BytesIO()
    pyarrow.orc.write_table(pa.Table.from_pandas(data, preserve_index=False), sink, **kw)
    return sink.getvalue()


class SpiedORCFile(pyarrow.orc.ORCFile):  # type: ignore[misc]
    """pyarrow's ORCFile, noting what each read decoded."""

    reads: list[tuple[str, Any]] = []

    def read(self, columns: Any = None, **kw: Any) -> Any:
        SpiedORCFile.reads.append(("file", columns))
        return super().read(columns=columns, **kw)

    def read_stripe(self, n: int, columns: Any = None) -> Any:
        SpiedORCFile.reads.append((f"stripe {n}", columns))
        return super().read_stripe(n, columns=columns)


@pytest.fixture
def spied(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    SpiedORCFile.reads = []
    monkeypatch.setattr(pyarrow.orc, "ORCFile", SpiedORCFile)
    return SpiedORCFile.reads


# --- ORC -----------------------------------------------------------------------------------------------


def test_orc_decodes_only_the_columns_asked(spied: list[tuple[str, Any]]) -> None:
    data = orc_bytes(frame())
    got = readers.read(data, key="d.orc", columns=["x", "id"])

    assert spied == [("file", ["x", "id"])]
    pd.testing.assert_frame_equal(got, pd.read_orc(io.BytesIO(data))[["x", "id"]])


def test_orc_nrows_decodes_only_the_stripes_that_hold_them(spied: list[tuple[str, Any]]) -> None:
    data = orc_bytes(frame(), stripe_size=1024, batch_size=100)
    stripes = pyarrow.orc.ORCFile(pa.BufferReader(data)).nstripes
    assert stripes > 3
    first = pyarrow.orc.ORCFile(pa.BufferReader(data)).read_stripe(0).num_rows
    spied.clear()

    got = readers.read(data, key="d.orc", columns=["name"], nrows=first + 1)

    assert spied == [("stripe 0", ["name"]), ("stripe 1", ["name"])]
    pd.testing.assert_frame_equal(got, pd.read_orc(io.BytesIO(data))[["name"]].head(first + 1))


def test_orc_nrows_zero_decodes_nothing(spied: list[tuple[str, Any]]) -> None:
    got = readers.read(orc_bytes(frame()), key="d.orc", columns=["x", "id"], nrows=0)

    assert list(got.columns) == ["x", "id"] and len(got) == 0
    assert spied == []


def test_orc_read_options_go_to_to_pandas() -> None:
    got = readers.read(orc_bytes(frame(10)), key="d.orc", strings_to_categorical=True)
    assert isinstance(got["name"].dtype, pd.CategoricalDtype)


# --- the lists of formats users read ---------------------------------------------------------------------


@pytest.mark.parametrize("code", ["UnsupportedFormat", "UnknownFormat"])
def test_the_format_remedies_name_every_format(code: str) -> None:
    remedy = explanations.EXPLANATIONS[code][1]
    assert all(fmt in remedy for fmt in readers.FORMATS), remedy


def test_the_format_option_help_names_every_format() -> None:
    (help_text,) = [a.kwds["help"] for a in ARGUMENTS if "--format" in a.args]
    assert all(fmt in help_text for fmt in readers.FORMATS), help_text


# --- xlsx --------------------------------------------------------------------------------------------------


def workbook(**sheets: pd.DataFrame) -> bytes:
    sink = io.BytesIO()
    with pd.ExcelWriter(sink, engine="openpyxl") as writer:
        for name, sheet in sheets.items():
            sheet.to_excel(writer, sheet_name=name, index=False)
    return sink.getvalue()


BOOK = workbook(First=frame(5), Second=frame(3).assign(extra=1), Third=frame(2))


@pytest.mark.parametrize(("sheet", "rows"), [(0, 5), ("Second", 3), (-1, 2), ("2", 2), (" 1 ", 3)])
def test_the_sheet_is_a_name_or_an_index(sheet: str | int, rows: int) -> None:
    assert len(readers.read(BOOK, key="b.xlsx", sheet=sheet)) == rows


def test_a_sheet_named_with_digits_is_that_sheet_before_an_index() -> None:
    data = workbook(Summary=frame(1), **{"2024": frame(4)})
    assert len(readers.read(data, key="b.xlsx", sheet="2024")) == 4


@pytest.mark.parametrize("sheet", [None, [0, 1], True, 1.0])
def test_a_load_reads_one_sheet(sheet: Any) -> None:
    with pytest.raises(TypeError, match="one sheet's name or index"):
        readers.read(BOOK, key="b.xlsx", sheet=sheet)


def test_sheet_and_sheet_name_are_one_option() -> None:
    with pytest.raises(TypeError, match="give one"):
        readers.read(BOOK, key="b.xlsx", sheet=0, sheet_name=1)


@pytest.mark.parametrize("sheet", ["Fourth", 3, -4])
def test_an_absent_sheet_names_the_sheets_there(sheet: str | int) -> None:
    with pytest.raises(S3FormatError) as info:
        readers.read(BOOK, key="b.xlsx", sheet=sheet)
    assert info.value.code == "MissingSheet"
    assert info.value.hints["available"] == ["First", "Second", "Third"]
    assert "'First', 'Second', 'Third'" in str(info.value) and "0 to 2" in str(info.value)


def test_read_excel_options_reach_pandas() -> None:
    got = readers.read(BOOK, key="b.xlsx", sheet="Second", header=None, skiprows=1, nrows=2)
    assert list(got.columns) == [0, 1, 2, 3] and got[0].tolist() == [0, 1]


def test_a_workbook_is_a_workbook_whatever_its_name_says_of_zip() -> None:
    pd.testing.assert_frame_equal(readers.read(BOOK, key="book.zip", sheet=1), pd.read_excel(io.BytesIO(BOOK), 1))
    assert readers.detect("blob", BOOK[: readers.HEAD_BYTES]) == ("xlsx", None)


# --- zip -----------------------------------------------------------------------------------------------------


def archive(members: dict[str, bytes]) -> bytes:
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name, body in members.items():
            zipped.writestr(name, body)
    return sink.getvalue()


@pytest.mark.parametrize(
    ("names", "data"),
    [
        (["a/", "a/x.csv", "__MACOSX/a/._x.csv", "a/.DS_Store", "README"], ["a/x.csv"]),
        (["data"], ["data"]),
        (["data", ".hidden"], ["data"]),
        (["data", "more"], []),
        (["x.csv", "y.parquet.gz", "notes.txt"], ["x.csv", "y.parquet.gz"]),
        (["folder/"], []),
    ],
)
def test_data_members(names: list[str], data: list[str]) -> None:
    assert archives.data_members(names) == data


@pytest.mark.parametrize("cut", [30, 0.5, -10])
def test_a_truncated_or_corrupt_zip_is_a_parse_error(cut: float) -> None:
    data = archive({"a.csv": frame().to_csv(index=False).encode()})
    end = int(len(data) * cut) if isinstance(cut, float) else cut
    with pytest.raises(S3FormatError) as info:
        readers.read(data[:end], key="d.zip")
    assert info.value.code == "ParseError"
    assert "ZIP archive" in str(info.value)


def test_a_member_that_does_not_parse_says_which_member() -> None:
    with pytest.raises(S3FormatError) as info:
        readers.read(archive({"in/data.parquet": b"a,b\n1,2\n"}), key="d.zip")
    assert info.value.code == "FormatMismatch"
    assert info.value.key == "d.zip" and info.value.hints["member"] == "in/data.parquet"


def test_an_empty_member_is_refused() -> None:
    with pytest.raises(S3FormatError) as info:
        readers.read(archive({"a.csv": b""}), key="d.zip")
    assert info.value.code == "ArchiveMembers" and "'a.csv'" in str(info.value)


def test_read_options_reach_the_member_parser() -> None:
    data = archive({"semi.csv": "a;b\n1;é\n".encode("latin-1")})
    got = readers.read(data, key="d.zip", sep=";", encoding="latin-1")
    assert got.to_dict("list") == {"a": [1], "b": ["é"]}


# --- read options ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "parser", "own"),
    [("csv", pd.read_csv, {"filepath_or_buffer", "usecols", "nrows", "iterator", "chunksize"}),
     ("json", pd.read_json, {"path_or_buf", "nrows", "chunksize"}),
     ("xlsx", pd.read_excel, {"io", "usecols", "nrows"}),
     ("orc", pa.Table.to_pandas, {"self"})],
)
def test_the_options_a_format_takes_are_its_parsers(fmt: str, parser: Any, own: set[str]) -> None:
    assert readoptions.accepted(fmt) >= set(inspect.signature(parser).parameters) - own
    assert not readoptions.accepted(fmt) & own


def test_json_lines_set_lines_themselves_and_workbooks_take_sheet() -> None:
    assert "lines" in readoptions.accepted("json") and "lines" not in readoptions.accepted("jsonl")
    assert {"sheet", "sheet_name"} <= readoptions.accepted("xlsx")


@pytest.mark.parametrize(
    ("key", "data", "options", "said"),
    [
        ("d.csv", b"a\n1\n", {"bogus": 1}, "pandas.read_csv, which takes no option 'bogus'"),
        ("d.tsv", b"a\n1\n", {"sepp": ";"}, "sepp: did you mean 'sep'?"),
        ("d.csv", b"a\n1\n", {"usecols": ["a"]}, "usecols: use columns= (--columns)"),
        ("d.jsonl", b'{"a": 1}\n', {"lines": False}, "lines: JSON Lines are read one object per line already"),
        ("d.orc", orc_bytes(frame(3)), {"encoding": "latin-1"}, "pyarrow.Table.to_pandas, which takes no option"),
        ("d.xlsx", BOOK, {"sheets": 1}, "sheets: did you mean 'sheet'?"),
        ("d.zip", archive({"a.csv": b"a\n1\n"}), {"bogus": 1, "sep": ";"}, "CSV text by pandas.read_csv"),
    ],
)
def test_an_option_the_parser_does_not_take_is_refused_by_name(
    key: str, data: bytes, options: dict[str, Any], said: str
) -> None:
    with pytest.raises(S3FormatError) as info:
        readers.read(data, key=key, **options)

    err = info.value
    assert err.code == "UnknownOption" and err.key == key
    assert said in str(err)
    assert err.hints["unknown"] == [name for name in options if name not in ("sep",)]
    assert "It takes: " in str(err) and err.hints["parser"] in err.remedy


def test_options_are_checked_before_download_where_the_name_tells_the_format() -> None:
    with pytest.raises(S3FormatError) as info:
        readers.check_readable("a/b.csv.gz", None, {"encodng": "latin-1"})
    assert info.value.code == "UnknownOption" and "did you mean 'encoding'?" in str(info.value)
    readers.check_readable("a/b.csv.gz", None, {"encoding": "latin-1"})
    readers.check_readable("no-extension", None, {"anything": 1})  # told by the bytes, later
    with pytest.raises(S3FormatError):
        readers.check_readable("no-extension", "parquet", {"sep": ";"})
