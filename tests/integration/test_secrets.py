"""Credentials never show: not in botocore's DEBUG logs, errors, HTML or df.attrs."""

from __future__ import annotations

import logging

import pytest
from helpers import make_frame, to_bytes

import dreambolt_magic as dm
from dreambolt_magic.client.redaction import redact

ACCESS_KEY = "AKIADREAMBOLTSECRETID"
SECRET_KEY = "s3cr3t/Dreambolt+Key/NeverShowMe0123456789"
TOKEN = "FQoDYXdzEDreamboltSessionTokenNeverShowMe"


@pytest.fixture
def secrets(s3, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    s3.make_bucket("secrets")
    s3.put("secrets", "data.csv", to_bytes(make_frame(20), "csv"))
    return s3


def assert_clean(text: str) -> None:
    for secret in (ACCESS_KEY, SECRET_KEY, TOKEN):
        assert secret not in text


def test_debug_logs_of_a_load_show_no_credentials(secrets, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        df = dm.load("s3://secrets/data.csv", endpoint_url=secrets.endpoint_url, progress=False)
    assert len(df) == 20
    text = caplog.text
    # The logs are there (so the test can fail) and they are clean: the signed request's headers, whichever
    # signer made them (botocore's own also logs its canonical request; the CRT's logs elsewhere: test_crt.py).
    assert "'Authorization': b'<redacted>'" in text and "'X-Amz-Security-Token': b'<redacted>'" in text
    assert "<redacted>" in text
    assert_clean(text)
    assert_clean(repr(df.attrs))


def test_errors_show_no_credentials(secrets, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG), pytest.raises(dm.S3NotFound) as info:
        dm.load("s3://secrets/missing.csv", endpoint_url=secrets.endpoint_url, progress=False)
    err = info.value
    for text in (str(err), repr(err), err._repr_html_(), "\n".join(err._render_traceback_()),
                 err.explanation, err.remedy, repr(vars(err)), caplog.text):
        assert_clean(text)


@pytest.mark.parametrize(
    "line",
    [
        "'Authorization': b'AWS4-HMAC-SHA256 Credential=AKIAX/20260101/us-east-1/s3/aws4_request, "
        "SignedHeaders=host, Signature=abc123'",
        "x-amz-security-token:FQoDYXdzEToken\nhost:127.0.0.1",
        "https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIAX%2F2026&X-Amz-Signature=deadbeef",
        "Signature:\n" + "a" * 64,
    ],
)
def test_redact_removes_each_kind_of_secret(line: str) -> None:
    clean = redact(line)
    assert "<redacted>" in clean
    for secret in ("AKIAX", "abc123", "FQoDYXdzEToken", "deadbeef", "a" * 64):
        assert secret not in clean
    assert redact("nothing secret here") == "nothing secret here"
