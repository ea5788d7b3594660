"""The panel's output area: what a load printed, its summary, and every error, shown where the user looks.

Appended with ``Output.append_*``-style updates of ``outputs`` under a lock, rather than ``with output:``,
which routes by message and misfires from threads. An :class:`~dreambolt_magic.errors.S3Error` is shown as
the same explanation the magic shows, in the panel's words (:func:`panel_wording`: "the Format menu", not
``--format``); anything else as its traceback: no exception vanishes.
"""

from __future__ import annotations

import threading
import traceback
from html import escape
from typing import Any

import ipywidgets as widgets

from dreambolt_magic import explain
from dreambolt_magic.errors import S3Error

__all__ = ["CONTROLS", "PHRASES", "Outputs", "panel_wording"]

#: The magic options the panel has a control for: the control (an attribute of the panel) and what it is. Its
#: words come from the control's own label, so that a remedy names what the panel shows.
CONTROLS = {
    "--format": ("format", "menu"),
    "--columns": ("columns", "list"),
    "--nrows": ("nrows", "field"),
    "--region": ("region", "field"),
    "--profile": ("profile", "field"),
    "--endpoint-url": ("endpoint", "field"),
    "--anon": ("anon", "box"),
    "--requester-pays": ("requester_pays", "box"),
}
#: The panel's words for the rest (applied first, so their options are then named as controls).
PHRASES = {
    "run the cell again": "click Load again",
    "Run the cell again": "Click Load again",
    "drop --region": "clear --region",
    "drop --endpoint-url": "clear --endpoint-url",
    "load it without credentials: --anon": "load it without credentials: tick --anon",
    "add --requester-pays (requester_pays=True)": "tick --requester-pays",
    "with --force (force=True)": "with --force in a %%s3ingest cell",
    "allow more attempts: --max-attempts 10": "allow more attempts: %config S3IngestMagics.max_attempts = 10, "
                                              "then open %s3ingest_panel again",
    "pass parser options:": "load it with a %%s3ingest cell and parser options:",
}


def panel_wording(panel: Any) -> explain.Wording:
    """The words of ``panel``'s controls for the magic options its remedies name (:data:`CONTROLS`)."""
    options = {option: f"the {getattr(panel, name).description} {kind}" for option, (name, kind) in CONTROLS.items()}
    return explain.Wording(options=options, phrases=PHRASES)



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
            words = panel_wording(self)
            self._append({"output_type": "display_data", "metadata": {},
                          "data": {"text/html": explain.render_html(exc, words),
                                   "text/plain": explain.render_text(exc, words)}})
            # The explanation below says what happened; the status only that it failed, and what was kept.
            code = f" ({exc.code})" if exc.code else ""
            self.status.value = (f"<span style='color:#a94442'>{escape(type(exc).__name__)}{escape(code)}: "
                                 f"not loaded, see below{escape(keeps)}</span>")
            return
        self._append_text("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)), "stderr")
        self.status.value = (f"<span style='color:#a94442'>Unexpected error {escape(type(exc).__name__)}: "
                             f"{escape(str(exc))}{escape(keeps)}</span>")
