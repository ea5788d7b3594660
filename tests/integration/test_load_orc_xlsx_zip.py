"""ORC, Excel workbooks and ZIP archives over HTTP against moto, single objects and sets.

Each object is written here with pyarrow.orc, pandas.to_excel or zipfile, never with the loader, and the
loader's frame is compared with pandas' own read of the same bytes.
"""

from __future__ import annotations

import io
import sys
import zipfile
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.orc
import pytest
from helpers import make_frame, to_bytes

import dreambolt_magic
from dreambolt_magic.errors import S3FormatError

if TYPE_CHECKING:
    from conftest import S3Helper
    from faults.proxy import FaultProxy

BUCKET = "real-data"
ROWS = 300


def _load(s3: S3Helper, uri: str | list[str], **kw: Any) -> pd.DataFrame:
    return dreambolt_magic.load(uri, endpoint_url=s3.endpoint_url, progress=False, **kw)


@pytest.fixture
def source() -> pd.DataFrame:
    return make_frame(ROWS, seed=3, with_timestamps=True)


def orc_bytes(frame: pd.DataFrame, **kw: Any) -> bytes:
    sink = io.BytesIO()
    pyarrow.orc.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink, **kw)
    return sink.getvalue()


def stripes_of(data: bytes) -> int:
    return int(pyarrow.orc.ORCFile(pa.BufferReader(data)).nstripes)


# --- ORC ---------------------------------------------------------------------------------------------------


def test_orc_round_trips(s3: S3Helper, source: pd.DataFrame) -> None:
    s3.make_bucket(BUCKET)
    body = orc_bytes(source)
    df = _load(s3, s3.put(BUCKET, "t/data.orc", body))

    pd.testing.assert_frame_equal(df, pd.read_orc(io.BytesIO(body)))
    # ORC keeps timestamps in nanoseconds: the values are the ones written.
    pd.testing.assert_frame_equal(df, source.astype({"ts": "datetime64[ns]"}))
    assert df.attrs["s3"]["size"] == len(body)


def test_orc_columns_and_nrows_across_stripes(s3: S3Helper, source: pd.DataFrame) -> None:
    s3.make_bucket(BUCKET)
    body = orc_bytes(source, stripe_size=1024, batch_size=64)
    assert stripes_of(body) > 2  # the point: nrows must stop inside the stripes, not at the first
    uri = s3.put(BUCKET, "striped.orc", body)
    expected = pd.read_orc(io.BytesIO(body), columns=["value", "id"])

    pd.testing.assert_frame_equal(_load(s3, uri, columns=["value", "id"]), expected[["value", "id"]])
    pd.testing.assert_frame_equal(_load(s3, uri, nrows=150), pd.read_orc(io.BytesIO(body)).head(150))
    pd.testing.assert_frame_equal(_load(s3, uri, columns="city,id", nrows=70),
                                  pd.read_orc(io.BytesIO(body))[["city", "id"]].head(70))
    empty = _load(s3, uri, nrows=0)
    assert list(empty.columns) == list(source.columns) and len(empty) == 0


def test_orc_without_extension_is_sniffed(s3: S3Helper, source: pd.DataFrame) -> None:
    s3.make_bucket(BUCKET)
    body = orc_bytes(source)
    df = _load(s3, s3.put(BUCKET, "exports/latest", body))

    pd.testing.assert_frame_equal(df, pd.read_orc(io.BytesIO(body)))


def test_a_prefix_of_orc_files_loads_as_one_frame(s3: S3Helper, source: pd.DataFrame) -> None:
    s3.make_bucket(BUCKET)
    parts = [source.iloc[:100], source.iloc[100:200], source.iloc[200:]]
    for i, part in enumerate(parts):
        s3.put(BUCKET, f"orc/part-{i}.orc", orc_bytes(part))

    df = _load(s3, f"s3://{BUCKET}/orc/", columns=["id", "city"], source_column="source")

    assert df["id"].tolist() == source["id"].tolist()
    assert df["city"].tolist() == source["city"].tolist()
    assert df["source"].iloc[-1] == f"s3://{BUCKET}/orc/part-2.orc"
    assert df.attrs["s3"]["object_count"] == 3


# --- Excel workbooks -----------------------------------------------------------------------------------------


def workbook(**sheets: pd.DataFrame) -> bytes:
    sink = io.BytesIO()
    with pd.ExcelWriter(sink, engine="openpyxl") as writer:
        for name, sheet in sheets.items():
            sheet.to_excel(writer, sheet_name=name, index=False)
    return sink.getvalue()


