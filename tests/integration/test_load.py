"""``dreambolt_magic.load`` over HTTP against moto: provenance, regions, endpoints, errors, secrets, progress.

Every test talks to moto's server on 127.0.0.1 through the loader's public API. Where a test must know
which requests the loader made (the region lookup), it points the loader at the ``proxy`` fixture
(tests/faults/proxy.py), a reverse proxy in front of moto that records each request; nothing inside the
loader is patched.
"""

from __future__ import annotations

import re
import socket
import threading
import traceback
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pandas as pd
import pytest
import tqdm
from helpers import key_for, make_frame, to_bytes

import dreambolt_magic
from dreambolt_magic import S3AuthError, S3Error, S3FormatError, S3NetworkError, S3NotFound, summarize
from dreambolt_magic.client.regions import region_cache
from dreambolt_magic.transfer.progress import Progress

if TYPE_CHECKING:
    from conftest import MotoEndpoint, S3Helper
    from faults.proxy import FaultProxy

ATTRS_KEYS = {
    "uri", "bucket", "key", "region", "endpoint", "etag", "version_id", "last_modified", "size",
    "bytes_fetched", "attempts", "checksum", "signed", "unsigned_reason", "cached", "elapsed",
}  # fmt: skip


@pytest.fixture
def frame() -> pd.DataFrame:
    return make_frame(30, seed=3)


def _load(s3: S3Helper, uri: str, **kw: Any) -> pd.DataFrame:
    kw.setdefault("endpoint_url", s3.endpoint_url)
    kw.setdefault("progress", False)
    return dreambolt_magic.load(uri, **kw)


def _dead_endpoint() -> str:
    """An endpoint on a port that nothing listens on: connections are refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No credentials anywhere: not in the environment, not in the (empty) AWS files."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    _empty_aws_files(tmp_path, monkeypatch)


def _empty_aws_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: str = "") -> None:
    aws = tmp_path / "aws-empty"
    aws.mkdir()
    (aws / "config").write_text(config)
    (aws / "credentials").write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(aws / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(aws / "credentials"))


# --- a progress display that records what it is told -----------------------------------------------------


class RecordingProgress:
    """Implements the Progress protocol by writing every call down."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self._lock = threading.Lock()

    def _add(self, *call: Any) -> None:
        with self._lock:
            self.calls.append(call)

    def start(self, total: int | None, description: str = "") -> None:
        self._add("start", total, description)

    def advance(self, n: int) -> None:
        self._add("advance", n)

    def rewind(self, n: int) -> None:
        self._add("rewind", n)

    def retrying(self, attempt: int, max_attempts: int, reason: str, wait: float) -> None:
        self._add("retrying", attempt, max_attempts, reason)

    def finish(self, ok: bool) -> None:
        self._add("finish", ok)

    def named(self, name: str) -> list[tuple[Any, ...]]:
        return [call for call in self.calls if call[0] == name]

    @property
    def advanced(self) -> int:
        return sum(call[1] for call in self.named("advance"))


# --- provenance ----------------------------------------------------------------------------------------


def test_attrs_record_where_the_frame_came_from(s3: S3Helper, frame: pd.DataFrame) -> None:
    bucket = s3.make_bucket("provenance", region="eu-west-2")
    key = "reports/2024/q1.parquet"
    body = to_bytes(frame, "parquet")
    uri = s3.put(bucket, key, body)
    head = s3.client.head_object(Bucket=bucket, Key=key)

    df = _load(s3, uri)

    info = df.attrs["s3"]
    assert set(info) == ATTRS_KEYS
    assert info["uri"] == "s3://provenance/reports/2024/q1.parquet"
    assert (info["bucket"], info["key"]) == (bucket, key)
    assert info["region"] == "eu-west-2"
    assert info["endpoint"] == s3.endpoint_url
    assert info["etag"] == head["ETag"]
    assert info["version_id"] is None
    assert datetime.fromisoformat(info["last_modified"]) == head["LastModified"]
    assert info["size"] == info["bytes_fetched"] == len(body) == head["ContentLength"]
    assert info["attempts"] == 1
    assert info["checksum"] == "verified"  # boto3 uploads a CRC32, which moto keeps
    assert info["signed"] is True
    assert info["unsigned_reason"] is None
    assert info["cached"] is False
    assert isinstance(info["elapsed"], float) and info["elapsed"] >= 0


