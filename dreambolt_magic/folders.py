"""Where dreambolt_magic keeps files of its own: one folder in the user's cache, read when asked."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_home"]


def cache_home() -> Path:
    """``$XDG_CACHE_HOME/dreambolt_magic``, else ``~/.cache/dreambolt_magic`` (read when called)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "dreambolt_magic"
