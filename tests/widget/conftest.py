"""Fixtures for the panel tests: panels on the suite's moto server, and slow links.

The suite's ``shell``, ``ip`` and ``proxy`` (tests/conftest.py) serve here too.

- ``ns``: the namespace a panel binds into (a plain dict).
- ``make_panel(**options)``: an :class:`S3Panel` on moto binding into ``ns``; every one made is waited for
  and closed at the end, so no load thread outlives its test.
- ``bucket``: bucket ``bkt`` with the sample frame as ``data/sample.parquet`` (big enough that its footer
  is not in the first 64 KiB), ``data/sample.csv.gz`` and ``data/sample.csv``, and ``top.csv``.
- ``slow(rate)``: a :class:`FaultProxy` in front of moto that sends every GET's body at ``rate`` bytes a
  second (:class:`Throttle`); its ``sent`` and ``aborted`` tell how much went out and whether the client
  hung up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest
from faults.proxy import Fault, FaultProxy, Throttle
from helpers import make_frame, to_bytes

from dreambolt_magic.notebook.panel import S3Panel

if TYPE_CHECKING:
    from conftest import S3Helper

BUCKET = "bkt"
ROWS = 20_000


@pytest.fixture
def ns() -> dict[str, Any]:
    return {}


@pytest.fixture
def make_panel(s3: S3Helper, ns: dict[str, Any]) -> Iterator[Callable[..., S3Panel]]:
    made: list[S3Panel] = []

    def make(**options: Any) -> S3Panel:
        options.setdefault("endpoint_url", s3.endpoint_url)
        options.setdefault("namespace", ns)
        panel = S3Panel(**options)
        made.append(panel)
        return panel

    yield make
    for panel in made:
        panel.cancel()
        assert panel.wait(10), "a load thread outlived its test"
        panel.close()


@pytest.fixture
def source() -> pd.DataFrame:
    return make_frame(ROWS, with_timestamps=True)


@pytest.fixture
def bucket(s3: S3Helper, source: pd.DataFrame) -> str:
    s3.make_bucket(BUCKET)
    s3.put(BUCKET, "data/sample.parquet", to_bytes(source, "parquet"))
    s3.put(BUCKET, "data/sample.csv.gz", to_bytes(source, "csv", "gzip"))
    s3.put(BUCKET, "data/sample.csv", to_bytes(source.head(50), "csv"))
    s3.put(BUCKET, "top.csv", b"a,b\n1,2\n")
    return BUCKET


@pytest.fixture
def slow(s3: S3Helper) -> Iterator[Callable[[float], FaultProxy]]:
    with ExitStack() as started:

        def start(rate: float) -> FaultProxy:
            proxy = started.enter_context(FaultProxy(s3.endpoint_url))
            proxy.add(Fault(Throttle(rate), times=None))
            return proxy

        yield start
