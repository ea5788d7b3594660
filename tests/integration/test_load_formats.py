"""``dreambolt_magic.load`` over HTTP against moto: every format and compression, sniffing, columns, nrows.

The objects are written with pandas/pyarrow/stdlib encoders (tests/helpers.py), never with the loader, and
each frame the loader returns is compared with the frame that was written.
"""

from __future__ import annotations

import mmap
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest
from helpers import COMPRESSIONS, FORMATS, compress, key_for, make_frame, to_bytes

import dreambolt_magic
from dreambolt_magic.errors import S3FormatError
from dreambolt_magic.transfer import buffers

if TYPE_CHECKING:
    from conftest import MotoEndpoint, S3Helper

BUCKET = "formats"
ALL_FORMATS = list(FORMATS)
ALL_COMPRESSIONS: list[str | None] = [None, *COMPRESSIONS]
ROWS = 50

Put = Callable[[str, bytes], str]


@pytest.fixture(scope="module")
def uploader(s3_server: MotoEndpoint) -> Iterator[Any]:
    """One client for arranging objects: making a boto3 client costs more than a whole load."""
    import boto3

    client = boto3.session.Session().client(
        "s3",
        region_name="us-east-1",
        endpoint_url=s3_server.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    yield client
    client.close()


@pytest.fixture
def put(s3: S3Helper, uploader: Any) -> Put:
    """``put(key, body)`` stores an object in a fresh bucket and returns its ``s3://`` URI."""
    uploader.create_bucket(Bucket=BUCKET)

    def put(key: str, body: bytes) -> str:
        uploader.put_object(Bucket=BUCKET, Key=key, Body=body)
        return f"s3://{BUCKET}/{key}"

    return put


@pytest.fixture(scope="module")
def source() -> pd.DataFrame:
    return make_frame(ROWS, seed=7)


def _load(s3: S3Helper, uri: str, **kw: object) -> pd.DataFrame:
    return dreambolt_magic.load(uri, endpoint_url=s3.endpoint_url, progress=False, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("compression", ALL_COMPRESSIONS, ids=lambda c: c or "plain")
@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_every_format_and_compression_round_trips(
    s3: S3Helper, put: Put, source: pd.DataFrame, fmt: str, compression: str | None
) -> None:
    body = to_bytes(source, fmt, compression)
    key = key_for("dir/data", fmt, compression)
    df = _load(s3, put(key, body))

    pd.testing.assert_frame_equal(df, source)
    assert df.attrs["s3"]["key"] == key
    assert df.attrs["s3"]["size"] == len(body)
    assert df.attrs["s3"]["bytes_fetched"] == len(body)


@pytest.mark.parametrize("compression", ALL_COMPRESSIONS, ids=lambda c: c or "plain")
@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_extensionless_key_is_sniffed(
    s3: S3Helper, put: Put, source: pd.DataFrame, fmt: str, compression: str | None
) -> None:
    df = _load(s3, put("exports/latest", to_bytes(source, fmt, compression)))

    pd.testing.assert_frame_equal(df, source)


@pytest.mark.parametrize("compression", [None, "gzip"], ids=lambda c: c or "plain")
@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_format_argument_reads_a_key_without_extension(
    s3: S3Helper, put: Put, source: pd.DataFrame, fmt: str, compression: str | None
) -> None:
    df = _load(s3, put("exports/blob", to_bytes(source, fmt, compression)), format=fmt)

    pd.testing.assert_frame_equal(df, source)


def test_format_argument_overrides_a_misleading_extension(s3: S3Helper, put: Put, source: pd.DataFrame) -> None:
    # A TSV body behind a .csv name: read as CSV it would be one column; the override must win.
    df = _load(s3, put("mislabelled.csv", to_bytes(source, "tsv")), format="tsv")

    pd.testing.assert_frame_equal(df, source)


def test_format_argument_with_a_compression_only_extension(s3: S3Helper, put: Put, source: pd.DataFrame) -> None:
    df = _load(s3, put("export.zst", to_bytes(source, "jsonl", "zstd")), format="ndjson")

    pd.testing.assert_frame_equal(df, source)


@pytest.mark.parametrize("columns", [["value", "id"], "value,id", " value , id "], ids=["list", "str", "spaces"])
@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_columns_select_and_order(s3: S3Helper, put: Put, source: pd.DataFrame, fmt: str, columns: object) -> None:
    df = _load(s3, put(key_for("data", fmt), to_bytes(source, fmt)), columns=columns)

    pd.testing.assert_frame_equal(df, source[["value", "id"]])


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_nrows_keeps_the_first_rows(s3: S3Helper, put: Put, source: pd.DataFrame, fmt: str) -> None:
    df = _load(s3, put(key_for("data", fmt), to_bytes(source, fmt)), nrows=7)

    pd.testing.assert_frame_equal(df, source.head(7))


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_nrows_larger_than_the_object_gives_every_row(s3: S3Helper, put: Put, source: pd.DataFrame, fmt: str) -> None:
    df = _load(s3, put(key_for("data", fmt), to_bytes(source, fmt)), nrows=ROWS * 10)

    pd.testing.assert_frame_equal(df, source)


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_nrows_zero_gives_the_columns_and_no_rows(s3: S3Helper, put: Put, source: pd.DataFrame, fmt: str) -> None:
    df = _load(s3, put(key_for("data", fmt), to_bytes(source, fmt)), nrows=0)

    assert df.shape == (0, 4)
    assert list(df.columns) == list(source.columns)


@pytest.mark.parametrize("compression", [None, "zstd"], ids=lambda c: c or "plain")
@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_columns_and_nrows_together(
    s3: S3Helper, put: Put, source: pd.DataFrame, fmt: str, compression: str | None
) -> None:
    key = key_for("data", fmt, compression)
    df = _load(s3, put(key, to_bytes(source, fmt, compression)), columns="flag,city", nrows=5)

    pd.testing.assert_frame_equal(df, source[["flag", "city"]].head(5))


@pytest.mark.parametrize("read", [{}, {"columns": "value,id"}, {"nrows": 7}], ids=["whole", "columns", "nrows"])
@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_every_column_of_a_loaded_frame_can_be_written(
    s3: S3Helper, put: Put, source: pd.DataFrame, fmt: str, read: dict[str, Any]
) -> None:
    # Parquet and Feather columns are handed over in the memory Arrow decoded them into, which pyarrow marks
    # read-only: the user's frame must take `df.loc[...] = ...` all the same, Categoricals too.
    written = source.assign(kind=pd.Categorical(source["city"])) if fmt in ("parquet", "feather") else source
    df = _load(s3, put(key_for("data", fmt), to_bytes(written, fmt)), **read)

    expected = df.copy()
    for column in df.columns:
        df.loc[0, column] = df.loc[1, column]
        expected.loc[0, column] = expected.loc[1, column]

    pd.testing.assert_frame_equal(df, expected)
    assert df.iloc[0].tolist() == df.iloc[1].tolist()


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_missing_column_is_a_format_error(s3: S3Helper, put: Put, source: pd.DataFrame, fmt: str) -> None:
    key = key_for("data", fmt)
    uri = put(key, to_bytes(source, fmt))

    with pytest.raises(S3FormatError) as info:
        _load(s3, uri, columns=["id", "nope"])

    err = info.value
    assert type(err) is S3FormatError
    assert err.code == "MissingColumns"
    assert err.status is None
    assert err.hints["missing"] == ["nope"]
    assert err.hints["available"] == list(source.columns)
    assert (err.uri, err.bucket, err.key) == (uri, BUCKET, key)
    assert "'nope'" in err.explanation
    assert "id,city,value,flag" in err.remedy


def test_concatenated_gzip_members_are_all_read(s3: S3Helper, put: Put, source: pd.DataFrame) -> None:
    # `cat a.csv.gz b.gz > all.csv.gz` is a valid gzip file; a reader that stops at the first member loses rows.
    head, tail = source.iloc[:20], source.iloc[20:]
    body = compress(to_bytes(head, "csv"), "gzip") + compress(
        tail.to_csv(index=False, header=False, lineterminator="\n").encode(), "gzip"
    )
    df = _load(s3, put("all.csv.gz", body))

    pd.testing.assert_frame_equal(df, source)


@pytest.mark.parametrize("columns", [None, ["value", "id"]], ids=["whole", "columns"])
@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_the_download_buffer_is_unmapped_once_the_frame_is_made(
    s3: S3Helper,
    put: Put,
    source: pd.DataFrame,
    fmt: str,
    columns: list[str] | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # buffers.release unmaps it on a thread of its own. A view of it left anywhere (a reader's, the frame's, a
    # reference cycle's) would keep it mapped; pyarrow's threads may hold theirs a moment longer, and the
    # buffer is then freed when they let go.
    monkeypatch.setattr(buffers, "SMALL_BUFFER", 0)  # a mapping even for these few bytes
    released: list[weakref.ref[mmap.mmap]] = []
    handed = threading.Event()

    def close(buffer: mmap.mmap) -> None:
        released.append(weakref.ref(buffer))
        unmap(buffer)
        handed.set()

    def freed() -> bool:
        buffer = released[0]()
        return buffer is None or buffer.closed

    unmap = buffers._close
    monkeypatch.setattr(buffers, "_close", close)
    uri = put(key_for("data", fmt), to_bytes(source, fmt))

    df = _load(s3, uri, columns=columns)

    pd.testing.assert_frame_equal(df, source if columns is None else source[columns])
    assert handed.wait(5) and len(released) == 1
    deadline = time.monotonic() + 5
    while not freed() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert freed()
