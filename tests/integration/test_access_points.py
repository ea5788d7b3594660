"""Buckets named by access points, over HTTP against moto: an alias loads like any bucket name.

An alias is a plain bucket name to S3's API, so moto can hold a bucket that has one; the proxy in front of
it (tests/faults/proxy.py) records that the requests went out with the alias as the bucket.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
from helpers import make_frame, to_bytes

import dreambolt_magic

if TYPE_CHECKING:
    from conftest import S3Helper
    from faults.proxy import FaultProxy

ALIAS = "my-ap-hrzrlukc5m36ft7okagglf3gmwluquse1b-s3alias"


def test_an_access_point_alias_loads_as_a_bucket_name(s3: S3Helper, proxy: FaultProxy) -> None:
    frame = make_frame(20, seed=5)
    s3.make_bucket(ALIAS)
    uri = s3.put(ALIAS, "dir/data.parquet", to_bytes(frame, "parquet"))

    loaded = dreambolt_magic.load(uri, endpoint_url=proxy.endpoint_url, progress=False)

    pd.testing.assert_frame_equal(loaded, frame)
    assert loaded.attrs["s3"]["bucket"] == ALIAS
    paths = {seen.path for seen in proxy.requests}
    assert f"/{ALIAS}/dir/data.parquet" in paths
    assert all(path.startswith(f"/{ALIAS}") for path in paths)


def test_a_prefix_of_an_alias_is_listed_and_loaded(s3: S3Helper) -> None:
    s3.make_bucket(ALIAS)
    frames = [make_frame(5, seed=seed) for seed in (1, 2)]
    for i, frame in enumerate(frames):
        s3.put(ALIAS, f"logs/part-{i}.csv", to_bytes(frame, "csv"))

    loaded = dreambolt_magic.load(f"s3://{ALIAS}/logs/", endpoint_url=s3.endpoint_url, progress=False)

    assert len(loaded) == 10
    assert loaded.attrs["s3"]["object_count"] == 2