@pytest.fixture
def book(source: pd.DataFrame) -> bytes:
    """Two sheets: Trips (the source) and Cities (another frame)."""
    return workbook(Trips=source, Cities=pd.DataFrame({"city": ["Lima", "Perth"], "people": [10_000_000, 2_100_000]}))


def test_xlsx_round_trips_its_first_sheet(s3: S3Helper, book: bytes) -> None:
    s3.make_bucket(BUCKET)
    df = _load(s3, s3.put(BUCKET, "reports/q1.xlsx", book))

    pd.testing.assert_frame_equal(df, pd.read_excel(io.BytesIO(book)))
    assert df.attrs["s3"]["size"] == len(book)


@pytest.mark.parametrize("sheet", [{"sheet": "Cities"}, {"sheet": 1}, {"sheet": "1"}, {"sheet_name": "Cities"}],
                         ids=["name", "index", "index-as-text", "sheet_name"])
def test_xlsx_sheet_option_picks_the_sheet(s3: S3Helper, book: bytes, sheet: dict[str, Any]) -> None:
    s3.make_bucket(BUCKET)
    df = _load(s3, s3.put(BUCKET, "q1.xlsx", book), **sheet)

    pd.testing.assert_frame_equal(df, pd.read_excel(io.BytesIO(book), sheet_name="Cities"))


def test_xlsx_columns_and_nrows(s3: S3Helper, book: bytes) -> None:
    s3.make_bucket(BUCKET)
    uri = s3.put(BUCKET, "q1.xlsx", book)
    expected = pd.read_excel(io.BytesIO(book))

    pd.testing.assert_frame_equal(_load(s3, uri, columns="value,id", nrows=25), expected[["value", "id"]].head(25))


def test_xlsx_without_extension_is_sniffed(s3: S3Helper, book: bytes) -> None:
    s3.make_bucket(BUCKET)
    df = _load(s3, s3.put(BUCKET, "exports/latest", book), sheet="Cities")

    pd.testing.assert_frame_equal(df, pd.read_excel(io.BytesIO(book), sheet_name="Cities"))


def test_an_unknown_sheet_is_refused_naming_the_sheets(s3: S3Helper, book: bytes) -> None:
    s3.make_bucket(BUCKET)
    uri = s3.put(BUCKET, "q1.xlsx", book)

    with pytest.raises(S3FormatError) as info:
        _load(s3, uri, sheet="Q2")

    err = info.value
    assert (err.code, err.uri, err.hints["available"]) == ("MissingSheet", uri, ["Trips", "Cities"])
    assert "'Q2'" in str(err) and "'Trips', 'Cities'" in str(err)
    assert "--sheet" in err.remedy


