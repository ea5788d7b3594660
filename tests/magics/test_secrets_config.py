"""An endpoint typed with a ``user:password@`` into ``%config S3IngestMagics.endpoint_url``: the magics load
through it (botocore never sends the user info: requests are signed), and the password shows in nothing the
notebook shows or keeps: the setting read back and ``%config``'s listing, the summary line, ``df.attrs``,
``%s3ingest_info``, an error's explanation (text and HTML) and the panel's Endpoint box and cell.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from helpers import make_frame, renderings, to_bytes
from IPython.utils.capture import capture_output

from dreambolt_magic import S3NotFound

if TYPE_CHECKING:
    from conftest import S3Helper
    from IPython.core.interactiveshell import InteractiveShell

PASSWORD = "Hunter2ConfigPasswordNeverShowMe"
BUCKET = "userinfo"


@pytest.fixture
def configured(ip: InteractiveShell, s3: S3Helper) -> str:
    """``%config`` holds moto's endpoint with a user and password in it; returns the endpoint as typed."""
    s3.make_bucket(BUCKET)
    s3.put(BUCKET, "data.csv", to_bytes(make_frame(12), "csv"))
    typed = s3.endpoint_url.replace("http://", f"http://minio:{PASSWORD}@", 1)
    ip.run_line_magic("config", f"S3IngestMagics.endpoint_url = {typed!r}")
    return typed


def _shown(cap: Any) -> str:
    return cap.stdout + cap.stderr + "".join(repr(output.data) for output in cap.outputs)


def test_the_setting_and_its_listing_keep_no_password(ip: InteractiveShell, s3: S3Helper, configured: str) -> None:
    with capture_output() as cap:
        ip.run_line_magic("config", "S3IngestMagics")
    assert "endpoint_url" in cap.stdout and PASSWORD not in _shown(cap)
    assert ip.magics_manager.registry["S3IngestMagics"].endpoint_url == s3.endpoint_url


def test_a_load_and_its_summary_keep_no_password(ip: InteractiveShell, s3: S3Helper, configured: str) -> None:
    with capture_output() as cap:
        ip.run_cell_magic("s3ingest", "df", f"s3://{BUCKET}/data.csv")
    df = ip.user_ns["df"]
    assert len(df) == 12 and df.attrs["s3"]["endpoint"] == s3.endpoint_url
    assert "12 rows" in cap.stdout
    for name, text in {"output": _shown(cap), "attrs": repr(df.attrs)}.items():
        assert PASSWORD not in text, name
    info = ip.run_line_magic("s3ingest_info", f"s3://{BUCKET}/data.csv")
    shown = repr(info) + info._repr_html_()
    assert "data.csv" in shown and PASSWORD not in shown


def test_an_error_keeps_no_password(ip: InteractiveShell, s3: S3Helper, configured: str) -> None:
    with capture_output() as cap, pytest.raises(S3NotFound) as caught:
        ip.run_cell_magic("s3ingest", "df", f"s3://{BUCKET}/missing.csv")
    assert f"--endpoint-url {s3.endpoint_url}" in caught.value.remedy
    for name, text in {"output": _shown(cap), **renderings(caught.value)}.items():
        assert PASSWORD not in text, name


def test_the_panel_keeps_no_password(ip: InteractiveShell, s3: S3Helper, configured: str) -> None:
    from ipywidgets.widgets.widget import _instances

    with capture_output() as cap:
        ip.run_line_magic("s3ingest_panel", "")
    panel = _instances[cap.outputs[0].data["application/vnd.jupyter.widget-view+json"]["model_id"]]
    try:
        assert panel.endpoint.value == s3.endpoint_url
        assert panel.bucket.options == (BUCKET,)  # it lists through the endpoint
        panel.uri.value = f"s3://{BUCKET}/data.csv"
        assert PASSWORD not in panel.cell.value
    finally:
        panel.close()
