"""A ``user:password@`` in an endpoint URL: the load works (botocore never sends it: S3 requests are signed,
not sent with HTTP basic auth) and the password shows nowhere: not in ``df.attrs``, errors, their HTML and
the remedy's ``aws s3 ls --endpoint-url`` command, pickles, tracebacks or botocore's and urllib3's DEBUG logs.
"""

from __future__ import annotations

import logging
import pickle
from typing import TYPE_CHECKING

import pytest
from helpers import make_frame, renderings, to_bytes

import dreambolt_magic as dm
from dreambolt_magic.client.redaction import redact
from dreambolt_magic.uri import public_endpoint

if TYPE_CHECKING:
    from conftest import S3Helper
    from faults.proxy import FaultProxy

PASSWORD = "Hunter2EndpointPasswordNeverShowMe"
USER = "minioadmin"


def with_user_info(url: str) -> str:
    return url.replace("http://", f"http://{USER}:{PASSWORD}@", 1)


@pytest.fixture
def objects(s3: S3Helper) -> S3Helper:
    s3.make_bucket("userinfo")
    s3.put("userinfo", "dir/data.csv", to_bytes(make_frame(20), "csv"))
    return s3


def assert_clean(name: str, text: str) -> None:
    assert PASSWORD not in text, f"the password shows in the {name}"
    assert f"{USER}:" not in text, f"the user info shows in the {name}"


def test_a_load_through_an_endpoint_with_user_info_works_and_keeps_none(
    objects: S3Helper, proxy: FaultProxy, caplog: pytest.LogCaptureFixture
) -> None:
    endpoint = with_user_info(proxy.endpoint_url)
    with caplog.at_level(logging.DEBUG):
        df = dm.load("s3://userinfo/dir/data.csv", endpoint_url=endpoint, progress=False)
    assert len(df) == 20
    assert df.attrs["s3"]["endpoint"] == proxy.endpoint_url
    # The requests went to the endpoint, as they would without the user info.
    assert [(r.method, r.status) for r in proxy.requests][-1] == ("GET", 200)
    assert proxy.endpoint_url.removeprefix("http://") in caplog.text  # botocore logged the endpoint...
    assert_clean("logs", caplog.text)  # ...and no user info
    assert_clean("attrs", repr(df.attrs))


def test_an_error_through_an_endpoint_with_user_info_shows_none(
    objects: S3Helper, caplog: pytest.LogCaptureFixture
) -> None:
    endpoint = with_user_info(objects.endpoint_url)
    with caplog.at_level(logging.DEBUG), pytest.raises(dm.S3NotFound) as info:
        dm.load("s3://userinfo/dir/missing.csv", endpoint_url=endpoint, progress=False)
    err = info.value
    assert err.endpoint == objects.endpoint_url
    assert f"--endpoint-url {objects.endpoint_url}" in err.remedy  # the command is there, without the password
    for name, text in {
        "logs": caplog.text,
        **renderings(err),
        "unpickled endpoint": str(pickle.loads(pickle.dumps(err)).endpoint),
    }.items():
        assert_clean(name, text)


def test_an_endpoint_with_user_info_from_the_environment_shows_none(
    objects: S3Helper, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", with_user_info(objects.endpoint_url))
    with caplog.at_level(logging.DEBUG):
        df = dm.load("s3://userinfo/dir/data.csv", progress=False)
    assert df.attrs["s3"]["endpoint"] == objects.endpoint_url
    assert_clean("logs", caplog.text)
    with pytest.raises(dm.S3NotFound) as info:
        dm.load("s3://userinfo/dir/missing.csv", progress=False)
    assert info.value.endpoint == objects.endpoint_url
    assert_clean("HTML", info.value._repr_html_())


def test_an_error_made_with_user_info_in_its_endpoint_keeps_none() -> None:
    err = dm.S3NotFound(bucket="b", key="k", endpoint="http://u:pw@127.0.0.1:9000")
    assert err.endpoint == "http://127.0.0.1:9000"
    err.endpoint = "https://u:pw@store.example:9000/"  # as a load fills in its context
    assert err.endpoint == "https://store.example:9000/"
    assert "pw" not in repr(pickle.dumps(err))


@pytest.mark.parametrize(
    ("url", "public"),
    [
        ("http://user:pw@127.0.0.1:9000", "http://127.0.0.1:9000"),
        ("https://user@store.example", "https://store.example"),
        ("http://user:p@ss@[::1]:9000/", "http://[::1]:9000/"),  # up to the last "@" before the path
        ("http://:pw@127.0.0.1", "http://127.0.0.1"),
        ("http://127.0.0.1:9000/path@not-user-info", "http://127.0.0.1:9000/path@not-user-info"),
        ("http://127.0.0.1:9000", "http://127.0.0.1:9000"),
        ("", ""),
        (None, None),
    ],
)
def test_public_endpoint_drops_only_the_user_info(url: str | None, public: str | None) -> None:
    assert public_endpoint(url) == public


def test_redact_removes_user_info_from_a_logged_url() -> None:
    line = f"Endpoint provider result: http://{USER}:{PASSWORD}@127.0.0.1:9000/bkt, 'url': 'https://a:b@h/k'"
    assert redact(line) == ("Endpoint provider result: http://<redacted>@127.0.0.1:9000/bkt, "
                            "'url': 'https://<redacted>@h/k'")
