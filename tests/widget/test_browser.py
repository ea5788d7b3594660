"""The panel in a real browser: JupyterLab on 127.0.0.1, headless Debian Chromium driven by Playwright.

The test opens ``notebooks/panel.ipynb`` (a copy: JupyterLab saves what it opens), runs all its cells from
the Run menu, then uses the panel that ``%s3ingest_panel`` showed as a person would: types the bucket,
picks ``trips.parquet`` in the list, picks two columns, names the variable and clicks Load. It checks that
the preview table and the equivalent cell appear in the panel, and that the variable is bound in the kernel
(from a new cell typed into the notebook). Then it runs a ``%%s3ingest`` load and a failing one from typed cells.

All of it at 1024 x 768 with JupyterLab's file browser open, a laptop's screen: every control of the panel must
be inside the window horizontally, and the panel after a load no taller than the notebook's visible area, so
nothing needs a horizontal scroll and the result is seen with the controls. Screenshots go to
``build/screenshots/``, the sizes measured to ``build/screenshots/layout.json``.

Needs Debian's ``chromium`` (``apt-get install chromium``) and the ``playwright`` and ``jupyterlab``
packages; Playwright drives the system Chromium, so ``playwright install`` (a download) is not used.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "build" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
TOKEN = "dreambolt-browser-test"
NEEDS = "apt-get install chromium; pip install playwright jupyterlab"
#: What a person waits for at most, in milliseconds.
PATIENCE = 60_000
#: A laptop's browser window, with the sidebar open.
VIEWPORT = {"width": 1024, "height": 768}


@dataclass(frozen=True)
class Lab:
    url: str
    log: Path

    def api(self, path: str, method: str = "GET") -> Any:
        request = urllib.request.Request(f"{self.url}{path}", method=method,
                                         headers={"Authorization": f"token {TOKEN}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    """JupyterLab serving a copy of notebooks/panel.ipynb, with its own settings and nothing fetched."""
    try:
        import jupyterlab  # noqa: F401
        import playwright  # noqa: F401
    except ImportError as exc:
        pytest.fail(f"the browser test needs {exc.name}: {NEEDS}")
    if not CHROMIUM.exists():
        pytest.fail(f"the browser test needs {CHROMIUM}: {NEEDS}")
    root, home = tmp_path / "root", tmp_path / "home"
    root.mkdir()
    shutil.copy(ROOT / "notebooks" / "panel.ipynb", root / "panel.ipynb")
    settings = home / "lab-settings"
    _write_json(settings / "@jupyterlab/apputils-extension/notification.jupyterlab-settings",
                {"checkForUpdates": False, "fetchNews": "false"})
    # Every cell stays in the page, so the panel at the top can be used after the rest has run.
    _write_json(settings / "@jupyterlab/notebook-extension/tracker.jupyterlab-settings", {"windowingMode": "none"})
    env = {
        **os.environ,
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "IPYTHONDIR": str(home / "ipython"),
    }
    port = _free_port()
    log = tmp_path / "jupyterlab.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={TOKEN}",
             f"--ServerApp.root_dir={root}", "--LabApp.extension_manager=readonly"],
            env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=root,
        )
    started = Lab(f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                started.api("/api/status")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.2)
        yield started
    finally:
        try:
            for kernel in started.api("/api/kernels"):
                started.api(f"/api/kernels/{kernel['id']}", method="DELETE")
        except OSError:
            pass
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def _write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))


#: Where each control of the panel is, and how big the panel and the notebook's visible area are.
MEASURE = """panel => {
    const box = e => e.getBoundingClientRect();
    const name = e => (e.closest('.widget-checkbox')?.textContent
                       || e.closest('.widget-inline-hbox')?.querySelector('label')?.textContent
                       || e.textContent || e.placeholder || e.type || '').replace('\\u200b', '').trim().slice(0, 40);
    const where = e => `${e.tagName.toLowerCase()} ${name(e)} at `
                       + `${Math.round(box(e).left)}..${Math.round(box(e).right)}`;
    const controls = [...panel.querySelectorAll('input, select, button, textarea')]
        .filter(e => box(e).width > 0);
    const notebook = document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer');
    const sidebar = document.querySelector('#jp-left-stack');
    return {
        viewport: [innerWidth, innerHeight],
        sidebar: sidebar ? Math.round(box(sidebar).width) : 0,
        notebook: [Math.round(notebook.clientWidth), Math.round(notebook.clientHeight)],
        panel: [Math.round(box(panel).left), Math.round(box(panel).right), Math.round(box(panel).height)],
        overflow: panel.scrollWidth - panel.clientWidth,
        controls: controls.length,
        outside: controls.filter(e => box(e).left < 0 || box(e).right > innerWidth).map(where),
        beyond: controls.filter(e => box(e).left < box(panel).left - 1 || box(e).right > box(panel).right + 1)
            .map(where),
    };
}"""


def _measure(panel: Any, when: str, sizes: dict[str, Any]) -> dict[str, Any]:
    """The layout of ``panel`` now, recorded in ``sizes`` under ``when``; every control must be in the window."""
    found: dict[str, Any] = panel.evaluate(MEASURE)
    sizes[when] = found
    (SHOTS / "layout.json").write_text(json.dumps(sizes, indent=1))
    assert found["controls"] >= 15, found
    assert not found["outside"], f"{when}: panel controls outside the {VIEWPORT['width']} px window: {found}"
    # Nor sticking out of the panel, where the notebook would clip them or scroll sideways.
    assert not found["beyond"] and found["overflow"] <= 0, f"{when}: the panel overflows sideways: {found}"
    return found


def _run_new_cell(page: Any, *lines: str) -> Any:
    """Type ``lines`` into a new cell at the end and run it, as a person would; the cell."""
    cells = page.locator(".jp-Notebook .jp-Cell")
    last = cells.nth(cells.count() - 1)
    if last.locator(".jp-InputArea-editor").inner_text().strip():
        last.locator(".jp-InputPrompt").click()
        page.keyboard.press("Escape")
        page.keyboard.press("b")
        page.keyboard.press("Enter")
    else:  # the empty cell that running the last one added
        last.locator(".jp-InputArea-editor").click()
    for number, line in enumerate(lines):
        if number:
            page.keyboard.press("Enter")
        page.keyboard.type(line)
    # Pinned by number: running the last cell adds a new one after it.
    cell = cells.nth(cells.count() - 1)
    page.keyboard.press("Shift+Enter")
    return cell


@pytest.mark.notebook
def test_the_panel_loads_an_object_picked_in_a_real_browser(lab: Lab) -> None:
    from playwright.sync_api import expect, sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    sizes: dict[str, Any] = {}
    expect.set_options(timeout=PATIENCE)
    with sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
        )
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.set_default_timeout(PATIENCE)
            page.goto(f"{lab.url}/lab/tree/panel.ipynb?token={TOKEN}")
            page.get_by_text("Python 3 (ipykernel) | Idle").wait_for()
            # The file browser is open beside the notebook, as JupyterLab starts.
            expect(page.locator("#jp-left-stack")).to_be_visible()

            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
            panel = page.locator(".dreambolt-panel").first
            outputs = page.locator(".jp-OutputArea-output")
            expect(panel.locator(".dreambolt-bucket input")).to_be_visible()
            # The whole notebook ran: its last cell shows the failed load, in the second panel.
            expect(outputs.filter(has_text="10000 rows: fares is unchanged")).to_be_visible()
            page.get_by_text("Python 3 (ipykernel) | Idle").wait_for()
            assert "Traceback" not in page.locator(".jp-Notebook").inner_text()
            page.screenshot(path=str(SHOTS / "1-notebook.png"))
            failed = page.locator(".dreambolt-panel").last
            failed.evaluate("panel => panel.scrollIntoView({block: 'start'})")
            _measure(failed, "failed", sizes)
            page.screenshot(path=str(SHOTS / "1-panel-failed.png"))

            panel.scroll_into_view_if_needed()
            opened = _measure(panel, "opened", sizes)
            assert opened["sidebar"] > 150, opened
            panel.locator(".dreambolt-bucket input").fill("dreambolt-demo")
            panel.locator(".dreambolt-bucket input").press("Enter")
            entries = panel.locator(".dreambolt-entries select")
            expect(entries.locator("option").first).to_have_text("broken/")
            names = entries.locator("option").all_text_contents()
            # ipywidgets shows the blanks of an option as no-break spaces.
            matches = [name for name in names if name.replace("\xa0", " ").startswith("trips.parquet")]
            assert len(matches) == 1, names
            trips = matches[0]
            entries.select_option(label=trips)
            expect(panel.locator(".dreambolt-uri input")).to_have_value("s3://dreambolt-demo/trips.parquet")
            columns = panel.locator(".dreambolt-columns select")
            expect(columns.locator("option")).to_have_count(8)
            columns.select_option(label=["fare_amount", "tip_amount"])
            panel.locator(".dreambolt-variable input").fill("picked")
            panel.locator(".dreambolt-variable input").press("Enter")
            _measure(panel, "picked", sizes)
            page.screenshot(path=str(SHOTS / "2-picked.png"))

            panel.locator(".dreambolt-load-button").click()
            expect(panel.locator(".dreambolt-output table.dataframe")).to_be_visible()
            expect(panel.locator(".dreambolt-status")).to_contain_text("Loaded into picked")
            expect(panel.locator(".dreambolt-cell textarea")).to_have_value(
                "%%s3ingest picked --columns fare_amount,tip_amount\ns3://dreambolt-demo/trips.parquet"
            )
            header = panel.locator(".dreambolt-output table.dataframe thead").inner_text()
            assert "fare_amount" in header and "tip_amount" in header and "pickup_zone" not in header
            loaded = _measure(panel, "loaded", sizes)
            # The whole panel, the result with the controls, is seen without scrolling the notebook.
            assert loaded["panel"][2] <= loaded["notebook"][1], f"the panel after a load is too tall: {loaded}"
            panel.evaluate("panel => panel.scrollIntoView({block: 'start'})")
            page.screenshot(path=str(SHOTS / "3-panel-loaded.png"))

            # A new cell at the end, typed and run as a person would, sees the variable.
            _run_new_cell(page, "print('bound:', type(picked).__name__, picked.shape, list(picked.columns))")
            expect(outputs.filter(has_text="bound: DataFrame (50000, 2) ['fare_amount', 'tip_amount']")).to_be_visible()
            page.screenshot(path=str(SHOTS / "4-bound.png"))

            # The magics at the same size: a load, and a load that fails with its explanation.
            cell = _run_new_cell(page, "%%s3ingest trips", "s3://dreambolt-demo/trips.parquet")
            expect(cell.locator(".jp-OutputArea-output", has_text="Loaded s3://dreambolt-demo/trips.parquet")).to_be_visible()
            cell.scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / "5-magic-load.png"))
            cell = _run_new_cell(page, "%%s3ingest trips", "s3://dreambolt-demo/broken/not-really.parquet")
            expect(cell.locator(".dreambolt-error")).to_be_visible()
            cell.scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / "6-magic-error.png"))
            # What went wrong is said once: the explanation, then a short line that the cell failed.
            said = cell.locator(".jp-OutputArea-output", has_text="does not start with the Parquet magic bytes")
            assert said.count() == 1, f"the message is shown {said.count()} times"
            expect(cell.locator(".jp-OutputArea-output", has_text="nothing was bound")).to_be_visible()
            for output in cell.locator(".jp-OutputArea-output").all():
                wide = output.evaluate("e => e.scrollWidth - e.clientWidth")
                assert wide <= 0, f"the error scrolls sideways by {wide} px"
        finally:
            browser.close()
