"""The panel's speed floor (``min_speed``, from ``%config S3IngestMagics.min_speed``): its load of a body that
trickles is broken off and ends in the TooSlow explanation; browsing is not given the setting. The floor's
window is 1 s here (``pace.WINDOW``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from faults.proxy import Fault, FaultProxy, Trickle
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from dreambolt_magic.notebook.panel import S3Panel
from dreambolt_magic.transfer import pace

from .conftest import BUCKET

if TYPE_CHECKING:
    from collections.abc import Callable


def test_the_panel_s_load_breaks_a_trickle_off(
    make_panel: Callable[..., S3Panel], bucket: str, ns: dict[str, Any], proxy: FaultProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pace, "WINDOW", 1.0)
    panel = make_panel(endpoint_url=proxy.endpoint_url, min_speed=20_000, max_attempts=1)
    panel.refresh_buckets()  # browsing works with the setting
    assert panel.bucket.options == (BUCKET,)
    proxy.add(Fault(Trickle(size=100, every=0.05), path="/data/sample.csv", times=None))
    panel.uri.value = f"s3://{BUCKET}/data/sample.csv"
    panel.variable.value = "slow"
    panel.load_button.click()
    assert panel.wait(30)

    assert "slow" not in ns
    shown = "".join(o["data"].get("text/plain", "") for o in panel.output.outputs if o["output_type"] == "display_data")
    assert "TooSlow" in panel.status.value and "too slowly" in shown


def test_the_magic_gives_the_panel_the_configured_floor(ip: InteractiveShell, bucket: str) -> None:
    ip.run_line_magic("config", "S3IngestMagics.min_speed = 123")
    with capture_output() as cap:
        ip.run_line_magic("s3ingest_panel", "")
    from ipywidgets.widgets.widget import _instances

    panel = _instances[cap.outputs[0].data["application/vnd.jupyter.widget-view+json"]["model_id"]]
    try:
        assert isinstance(panel, S3Panel)
        assert panel.loader_options["min_speed"] == 123
    finally:
        panel.close()
