"""The loader with the AWS Common Runtime (awscrt, which ``pip install 'botocore[crt]'`` brings, and the test
set installs) and without it.

With awscrt botocore signs every request through the CRT, whose signer logs what botocore's own does (the
canonical request with the session token's and an SSE-C key's headers, the string to sign, the Authorization
value) once a user routes the CRT's log into Python's logging: those records must show no credential. It
also signs a Multi-Region Access Point's requests with SigV4A, which botocore alone cannot: a local server
stands in for the access point's global host and checks the signature. Without awscrt, such a request is
refused before anything is sent, and botocore's own signer logs the canonical request, clean too.

Either state of a process is fixed when botocore is imported, and the CRT's log can be set up once, so the
cases this process is not in run in a child process (tests/child.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import botocore.compat
import botocore.session
import child
import pandas as pd
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from helpers import every_client_through, make_frame, to_bytes
from test_secrets import ACCESS_KEY, SECRET_KEY, TOKEN, secrets  # noqa: F401 (the fixture)

import dreambolt_magic

if TYPE_CHECKING:
    from conftest import S3Helper

SSE_KEY = b"dreambolt-sse-c-test-key-0123456"
_SSE_SHOWN = (SSE_KEY.decode(), base64.b64encode(SSE_KEY).decode(),
              base64.b64encode(hashlib.md5(SSE_KEY).digest()).decode())


def assert_no_credential(text: str) -> None:
    for secret in (ACCESS_KEY, SECRET_KEY, TOKEN, *_SSE_SHOWN):
        assert secret not in text
    assert not re.search(r"Signature=[0-9a-f]{16}", text)


@pytest.fixture
def crt() -> None:
    """The AWS Common Runtime is there for botocore to use."""
    assert botocore.compat.HAS_CRT, "awscrt is part of the test set: pip install -e '.[dev]'"


# --- the signers' logs ------------------------------------------------------------------------------------

#: Loads ``sys.argv[1]`` from the endpoint ``sys.argv[2]`` (with the SSE-C key ``sys.argv[3]``, if given) with
#: every logger at DEBUG (and the CRT's routed in, if ``sys.argv[4]`` says so); prints the records.
_LOAD = """
import json, logging, sys
import dreambolt_magic

records = []
class Keep(logging.Handler):
    def emit(self, record):
        records.append((record.name, record.getMessage()))
logging.getLogger().addHandler(Keep())
logging.getLogger().setLevel(logging.DEBUG)
if sys.argv[4] == "crt":
    from awscrt.logging import init_logging
    init_logging(logging.DEBUG)
