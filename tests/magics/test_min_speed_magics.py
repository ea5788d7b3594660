"""``--min-speed`` and ``%config S3IngestMagics.min_speed``: the speed floor of a load, through a proxy whose
body trickles (2 kB/s) in front of moto; the floor's window is 1 s here (``pace.WINDOW``), not 30 s."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from faults.proxy import Fault, FaultProxy, Trickle
from helpers import make_frame, to_bytes
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from dreambolt_magic.errors import S3NetworkError
from dreambolt_magic.transfer import pace

if TYPE_CHECKING:
    from conftest import S3Helper

BUCKET = "speed"


@pytest.fixture
def trickled(ip: InteractiveShell, s3: S3Helper, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch) -> str:
    """A 2 kB object whose every body trickles, read through the proxy: its URI."""
    monkeypatch.setattr(pace, "WINDOW", 1.0)
    s3.make_bucket(BUCKET)
    uri = s3.put(BUCKET, "small.csv", to_bytes(make_frame(100, seed=3), "csv"))
    ip.run_line_magic("config", f"S3IngestMagics.endpoint_url = {proxy.endpoint_url!r}")
    proxy.add(Fault(Trickle(size=100, every=0.05), times=None))
    return uri


def test_the_configured_floor_breaks_a_trickle_off_and_the_option_wins(ip: InteractiveShell, trickled: str) -> None:
    ip.run_line_magic("config", "S3IngestMagics.min_speed = 20000")
    with capture_output() as shown, pytest.raises(S3NetworkError) as info:
        ip.run_cell_magic("s3ingest", "df --max-attempts 1", trickled)
    assert info.value.code == "TooSlow"
    assert "--min-speed" in str(shown.outputs[0].data["text/html"])
    assert "df" not in ip.user_ns

    with capture_output():
        ip.run_cell_magic("s3ingest", "df --max-attempts 1 --min-speed 0", trickled)  # no floor: waited for
    assert len(ip.user_ns["df"]) == 100


def test_a_negative_floor_is_refused_before_any_request(ip: InteractiveShell, trickled: str) -> None:
    with pytest.raises(UsageError, match="--min-speed must be 0"):
        ip.run_cell_magic("s3ingest", "df --min-speed -1", trickled)
