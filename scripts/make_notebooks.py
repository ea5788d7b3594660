"""Write notebooks/quickstart.ipynb from the cells below (run by hand after editing them).

The notebook is committed without outputs; `make demo` executes it and writes the executed copy and
an HTML rendering under build/.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent

QUICKSTART = [
    new_markdown_cell(
        "# dreambolt_magic quick start\n\n"
        "Load S3 objects into pandas DataFrames with `%%s3ingest`, with a progress bar while they load, a "
        "short summary after, and an explanation with the fix when something goes wrong.\n\n"
        "This notebook runs against an **embedded S3 server** (moto, on 127.0.0.1 in this kernel), so it "
        "needs no AWS account and no network."
    ),
    new_code_cell("%load_ext dreambolt_magic"),
    new_markdown_cell(
        "`%s3ingest_demo` starts the embedded server, fills a bucket with sample data, points the "
        "magics at it and returns the server. Against real S3 you would skip this cell."
    ),
    new_code_cell("demo = %s3ingest_demo"),
    new_markdown_cell(
        "## Parquet\n\nThe cell's body is the URI; the first word on the magic line is the variable. "
        "The bucket's region (eu-west-1 here) is detected, not configured."
    ),
    new_code_cell("%%s3ingest trips\ns3://dreambolt-demo/trips.parquet"),
    new_code_cell("trips.head()"),
    new_markdown_cell("## CSV, gzip-compressed\n\nCompression comes from the extension."),
    new_code_cell("%%s3ingest sales\ns3://dreambolt-demo/sales/2024/sales.csv.gz"),
    new_code_cell("sales.groupby('region')['revenue'].sum().round(2)"),
    new_markdown_cell("## JSON Lines"),
    new_code_cell("%%s3ingest events\ns3://dreambolt-demo/events.jsonl"),
    new_code_cell("events['event'].value_counts()"),
    new_markdown_cell(
        "## The other formats\n\nTSV, a JSON array, Feather (Arrow IPC), and CSV compressed with zstd, bz2 "
        "and xz. The line form, `%s3ingest URI`, returns the DataFrame."
    ),
    new_code_cell(
        "stations = %s3ingest s3://dreambolt-demo/stations.tsv\n"
        "weather = %s3ingest s3://dreambolt-demo/weather.json\n"
        "trips_slice = %s3ingest s3://dreambolt-demo/trips.feather\n"
        "for ext in ['zst', 'bz2', 'xz']:\n"
        "    readings = %s3ingest s3://dreambolt-demo/readings.csv.{ext} --quiet\n"
        "    print(ext, readings.shape)"
    ),
    new_markdown_cell(
        "## Only some columns, only some rows\n\n`--columns` and `--nrows` work for every format; for "
        "Parquet only the columns asked for are decoded."
    ),
    new_code_cell(
        "%%s3ingest fares --columns fare_amount,tip_amount --nrows 1000\ns3://dreambolt-demo/trips.parquet"
    ),
    new_code_cell("fares.describe()"),
    new_markdown_cell(
        "`{name}` in the cell body is filled from your variables:"
    ),
    new_code_cell("name = 'weather'\n"),
    new_code_cell("%%s3ingest w2 --nrows 7\ns3://dreambolt-demo/{name}.json"),
    new_markdown_cell("## Where it came from\n\nEvery frame records its provenance in `df.attrs['s3']`."),
    new_code_cell("trips.attrs['s3']"),
    new_markdown_cell(
        "## When it fails\n\nA missing key: the explanation says what happened and how to fix it, and the "
        "variable is **not** bound (or keeps its previous value)."
    ),
    new_code_cell("%%s3ingest missing\ns3://dreambolt-demo/trips-2023.parquet",
                  metadata={"tags": ["raises-exception"]}),
    new_code_cell("'missing' in globals()"),
    new_markdown_cell("A file that is not what its name says:"),
    new_code_cell("%%s3ingest broken\ns3://dreambolt-demo/broken/not-really.parquet",
                  metadata={"tags": ["raises-exception"]}),
    new_markdown_cell(
        "## Configuration\n\nEvery option has a default in `%config S3IngestMagics` (also settable in "
        "`ipython_config.py`). `%s3ingest?` documents the options."
    ),
    new_code_cell("%config S3IngestMagics"),
    new_code_cell("%config S3IngestMagics.max_attempts = 3\n%config S3IngestMagics.max_attempts"),
    new_markdown_cell("## Without the magic\n\nThe same loader is a plain function:"),
    new_code_cell(
        "import dreambolt_magic as dm\n\n"
        "df = dm.load('s3://dreambolt-demo/sales/2024/sales.csv.gz', columns=['region', 'revenue'], "
        "nrows=5, progress=False,\n"
        "             endpoint_url=demo.endpoint_url)\n"
        "print(dm.summarize(df))\n"
        "df"
    ),
]


def write(path: Path, cells: list) -> None:
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.validate(nb)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


if __name__ == "__main__":
    write(ROOT / "notebooks" / "quickstart.ipynb", QUICKSTART)
    print("wrote notebooks/quickstart.ipynb")