key = {"sse_customer_key": sys.argv[3].encode()} if sys.argv[3] else {}
df = dreambolt_magic.load(sys.argv[1], endpoint_url=sys.argv[2], progress=False, **key)
records.append(("rows", str(len(df))))
print(json.dumps(records))
"""


def load_logged(s3: S3Helper, sse_c: bool, signer: str) -> list[list[str]]:
    """The log records of a load of a small Parquet object in a child whose requests ``signer`` signs."""
    extra = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": SSE_KEY.decode()} if sse_c else {}
    uri = s3.put("secrets", "data.parquet", to_bytes(make_frame(20), "parquet"), **extra)
    # botocore reads BOTO_DISABLE_CRT when it is imported: its own signer, awscrt installed or not.
    env = {"BOTO_DISABLE_CRT": "false" if signer == "crt" else "true"}
    records: list[list[str]] = child.run(_LOAD, uri, s3.endpoint_url, SSE_KEY.decode() if sse_c else "", signer,
                                         env=env)
    assert records[-1] == ["rows", "20"]
    return records


@pytest.mark.parametrize("sse_c", [False, True], ids=["plain", "sse-c"])
def test_the_crt_signer_s_log_shows_no_credentials(crt: None, secrets: S3Helper, sse_c: bool) -> None:  # noqa: F811
    records = load_logged(secrets, sse_c, "crt")

    signing = "\n".join(message for name, message in records if name == "awscrt.auth.AuthSigning")
    # The CRT signed and logged it (so that the test can fail), its secrets blanked.
    assert "canonical request" in signing and "x-amz-security-token:<redacted>" in signing
    assert "Credential=<redacted>" in signing and "Signature=<redacted>" in signing
    assert ("x-amz-server-side-encryption-customer-key:<redacted>" in signing) == sse_c
    assert_no_credential("\n".join(message for _, message in records))


@pytest.mark.parametrize("sse_c", [False, True], ids=["plain", "sse-c"])
def test_botocore_s_own_signer_s_log_shows_no_credentials(secrets: S3Helper, sse_c: bool) -> None:  # noqa: F811
    records = load_logged(secrets, sse_c, "botocore")

    assert not any(name.startswith("awscrt") for name, _ in records)
    signing = "\n".join(message for name, message in records if name == "botocore.auth")
    assert "CanonicalRequest" in signing and "x-amz-security-token:<redacted>" in signing
    assert "Signature:\n<redacted>" in signing
    assert ("x-amz-server-side-encryption-customer-key:<redacted>" in signing) == sse_c
    assert_no_credential("\n".join(message for _, message in records))


# --- Multi-Region Access Points ---------------------------------------------------------------------------

MRAP = "arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap"
MRAP_HOST = "mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com"
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def sigv4a_public_key(access_key: str, secret_key: str) -> ec.EllipticCurvePublicKey:
    """The P-256 key SigV4A derives from a pair of credentials (NIST SP 800-108 counter mode, HMAC-SHA256)."""
    for counter in range(1, 255):
        fixed = (b"\x00\x00\x00\x01AWS4-ECDSA-P256-SHA256\x00" + access_key.encode() + bytes([counter])
                 + (256).to_bytes(4, "big"))
        candidate = int.from_bytes(hmac.new(b"AWS4A" + secret_key.encode(), fixed, hashlib.sha256).digest(), "big")
        if candidate <= _P256_ORDER - 2:
            return ec.derive_private_key(candidate + 1, ec.SECP256R1()).public_key()
    raise AssertionError("no key derived")


def sigv4a_verified(method: str, path: str, headers: dict[str, str], public_key: ec.EllipticCurvePublicKey) -> bool:
    """Whether the request's SigV4A signature is the credentials' signature of what it sent."""
    fields = dict(part.strip().split("=", 1) for part in headers["authorization"].split(" ", 1)[1].split(","))
    signed = fields["SignedHeaders"].split(";")
    url = urlsplit(path)
    canonical = "\n".join([method, url.path, url.query, *(f"{name}:{headers[name].strip()}" for name in signed),
                           "", fields["SignedHeaders"], headers["x-amz-content-sha256"]])
    scope = fields["Credential"].split("/", 1)[1]
    to_sign = "\n".join(["AWS4-ECDSA-P256-SHA256", headers["x-amz-date"], scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    try:
        public_key.verify(bytes.fromhex(fields["Signature"]), to_sign.encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


class AccessPointServer(ThreadingHTTPServer):
    """A forward proxy on 127.0.0.1 that answers, like S3, for one object at the access point's host; it records
    every request (method, URL, lower-cased headers) and refuses any other host."""

    def __init__(self, key: str, body: bytes) -> None:
        self.objects = {f"/{key}": body}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        super().__init__(("127.0.0.1", 0), _Answer)


class _Answer(BaseHTTPRequestHandler):
    server: AccessPointServer

    def do_HEAD(self) -> None:
        self.answer(send_body=False)

    def do_GET(self) -> None:
        self.answer(send_body=True)

    def answer(self, send_body: bool) -> None:
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.server.requests.append((self.command, self.path, headers))
        url = urlsplit(self.path)
        body = self.server.objects.get(url.path) if url.netloc == MRAP_HOST else None
        if body is None:
            self.send_response(404 if url.netloc == MRAP_HOST else 403)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        status, start, end = 200, 0, len(body) - 1
        if match := re.fullmatch(r"bytes=(\d*)-(\d*)", headers.get("range", "")):
            first, last = match.groups()
            start, end = (len(body) - int(last), end) if not first else (int(first), min(end, int(last or end)))
            status = 206
        self.send_response(status)
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("ETag", '"0123456789abcdef"')
        self.send_header("Last-Modified", "Wed, 01 Jan 2026 00:00:00 GMT")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(body)}")
        self.end_headers()
        if send_body:
            self.wfile.write(body[start:end + 1])

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def access_point(monkeypatch: pytest.MonkeyPatch) -> Iterator[AccessPointServer]:
    """A local stand-in for the Multi-Region Access Point :data:`MRAP`, holding ``dir/data.parquet``.

    botocore resolves the ARN to ``https://<alias>.accesspoint.s3-global.amazonaws.com``; every client made from
    here on sends over plain HTTP (``use_ssl=False``: botocore keeps the host and drops only the TLS) through
    the server as its proxy, so the request goes to 127.0.0.1 with that host in its URL and nothing is
    resolved. Were the proxy ignored, the suite's loopback guard would fail the lookup of the host.
    """
    server = AccessPointServer("dir/data.parquet", to_bytes(make_frame(30, seed=3), "parquet"))
    with every_client_through(server, monkeypatch):
        yield server


def test_a_multi_region_access_point_is_read_with_sigv4a(crt: None, secrets: S3Helper,  # noqa: F811
                                                         access_point: AccessPointServer) -> None:
    loaded = dreambolt_magic.load(f"s3://{MRAP}/dir/data.parquet", progress=False)  # AWS: no endpoint_url

    pd.testing.assert_frame_equal(loaded, make_frame(30, seed=3))
    assert access_point.requests
    key = sigv4a_public_key(ACCESS_KEY, SECRET_KEY)
    for method, url, headers in access_point.requests:
        assert url.startswith(f"http://{MRAP_HOST}/dir/data.parquet")
        # SigV4A: ECDSA over a scope with no region, valid in the regions the header names (all of them).
        assert headers["authorization"].startswith(f"AWS4-ECDSA-P256-SHA256 Credential={ACCESS_KEY}/")
        assert "/s3/aws4_request, SignedHeaders=" in headers["authorization"]
        assert headers["x-amz-region-set"] == "*" and headers["x-amz-security-token"] == TOKEN
        assert "x-amz-region-set" in headers["authorization"].split("SignedHeaders=")[1].split(",")[0]
        assert sigv4a_verified(method, url, headers, key)


#: Loads ``sys.argv[1]`` from AWS; prints the error's code and reason and every name lookup and connection the
#: load attempted.
_REFUSED = """
import json, socket, sys
import botocore.compat
import dreambolt_magic

