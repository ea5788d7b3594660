"""The panel, driven as a person would drive it: set ``.value``, call ``.click()``, wait for the load thread,
then look at the namespace and at the widgets' state. Everything runs against moto over HTTP.
"""

from __future__ import annotations

import json
import re
import time
from typing import TYPE_CHECKING, Any

import ipywidgets
import pandas as pd
import pytest
from faults.proxy import Fault, FaultProxy, Reply
from helpers import make_frame, to_bytes
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

import dreambolt_magic
from dreambolt_magic import api
from dreambolt_magic.datasets import browse
from dreambolt_magic.notebook.panel import S3Panel

from .conftest import BUCKET

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import S3Helper

SENTINEL = object()
PARQUET = f"s3://{BUCKET}/data/sample.parquet"


# --- helpers -------------------------------------------------------------------------------------------


def labels(panel: S3Panel) -> list[str]:
    return [label for label, _ in panel.entries.options]


def choose(panel: S3Panel, name: str) -> None:
    """Click the entry whose label starts with ``name``."""
    for label, value in panel.entries.options:
        if label.startswith(name):
            panel.entries.value = value
            return
    raise AssertionError(f"no entry {name!r} in {labels(panel)}")


def loaded(panel: S3Panel, timeout: float = 30) -> None:
    panel.load_button.click()
    assert panel.wait(timeout), "the load did not finish"


def outputs(panel: S3Panel, kind: str) -> list[dict[str, Any]]:
    return [o for o in panel.output.outputs if o["output_type"] == kind]


def html_shown(panel: S3Panel) -> str:
    return "".join(o["data"].get("text/html", "") for o in outputs(panel, "display_data"))


def all_states(root: ipywidgets.Widget) -> list[dict[str, Any]]:
    """The state of ``root`` and of every widget it refers to (children, layouts, styles), transitively."""
    from ipywidgets.widgets.widget import _instances

    seen: dict[str, dict[str, Any]] = {}
    todo = [root]
    while todo:
        widget = todo.pop()
        if widget.model_id in seen:
            continue
        state = widget.get_state()
        seen[widget.model_id] = state
        for ref in re.findall(r"IPY_MODEL_([0-9a-f]+)", json.dumps(state, default=str)):
            todo.append(_instances[ref])
    return list(seen.values())


# --- browsing ------------------------------------------------------------------------------------------


def test_panel_lists_the_buckets_and_opens_one(s3: S3Helper, bucket: str, ns: dict[str, Any]) -> None:
    s3.make_bucket("another-bucket")
    panel = dreambolt_magic.panel(endpoint_url=s3.endpoint_url, namespace=ns)
    try:
        assert isinstance(panel, S3Panel)
        assert panel.bucket.options == ("another-bucket", BUCKET)
        assert "2 buckets" in panel.browse_status.value
        panel.bucket.value = BUCKET
        assert labels(panel)[0] == "data/"
        (top,) = labels(panel)[1:]
        assert re.fullmatch(r"top\.csv · 8 B · \d{4}-\d\d-\d\d \d\d:\d\d UTC", top)
        assert panel.up_button.disabled
    finally:
        panel.close()


def test_folders_come_first_then_up_and_breadcrumbs_go_back(
    make_panel: Callable[..., S3Panel], s3: S3Helper, bucket: str
) -> None:
    s3.put(BUCKET, "data/2024/jan.csv", b"a\n1\n")
    s3.put(BUCKET, "data/zzz/late.csv", b"a\n1\n")
    panel = make_panel()
    panel.bucket.value = BUCKET
    choose(panel, "data/")
    assert labels(panel)[:2] == ["2024/", "zzz/"]
    assert [label.split(" · ")[0] for label in labels(panel)[2:]] == [
        "sample.csv", "sample.csv.gz", "sample.parquet"]
    assert [b.description for b in panel.breadcrumbs.children] == [BUCKET, "data/"]
    choose(panel, "2024/")
    assert labels(panel) == [label for label in labels(panel) if "jan.csv" in label]
    assert [b.description for b in panel.breadcrumbs.children] == [BUCKET, "data/", "2024/"]
    panel.up_button.click()
    assert labels(panel)[0] == "2024/"
    panel.breadcrumbs.children[0].click()
    assert labels(panel)[0] == "data/"
    assert panel.up_button.disabled


