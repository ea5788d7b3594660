"""Write notebooks/panel.ipynb from the cells below (run by hand after editing them).

The notebook shows the widget panel against the embedded S3 server. It is committed without outputs;
tests/notebooks executes it headless, and tests/widget/test_browser.py opens it in JupyterLab.
"""

from __future__ import annotations

from pathlib import Path

from make_notebooks import write
from nbformat.v4 import new_code_cell, new_markdown_cell

ROOT = Path(__file__).resolve().parent.parent

PANEL = [
    new_markdown_cell(
        "# The dreambolt_magic panel\n\n"
        "`%s3ingest_panel` shows a panel to browse S3, pick an object, choose its columns and load it into "
        "a variable by clicking, with the progress bar, the result and any error inside the panel.\n\n"
        "This notebook runs against an **embedded S3 server** (moto, on 127.0.0.1 in this kernel), so it "
        "needs no AWS account and no network."
    ),
    new_code_cell("%load_ext dreambolt_magic"),
    new_code_cell("demo = %s3ingest_demo"),
    new_markdown_cell(
        "## The panel\n\n"
        "Its endpoint, region, profile and anonymous access come from `%config S3IngestMagics` (here, the "
        "embedded server). Choose the bucket, open folders, click an object: its URI is filled in and its "
        "columns are read from its schema (for Parquet, from the footer alone). Pick some columns or none "
        "(all), name the variable and click **Load**; **Cancel** stops the download and binds nothing.\n\n"
        "After a load the panel shows the summary, the first rows and the equivalent `%%s3ingest` cell to "
        "copy into the notebook."
    ),
    new_code_cell("%s3ingest_panel"),
    new_markdown_cell(
        "## What a click does, from code\n\n"
        "`dreambolt_magic.panel()` returns the same panel as an object; every part of it is an attribute, "
        "so it can be driven by setting values and clicking buttons. The load runs in a thread; `wait()` "
        "waits for it."
    ),
    new_code_cell(
        "import dreambolt_magic as dm\n\n"
        "panel = dm.panel(endpoint_url=demo.endpoint_url)\n"
        "panel.bucket.value = demo.bucket   # lists the bucket, folders first\n"
        "[label for label, _ in panel.entries.options]"
    ),
    new_code_cell(
        "panel.entries.value = 'object:trips.parquet'   # as a click on it: fills the URI, reads the columns\n"
        "panel.uri.value, panel.columns.options"
    ),
    new_code_cell(
        "panel.columns.value = ('pickup_zone', 'fare_amount', 'tip_amount')\n"
        "panel.nrows.value = '10000'\n"
        "panel.variable.value = 'fares'\n"
        "panel.load_button.click()\n"
        "panel.wait(120)\n"
        "print(panel.cell.value)\n"
        "panel"
    ),
    new_code_cell("fares.groupby('pickup_zone')[['fare_amount', 'tip_amount']].mean().round(2).head()"),
    new_markdown_cell(
        "## When a load fails\n\n"
        "The explanation appears inside the panel, and the variable keeps its previous value."
    ),
    new_code_cell(
        "panel.uri.value = 's3://dreambolt-demo/broken/not-really.parquet'\n"
        "panel.variable.value = 'fares'\n"
        "panel.load_button.click()\n"
        "panel.wait(120)\n"
        "print(len(fares), 'rows: fares is unchanged')\n"
        "panel"
    ),
]


if __name__ == "__main__":
    write(ROOT / "notebooks" / "panel.ipynb", PANEL)
    print("wrote notebooks/panel.ipynb")