attempts = []
lookup, connect = socket.getaddrinfo, socket.socket.connect
def spy_lookup(host, *args, **kwargs):
    attempts.append(["resolve", str(host)])
    return lookup(host, *args, **kwargs)
def spy_connect(self, address):
    attempts.append(["connect", str(address)])
    return connect(self, address)
socket.getaddrinfo, socket.socket.connect = spy_lookup, spy_connect
try:
    dreambolt_magic.load(sys.argv[1], progress=False)
    outcome = {"code": None}
except dreambolt_magic.S3Error as error:
    outcome = {"code": error.code, "reason": error.hints.get("reason"), "bucket": error.bucket}
print(json.dumps({**outcome, "has_crt": botocore.compat.HAS_CRT, "attempts": attempts}))
"""


@pytest.mark.parametrize(("hide", "env", "reason"), [
    pytest.param(("awscrt",), {}, "it is not installed", id="not-installed"),
    pytest.param((), {"BOTO_DISABLE_CRT": "true"}, "botocore does not use it", id="disabled"),
])
@pytest.mark.parametrize("key", ["dir/data.csv", "dir/"], ids=["object", "prefix"])
def test_without_the_crt_a_multi_region_access_point_is_refused_before_any_request(
        crt: None, s3: S3Helper, hide: tuple[str, ...], env: dict[str, str], reason: str, key: str) -> None:
    outcome = child.run(_REFUSED, f"s3://{MRAP}/{key}", env=env, hide=hide)

    assert outcome["has_crt"] is False
    assert outcome["code"] == "NeedsCRT" and outcome["bucket"] == MRAP
    assert outcome["reason"].startswith(reason)
    assert outcome["attempts"] == []