def test_a_large_folder_arrives_a_page_at_a_time(make_panel: Callable[..., S3Panel], s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)
    for i in range(45):
        s3.put(BUCKET, f"logs/{i:03d}.csv", b"a\n1\n")
    s3.put(BUCKET, "logs/zz-archive/old.csv", b"a\n1\n")  # listed on the last page, shown first
    panel = make_panel(page_size=20)
    panel.go_to(BUCKET, "logs/")
    assert len(labels(panel)) == 20
    assert not panel.more_button.disabled
    panel.more_button.click()
    assert len(labels(panel)) == 40
    panel.more_button.click()
    assert len(labels(panel)) == 46
    assert panel.more_button.disabled
    assert labels(panel)[0] == "zz-archive/"
    assert [label.split(" · ")[0] for label in labels(panel)[1:]] == [f"{i:03d}.csv" for i in range(45)]


def test_the_filter_lists_names_starting_with_it(make_panel: Callable[..., S3Panel], s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)
    for key in ("d/report-1.csv", "d/report-2.csv", "d/other.csv", "d/reports/x.csv"):
        s3.put(BUCKET, key, b"a\n1\n")
    panel = make_panel()
    panel.go_to(BUCKET, "d/")
    assert len(labels(panel)) == 4
    panel.filter.value = "report"
    assert [label.split(" · ")[0] for label in labels(panel)] == ["reports/", "report-1.csv",
                                                                  "report-2.csv"]
    panel.filter.value = ""
    assert len(labels(panel)) == 4
    panel.filter.value = "report"
    choose(panel, "reports/")
    assert panel.filter.value == ""  # a new folder starts unfiltered
    assert [label.split(" · ")[0] for label in labels(panel)] == ["x.csv"]


def test_when_buckets_may_not_be_listed_a_bucket_can_be_typed(
    make_panel: Callable[..., S3Panel], s3: S3Helper, bucket: str
) -> None:
    with FaultProxy(s3.endpoint_url) as proxy:
        proxy.add(Fault(Reply(403, "AccessDenied"), method="GET"))
        panel = make_panel(endpoint_url=proxy.endpoint_url)
        panel.buckets_button.click()
        assert panel.bucket.options == ()
        assert "may not list buckets (AccessDenied)" in panel.browse_status.value
        assert "type a bucket name" in panel.browse_status.value
        assert panel.output.outputs == ()
        panel.bucket.value = BUCKET
        assert labels(panel)[0] == "data/"


def test_a_missing_bucket_is_explained_in_the_panel(make_panel: Callable[..., S3Panel], s3: S3Helper) -> None:
    panel = make_panel()
    panel.bucket.value = "no-such-bucket"
    assert labels(panel) == []
    assert "S3NotFound" in panel.status.value
    assert "NoSuchBucket" in html_shown(panel)


# --- picking an object and its columns -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["sample.parquet", "sample.csv.gz", "sample.csv"])
def test_picking_an_object_fills_the_uri_and_offers_its_columns(
    make_panel: Callable[..., S3Panel], bucket: str, source: pd.DataFrame, name: str
) -> None:
    panel = make_panel()
    panel.go_to(BUCKET, "data/")
    choose(panel, name)
    assert panel.uri.value == f"s3://{BUCKET}/data/{name}"
    assert panel.columns.options == tuple(source.columns)
    assert panel.columns.value == ()
    assert "5 columns" in panel.columns_note.value


def test_a_typed_uri_and_a_format_override_are_peeked_too(
    make_panel: Callable[..., S3Panel], s3: S3Helper
) -> None:
    s3.make_bucket(BUCKET)
    s3.put(BUCKET, "export.csv", to_bytes(make_frame(10), "tsv"))
    panel = make_panel()
    panel.uri.value = f"s3://{BUCKET}/export.csv"
    assert panel.columns.options == ("id\tcity\tvalue\tflag",)
    panel.format.value = "tsv"
    assert panel.columns.options == ("id", "city", "value", "flag")


# --- loading -------------------------------------------------------------------------------------------


