"""`make demo`: run notebooks/quickstart.ipynb on a real kernel against the embedded S3 server.

The notebook starts the server itself (`%s3ingest_demo`), so what runs here is exactly what a user sees
in Jupyter. The executed notebook and an HTML rendering go to build/; the summary lines and the errors
the notebook shows on purpose are printed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "quickstart.ipynb"
BUILD = ROOT / "build"


def main() -> int:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    started = time.monotonic()
    print(f"Executing {NOTEBOOK.relative_to(ROOT)} on a python3 kernel (embedded S3 on 127.0.0.1)...")
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    elapsed = time.monotonic() - started

    BUILD.mkdir(exist_ok=True)
    executed = BUILD / "quickstart.ipynb"
    nbformat.write(nb, executed)
    body, _ = HTMLExporter().from_notebook_node(nb)
    page = BUILD / "quickstart.html"
    page.write_text(body, encoding="utf-8")

    print()
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                for line in output["text"].splitlines():
                    if line.startswith(("Loaded ", "Embedded S3")):
                        print(line)
            elif output.get("output_type") == "error":
                print(f"(expected) {output['ename']}: {output['evalue']}")
    print()
    print(f"Ran in {elapsed:.1f} s. Wrote {executed.relative_to(ROOT)} and {page.relative_to(ROOT)}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
