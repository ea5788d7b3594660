"""The panel's output area: what a load printed, its summary, and every error, shown where the user looks.

Appended with ``Output.append_*``-style updates of ``outputs`` under a lock, rather than ``with output:``,
which routes by message and misfires from threads. An :class:`~dreambolt_magic.errors.S3Error` is shown as
the same explanation the magic shows; anything else as its traceback: no exception vanishes.
"""

from __future__ import annotations

import threading
import traceback
from html import escape
from typing import Any

import ipywidgets as widgets

from dreambolt_magic.errors import S3Error

__all__ = ["Outputs"]


class Outputs:
    """Output for the panel (mixed into :class:`~dreambolt_magic.notebook.panel.S3Panel`, which has the widgets)."""

    output: widgets.Output
    status: widgets.HTML
    _output_lock: threading.Lock

    def _append(self, output: dict[str, Any]) -> None:
        with self._output_lock:
            self.output.outputs = (*self.output.outputs, output)

    def _append_text(self, text: str, stream: str = "stdout") -> None:
        self._append({"output_type": "stream", "name": stream, "text": text})

    def _clear_output(self) -> None:
        with self._output_lock:
            self.output.outputs = ()

    def _show_error(self, exc: BaseException, unchanged: str | None = None) -> None:
        """Show an error in the panel: the rich explanation for ours, the traceback for anything else."""
        keeps = f"; {unchanged} is unchanged" if unchanged else ""
        if isinstance(exc, S3Error):
            from dreambolt_magic import explain

            self._append({"output_type": "display_data", "metadata": {},
                          "data": {"text/html": exc._repr_html_(), "text/plain": explain.render_text(exc)}})
            self.status.value = (f"<span style='color:#a94442'>{escape(type(exc).__name__)}: "
                                 f"{escape(exc.message)}{escape(keeps)}</span>")
            return
        self._append_text("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)), "stderr")
        self.status.value = (f"<span style='color:#a94442'>Unexpected error {escape(type(exc).__name__)}: "
                             f"{escape(str(exc))}{escape(keeps)}</span>")