@pytest.fixture
def versions(s3: S3Helper) -> tuple[str, list[tuple[str, pd.DataFrame, bytes]]]:
    """A versioned bucket holding two versions of ``data.csv``: ``(bucket, [(version_id, frame, body)])``."""
    bucket = s3.make_bucket("versioned")
    s3.client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    out = []
    for seed, rows in ((1, 12), (2, 20)):
        df = make_frame(rows, seed=seed)
        body = to_bytes(df, "csv")
        response = s3.client.put_object(Bucket=bucket, Key="data.csv", Body=body)
        out.append((response["VersionId"], df, body))
    assert out[0][0] != out[1][0]
    return bucket, out


@pytest.mark.parametrize("form", ["s3", "path-style-url"])
def test_version_id_reads_the_old_version(
    s3: S3Helper, versions: tuple[str, list[tuple[str, pd.DataFrame, bytes]]], form: str
) -> None:
    bucket, [(old_id, old_frame, old_body), _] = versions
    uri = (
        f"s3://{bucket}/data.csv?versionId={old_id}"
        if form == "s3"
        else f"{s3.endpoint_url}/{bucket}/data.csv?versionId={quote(old_id, safe='')}"
    )
    head = s3.client.head_object(Bucket=bucket, Key="data.csv", VersionId=old_id)

    df = _load(s3, uri)

    pd.testing.assert_frame_equal(df, old_frame)
    info = df.attrs["s3"]
    assert info["version_id"] == old_id
    assert info["uri"] == f"s3://{bucket}/data.csv?versionId={old_id}"
    assert info["etag"] == head["ETag"]
    assert info["size"] == info["bytes_fetched"] == len(old_body)


def test_without_version_id_the_latest_is_read_and_its_version_recorded(
    s3: S3Helper, versions: tuple[str, list[tuple[str, pd.DataFrame, bytes]]]
) -> None:
    bucket, [_, (new_id, new_frame, _)] = versions

    df = _load(s3, f"s3://{bucket}/data.csv")

    pd.testing.assert_frame_equal(df, new_frame)
    assert df.attrs["s3"]["version_id"] == new_id


def test_unknown_version_id_is_not_found(
    s3: S3Helper, versions: tuple[str, list[tuple[str, pd.DataFrame, bytes]]]
) -> None:
    bucket, _ = versions
    uri = f"s3://{bucket}/data.csv?versionId=nosuchversion"

    with pytest.raises(S3NotFound) as info:
        _load(s3, uri)

    _check_error(info.value, S3NotFound, code="NoSuchVersion", status=404, uri=uri, bucket=bucket, key="data.csv")


def test_summarize_gives_shape_and_region(s3: S3Helper) -> None:
    bucket = s3.make_bucket("summary", region="ap-southeast-2")
    uri = s3.put(bucket, "big.csv", to_bytes(make_frame(1234), "csv"))

    text = summarize(_load(s3, uri))

    assert text.startswith("Loaded s3://summary/big.csv: ")
    assert "1,234 rows x 4 columns" in text
    assert "region ap-southeast-2" in text
    assert "unsigned" not in text


# --- regions -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-2", "ap-northeast-1"])
def test_region_is_detected_from_the_bucket(s3: S3Helper, frame: pd.DataFrame, region: str) -> None:
    bucket = s3.make_bucket("regional", region=region)
    uri = s3.put(bucket, "d.csv", to_bytes(frame, "csv"))

    df = _load(s3, uri)

    assert df.attrs["s3"]["region"] == region
    assert region_cache.get(s3.endpoint_url, bucket) == region


