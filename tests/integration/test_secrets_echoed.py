"""What S3 echoes of the credentials in its error answers never shows.

An ``ExpiredToken`` or ``InvalidToken`` answer carries the session token (``<Token-0>``); a
``SignatureDoesNotMatch`` one the access key id, the string to sign, the canonical request (which holds the
session token's header) and both again as hex bytes. botocore logs the body at DEBUG and keeps the parsed
answer in the ``ClientError`` that is our error's ``__cause__``. The fault proxy gives those answers, as S3
words them, to a load signed with the fake credentials below.
"""

from __future__ import annotations

import logging
import pickle
from typing import TYPE_CHECKING

import pytest
from faults.proxy import Fault, Reply
from helpers import make_frame, renderings, to_bytes

import dreambolt_magic as dm
from dreambolt_magic.client.redaction import redact

if TYPE_CHECKING:
    from conftest import S3Helper
    from faults.proxy import FaultProxy

ACCESS_KEY = "AKIADREAMBOLTECHOEDID"
SECRET_KEY = "echoed/Dreambolt+Secret/NeverShowMe012345"
TOKEN = "FQoGZXIvYXdzEchoedSessionTokenNeverShowMe//+=="
SIGNATURE = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
CANONICAL = (f"GET\n/echo/data.csv\n\nhost:127.0.0.1\nx-amz-security-token:{TOKEN}\n\n"
             "host;x-amz-security-token\nUNSIGNED")
STRING_TO_SIGN = f"AWS4-HMAC-SHA256\n20260101T000000Z\n20260101/us-east-1/s3/aws4_request\n{SIGNATURE[::-1]}"


def _hex(text: str) -> str:
    return " ".join(f"{b:02x}" for b in text.encode())


#: Every form a secret could show in: as is, and as the hex bytes S3 sends it in too.
SECRETS = (ACCESS_KEY, SECRET_KEY, TOKEN, SIGNATURE, SIGNATURE[::-1], _hex(TOKEN)[:47], _hex(ACCESS_KEY)[:47])

ANSWERS = {
    "ExpiredToken": Reply(400, "ExpiredToken", "The provided token has expired.", fields={"Token-0": TOKEN}),
    "InvalidToken": Reply(400, "InvalidToken", "The provided token is malformed or otherwise invalid.",
                          fields={"Token-0": TOKEN}),
    "InvalidAccessKeyId": Reply(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist "
                                "in our records.", fields={"AWSAccessKeyId": ACCESS_KEY}),
    "SignatureDoesNotMatch": Reply(
        403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you "
        "provided. Check your key and signing method.",
        fields={"AWSAccessKeyId": ACCESS_KEY, "StringToSign": STRING_TO_SIGN, "SignatureProvided": SIGNATURE,
                "StringToSignBytes": _hex(STRING_TO_SIGN), "CanonicalRequest": CANONICAL,
                "CanonicalRequestBytes": _hex(CANONICAL)},
    ),
}


@pytest.fixture
def echoed(s3: S3Helper, monkeypatch: pytest.MonkeyPatch) -> S3Helper:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    s3.make_bucket("echo")
    s3.put("echo", "data.csv", to_bytes(make_frame(20), "csv"))
    return s3


def assert_clean(name: str, text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret[:12]}... shows in the {name}"


@pytest.mark.parametrize("code", sorted(ANSWERS))
def test_an_answer_echoing_credentials_shows_them_nowhere(
    echoed: S3Helper, proxy: FaultProxy, caplog: pytest.LogCaptureFixture, code: str
) -> None:
    proxy.add(Fault(ANSWERS[code], times=None))
    with caplog.at_level(logging.DEBUG), pytest.raises(dm.S3AuthError) as info:
        dm.load("s3://echo/data.csv", endpoint_url=proxy.endpoint_url, progress=False)
    err = info.value
    cause = err.__cause__
    assert err.code == code and cause is not None
    # The body was logged (so the test can fail), and what it said that helps is kept.
    assert f"<Code>{code}</Code>" in caplog.text and "<redacted>" in caplog.text
    assert err.detail == ANSWERS[code].message
    assert code in str(cause)
    for name, text in {
        "logs": caplog.text,
        **renderings(err),
        "cause's answer": repr(cause.response),  # type: ignore[attr-defined]
        "cause's pickle": repr(pickle.dumps(cause)),
    }.items():
        assert_clean(name, text)


@pytest.mark.parametrize(
    "line",
    [
        f"b'<Error><Code>ExpiredToken</Code><Token-0>{TOKEN}</Token-0><RequestId>1</RequestId></Error>'",
        f"<Error><CanonicalRequest>{CANONICAL}</CanonicalRequest></Error>",
        f"<CanonicalRequestBytes>{_hex(CANONICAL)}</CanonicalRequestBytes>",
        f"<Error><AWSAccessKeyId>{ACCESS_KEY}</AWSAccessKeyId><StringToSign>{STRING_TO_SIGN}",  # cut short
        f"{{'Error': {{'Code': 'ExpiredToken', 'Token-0': '{TOKEN}', 'AWSAccessKeyId': \"{ACCESS_KEY}\"}}}}",
        f"{{'SignatureProvided': '{SIGNATURE}', 'StringToSignBytes': '{_hex(STRING_TO_SIGN)}'}}",
    ],
)
def test_redact_removes_each_echo(line: str) -> None:
    clean = redact(line)
    assert "<redacted>" in clean
    assert_clean("redacted line", clean)


def test_redact_keeps_the_rest_of_an_error_answer() -> None:
    body = f"<Error><Code>ExpiredToken</Code><Token-0>{TOKEN}</Token-0><RequestId>R1</RequestId></Error>"
    assert redact(body) == ("<Error><Code>ExpiredToken</Code><Token-0><redacted></Token-0>"
                            "<RequestId>R1</RequestId></Error>")
