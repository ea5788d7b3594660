"""What pandas+s3fs, boto3 and dreambolt_magic each do when S3 or the network misbehaves, in one run.

Starts moto's S3 on 127.0.0.1 with fake credentials, puts one CSV object in it, and puts the test suite's
:class:`FaultProxy` (tests/faults/proxy.py) in front. Then, per fault, it runs each library once through
the proxy with that fault queued, and prints a markdown table: what came back (the exact frame, a wrong
frame, or the error class), the time it took and the requests the proxy saw.

    .venv/bin/python benchmarks/faults.py                 # a 60 MB CSV (s3fs reads it in 50 MiB blocks)
    .venv/bin/python benchmarks/faults.py --mb 8 --quick  # a quick run: shorter stall and bounds

The libraries run with their defaults, as a user would call them:

- pandas+s3fs: ``pd.read_csv("s3://...", storage_options={"endpoint_url": ...})``; a prefix with
  ``S3FileSystem.find`` and ``pd.read_csv`` of each file; a cache with fsspec's ``simplecache::``
- boto3: ``client.download_fileobj(...)`` into a BytesIO, then ``pd.read_csv``; a prefix with the
  ``list_objects_v2`` paginator and ``get_object`` of each key
- ours: ``dreambolt_magic.load("s3://...", endpoint_url=...)`` (``cache=<dir>`` for the cache row)

The faults that may never end (a decompression bomb, an endless listing, a trickling body) run each library
in a child process with its address space limited (``RLIMIT_AS``, 4 GiB by default), stopped once a bound
has passed: a bomb is then a MemoryError or a kill, not the machine's memory, and a listing that never ends
is "still listing after 30 s". Every request goes to 127.0.0.1.

Not part of the test suite: it takes about twenty minutes on a busy 2-core machine, most of it waiting (the
stall is longer than the others' 60 s read timeout, a trickle is followed for 120 s, each endless listing for
30 s); ``--quick`` shortens the waits.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import io
import itertools
import os
import pickle
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from faults.proxy import Corrupt, Cut, Fault, FaultProxy, Hook, Reply, Reset, Send, Stall, Trickle  # noqa: E402

BUCKET = "bench-faults"
KEY = "data.csv"
BOMB_KEY = "bomb.csv.gz"
LISTED = "bench-listing"  # a bucket of its own: its listing requests are the ones answered endlessly
CUT_AT = 1 << 20  # where a broken body breaks: within the first part any of the three asks for
GIB = 1 << 30
Result = tuple[bytes | None, pd.DataFrame]


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


def make_bomb(gib: int) -> bytes:
    """A gzip CSV of one column, ``gib`` GiB of ``0`` lines once expanded: members of 16 MiB, about 1000:1."""
    member = gzip.compress(b"0\n" * (8 << 20), mtime=0)
    return gzip.compress(b"n\n", mtime=0) + member * (gib * 64)


def digit_in(body: bytes, start: int) -> int:
    """The offset of a digit of a ``value`` after ``start``: ``^ 0x01`` makes it another digit, damage that
    still parses (a wrong value, not a broken file)."""
    at = body.index(b",", body.index(b",", body.index(b"\n", start) + 1) + 1) + 1
    while not body[at:at + 1].isdigit():
        at += 1
    return at


# --- what the proxy is told ----------------------------------------------------------------------------

_request = threading.local()  # the request the proxy's handler thread is answering


class Proxy(FaultProxy):
    """The suite's proxy, with the request line's target and Range known to :class:`Only` faults."""

    def _handle(self, h: Any) -> None:
        _request.target, _request.range = h.path, h.headers.get("Range")
        super()._handle(h)


@dataclass(frozen=True)
class Only(Fault):
    """A fault for the requests ``test(target, range)`` accepts (target: the path with its query)."""

    test: Callable[[str, str | None], bool] = field(default=lambda target, rng: True)

    def matches(self, method: str, path: str) -> bool:
        return super().matches(method, path) and self.test(_request.target, _request.range)


def from_start(target: str, rng: str | None) -> bool:
    """A GET of the object from its first byte (whole, or the first part): where the damage is a digit."""
    return rng is None or rng.startswith("bytes=0-")


def listing_of(bucket: str) -> Callable[[str, str | None], bool]:
    return lambda target, rng: target.split("?")[0] == f"/{bucket}" and "list-type=2" in target


def page(token: str, keys: tuple[str, ...] = ()) -> bytes:
    """A ListObjectsV2 page that says there is more, after ``token``."""
    contents = "".join(f"<Contents><Key>{k}</Key><Size>4</Size><ETag>&quot;e&quot;</ETag></Contents>" for k in keys)
    return (f'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>{LISTED}</Name><Prefix>p/</Prefix>'
            f"<KeyCount>{len(keys)}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>{contents}"
            f"<NextContinuationToken>{token}</NextContinuationToken></ListBucketResult>").encode()


class FreshPages(Send):
    """An empty page that says there is more, with a new continuation token every time it is sent."""

    def __init__(self) -> None:
        object.__setattr__(self, "status", 200)
        object.__setattr__(self, "content_type", "application/xml")
        object.__setattr__(self, "_tokens", itertools.count())

    @property
    def body(self) -> bytes:
        return page(f"t{next(self._tokens)}")  # type: ignore[attr-defined]


# --- the libraries -------------------------------------------------------------------------------------


def split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def s3fs_options(endpoint: str) -> dict[str, Any]:
    return {"endpoint_url": endpoint, "skip_instance_cache": True, "use_listings_cache": False}


def run_s3fs(endpoint: str, uri: str) -> Result:
    return None, pd.read_csv(uri, storage_options=s3fs_options(endpoint))


def boto3_client(endpoint: str) -> Any:
    import boto3

    return boto3.session.Session().client("s3", region_name="us-east-1", endpoint_url=endpoint)


def run_boto3(endpoint: str, uri: str) -> Result:
    bucket, key = split(uri)
    client = boto3_client(endpoint)
    buf = io.BytesIO()
    try:
        client.download_fileobj(bucket, key, buf)
    finally:
        client.close()
    data = buf.getvalue()
    return data, pd.read_csv(io.BytesIO(data), compression="gzip" if key.endswith(".gz") else None)


def run_ours(endpoint: str, uri: str, **kw: Any) -> Result:
    import dreambolt_magic
    from dreambolt_magic.formats import readers

    seen: list[bytes] = []
    real = readers.read

    def spy(data: Any, **options: Any) -> pd.DataFrame:
        seen.append(bytes(data))  # the exact bytes handed to the parser
        return real(data, **options)

    readers.read = spy
    try:
        frame = dreambolt_magic.load(uri, endpoint_url=endpoint, progress=False, **kw)
    finally:
        readers.read = real
    return (seen[-1] if seen else None), frame


def run_s3fs_prefix(endpoint: str, uri: str) -> Result:
    import s3fs

    fs = s3fs.S3FileSystem(**s3fs_options(endpoint))
    files = fs.find(uri.removeprefix("s3://"))
    return None, pd.concat([pd.read_csv(fs.open(name)) for name in files], ignore_index=True)


def run_boto3_prefix(endpoint: str, uri: str) -> Result:
    bucket, prefix = split(uri)
    client = boto3_client(endpoint)
    try:
        keys = [item["Key"] for listed in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
                for item in listed.get("Contents", [])]
        frames = [pd.read_csv(client.get_object(Bucket=bucket, Key=key)["Body"]) for key in keys]
    finally:
        client.close()
    return None, pd.concat(frames, ignore_index=True)


#: What a child process runs, by name.
RUNNERS: dict[str, Callable[[str, str], Result]] = {
    "s3fs": run_s3fs, "boto3": run_boto3, "ours": run_ours,
    "s3fs-prefix": run_s3fs_prefix, "boto3-prefix": run_boto3_prefix, "ours-prefix": run_ours,
}


def damage(path: Path, offset: int) -> None:
    """Flip the low bit of the byte at ``offset`` of the file, in place (its length kept)."""
    with open(path, "r+b") as file:
        file.seek(offset)
        byte = file.read(1)[0]
        file.seek(offset)
        file.write(bytes([byte ^ 0x01]))


def cached_twice(first: Callable[[], Result], entry: Callable[[], tuple[Path, int]], restart: Callable[[], None],
                 ) -> Result:
    """Load once (filling the cache), damage the entry's digit, then load again: the second load is measured."""
    first()
    path, offset = entry()
    damage(path, offset)
    restart()
    return first()


