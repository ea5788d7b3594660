"""Requester Pays over HTTP: a recording proxy in front of moto sees ``x-amz-request-payer: requester`` on
every request a load, an ``--info`` or a browse makes with ``requester_pays=True``, and on none without it.

moto does not enforce Requester Pays, so the proxy's record is the evidence: every request, whatever its
operation (HeadBucket, ListObjectsV2, HeadObject, plain and ranged GetObject, ListBuckets).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import pytest
from faults.proxy import Fault, FaultProxy, Reply, Seen
from helpers import make_frame, to_bytes

import dreambolt_magic
from dreambolt_magic.datasets import browse, preview
from dreambolt_magic.errors import S3AuthError
from dreambolt_magic.options import ConnectOptions
from dreambolt_magic.transfer import ranged as ranged_reads

if TYPE_CHECKING:
    from pathlib import Path

    from conftest import S3Helper

BUCKET = "payers"
PART = 256 * 1024


@pytest.fixture
def frame() -> pd.DataFrame:
    return make_frame(60_000, seed=5)  # about 1.3 MB of CSV: several parts of 256 KiB


@pytest.fixture
def objects(s3: S3Helper, frame: pd.DataFrame) -> S3Helper:
    s3.make_bucket(BUCKET)
    s3.put(BUCKET, "data/big.csv", to_bytes(frame, "csv"))
    s3.put(BUCKET, "data/small.parquet", to_bytes(frame.head(100), "parquet"))
    s3.put(BUCKET, "plain/one.csv", to_bytes(frame.head(10), "csv"))
    return s3


def kinds(requests: list[Seen]) -> set[str]:
    """What operations the requests were, roughly: enough to show the test covers each."""
    found = set()
    for r in requests:
        on_bucket = r.path.strip("/").count("/") == 0
        if r.method == "HEAD":
            found.add("HeadBucket" if on_bucket else "HeadObject")
        elif on_bucket:
            found.add("ListBuckets" if r.path == "/" else "ListObjectsV2")
        else:
            found.add("GetObject ranged" if r.range else "GetObject")
    return found


def assert_all_pay(requests: list[Seen]) -> None:
    assert requests
    unpaid = [(r.method, r.path, r.range) for r in requests if r.request_payer != "requester"]
    assert unpaid == []


def test_every_request_of_a_prefix_load_says_the_requester_pays(
    objects: S3Helper, proxy: FaultProxy, frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ranged_reads, "FAST_STREAM", None)  # ranged parts beside the main stream
    df = dreambolt_magic.load(f"s3://{BUCKET}/data/", endpoint_url=proxy.endpoint_url, requester_pays=True,
                              part_size=PART, max_concurrency=4, progress=False)

    assert len(df) == len(frame) + 100
    assert {"HeadBucket", "ListObjectsV2", "GetObject", "GetObject ranged"} <= kinds(proxy.requests)
    assert_all_pay(proxy.requests)


def test_without_it_no_request_says_so_even_on_a_connection_kept_from_one_that_did(
    objects: S3Helper, proxy: FaultProxy
) -> None:
    uri = f"s3://{BUCKET}/plain/one.csv"
    dreambolt_magic.load(uri, endpoint_url=proxy.endpoint_url, requester_pays=True, progress=False)
    assert_all_pay(proxy.requests)
    proxy.clear()

    dreambolt_magic.load(uri, endpoint_url=proxy.endpoint_url, progress=False)
    assert proxy.requests and all(r.request_payer is None for r in proxy.requests)
    assert ConnectOptions(requester_pays=True).connection_key != ConnectOptions().connection_key


def test_a_cached_single_object_load_pays_for_its_head_too(
    objects: S3Helper, proxy: FaultProxy, tmp_path: Path
) -> None:
    uri = f"s3://{BUCKET}/plain/one.csv"
    for _ in range(2):
        df = dreambolt_magic.load(uri, endpoint_url=proxy.endpoint_url, requester_pays=True, cache=tmp_path,
                                  progress=False)
    assert df.attrs["s3"]["cached"] is True
    assert {"HeadBucket", "GetObject", "HeadObject"} <= kinds(proxy.requests)
    assert_all_pay(proxy.requests)


def test_info_pays_for_its_listing_footers_and_peeks(objects: S3Helper, proxy: FaultProxy) -> None:
    found = preview.info(f"s3://{BUCKET}/data/", endpoint_url=proxy.endpoint_url, requester_pays=True)
    assert found.rows is None and "id" in found.schema  # the Parquet footer was read
    text = preview.info(f"s3://{BUCKET}/plain/", endpoint_url=proxy.endpoint_url, requester_pays=True)
    assert "city" in text.schema  # the CSV's header was peeked at

    assert {"HeadBucket", "ListObjectsV2", "HeadObject", "GetObject ranged"} <= kinds(proxy.requests)
    assert_all_pay(proxy.requests)


def test_browsing_pays_for_every_request(objects: S3Helper, proxy: FaultProxy) -> None:
    options = {"endpoint_url": proxy.endpoint_url, "requester_pays": True}
    assert browse.list_buckets(**options) == [BUCKET]
    assert browse.list_prefix(BUCKET, "", **options).folders == ("data/", "plain/")
    assert browse.peek_columns(f"s3://{BUCKET}/data/small.parquet", **options) == list(make_frame(1).columns)

    assert {"ListBuckets", "HeadBucket", "ListObjectsV2", "HeadObject", "GetObject ranged"} <= kinds(proxy.requests)
    assert_all_pay(proxy.requests)


def test_access_denied_names_requester_pays_as_a_cause_unless_the_load_paid(
    objects: S3Helper, proxy: FaultProxy
) -> None:
    uri = f"s3://{BUCKET}/plain/one.csv"
    proxy.add(Fault(Reply(403, "AccessDenied"), path="/plain/", times=2))
    with pytest.raises(S3AuthError) as unpaid:
        dreambolt_magic.load(uri, endpoint_url=proxy.endpoint_url, progress=False)
    with pytest.raises(S3AuthError) as paid:
        dreambolt_magic.load(uri, endpoint_url=proxy.endpoint_url, requester_pays=True, progress=False)

    assert "Requester Pays" in unpaid.value.explanation
    assert "--requester-pays" in unpaid.value.remedy and "requester_pays=True" in unpaid.value.remedy
    assert "Requester Pays" not in paid.value.explanation and "--requester-pays" not in paid.value.remedy


def test_dask_partitions_pay_on_the_workers_too(objects: S3Helper, proxy: FaultProxy, frame: pd.DataFrame) -> None:
    pytest.importorskip("dask.dataframe")
    lazy = dreambolt_magic.load(f"s3://{BUCKET}/data/", engine="dask", endpoint_url=proxy.endpoint_url,
                                requester_pays=True, progress=False)
    assert len(lazy.compute(scheduler="sync")) == len(frame) + 100
    assert_all_pay(proxy.requests)