def test_load_with_some_columns_binds_previews_and_writes_the_equivalent_cell(
    make_panel: Callable[..., S3Panel], bucket: str, source: pd.DataFrame, ns: dict[str, Any], s3: S3Helper,
    ip: InteractiveShell,
) -> None:
    panel = make_panel()
    panel.go_to(BUCKET, "data/")
    choose(panel, "sample.parquet")
    panel.columns.value = ("value", "city")
    assert "2 of 5 columns" in panel.columns_note.value
    panel.nrows.value = "7"
    panel.variable.value = "trips"
    loaded(panel)
    expected = source[["city", "value"]].head(7)
    pd.testing.assert_frame_equal(ns["trips"], expected)
    assert "Loaded into <code>trips</code>" in panel.status.value
    assert panel.progress.bar_style == "success"
    assert panel.progress.value == panel.progress.max > 1
    (summary,) = outputs(panel, "stream")
    assert summary["text"].startswith(f"Loaded {PARQUET}: 7 rows x 2 columns")
    preview = html_shown(panel)
    assert "<table" in preview and preview.count("<tr>") == 5  # df.head()'s rows (the header row is styled)
    assert all(str(v) in preview for v in expected["value"].head(5))
    assert panel.cell.value == (
        f"%%s3ingest trips --columns city,value --nrows 7 --endpoint-url {s3.endpoint_url}\n{PARQUET}"
    )
    # The cell does in a notebook what the panel did.
    run_cell_text(ip, panel.cell.value)
    pd.testing.assert_frame_equal(ip.user_ns["trips"], expected)
    assert panel.load_button.disabled is False and panel.cancel_button.disabled is True


def run_cell_text(ip: InteractiveShell, text: str) -> None:
    result = ip.run_cell(text)
    assert result.success, result.error_in_exec


def test_the_equivalent_cell_escapes_braces_in_the_key(
    make_panel: Callable[..., S3Panel], s3: S3Helper, ns: dict[str, Any], ip: InteractiveShell
) -> None:
    frame = pd.DataFrame({"price": [1.5, 2.5], "name": ["a", "b"], "qty": [1, 2]})
    s3.make_bucket(BUCKET)
    uri = s3.put(BUCKET, "odd {dir}/my data.csv", to_bytes(frame, "csv"))
    ip.user_ns["dir"] = "not this one"  # the magic would fill {dir} from here if the braces were not doubled
    panel = make_panel()
    panel.go_to(BUCKET, "odd {dir}/")
    choose(panel, "my data.csv")
    assert panel.uri.value == uri
    panel.columns.value = ("qty", "price")
    panel.format.value = "csv"
    loaded(panel)
    assert panel.cell.value == (f"%%s3ingest df --format csv --columns price,qty --endpoint-url {s3.endpoint_url}\n"
                                "s3://bkt/odd {{dir}}/my data.csv")
    run_cell_text(ip, panel.cell.value)
    pd.testing.assert_frame_equal(ip.user_ns["df"], ns["df"])
    pd.testing.assert_frame_equal(ns["df"], frame[["price", "qty"]])


def test_columns_the_magic_cannot_name_give_the_equivalent_python(
    make_panel: Callable[..., S3Panel], s3: S3Helper, ns: dict[str, Any], ip: InteractiveShell
) -> None:
    frame = pd.DataFrame({"unit price": [1.5, 2.5], "a,b": ["x", "y"], "qty": [1, 2]})
    s3.make_bucket(BUCKET)
    uri = s3.put(BUCKET, "odd.parquet", to_bytes(frame, "parquet"))
    panel = make_panel()
    panel.uri.value = uri
    panel.columns.value = ("unit price", "a,b")
    panel.variable.value = "odd"
    loaded(panel)
    assert panel.cell.value == (
        "import dreambolt_magic\n"
        f"odd = dreambolt_magic.load({uri!r}, columns=['unit price', 'a,b'], endpoint_url={s3.endpoint_url!r})"
    )
    run_cell_text(ip, panel.cell.value)
    pd.testing.assert_frame_equal(ip.user_ns["odd"], ns["odd"])
    pd.testing.assert_frame_equal(ns["odd"], frame[["unit price", "a,b"]])


