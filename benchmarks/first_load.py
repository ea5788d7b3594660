"""Where a fresh process's first load goes: 2 of 8 columns of the benchmark's Parquet, phase by phase.

    .venv/bin/python benchmarks/first_load.py                  # s3rver, full size (240 MB), 11 processes each
    .venv/bin/python benchmarks/first_load.py --server moto --size small --repeats 5

The case of ``run.py``'s ``columns`` (``qty`` and ``category``), each measurement a fresh process that has
imported boto3, pandas, pyarrow and tqdm but not ``dreambolt_magic``, as ``approach.py`` does. Ours and
pyarrow's ``S3FileSystem`` (``read_table(columns=...).to_pandas()``) are taken in turns. For ours, the time
from ``import dreambolt_magic`` to the frame is cut at these points (marks put on the loader's functions by
this script, in its child process):

- ``import dreambolt_magic``; ``the loader's modules``: what ``load()`` imports before it starts;
- ``session and credentials``: :meth:`Connection.lease`, a botocore session and the credential chain;
- ``first client``: botocore's S3 model, endpoint rules and client class;
- ``region (HeadBucket)``: the region lookup, less the client it made;
- ``first GET (the head)``: the request that gives the size and the magic bytes;
- ``footer``: the GET of the file's end, and working out the column chunks;
- ``column chunks``: their ranged GETs, in parallel;
- ``decode``: pyarrow's read of the two columns from those bytes; ``to pandas``: the frame.

Medians over the processes, per phase; the totals' medians, and pyarrow's. This machine's fresh memory is
slow to fault in now and then (a decode takes 0.06 s in one process and 0.6 s in the next), which is why
the medians of many processes, not means, and why the decode is shown apart.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run  # noqa: E402  (the benchmark's data and servers)

COLUMNS = ["qty", "category"]
PHASES = ["import dreambolt_magic", "the loader's modules", "session and credentials", "first client",
          "region (HeadBucket)", "first GET (the head)", "footer", "column chunks", "decode", "to pandas"]

#: Run in a fresh process: prints one JSON line, the seconds of each phase (ours) or the total (pyarrow).
CHILD = r"""
import json, os, sys, time
import boto3, pandas, pyarrow.parquet, pyarrow.fs, tqdm.auto  # noqa: F401
approach, uri, endpoint = sys.argv[1:4]
columns = json.loads(sys.argv[4])
if approach == "pyarrow-fs":
    began = time.perf_counter()
    fs = pyarrow.fs.S3FileSystem(endpoint_override=endpoint.split("://", 1)[1], scheme="http",
                                 access_key=os.environ["AWS_ACCESS_KEY_ID"],
                                 secret_key=os.environ["AWS_SECRET_ACCESS_KEY"], region="us-east-1")
    pyarrow.parquet.read_table(uri[len("s3://"):], filesystem=fs, columns=columns).to_pandas()
    print(json.dumps({"total": time.perf_counter() - began}))
    raise SystemExit
marks = {}
def mark(name, once=True):
    if not (once and name in marks):
        marks[name] = time.perf_counter()
began = time.perf_counter()
import dreambolt_magic
mark("imported")
import dreambolt_magic.client.connection as connection, dreambolt_magic.objects.load as objects_load
import dreambolt_magic.objects.parquetplan as plan, dreambolt_magic.transfer.ranged as ranged
import dreambolt_magic.formats.frames as frames
def around(owner, name, before, after, once=True):
    inner = getattr(owner, name)
    def call(*args, **kwargs):
        mark(before, once)
        try:
            return inner(*args, **kwargs)
        finally:
            mark(after, once)
    setattr(owner, name, call)