def test_second_load_of_a_bucket_asks_for_its_region_no_more(
    s3: S3Helper, proxy: FaultProxy, frame: pd.DataFrame
) -> None:
    bucket = s3.make_bucket("cached", region="eu-west-2")
    s3.put(bucket, "a.csv", to_bytes(frame, "csv"))
    s3.put(bucket, "b.json", to_bytes(frame, "json"))

    first = _load(s3, "s3://cached/a.csv", endpoint_url=proxy.endpoint_url)
    assert proxy.count("HEAD", "/cached") == 1
    assert region_cache.get(proxy.endpoint_url, bucket) == "eu-west-2"
    second = _load(s3, "s3://cached/b.json", endpoint_url=proxy.endpoint_url)

    assert proxy.count("HEAD", "/cached") == 1
    assert proxy.count("GET", "/cached/a.csv") == 1
    assert proxy.count("GET", "/cached/b.json") == 1
    assert first.attrs["s3"]["region"] == second.attrs["s3"]["region"] == "eu-west-2"
    pd.testing.assert_frame_equal(second, frame)


def test_region_cache_is_kept_per_endpoint(s3: S3Helper, proxy: FaultProxy, frame: pd.DataFrame) -> None:
    bucket = s3.make_bucket("twice", region="eu-west-2")
    uri = s3.put(bucket, "a.csv", to_bytes(frame, "csv"))

    _load(s3, uri)
    _load(s3, uri, endpoint_url=proxy.endpoint_url)

    # The same bucket name at another endpoint is another bucket: it is looked up again.
    assert proxy.count("HEAD", "/twice") == 1
    assert len(region_cache) == 2


def test_explicit_region_wins_and_is_not_looked_up(s3: S3Helper, proxy: FaultProxy, frame: pd.DataFrame) -> None:
    bucket = s3.make_bucket("explicit", region="eu-west-2")
    uri = s3.put(bucket, "a.csv", to_bytes(frame, "csv"))

    df = _load(s3, uri, endpoint_url=proxy.endpoint_url, region="ap-south-1")

    assert df.attrs["s3"]["region"] == "ap-south-1"
    assert proxy.count("HEAD", "/explicit") == 0
    assert proxy.count("GET", "/explicit/a.csv") == 1
    assert len(region_cache) == 0


def test_region_in_an_aws_url_wins_and_is_not_looked_up(s3: S3Helper, proxy: FaultProxy, frame: pd.DataFrame) -> None:
    bucket = s3.make_bucket("inurl", region="eu-west-2")
    s3.put(bucket, "dir/a b.csv", to_bytes(frame, "csv"))

    df = _load(s3, "https://inurl.s3.eu-west-1.amazonaws.com/dir/a%20b.csv", endpoint_url=proxy.endpoint_url)

    pd.testing.assert_frame_equal(df, frame)
    assert df.attrs["s3"]["region"] == "eu-west-1"
    assert df.attrs["s3"]["uri"] == "s3://inurl/dir/a b.csv"
    assert proxy.count("HEAD", "/inurl") == 0
    assert len(region_cache) == 0


def test_explicit_region_beats_a_region_in_the_url(s3: S3Helper, frame: pd.DataFrame) -> None:
    bucket = s3.make_bucket("both", region="eu-west-2")
    s3.put(bucket, "a.csv", to_bytes(frame, "csv"))

    df = _load(s3, "https://s3.eu-west-1.amazonaws.com/both/a.csv", region="ca-central-1")

    assert df.attrs["s3"]["region"] == "ca-central-1"


