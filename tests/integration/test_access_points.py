"""Buckets named by access points, through the loader's public API: an alias loads like any bucket name, and
ARNs that cannot be read are refused before any request.

An alias is a plain bucket name to S3's API, so moto can hold a bucket that has one; the proxy in front of
it (tests/faults/proxy.py) records that the requests went out with the alias as the bucket. An ARN makes
botocore address the access point's own host on AWS, which no test may reach: those tests prove that nothing
was sent at all, by the proxy's record or by watching every connection and name lookup of the process.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest
from helpers import make_frame, to_bytes

import dreambolt_magic
from dreambolt_magic import S3Error, S3UriError
from dreambolt_magic.client import access_points

if TYPE_CHECKING:
    from conftest import S3Helper
    from faults.proxy import FaultProxy
    from IPython.core.interactiveshell import InteractiveShell

ALIAS = "my-ap-hrzrlukc5m36ft7okagglf3gmwluquse1b-s3alias"
AP = "arn:aws:s3:us-west-2:123456789012:accesspoint/my-ap"
MRAP = "arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap"


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


def test_the_magic_loads_from_an_alias(ip: InteractiveShell, s3: S3Helper) -> None:
    frame = make_frame(8, seed=2)
    s3.make_bucket(ALIAS)
    uri = s3.put(ALIAS, "data.csv", to_bytes(frame, "csv"))

    ip.run_cell_magic("s3ingest", "df -q", uri)

    assert ip.user_ns["df"].attrs["s3"]["uri"] == uri
    assert len(ip.user_ns["df"]) == 8


def test_a_prefix_of_an_alias_is_listed_and_loaded(s3: S3Helper) -> None:
    s3.make_bucket(ALIAS)
    frames = [make_frame(5, seed=seed) for seed in (1, 2)]
    for i, frame in enumerate(frames):
        s3.put(ALIAS, f"logs/part-{i}.csv", to_bytes(frame, "csv"))

    loaded = dreambolt_magic.load(f"s3://{ALIAS}/logs/", endpoint_url=s3.endpoint_url, progress=False)

    assert len(loaded) == 10
    assert loaded.attrs["s3"]["object_count"] == 2


@pytest.fixture
def network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every connection and name lookup the process attempts from here on, recorded (and then let through to
    the suite's loopback-only guard)."""
    seen: list[Any] = []
    connect, connect_ex, getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo

    def spy_connect(self: socket.socket, address: Any) -> Any:
        seen.append(("connect", address))
        return connect(self, address)

    def spy_connect_ex(self: socket.socket, address: Any) -> Any:
        seen.append(("connect", address))
        return connect_ex(self, address)

    def spy_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(("resolve", host))
        return getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", spy_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", spy_connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", spy_getaddrinfo)
    return seen


@pytest.mark.parametrize("key", ["dir/data.csv", "dir/", "dir/*.csv"], ids=["object", "prefix", "glob"])
def test_a_multi_region_access_point_without_the_crt_fails_before_any_request(
        s3: S3Helper, network: list[Any], monkeypatch: pytest.MonkeyPatch, key: str) -> None:
    monkeypatch.setattr(access_points, "sigv4a_unavailable", lambda: "it is not installed")

    with pytest.raises(S3Error) as caught:
        dreambolt_magic.load(f"s3://{MRAP}/{key}", progress=False)  # AWS: no endpoint_url

    assert network == []  # not a lookup, not a connection
    error = caught.value
    assert error.code == "NeedsCRT" and error.bucket == MRAP
    assert "pip install 'botocore[crt]'" in error.remedy


@pytest.mark.parametrize("bucket", [AP, MRAP], ids=["access-point", "multi-region"])
@pytest.mark.parametrize("key", ["dir/data.csv", "dir/"], ids=["object", "prefix"])
def test_an_arn_for_an_s3_compatible_store_fails_before_any_request(
        s3: S3Helper, proxy: FaultProxy, bucket: str, key: str) -> None:
    with pytest.raises(S3UriError) as caught:
        dreambolt_magic.load(f"s3://{bucket}/{key}", endpoint_url=proxy.endpoint_url, progress=False)

    assert proxy.requests == []
    error = caught.value
    assert error.code == "ArnWithEndpoint" and error.endpoint == proxy.endpoint_url
    assert "write the store's bucket name (s3://bucket/key)" in str(error)
