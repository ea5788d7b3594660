"""The panel's layout: which controls share a row, and how the rows fit a laptop's screen.

At a 1024 px window with JupyterLab's file browser open, a cell's output is under 600 px wide and the notebook
shows about 650 px of it in height. So rows wrap (``flex_flow="row wrap"``) rather than run off the right
edge, each control takes a share of its row (a flex basis, at most a ``max_width``) rather than a fixed width
in pixels, labels are as wide as their words, and the lists and the output area have a bounded height, the
preview of a load scrolling inside it: the panel after a load fits on the screen, result and controls together.
On a wider screen the same rows simply hold more on one line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ipywidgets as widgets

if TYPE_CHECKING:
    from dreambolt_magic.notebook.panel import S3Panel

__all__ = ["OUTPUT_HEIGHT", "arrange"]

#: The output area's height at most (the summary and the first rows); more scrolls inside it.
OUTPUT_HEIGHT = "160px"
#: The rows the entries and the columns lists show; more scroll inside them.
ENTRY_ROWS, COLUMN_ROWS = 7, 4


def arrange(panel: S3Panel) -> list[widgets.Widget]:
    """Size ``panel``'s controls and return its rows, top to bottom, for ``panel.children``."""
    p = panel
    for field in (p.endpoint, p.region, p.profile, p.bucket, p.filter, p.uri, p.format, p.nrows, p.variable,
                  p.columns):
        field.style.description_width = "initial"
    for button in (p.buckets_button, p.up_button, p.more_button, p.load_button, p.cancel_button, p.anon,
                   p.requester_pays):
        button.layout.width = "auto"
    _share(p.endpoint, "220px")
    _share(p.region, "130px", "200px")
    _share(p.profile, "150px", "240px")
    _share(p.bucket, "220px")
    _share(p.filter, "160px", "320px")
    for field in (p.format, p.nrows, p.variable):
        _stretch(field, "260px")
    _share(p.progress, "120px", "320px")
    # As wide as their words: a short note stays beside the buttons, a long one (an error) takes a line of its own.
    _share(p.status, "auto")
    _share(p.browse_status, "auto")
    p.breadcrumbs.layout = widgets.Layout(flex_flow="row wrap", flex="0 1 auto", min_width="0")
    p.entries.rows, p.columns.rows = ENTRY_ROWS, COLUMN_ROWS
    for field in (p.uri, p.entries, p.columns, p.cell, p.output):
        _stretch(field)
    # The preview of a wide frame scrolls inside the output area rather than widening the panel.
    p.output.layout.max_height, p.output.layout.overflow = OUTPUT_HEIGHT, "auto"
    p.layout.width, p.layout.max_width = "100%", "1100px"
    options = widgets.VBox([p.format, p.nrows, p.variable], layout=widgets.Layout(flex="1 1 180px", min_width="0"))
    columns = widgets.VBox([p.columns, p.columns_note], layout=widgets.Layout(flex="2 1 240px", min_width="0"))
    return [
        _row(widgets.HTML("<b>S3 ingest</b>", layout=widgets.Layout(margin="0 8px 0 2px")),
             p.endpoint, p.region, p.profile, p.anon, p.requester_pays),
        _row(p.bucket, p.buckets_button, p.filter),
        _row(p.up_button, p.breadcrumbs, p.more_button, p.browse_status),
        p.entries,
        p.uri,
        _row(columns, options, align="flex-start"),
        _row(p.load_button, p.cancel_button, p.progress, p.status),
        p.cell,
        p.output,
    ]


def _share(widget: widgets.Widget, basis: str, max_width: str | None = None) -> None:
    """``widget`` takes a share of its row: ``basis`` wide at first, growing to ``max_width``, shrinking to fit.

    For a child of an ``HBox``: in a ``VBox`` the basis would be its height (see :func:`_stretch`)."""
    widget.layout.flex = f"1 1 {basis}"
    widget.layout.width = "auto"
    widget.layout.min_width = "0"
    if max_width is not None:
        widget.layout.max_width = max_width


def _stretch(widget: widgets.Widget, max_width: str | None = None) -> None:
    """``widget`` as wide as its column (less its margins), or ``max_width`` at most."""
    widget.layout.width = "auto"
    widget.layout.min_width = "0"
    if max_width is not None:
        widget.layout.max_width = max_width


def _row(*children: widgets.Widget, align: str = "center") -> widgets.HBox:
    """A row that wraps onto a second line where its children do not fit side by side."""
    return widgets.HBox(list(children), layout=widgets.Layout(flex_flow="row wrap", align_items=align,
                                                               width="100%"))
