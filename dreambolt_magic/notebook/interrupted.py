"""What a magic raises on Ctrl-C (apart from the panel's widgets, which the magics do not import)."""

from __future__ import annotations

__all__ = ["LoadInterrupted"]


class LoadInterrupted(KeyboardInterrupt):
    """Ctrl-C during a magic's load: a KeyboardInterrupt (Run All stops) that IPython shows as one line."""

    def _render_traceback_(self) -> list[str]:
        return [str(self)]