def test_the_magic_shows_a_panel_set_up_from_the_config(
    ip: InteractiveShell, bucket: str, source: pd.DataFrame
) -> None:
    ip.run_line_magic("config", "S3IngestMagics.region = 'us-east-1'")
    with capture_output() as cap:
        assert ip.run_line_magic("s3ingest_panel", "") is None
    (shown,) = cap.outputs
    from ipywidgets.widgets.widget import _instances

    panel = _instances[shown.data["application/vnd.jupyter.widget-view+json"]["model_id"]]
    try:
        assert isinstance(panel, S3Panel)
        magics = ip.magics_manager.registry["S3IngestMagics"]
        assert panel.endpoint.value == magics.endpoint_url
        assert panel.region.value == "us-east-1"
        assert panel.bucket.options == (BUCKET,)
        panel.uri.value = PARQUET
        panel.variable.value = "picked"
        loaded(panel)
        pd.testing.assert_frame_equal(ip.user_ns["picked"], source)
        # What the config already says is left out of the cell.
        assert panel.cell.value == f"%%s3ingest picked\n{PARQUET}"
    finally:
        panel.close()


def test_the_magic_takes_no_arguments(ip: InteractiveShell) -> None:
    with pytest.raises(UsageError, match="takes no arguments"):
        ip.run_line_magic("s3ingest_panel", "s3://bkt/x.csv")


def test_cancel_stops_a_slow_load_promptly_and_binds_nothing(
    make_panel: Callable[..., S3Panel], s3: S3Helper, slow: Any, ns: dict[str, Any]
) -> None:
    s3.make_bucket(BUCKET)
    data = b"a,b\n" + b"1,2\n" * 1_000_000  # 4 MB: 8 s at 500 kB/s
    uri = s3.put(BUCKET, "big.csv", data)
    proxy = slow(500_000)
    panel = make_panel(endpoint_url=proxy.endpoint_url)
    ns["df"] = SENTINEL
    panel.uri.value = uri
    panel.load_button.click()
    assert panel.running and panel.load_button.disabled and not panel.cancel_button.disabled
    deadline = time.monotonic() + 5
    while panel.progress.value == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert 0 < panel.progress.value < len(data)  # it is downloading
    clicked = time.monotonic()
    panel.cancel_button.click()
    assert panel.wait(2), "the load went on for more than 2 s after Cancel"
    assert time.monotonic() - clicked < 2
    assert ns["df"] is SENTINEL
    assert "Cancelled" in panel.status.value
    assert panel.progress.bar_style == "danger"
    assert panel.cell.value == ""
    assert not panel.load_button.disabled and panel.cancel_button.disabled
    assert proxy.aborted.wait(2) and proxy.sent < len(data) / 2


def test_the_bar_is_updated_at_most_ten_times_a_second(
    make_panel: Callable[..., S3Panel], s3: S3Helper, slow: Any, ns: dict[str, Any]
) -> None:
    s3.make_bucket(BUCKET)
    data = b"a,b\n" + b"1,2\n" * 400_000  # 1.6 MB: 0.8 s at 2 MB/s, in ~25 slices of 64 KiB
    uri = s3.put(BUCKET, "mid.csv", data)
    panel = make_panel(endpoint_url=slow(2_000_000).endpoint_url)
    changes: list[float] = []
    panel.progress.observe(lambda _: changes.append(time.monotonic()), names="value")
    panel.uri.value = uri
    began = time.monotonic()
    loaded(panel)
    elapsed = time.monotonic() - began
    assert ns["df"].shape == (400_000, 2)
    assert elapsed > 0.5
    assert 3 <= len(changes) <= elapsed * 10 + 3, (len(changes), elapsed)


