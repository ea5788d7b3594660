"""The benchmark behind ``make bench``: time to a pandas DataFrame from a local S3, ours against its peers.

One run: generates the data (cached under ``~/.cache/dreambolt-bench``), starts the S3 servers (moto; s3rver
too if ``npm`` can install it), optionally a throttling proxy in front of each (40 MB/s per connection,
20 ms to the first byte: S3 as one connection sees it), and times every approach on every case, each
measurement in a fresh process, interleaved (A, B, C, A, B, C, ...). Prints one table per server and
profile: median seconds, MB/s (object size / time), peak RSS, and time relative to ours.

    python benchmarks/run.py                  # the 7.5M-row Parquet (about 250 MB) and its CSV
    python benchmarks/run.py --size small     # 500k rows, a quick run
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("DREAMBOLT_BENCH_CACHE", Path.home() / ".cache" / "dreambolt-bench"))
SIZES = {"small": 500_000, "full": 7_500_000}
BUCKET = "bench"
CASES = ("parquet", "columns", "nrows", "csv")
APPROACHES = ("ours", "s3fs", "pyarrow-fs", "boto3", "polars", "raw-get", "local")
ENV = {"AWS_ACCESS_KEY_ID": "S3RVER", "AWS_SECRET_ACCESS_KEY": "S3RVER", "AWS_DEFAULT_REGION": "us-east-1",
       "AWS_EC2_METADATA_DISABLED": "true"}


# --- data ----------------------------------------------------------------------------------------------


def make_data(rows: int) -> tuple[Path, Path]:
    """A Parquet of ``rows`` x 8 columns (snappy, default row groups) and the same as CSV, made once."""
    folder = CACHE / "data" / str(rows)
    parquet, csv = folder / "data.parquet", folder / "data.csv"
    if parquet.exists() and csv.exists():
        return parquet, csv
    import numpy as np
    import pandas as pd

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "id": np.arange(rows, dtype="int64"),
            "ts": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 86_400 * 365, rows), unit="s"),
            "price": np.round(rng.gamma(2.0, 20.0, rows), 2),
            "x": rng.normal(size=rows),
            "y": rng.normal(size=rows),
            "qty": rng.integers(1, 100, rows).astype("int32"),
            "category": pd.Categorical.from_codes(rng.integers(0, 20, rows), [f"cat{i:02d}" for i in range(20)]),
            "flag": rng.random(rows) < 0.3,
        }
    )
    frame.to_parquet(parquet, index=False, compression="snappy")
    frame.to_csv(csv, index=False)
    return parquet, csv


# --- servers -------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **ENV},
    )
    _wait_for(port)
    return process, f"http://127.0.0.1:{port}"


def start_s3rver() -> tuple[subprocess.Popen[bytes], str] | None:
    """s3rver from npm, installed once into the cache; None if npm is missing or the install fails."""
    script = CACHE / "node_modules" / "s3rver" / "bin" / "s3rver.js"
    if not script.exists():
        if not shutil.which("npm"):
            return None
        result = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(CACHE), "s3rver@3.7.1"],
            capture_output=True,
        )
        if result.returncode != 0 or not script.exists():
            return None
    port = _free_port()
    folder = CACHE / "s3rver-data"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    process = subprocess.Popen(
        ["node", str(script), "-d", str(folder), "-a", "127.0.0.1", "-p", str(port), "--silent"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    _wait_for(port)
    return process, f"http://127.0.0.1:{port}"


def start_throttle(endpoint: str, rate: float, latency: float) -> tuple[subprocess.Popen[bytes], str]:
    process = subprocess.Popen(
        [sys.executable, str(HERE / "throttle.py"), "--upstream", endpoint.split("://", 1)[1],
         "--rate", str(rate), "--latency", str(latency)],
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None
    port = int(process.stdout.readline())
    return process, f"http://127.0.0.1:{port}"


def upload(endpoint: str, files: dict[str, Path]) -> None:
    import boto3
    from boto3.s3.transfer import TransferConfig

    keys = {"aws_access_key_id": ENV["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": ENV["AWS_SECRET_ACCESS_KEY"]}
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **keys)
    client.create_bucket(Bucket=BUCKET)
    for key, path in files.items():
        # One PUT per object, as most data files are written; s3rver wants its own default keys (S3RVER).
        client.upload_file(str(path), BUCKET, key, Config=TransferConfig(multipart_threshold=1 << 40))


# --- measuring -----------------------------------------------------------------------------------------


def measure(approach: str, case: str, spec: dict[str, Any], timeout: float) -> dict[str, Any] | None:
    try:
        result = subprocess.run(
            [sys.executable, str(HERE / "approach.py"), approach, case, json.dumps(spec)],
            capture_output=True, text=True, timeout=timeout, env={**os.environ, **ENV},
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        return {"error": lines[-1][:100] if lines else f"exit {result.returncode}"}
    return json.loads(result.stdout.strip().splitlines()[-1])


def available(approach: str) -> bool:
    if approach != "polars":
        return True
    import importlib.util

    return importlib.util.find_spec("polars") is not None


def run_profile(label: str, endpoint: str, files: dict[str, Path], sizes: dict[str, int], args: argparse.Namespace,
                approaches: list[str]) -> list[dict[str, Any]]:
    rows = []
    for case in args.cases:
        key = "data.csv" if case == "csv" else "data.parquet"
        spec = {"uri": f"s3://{BUCKET}/{key}", "endpoint": endpoint, "path": str(files[key])}
        samples: dict[str, list[dict[str, Any]]] = {a: [] for a in approaches}
        for _ in range(args.repeats):
            for approach in approaches:  # interleaved: A B C A B C ...
                samples[approach].append(measure(approach, case, spec, args.timeout) or {"error": "no output"})
        ours_median = None
        for approach in approaches:
            good = [s for s in samples[approach] if "seconds" in s]
            if not good:
                errors = "; ".join(sorted({str(s.get("error")) for s in samples[approach]}))
                rows.append({"profile": label, "case": case, "approach": approach, "error": errors})
                continue
            seconds = statistics.median(s["seconds"] for s in good)
            if approach == "ours":
                ours_median = seconds
            rows.append({
                "profile": label, "case": case, "approach": approach, "seconds": seconds,
                "mb_s": sizes[key] / seconds / 1e6, "rss_mb": statistics.median(s["rss_mb"] for s in good),
                "shape": f"{good[0]['rows']}x{good[0]['columns']}",
            })
        for row in rows:
            if row["case"] == case and row["profile"] == label and "seconds" in row and ours_median:
                row["ratio"] = row["seconds"] / ours_median
        print_table([r for r in rows if r["case"] == case], flush=True)
    return rows


def print_table(rows: list[dict[str, Any]], flush: bool = False) -> None:
    for row in rows:
        if "error" in row:
            print(f"| {row['profile']} | {row['case']} | {row['approach']} | failed: {row['error']} | | | |")
        else:
            print(f"| {row['profile']} | {row['case']} | {row['approach']} | {row['seconds']:.3f} | {row['mb_s']:.0f} "
                  f"| {row['rss_mb']:.0f} | {row.get('ratio', float('nan')):.2f}x |")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--rows", type=int, help="rows of the generated data (overrides --size)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--servers", default="moto,s3rver", help="comma-separated: moto, s3rver")
    parser.add_argument("--profiles", default="loopback,s3-like", help="comma-separated: loopback, s3-like")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--approaches", default=",".join(APPROACHES))
    parser.add_argument("--rate", type=float, default=40e6, help="s3-like: bytes/s per connection")
    parser.add_argument("--latency", type=float, default=0.02, help="s3-like: seconds to the first byte")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds before one measurement is dropped")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    args.cases = [c for c in args.cases.split(",") if c]
    approaches = [a for a in args.approaches.split(",") if a and available(a)]
    skipped = [a for a in args.approaches.split(",") if a and not available(a)]

    rows_count = args.rows or SIZES[args.size]
    parquet, csv = make_data(rows_count)
    files = {"data.parquet": parquet, "data.csv": csv}
    sizes = {k: p.stat().st_size for k, p in files.items()}
    print(f"data: {rows_count:,} rows x 8 columns; Parquet {sizes['data.parquet'] / 1e6:.1f} MB, "
          f"CSV {sizes['data.csv'] / 1e6:.1f} MB; {args.repeats} runs each, medians; "
          f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    if skipped:
        print(f"skipped (not installed): {', '.join(skipped)}")
    print("| profile | case | approach | median s | MB/s | peak RSS MB | time / ours |")
    print("|---|---|---|---|---|---|---|")
    all_rows: list[dict[str, Any]] = []
    for server in [s for s in args.servers.split(",") if s]:
        started = start_moto() if server == "moto" else start_s3rver()
        if started is None:
            print(f"({server}: not available, skipped)")
            continue
        process, endpoint = started
        try:
            upload(endpoint, files)
            for profile in [p for p in args.profiles.split(",") if p]:
                throttle = None
                target = endpoint
                if profile == "s3-like":
                    throttle, target = start_throttle(endpoint, args.rate, args.latency)
                try:
                    label = f"{server}/{profile}"
                    all_rows += run_profile(label, target, files, sizes, args, approaches)
                finally:
                    if throttle is not None:
                        throttle.terminate()
                        throttle.wait()
        finally:
            process.terminate()
            process.wait()
    if args.json:
        args.json.write_text(json.dumps(all_rows, indent=1))


if __name__ == "__main__":
    main()