# --- a run in a child process --------------------------------------------------------------------------


def child(name: str, endpoint: str, uri: str, out: str) -> None:
    """Run one runner and pickle what came back (or the error's name) to ``out``; ``ready`` once imported."""
    import boto3  # noqa: F401  (imports before the clock starts, as in the parent)
    import s3fs  # noqa: F401

    import dreambolt_magic  # noqa: F401

    print("ready", flush=True)
    started = time.monotonic()
    try:
        outcome: tuple[str, Any] = ("result", RUNNERS[name](endpoint, uri))
    except Exception as exc:  # MemoryError included: the point is what the user would see
        outcome = ("error", error_name(exc))
    with open(out, "wb") as file:
        pickle.dump((time.monotonic() - started, outcome), file)


def in_child(name: str, endpoint: str, uri: str, bound: float, doing: str, address_space: int,
             ) -> tuple[str, float, Result | None]:
    """Run ``name`` in a child process limited to ``address_space`` bytes, stopped after ``bound`` seconds."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))

    with tempfile.TemporaryDirectory(prefix="faults-child-") as scratch:
        out = os.path.join(scratch, "out.pickle")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        proc = subprocess.Popen([sys.executable, __file__, "--child", name, endpoint, uri, out],
                                stdout=subprocess.PIPE, env=env, preexec_fn=limit, text=True)
        assert proc.stdout is not None
        proc.stdout.readline()  # "ready": imported, no request made yet
        started = time.monotonic()
        try:
            proc.wait(timeout=bound)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return f"still {doing} after {bound:.0f} s", time.monotonic() - started, None
        finally:
            proc.stdout.close()
        elapsed = time.monotonic() - started
        if proc.returncode < 0:
            return f"killed ({signal.Signals(-proc.returncode).name})", elapsed, None
        if not os.path.exists(out):
            return f"died (exit {proc.returncode})", elapsed, None
        with open(out, "rb") as file:
            seconds, (kind, value) = pickle.load(file)
        return (value, seconds, None) if kind == "error" else ("", seconds, value)


# --- the run -------------------------------------------------------------------------------------------


def error_name(exc: BaseException) -> str:
    code = getattr(exc, "code", None)
    return f"error: {type(exc).__module__.split('.')[0]}.{type(exc).__name__}" + (
        f" ({code})" if isinstance(code, str) and code else "")


def classify(data: bytes | None, frame: pd.DataFrame | None, truth: dict[str, tuple[bytes, pd.DataFrame]]) -> str:
    for label, (raw, expected) in truth.items():
        if data is not None and data == raw:
            return f"correct{label}"
        if data is None and frame is not None and frame.shape == expected.shape and frame.equals(expected):
            return f"correct{label}"
    if data is not None and truth:
        raw = next(iter(truth.values()))[0]
        if len(data) == len(raw):
            differ = int(np.count_nonzero(np.frombuffer(data, np.uint8) != np.frombuffer(raw, np.uint8)))
            return f"**WRONG DATA** ({differ:,} byte{'s' if differ != 1 else ''} differ{'s' if differ == 1 else ''})"
        zeros = data.count(0)
        return f"**WRONG DATA** ({len(data):,} B" + (f", {zeros:,} zero bytes)" if zeros else ")")
    assert frame is not None
    expected = next(iter(truth.values()))[1] if truth else None
    if expected is not None and frame.shape == expected.shape and list(frame.columns) == list(expected.columns):
        differ = int((frame != expected).to_numpy().sum())
        return f"**WRONG FRAME** ({differ:,} value{'s' if differ != 1 else ''} differ{'s' if differ == 1 else ''})"
    return f"**WRONG FRAME** ({len(frame):,} rows)"


@dataclass
class Case:
    """One row: the faults queued, what each library runs (``None``: not applicable, with ``absent`` said
    instead), and for a child-process row the bound and what a library still running is doing."""

    faults: list[Fault]
    runners: dict[str, Callable[[], Result] | str | None]
    truth: dict[str, tuple[bytes, pd.DataFrame]]
    setup: Callable[[], None] = lambda: None
    bound: float | None = None
    doing: str = "running"
    absent: str = "n/a"


@dataclass
class Outcome:
    result: str
    seconds: float
    gets: int
    heads: int


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=60.0, help="size of the CSV object in MB (default 60)")
    parser.add_argument("--stall", type=float, default=None, help="seconds a stalled body pauses (default 75)")
    parser.add_argument("--quick", action="store_true",
                        help="shorter stall (20 s) and bounds (listing 15 s, bomb 60 s, trickles 40 s)")
    parser.add_argument("--bomb-gib", type=int, default=8, help="GiB a gzip bomb expands into (default 8)")
    parser.add_argument("--address-space", type=float, default=4, help="RLIMIT_AS of child runs, GiB (default 4)")
    parser.add_argument("--only", default=None, help="run only the faults whose name contains this")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        warnings.simplefilter("ignore")
        child(*args.child)
        return
    stall = args.stall if args.stall is not None else 20.0 if args.quick else 75.0
    # A trickle from the first byte is bounded past ours' floor (30 s, then the resumed read).
    listing_bound, bomb_bound, trickle_bound, first_bound = (
        (15.0, 60.0, 40.0, 40.0) if args.quick else (30.0, 120.0, 120.0, 45.0))
    address_space = int(args.address_space * GIB)

    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                      AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        os.environ.pop(name, None)
    warnings.simplefilter("ignore")
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    admin = boto3_client(f"http://{host}:{port}")
    for bucket in (BUCKET, LISTED):
        admin.create_bucket(Bucket=bucket)
    original = make_csv(args.mb, seed=1)
    replacement = make_csv(args.mb * 1.02, seed=2)
    small = make_csv(0.001, seed=3)
    admin.put_object(Bucket=LISTED, Key="p/a.csv", Body=small)
    bomb = make_bomb(args.bomb_gib)
    admin.put_object(Bucket=BUCKET, Key=BOMB_KEY, Body=bomb)
    truth = {"": (original, pd.read_csv(io.BytesIO(original)))}
    truth_replaced = {" (old)": truth[""], " (new)": (replacement, pd.read_csv(io.BytesIO(replacement)))}
    path = f"/{BUCKET}/{KEY}"
    uri = f"s3://{BUCKET}/{KEY}"
    spot = digit_in(original, CUT_AT // 2)  # the digit damaged: within the first MiB, wherever it is read from

    def put(body: bytes, **kw: Any) -> Callable[[], None]:
        return lambda: admin.put_object(Bucket=BUCKET, Key=KEY, Body=body, **kw)

    with Proxy(admin.meta.endpoint_url) as proxy, tempfile.TemporaryDirectory(prefix="faults-cache-") as caches:
        endpoint = proxy.endpoint_url
        clock = [0.0]

        def restart() -> None:
            proxy.clear()
            clock[0] = time.monotonic()

        def ours_entry() -> tuple[Path, int]:
            (entry,) = Path(caches, "ours").glob("*.s3c")
            return entry, entry.stat().st_size - len(original) + spot

        def fsspec_entry() -> tuple[Path, int]:
            (entry,) = [p for p in Path(caches, "s3fs").iterdir() if p.stat().st_size == len(original)]
            return entry, spot

        simple = {"s3": s3fs_options(endpoint), "simplecache": {"cache_storage": os.path.join(caches, "s3fs")}}
        names = {"pandas+s3fs": "s3fs", "boto3": "boto3", "dreambolt_magic": "ours"}
        plain: dict[str, Callable[[], Result] | str | None] = {
            library: functools.partial(RUNNERS[name], endpoint, uri) for library, name in names.items()}
        prefix = {"pandas+s3fs": "s3fs-prefix", "boto3": "boto3-prefix", "dreambolt_magic": "ours-prefix"}
        damaged = Corrupt(offset=spot, mask=0x01)
        cases: dict[str, Case] = {
            "none": Case([], plain, truth),
            "503 SlowDown x2": Case([Fault(Reply(503, "SlowDown"), path=path, times=2)], plain, truth),
            "reset before headers": Case([Fault(Reset(), path=path)], plain, truth),
            f"body cut at {CUT_AT >> 20} MiB, with Content-Length": Case([Fault(Cut(after=CUT_AT), path=path)],
                                                                         plain, truth),
            f"body cut at {CUT_AT >> 20} MiB, no Content-Length": Case(
                [Fault(Cut(after=CUT_AT, keep_length=False), path=path)], plain, truth),
            f"stall {stall:.0f} s after {CUT_AT >> 20} MiB": Case(
                [Fault(Stall(after=CUT_AT, seconds=stall), path=path)], plain, truth),
            "object replaced mid-download": Case(
                [Fault(Cut(after=CUT_AT), path=path), Fault(Hook(put(replacement)), path=path)], plain, truth_replaced),
            "one digit changed in transit once (stored SHA256)": Case(
                [Only(damaged, path=path, test=from_start)], plain, truth,
                setup=put(original, ChecksumAlgorithm="SHA256")),
            "one digit changed in transit, every GET (stored SHA256)": Case(
                [Only(damaged, path=path, times=None, test=from_start)], plain, truth,
                setup=put(original, ChecksumAlgorithm="SHA256")),
            "one digit changed in the cache file on disk": Case([], {
                "pandas+s3fs": lambda: cached_twice(
                    lambda: (None, pd.read_csv("simplecache::" + uri, storage_options=simple)), fsspec_entry, restart),
                "boto3": None,
                "dreambolt_magic": lambda: cached_twice(
                    lambda: run_ours(endpoint, uri, cache=os.path.join(caches, "ours")), ours_entry, restart),
            }, truth, absent="n/a (no cache)"),
            f"gzip bomb: {len(bomb) / 1e6:.0f} MB expanding to {args.bomb_gib} GiB of CSV": Case(
                [], {lib: f"{name}:s3://{BUCKET}/{BOMB_KEY}" for lib, name in names.items()}, {}, bound=bomb_bound),
            "listing repeats its continuation token": Case(
                [Only(Send(page("same", ("p/a.csv",))), path=f"/{LISTED}", times=None, test=listing_of(LISTED))],
                {lib: f"{name}:s3://{LISTED}/p/" for lib, name in prefix.items()},
                {"": (small, pd.read_csv(io.BytesIO(small)))}, bound=listing_bound, doing="listing"),
            "listing of empty pages, a new token each, endless": Case(
                [Only(FreshPages(), path=f"/{LISTED}", times=None, test=listing_of(LISTED))],
                {lib: f"{name}:s3://{LISTED}/p/" for lib, name in prefix.items()},
                {"": (small, pd.read_csv(io.BytesIO(small)))}, bound=listing_bound, doing="listing"),
            f"body trickles at 500 B/s after {CUT_AT >> 20} MiB": Case(
                [Fault(Trickle(size=50, every=0.1, after=CUT_AT), path=path)],
                {lib: f"{name}:{uri}" for lib, name in names.items()}, truth, bound=trickle_bound,
                doing="reading"),
            "body trickles at 500 B/s from its first byte": Case(
                [Fault(Trickle(size=50, every=0.1), path=path)],
                {lib: f"{name}:{uri}" for lib, name in names.items()}, truth, bound=first_bound, doing="reading"),
        }
        rows: list[tuple[str, str, Outcome | str]] = []
        for fault_name, case in cases.items():
            if args.only and args.only not in fault_name:
                continue
            for library, run in case.runners.items():
                if run is None:
                    rows.append((fault_name, library, case.absent))
                    continue
                put(original)()
                case.setup()
                restart()
                for fault in case.faults:
                    proxy.add(fault)
                if isinstance(run, str):  # in a child process
                    name, _, target = run.partition(":")
                    result, seconds, got = in_child(name, endpoint, target, case.bound or 60.0, case.doing,
                                                    address_space)
                    if got is not None:
                        result = classify(*got, case.truth) if case.truth else f"a frame of {len(got[1]):,} rows"
                else:
                    clock[0] = time.monotonic()
                    try:
                        result = classify(*run(), case.truth)
                    except Exception as exc:  # what the user would see is the point
                        result = error_name(exc)
                    seconds = time.monotonic() - clock[0]
                outcome = Outcome(result, seconds, sum(r.method == "GET" for r in proxy.requests),
                                  sum(r.method == "HEAD" for r in proxy.requests))
                rows.append((fault_name, library, outcome))
                print(f"{fault_name:<56} {library:<16} {outcome.result:<44} {outcome.seconds:7.2f} s "
                      f"GET {outcome.gets} HEAD {outcome.heads}", file=sys.stderr, flush=True)
    admin.close()
    server.stop()

    print(f"\nObject: {len(original) / 1e6:.1f} MB CSV on moto behind FaultProxy; faults hit the object's GETs "
          f"(the listing rows: the bucket's ListObjectsV2); child runs at RLIMIT_AS {args.address_space:g} GiB.\n")
    libraries = list(names)
    print("| fault | " + " | ".join(libraries) + " |")
    print("|---|" + "---|" * len(libraries))
    for fault_name in dict.fromkeys(name for name, _, _ in rows):
        cells = {library: cell(o) for name, library, o in rows if name == fault_name}
        print(f"| {fault_name} | " + " | ".join(cells.get(library, "") for library in libraries) + " |")


def cell(o: Outcome | str) -> str:
    if isinstance(o, str):
        return o
    requests = f"{o.gets:,} GET" + (f", {o.heads} HEAD" if o.heads else "")
    if o.result.startswith("still "):
        return f"{o.result}, {requests}"  # the time is the bound
    return f"{o.result}, {o.seconds:.2f} s, {requests}"


if __name__ == "__main__":
    main()