def test_path_style_url_names_the_endpoint_and_the_region_is_detected(
    s3: S3Helper, s3_server: MotoEndpoint, frame: pd.DataFrame
) -> None:
    # uri.py: a non-AWS host is an S3-compatible endpoint, and such a URL carries no region hint.
    bucket = s3.make_bucket("pathstyle", region="eu-west-2")
    s3.put(bucket, "x/y.jsonl", to_bytes(frame, "jsonl"))
    url = f"http://{s3_server.host}:{s3_server.port}/pathstyle/x/y.jsonl"

    df = dreambolt_magic.load(url, progress=False)

    pd.testing.assert_frame_equal(df, frame)
    info = df.attrs["s3"]
    assert info["endpoint"] == s3_server.endpoint_url
    assert info["region"] == "eu-west-2"
    assert info["uri"] == "s3://pathstyle/x/y.jsonl"
    assert region_cache.get(s3_server.endpoint_url, bucket) == "eu-west-2"


def test_32_concurrent_loads_from_two_regions_share_the_region_cache(s3: S3Helper) -> None:
    buckets = {"west": "eu-west-2", "east": "ap-northeast-1"}
    expected: dict[str, tuple[pd.DataFrame, str]] = {}
    for name, region in buckets.items():
        s3.make_bucket(name, region=region)
        for i in range(16):
            fmt = ("parquet", "csv", "jsonl", "feather")[i % 4]
            df = make_frame(10 + i, seed=i)
            uri = s3.put(name, key_for(f"part-{i}", fmt), to_bytes(df, fmt))
            expected[uri] = (df, region)
    assert len(expected) == 32
    start = threading.Barrier(len(expected))

    def one(uri: str) -> pd.DataFrame:
        start.wait(timeout=10)
        return _load(s3, uri)

    with ThreadPoolExecutor(max_workers=len(expected)) as pool:
        results = dict(zip(expected, pool.map(one, expected), strict=True))

    for uri, (df, region) in expected.items():
        pd.testing.assert_frame_equal(results[uri], df)
        assert results[uri].attrs["s3"]["region"] == region, uri
        assert results[uri].attrs["s3"]["uri"] == uri
    assert region_cache.get(s3.endpoint_url, "west") == "eu-west-2"
    assert region_cache.get(s3.endpoint_url, "east") == "ap-northeast-1"


# --- endpoints -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"])
def test_endpoint_from_the_environment(
    s3: S3Helper, monkeypatch: pytest.MonkeyPatch, frame: pd.DataFrame, variable: str
) -> None:
    bucket = s3.make_bucket("fromenv", region="eu-west-2")
    uri = s3.put(bucket, "a.parquet", to_bytes(frame, "parquet"))
    monkeypatch.setenv(variable, s3.endpoint_url)

    df = dreambolt_magic.load(uri, progress=False)

    pd.testing.assert_frame_equal(df, frame)
    assert df.attrs["s3"]["endpoint"] == s3.endpoint_url
    assert df.attrs["s3"]["region"] == "eu-west-2"


def test_endpoint_argument_beats_the_environment(
    s3: S3Helper, monkeypatch: pytest.MonkeyPatch, frame: pd.DataFrame
) -> None:
    uri = s3.put(s3.make_bucket("argwins"), "a.csv", to_bytes(frame, "csv"))
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", _dead_endpoint())

    df = _load(s3, uri)

    assert df.attrs["s3"]["endpoint"] == s3.endpoint_url


# --- keys that need care -------------------------------------------------------------------------------

KEYS = [
    "dir with spaces/file name.csv",
    "ünïcødé/データ 2024.csv",
    "a+b.csv",
    "100%.csv",
    "100%20.csv",
    "what?.csv",
    "a?b=c&d=e.csv",
    "hash#tag.csv",
    "k=v&x=y.csv",
    "all + % ? # = & together.csv",
]


