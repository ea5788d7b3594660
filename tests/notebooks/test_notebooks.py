"""Every notebook in notebooks/ runs top to bottom on a real kernel, as a user would run it."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@cache  # each notebook runs once per test session, however many tests read it
def execute(path: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    # Cells tagged raises-exception may fail (they show an error on purpose); any other error fails here.
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    return nb


def outputs(nb: nbformat.NotebookNode, kind: str) -> list[dict]:
    return [out for cell in nb.cells for out in cell.get("outputs", []) if out["output_type"] == kind]


def test_there_are_notebooks() -> None:
    assert [p.name for p in NOTEBOOKS][:1], "notebooks/ is empty"
    assert "quickstart.ipynb" in [p.name for p in NOTEBOOKS]


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path: Path) -> None:
    nb = execute(path)
    for cell in nb.cells:
        errors = [o for o in cell.get("outputs", []) if o["output_type"] == "error"]
        if "raises-exception" in cell.metadata.get("tags", []):
            assert errors, f"a cell meant to show an error did not fail: {cell.source!r}"
        else:
            assert not errors, f"{cell.source!r} failed: {errors}"


@pytest.mark.notebook
def test_quickstart_shows_loads_errors_and_config() -> None:
    nb = execute(ROOT / "notebooks" / "quickstart.ipynb")
    text = "".join(o["text"] for o in outputs(nb, "stream"))
    assert text.count("Loaded s3://dreambolt-demo/") >= 8
    assert "region eu-west-1" in text
    names = [o["ename"] for o in outputs(nb, "error")]
    assert names == ["S3NotFound", "S3FormatError"]
    html = [o["data"]["text/html"] for o in outputs(nb, "display_data") if "text/html" in o.get("data", {})]
    assert any("How to fix it" in h and "trips-2023.parquet" in h for h in html)
    results = [o["data"].get("text/plain", "") for o in outputs(nb, "execute_result")]
    assert "False" in results  # 'missing' was not bound
    assert any("S3IngestMagics.max_attempts" in t for t in [text])
