"""``connection.warm_up``: the once-a-process work of a first load, done ahead (no request is sent)."""

from __future__ import annotations

import gc
from typing import Any

import pytest

from dreambolt_magic.client import connection
from dreambolt_magic.options import ConnectOptions


def test_after_warm_up_a_new_client_reads_no_model_file(monkeypatch: pytest.MonkeyPatch) -> None:
    connection.warm_up()
    loader = connection._shared_loader()
    reads: list[Any] = []
    original = loader.file_loader.load_file
    monkeypatch.setattr(loader.file_loader, "load_file", lambda *a, **k: reads.append(a) or original(*a, **k))

    made = connection.Connection.open(ConnectOptions(endpoint_url="http://127.0.0.1:9", anon=True,
                                                     unsigned_fallback=False, connect_timeout=1.0, read_timeout=1.0))
    made.client("eu-west-1").close()

    assert reads == []


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_held_off_while_a_client_is_made(enabled: bool) -> None:
    made = connection.Connection.open(ConnectOptions(endpoint_url="http://127.0.0.1:9", anon=True,
                                                     unsigned_fallback=False, connect_timeout=1.0, read_timeout=1.0))
    during: list[bool] = []
    made.session.register("creating-client-class.s3", lambda **_: during.append(gc.isenabled()))
    (gc.enable if enabled else gc.disable)()
    try:
        made.client("eu-west-1").close()
        after = gc.isenabled()
    finally:
        gc.enable()

    assert during == [False]
    assert after is enabled  # as it was: a collector someone turned off stays off