@pytest.mark.parametrize("form", ["s3", "url"])
@pytest.mark.parametrize("key", KEYS)
def test_keys_with_special_characters(s3: S3Helper, frame: pd.DataFrame, key: str, form: str) -> None:
    bucket = s3.make_bucket("oddkeys")
    s3.put(bucket, key, to_bytes(frame, "csv"))
    # s3:// keys are literal; in a URL the key is percent-encoded like any path.
    uri = f"s3://{bucket}/{key}" if form == "s3" else f"{s3.endpoint_url}/{bucket}/{quote(key, safe='/')}"

    df = _load(s3, uri)

    pd.testing.assert_frame_equal(df, frame)
    assert df.attrs["s3"]["key"] == key
    assert df.attrs["s3"]["uri"] == f"s3://{bucket}/{key}"


# --- errors --------------------------------------------------------------------------------------------

# A template field with no value is filled with a lone "?" (explain._Blank): none should show.
_UNFILLED = re.compile(r"(?:^|\s)\?(?:$|[\s.,;:)])")


def _check_error(
    err: S3Error, cls: type[S3Error], *, code: str, status: int | None, uri: str, bucket: str, key: str
) -> None:
    assert type(err) is cls, repr(err)
    assert (err.code, err.status) == (code, status), repr(err)
    assert (err.uri, err.bucket, err.key) == (uri, bucket, key)
    for text in (err.explanation, err.remedy):
        assert text.strip(), f"{code}: empty text"
        assert not _UNFILLED.search(text), f"{code}: unfilled field in {text!r}"
    assert str(err) == err.message and err.message


def test_missing_key(s3: S3Helper) -> None:
    bucket = s3.make_bucket("keys")
    s3.put(bucket, "there.csv", b"a,b\n1,2\n")
    uri = "s3://keys/dir/missing.csv"

    with pytest.raises(S3NotFound) as info:
        _load(s3, uri)

    err = info.value
    _check_error(err, S3NotFound, code="NoSuchKey", status=404, uri=uri, bucket=bucket, key="dir/missing.csv")
    assert err.region == "us-east-1"
    assert "'dir/missing.csv'" in err.explanation
    assert "s3://keys/dir/" in err.remedy


@pytest.mark.parametrize("region", [None, "eu-west-1"], ids=["detected", "explicit"])
def test_missing_bucket(s3: S3Helper, region: str | None) -> None:
    uri = "s3://no-such-bucket-here/a.csv"

    with pytest.raises(S3NotFound) as info:
        _load(s3, uri, region=region)

    err = info.value
    _check_error(err, S3NotFound, code="NoSuchBucket", status=404, uri=uri, bucket="no-such-bucket-here",
                 key="a.csv")  # fmt: skip
    assert "no-such-bucket-here" in err.explanation


def test_parquet_name_holding_csv_is_a_format_mismatch(s3: S3Helper, frame: pd.DataFrame) -> None:
    uri = s3.put(s3.make_bucket("mislabel"), "data.parquet", to_bytes(frame, "csv"))

    with pytest.raises(S3FormatError) as info:
        _load(s3, uri)

    err = info.value
    _check_error(err, S3FormatError, code="FormatMismatch", status=None, uri=uri, bucket="mislabel",
                 key="data.parquet")  # fmt: skip
    assert err.hints["looks_like"] == "CSV text"
    assert "PAR1" in err.explanation


def test_empty_object(s3: S3Helper) -> None:
    uri = s3.put(s3.make_bucket("empties"), "nothing.csv", b"")

    with pytest.raises(S3FormatError) as info:
        _load(s3, uri)

    _check_error(info.value, S3FormatError, code="EmptyObject", status=None, uri=uri, bucket="empties",
                 key="nothing.csv")  # fmt: skip


def test_unknown_extension_with_binary_junk(s3: S3Helper) -> None:
    uri = s3.put(s3.make_bucket("junk"), "blob.bin", bytes(range(256)) * 4)

    with pytest.raises(S3FormatError) as info:
        _load(s3, uri)

    err = info.value
    _check_error(err, S3FormatError, code="UnknownFormat", status=None, uri=uri, bucket="junk", key="blob.bin")
    assert err.hints["looks_like"] == "binary data"
    assert "'blob.bin'" in err.explanation


