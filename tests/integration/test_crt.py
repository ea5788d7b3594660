"""The loader with the AWS Common Runtime (awscrt, which ``pip install 'botocore[crt]'`` brings, and the test
set installs) and without it.

With awscrt botocore signs every request through the CRT, whose signer logs what botocore's own does (the
canonical request with the session token's and an SSE-C key's headers, the string to sign, the Authorization
value) once a user routes the CRT's log into Python's logging: those records must show no credential.
Without awscrt botocore's own signer logs the canonical request, clean too.

Either state of a process is fixed when botocore is imported, and the CRT's log can be set up once, so the
cases this process is not in run in a child process (tests/child.py).
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import TYPE_CHECKING

import botocore.compat
import child
import pytest
from helpers import make_frame, to_bytes
from test_secrets import ACCESS_KEY, SECRET_KEY, TOKEN, secrets  # noqa: F401 (the fixture)

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
