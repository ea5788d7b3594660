"""The panel's bar on bytes from the cache: it says so, and claims no download speed."""

from __future__ import annotations

import re

import ipywidgets as widgets

from dreambolt_magic.notebook.bar import WidgetProgress

SPEED = re.compile(r"\d\s?[kMG]?B/s")


def test_the_panel_bar_says_cache_and_no_speed() -> None:
    bar, status = widgets.IntProgress(), widgets.HTML()
    progress = WidgetProgress(bar, status, interval=0.0)
    progress.start(2_000_000, "data.parquet")
    progress._began -= 1.0  # as if a second had passed: a speed would show now
    progress.cached(2_000_000)
    progress.finish(ok=True)
    assert "from cache" in status.value and not SPEED.search(status.value), status.value
    assert bar.value == bar.max and bar.bar_style == "success"
