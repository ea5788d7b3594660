"""Fixtures for the panel tests: panels on the suite's moto server, a real shell, and slow or faulty links.

- ``ns``: the namespace a panel binds into (a plain dict).
- ``make_panel(**options)``: an :class:`S3Panel` on moto binding into ``ns``; every one made is waited for
  and closed at the end, so no load thread outlives its test.
- ``bucket``: bucket ``bkt`` with the sample frame as ``data/sample.parquet`` (big enough that its footer
  is not in the first 64 KiB), ``data/sample.csv.gz`` and ``data/sample.csv``, and ``top.csv``.
- ``shell`` (module) and ``ip``: the IPython singleton with the extension loaded and pointed at moto.
- ``slow`` (a function): a :class:`ThrottledProxy` in front of moto at a given rate.
"""

from __future__ import annotations

import builtins
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest
from helpers import make_frame, to_bytes
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from dreambolt_magic.regions import region_cache
from dreambolt_magic.widget import S3Panel

from .throttle import ThrottledProxy

if TYPE_CHECKING:
    from conftest import S3Helper

BUCKET = "bkt"
ROWS = 20_000


@pytest.fixture(autouse=True)
def _fresh_region_cache() -> Iterator[None]:
    region_cache.clear()
    yield
    region_cache.clear()


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
def slow(s3: S3Helper) -> Iterator[Callable[[float], ThrottledProxy]]:
    started: list[ThrottledProxy] = []

    def start(rate: float) -> ThrottledProxy:
        proxy = ThrottledProxy(s3.endpoint_url, rate=rate).__enter__()
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.__exit__()


@pytest.fixture(scope="module")
def shell() -> Iterator[InteractiveShell]:
    """The InteractiveShell singleton, history in memory; cleared at the end if this module made it."""
    if InteractiveShell.initialized():
        yield InteractiveShell.instance()
        return
    main, builtin_names = sys.modules["__main__"], set(vars(builtins))
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    instance = InteractiveShell.instance(config=config)
    sys.modules["__main__"] = main  # the shell installs its own user module there
    try:
        yield instance
    finally:
        InteractiveShell.clear_instance()
        for name in set(vars(builtins)) - builtin_names:
            delattr(builtins, name)


@pytest.fixture
def ip(shell: InteractiveShell, s3: S3Helper) -> Iterator[InteractiveShell]:
    """The shell with the extension loaded afresh, its endpoint moto's, progress bar off."""
    if "dreambolt_magic" in shell.extension_manager.loaded:
        shell.run_line_magic("unload_ext", "dreambolt_magic")
    saved_ns = dict(shell.user_ns)
    shell.run_line_magic("load_ext", "dreambolt_magic")
    shell.run_line_magic("config", f"S3IngestMagics.endpoint_url = {s3.endpoint_url!r}")
    shell.run_line_magic("config", "S3IngestMagics.progress = False")
    try:
        yield shell
    finally:
        shell.run_line_magic("unload_ext", "dreambolt_magic")
        for configurable in [shell, *shell.configurables]:
            if "S3IngestMagics" in configurable.config:
                del configurable.config["S3IngestMagics"]
        for name in set(shell.user_ns) - set(saved_ns):
            del shell.user_ns[name]
