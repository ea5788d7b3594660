"""The format registry on bytes made here: detection, round trips, selection, and every error code."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc
import pyarrow.orc
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dreambolt_magic.errors import CODE_CLASSES, S3FormatError
from dreambolt_magic.formats import readers

FORMAT_EXTENSIONS = {
    "parquet": ".parquet",
    "csv": ".csv",
    "tsv": ".tsv",
    "json": ".json",
    "jsonl": ".jsonl",
    "feather": ".feather",
    "orc": ".orc",
    "xlsx": ".xlsx",
    "zip": ".zip",
}
COMPRESSION_EXTENSIONS = {None: "", "gzip": ".gz", "bz2": ".bz2", "xz": ".xz", "zstd": ".zst"}
# Text carries no types, so CSV is told which column holds dates; JSON's dates stay text (pandas 3.1
# deprecated read_json's convert_dates) and are compared after pd.to_datetime.
READ_OPTIONS: dict[str, dict[str, Any]] = {
    "csv": {"parse_dates": ["when"]},
    "tsv": {"parse_dates": ["when"]},
    "zip": {"parse_dates": ["when"]},  # a CSV in it
}


def source_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": np.array([1, 2, 3, 4, 5], dtype="int64"),
            "price": [1.5, np.nan, -3.25, 0.0, 1e6],
            "name": ["apple", None, "café", "d, with comma", "e"],
            "when": pd.to_datetime(
                ["2024-01-02 03:04:05", None, "2023-12-31 23:59:59", "2000-02-29 00:00:00", "2024-06-01 12:00:00"]
            ).as_unit("ns"),
            "flag": [True, False, True, True, False],
        }
    )


def encode(frame: pd.DataFrame, fmt: str) -> bytes:
    if fmt == "parquet":
        return frame.to_parquet(index=False)
    if fmt == "feather":
        sink = io.BytesIO()
        frame.to_feather(sink)
        return sink.getvalue()
    if fmt == "orc":
        sink = io.BytesIO()
        pyarrow.orc.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink)
        return sink.getvalue()
    if fmt == "xlsx":
        sink = io.BytesIO()
        frame.to_excel(sink, index=False)
        return sink.getvalue()
    if fmt == "zip":
        sink = io.BytesIO()
        with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("export/data.csv", encode(frame, "csv"))
        return sink.getvalue()
    if fmt in ("csv", "tsv"):
        return frame.to_csv(index=False, sep="," if fmt == "csv" else "\t").encode()
    return frame.to_json(orient="records", lines=fmt == "jsonl", date_format="iso").encode()


def compress(data: bytes, compression: str | None) -> bytes:
    if compression == "zstd":
        return pa.compress(data, codec="zstd", asbytes=True)
    compressors: dict[str | None, Callable[[bytes], bytes]] = {
        None: lambda d: d,
        "gzip": gzip.compress,
        "bz2": bz2.compress,
        "xz": lzma.compress,
    }
    return compressors[compression](data)


def normalized(frame: pd.DataFrame) -> pd.DataFrame:
    # Readers may pick another datetime resolution (pandas 3 parses text to microseconds); values matter.
    return frame.assign(when=frame["when"].dt.as_unit("ns")) if "when" in frame else frame


def assert_same(got: pd.DataFrame, expected: pd.DataFrame, fmt: str | None = None) -> None:
    if fmt in ("json", "jsonl") and "when" in got:
        got = got.assign(when=pd.to_datetime(got["when"]))
    pd.testing.assert_frame_equal(normalized(got), normalized(expected.reset_index(drop=True)))


def error_of(data: bytes, key: str, **kwargs: Any) -> S3FormatError:
    with pytest.raises(S3FormatError) as info:
        readers.read(data, key=key, **kwargs)
    error = info.value
    assert error.key == key
    assert error.code is not None
    assert CODE_CLASSES[error.code] is S3FormatError
    return error


ALL_FORMATS = pytest.mark.parametrize("fmt", readers.FORMATS)


# --- round trips --------------------------------------------------------------------------------------


@ALL_FORMATS
@pytest.mark.parametrize("compression", list(COMPRESSION_EXTENSIONS))
def test_every_format_and_compression_round_trips(fmt: str, compression: str | None) -> None:
    frame = source_frame()
    key = f"some/prefix/data{FORMAT_EXTENSIONS[fmt]}{COMPRESSION_EXTENSIONS[compression]}"
    data = compress(encode(frame, fmt), compression)

    assert readers.detect(key, data[:100]) == (fmt, compression)
    assert_same(readers.read(data, key=key, **READ_OPTIONS.get(fmt, {})), frame, fmt)


def test_feather_stream_format_is_read_too() -> None:
    frame = source_frame()
    sink = pa.BufferOutputStream()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=2)
    data = sink.getvalue().to_pybytes()

    assert readers.detect("blob", data) == ("feather", None)
    assert_same(readers.read(data, key="t.arrow"), frame)
    assert_same(readers.read(data, key="t.arrow", columns=["name"], nrows=3), frame[["name"]].head(3))


def test_parquet_keeps_a_saved_index_and_gives_it_back_as_a_column_when_asked() -> None:
    frame = source_frame().assign(label=list("vwxyz")).set_index("label")
    data = frame.to_parquet()

    pd.testing.assert_frame_equal(normalized(readers.read(data, key="i.parquet")), normalized(frame))
    pd.testing.assert_frame_equal(normalized(readers.read(data, key="i.parquet", nrows=2)), normalized(frame.head(2)))
    got = readers.read(data, key="i.parquet", columns=["name", "label"], nrows=3)
    assert list(got.columns) == ["name", "label"]
    assert got["label"].tolist() == ["v", "w", "x"]


def test_parquet_range_index_survives_nrows() -> None:
    # pandas stores an arithmetic index as metadata only, so the rows read must not reset it.
    frame = source_frame().set_index("id")
    data = frame.to_parquet()

    assert readers.read(data, key="r.parquet").index.tolist() == [1, 2, 3, 4, 5]
    assert readers.read(data, key="r.parquet", nrows=2).index.tolist() == [1, 2]
    assert readers.read(data, key="r.parquet", nrows=0).index.tolist() == []


def test_concatenated_gzip_members_are_all_read() -> None:
    frame = source_frame()
    text = encode(frame, "csv")
    header, body = text.split(b"\n", 1)
    data = gzip.compress(header + b"\n") + gzip.compress(body)

    assert_same(readers.read(data, key="d.csv.gz", **READ_OPTIONS["csv"]), frame)


def test_read_accepts_a_memoryview_of_a_bytearray() -> None:
    frame = source_frame()
    for fmt in readers.FORMATS:
        data = memoryview(bytearray(encode(frame, fmt)))
        assert_same(readers.read(data, key=f"d{FORMAT_EXTENSIONS[fmt]}", **READ_OPTIONS.get(fmt, {})), frame, fmt)


def test_read_options_reach_pandas() -> None:
    data = b"a;b\n1;x\n2;y\n"
    got = readers.read(data, key="semi.csv", sep=";", dtype={"a": "float64"})
    assert got["a"].dtype == np.float64
    assert list(got.columns) == ["a", "b"]


@pytest.mark.parametrize("key", ["semi.csv", "semi.tsv"])
def test_delimiter_is_pandas_other_name_for_sep(key: str) -> None:
    # The reader's own sep must give way, or pandas refuses "a sep and a delimiter" as a parse error.
    got = readers.read(b"a;b\n1;x\n2;y\n", key=key, delimiter=";")
    assert list(got.columns) == ["a", "b"]
    assert got["a"].tolist() == [1, 2]


# --- columns and nrows ---------------------------------------------------------------------------------


@ALL_FORMATS
def test_columns_select_and_order(fmt: str) -> None:
    frame = source_frame()
    got = readers.read(
        encode(frame, fmt), key=f"d{FORMAT_EXTENSIONS[fmt]}", columns=["when", "id"], **READ_OPTIONS.get(fmt, {})
    )
    assert list(got.columns) == ["when", "id"]
    assert_same(got, frame[["when", "id"]], fmt)


@ALL_FORMATS
@pytest.mark.parametrize("nrows", [0, 1, 3, 5, 50])
def test_nrows_keeps_the_first_rows(fmt: str, nrows: int) -> None:
    frame = source_frame()
    got = readers.read(encode(frame, fmt), key=f"d{FORMAT_EXTENSIONS[fmt]}", nrows=nrows, **READ_OPTIONS.get(fmt, {}))
    assert len(got) == min(nrows, len(frame))
    assert list(got.columns) == list(frame.columns)
    if nrows:
        assert_same(got, frame.head(nrows), fmt)


@ALL_FORMATS
def test_columns_and_nrows_together(fmt: str) -> None:
    frame = source_frame()
    got = readers.read(encode(frame, fmt), key=f"d{FORMAT_EXTENSIONS[fmt]}", columns=["flag", "name"], nrows=2)
    assert list(got.columns) == ["flag", "name"]
    assert got["flag"].tolist() == [True, False]
    assert got["name"].iloc[0] == "apple"


def test_parquet_nrows_spans_row_groups() -> None:
    frame = source_frame()
    data = frame.to_parquet(index=False, row_group_size=2)
    for nrows in range(6):
        assert_same(readers.read(data, key="rg.parquet", nrows=nrows), frame.head(nrows))


@ALL_FORMATS
def test_schema_columns(fmt: str) -> None:
    frame = source_frame()
    assert readers.schema_columns(encode(frame, fmt), key=f"d{FORMAT_EXTENSIONS[fmt]}") == list(frame.columns)


@pytest.mark.parametrize(("nrows", "error"), [(-1, ValueError), (1.5, TypeError), (True, TypeError), ("3", TypeError)])
def test_nrows_must_be_a_non_negative_int(nrows: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="non-negative int"):
        readers.read(b"a\n1\n", key="d.csv", nrows=nrows)  # type: ignore[arg-type]


def test_nrows_accepts_numpy_ints() -> None:
    assert len(readers.read(b"a\n1\n2\n", key="d.csv", nrows=np.int64(1))) == 1


def test_columns_must_not_be_a_bare_string() -> None:
    with pytest.raises(TypeError, match="list of column names"):
        readers.read(b"a\n1\n", key="d.csv", columns="a")


# --- detection -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("d.parquet", ("parquet", None)),
        ("a/b.c/d.PQ", ("parquet", None)),
        ("d.parq", ("parquet", None)),
        ("d.csv", ("csv", None)),
        ("D.CSV.GZ", ("csv", "gzip")),
        ("d.csv.gzip", ("csv", "gzip")),
        ("d.tsv.bz2", ("tsv", "bz2")),
        ("d.tab", ("tsv", None)),
        ("d.json.xz", ("json", "xz")),
        ("d.jsonl.zst", ("jsonl", "zstd")),
        ("d.ndjson.zstd", ("jsonl", "zstd")),
        ("d.feather", ("feather", None)),
        ("d.arrow", ("feather", None)),
        ("d.ipc", ("feather", None)),
        ("d.ORC", ("orc", None)),
        ("d.xlsx", ("xlsx", None)),
        ("d.xlsm", ("xlsx", None)),
        ("d.csv.zip", ("zip", None)),
        ("d.orc.gz", ("orc", "gzip")),
        ("2024.01.02.csv", ("csv", None)),
    ],
)
def test_detect_by_extension_ignores_the_bytes(key: str, expected: tuple[str, str | None]) -> None:
    assert readers.detect(key, b"PAR1 not what the name says") == expected


FORMAT_NAMES = pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("csv", "csv"),
        ("PARQUET", "parquet"),
        ("pq", "parquet"),
        ("ndjson", "jsonl"),
        ("arrow", "feather"),
        ("ipc", "feather"),
        ("Excel", "xlsx"),
        ("ZIP", "zip"),
        (" .tsv", "tsv"),
    ],
)


@FORMAT_NAMES
def test_explicit_format_wins(name: str, expected: str) -> None:
    assert readers.detect("data.json.gz", b"", format=name) == (expected, "gzip")


@FORMAT_NAMES
def test_normalize_format(name: str, expected: str) -> None:
    assert readers.normalize_format(name) == expected


def test_explicit_format_on_a_nameless_key_still_sniffs_the_compression() -> None:
    assert readers.detect("blob", gzip.compress(b"a,b\n"), format="csv") == ("csv", "gzip")


@pytest.mark.parametrize("bad", ["txt", "xls", ""])
@pytest.mark.parametrize("via", ["detect", "normalize_format"])
def test_unknown_explicit_format_lists_the_supported_ones(bad: str, via: str) -> None:
    with pytest.raises(S3FormatError) as info:
        if via == "detect":
            readers.detect("d.csv", b"", format=bad)
        else:
            readers.normalize_format(bad, key="d.csv")
    assert info.value.code == "UnsupportedFormat"
    assert info.value.key == "d.csv"
    assert all(fmt in str(info.value) for fmt in readers.FORMATS)


@ALL_FORMATS
@pytest.mark.parametrize("compression", list(COMPRESSION_EXTENSIONS))
def test_sniffing_an_object_without_extension(fmt: str, compression: str | None) -> None:
    frame = source_frame()
    data = compress(encode(frame, fmt), compression)

    assert readers.detect("exports/latest", data[: readers.HEAD_BYTES]) == (fmt, compression)
    assert_same(readers.read(data, key="exports/latest", **READ_OPTIONS.get(fmt, {})), frame, fmt)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b'{"a": 1, "b": 2}', "json"),
        (b'{\n  "a": [1, 2],\n  "b": [3, 4]\n}\n', "json"),
        (b'{"a": 1}\n{"a": 2}\n', "jsonl"),
        (b'{"a": 1}\n\n{"a": 2}', "jsonl"),
        (b'{"a":\n{"b": 1}}', "json"),
        (b"\xef\xbb\xbf  [1]", "json"),
        (b"a\tb\n1\t2\n", "tsv"),
        (b"a,b\n1,2\n", "csv"),
        (b"PAR1....", "parquet"),
        (b"ARROW1\x00\x00", "feather"),
        (b"\xff\xff\xff\xff\x10\x00", "feather"),
        (b"ORC\n\x06\x12\x04\x08\x03P\x00", "orc"),
        # A first column called ORCID is text, not ORC's magic bytes.
        (b"ORCID,name\n0000-0002-1825-0097,Josiah\n", "csv"),
        (b"ORC\tname\n1\tx\n", "tsv"),
        (b"PK\x03\x04rest-of-zip", "zip"),
        (b"PK\x05\x06" + bytes(18), "zip"),  # an empty archive
        (b"PK\x03\x04" + bytes(26) + b"[Content_Types].xml", "xlsx"),
        (b"PK\x03\x04" + bytes(26) + b"docProps/app.xml..." + b"PK\x03\x04" + bytes(26) + b"xl/theme/", "xlsx"),
    ],
)
def test_sniffed_format(head: bytes, expected: str) -> None:
    assert readers.detect("blob", head) == (expected, None)


@pytest.mark.parametrize(
    ("head", "looks_like"),
    [
        (b"just one column\nof words\n", "text of no known format"),
        (b"<!DOCTYPE html><html><body>Oops</body></html>", "HTML"),
        (b'<?xml version="1.0"?><Error><Code>AccessDenied</Code></Error>', "S3 error document"),
        (b"\x00\x01\x02binary", "binary data"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00", "binary data"),  # an old .xls
        (b"", "nothing"),
    ],
)
def test_unknown_format_suggests_format_option(head: bytes, looks_like: str) -> None:
    with pytest.raises(S3FormatError) as info:
        readers.detect("blob", head)
    assert info.value.code == "UnknownFormat"
    assert info.value.key == "blob"
    assert "name its format, one of parquet, csv" in str(info.value)
    assert "--format" in info.value.remedy and "--format" not in str(info.value)  # the front end words the option
    assert ".parquet" in str(info.value)
    assert looks_like in str(info.value)


def test_bz2_magic_needs_more_than_bzh() -> None:
    assert readers.detect("blob", b"BZh,x\n1,2\n") == ("csv", None)


@given(st.binary(max_size=300))
def test_detect_returns_a_known_pair_or_raises_our_error(head: bytes) -> None:
    try:
        fmt, compression = readers.detect("blob", head)
    except S3FormatError as error:
        assert error.code == "UnknownFormat"
    else:
        assert fmt in readers.FORMATS
        assert compression in (None, *readers.COMPRESSIONS)


# --- errors --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "data", "looks_like"),
    [
        ("data.parquet", b"a,b\n1,2\n", "CSV text"),
        ("data.parquet", gzip.compress(b"PAR1"), "gzip-compressed data"),
        ("data.parquet", b"<html><body>403</body></html>", "HTML (an error page?)"),
        ("data.parquet", b'[{"a": 1}]', "JSON"),
        ("data.feather", b'[{"a": 1}]', "JSON"),
        ("data.csv", b"PAR1xxxxPAR1", "Parquet"),
        ("data.csv", gzip.compress(b"a,b\n"), "gzip-compressed data"),
        ("data.json", b"a,b\n1,2\n", "CSV text"),
        ("data.jsonl", b"ARROW1\x00\x00", "Arrow IPC"),
        ("data.orc", b"a,b\n1,2\n", "CSV text"),
        ("data.orc", b"PAR1xxxxPAR1", "Parquet"),
        ("data.csv", encode(source_frame(), "orc"), "ORC"),
        ("data.xlsx", b"a,b\n1,2\n", "CSV text"),
        ("data.zip", b"PAR1xxxxPAR1", "Parquet"),
        ("data.csv", encode(source_frame(), "xlsx"), "Excel workbook"),
        ("data.csv", encode(source_frame(), "zip"), "ZIP archive"),
        ("data.csv.gz", gzip.compress(b"<!doctype html><p>nope"), "HTML"),
    ],
)
def test_bytes_that_are_not_what_the_name_says(key: str, data: bytes, looks_like: str) -> None:
    error = error_of(data, key)
    assert error.code == "FormatMismatch"
    assert looks_like in str(error)
    assert key in str(error)


def test_parquet_mismatch_names_the_magic() -> None:
    assert "does not start with the Parquet magic bytes PAR1" in str(error_of(b"a,b\n1,2\n", "data.parquet"))


def test_gz_holding_plain_text() -> None:
    error = error_of(b"a,b\n1,2\n", "data.csv.gz")
    assert error.code == "BadCompression"
    assert "CSV text" in str(error)


@pytest.mark.parametrize("compression", readers.COMPRESSIONS)
def test_truncated_compressed_object(compression: str) -> None:
    data = compress(encode(source_frame(), "csv") * 50, compression)
    key = f"d.csv{COMPRESSION_EXTENSIONS[compression]}"
    error = error_of(data[: len(data) // 2], key)
    assert error.code == "BadCompression"
    assert error.detail
    assert error.__cause__ is not None


def test_truncated_parquet() -> None:
    data = encode(source_frame(), "parquet")
    error = error_of(data[: len(data) // 2], "d.parquet")
    assert error.code == "ParseError"
    assert "truncated" in str(error)


def test_corrupt_parquet_footer() -> None:
    data = bytearray(encode(source_frame(), "parquet"))
    data[-8:-4] = b"\xff\xff\xff\x7f"  # a footer length far past the start of the file
    error = error_of(bytes(data), "d.parquet")
    assert error.code == "ParseError"
    assert error.detail
    assert isinstance(error.__cause__, pa.ArrowException | OSError)


@pytest.mark.parametrize("cut", [1, 10, 0.5])
def test_truncated_orc(cut: float) -> None:
    data = encode(source_frame(), "orc")
    error = error_of(data[: -cut if isinstance(cut, int) else int(len(data) * cut)], "d.orc")
    assert error.code == "ParseError"
    assert "truncated" in str(error)


def test_truncated_feather() -> None:
    data = encode(source_frame(), "feather")
    error = error_of(data[: len(data) // 2], "d.feather")
    assert error.code == "ParseError"
    assert error.detail


@pytest.mark.parametrize(
    ("key", "data"),
    [("d.json", b'[{"a": 1}, {"a": '), ("d.json", b'{"a": [1, 2}'), ("d.jsonl", b'{"a": 1}\n{"a": oops}\n')],
)
def test_corrupt_json(key: str, data: bytes) -> None:
    error = error_of(data, key)
    assert error.code == "ParseError"
    assert error.detail
    assert "JSON" in str(error)
    assert error.__cause__ is not None


def test_csv_with_a_ragged_row() -> None:
    error = error_of(b"a,b\n1,2\n3,4,5,6\n", "d.csv")
    assert error.code == "ParseError"
    assert error.detail


@ALL_FORMATS
def test_missing_columns_name_missing_and_available(fmt: str) -> None:
    error = error_of(encode(source_frame(), fmt), f"d{FORMAT_EXTENSIONS[fmt]}", columns=["id", "nope", "zip"])
    assert error.code == "MissingColumns"
    assert error.hints["missing"] == ["nope", "zip"]
    assert error.hints["available"] == list(source_frame().columns)
    assert "'nope'" in str(error)
    assert "'price'" in str(error)


@ALL_FORMATS
def test_missing_columns_with_nrows_zero(fmt: str) -> None:
    error = error_of(encode(source_frame(), fmt), f"d{FORMAT_EXTENSIONS[fmt]}", columns=["nope"], nrows=0)
    assert error.code == "MissingColumns"


@pytest.mark.parametrize("key", ["d.csv", "d.parquet", "blob", "d.json.gz"])
def test_empty_object(key: str) -> None:
    assert error_of(b"", key).code == "EmptyObject"


def test_empty_once_decompressed() -> None:
    assert error_of(gzip.compress(b""), "d.csv.gz").code == "EmptyObject"


def test_blank_lines_only_csv() -> None:
    assert error_of(b"\n\n", "d.csv").code == "EmptyObject"


def test_header_only_csv_is_an_empty_frame_with_columns() -> None:
    got = readers.read(b"id,name,price\n", key="d.csv")
    assert list(got.columns) == ["id", "name", "price"]
    assert len(got) == 0
    assert list(readers.read(b"id,name,price\n", key="d.csv", columns=["price", "id"]).columns) == ["price", "id"]


def test_latin1_csv_is_bad_encoding_until_told() -> None:
    data = "name,city\nJosé,Zürich\n".encode("latin-1")
    error = error_of(data, "d.csv")
    assert error.code == "BadEncoding"
    assert 'encoding="latin-1"' in str(error)
    assert isinstance(error.__cause__, UnicodeDecodeError)

    got = readers.read(data, key="d.csv", encoding="latin-1")
    assert got["city"].tolist() == ["Zürich"]


def test_wrong_explicit_encoding_says_so() -> None:
    error = error_of("a\n€\n".encode(), "d.csv", encoding="ascii")
    assert error.code == "BadEncoding"
    assert "ascii" in str(error)


def test_unsupported_format_from_read() -> None:
    assert error_of(b"a,b\n", "d.csv", format="avro").code == "UnsupportedFormat"


def test_json_named_file_holding_json_lines_is_read() -> None:
    got = readers.read(b'{"a": 1, "b": "x"}\n{"a": 2, "b": "y"}\n', key="d.json")
    assert got["a"].tolist() == [1, 2]


def test_json_object_of_columns() -> None:
    got = readers.read(json.dumps({"a": [1, 2], "b": ["x", "y"]}).encode(), key="d.json", columns=["b"])
    assert got["b"].tolist() == ["x", "y"]


def big_csv() -> tuple[pd.DataFrame, bytes]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.random(10_000), "n": rng.integers(0, 1 << 40, 10_000)})
    return frame, frame.to_csv(index=False).encode()


@pytest.mark.parametrize("compression", ["gzip", "xz", "zstd"])
def test_sniffing_from_the_head_of_a_big_compressed_object(compression: str) -> None:
    _, text = big_csv()
    data = compress(text, compression)
    assert len(data) > readers.HEAD_BYTES
    assert readers.detect("dump", data[: readers.HEAD_BYTES]) == ("csv", compression)


def test_a_bz2_head_too_short_to_tell_is_unknown_but_the_whole_object_reads() -> None:
    frame, text = big_csv()
    data = bz2.compress(text)
    with pytest.raises(S3FormatError) as info:
        readers.detect("dump", data[: readers.HEAD_BYTES])
    assert info.value.code == "UnknownFormat"
    assert "bz2-compressed data" in str(info.value)

    pd.testing.assert_frame_equal(readers.read(data, key="dump"), frame)


def test_explicit_encoding_lets_text_that_looks_binary_through() -> None:
    data = "a,b\n1,é\n".encode("utf-16")
    assert error_of(data, "d.csv").code == "FormatMismatch"
    assert readers.read(data, key="d.csv", encoding="utf-16")["b"].tolist() == ["é"]


def test_an_s3_error_document_saved_as_csv() -> None:
    data = b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code></Error>'
    error = error_of(data, "d.csv")
    assert error.code == "FormatMismatch"
    assert "S3 error document" in str(error)
    assert error.hints["looks_like"] == "an S3 error document (XML)"


def test_unknown_read_options_are_the_callers_bug_not_a_parse_error() -> None:
    # Named as such, with what the parser takes, instead of pandas' TypeError from deep inside read_csv.
    error = error_of(b"a\n1\n", "d.csv", no_such_option=True)
    assert error.code == "UnknownOption"
    assert error.hints["unknown"] == ["no_such_option"]


def test_explicit_format_overrides_a_misleading_name() -> None:
    frame = source_frame()
    assert_same(readers.read(encode(frame, "parquet"), key="d.csv", format="parquet"), frame)
    assert_same(readers.read(gzip.compress(encode(frame, "feather")), key="x.bin.gz", format="ipc"), frame)


@given(st.binary(max_size=200))
def test_read_of_arbitrary_bytes_gives_a_frame_or_our_error(data: bytes) -> None:
    for key in ("blob", "d.csv", "d.json", "d.parquet"):
        try:
            frame = readers.read(data, key=key)
        except S3FormatError as error:
            assert error.key == key
            assert CODE_CLASSES[str(error.code)] is S3FormatError
        else:
            assert isinstance(frame, pd.DataFrame)


def test_feather_stream_preview_stops_before_a_truncated_tail() -> None:
    frame = source_frame()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=2)
    data = sink.getvalue().to_pybytes()[:-200]  # cut into the last batch

    assert_same(readers.read(data, key="s.arrow", nrows=2), frame.head(2))
    assert error_of(data, "s.arrow").code == "ParseError"


def test_parquet_preview_decodes_only_the_batches_it_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = pd.DataFrame({"n": range(10_000)})
    data = frame.to_parquet(index=False, row_group_size=1_000)
    yielded: list[int] = []
    iter_batches = pq.ParquetFile.iter_batches

    def counting(self: pq.ParquetFile, *args: Any, **kwargs: Any) -> Iterator[pa.RecordBatch]:
        for batch in iter_batches(self, *args, **kwargs):
            yielded.append(batch.num_rows)
            yield batch

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", counting)
    assert readers.read(data, key="n.parquet", nrows=5)["n"].tolist() == [0, 1, 2, 3, 4]
    assert yielded == [5]


@pytest.mark.parametrize("compression", readers.COMPRESSIONS)
def test_sniffing_the_head_of_compressed_incompressible_data(compression: str) -> None:
    # Random floats hardly compress, so the head decompresses to about its own size and no more.
    frame = pd.DataFrame({"x": np.random.default_rng(1).random(100_000)})
    data = compress(frame.to_parquet(compression="none"), compression)
    assert len(data) > readers.HEAD_BYTES

    if compression in ("bz2", "zstd"):  # whole blocks are bigger than the head: nothing to see yet
        with pytest.raises(S3FormatError) as info:
            readers.detect("dump", data[: readers.HEAD_BYTES])
        assert info.value.code == "UnknownFormat"
        assert f"{compression}-compressed data" in str(info.value)
    else:
        assert readers.detect("dump", data[: readers.HEAD_BYTES]) == ("parquet", compression)
    pd.testing.assert_frame_equal(readers.read(data, key="dump", nrows=3), frame.head(3))
