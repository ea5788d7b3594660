"""``nrows`` on CSV, TSV and JSON Lines stops the download early, against moto over HTTP.

Each object is a few MB, so that reading it whole would show in ``bytes_fetched``; the frame is compared
with the first rows of the frame that was written (encoded with pandas, never with the loader).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest
from helpers import compress, key_for, make_frame, to_bytes

import dreambolt_magic
from dreambolt_magic.errors import S3FormatError
from dreambolt_magic.objects import textplan

if TYPE_CHECKING:
    from conftest import S3Helper

BUCKET = "streaming"
ROWS = 200_000  # about 5 MB of CSV: twenty times the first request


@pytest.fixture(scope="module")
def source() -> pd.DataFrame:
    return make_frame(ROWS, seed=3)


def _load(s3: S3Helper, uri: str, **kw: object) -> pd.DataFrame:
    return dreambolt_magic.load(uri, endpoint_url=s3.endpoint_url, progress=False, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("compression", [None, "gzip", "bz2", "xz", "zstd"], ids=lambda c: c or "plain")
@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl"])
def test_nrows_fetches_only_the_start(
    s3: S3Helper, source: pd.DataFrame, fmt: str, compression: str | None
) -> None:
    s3.make_bucket(BUCKET)
    body = to_bytes(source, fmt, compression)
    key = s3.put(BUCKET, key_for("big", fmt, compression), body)

    df = _load(s3, key, nrows=1000)

    pd.testing.assert_frame_equal(df, source.iloc[:1000])
    fetched = df.attrs["s3"]["bytes_fetched"]
    assert df.attrs["s3"]["size"] == len(body)
    assert fetched < len(body) / 2, f"fetched {fetched} of {len(body)} bytes for 1000 rows"


def test_more_rows_take_more_requests_and_still_stop_early(s3: S3Helper, source: pd.DataFrame) -> None:
    s3.make_bucket(BUCKET)
    body = to_bytes(source, "csv")
    key = s3.put(BUCKET, "big.csv", body)

    df = _load(s3, key, nrows=60_000, columns="value,id")

    pd.testing.assert_frame_equal(df, source[["value", "id"]].iloc[:60_000])
    assert textplan.FIRST_BYTES < df.attrs["s3"]["bytes_fetched"] < len(body)


def test_nrows_beyond_the_end_reads_everything(s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)
    small = make_frame(30_000, seed=1)
    body = to_bytes(small, "csv")
    assert len(body) > textplan.FIRST_BYTES
    key = s3.put(BUCKET, "all.csv", body)

    df = _load(s3, key, nrows=10**9)

    pd.testing.assert_frame_equal(df, small)
    assert df.attrs["s3"]["bytes_fetched"] == len(body)


def test_a_quoted_field_across_the_cut_is_not_split(s3: S3Helper) -> None:
    # Long quoted fields full of line ends: the first request ends inside one of them.
    n = 40
    text = pd.DataFrame({"id": np.arange(n), "note": ["line\n" * 20_000 + str(i) for i in range(n)]})
    body = text.to_csv(index=False, lineterminator="\n").encode()
    s3.make_bucket(BUCKET)
    key = s3.put(BUCKET, "quoted.csv", body)

    df = _load(s3, key, nrows=5)

    pd.testing.assert_frame_equal(df, text.iloc[:5])
    assert df.attrs["s3"]["bytes_fetched"] < len(body)


def test_a_missing_column_is_reported_from_the_start(s3: S3Helper, source: pd.DataFrame) -> None:
    s3.make_bucket(BUCKET)
    uri = s3.put(BUCKET, "big.csv", to_bytes(source, "csv"))

    with pytest.raises(S3FormatError) as info:
        _load(s3, uri, nrows=10, columns="id,nope")

    assert info.value.code == "MissingColumns"
    assert "nope" in str(info.value)


def test_corrupt_compression_is_still_reported(s3: S3Helper, source: pd.DataFrame) -> None:
    s3.make_bucket(BUCKET)
    body = bytearray(compress(to_bytes(source.iloc[:20_000], "csv"), "gzip"))
    body[len(body) // 2 : len(body) // 2 + 64] = b"\x00" * 64
    key = s3.put(BUCKET, "broken.csv.gz", bytes(body))

    with pytest.raises(S3FormatError) as info:
        _load(s3, key, nrows=19_999)

    assert info.value.code == "BadCompression"


@pytest.mark.parametrize("options", [{"encoding": "latin-1"}, {"encoding": "utf-8", "encoding_errors": "replace"}],
                         ids=["encoding", "encoding_errors"])
def test_options_that_change_what_a_line_is_read_it_whole(s3: S3Helper, options: dict[str, object]) -> None:
    s3.make_bucket(BUCKET)
    small = make_frame(20_000, seed=2)
    body = to_bytes(small, "csv")
    key = s3.put(BUCKET, "whole.csv", body)

    df = _load(s3, key, nrows=10, **options)

    assert df.attrs["s3"]["bytes_fetched"] == len(body)
    pd.testing.assert_frame_equal(df, small.iloc[:10])


def test_can_stream_only_line_formats_it_can_decode() -> None:
    assert textplan.can_stream("a.csv", None, nrows=5, options={})
    assert textplan.can_stream("a.jsonl.gz", None, nrows=5, options={})
    assert textplan.can_stream("blob", "tsv", nrows=5, options={})
    assert not textplan.can_stream("a.csv", None, nrows=None, options={})
    assert not textplan.can_stream("a.json", None, nrows=5, options={})  # one document: no rows until its end
    assert textplan.can_stream("a.csv.zst", None, nrows=5, options={})  # pyarrow's zstd stream, a step at a time
    assert not textplan.can_stream("blob", None, nrows=5, options={})  # sniffed formats are read whole
    assert not textplan.can_stream("a.csv", None, nrows=5, options={"skipfooter": 2})
