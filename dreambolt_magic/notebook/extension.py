"""``%load_ext dreambolt_magic`` and ``%unload_ext``: register the magics and the completion of S3 URIs, warm the
loader up, take them away."""

from __future__ import annotations

import atexit
import contextlib
import threading
from typing import Any

__all__ = ["load_ipython_extension", "unload_ipython_extension"]

_NAMES = {
    "line": ("s3ingest", "s3ingest_cache", "s3ingest_demo", "s3ingest_info", "s3ingest_panel"),
    "cell": ("s3ingest",),
}


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext dreambolt_magic``: register the magics and the completion of S3 URIs (once)."""
    if "S3IngestMagics" in ipython.magics_manager.registry:
        return
    from dreambolt_magic.notebook import completion
    from dreambolt_magic.notebook.magics import S3IngestMagics

    magics = S3IngestMagics(ipython)
    parked = _parked.pop(id(ipython), None)
    if parked is not None:
        magics.adopt_demo(parked)  # %reload_ext: the same demo server and endpoint carry on
    ipython.register_magics(magics)
    completion.register(ipython, magics)
    # The once-a-process costs of a first load (the imports of pandas, pyarrow, botocore and the loader's
    # modules, botocore's service model), paid while the user types rather than by this call.
    threading.Thread(target=_warm_up, name="dreambolt-warm-up", daemon=True).start()


#: Demo servers between an unload and the next load, by shell: owned here, emptied by the load that adopts one.
_parked: dict[int, tuple[Any, ...]] = {}


def _stop_parked() -> None:
    for demo, *_ in _parked.values():
        with contextlib.suppress(Exception):
            demo.stop()
    _parked.clear()


def _warm_up() -> None:
    """Import what the first load will, then make (and drop) a client. A first load that starts meanwhile
    waits for what is under way (Python's lock on each module being imported, and the one on the first
    client: :func:`~dreambolt_magic.client.connection.warm_up`) instead of doing it a second time."""
    with contextlib.suppress(Exception):  # only a head start: the first load does the same if this fails
        import dreambolt_magic.datasets.loader  # noqa: F401  (pandas, pyarrow and the loader's modules)
        from dreambolt_magic.client.connection import warm_up

        warm_up()


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext dreambolt_magic``: remove the magics and the completion. A running demo server is kept for a
    ``%load_ext`` that follows (``%reload_ext`` is both), and stopped when the process ends."""
    from dreambolt_magic.notebook import completion

    completion.unregister(ipython)
    manager = ipython.magics_manager
    instance = manager.registry.pop("S3IngestMagics", None)
    if instance is None:
        return
    parked = instance.park_demo()
    if parked is not None:
        if not _parked:
            atexit.register(_stop_parked)
        _parked[id(ipython)] = parked
    for kind, names in _NAMES.items():
        for name in names:
            manager.magics[kind].pop(name, None)
    if instance in ipython.configurables:
        ipython.configurables.remove(instance)
