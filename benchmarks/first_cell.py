"""What a fresh process or kernel pays before its first frame: `import dreambolt_magic`, `%load_ext`, a load.

    .venv/bin/python benchmarks/first_cell.py                      # this tree, 7 repeats
    .venv/bin/python benchmarks/first_cell.py --base ../before     # and another checkout, interleaved: an A/B

Three measurements, each in fresh processes, the trees taken in turns (A, B, A, B, ...), medians printed with
the ratio base / tree (above 1: this tree is faster):

- ``import``: ``python -c "import dreambolt_magic"``, timed inside the process (the interpreter's own start
  excluded), nothing imported before it: what a script pays.
- ``load_ext`` and ``first load``: a fresh IPython kernel (ipykernel, through jupyter_client, as JupyterLab
  starts one) runs ``%load_ext dreambolt_magic`` in one cell, timed inside the kernel: the kernel's time,
  the warm-up thread it starts excluded. ``first load``: the next cell, sent at once (``--pause 0``) or after
  ``--pause`` seconds of "typing" (default 2), loads 2 of 8 columns of a small Parquet object (500k rows, about
  32 MB) from a moto server on 127.0.0.1 with ``%s3ingest``, timed inside the kernel too.

The kernel's working directory is a temporary folder; the tree is put first on its ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ENV = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
       "AWS_EC2_METADATA_DISABLED": "true"}
BUCKET, KEY = "first-cell", "data.parquet"

IMPORT = """
import time
began = time.perf_counter()
import dreambolt_magic
print(time.perf_counter() - began)
"""
LOAD_EXT = """
import time as _time
_began = _time.perf_counter()
get_ipython().run_line_magic("load_ext", "dreambolt_magic")
print(_time.perf_counter() - _began)
"""
FIRST_LOAD = """
_began = _time.perf_counter()
get_ipython().run_line_magic("s3ingest", "{uri} --endpoint-url {endpoint} --columns a,b --quiet")
print(_time.perf_counter() - _began)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **ENV})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return process, f"http://127.0.0.1:{port}"
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("moto did not start")


def put_data(endpoint: str) -> str:
    import boto3
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame(np.random.default_rng(0).random((500_000, 8)), columns=list("abcdefgh"))
    body = io.BytesIO()
    frame.to_parquet(body)
    client = boto3.client("s3", endpoint_url=endpoint, **{k.lower(): v for k, v in ENV.items() if "KEY" in k},
                          region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    client.put_object(Bucket=BUCKET, Key=KEY, Body=body.getvalue())
    return f"s3://{BUCKET}/{KEY}"


def _env(tree: Path) -> dict[str, str]:
    return {**os.environ, **ENV, "PYTHONPATH": str(tree)}


def time_import(tree: Path) -> float:
    done = subprocess.run([sys.executable, "-c", IMPORT], capture_output=True, text=True, env=_env(tree),
                          cwd=tempfile.gettempdir(), check=True)
    return float(done.stdout.split()[-1])


def _run_cell(client: Any, code: str) -> str:
    """Run ``code`` in the kernel; its stdout (an error's traceback raises)."""
    msg_id = client.execute(code)
    out: list[str] = []
    while True:
        msg = client.get_iopub_msg(timeout=120)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream" and content["name"] == "stdout":
            out.append(content["text"])
        elif kind == "error":
            raise RuntimeError("\n".join(content["traceback"]))
        elif kind == "status" and content["execution_state"] == "idle":
            return "".join(out)


def time_kernel(tree: Path, uri: str, endpoint: str, pause: float) -> tuple[float, float]:
    from jupyter_client.manager import start_new_kernel

    with tempfile.TemporaryDirectory() as folder:
        manager, client = start_new_kernel(kernel_name="python3", env=_env(tree), cwd=folder)
        try:
            _run_cell(client, "import sys; assert sys.path")  # the kernel is up and has run a cell
            load_ext = float(_run_cell(client, LOAD_EXT).split()[-1])
            time.sleep(pause)
            first = float(_run_cell(client, FIRST_LOAD.format(uri=uri, endpoint=endpoint)).split()[-1])
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=True)
    return load_ext, first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tree", type=Path, default=HERE.parent, help="the checkout measured (default: this one)")
    parser.add_argument("--base", type=Path, help="another checkout, measured in turns with --tree")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--pause", type=float, default=2.0, help="seconds between %%load_ext and the first load")
    args = parser.parse_args()
    trees = {"tree": args.tree.resolve()}
    if args.base is not None:
        trees["base"] = args.base.resolve()
    moto, endpoint = start_moto()
    try:
        uri = put_data(endpoint)
        results: dict[str, dict[str, list[float]]] = {
            name: {"import": [], "load_ext": [], "first load": []} for name in trees}
        for i in range(args.repeats):
            order = list(trees.items()) if i % 2 == 0 else list(reversed(trees.items()))
            for name, tree in order:
                results[name]["import"].append(time_import(tree))
                load_ext, first = time_kernel(tree, uri, endpoint, args.pause)
                results[name]["load_ext"].append(load_ext)
                results[name]["first load"].append(first)
    finally:
        moto.kill()
    medians = {name: {what: statistics.median(values) for what, values in found.items()}
               for name, found in results.items()}
    print(f"medians of {args.repeats}, seconds; first load {args.pause:g} s after %load_ext")
    print("| measurement | " + " | ".join(f"{name} ({trees[name]})" for name in trees)
          + (" | base / tree |" if "base" in trees else " |"))
    print("|---|" + "---|" * len(trees) + ("---|" if "base" in trees else ""))
    for what in ("import", "load_ext", "first load"):
        row = [f"{medians[name][what]:.3f}" for name in trees]
        if "base" in trees:
            row.append(f"{medians['base'][what] / medians['tree'][what]:.2f}x")
        print(f"| {what} | " + " | ".join(row) + " |")
    print(json.dumps(medians))


if __name__ == "__main__":
    main()
