"""The panel's loader side, against moto over HTTP: listings, column peeks and cancelling a load.

Peeks go through the suite's fault proxy, which records every request's ``Range`` header, so the tests
can check how much was read and that every range was explicit (``bytes=first-last``).
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import threading
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from faults.proxy import Fault, FaultProxy, Reply, Stall
from helpers import make_frame, to_bytes

from dreambolt_magic import load
from dreambolt_magic.datasets import browse
from dreambolt_magic.errors import S3AuthError, S3FormatError, S3NotFound
from dreambolt_magic.transfer.progress import Cancelled

from .conftest import BUCKET

if TYPE_CHECKING:
    from conftest import S3Helper

EXPLICIT_RANGE = re.compile(r"bytes=(\d+)-(\d+)")


def ranges(proxy: FaultProxy) -> list[tuple[int, int]]:
    """The byte ranges of every GET the proxy saw; fails on a GET without an explicit range."""
    found = []
    for seen in proxy.requests:
        if seen.method != "GET":
            continue
        assert seen.range is not None, f"a GET without a Range read all of {seen.path}"
        match = EXPLICIT_RANGE.fullmatch(seen.range)
        assert match, f"not an explicit first-last range: {seen.range!r}"
        found.append((int(match[1]), int(match[2])))
    return found


# --- listing -------------------------------------------------------------------------------------------


def test_list_buckets_names_them_sorted(s3: S3Helper) -> None:
    for name in ("zeta", "alpha", "mid-bucket"):
        s3.make_bucket(name)
    assert browse.list_buckets(endpoint_url=s3.endpoint_url) == ["alpha", "mid-bucket", "zeta"]


def test_list_buckets_refused_is_an_auth_error(s3: S3Helper, proxy: FaultProxy) -> None:
    proxy.add(Fault(Reply(403, "AccessDenied"), method="GET"))
    with pytest.raises(S3AuthError) as info:
        browse.list_buckets(endpoint_url=proxy.endpoint_url)
    assert info.value.code == "AccessDenied"
    assert info.value.status == 403


def test_list_prefix_gives_folders_and_objects_with_size_and_date(s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)
    s3.put(BUCKET, "a/", b"")  # a folder marker, as the console makes
    s3.put(BUCKET, "a/x.csv", b"1234")
    s3.put(BUCKET, "a/sub/y.csv", b"1")
    s3.put(BUCKET, "a/z.json", b"[]")
    page = browse.list_prefix(BUCKET, "a/", endpoint_url=s3.endpoint_url)
    assert page.folders == ("a/sub/",)
    assert [(o.key, o.size, o.name) for o in page.objects] == [("a/x.csv", 4, "x.csv"), ("a/z.json", 2, "z.json")]
    assert all(isinstance(o.last_modified, datetime) for o in page.objects)
    assert page.next_token is None
    top = browse.list_prefix(BUCKET, endpoint_url=s3.endpoint_url)
    assert (top.folders, top.objects) == (("a/",), ())


def test_list_prefix_pages_never_exceed_the_page_size(s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)
    for i in range(45):
        s3.put(BUCKET, f"many/{i:03d}.csv", b"a\n1\n")
    s3.put(BUCKET, "many/zz/deep.csv", b"a\n1\n")
    seen: list[str] = []
    folders: list[str] = []
    token = None
    sizes = []
    while True:
        page = browse.list_prefix(BUCKET, "many/", token=token, page_size=20, endpoint_url=s3.endpoint_url)
        sizes.append(len(page.objects) + len(page.folders))
        seen += [o.key for o in page.objects]
        folders += page.folders
        token = page.next_token
        if token is None:
            break
    assert sizes == [20, 20, 6]
    assert seen == [f"many/{i:03d}.csv" for i in range(45)]
    assert folders == ["many/zz/"]


def test_list_prefix_with_the_start_of_a_name_filters(s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)
    for key in ("d/report-1.csv", "d/report-2.csv", "d/other.csv", "d/reports/x.csv"):
        s3.put(BUCKET, key, b"a\n1\n")
    page = browse.list_prefix(BUCKET, "d/rep", endpoint_url=s3.endpoint_url)
    assert [o.key for o in page.objects] == ["d/report-1.csv", "d/report-2.csv"]
    assert page.folders == ("d/reports/",)


def test_list_prefix_of_a_missing_bucket_is_not_found(s3: S3Helper) -> None:
    with pytest.raises(S3NotFound) as info:
        browse.list_prefix("no-such-bucket", endpoint_url=s3.endpoint_url)
    assert info.value.code == "NoSuchBucket"


def test_list_prefix_refuses_a_page_size_s3_would_not_honour(s3: S3Helper) -> None:
    with pytest.raises(ValueError, match="page_size"):
        browse.list_prefix(BUCKET, page_size=1001, endpoint_url=s3.endpoint_url)


# --- peeking at columns --------------------------------------------------------------------------------


def wide_frame(rows: int = 20_000) -> pd.DataFrame:
    return make_frame(rows, with_timestamps=True)


@pytest.mark.parametrize(
    ("key", "body"),
    [
        ("big.parquet", lambda df: to_bytes(df, "parquet")),
        ("big.csv", lambda df: to_bytes(df, "csv")),
        ("big.csv.gz", lambda df: to_bytes(df, "csv", "gzip")),
        ("big.tsv.bz2", lambda df: to_bytes(df, "tsv", "bz2")),
        ("big.jsonl.xz", lambda df: to_bytes(df, "jsonl", "xz")),
        ("big.jsonl", lambda df: to_bytes(df, "jsonl")),
        ("big.json", lambda df: to_bytes(df, "json")),
        ("big.feather", lambda df: to_bytes(df, "feather")),
        ("big.orc", lambda df: to_bytes(df, "orc")),
        ("no-extension", lambda df: to_bytes(df, "parquet")),
        ("small.parquet", lambda df: to_bytes(df.head(5), "parquet")),
        ("small.json", lambda df: to_bytes(df.head(5), "json")),
    ],
)
def test_peek_reads_the_columns_from_a_few_explicit_ranges(
    s3: S3Helper, proxy: FaultProxy, key: str, body: Any
) -> None:
    df = wide_frame()
    data = body(df)
    s3.make_bucket(BUCKET)
    s3.put(BUCKET, key, data)
    columns = browse.peek_columns(f"s3://{BUCKET}/{key}", endpoint_url=proxy.endpoint_url)
    assert columns == list(df.columns)
    read = ranges(proxy)
    total = sum(last - first + 1 for first, last in read)
    assert all(last < len(data) for _, last in read)
    # Contiguous reads from the start, growing only while no whole line is in sight.
    if key.endswith(".bz2"):
        assert total <= browse.MAX_PEEK_BYTES  # the first bz2 block must be read whole
    else:
        assert total <= 2 * browse.PEEK_BYTES
    if len(data) > 4 * browse.PEEK_BYTES:
        assert total < len(data) / 2, (total, len(data))
    if key in ("big.parquet", "big.orc"):
        # Only the footer: nothing from the start of the file.
        assert len(read) == 1 and read[0][1] == len(data) - 1 and read[0][0] > 0


def test_peek_of_a_parquet_footer_bigger_than_one_read_takes_two(s3: S3Helper, proxy: FaultProxy) -> None:
    df = pd.DataFrame({f"column_with_a_long_name_{i:05d}": [i] for i in range(3000)})
    data = to_bytes(df, "parquet")
    footer = int.from_bytes(data[-8:-4], "little")
    assert footer > browse.PEEK_BYTES  # the point of this test
    s3.make_bucket(BUCKET)
    s3.put(BUCKET, "wide.parquet", data)
    assert browse.peek_columns(f"s3://{BUCKET}/wide.parquet", endpoint_url=proxy.endpoint_url) == list(df.columns)
    read = ranges(proxy)
    assert len(read) == 2
    assert read[0] == (len(data) - browse.PEEK_BYTES, len(data) - 1)
    assert read[1] == (len(data) - footer - 8, len(data) - browse.PEEK_BYTES - 1)


def test_peek_of_a_format_override_uses_it(s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)
    s3.put(BUCKET, "export.csv", to_bytes(make_frame(10), "tsv"))
    uri = f"s3://{BUCKET}/export.csv"
    assert browse.peek_columns(uri, endpoint_url=s3.endpoint_url) == ["id\tcity\tvalue\tflag"]
    assert browse.peek_columns(uri, format="tsv", endpoint_url=s3.endpoint_url) == ["id", "city", "value", "flag"]


@pytest.mark.parametrize("rows", [5, 20_000])
def test_peek_of_a_mislabelled_object_is_a_format_mismatch(s3: S3Helper, rows: int) -> None:
    s3.make_bucket(BUCKET)
    s3.put(BUCKET, "fake.parquet", to_bytes(make_frame(rows), "csv"))
    with pytest.raises(S3FormatError) as info:
        browse.peek_columns(f"s3://{BUCKET}/fake.parquet", endpoint_url=s3.endpoint_url)
    assert info.value.code == "FormatMismatch"
    assert info.value.uri == f"s3://{BUCKET}/fake.parquet"


def test_peek_of_a_missing_key_says_which(s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)
    with pytest.raises(S3NotFound) as info:
        browse.peek_columns(f"s3://{BUCKET}/nope.csv", endpoint_url=s3.endpoint_url)
    assert info.value.code == "NoSuchKey"
    assert info.value.key == "nope.csv"


def test_peek_of_an_empty_object_is_a_format_error(s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)
    s3.put(BUCKET, "empty.csv", b"")
    with pytest.raises(S3FormatError) as info:
        browse.peek_columns(f"s3://{BUCKET}/empty.csv", endpoint_url=s3.endpoint_url)
    assert info.value.code == "EmptyObject"


def test_peek_of_a_long_header_reads_on_until_the_line_ends(s3: S3Helper, proxy: FaultProxy) -> None:
    s3.make_bucket(BUCKET)
    names = [f"a_rather_long_column_name_{i:05d}" for i in range(6_000)]
    header = ",".join(names).encode()
    assert 2 * browse.PEEK_BYTES < len(header) < 4 * browse.PEEK_BYTES
    s3.put(BUCKET, "wide.csv", header + b"\n" + header + b"\n")
    assert browse.peek_columns(f"s3://{BUCKET}/wide.csv", endpoint_url=proxy.endpoint_url) == names
    assert ranges(proxy) == [(0, browse.PEEK_BYTES - 1), (browse.PEEK_BYTES, 2 * browse.PEEK_BYTES - 1),
                             (2 * browse.PEEK_BYTES, 4 * browse.PEEK_BYTES - 1)]


def test_peek_of_a_header_longer_than_the_peek_limit_is_unknown_not_wrong(s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)
    header = ",".join(f"column{i}" for i in range(150_000)).encode()  # over 1 MiB on one line
    s3.put(BUCKET, "wider.csv", header + b"\n")
    assert len(header) > browse.MAX_PEEK_BYTES
    assert browse.peek_columns(f"s3://{BUCKET}/wider.csv", endpoint_url=s3.endpoint_url) == []


@pytest.mark.parametrize("fmt", ["xlsx", "zip"])
def test_peek_of_a_workbook_or_an_archive(s3: S3Helper, proxy: FaultProxy, fmt: str) -> None:
    # A small one is read whole and parsed; in a big one the first row is deep inside: unknown, not wrong.
    s3.make_bucket(BUCKET)
    small, big = to_bytes(make_frame(10), fmt), to_bytes(make_frame(20_000), fmt)
    assert len(small) < browse.PEEK_BYTES < len(big)
    s3.put(BUCKET, f"small.{fmt}", small)
    s3.put(BUCKET, f"big.{fmt}", big)
    assert browse.peek_columns(f"s3://{BUCKET}/small.{fmt}", endpoint_url=proxy.endpoint_url) == list(make_frame(1))
    assert browse.peek_columns(f"s3://{BUCKET}/big.{fmt}", endpoint_url=proxy.endpoint_url) == []
    assert all(last < browse.PEEK_BYTES for _, last in ranges(proxy))


def test_peek_follows_the_footer_of_a_real_parquet_writer(s3: S3Helper, proxy: FaultProxy) -> None:
    # Several row groups and column statistics: a footer as pyarrow writes for real data.
    table = pa.table({"k": list(range(100_000)), "v": [str(i) for i in range(100_000)]})
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=10_000)
    s3.make_bucket(BUCKET)
    s3.put(BUCKET, "groups.parquet", sink.getvalue())
    assert browse.peek_columns(f"s3://{BUCKET}/groups.parquet", endpoint_url=proxy.endpoint_url) == ["k", "v"]


# --- the loader modules stay front-end free -----------------------------------------------------------------


def test_loader_modules_import_neither_ipython_nor_ipywidgets() -> None:
    code = (
        "import sys, dreambolt_magic, dreambolt_magic.datasets.browse, dreambolt_magic.api\n"
        "import dreambolt_magic.transfer.progress\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('IPython', 'ipywidgets'))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# --- cancelling a load -----------------------------------------------------------------------------------


def test_a_load_cancelled_before_it_starts_reads_nothing(s3: S3Helper, proxy: FaultProxy) -> None:
    s3.make_bucket(BUCKET)
    uri = s3.put(BUCKET, "data.csv", to_bytes(make_frame(10), "csv"))
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        s3_load(uri, proxy.endpoint_url, cancel)
    assert not [seen for seen in proxy.requests if seen.method == "GET"]


def test_a_cancelled_download_stops_within_moments(s3: S3Helper, slow: Any) -> None:
    s3.make_bucket(BUCKET)
    data = b"a,b\n" + b"1,2\n" * 1_000_000  # 4 MB: 8 s at 500 kB/s
    uri = s3.put(BUCKET, "big.csv", data)
    proxy: FaultProxy = slow(500_000)
    cancel = threading.Event()
    cancelled_at: list[float] = []

    def cancel_once_the_body_flows() -> None:
        # Not after a fixed time: on a loaded machine the load may not have reached its GET by then.
        deadline = time.monotonic() + 30
        while proxy.sent < 200_000 and time.monotonic() < deadline:
            time.sleep(0.01)
        cancelled_at.append(time.monotonic())
        cancel.set()

    threading.Thread(target=cancel_once_the_body_flows, daemon=True).start()
    with pytest.raises(Cancelled):
        s3_load(uri, proxy.endpoint_url, cancel)
    assert time.monotonic() - cancelled_at[0] < 1.0
    assert proxy.aborted.wait(2), "the connection was not closed: the download went on"
    assert 0 < proxy.sent < len(data) / 2


def test_a_cancel_ends_a_read_that_a_stalled_server_holds(s3: S3Helper, proxy: FaultProxy) -> None:
    # The server sends 64 KiB and then nothing for a minute: without the cancel watcher shutting the socket
    # down, the cancel would wait for the read timeout (15 s here).
    s3.make_bucket(BUCKET)
    data = b"a,b\n" + b"1,2\n" * 100_000
    uri = s3.put(BUCKET, "stalled.csv", data)
    proxy.add(Fault(Stall(after=64 << 10, seconds=60), method="GET"))
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    began = time.monotonic()
    with pytest.raises(Cancelled):
        s3_load(uri, proxy.endpoint_url, cancel, read_timeout=15)
    assert time.monotonic() - began < 2


def test_a_cancel_cuts_a_backoff_wait_short(s3: S3Helper, proxy: FaultProxy) -> None:
    s3.make_bucket(BUCKET)
    uri = s3.put(BUCKET, "data.csv", b"a\n1\n")
    proxy.add(Fault(Reply(503, "SlowDown"), method="GET", times=None))
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    began = time.monotonic()
    with pytest.raises(Cancelled):
        # Ten attempts back off for about 20 s in all; the cancel ends the wait it falls in.
        s3_load(uri, proxy.endpoint_url, cancel, max_attempts=10)
    assert time.monotonic() - began < 1.5


def s3_load(uri: str, endpoint_url: str, cancel: threading.Event, **options: Any) -> pd.DataFrame:
    return load(uri, endpoint_url=endpoint_url, progress=False, cancel=cancel, **options)
