"""What pandas+s3fs, boto3 and dreambolt_magic each do when S3 or the network misbehaves, in one run.

Starts moto's S3 on 127.0.0.1 with fake credentials, puts one CSV object in it, and puts the test suite's
:class:`FaultProxy` (tests/faults/proxy.py) in front. Then, per fault, it runs each library once through
the proxy with that fault queued for the object's GETs, and prints a markdown table: what came back
(the exact frame, a wrong frame, or the error class), the time it took and the requests the proxy saw.

    .venv/bin/python benchmarks/faults.py                 # a 60 MB CSV (s3fs reads it in 50 MiB blocks)
    .venv/bin/python benchmarks/faults.py --mb 8 --stall 20   # a quick run

The libraries run with their defaults, as a user would call them:

- pandas+s3fs: ``pd.read_csv("s3://...", storage_options={"endpoint_url": ...})``
- boto3: ``client.download_fileobj(...)`` into a BytesIO, then ``pd.read_csv``
- ours: ``dreambolt_magic.load("s3://...", endpoint_url=...)``

Not part of the test suite: it takes minutes (the stall is longer than the others' 60 s read timeout).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from faults.proxy import Cut, Fault, FaultProxy, Hook, Reply, Reset, Stall  # noqa: E402

BUCKET = "bench-faults"
KEY = "data.csv"
CUT_AT = 1 << 20  # where a broken body breaks: within the first part any of the three asks for


def make_csv(mb: float, seed: int) -> bytes:
    """About ``mb`` MB of CSV (a few columns of random numbers and words)."""
    rows = int(mb * 1e6 / 24.5)
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "id": np.arange(rows, dtype="int64"),
        "city": rng.choice(["Berlin", "Lagos", "Lima", "Osaka", "Perth"], rows),
        "value": np.round(rng.normal(100, 25, rows), 2),
        "flag": rng.random(rows) < 0.5,
    })
    return frame.to_csv(index=False, lineterminator="\n").encode()


@dataclass
class Outcome:
    result: str
    seconds: float
    gets: int
    heads: int


def classify(data: bytes | None, frame: pd.DataFrame | None, truth: dict[str, tuple[bytes, pd.DataFrame]]) -> str:
    for label, (raw, expected) in truth.items():
        if data is not None and data == raw:
            return f"correct{label}"
        if data is None and frame is not None and frame.shape == expected.shape and frame.equals(expected):
            return f"correct{label}"
    if data is not None:
        zeros = data.count(0)
        return f"WRONG DATA ({len(data):,} B" + (f", {zeros:,} zero bytes)" if zeros else ")")
    assert frame is not None
    return f"WRONG FRAME ({len(frame):,} rows)"


def run_s3fs(endpoint: str, uri: str) -> tuple[bytes | None, pd.DataFrame]:
    options = {"endpoint_url": endpoint, "skip_instance_cache": True, "use_listings_cache": False}
    return None, pd.read_csv(uri, storage_options=options)


def run_boto3(endpoint: str, uri: str) -> tuple[bytes | None, pd.DataFrame]:
    import boto3

    client = boto3.session.Session().client("s3", region_name="us-east-1", endpoint_url=endpoint)
    buf = io.BytesIO()
    try:
        client.download_fileobj(BUCKET, KEY, buf)
    finally:
        client.close()
    data = buf.getvalue()
    return data, pd.read_csv(io.BytesIO(data))


def run_ours(endpoint: str, uri: str) -> tuple[bytes | None, pd.DataFrame]:
    import dreambolt_magic
    from dreambolt_magic.formats import readers

    seen: list[bytes] = []
    real = readers.read

    def spy(data: Any, **kw: Any) -> pd.DataFrame:
        seen.append(bytes(data))  # the exact bytes handed to the parser
        return real(data, **kw)

    readers.read = spy  # type: ignore[assignment]
    try:
        frame = dreambolt_magic.load(uri, endpoint_url=endpoint, progress=False)
    finally:
        readers.read = real  # type: ignore[assignment]
    return seen[-1], frame


LIBRARIES: dict[str, Callable[[str, str], tuple[bytes | None, pd.DataFrame]]] = {
    "pandas+s3fs": run_s3fs,
    "boto3": run_boto3,
    "dreambolt_magic": run_ours,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=60.0, help="size of the CSV object in MB (default 60)")
    parser.add_argument("--stall", type=float, default=75.0, help="seconds a stalled body pauses (default 75)")
    parser.add_argument("--only", default=None, help="run only the faults whose name contains this")
    args = parser.parse_args()

    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                      AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        os.environ.pop(name, None)
    warnings.simplefilter("ignore")
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    moto_url = f"http://{host}:{port}"
    admin = boto3.session.Session().client("s3", region_name="us-east-1", endpoint_url=moto_url)
    admin.create_bucket(Bucket=BUCKET)
    original = make_csv(args.mb, seed=1)
    replacement = make_csv(args.mb * 1.02, seed=2)
    truth = {"": (original, pd.read_csv(io.BytesIO(original)))}
    truth_replaced = {" (old)": truth[""], " (new)": (replacement, pd.read_csv(io.BytesIO(replacement)))}
    path = f"/{BUCKET}/{KEY}"
    uri = f"s3://{BUCKET}/{KEY}"

    def put_original() -> None:
        admin.put_object(Bucket=BUCKET, Key=KEY, Body=original)

    def put_replacement() -> None:
        admin.put_object(Bucket=BUCKET, Key=KEY, Body=replacement)

    faults: dict[str, list[Fault]] = {
        "none": [],
        "503 SlowDown x2": [Fault(Reply(503, "SlowDown"), path=path, times=2)],
        "reset before headers": [Fault(Reset(), path=path)],
        f"body cut at {CUT_AT >> 20} MiB, with Content-Length": [Fault(Cut(after=CUT_AT), path=path)],
        f"body cut at {CUT_AT >> 20} MiB, no Content-Length": [
            Fault(Cut(after=CUT_AT, keep_length=False), path=path)
        ],
        f"stall {args.stall:.0f} s after {CUT_AT >> 20} MiB": [
            Fault(Stall(after=CUT_AT, seconds=args.stall), path=path)
        ],
        "object replaced mid-download": [Fault(Cut(after=CUT_AT), path=path), Fault(Hook(put_replacement), path=path)],
    }
    rows: list[tuple[str, str, Outcome]] = []
    with FaultProxy(moto_url) as proxy:
        for fault_name, queued in faults.items():
            if args.only and args.only not in fault_name:
                continue
            for library, run in LIBRARIES.items():
                put_original()
                proxy.clear()
                for fault in queued:
                    proxy.add(fault)
                started = time.monotonic()
                try:
                    data, frame = run(proxy.endpoint_url, uri)
                    result = classify(data, frame, truth_replaced if "replaced" in fault_name else truth)
                except Exception as exc:  # what the user would see is the point
                    result = f"error: {type(exc).__module__.split('.')[0]}.{type(exc).__name__}"
                outcome = Outcome(result, time.monotonic() - started,
                                  sum(r.method == "GET" for r in proxy.requests),
                                  sum(r.method == "HEAD" for r in proxy.requests))
                rows.append((fault_name, library, outcome))
                print(f"{fault_name:<40} {library:<16} {outcome.result:<50} {outcome.seconds:7.2f} s "
                      f"GET {outcome.gets} HEAD {outcome.heads}", file=sys.stderr, flush=True)
    admin.close()
    server.stop()

    print(f"\nObject: {len(original) / 1e6:.1f} MB CSV on moto behind FaultProxy; "
          f"faults hit GETs of the object only.\n")
    print("| fault | library | result | time | requests |")
    print("|---|---|---|---:|---|")
    for fault_name, library, o in rows:
        print(f"| {fault_name} | {library} | {o.result} | {o.seconds:.2f} s | {o.gets} GET, {o.heads} HEAD |")


if __name__ == "__main__":
    main()
