"""What botocore would send, with our clients' settings, for buckets whose names say where they live: access
point ARNs and directory buckets (S3 Express One Zone); and what the clients refuse to send (an ARN to an
S3-compatible store, a Multi-Region Access Point that cannot be signed).

Nothing leaves the process: a ``before-send`` handler on the client answers every request itself and records
it, so the tests see the URL, the signature's region and the headers botocore built, and no socket is opened.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from dreambolt_magic import errors
from dreambolt_magic.client import access_points
from dreambolt_magic.client.calls import bucket_region, call
from dreambolt_magic.client.connection import Connection
from dreambolt_magic.client.retry import RetryPolicy
from dreambolt_magic.datasets.listing import expand
from dreambolt_magic.options import ConnectOptions
from dreambolt_magic.uri import parse

SESSION = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<CreateSessionResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Credentials>'
    b"<SessionToken>SESSION-TOKEN</SessionToken><SecretAccessKey>session-secret</SecretAccessKey>"
    b"<AccessKeyId>SESSIONKEY</AccessKeyId><Expiration>2099-01-01T00:00:00Z</Expiration>"
    b"</Credentials></CreateSessionResult>"
)


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.data


class Wire:
    """Stands in for the network under one client: records each request and answers it (a CreateSession
    with session credentials, a ListObjectsV2 with ``keys``, anything else with an empty 200)."""

    def __init__(self, client: Any, keys: tuple[str, ...] = ()) -> None:
        self.sent: list[AWSPreparedRequest] = []
        self.keys = keys
        client.meta.events.register("before-send.s3", self.answer)

    def answer(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        self.sent.append(request)
        body = b""
        if request.url.endswith("?session"):
            body = SESSION
        elif "list-type=2" in request.url:
            contents = "".join(f"<Contents><Key>{key}</Key><Size>3</Size></Contents>" for key in self.keys)
            body = (f'<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><IsTruncated>false'
                    f"</IsTruncated>{contents}</ListBucketResult>").encode()
        return AWSResponse(request.url, 200, {"Content-Length": str(len(body))}, _Body(body))


@pytest.fixture
def conn(monkeypatch: pytest.MonkeyPatch) -> Iterator[Connection]:
    """A signed connection to AWS (no endpoint_url), with fake credentials."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    connection = Connection.open(ConnectOptions(unsigned_fallback=False))
    try:
        yield connection
    finally:
        connection.close()


def head(conn: Connection, text: str) -> tuple[Wire, str]:
    """HEAD the object ``text`` names through the funnel, in the region the loader would choose."""
    uri = parse(text)
    policy = RetryPolicy(max_attempts=1)
    region = uri.region or bucket_region(conn, uri.bucket, policy)
    wire = Wire(conn.client(region))
    call(conn, "HeadObject", region=region, policy=policy, Bucket=uri.bucket, Key=uri.key)
    return wire, region


def scope(request: AWSPreparedRequest) -> str:
    """``region/service`` of the request's SigV4 credential scope."""
    credential = request.headers["Authorization"].decode().split("Credential=")[1].split(",")[0]
    return "/".join(credential.split("/")[2:4])


def test_a_directory_bucket_is_listed_from_a_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    # Directory buckets list only prefixes that end in "/": a glob's keys come from its folder, filtered here.
    wires: list[Wire] = []
    made = Connection.client

    def client(self: Connection, region: str) -> Any:
        found = made(self, region)
        if not wires:
            wires.append(Wire(found, keys=("data/part-1.csv", "data/part-2.csv", "data/other.csv")))
        return found

    monkeypatch.setattr(Connection, "client", client)
    refs = expand("s3://logs--usw2-az1--x-s3/data/part-*.csv", ConnectOptions(unsigned_fallback=False))

    assert [ref.text for ref in refs] == ["s3://logs--usw2-az1--x-s3/data/part-1.csv",
                                          "s3://logs--usw2-az1--x-s3/data/part-2.csv"]
    prefixes = [parse_qs(urlsplit(r.url).query)["prefix"][0] for r in wires[0].sent if "list-type=2" in r.url]
    assert "data/" in prefixes and all(prefix.endswith("/") for prefix in prefixes)


def test_a_directory_bucket_is_read_through_botocore_s_own_session(conn: Connection) -> None:
    wire, region = head(conn, "s3://logs--usw2-az1--x-s3/dir/data.csv")

    assert region == "us-west-2"
    create, read = wire.sent
    zonal = "https://logs--usw2-az1--x-s3.s3express-usw2-az1.us-west-2.amazonaws.com"
    # botocore asks for a session itself (CreateSession), then signs the read with it.
    assert (create.method, create.url) == ("GET", f"{zonal}/?session")
    assert scope(create) == "us-west-2/s3express"
    assert (read.method, read.url) == ("HEAD", f"{zonal}/dir/data.csv")
    assert read.headers["x-amz-s3session-token"] == b"SESSION-TOKEN"
    assert b"Credential=SESSIONKEY/" in read.headers["Authorization"]