@pytest.mark.parametrize(
    ("case", "kind", "code"),
    [
        ("missing key", "S3NotFound", "NoSuchKey"),
        ("missing bucket", "S3NotFound", "NoSuchBucket"),
        ("mislabelled", "S3FormatError", "FormatMismatch"),
        ("no credentials", "S3AuthError", "NoCredentials"),
    ],
)
def test_a_failed_load_is_explained_in_the_panel_and_binds_nothing(
    make_panel: Callable[..., S3Panel], s3: S3Helper, ns: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
    case: str, kind: str, code: str,
) -> None:
    s3.make_bucket(BUCKET)
    s3.put(BUCKET, "fake.parquet", to_bytes(make_frame(5), "csv"))
    s3.put(BUCKET, "real.csv", to_bytes(make_frame(5), "csv"))
    uri = {
        "missing key": f"s3://{BUCKET}/nope.csv",
        "missing bucket": "s3://no-such-bucket/x.csv",
        "mislabelled": f"s3://{BUCKET}/fake.parquet",
        "no credentials": f"s3://{BUCKET}/real.csv",
    }[case]
    if case == "no credentials":
        monkeypatch.delenv("AWS_ACCESS_KEY_ID")
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    panel = make_panel(unsigned_fallback=False)
    ns["df"] = SENTINEL
    panel.uri.value = uri
    loaded(panel)
    assert ns["df"] is SENTINEL
    (shown,) = outputs(panel, "display_data")
    assert "dreambolt-error" in shown["data"]["text/html"]
    assert f"{kind}:" in shown["data"]["text/html"] and code in shown["data"]["text/html"]
    assert "How to fix it" in shown["data"]["text/html"]
    assert shown["data"]["text/plain"].startswith(f"{kind}: ")
    assert kind in panel.status.value and "df is unchanged" in panel.status.value
    # Said once: the status names the error, the explanation below says what happened.
    assert uri.rsplit("/", 1)[-1] not in panel.status.value
    assert panel.progress.bar_style == "danger"
    assert panel.cell.value == ""


@pytest.mark.parametrize("name", ["1st", "class", "my-frame", "", "a b"])
def test_a_bad_variable_name_is_refused_before_loading(
    make_panel: Callable[..., S3Panel], bucket: str, ns: dict[str, Any], name: str
) -> None:
    panel = make_panel()
    panel.uri.value = PARQUET
    panel.variable.value = name
    panel.load_button.click()
    assert not panel.running and panel.wait(0)
    assert "not a valid Python variable name" in panel.status.value
    assert ns == {}


@pytest.mark.parametrize(("uri", "rows", "message"), [
    ("", "", "Pick an object"),
    (PARQUET, "ten", "Rows must be a whole number"),
    (PARQUET, "-1", "Rows must be a whole number"),
])
def test_a_missing_uri_or_bad_row_count_is_refused(
    make_panel: Callable[..., S3Panel], bucket: str, ns: dict[str, Any], uri: str, rows: str, message: str
) -> None:
    panel = make_panel()
    panel.uri.value = uri
    panel.nrows.value = rows
    panel.load_button.click()
    assert not panel.running
    assert message in panel.status.value
    assert ns == {}


def test_an_unexpected_error_in_a_callback_is_shown_not_lost(
    make_panel: Callable[..., S3Panel], bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("listing exploded")

    monkeypatch.setattr(browse, "list_prefix", broken)
    panel = make_panel()
    panel.bucket.value = BUCKET
    (err,) = outputs(panel, "stream")
    assert err["name"] == "stderr"
    assert "Traceback" in err["text"] and "RuntimeError: listing exploded" in err["text"]
    assert "RuntimeError" in panel.status.value


def test_an_unexpected_error_in_the_load_thread_is_shown_and_binds_nothing(
    make_panel: Callable[..., S3Panel], bucket: str, ns: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise MemoryError("out of memory while parsing")

    monkeypatch.setattr(api, "load", broken)
    panel = make_panel()
    panel.uri.value = PARQUET
    loaded(panel)
    assert "df" not in ns
    assert any("MemoryError: out of memory" in o["text"] for o in outputs(panel, "stream"))
    assert "MemoryError" in panel.status.value and "df is unchanged" in panel.status.value
    assert not panel.load_button.disabled


def test_no_credential_appears_in_any_widget_state(
    make_panel: Callable[..., S3Panel], bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_id, secret = "AKIAPANELTESTKEYID42", "panel/test+SECRET/value/0123456789abcdef"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    monkeypatch.setenv("AWS_SESSION_TOKEN", "panel-session-token-value")
    panel = make_panel()
    panel.buckets_button.click()
    panel.bucket.value = BUCKET
    choose(panel, "data/")
    choose(panel, "sample.parquet")
    loaded(panel)
    panel.uri.value = f"s3://{BUCKET}/nope.parquet"
    loaded(panel)
    assert "S3NotFound" in panel.status.value  # an error too, with all its details
    states = json.dumps(all_states(panel), default=str)
    assert len(all_states(panel)) > 40
    for fragment in (key_id, secret, "panel/test+SECRET", "panel-session-token-value"):
        assert fragment not in states
