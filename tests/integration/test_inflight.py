"""The sockets of requests in flight (``dreambolt_magic.client.inflight``), over HTTP through a FaultProxy in
front of moto: a request that waits for its answer is shut down at once by another thread, a later one is
refused without being sent, and a connection the pool has lent on to an untracked request is left alone."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

import botocore.exceptions as bce
import pytest
from faults.proxy import Delay, Fault, FaultProxy

from dreambolt_magic.client.connection import Connection
from dreambolt_magic.client.inflight import InFlight
from dreambolt_magic.options import ConnectOptions

if TYPE_CHECKING:
    from conftest import S3Helper

BUCKET = "inflight"
PATIENCE = 10.0


@pytest.fixture
def client(s3: S3Helper, proxy: FaultProxy) -> Any:
    s3.make_bucket(BUCKET)
    s3.put(BUCKET, "k", b"x" * 100)
    # One socket in the pool, so that every request here uses the same connection.
    conn = Connection.open(ConnectOptions(endpoint_url=proxy.endpoint_url, read_timeout=60.0), pool=1)
    yield conn.client("us-east-1")
    conn.close()


def in_thread(fn: Any) -> tuple[threading.Thread, dict[str, Any]]:
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["value"] = fn()
        except Exception as exc:  # handed to the test
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


def wait_for(proxy: FaultProxy, n: int) -> None:
    deadline = time.monotonic() + PATIENCE
    while len(proxy.requests) < n and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(proxy.requests) >= n


def test_a_request_waiting_for_its_answer_is_shut_down_from_another_thread(client: Any, proxy: FaultProxy) -> None:
    inflight = InFlight()
    proxy.add(Fault(Delay(60.0)))

    def tracked() -> Any:
        with inflight.tracking():
            return client.get_object(Bucket=BUCKET, Key="k")

    thread, result = in_thread(tracked)
    wait_for(proxy, 1)
    began = time.monotonic()
    inflight.shut_down()
    thread.join(PATIENCE)
    assert time.monotonic() - began < 2.0
    assert isinstance(result.get("error"), bce.BotoCoreError)

    with inflight.tracking(), pytest.raises(bce.BotoCoreError):  # refused from now on, without being sent
        client.head_object(Bucket=BUCKET, Key="k")
    assert len(proxy.requests) == 1
    inflight.reopen()
    with inflight.tracking():
        assert client.head_object(Bucket=BUCKET, Key="k")["ContentLength"] == 100


def test_a_connection_lent_on_to_an_untracked_request_is_not_shut_down(client: Any, proxy: FaultProxy) -> None:
    inflight = InFlight()
    with inflight.tracking():
        client.head_object(Bucket=BUCKET, Key="k")  # the pool's one connection is now known to inflight
    proxy.add(Fault(Delay(0.5), method="HEAD"))
    thread, result = in_thread(lambda: client.head_object(Bucket=BUCKET, Key="k"))  # the same connection
    wait_for(proxy, 2)
    inflight.shut_down()  # another load's stop: not this request's
    thread.join(PATIENCE)
    assert result.get("value", {}).get("ContentLength") == 100, result
