"""The magic's flags for real-world buckets, in a real InteractiveShell, against moto over HTTP through a
recording proxy: ``--requester-pays`` (and its ``%config``), ``--skip-archived`` and ``--info`` on archived
objects, ``--sse-c-key-env``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from typing import TYPE_CHECKING, Any

import pytest
from faults.proxy import FaultProxy
from helpers import make_frame, to_bytes
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from dreambolt_magic import S3ArchivedError
from dreambolt_magic.objects.cache import Cache

if TYPE_CHECKING:
    from conftest import S3Helper

BUCKET = "real"


@pytest.fixture
def objects(s3: S3Helper) -> S3Helper:
    s3.make_bucket(BUCKET)
    s3.put(BUCKET, "set/a.csv", to_bytes(make_frame(20), "csv"))
    s3.put(BUCKET, "set/b.parquet", to_bytes(make_frame(30), "parquet"))
    return s3


@pytest.fixture
def via(ip: InteractiveShell, proxy: FaultProxy) -> FaultProxy:
    """The proxy, which the magics now read through (its record starts empty)."""
    ip.run_line_magic("config", f"S3IngestMagics.endpoint_url = {proxy.endpoint_url!r}")
    return proxy


def unpaid(proxy: FaultProxy) -> list[Any]:
    assert proxy.requests
    return [(r.method, r.path) for r in proxy.requests if r.request_payer != "requester"]


def test_requester_pays_flag_pays_for_every_request_of_a_load(
    ip: InteractiveShell, objects: S3Helper, via: FaultProxy
) -> None:
    with capture_output():
        ip.run_cell_magic("s3ingest", "df --requester-pays", f"s3://{BUCKET}/set/")
    assert len(ip.user_ns["df"]) == 50
    assert unpaid(via) == []

    via.clear()
    with capture_output():
        ip.run_cell_magic("s3ingest", "again", f"s3://{BUCKET}/set/a.csv")
    assert all(r.request_payer is None for r in via.requests)  # one load's flag is not the next one's


def test_requester_pays_config_pays_for_loads_and_info(
    ip: InteractiveShell, objects: S3Helper, via: FaultProxy
) -> None:
    ip.run_line_magic("config", "S3IngestMagics.requester_pays = True")
    with capture_output():
        ip.run_cell_magic("s3ingest", "df", f"s3://{BUCKET}/set/b.parquet")
        found = ip.run_line_magic("s3ingest_info", f"s3://{BUCKET}/set/")
    assert len(ip.user_ns["df"]) == 30
    assert len(found.objects) == 2
    assert any(r.range for r in via.requests)  # the footer's ranged GET is among them
    assert unpaid(via) == []


@pytest.fixture
def archive(objects: S3Helper) -> S3Helper:
    objects.put(BUCKET, "set/c-frozen.csv", to_bytes(make_frame(40), "csv"), StorageClass="GLACIER")
    return objects


def test_an_archived_object_in_a_set_refuses_the_cell_with_its_restore_command(
    ip: InteractiveShell, archive: S3Helper, via: FaultProxy
) -> None:
    with capture_output() as cap, pytest.raises(S3ArchivedError) as info:
        ip.run_cell_magic("s3ingest", "df", f"s3://{BUCKET}/set/")
    assert "df" not in ip.user_ns
    shown = "".join(str(o.data.get("text/html", "")) for o in cap.outputs)
    assert "set/c-frozen.csv" in shown and html.escape(info.value.remedy) in shown
    assert "aws s3api restore-object" in info.value.remedy and "--skip-archived" in info.value.remedy
    assert not [r for r in via.requests if r.method == "GET" and r.path.endswith((".csv", ".parquet"))]


def test_skip_archived_binds_the_rest_and_the_summary_says_how_many_were_skipped(
    ip: InteractiveShell, archive: S3Helper, via: FaultProxy
) -> None:
    with capture_output() as cap:
        ip.run_cell_magic("s3ingest", "df --skip-archived", f"s3://{BUCKET}/set/")
    assert len(ip.user_ns["df"]) == 50
    assert ip.user_ns["df"].attrs["s3"]["skipped_archived"] == 1
    assert "1 archived object skipped" in cap.stdout


def test_info_flags_the_archived_objects(ip: InteractiveShell, archive: S3Helper, via: FaultProxy) -> None:
    with capture_output() as cap:
        ip.run_cell_magic("s3ingest", "df --info", f"s3://{BUCKET}/set/")
    shown = "".join(str(o.data.get("text/plain", "")) for o in cap.outputs)
    assert "Archived: 1 object (GLACIER) must be restored before loading" in shown
    assert "c-frozen.csv" in shown and "archived (GLACIER)" in shown
    assert "df" not in ip.user_ns


KEY = b"dreambolt-sse-c-test-key-0123456"
KEY_B64 = base64.b64encode(KEY).decode()
SENT = ("AES256", base64.b64encode(hashlib.md5(KEY).digest()).decode())


@pytest.fixture
def key_env(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DREAMBOLT_TEST_SSE_KEY", KEY_B64)
    return "DREAMBOLT_TEST_SSE_KEY"


def test_sse_c_key_env_sends_the_key_on_every_object_request_and_keeps_it_nowhere(
    ip: InteractiveShell, objects: S3Helper, via: FaultProxy, key_env: str, tmp_path: Any
) -> None:
    # Cached by the config, but an SSE-C load is not: the cache would keep the decrypted bytes.
    cache = tmp_path / "cache"
    ip.run_line_magic("config", f"S3IngestMagics.cache_dir = {str(cache)!r}")
    ip.run_line_magic("config", "S3IngestMagics.cache = True")
    result = ip.run_cell(f"%%s3ingest df --sse-c-key-env {key_env}\ns3://{BUCKET}/set/")
    assert result.success, result.error_in_exec
    with capture_output():
        found = ip.run_line_magic("s3ingest_info", f"s3://{BUCKET}/set/b.parquet --sse-c-key-env {key_env}")
    assert len(ip.user_ns["df"]) == 50 and found.objects[0].rows == 30
    on_objects = [r for r in via.requests if "/set/" in r.path]
    assert {r.method for r in on_objects} == {"HEAD", "GET"}
    assert {r.customer_key for r in on_objects} == {SENT}
    assert Cache(cache).entries() == []  # nothing was cached
    history = "\n".join(ip.history_manager.input_hist_raw)
    for text in (history, repr(ip.user_ns["df"].attrs), repr(ip.user_ns.get("_", ""))):
        assert KEY_B64 not in text and KEY.decode() not in text


@pytest.mark.parametrize(("value", "complaint"), [
    (None, "is not set"),
    ("not-a-key", "holds neither the base64 of a 32-byte key nor 32 characters (it holds 9 characters)"),
])
def test_a_missing_or_malformed_key_is_a_usage_error_that_does_not_show_it(
    ip: InteractiveShell, objects: S3Helper, via: FaultProxy, monkeypatch: pytest.MonkeyPatch, value: str | None,
    complaint: str,
) -> None:
    if value is None:
        monkeypatch.delenv("DREAMBOLT_TEST_SSE_KEY", raising=False)
    else:
        monkeypatch.setenv("DREAMBOLT_TEST_SSE_KEY", value)
    with pytest.raises(UsageError, match=re.escape(complaint)) as info:
        ip.run_cell_magic("s3ingest", "df --sse-c-key-env DREAMBOLT_TEST_SSE_KEY", f"s3://{BUCKET}/set/a.csv")
    assert type(info.value) is UsageError and (value is None or value not in str(info.value))
    assert via.requests == []


def test_an_sse_c_key_refuses_cache_and_dask(
    ip: InteractiveShell, objects: S3Helper, via: FaultProxy, key_env: str
) -> None:
    for flag in ("--cache", "--engine dask"):
        with pytest.raises(UsageError, match="does not go with"):
            ip.run_cell_magic("s3ingest", f"df {flag} --sse-c-key-env {key_env}", f"s3://{BUCKET}/set/a.csv")
    assert via.requests == []


def test_a_key_of_32_characters_is_taken_as_it_is(
    ip: InteractiveShell, objects: S3Helper, via: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DREAMBOLT_TEST_SSE_KEY", KEY.decode())
    with capture_output():
        ip.run_cell_magic("s3ingest", "df --sse-c-key-env DREAMBOLT_TEST_SSE_KEY", f"s3://{BUCKET}/set/a.csv")
    assert len(ip.user_ns["df"]) == 20
    assert {r.customer_key for r in via.requests if "/set/" in r.path} == {SENT}