around(connection.Connection, "lease", "lease", "leased")
around(connection.Connection, "client", "client", "client made")
around(objects_load, "bucket_region", "region", "region known")
around(plan.ParquetPlan, "fetch", "plan", "planned")
around(ranged.RangedReads, "fetch", "ranges", "ranges done", once=False)  # the last: the column chunks
around(frames, "to_pandas", "to pandas", "frame")
dreambolt_magic.load(uri, endpoint_url=endpoint, columns=columns)
mark("end")
m = {k: v - began for k, v in marks.items()}
phases = {
    "import dreambolt_magic": m["imported"],
    "the loader's modules": m["lease"] - m["imported"],
    "session and credentials": m["leased"] - m["lease"],
    "first client": m["client made"] - m["client"],
    "region (HeadBucket)": m["region known"] - m["leased"] - (m["client made"] - m["client"]),
    "first GET (the head)": m["plan"] - m["region known"],
    "footer": m["ranges"] - m["plan"],
    "column chunks": m["planned"] - m["ranges"],
    "decode": m["to pandas"] - m["planned"],
    "to pandas": m["end"] - m["to pandas"],
}
print(json.dumps({"total": m["end"], "phases": phases, "from": dreambolt_magic.__file__}))
"""


def measure(approach: str, uri: str, endpoint: str, tree: Path) -> dict[str, Any]:
    env = {**os.environ, **run.ENV, "PYTHONPATH": str(tree)}
    # Run in the tree: a -c child puts its working directory first on sys.path, before PYTHONPATH.
    done = subprocess.run([sys.executable, "-c", CHILD, approach, uri, endpoint, json.dumps(COLUMNS)],
                          capture_output=True, text=True, env=env, timeout=300, cwd=tree)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"first_load.py: {approach} failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    if "from" in result and not Path(result["from"]).resolve().is_relative_to(tree):
        raise SystemExit(f"first_load.py: dreambolt_magic came from {result['from']}, not from {tree}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", choices=("s3rver", "moto"), default="s3rver")
    parser.add_argument("--size", choices=("full", "small"), default="full")
    parser.add_argument("--repeats", type=int, default=11, help="fresh processes per approach")
    parser.add_argument("--tree", type=Path, default=HERE.parent, help="the checkout dreambolt_magic comes from")
    args = parser.parse_args()
    tree = args.tree.resolve()
    parquet, _ = run.make_data(7_500_000 if args.size == "full" else 500_000)
    # Bytecode as an install has it: without it, the first load would compile the loader's modules.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "dreambolt_magic")], check=True)
    with tempfile.TemporaryDirectory(prefix="first-load-", dir=run.CACHE) as folder:
        started = run.start_s3rver(Path(folder)) if args.server == "s3rver" else run.start_moto()
        if started is None:
            raise SystemExit("first_load.py: s3rver could not be installed (npm); try --server moto")
        server, endpoint = started
        try:
            os.environ.update(run.ENV)
            run.upload(endpoint, {"data.parquet": parquet})
            uri = f"s3://{run.BUCKET}/data.parquet"
            ours, theirs = [], []
            for _ in range(args.repeats):
                ours.append(measure("ours", uri, endpoint, tree))
                theirs.append(measure("pyarrow-fs", uri, endpoint, tree))
        finally:
            server.terminate()
            server.wait()
    size = parquet.stat().st_size / 1e6
    print(f"2 of 8 columns of a {size:.0f} MB Parquet on {args.server} (loopback), {args.repeats} fresh processes "
          f"each, medians; dreambolt_magic from {run.describe(tree)}")
    print("| phase of ours' first load | ms |\n|---|---|")
    for phase in PHASES:
        print(f"| {phase} | {1000 * statistics.median(o['phases'][phase] for o in ours):.1f} |")
    ours_total = statistics.median(o["total"] for o in ours)
    theirs_total = statistics.median(t["total"] for t in theirs)
    before = statistics.median(sum(o["phases"][p] for p in PHASES[:7]) for o in ours)
    print(f"| **ours, in all** | **{1000 * ours_total:.1f}** |")
    print(f"| pyarrow-fs, in all | {1000 * theirs_total:.1f} |")
    print(f"\nours before the column chunks' GETs: {1000 * before:.1f} ms; "
          f"pyarrow-fs / ours: {theirs_total / ours_total:.2f}x (above 1: ours is faster)")


if __name__ == "__main__":
    main()
