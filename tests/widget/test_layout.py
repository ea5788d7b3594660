"""The panel's layout as its widgets' state says it: rows that wrap, no fixed widths, a bounded output.

The browser test (test_browser.py) measures the panel on a laptop-sized screen; this is the quick check of
the same intent, without a browser: after browsing into a folder, so that the breadcrumbs are there too.
"""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets

from dreambolt_magic.notebook.panel import S3Panel


def _tree(root: ipywidgets.Widget) -> list[ipywidgets.Widget]:
    found, todo = [], [root]
    while todo:
        widget = todo.pop()
        found.append(widget)
        todo.extend(getattr(widget, "children", ()))
    return found


def test_rows_wrap_and_no_control_is_a_fixed_number_of_pixels_wide(
    make_panel: Callable[..., S3Panel], bucket: str
) -> None:
    panel = make_panel()
    panel.go_to(bucket, "data/")
    assert len(panel.breadcrumbs.children) == 2
    tree = _tree(panel)
    rows = [w for w in tree if isinstance(w, ipywidgets.HBox)]
    assert len(rows) >= 5 and panel.breadcrumbs in rows
    assert [r for r in rows if r.layout.flex_flow != "row wrap"] == []
    # Pixels add up past a narrow notebook; shares of the row (flex, %, auto) do not.
    fixed = [(type(w).__name__, getattr(w, "description", ""), w.layout.width) for w in tree
             if (w.layout.width or "").endswith("px")]
    assert fixed == []
    # After a load, the preview scrolls inside the output area rather than making the panel taller.
    assert panel.output.layout.max_height and panel.output.layout.overflow == "auto"