@pytest.mark.parametrize("key", ["q1.xlsx", "no-extension"])
def test_without_openpyxl_a_workbook_says_what_to_install(
    s3: S3Helper, proxy: FaultProxy, book: bytes, monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    s3.make_bucket(BUCKET)
    uri = s3.put(BUCKET, key, book)
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # import openpyxl now raises ImportError

    with pytest.raises(S3FormatError) as info:
        dreambolt_magic.load(uri, endpoint_url=proxy.endpoint_url, progress=False)

    assert info.value.code == "MissingPackage"
    assert info.value.uri == uri
    assert "pip install 'dreambolt_magic[excel]'" in str(info.value)
    assert "pip install 'dreambolt_magic[excel]'" in info.value.remedy
    # A name that says xlsx is refused before the download; one that says nothing, once the bytes tell.
    assert proxy.count("GET", f"/{BUCKET}/{key}") == (0 if key.endswith(".xlsx") else 1)


# --- ZIP archives --------------------------------------------------------------------------------------------


def archive(members: dict[str, bytes]) -> bytes:
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name, body in members.items():
            zipped.writestr(name, body)
    return sink.getvalue()


def test_a_zip_holding_one_csv_reads_as_that_csv(s3: S3Helper, source: pd.DataFrame) -> None:
    s3.make_bucket(BUCKET)
    # Archivers add folders and hidden files beside the data: they are not data files.
    body = archive({"export/": b"", "export/trips.csv": to_bytes(source, "csv"), "__MACOSX/export/._trips.csv": b"x"})
    df = _load(s3, s3.put(BUCKET, "trips.csv.zip", body))

    with zipfile.ZipFile(io.BytesIO(body)) as zipped:
        expected = pd.read_csv(zipped.open("export/trips.csv"))
    pd.testing.assert_frame_equal(df, expected)
    assert df.attrs["s3"]["size"] == len(body)


@pytest.mark.parametrize("member", ["trips.parquet", "trips.orc", "trips.jsonl.gz", "trips.xlsx", "no-extension"])
def test_a_zip_member_is_read_by_its_own_extension_or_bytes(s3: S3Helper, source: pd.DataFrame, member: str) -> None:
    s3.make_bucket(BUCKET)
    inner = {"trips.parquet": to_bytes(source, "parquet"), "trips.orc": orc_bytes(source),
             "trips.jsonl.gz": to_bytes(source, "jsonl", "gzip"), "trips.xlsx": workbook(Trips=source),
             "no-extension": to_bytes(source, "parquet")}[member]
    df = _load(s3, s3.put(BUCKET, "bundle.zip", archive({member: inner})), columns=["id", "city"], nrows=40)

    assert df["id"].tolist() == source["id"].head(40).tolist()
    assert df["city"].tolist() == source["city"].head(40).tolist()


def test_a_zip_without_extension_is_sniffed(s3: S3Helper, source: pd.DataFrame) -> None:
    s3.make_bucket(BUCKET)
    body = archive({"trips.tsv": to_bytes(source, "tsv")})
    df = _load(s3, s3.put(BUCKET, "exports/latest", body))

    pd.testing.assert_frame_equal(df, pd.read_csv(io.BytesIO(body), sep="\t", compression="zip"))


@pytest.mark.parametrize(
    ("members", "said"),
    [
        ({"a.csv": b"x\n1\n", "b.parquet": b"PAR1", "README.md": b"hi"}, "2 data files, 'a.csv', 'b.parquet'"),
        ({"README.md": b"# hello", "notes.txt": b"nothing"}, "no data file in it, only 'README.md', 'notes.txt'"),
        ({}, "empty ZIP archive"),
    ],
    ids=["two", "none", "empty"],
)
def test_a_zip_without_exactly_one_data_file_is_refused_with_its_members(
    s3: S3Helper, members: dict[str, bytes], said: str
) -> None:
    s3.make_bucket(BUCKET)
    uri = s3.put(BUCKET, "bundle.zip", archive(members))

    with pytest.raises(S3FormatError) as info:
        _load(s3, uri)

    err = info.value
    assert (err.code, err.uri, err.hints["members"]) == ("ArchiveMembers", uri, list(members))
    assert said in str(err)
    assert "exactly one data file" in err.remedy


def test_a_prefix_of_workbooks_and_archives_loads_as_one_frame(s3: S3Helper, source: pd.DataFrame) -> None:
    s3.make_bucket(BUCKET)
    s3.put(BUCKET, "mixed/a.xlsx", workbook(Trips=source.iloc[:100]))
    s3.put(BUCKET, "mixed/b.zip", archive({"b.csv": to_bytes(source.iloc[100:200], "csv")}))
    s3.put(BUCKET, "mixed/c.orc", orc_bytes(source.iloc[200:]))

    df = _load(s3, f"s3://{BUCKET}/mixed/", columns=["id", "value"])

    assert df["id"].tolist() == source["id"].tolist()
    assert df["value"].tolist() == source["value"].tolist()
    assert df.attrs["s3"]["object_count"] == 3


# --- read options --------------------------------------------------------------------------------------------


def test_an_option_the_parser_does_not_take_is_refused_before_any_download(
    s3: S3Helper, proxy: FaultProxy, source: pd.DataFrame
) -> None:
    s3.make_bucket(BUCKET)
    uri = s3.put(BUCKET, "data.csv", to_bytes(source, "csv"))

    with pytest.raises(S3FormatError) as info:
        dreambolt_magic.load(uri, endpoint_url=proxy.endpoint_url, progress=False, bogus=1)

    err = info.value
    assert (err.code, err.uri, err.hints["unknown"]) == ("UnknownOption", uri, ["bogus"])
    assert "pandas.read_csv" in str(err) and "sep" in err.hints["accepted"]
    assert proxy.count("GET", f"/{BUCKET}/data.csv") == 0


def test_an_option_is_checked_against_the_sniffed_format_of_each_object_of_a_set(
    s3: S3Helper, source: pd.DataFrame
) -> None:
    s3.make_bucket(BUCKET)
    s3.put(BUCKET, "set/a", to_bytes(source, "csv"))
    s3.put(BUCKET, "set/b", orc_bytes(source))

    # sep= is CSV's; the ORC object, told by its bytes, takes no such option.
    with pytest.raises(S3FormatError) as info:
        _load(s3, f"s3://{BUCKET}/set/", sep=",")

    assert info.value.code == "UnknownOption" and info.value.key == "set/b"
    assert "pyarrow.Table.to_pandas" in str(info.value)
