"""The panel on a Requester Pays bucket: its checkbox makes every request it sends (bucket list, listing,
peek, load) say that the requester pays, and the equivalent cell carries ``--requester-pays``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
from faults.proxy import FaultProxy
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from dreambolt_magic.notebook.panel import S3Panel

from .conftest import BUCKET

if TYPE_CHECKING:
    from collections.abc import Callable

PARQUET = f"s3://{BUCKET}/data/sample.parquet"


def test_the_panel_pays_for_every_request_when_asked(
    make_panel: Callable[..., S3Panel], bucket: str, source: pd.DataFrame, ns: dict[str, Any], proxy: FaultProxy
) -> None:
    panel = make_panel(endpoint_url=proxy.endpoint_url)
    assert panel.requester_pays.value is False
    panel.requester_pays.value = True
    panel.refresh_buckets()
    assert panel.bucket.options == (BUCKET,)
    panel.go_to(BUCKET, "data/")
    panel.uri.value = PARQUET  # peeks at the columns
    assert "city" in panel.columns.options
    panel.variable.value = "paid"
    panel.load_button.click()
    assert panel.wait(30)

    pd.testing.assert_frame_equal(ns["paid"], source)
    assert [(r.method, r.path) for r in proxy.requests if r.request_payer != "requester"] == []
    assert "--requester-pays" in panel.cell.value


def test_the_magic_sets_the_panel_up_from_the_config(ip: InteractiveShell, bucket: str) -> None:
    ip.run_line_magic("config", "S3IngestMagics.requester_pays = True")
    with capture_output() as cap:
        ip.run_line_magic("s3ingest_panel", "")
    from ipywidgets.widgets.widget import _instances

    panel = _instances[cap.outputs[0].data["application/vnd.jupyter.widget-view+json"]["model_id"]]
    try:
        assert isinstance(panel, S3Panel)
        assert panel.requester_pays.value is True
        assert panel.settings()["requester_pays"] is True
    finally:
        panel.close()