@pytest.mark.parametrize("region", [None, "us-east-1"], ids=["detecting-region", "explicit-region"])
def test_connection_refused_is_a_network_error_after_the_attempts(s3: S3Helper, region: str | None) -> None:
    uri = "s3://anything/a.csv"
    recorder = RecordingProgress()

    with pytest.raises(S3NetworkError) as info:
        _load(s3, uri, endpoint_url=_dead_endpoint(), max_attempts=2, region=region, progress=recorder)

    err = info.value
    _check_error(err, S3NetworkError, code="EndpointConnectionError", status=None, uri=uri, bucket="anything",
                 key="a.csv")  # fmt: skip
    assert err.attempts == 2
    assert "after 2 attempts" in err.explanation
    assert [call[:3] for call in recorder.named("retrying")] == [("retrying", 1, 2)]
    assert recorder.calls[-1] == ("finish", False)


def test_no_credentials_and_no_fallback(s3: S3Helper, no_credentials: None, frame: pd.DataFrame) -> None:
    uri = s3.put(s3.make_bucket("private"), "a.csv", to_bytes(frame, "csv"))

    with pytest.raises(S3AuthError) as info:
        _load(s3, uri, unsigned_fallback=False)

    err = info.value
    _check_error(err, S3AuthError, code="NoCredentials", status=None, uri=uri, bucket="private", key="a.csv")
    assert err.hints["unsigned_tried"] is False
    assert "No AWS credentials were found" in err.explanation


def test_no_credentials_falls_back_to_unsigned(s3: S3Helper, no_credentials: None, frame: pd.DataFrame) -> None:
    # moto, like S3, lets an unsigned request read only an object that is public.
    uri = s3.put(s3.make_bucket("public", region="eu-west-2"), "a.csv", to_bytes(frame, "csv"), ACL="public-read")

    df = _load(s3, uri)

    pd.testing.assert_frame_equal(df, frame)
    assert df.attrs["s3"]["signed"] is False
    assert df.attrs["s3"]["unsigned_reason"] == "no credentials were found"
    assert df.attrs["s3"]["region"] == "eu-west-2"
    assert "unsigned (no credentials were found)" in summarize(df)


def test_no_credentials_and_a_private_object_after_the_unsigned_try(
    s3: S3Helper, no_credentials: None, frame: pd.DataFrame
) -> None:
    uri = s3.put(s3.make_bucket("private"), "a.csv", to_bytes(frame, "csv"))

    with pytest.raises(S3AuthError) as info:
        _load(s3, uri)

    err = info.value
    _check_error(err, S3AuthError, code="NoCredentials", status=403, uri=uri, bucket="private", key="a.csv")
    assert err.hints["unsigned_tried"] is True
    assert "An unsigned request was tried" in err.explanation


def test_anonymous_load_of_a_public_object(s3: S3Helper, frame: pd.DataFrame) -> None:
    uri = s3.put(s3.make_bucket("anonymous"), "a.csv", to_bytes(frame, "csv"), ACL="public-read")

    df = _load(s3, uri, anon=True)

    pd.testing.assert_frame_equal(df, frame)
    assert df.attrs["s3"]["signed"] is False
    assert df.attrs["s3"]["unsigned_reason"] == "anonymous access was asked for"


