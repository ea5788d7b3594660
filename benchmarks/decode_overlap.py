"""Would decoding a whole Parquet file's row groups as they arrive beat decoding it once it is whole?

    .venv/bin/python benchmarks/decode_overlap.py                       # s3rver, loopback and s3-like
    .venv/bin/python benchmarks/decode_overlap.py --server moto --repeats 3

An experiment for issue 19, outside the loader: each run is a fresh process that fetches the benchmark's
240.8 MB Parquet (8 row groups) as ours does, in 8 MiB ranged parts on 8 threads taken from the front into
one buffer, after its footer, and then either

- ``after``: decodes the whole file once it has all arrived (``read_table`` over the buffer, ``to_pandas``),
  which is what the loader does; or
- ``overlap``: decodes each row group on a thread of its own as soon as the filled front of the buffer
  passes its last byte, then concatenates the tables and converts them (``to_pandas``) once all are in.

Both give the same frame (checked). Fresh processes taken in turns; medians of ``--repeats`` (5), seconds.
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run  # noqa: E402  (the benchmark's data, servers and proxy)

CHILD = r"""
import io, json, sys, threading, time
import boto3, pyarrow as pa, pyarrow.parquet as pq, pandas  # noqa: F401
from botocore.config import Config
from concurrent.futures import ThreadPoolExecutor
mode, endpoint = sys.argv[1], sys.argv[2]
PART = 8 << 20
began = time.perf_counter()
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  config=Config(max_pool_connections=10))
head = s3.head_object(Bucket="bench", Key="data.parquet")
size = head["ContentLength"]
buffer = bytearray(size)
view = memoryview(buffer)
tail = s3.get_object(Bucket="bench", Key="data.parquet", Range=f"bytes={size - (1 << 20)}-{size - 1}")["Body"].read()
view[size - len(tail):] = tail
footer = pq.ParquetFile(pa.BufferReader(pa.py_buffer(buffer))).metadata
starts = []
for i in range(footer.num_row_groups):
    first = footer.row_group(i).column(0)
    starts.append(first.dictionary_page_offset if first.has_dictionary_page else first.data_page_offset)
ends = starts[1:] + [size]  # a row group ends where the next starts; the last, in the tail already here
parts = [(a, min(a + PART, size - len(tail))) for a in range(0, size - len(tail), PART)]
done = [False] * len(parts)
lock = threading.Condition()

def fetch(part):
    index, (a, b) = part
    body = s3.get_object(Bucket="bench", Key="data.parquet", Range=f"bytes={a}-{b - 1}")["Body"]
    at = a
    while at < b:
        n = body.readinto(view[at:min(b, at + (1 << 20))])
        if not n:
            raise OSError("short body")
        at += n
    with lock:
        done[index] = True
        lock.notify_all()

def front():
    reach = 0
    for ok, (a, b) in zip(done, parts):
        if not ok:
            return reach
        reach = b
    return size

pool = ThreadPoolExecutor(8)
futures = [pool.submit(fetch, p) for p in enumerate(parts)]
if mode == "overlap":
    source = pa.py_buffer(buffer)
    decoding = ThreadPoolExecutor(1)
    tables = []
    for i, end in enumerate(ends):
        with lock:
            lock.wait_for(lambda: front() >= min(end, size - len(tail)))
        file = pq.ParquetFile(pa.BufferReader(source))
        tables.append(decoding.submit(file.read_row_group, i, use_pandas_metadata=True))
    for f in futures:
        f.result()
    table = pa.concat_tables([t.result() for t in tables])
    frame = table.to_pandas()
else:
    for f in futures:
        f.result()
    frame = pq.read_table(pa.BufferReader(pa.py_buffer(buffer))).to_pandas()
seconds = time.perf_counter() - began
print(json.dumps({"seconds": seconds, "rows": len(frame), "sum": float(frame["x"].sum()),
                  "cat": frame["category"].astype(str).iloc[::100_003].tolist()}))
"""


def measure(mode: str, endpoint: str) -> dict[str, object]:
    env = {**os.environ, **run.ENV}
    done = subprocess.run([sys.executable, "-c", CHILD, mode, endpoint], capture_output=True, text=True, env=env,
                          timeout=600)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"decode_overlap.py: {mode} failed:\n{done.stderr[-2000:]}")
    result: dict[str, object] = json.loads(lines[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", choices=("s3rver", "moto"), default="s3rver")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    parquet, _ = run.make_data(7_500_000)
    with tempfile.TemporaryDirectory(prefix="decode-overlap-", dir=run.CACHE) as folder:
        started = run.start_s3rver(Path(folder)) if args.server == "s3rver" else run.start_moto()
        if started is None:
            raise SystemExit("decode_overlap.py: s3rver could not be installed (npm); try --server moto")
        server, endpoint = started
        os.environ.update(run.ENV)
        proxy = None
        try:
            run.upload(endpoint, {"data.parquet": parquet})
            proxy, slow = run.start_throttle(endpoint, 40e6, 0.02)
            for profile, url in (("loopback", endpoint), ("s3-like", slow)):
                seen: dict[str, list[dict[str, object]]] = {"after": [], "overlap": []}
                for _ in range(args.repeats):
                    for mode in seen:
                        seen[mode].append(measure(mode, url))
                first = seen["after"][0]
                same = all({k: v for k, v in r.items() if k != "seconds"} == {k: v for k, v in first.items()
                           if k != "seconds"} for rs in seen.values() for r in rs)
                after = statistics.median(float(r["seconds"]) for r in seen["after"])  # type: ignore[arg-type]
                overlap = statistics.median(float(r["seconds"]) for r in seen["overlap"])  # type: ignore[arg-type]
                print(f"{args.server}/{profile}: decode after {after:.3f} s, decode as it arrives {overlap:.3f} s "
                      f"(after / overlap {after / overlap:.2f}x); same frame: {same}")
        finally:
            if proxy is not None:
                proxy.terminate()
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
