"""The magic's flags for real-world buckets, in a real InteractiveShell, against moto over HTTP through a
recording proxy: ``--requester-pays`` (and its ``%config``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from faults.proxy import FaultProxy
from helpers import make_frame, to_bytes
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

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
