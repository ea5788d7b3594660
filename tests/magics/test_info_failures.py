"""``%s3ingest_info`` over a set with broken objects: what could be read is shown, and each object that could
not be is named with its reason; only a set where nothing could be read is an error."""

from __future__ import annotations

import gzip
from typing import TYPE_CHECKING, Any

import pytest
from helpers import make_frame, to_bytes
from IPython.utils.capture import capture_output

from dreambolt_magic.datasets import preview
from dreambolt_magic.errors import S3FormatError

if TYPE_CHECKING:
    from faults.proxy import FaultProxy
    from IPython.core.interactiveshell import InteractiveShell

BUCKET = "mixed"


@pytest.fixture
def broken(s3: Any, proxy: FaultProxy) -> dict[str, str]:
    """Under ``t/``: two good Parquet files (10 and 20 rows), one that is text, one truncated, one S3 refuses.

    Returns each broken object's URI and a word its reason must hold."""
    from faults.proxy import Fault, Reply

    s3.make_bucket(BUCKET)
    s3.put(BUCKET, "t/good-1.parquet", to_bytes(make_frame(10), "parquet"))
    s3.put(BUCKET, "t/good-2.parquet", to_bytes(make_frame(20, seed=1), "parquet"))
    s3.put(BUCKET, "t/text.parquet", b"id,city\n1,Oslo\n" * 4)
    s3.put(BUCKET, "t/truncated.parquet", to_bytes(make_frame(30), "parquet")[:-100])
    s3.put(BUCKET, "t/refused.parquet", to_bytes(make_frame(40), "parquet"))
    proxy.add(Fault(Reply(403, "AccessDenied", "Access Denied"), path=f"/{BUCKET}/t/refused.parquet", times=None))
    return {s3.uri(BUCKET, "t/refused.parquet"): "AccessDenied", s3.uri(BUCKET, "t/text.parquet"): "PAR1",
            s3.uri(BUCKET, "t/truncated.parquet"): "PAR1"}


def _check(found: preview.SetInfo, broken: dict[str, str]) -> None:
    assert found.rows == 30 and [o.rows for o in found.objects if o.error is None] == [10, 20]
    assert {o.uri: o.error for o in found.failed}.keys() == broken.keys()
    for obj in found.failed:
        assert obj.error is not None and broken[obj.uri] in obj.error, obj


def _shows(text: str, broken: dict[str, str]) -> None:
    assert "Could not read 3 objects (not counted above):" in text, text
    lines = text.splitlines()
    for uri, reason in broken.items():
        assert any(line.strip().startswith(f"{uri}: ") and reason in line for line in lines), (uri, text)
    assert "30 rows" in lines[0] and "sep=" not in text


def test_info_shows_what_it_read_and_names_each_object_it_could_not(
    ip: InteractiveShell, proxy: FaultProxy, broken: dict[str, str]
) -> None:
    found = ip.run_line_magic("s3ingest_info", f"s3://{BUCKET}/t/ --endpoint-url {proxy.endpoint_url}")
    _check(found, broken)
    _shows(str(found), broken)
    with capture_output() as cap:
        ip.run_cell_magic("s3ingest", f"df --info --endpoint-url {proxy.endpoint_url}", f"s3://{BUCKET}/t/")
    assert "df" not in ip.user_ns
    shown = cap.outputs[0].data
    _shows(shown["text/plain"], broken)
    # The HTML escapes nothing here but shows the same lines.
    _shows(shown["text/html"].replace("<b>", "").replace("</b><pre style='margin:0.3em 0'>", "\n"), broken)


def test_the_python_info_is_partial_too(s3: Any, proxy: FaultProxy, broken: dict[str, str]) -> None:
    found = preview.info(f"s3://{BUCKET}/t/", endpoint_url=proxy.endpoint_url)
    _check(found, broken)
    assert found.schema["id"] == "int64" and found.memory is not None and not found.rough


def test_info_where_nothing_reads_is_the_error_without_csv_advice(ip: InteractiveShell, s3: Any) -> None:
    s3.make_bucket(BUCKET)
    s3.put(BUCKET, "bad/1.parquet", b"not parquet" * 4)
    s3.put(BUCKET, "bad/2.parquet", b"nor this one" * 4)
    with capture_output() as cap, pytest.raises(S3FormatError) as raised:
        ip.run_line_magic("s3ingest_info", f"s3://{BUCKET}/bad/")
    assert raised.value.code == "ParseError" and "sep" not in raised.value.remedy
    assert "sep" not in cap.outputs[0].data["text/plain"]


def test_text_columns_come_from_the_first_object_that_reads(ip: InteractiveShell, s3: Any) -> None:
    s3.make_bucket(BUCKET)
    s3.put(BUCKET, "c/1.csv.gz", b"this is not gzip at all")
    s3.put(BUCKET, "c/2.csv", to_bytes(make_frame(5), "csv"))
    s3.put(BUCKET, "c/3.csv.gz", gzip.compress(to_bytes(make_frame(5), "csv")))
    found = ip.run_line_magic("s3ingest_info", f"s3://{BUCKET}/c/")
    assert list(found.schema) == list(make_frame(1).columns)
    assert [o.uri for o in found.failed] == [s3.uri(BUCKET, "c/1.csv.gz")]
    assert "gzip" in (found.failed[0].error or "") and "Could not read 1 object (" in str(found)