def test_unknown_profile_lists_the_configured_ones(
    s3: S3Helper, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    uri = "s3://whatever/a.csv"
    _empty_aws_files(tmp_path, monkeypatch, config="[profile analytics]\nregion = eu-west-2\n")

    with pytest.raises(S3AuthError) as info:
        _load(s3, uri, profile="nope")

    err = info.value
    _check_error(err, S3AuthError, code="ProfileNotFound", status=None, uri=uri, bucket="whatever", key="a.csv")
    assert err.hints["available"] == ["analytics"]
    assert "'nope'" in err.explanation
    assert "analytics" in err.remedy


def test_a_configured_profile_is_used(
    s3: S3Helper, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, frame: pd.DataFrame
) -> None:
    uri = s3.put(s3.make_bucket("profiled"), "a.csv", to_bytes(frame, "csv"))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    _empty_aws_files(
        tmp_path,
        monkeypatch,
        config="[profile analytics]\naws_access_key_id = AKIAPROFILE\naws_secret_access_key = profilesecret\n",
    )

    df = _load(s3, uri, profile="analytics")

    pd.testing.assert_frame_equal(df, frame)
    assert df.attrs["s3"]["signed"] is True


@pytest.mark.parametrize(
    ("uri", "kw", "code"),
    [
        ("s3://keys/missing.csv", {}, "NoSuchKey"),
        ("s3://no-such-bucket-here/a.csv", {}, "NoSuchBucket"),
        ("s3://no-such-bucket-here/a.csv", {"region": "us-east-1"}, "NoSuchBucket"),
    ],
    ids=["key", "bucket-detected", "bucket-explicit-region"],
)
def test_not_found_at_a_custom_endpoint_names_that_endpoint(
    s3: S3Helper, uri: str, kw: dict[str, Any], code: str
) -> None:
    # At an S3-compatible endpoint `aws s3 ls` without --endpoint-url lists AWS, not the store asked.
    s3.make_bucket("keys")

    with pytest.raises(S3NotFound) as info:
        _load(s3, uri, **kw)

    err = info.value
    assert err.code == code
    assert err.endpoint == s3.endpoint_url
    assert f"--endpoint-url {s3.endpoint_url}" in err.remedy


@pytest.mark.parametrize("region", [None, "us-east-1"], ids=["detecting-region", "explicit-region"])
def test_connection_refused_names_the_endpoint(s3: S3Helper, region: str | None) -> None:
    dead = _dead_endpoint()

    with pytest.raises(S3NetworkError) as info:
        _load(s3, "s3://anything/a.csv", endpoint_url=dead, max_attempts=1, region=region)

    assert info.value.endpoint == dead
    assert f"at {dead}" in info.value.explanation


# --- secrets -------------------------------------------------------------------------------------------

ACCESS_KEY = "AKIAZZPROBEACCESS7731"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+probeSECRET/9q2x"


def _texts(err: S3Error) -> list[str]:
    out = [str(err), repr(err), err._repr_html_(), "\n".join(err._render_traceback_()), err.explanation,
           err.remedy, "".join(traceback.format_exception(err))]  # fmt: skip
    err.displayed = True
    out.append("\n".join(err._render_traceback_()))
    return out


@pytest.mark.parametrize(
    "scenario",
    ["no-such-key", "no-such-bucket", "format-mismatch", "missing-column", "network", "unknown-profile",
     "profile-no-such-key"],
)  # fmt: skip
def test_no_error_text_reveals_the_credentials(
    s3: S3Helper, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, frame: pd.DataFrame, scenario: str
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    _empty_aws_files(
        tmp_path,
        monkeypatch,
        config=f"[profile dev]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n",
    )
    bucket = s3.make_bucket("secrets")
    s3.put(bucket, "mislabelled.parquet", to_bytes(frame, "csv"))
    s3.put(bucket, "ok.csv", to_bytes(frame, "csv"))
    uri, kw = {
        "no-such-key": ("s3://secrets/none.csv", {}),
        "no-such-bucket": ("s3://no-such-bucket-here/a.csv", {}),
        "format-mismatch": ("s3://secrets/mislabelled.parquet", {}),
        "missing-column": ("s3://secrets/ok.csv", {"columns": "id,nope"}),
        "network": ("s3://secrets/ok.csv", {"endpoint_url": _dead_endpoint(), "max_attempts": 1}),
        "unknown-profile": ("s3://secrets/ok.csv", {"profile": "nope"}),
        "profile-no-such-key": ("s3://secrets/none.csv", {"profile": "dev"}),
    }[scenario]

    with pytest.raises(S3Error) as info:
        _load(s3, uri, **kw)

    for text in _texts(info.value):
        assert SECRET_KEY not in text
        assert ACCESS_KEY not in text
    assert SECRET_KEY not in repr(vars(info.value))
    assert ACCESS_KEY not in repr(vars(info.value))


def test_attrs_do_not_reveal_the_credentials(
    s3: S3Helper, monkeypatch: pytest.MonkeyPatch, frame: pd.DataFrame
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    uri = s3.put(s3.make_bucket("secrets"), "ok.csv", to_bytes(frame, "csv"))

    df = _load(s3, uri)

    assert df.attrs["s3"]["signed"] is True
    text = repr(df.attrs) + summarize(df)
    assert SECRET_KEY not in text
    assert ACCESS_KEY not in text


# --- progress ------------------------------------------------------------------------------------------


def test_progress_is_told_the_size_every_byte_and_success(s3: S3Helper) -> None:
    # Over 1 MiB, so the body arrives in more than one read.
    body = to_bytes(make_frame(60_000), "csv")
    assert len(body) > 1 << 20
    uri = s3.put(s3.make_bucket("progress"), "big.csv", body)
    recorder = RecordingProgress()
    assert isinstance(recorder, Progress)

    df = _load(s3, uri, progress=recorder)

    assert len(df) == 60_000
    kinds = [call[0] for call in recorder.calls]
    first_advance = kinds.index("advance")
    assert set(kinds[:first_advance]) == {"start"}
    assert recorder.named("start")[-1] == ("start", len(body), "big.csv")
    assert len(recorder.named("advance")) > 1
    assert all(call[1] > 0 for call in recorder.named("advance"))
    assert recorder.advanced == len(body)
    assert recorder.named("rewind") == [] and recorder.named("retrying") == []
    assert recorder.named("finish") == [("finish", True)]
    assert recorder.calls[-1] == ("finish", True)


def test_progress_is_told_of_a_failure_before_any_byte(s3: S3Helper) -> None:
    s3.make_bucket("progress")
    recorder = RecordingProgress()

    with pytest.raises(S3NotFound):
        _load(s3, "s3://progress/missing.csv", progress=recorder)

    assert recorder.named("advance") == []
    assert recorder.named("finish") == [("finish", False)]
    assert recorder.calls[-1] == ("finish", False)


def test_progress_is_told_of_a_failure_after_the_download(s3: S3Helper, frame: pd.DataFrame) -> None:
    body = to_bytes(frame, "csv")
    uri = s3.put(s3.make_bucket("progress"), "bad.parquet", body)
    recorder = RecordingProgress()

    with pytest.raises(S3FormatError):
        _load(s3, uri, progress=recorder)

    assert recorder.advanced == len(body)
    assert recorder.named("finish") == [("finish", False)]
    assert recorder.calls[-1] == ("finish", False)


def test_default_progress_bar_in_a_terminal(
    s3: S3Helper, frame: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    body = to_bytes(frame, "parquet")
    uri = s3.put(s3.make_bucket("progress"), "bar.parquet", body)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = _load(s3, uri, progress=True)

    assert [str(w.message) for w in caught] == []
    pd.testing.assert_frame_equal(df, frame)
    out, err = capsys.readouterr()
    assert out == ""
    final = err.replace("\r", "\n").strip().splitlines()[-1]
    assert final.startswith("bar.parquet: 100%"), err
    size = tqdm.tqdm.format_sizeof(len(body), divisor=1000)  # decimal, as the summary
    assert f"| {size}/{size} [" in final, err


def test_default_progress_bar_after_a_failure(s3: S3Helper, capsys: pytest.CaptureFixture[str]) -> None:
    s3.make_bucket("progress")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(S3NotFound):
            _load(s3, "s3://progress/missing.csv", progress=True)

    assert [str(w.message) for w in caught] == []
    assert capsys.readouterr().out == ""
