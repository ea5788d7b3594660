"""``%load_ext dreambolt_magic`` and ``%unload_ext``: register the magics, warm the loader up, take them away."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from dreambolt_magic.client.connection import warm_up

__all__ = ["load_ipython_extension", "unload_ipython_extension"]

_NAMES = {
    "line": ("s3ingest", "s3ingest_cache", "s3ingest_demo", "s3ingest_info", "s3ingest_panel"),
    "cell": ("s3ingest",),
}


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext dreambolt_magic``: register the magics (once)."""
    if "S3IngestMagics" in ipython.magics_manager.registry:
        return
    from dreambolt_magic.notebook.magics import S3IngestMagics

    ipython.register_magics(S3IngestMagics(ipython))
    # The once-a-process costs of a first load (botocore's service model), paid while the user types.
    threading.Thread(target=_warm_up, name="dreambolt-warm-up", daemon=True).start()


def _warm_up() -> None:
    with contextlib.suppress(Exception):  # only a head start: the first load does the same if this fails
        warm_up()


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext dreambolt_magic``: remove the magics and stop the demo server."""
    manager = ipython.magics_manager
    instance = manager.registry.pop("S3IngestMagics", None)
    if instance is None:
        return
    instance.stop_demo()
    for kind, names in _NAMES.items():
        for name in names:
            manager.magics[kind].pop(name, None)
    if instance in ipython.configurables:
        ipython.configurables.remove(instance)
