"""Tab completion of the other forms of URI the loader reads, over HTTP against moto: an access point's ARN
(``s3://arn:aws:s3:REGION:ACCOUNT:accesspoint/NAME/`` completes its keys, listed through the access point) and
S3 https:// URLs, virtual-hosted and path-style, whose keys (and, path-style, buckets) complete in the URL's own
form. A URL whose host is no S3 endpoint the listings may go to (a web page, another store) is never sent a
request: only AWS's S3 hosts and the endpoint the magic reads from are listed.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
from helpers import every_client_through
from IPython.core.interactiveshell import InteractiveShell
from test_completion import BODY, buckets, completions, configure  # noqa: F401 (the fixture)

AP = "arn:aws:s3:us-west-2:123456789012:accesspoint/my-ap"
#: Where botocore sends the access point's requests.
AP_HOST = "my-ap-123456789012.s3-accesspoint.us-west-2.amazonaws.com"
AP_BUCKET = "behind-my-ap"


def urls(ip: InteractiveShell, text: str) -> list[str]:
    """The texts of the buckets, folders and objects offered at the end of ``text`` (other matchers offer other
    things: a word of the ARN, say)."""
    return [c.text for c in completions(ip, text) if c.type in ("bucket", "folder", "object")]


class AccessPointHost(ThreadingHTTPServer):
    """A forward proxy on 127.0.0.1 in place of the access point's host: what botocore asks of :data:`AP_HOST`
    goes on to moto as a request for bucket :data:`AP_BUCKET` (path-style), and the answer comes back as is.
    Every URL asked for is recorded; another host is refused (403)."""

    def __init__(self, moto: str) -> None:
        self.moto = moto
        self.seen: list[str] = []
        super().__init__(("127.0.0.1", 0), _Forward)


class _Forward(BaseHTTPRequestHandler):
    server: AccessPointHost

    def do_GET(self) -> None:
        self.server.seen.append(self.path)
        url = urlsplit(self.path)
        if url.netloc != AP_HOST:
            self.send_response(403)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        request = urllib.request.Request(f"{self.server.moto}/{AP_BUCKET}{url.path}?{url.query}")
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                status, body, kind = answer.status, answer.read(), answer.headers.get("Content-Type", "")
        except urllib.error.HTTPError as refused:
            status, body, kind = refused.code, refused.read(), refused.headers.get("Content-Type", "")
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def access_point(s3: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[AccessPointHost]:
    """Keys behind the access point :data:`AP`, reached on AWS (no endpoint URL) through :class:`AccessPointHost`.

    Every client made from here on goes through it as its proxy (:func:`helpers.every_client_through`), as
    tests/integration/test_crt.py's do for a Multi-Region Access Point.
    """
    s3.make_bucket(AP_BUCKET)
    for key in ("sales/2024/jan.csv", "sales/2024/feb.csv", "readme.txt"):
        s3.put(AP_BUCKET, key, BODY)
    server = AccessPointHost(s3.endpoint_url)
    with every_client_through(server, monkeypatch):
        yield server


def test_an_access_points_keys_complete_after_its_arn(ip: InteractiveShell, access_point: AccessPointHost) -> None:
    configure(ip, "endpoint_url", None)  # AWS: an ARN names where it is
    assert urls(ip, f"%s3ingest s3://{AP}/") == [f"s3://{AP}/sales/", f"s3://{AP}/readme.txt"]
    assert urls(ip, f"%%s3ingest df\ns3://{AP}/sales/2024/j") == [f"s3://{AP}/sales/2024/jan.csv"]
    assert urls(ip, f'dm.load("s3://{AP}/sales/') == [f"s3://{AP}/sales/2024/"]
    # Listed through the access point's own host, never a bucket named after a piece of the ARN.
    assert access_point.seen and all(urlsplit(url).netloc == AP_HOST for url in access_point.seen)


def test_an_arn_completes_nothing_until_it_is_whole(ip: InteractiveShell, access_point: AccessPointHost) -> None:
    configure(ip, "endpoint_url", None)
    for text in ("s3://arn:aws:s3:us-west-2:1234", f"s3://{AP}", f"s3://{AP[:-1]}"):
        assert urls(ip, f"%s3ingest {text}") == []
    assert access_point.seen == []


def test_an_arn_with_an_endpoint_url_is_never_listed(ip: InteractiveShell, buckets: None, proxy: Any) -> None:  # noqa: F811
    configure(ip, "endpoint_url", proxy.endpoint_url)  # a store has no access points: the loader refuses it too
    assert urls(ip, f"%s3ingest s3://{AP}/") == []
    assert proxy.requests == []


@pytest.mark.parametrize("host", ["alpha.s3.us-east-1.amazonaws.com", "alpha.s3.amazonaws.com"])
def test_a_virtual_hosted_urls_keys_complete(ip: InteractiveShell, buckets: None, host: str) -> None:  # noqa: F811
    # The endpoint the magic reads from (moto here) serves an AWS URL's bucket, as it does when it loads.
    assert urls(ip, f"%s3ingest https://{host}/") == [f"https://{host}/sales/", f"https://{host}/readme.txt",
                                                     f"https://{host}/sales.csv"]
    assert urls(ip, f"df = dm.load('https://{host}/sales/2024/f") == [f"https://{host}/sales/2024/feb.csv"]


def test_a_path_style_urls_buckets_and_keys_complete(ip: InteractiveShell, buckets: None, s3: Any) -> None:  # noqa: F811
    base = "https://s3.us-east-1.amazonaws.com"
    assert urls(ip, f"%s3ingest {base}/al") == [f"{base}/alpha/"]
    assert urls(ip, f"%s3ingest {base}/alpha/sales/") == [f"{base}/alpha/sales/2023/", f"{base}/alpha/sales/2024/"]
    # The endpoint's own URL, path-style, as an S3-compatible store's objects are written.
    store = s3.endpoint_url
    assert urls(ip, f"%%s3ingest df\n{store}/alpha/sales/2023/") == [f"{store}/alpha/sales/2023/dec.csv"]


def test_a_key_that_needs_escaping_completes_escaped(ip: InteractiveShell, s3: Any) -> None:
    s3.make_bucket("gamma")
    s3.put("gamma", "my data/year=2024/a b.csv", BODY)
    base = "https://gamma.s3.amazonaws.com"
    assert urls(ip, f"%s3ingest {base}/my") == [f"{base}/my%20data/"]
    assert urls(ip, f"%s3ingest {base}/my%20data/year=2024/") == [f"{base}/my%20data/year=2024/a%20b.csv"]


def test_a_url_of_another_host_is_never_sent_a_request(ip: InteractiveShell, buckets: None, proxy: Any) -> None:  # noqa: F811
    configure(ip, "endpoint_url", proxy.endpoint_url)
    other = f"http://127.0.0.1:{urlsplit(proxy.endpoint_url).port + 1}"
    for text in ('requests.get("https://example.com/alpha/', f"%s3ingest {other}/alpha/",
                 'x = "https://user:pw@alpha.s3.amazonaws.com/', "%s3ingest https://alpha.s3.amazonaws.com/a?versionId="):
        assert urls(ip, text) == []
    assert proxy.requests == []
    # The endpoint's own URL is listed, through it.
    assert urls(ip, f"%s3ingest {proxy.endpoint_url}/alpha/sales/2023/") == [
        f"{proxy.endpoint_url}/alpha/sales/2023/dec.csv"]
