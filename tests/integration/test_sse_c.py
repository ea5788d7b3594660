"""SSE-C (a customer-provided key) over HTTP: the key is sent on every HEAD and GET of the object, and it
never shows: not in botocore's DEBUG logs, errors, df.attrs or any repr.

moto accepts the SSE-C headers and ignores them (it stores objects unencrypted), so the recording proxy is
the evidence that the key was sent: it keeps each request's algorithm and key MD5 (never the key).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import logging
import pickle
from typing import TYPE_CHECKING

import pandas as pd
import pytest
from faults.proxy import FaultProxy
from helpers import make_frame, to_bytes

import dreambolt_magic
from dreambolt_magic import S3NotFound
from dreambolt_magic.datasets import browse, preview
from dreambolt_magic.options import CustomerKey, LoadOptions
from dreambolt_magic.transfer import ranged as ranged_reads

if TYPE_CHECKING:
    from pathlib import Path

    from conftest import S3Helper

BUCKET = "locked"
KEY = b"dreambolt-sse-c-test-key-0123456"
#: What the key is sent as, and its MD5 as S3 takes it.
KEY_B64 = base64.b64encode(KEY).decode()
KEY_MD5 = base64.b64encode(hashlib.md5(KEY).digest()).decode()
SENT = ("AES256", KEY_MD5)


@pytest.fixture
def frame() -> pd.DataFrame:
    return make_frame(60_000, seed=7)  # about 1.3 MB of CSV: several parts of 256 KiB


@pytest.fixture
def objects(s3: S3Helper, frame: pd.DataFrame) -> S3Helper:
    s3.make_bucket(BUCKET)
    s3.put(BUCKET, "set/big.csv", to_bytes(frame, "csv"))
    s3.put(BUCKET, "set/small.parquet", to_bytes(frame.head(100), "parquet"))
    return s3


def assert_never_shown(*texts: str) -> None:
    for text in texts:
        for secret in (KEY.decode(), KEY_B64, KEY_MD5, repr(KEY)):
            assert secret not in text


def test_the_key_is_sent_on_every_get_of_a_load_ranged_parts_included(
    objects: S3Helper, proxy: FaultProxy, frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ranged_reads, "FAST_STREAM", None)  # ranged parts beside the main stream
    df = dreambolt_magic.load(f"s3://{BUCKET}/set/", endpoint_url=proxy.endpoint_url, sse_customer_key=KEY,
                              part_size=256 * 1024, max_concurrency=4, progress=False)

    assert len(df) == len(frame) + 100
    gets = [r for r in proxy.requests if r.method == "GET" and "/set/" in r.path]
    assert any(r.range for r in gets) and any(not r.range for r in gets)
    assert {r.customer_key for r in gets} == {SENT}
    # The listing and the region lookup name no object: they do not carry it.
    assert all(r.customer_key is None for r in proxy.requests if "/set/" not in r.path)
    assert_never_shown(repr(df.attrs))

    proxy.clear()  # the next load, without a key, sends none (a kept connection holds no key)
    dreambolt_magic.load(f"s3://{BUCKET}/set/small.parquet", endpoint_url=proxy.endpoint_url, progress=False)
    assert proxy.requests and all(r.customer_key is None for r in proxy.requests)


def test_the_key_is_sent_on_the_heads_and_gets_of_info_and_peeks(objects: S3Helper, proxy: FaultProxy) -> None:
    # A URI named alone is not listed: its size comes from a HEAD.
    found = preview.info([f"s3://{BUCKET}/set/small.parquet", f"s3://{BUCKET}/set/big.csv"],
                         endpoint_url=proxy.endpoint_url, sse_customer_key=KEY)
    assert found.objects[0].rows == 100
    names = browse.peek_columns(f"s3://{BUCKET}/set/big.csv", endpoint_url=proxy.endpoint_url,
                                sse_customer_key=KEY)
    assert names == list(make_frame(1).columns)

    on_objects = [r for r in proxy.requests if "/set/" in r.path]
    assert {r.method for r in on_objects} == {"HEAD", "GET"}
    assert {r.customer_key for r in on_objects} == {SENT}


def test_the_key_never_shows_in_logs_errors_or_reprs(
    objects: S3Helper, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        df = dreambolt_magic.load(f"s3://{BUCKET}/set/small.parquet", endpoint_url=objects.endpoint_url,
                                  sse_customer_key=KEY, progress=False)
        with pytest.raises(S3NotFound) as info:
            dreambolt_magic.load(f"s3://{BUCKET}/set/missing.csv", endpoint_url=objects.endpoint_url,
                                 sse_customer_key=KEY, progress=False)
    assert len(df) == 100
    # The logs name the headers (so the test can fail) and hold none of their values.
    assert "x-amz-server-side-encryption-customer-key" in caplog.text and "<redacted>" in caplog.text
    err = info.value
    options = LoadOptions.of(sse_customer_key=KEY)
    assert_never_shown(caplog.text, repr(df.attrs), str(err), repr(err), err._repr_html_(), err.explanation,
                       err.remedy, repr(vars(err)), "\n".join(err._render_traceback_()), repr(options),
                       str(options), repr(options.sse_customer_key))
    assert options.sse_customer_key == CustomerKey(KEY) and copy.deepcopy(options) == options
    with pytest.raises(TypeError, match="not pickled"):
        pickle.dumps(options)


def test_keys_that_cannot_be_used_are_refused_before_any_request(s3: S3Helper, tmp_path: Path) -> None:
    uri = f"s3://{BUCKET}/set/small.parquet"
    with pytest.raises(ValueError, match="32 bytes of an AES-256 key, not 5 bytes") as short:
        dreambolt_magic.load(uri, endpoint_url=s3.endpoint_url, sse_customer_key=b"short")
    assert "short" not in str(short.value)
    with pytest.raises(TypeError, match="must be bytes"):
        dreambolt_magic.load(uri, endpoint_url=s3.endpoint_url, sse_customer_key=KEY.decode())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not cached"):
        dreambolt_magic.load(uri, endpoint_url=s3.endpoint_url, sse_customer_key=KEY, cache=tmp_path)
    pytest.importorskip("dask.dataframe")
    with pytest.raises(ValueError, match="not sent to dask"):
        dreambolt_magic.load(uri, endpoint_url=s3.endpoint_url, sse_customer_key=KEY, engine="dask")


@pytest.mark.parametrize("line", [
    "'x-amz-server-side-encryption-customer-key': 'S2V5S2V5', 'x-amz-server-side-encryption-customer-key-MD5': 'TUQ1'",
    "x-amz-server-side-encryption-customer-key:S2V5S2V5\nx-amz-server-side-encryption-customer-key-md5:TUQ1\nhost:h",
    "{'SSECustomerKey': b\"Ke'yKe\\\\x00y\", 'SSECustomerKeyMD5': 'TUQ1'}",
])
def test_redact_removes_an_sse_c_key_and_its_md5(line: str) -> None:
    from dreambolt_magic.client.redaction import redact

    clean = redact(line)
    assert clean.count("<redacted>") == 2
    for secret in ("S2V5S2V5", "TUQ1", "yKe", "Ke'y"):
        assert secret not in clean