@pytest.mark.parametrize(
    ("text", "url", "signed_for"),
    [
        pytest.param("s3://arn:aws:s3:eu-west-3:123456789012:accesspoint/my-ap/dir/f.csv",
                     "https://my-ap-123456789012.s3-accesspoint.eu-west-3.amazonaws.com/dir/f.csv",
                     "eu-west-3/s3", id="access-point"),
        pytest.param("s3://arn:aws-cn:s3:cn-north-1:123456789012:accesspoint/my-ap/f.csv",
                     "https://my-ap-123456789012.s3-accesspoint.cn-north-1.amazonaws.com.cn/f.csv",
                     "cn-north-1/s3", id="china"),
        pytest.param("s3://arn:aws:s3-object-lambda:us-west-2:123456789012:accesspoint/my-olap/f.csv",
                     "https://my-olap-123456789012.s3-object-lambda.us-west-2.amazonaws.com/f.csv",
                     "us-west-2/s3-object-lambda", id="object-lambda"),
    ],
)
def test_an_access_point_arn_is_read_at_its_access_point(conn: Connection, text: str, url: str,
                                                         signed_for: str) -> None:
    wire, _ = head(conn, text)

    (read,) = wire.sent
    assert (read.method, read.url) == ("HEAD", url)
    assert scope(read) == signed_for


MRAP_URI = "s3://arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap/dir/f.csv"
MRAP_HOST = "https://mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com"


def test_a_multi_region_access_point_without_the_crt_is_refused_before_anything_is_sent(
        conn: Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(access_points, "sigv4a_unavailable", lambda: "it is not installed")
    uri = parse(MRAP_URI)
    wire = Wire(conn.client(bucket_region(conn, uri.bucket, RetryPolicy(max_attempts=1))))

    with pytest.raises(errors.S3GenericError) as caught:
        call(conn, "HeadObject", region="us-east-1", policy=RetryPolicy(max_attempts=3), Bucket=uri.bucket,
             Key=uri.key)

    assert wire.sent == []
    error = caught.value
    assert error.code == "NeedsCRT" and error.bucket == uri.bucket and error.attempts == 1
    assert "SigV4A" in str(error) and "it is not installed" in str(error)
    assert "pip install 'botocore[crt]'" in error.remedy and "Nothing was sent" in error.explanation


def test_where_botocore_itself_cannot_sign_sigv4a_it_is_the_same_error(
        conn: Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    # Our check passed (say, an awscrt too old): botocore's own refusal, before sending, is translated alike.
    import botocore.auth

    monkeypatch.setattr(access_points, "sigv4a_unavailable", lambda: None)
    import botocore.regions

    # botocore as it is without awscrt: no SigV4A signer, and its endpoint resolver knows it.
    monkeypatch.delitem(botocore.auth.AUTH_TYPE_MAPS, "v4a", raising=False)
    monkeypatch.setattr(botocore.regions, "HAS_CRT", False)
    with pytest.raises(errors.S3GenericError) as caught:
        head(conn, MRAP_URI)
    assert caught.value.code == "NeedsCRT"
    assert "botocore[crt]" in (caught.value.detail or "")


def test_an_unsigned_request_to_a_multi_region_access_point_needs_no_crt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(access_points, "sigv4a_unavailable", lambda: "it is not installed")
    anonymous = Connection.open(ConnectOptions(anon=True))
    try:
        wire, _ = head(anonymous, MRAP_URI)
    finally:
        anonymous.close()
    (read,) = wire.sent
    assert read.url == f"{MRAP_HOST}/dir/f.csv"
    assert "Authorization" not in read.headers


@pytest.mark.parametrize("text", [
    pytest.param("s3://arn:aws:s3:us-west-2:123456789012:accesspoint/my-ap/f.csv", id="access-point"),
    pytest.param(MRAP_URI, id="multi-region"),
])
def test_an_arn_is_refused_for_an_s3_compatible_store_before_anything_is_sent(text: str) -> None:
    store = Connection.open(ConnectOptions(endpoint_url="http://127.0.0.1:9000"))
    try:
        with pytest.raises(errors.S3UriError) as caught:
            head(store, text)
    finally:
        store.close()
    error = caught.value
    assert error.code == "ArnWithEndpoint" and error.endpoint == "http://127.0.0.1:9000"
    assert "has no access points; write the store's bucket name (s3://bucket/key)" in str(error)
