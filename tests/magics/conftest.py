"""A real IPython shell with ``dreambolt_magic`` loaded and pointed at the suite's moto server.

- ``shell`` (module): the process's ``InteractiveShell`` singleton. ``display()`` and
  ``capture_output()`` find the shell through the singleton, so the magics must run in it. If another
  module already made one, it is reused and left in place; if this module made it, it is cleared at the end
  so later modules can make their own (``start_ipython()`` would otherwise meet a foreign singleton).
- ``ip`` (per test): the extension freshly loaded, ``endpoint_url`` set to moto and ``progress`` off by
  ``%config``; afterwards the extension is unloaded, the ``S3IngestMagics`` config section forgotten, the
  names a test bound removed and the bucket-region cache cleared, so nothing leaks into the next test.
- ``bucket``: bucket ``bkt`` holding the 20-row sample frame as ``data.csv`` and ``data.parquet``.
"""

from __future__ import annotations

import builtins
import sys
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from helpers import make_frame, to_bytes
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from dreambolt_magic.regions import region_cache

EXTENSION = "dreambolt_magic"
SECTION = "S3IngestMagics"
BUCKET = "bkt"
ROWS = 20


@pytest.fixture(scope="module")
def shell() -> Iterator[InteractiveShell]:
    """The InteractiveShell singleton, with history kept in memory (no ~/.ipython database)."""
    created = not InteractiveShell.initialized()
    if not created:
        yield InteractiveShell.instance()
        return
    main, builtin_names = sys.modules["__main__"], set(vars(builtins))
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    instance = InteractiveShell.instance(config=config)
    # The shell installs its user module as __main__; pytest's belongs there (as start_ipython() does).
    sys.modules["__main__"] = main
    try:
        yield instance
    finally:
        InteractiveShell.clear_instance()
        # It also adds builtins such as __IPYTHON__, which libraries read as "running in IPython".
        for name in set(vars(builtins)) - builtin_names:
            delattr(builtins, name)


def _forget_config(shell: InteractiveShell) -> None:
    # %config merges its section into every configurable's config, the shell's included, and a Magics
    # instance made later takes its config from the shell (its parent): drop the section everywhere.
    for configurable in [shell, *shell.configurables]:
        if SECTION in configurable.config:
            del configurable.config[SECTION]


def _unload(shell: InteractiveShell) -> None:
    if EXTENSION in shell.extension_manager.loaded:
        shell.run_line_magic("unload_ext", EXTENSION)


@pytest.fixture
def ip(shell: InteractiveShell, s3: Any) -> Iterator[InteractiveShell]:
    """The shell with the extension loaded afresh, reading from moto, progress bar off."""
    _unload(shell)
    _forget_config(shell)
    region_cache.clear()
    saved_ns = dict(shell.user_ns)
    saved_types = list(shell.display_formatter.active_types)
    if "text/html" not in saved_types:
        # A terminal shell formats text/plain only; the rich explanation is the HTML a kernel would show.
        shell.display_formatter.active_types = [*saved_types, "text/html"]
    shell.run_line_magic("load_ext", EXTENSION)
    shell.run_line_magic("config", f"{SECTION}.endpoint_url = {s3.endpoint_url!r}")
    shell.run_line_magic("config", f"{SECTION}.progress = False")
    try:
        yield shell
    finally:
        _unload(shell)
        _forget_config(shell)
        for name in set(shell.user_ns) - set(saved_ns):
            del shell.user_ns[name]
        for name, value in saved_ns.items():
            if shell.user_ns.get(name) is not value:
                shell.user_ns[name] = value
        shell.display_formatter.active_types = saved_types
        region_cache.clear()


@pytest.fixture
def source() -> pd.DataFrame:
    """The frame every sample object holds."""
    return make_frame(ROWS)


@pytest.fixture
def bucket(s3: Any, source: pd.DataFrame) -> str:
    """Bucket ``bkt`` (us-east-1) with ``data.csv`` and ``data.parquet``; returns its name."""
    s3.make_bucket(BUCKET)
    s3.put(BUCKET, "data.csv", to_bytes(source, "csv"))
    s3.put(BUCKET, "data.parquet", to_bytes(source, "parquet"))
    return BUCKET
