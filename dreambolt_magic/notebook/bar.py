"""The panel's progress bar: a :class:`~dreambolt_magic.transfer.progress.Progress` drawn by ipywidgets.

The loader reports bytes through the :class:`~dreambolt_magic.transfer.progress.Progress` protocol from its worker
threads; :class:`WidgetProgress` shows them in an ``IntProgress`` and a status line, a few times a second.
"""

from __future__ import annotations

import threading
import time
from html import escape

import ipywidgets as widgets

from dreambolt_magic.transfer.progress import CACHED_NOTE
from dreambolt_magic.units import human_bytes

__all__ = ["WidgetProgress"]


class WidgetProgress:
    """A :class:`~dreambolt_magic.transfer.progress.Progress` that drives an ``IntProgress`` and a status line.

    Bytes are counted at once but shown at most every ``interval`` seconds, so a fast download sends a
    few messages a second to the browser rather than one per chunk. Safe to call from a worker thread.
    """

    def __init__(self, bar: widgets.IntProgress, status: widgets.HTML, *, interval: float = 0.1) -> None:
        self.bar = bar
        self.status = status
        self.interval = interval
        self._lock = threading.Lock()
        self._received = 0
        #: Bytes that came from the local cache: while they are all there is, no download speed is shown.
        self._from_cache = 0
        self._total: int | None = None
        self._name = ""
        self._began = 0.0
        self._shown = float("-inf")

    def start(self, total: int | None, description: str = "") -> None:
        with self._lock:
            if not self._began:
                self._began = time.monotonic()
            self._total, self._name = total, description or self._name
            self.bar.max = max(total or 0, 1)
            self.bar.value = 0
            self.bar.bar_style = "info" if total is None else ""
            self.status.value = escape(f"Loading {self._name}" + (f" ({human_bytes(total)})" if total else ""))

    def advance(self, n: int) -> None:
        with self._lock:
            self._received += n
            now = time.monotonic()
            if now - self._shown >= self.interval:
                self._show(now)

    def cached(self, n: int) -> None:
        with self._lock:
            self._received += n
            self._from_cache += n
            self._show(time.monotonic())

    def rewind(self, n: int) -> None:
        with self._lock:
            self._received -= n

    def retrying(self, attempt: int, max_attempts: int, reason: str, wait: float) -> None:
        self.status.value = escape(
            f"Attempt {attempt} of {max_attempts} failed ({reason}); retrying in {wait:.1f} s"
        )

    def finish(self, ok: bool) -> None:
        with self._lock:
            self._show(time.monotonic())
            if ok:
                self.bar.value = self.bar.max
            self.bar.bar_style = "success" if ok else "danger"

    def _show(self, now: float) -> None:
        self._shown = now
        self.bar.value = min(self._received, self.bar.max)
        elapsed = now - self._began
        of = f" of {human_bytes(self._total)}" if self._total else ""
        if self._from_cache and self._from_cache >= self._received:
            note = "" if CACHED_NOTE in self._name else f" {CACHED_NOTE}"  # the loader's name may say it already
            self.status.value = escape(f"{self._name}: {human_bytes(self._received)}{of}{note}")
            return
        rate = f" · {self._received / elapsed / 1e6:,.1f} MB/s" if elapsed > 0.05 else ""
        self.status.value = escape(f"{self._name}: {human_bytes(self._received)}{of}{rate}")
