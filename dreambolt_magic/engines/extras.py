"""Which engines there are, and what each needs installed: :func:`check` a name, :func:`require` its packages
(with the ``pip install`` that brings them when they are missing)."""

from __future__ import annotations

import importlib
import signal
from typing import Any

__all__ = ["ENGINES", "NEEDS", "check", "require"]

#: The kinds of DataFrame ``load(engine=...)`` makes; the first is the default.
ENGINES = ("pandas", "dask", "polars")
#: The modules each engine imports, and the extra that installs them.
NEEDS = {"pandas": (), "dask": ("dask.dataframe",), "polars": ("polars",)}



def check(engine: Any) -> str:
    """``engine`` if it is one of :data:`ENGINES`; else ValueError naming the choices."""
    if not isinstance(engine, str) or engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(map(repr, ENGINES))}, not {engine!r}")
    return engine


def require(engine: str) -> None:
    """Import what ``engine`` needs; an ImportError that says which extra to install if it is missing.

    Called before any request, so that a missing package is reported before anything is downloaded.
    """
    for module in NEEDS[check(engine)]:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ImportError(
                f"engine={engine!r} needs {module.partition('.')[0]}, which is not installed (or does not "
                f"import: {exc}); install it with: pip install 'dreambolt_magic[{engine}]'"
            ) from exc
    if engine == "polars":
        _keep_ctrl_c_interrupting()


def _keep_ctrl_c_interrupting() -> None:
    """Let Ctrl-C interrupt blocking waits again once polars is imported.

    polars installs its own SIGINT handler with ``SA_RESTART`` (pola-rs/polars#21739), so the kernel resumes
    a blocking wait after Ctrl-C instead of letting Python raise KeyboardInterrupt: a load waiting on a
    stalled part would ignore Ctrl-C until its read timeout. Python installs its handlers without that flag;
    this clears it again and keeps polars' handler (which still sees the signal) in place.
    """
    if hasattr(signal, "siginterrupt"):  # POSIX; Windows has no SA_RESTART
        signal.siginterrupt(signal.SIGINT, True)
