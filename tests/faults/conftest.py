"""Fixtures for the fault tests: a :class:`FaultProxy` in front of moto, and a fresh region cache.

- ``proxy`` (per test): a started proxy in front of the ``s3`` fixture's moto (reset, fake credentials);
  pass ``endpoint_url=proxy.endpoint_url`` to the loader and arrange buckets with ``s3`` directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from dreambolt_magic.regions import region_cache

from .proxy import FaultProxy

if TYPE_CHECKING:
    from conftest import S3Helper


@pytest.fixture(autouse=True)
def _fresh_region_cache() -> Iterator[None]:
    region_cache.clear()
    yield
    region_cache.clear()


@pytest.fixture
def proxy(s3: S3Helper) -> Iterator[FaultProxy]:
    """A fault-injecting proxy in front of moto, with no faults queued."""
    with FaultProxy(s3.endpoint_url) as running:
        yield running
