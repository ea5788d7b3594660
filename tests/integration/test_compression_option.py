"""pandas' ``compression=`` parser option, over HTTP against moto: the loader decompresses what it names itself,
a step at a time under the memory guard, as it does an object its name or first bytes say is compressed. A
decompression bomb named ``data.csv`` and loaded with ``compression="gzip"`` is refused as ``data.csv.gz`` is,
whole, for its first rows, and in a set; what the loader cannot decompress so is refused by name, before any
byte is fetched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from helpers import compress, make_frame, to_bytes

import dreambolt_magic as dm
from dreambolt_magic import S3FormatError, S3TooLarge

if TYPE_CHECKING:
    from conftest import S3Helper
    from faults.proxy import FaultProxy
    from IPython.core.interactiveshell import InteractiveShell

BUCKET = "bombs"
MB = 1 << 20
LIMIT = 4 * MB
#: 32 MB of text once expanded, 32 kB on S3: eight times the limit.
TEXT = b"a\n" + b"7\n" * (16 * MB)


@pytest.fixture
def bomb(s3: S3Helper) -> S3Helper:
    """``plain/data.csv`` and ``named/data.csv.gz``: the same gzip bomb, named and unnamed."""
    s3.make_bucket(BUCKET)
    body = compress(TEXT, "gzip")
    assert len(body) < 100_000
    s3.put(BUCKET, "plain/data.csv", body)
    s3.put(BUCKET, "named/data.csv.gz", body)
    return s3


def _refused(s3: S3Helper, uri: str, **kw: Any) -> S3TooLarge:
    with pytest.raises(S3TooLarge) as caught:
        dm.load(uri, endpoint_url=s3.endpoint_url, progress=False, memory_limit=LIMIT, **kw)
    err = caught.value
    assert err.code == "TooLarge" and err.hints["what"] in ("decompressed", "rows")
    assert err.hints["decompressed"] < len(TEXT) // 2  # stopped as it expanded, not after
    return err


@pytest.mark.parametrize("compression", ["gzip", {"method": "gzip"}], ids=["name", "dict"])
@pytest.mark.parametrize("uri", [f"s3://{BUCKET}/plain/data.csv", f"s3://{BUCKET}/plain/"], ids=["object", "set"])
def test_an_explicit_compression_is_held_to_the_limit_as_a_named_one(bomb: S3Helper, uri: str,
                                                                     compression: Any) -> None:
    named = _refused(bomb, f"s3://{BUCKET}/named/data.csv.gz")
    # encoding= lets bytes that do not look like text through to the parser: the set's objects too.
    explicit = _refused(bomb, uri, compression=compression, encoding="latin-1")
    assert explicit.hints["what"] == named.hints["what"] == "decompressed"


def test_the_first_rows_of_an_explicitly_compressed_bomb_come_under_the_limit(bomb: S3Helper) -> None:
    df = dm.load(f"s3://{BUCKET}/plain/data.csv", endpoint_url=bomb.endpoint_url, progress=False,
                 memory_limit=LIMIT, compression="gzip", nrows=5)
    assert df["a"].tolist() == [7] * 5


def test_an_explicit_compression_loads_what_fits(s3: S3Helper) -> None:
    frame = make_frame(50)
    s3.make_bucket(BUCKET)
    for i in range(2):
        s3.put(BUCKET, f"exports/part-{i}", to_bytes(frame, "csv", "zstd"))
    df = dm.load(f"s3://{BUCKET}/exports/", endpoint_url=s3.endpoint_url, progress=False, format="csv",
                 compression="zstd")
    assert len(df) == 100 and df["id"].tolist() == frame["id"].tolist() * 2


@pytest.mark.parametrize(
    ("compression", "said"),
    [
        ("zip", "format='zip'"),
        ("tar", "tar"),
        ("lz4", "'lz4'"),
        ({"method": "gzip", "mtime": 0}, "'mtime'"),
        ({"level": 3}, "method"),
    ],
)
def test_a_compression_the_loader_cannot_count_is_refused_before_any_request(
    s3: S3Helper, proxy: FaultProxy, compression: Any, said: str
) -> None:
    s3.make_bucket(BUCKET)
    s3.put(BUCKET, "plain/data.csv", compress(TEXT, "gzip"))
    with pytest.raises(S3FormatError) as caught:
        dm.load(f"s3://{BUCKET}/plain/data.csv", endpoint_url=proxy.endpoint_url, progress=False,
                compression=compression)
    err = caught.value
    assert err.code == "CompressionOption" and said in str(err)
    assert "gzip" in err.remedy and "memory" in err.explanation
    assert [r.method for r in proxy.requests if r.method == "GET"] == []


def test_the_magic_passes_compression_through_the_same_decompression(ip: InteractiveShell, s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)
    s3.put(BUCKET, "export", to_bytes(make_frame(30), "csv", "bz2"))
    ip.run_cell_magic("s3ingest", "df --quiet --format csv --option compression='bz2'", f"s3://{BUCKET}/export")
    assert len(ip.user_ns["df"]) == 30
    with pytest.raises(S3FormatError, match="format='zip'"):
        ip.run_cell_magic("s3ingest", "df2 --quiet --format csv --option compression='zip'", f"s3://{BUCKET}/export")
    assert "df2" not in ip.user_ns
