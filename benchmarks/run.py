"""The benchmark behind ``make bench``: time to a pandas DataFrame from a local S3, ours against its peers.

One run: generates the data (cached under ``~/.cache/dreambolt-bench``), starts the S3 servers (moto; s3rver
too if ``npm`` can install it), optionally a throttling proxy in front of each (40 MB/s per connection,
20 ms to the first byte: S3 as one connection sees it), and times every approach on every case, each
measurement in a fresh process, interleaved (A, B, C, A, B, C, ...). Prints one table per server and
profile: median seconds, MB/s (object size / time), peak RSS, and time relative to ours; the share of the
file ours fetched for ``columns`` and ``nrows``; and at the end each of the issue's targets, met or not.

    python benchmarks/run.py                  # the 7.5M-row Parquet (about 240 MB), its CSV, 300 small CSVs
    python benchmarks/run.py --size small     # 500k rows, a quick run
    python benchmarks/run.py --base ../before # A/B: also ours-base, dreambolt_magic from another checkout
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
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("DREAMBOLT_BENCH_CACHE", Path.home() / ".cache" / "dreambolt-bench"))
SIZES = {"small": 500_000, "full": 7_500_000}
BUCKET = "bench"
SERVERS = ("moto", "s3rver")
PROFILES = ("loopback", "s3-like")
CASES = ("parquet", "columns", "nrows", "csv", "many", "parquet-set")
APPROACHES = ("ours", "ours-base", "ours-noprogress", "ours-again", "s3fs", "pyarrow-fs", "pyarrow-fs-again", "boto3",
              "polars", "obstore", "obstore-again", "raw-get", "local")
#: ``ours-base`` is ours from the tree ``--base`` names; it runs only with that option.
DEFAULT_APPROACHES = tuple(a for a in APPROACHES if a != "ours-base")
#: Approaches run in some cases only: the progress bar's cost is a question for the two whole-file reads, and
#: the second load in a process (``-again``) for the short ones, where once-a-process costs weigh most.
ONLY_IN = {"ours-noprogress": {"parquet", "csv"}, "ours-again": {"columns", "nrows"},
           "pyarrow-fs-again": {"columns", "nrows"}, "obstore": {"parquet", "columns", "nrows", "csv"},
           "obstore-again": {"columns", "nrows"}}
#: Case "many": this many CSV objects of about MANY_BYTES each, under the prefix many/.
MANY_OBJECTS = 300
MANY_BYTES = 100_000
#: Case "parquet-set": the same rows cut into this many Parquet files under the prefix set/, of which each
#: approach reads 2 of 8 columns (a partitioned dataset's usual read).
SET_FILES = 60
#: Which data each case reads.
CASE_DATA = {"parquet": "parquet", "columns": "parquet", "nrows": "parquet", "csv": "csv", "many": "many",
             "parquet-set": "parquet-set"}
#: approach.py's exit code when dreambolt_magic did not come from the tree it was given.
WRONG_TREE = 3
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
    # Written aside and renamed: a run stopped half-way must not leave a short file that counts as made.
    frame.to_parquet(parquet.with_suffix(".partial"), index=False, compression="snappy")
    parquet.with_suffix(".partial").replace(parquet)
    frame.to_csv(csv.with_suffix(".partial"), index=False)
    csv.with_suffix(".partial").replace(csv)
    return parquet, csv


def _made_once(folder: Path, write) -> Path:
    """``folder`` filled by ``write(folder)`` once: a ``.complete`` marker says a run finished it."""
    complete = folder / ".complete"
    if not complete.exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        write(folder)
        complete.touch()
    return folder


def make_many(parquet: Path, csv: Path) -> Path:
    """MANY_OBJECTS CSV files of about MANY_BYTES each, consecutive rows of the dataset, made once."""

    def write(folder: Path) -> None:
        import pandas as pd

        frame = pd.read_parquet(parquet)
        # Rows per object from the CSV's bytes per row; a dataset too small for that is shared out evenly.
        per_object = max(1, min(len(frame) // MANY_OBJECTS, round(MANY_BYTES * len(frame) / csv.stat().st_size)))
        for i in range(MANY_OBJECTS):
            frame.iloc[i * per_object : (i + 1) * per_object].to_csv(folder / f"part-{i:03d}.csv", index=False)

    return _made_once(parquet.parent / "many", write)


def make_parquet_set(parquet: Path) -> Path:
    """SET_FILES Parquet files of consecutive rows of the dataset (pyarrow's defaults, as ``parquet``), made once."""

    def write(folder: Path) -> None:
        import pyarrow.parquet as pq

        table = pq.read_table(parquet)
        per_file = -(-len(table) // SET_FILES)
        for i in range(SET_FILES):
            pq.write_table(table.slice(i * per_file, per_file), folder / f"part-{i:03d}.parquet", compression="snappy")

    return _made_once(parquet.parent / "set", write)


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


def start_s3rver(folder: Path) -> tuple[subprocess.Popen[bytes], str] | None:
    """s3rver from npm, installed once into the cache, storing in ``folder``; None if npm is missing or fails."""
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

    def put(item: tuple[str, Path]) -> None:
        # One PUT per object, as most data files are written; s3rver wants its own default keys (S3RVER).
        client.upload_file(str(item[1]), BUCKET, item[0], Config=TransferConfig(multipart_threshold=1 << 40))

    with ThreadPoolExecutor(8) as pool:  # 300 small objects one after another take a while on moto
        list(pool.map(put, files.items()))


# --- measuring -----------------------------------------------------------------------------------------


def tree_of(approach: str, args: argparse.Namespace) -> Path | None:
    """The tree an approach imports dreambolt_magic from: --base for ours-base, --tree for ours; None for peers."""
    return args.base if approach == "ours-base" else args.tree if approach.startswith("ours") else None


def describe(tree: Path) -> str:
    """``tree`` and its commit (``+changes`` if its package differs from it), for the run's header."""
    commit = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    if commit.returncode != 0:
        return f"{tree} (not a git checkout)"
    changed = subprocess.run(["git", "-C", str(tree), "status", "--porcelain", "--", "dreambolt_magic"],
                             capture_output=True, text=True).stdout.strip()
    return f"{tree} ({commit.stdout.strip()}{' +changes' if changed else ''})"


def import_from(tree: Path) -> None:
    """This process's own imports of dreambolt_magic (the targets' part planning) come from ``tree`` too."""
    sys.path.insert(0, str(tree))
    import dreambolt_magic

    if not Path(dreambolt_magic.__file__ or "").resolve().is_relative_to(tree):
        raise SystemExit(f"run.py: dreambolt_magic was imported from {dreambolt_magic.__file__}, not from {tree}")


def measure(approach: str, case: str, spec: dict[str, Any], timeout: float, tree: Path | None = None) -> dict[str, Any]:
    # approach.py puts the tree first on its sys.path and checks that every dreambolt_magic module came from it.
    env = {**os.environ, **ENV, **({"DREAMBOLT_BENCH_TREE": str(tree)} if tree else {})}
    try:
        # stderr is captured: ours' progress bar (tqdm) writes there, and a terminal's redraws would be timed too.
        result = subprocess.run(
            [sys.executable, str(HERE / "approach.py"), approach, case, json.dumps(spec)],
            capture_output=True, text=True, timeout=timeout, env=env,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if result.returncode == WRONG_TREE:  # a measurement of the wrong code: no figure of this run can be trusted
        raise SystemExit(f"{approach}: {(result.stderr.strip().splitlines() or ['wrong dreambolt_magic'])[-1]}")
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        return {"error": lines[-1][:100] if lines else f"exit {result.returncode}"}
    lines = result.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else {"error": "no output"}


#: Approaches whose library is an optional install (the ``bench`` extra has obstore), skipped where missing.
OPTIONAL = {"polars": "polars", "obstore": "obstore", "obstore-again": "obstore"}


def available(approach: str) -> bool:
    if approach not in OPTIONAL:
        return True
    import importlib.util

    return importlib.util.find_spec(OPTIONAL[approach]) is not None


def run_profile(label: str, endpoint: str, data: dict[str, dict[str, Any]], args: argparse.Namespace,
                approaches: list[str]) -> list[dict[str, Any]]:
    rows = []
    for case in args.cases:
        source = data[CASE_DATA[case]]
        spec = {"uri": source["uri"], "endpoint": endpoint, "path": str(source["path"])}
        present = [a for a in approaches if case in ONLY_IN.get(a, {case})]
        samples: dict[str, list[dict[str, Any]]] = {a: [] for a in present}
        for _ in range(args.repeats):
            for approach in present:  # interleaved: A B C A B C ...
                samples[approach].append(measure(approach, case, spec, args.timeout, tree_of(approach, args)))
        case_rows = []
        for approach in present:
            good = [s for s in samples[approach] if "seconds" in s]
            row: dict[str, Any] = {"profile": label, "case": case, "approach": approach, "size": source["size"]}
            if (tree := tree_of(approach, args)) is not None:
                row["tree"] = str(tree)
            if not good:
                row["error"] = "; ".join(sorted({str(s.get("error")) for s in samples[approach]}))
            else:
                row.update(
                    seconds=statistics.median(s["seconds"] for s in good),
                    rss_mb=statistics.median(s["rss_mb"] for s in good),
                    shape=f"{good[0]['rows']}x{good[0]['columns']}",
                )
                row["mb_s"] = source["size"] / row["seconds"] / 1e6
                fetched = [s["bytes_fetched"] for s in good if "bytes_fetched" in s]
                if fetched:
                    row["bytes_fetched"] = statistics.median(fetched)
                bar = [s["bar_seconds"] / s["seconds"] for s in good if "bar_seconds" in s]
                if bar:
                    row["bar_share"] = statistics.median(bar)
            case_rows.append(row)
        ours = next((r["seconds"] for r in case_rows if r["approach"] == "ours" and "seconds" in r), None)
        for row in case_rows:
            if ours and "seconds" in row:
                row["ratio"] = row["seconds"] / ours
        print_table(case_rows)
        rows += case_rows
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        start = f"| {row['profile']} | {row['case']} | {row['approach']} |"
        if "error" in row:
            print(f"{start} failed: {row['error']} | | | | |")
            continue
        fetched = f"{row['bytes_fetched'] / row['size']:.1%}" if "bytes_fetched" in row else ""
        print(f"{start} {row['seconds']:.3f} | {row['mb_s']:.0f} | {row['rss_mb']:.0f} "
              f"| {row.get('ratio', float('nan')):.2f}x | {fetched} |")
    sys.stdout.flush()


# --- the targets -------------------------------------------------------------------------------


def _verdict(what: str, value: float | None, sign: str, target: float, unit: str = "x", note: str = "") -> str:
    if value is None:
        return f"  {what}: not measured"
    met = value >= target if sign == ">=" else value < target if sign == "<" else value <= target
    shown = f"{value:.1%}" if unit == "%" else f"{value:.2f}x"
    goal = f"{target:.0%}" if unit == "%" else f"{target}x"
    return f"  {what}: {shown}{note} (target {sign} {goal}) {'met' if met else 'NOT MET'}"


def check_targets(rows: list[dict[str, Any]], size: int, rate: float) -> list[str]:
    """Each of the issue's targets, per server and profile: the measured ratio, and whether it is met.

    ``size`` is the Parquet file's, ``rate`` the s3-like profile's bytes/s per connection. Targets of cases
    not run are left out; one whose approaches failed says "not measured".
    """
    try:
        from dreambolt_magic.transfer.parts import DEFAULT_CONCURRENCY, plan_parts
    except ImportError:  # a tree from before the transfer package (1f17a61 and older) has flat modules
        from dreambolt_magic.parts import DEFAULT_CONCURRENCY, plan_parts  # type: ignore[no-redef]

    got = {(r["profile"], r["case"], r["approach"]): r for r in rows if "seconds" in r}
    lines = []
    for label in dict.fromkeys(r["profile"] for r in rows):
        ran = {r["case"] for r in rows if r["profile"] == label}

        def t(case: str, approach: str, label: str = label) -> float | None:
            row = got.get((label, case, approach))
            return row["seconds"] if row else None

        def over(a: float | None, b: float | None) -> float | None:
            return a / b if a is not None and b else None

        lines.append(f"{label}:")
        loopback = label.endswith("/loopback")
        if "parquet" in ran:
            ours, parse = t("parquet", "ours"), t("parquet", "local")
            lines.append(_verdict("full parquet, s3fs / ours", over(t("parquet", "s3fs"), ours), ">=",
                                  2.5 if loopback else 4.0))
            get = t("parquet", "raw-get")
            if loopback and get is not None and parse is not None and (s3fs := t("parquet", "s3fs")) is not None:
                # No loader can beat getting the bytes and parsing them, unless it overlaps the two.
                lines.append(f"    (s3fs / (one GET + local parse) = {s3fs / (get + parse):.2f}x: what a loader that "
                             "gets the whole object and then parses it can reach)")
            if loopback:
                lines.append(_verdict("full parquet, pyarrow-fs / ours", over(t("parquet", "pyarrow-fs"), ours),
                                      ">=", 1.5))
                bound = get + parse if get is not None and parse is not None else None
                note = f" of {bound:.3f} s" if bound else ""
                lines.append(_verdict("full parquet, ours / (one GET + local parse)", over(ours, bound), "<=", 1.15,
                                      note=note))
            else:
                # The connections ours has in flight: the main stream and its workers, no more than there are parts.
                streams = min(DEFAULT_CONCURRENCY, len(plan_parts(size)))
                bound = size / (rate * streams) + parse if parse is not None else None
                note = f" of {bound:.3f} s = {size / 1e6:.1f} MB / ({rate / 1e6:.0f} MB/s x {streams}) + parse" \
                    if bound else ""
                lines.append(_verdict("full parquet, ours / (size / (rate x concurrency) + local parse)",
                                      over(ours, bound), "<=", 1.3, note=note))
        if "parquet" in ran:
            row, base = got.get((label, "parquet", "ours")), got.get((label, "parquet", "local"))
            memory = row["rss_mb"] / base["rss_mb"] if row and base else None
            lines.append(_verdict("full parquet, peak RSS ours / local pd.read_parquet", memory, "<=", 1.2))
        if "columns" in ran:
            lines.append(_verdict("2 of 8 columns, pyarrow-fs / ours",
                                  over(t("columns", "pyarrow-fs"), t("columns", "ours")), ">=", 1.0))
            again = over(t("columns", "pyarrow-fs-again"), t("columns", "ours-again"))
            if again is not None:
                lines.append(_verdict("2 of 8 columns, second load in a process, pyarrow-fs / ours", again, ">=", 1.0))
        for case in ("columns", "nrows"):
            if case in ran:
                row = got.get((label, case, "ours"))
                share = row["bytes_fetched"] / row["size"] if row and "bytes_fetched" in row else None
                lines.append(_verdict(f"{case}, bytes ours fetched / file size", share, "<", 0.2, unit="%"))
        if "csv" in ran:
            lines.append(_verdict("full CSV, s3fs / ours", over(t("csv", "s3fs"), t("csv", "ours")), ">=", 2.0))
        for case in ("parquet", "csv"):
            if case not in ran:
                continue
            row = got.get((label, case, "ours"))
            share = row.get("bar_share") if row else None
            lines.append(_verdict(f"{case}, time inside the progress bar / load time", share, "<", 0.03, unit="%"))
            on, off = t(case, "ours"), t(case, "ours-noprogress")
            if on is not None and off:
                # Between two processes the wall clock varies by more than the bar could cost: shown, not judged.
                lines.append(f"    (wall clock, bar on / bar off: {on / off:.2f}x)")
        # Issue 19: obstore as a data path, measured beside ours (no target: adopted only where it wins).
        for case, peer, base in (("parquet", "obstore", "ours"), ("csv", "obstore", "ours"),
                                 ("columns", "obstore", "ours"), ("nrows", "obstore", "ours"),
                                 ("columns", "obstore-again", "ours-again"), ("nrows", "obstore-again", "ours-again")):
            ratio = over(t(case, peer), t(case, base))
            if ratio is not None:
                lines.append(f"  {case}, {peer} / {base} (issue 19, no target; below 1: obstore faster): {ratio:.2f}x")
        many = t("many", "ours")
        peers = [f"{p} {seconds / many:.2f}x" for p in APPROACHES
                 if p != "ours" and many and (seconds := t("many", p)) is not None]
        if peers:
            lines.append(f"  {MANY_OBJECTS} small CSV objects, peer / ours (no target): {', '.join(peers)}")
        set_ours = t("parquet-set", "ours")
        peers = [f"{p} {seconds / set_ours:.2f}x" for p in APPROACHES
                 if p != "ours" and set_ours and (seconds := t("parquet-set", p)) is not None]
        if peers:
            lines.append(f"  {SET_FILES} Parquet files, 2 of 8 columns, peer / ours (no target): {', '.join(peers)}")
    return lines


def compare_trees(rows: list[dict[str, Any]]) -> list[str]:
    """The A/B: ours-base / ours per server, profile and case (above 1: the tree under test is faster)."""
    got = {(r["profile"], r["case"], r["approach"]): r["seconds"] for r in rows if "seconds" in r}
    lines = []
    for label in dict.fromkeys(r["profile"] for r in rows):
        pairs = [(case, got.get((label, case, "ours-base")), got.get((label, case, "ours")))
                 for case in dict.fromkeys(r["case"] for r in rows if r["profile"] == label)]
        shown = [f"{case} {base / ours:.2f}x ({base:.3f} s / {ours:.3f} s)" if base and ours else f"{case} not measured"
                 for case, base, ours in pairs]
        lines.append(f"  {label}: {', '.join(shown)}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="full",
                        help="full: 7.5M rows (about 240 MB Parquet, 660 MB CSV); small: 500k rows")
    parser.add_argument("--rows", type=int, help="rows of the generated data (overrides --size)")
    parser.add_argument("--repeats", type=int, default=3, help="measurements per approach and case; medians shown")
    parser.add_argument("--servers", default=",".join(SERVERS), help=f"comma-separated: {', '.join(SERVERS)}")
    parser.add_argument("--profiles", default=",".join(PROFILES), help=f"comma-separated: {', '.join(PROFILES)}")
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated: {', '.join(CASES)}")
    parser.add_argument("--approaches", default=",".join(DEFAULT_APPROACHES),
                        help=f"comma-separated: {', '.join(APPROACHES)} (ours-base only with --base)")
    parser.add_argument("--tree", type=Path, default=HERE.parent,
                        help="the checkout ours imports dreambolt_magic from (default: the one this script is in)")
    parser.add_argument("--base", type=Path,
                        help="A/B: also run ours-base, ours with dreambolt_magic from this checkout (e.g. a git "
                             "worktree of an older commit)")
    parser.add_argument("--rate", type=float, default=40e6, help="s3-like: bytes/s per connection")
    parser.add_argument("--latency", type=float, default=0.02, help="s3-like: seconds to the first byte")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds before one measurement is dropped")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    servers, profiles = [s for s in args.servers.split(",") if s], [p for p in args.profiles.split(",") if p]
    args.cases = [c for c in args.cases.split(",") if c]
    wanted = [a for a in args.approaches.split(",") if a]
    for name, given, known in (("server", servers, SERVERS), ("profile", profiles, PROFILES),
                               ("case", args.cases, CASES), ("approach", wanted, APPROACHES)):
        unknown = [x for x in given if x not in known]
        if unknown:
            parser.error(f"unknown {name}: {', '.join(unknown)} (choose from {', '.join(known)})")
    for option in ("tree", "base"):
        given = getattr(args, option)
        if given is not None:
            given = given.resolve()
            if not (given / "dreambolt_magic" / "__init__.py").is_file():
                parser.error(f"--{option} {given}: no dreambolt_magic package there")
            setattr(args, option, given)
    if args.base is None and "ours-base" in wanted:
        parser.error("ours-base is ours from the tree --base names: give --base")
    if args.base is not None and "ours-base" not in wanted:
        wanted.insert(wanted.index("ours") + 1 if "ours" in wanted else len(wanted), "ours-base")
    import_from(args.tree)
    from approach import compile_tree  # this script's folder is first on sys.path

    for tree in {args.tree, args.base} - {None}:
        compile_tree(tree)  # bytecode for every module the measurements import (see approach.py)
    approaches = [a for a in wanted if available(a)]
    skipped = [a for a in wanted if not available(a)]

    rows_count = args.rows or SIZES[args.size]
    parquet, csv = make_data(rows_count)
    many = make_many(parquet, csv)
    parts = sorted(many.glob("*.csv"))
    parquet_set = make_parquet_set(parquet)
    set_files = sorted(parquet_set.glob("*.parquet"))
    data: dict[str, dict[str, Any]] = {
        "parquet": {"uri": f"s3://{BUCKET}/data.parquet", "path": parquet, "size": parquet.stat().st_size},
        "csv": {"uri": f"s3://{BUCKET}/data.csv", "path": csv, "size": csv.stat().st_size},
        "many": {"uri": f"s3://{BUCKET}/many/", "path": many, "size": sum(p.stat().st_size for p in parts)},
        "parquet-set": {"uri": f"s3://{BUCKET}/set/", "path": parquet_set,
                        "size": sum(p.stat().st_size for p in set_files)},
    }
    files = {"data.parquet": parquet, "data.csv": csv, **{f"many/{p.name}": p for p in parts},
             **{f"set/{p.name}": p for p in set_files}}
    import pyarrow.parquet as pq

    # nrows can skip only whole row groups: with one (any --size small file) it must fetch the whole file.
    groups = pq.ParquetFile(parquet).metadata.num_row_groups
    print(f"data: {rows_count:,} rows x 8 columns; Parquet {data['parquet']['size'] / 1e6:.1f} MB "
          f"in {groups} row group{'s' if groups > 1 else ''}, "
          f"CSV {data['csv']['size'] / 1e6:.1f} MB, {len(parts)} CSV objects of "
          f"{data['many']['size'] / len(parts) / 1e3:.0f} KB, {len(set_files)} Parquet files of "
          f"{data['parquet-set']['size'] / len(set_files) / 1e6:.1f} MB; {args.repeats} runs each, medians; "
          f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    if skipped:
        print(f"skipped (not installed): {', '.join(skipped)}")
    if any(a.startswith("ours") for a in approaches):
        print(f"ours: dreambolt_magic from {describe(args.tree)}"
              + (f"; ours-base: from {describe(args.base)}" if args.base else ""))
    print("| profile | case | approach | median s | MB/s | peak RSS MB | time / ours | fetched / size |")
    print("|---|---|---|---|---|---|---|---|")
    all_rows: list[dict[str, Any]] = []
    for server in servers:
        with tempfile.TemporaryDirectory(prefix="s3rver-", dir=CACHE) as folder:
            # A folder of its own: another run's s3rver (or a stale one) never shares or wipes it.
            started = start_moto() if server == "moto" else start_s3rver(Path(folder))
            if started is None:
                print(f"({server}: not available, skipped)")
                continue
            process, endpoint = started
            try:
                upload(endpoint, files)
                for profile in profiles:
                    throttle = None
                    target = endpoint
                    if profile == "s3-like":
                        throttle, target = start_throttle(endpoint, args.rate, args.latency)
                    try:
                        all_rows += run_profile(f"{server}/{profile}", target, data, args, approaches)
                    finally:
                        if throttle is not None:
                            throttle.terminate()
                            throttle.wait()
            finally:
                process.terminate()
                process.wait()
    print()
    caveat = "" if rows_count == SIZES["full"] else "; at this size they are only indicative"
    print(f"targets (the issue's, set for the full-size data{caveat}):")
    for line in check_targets(all_rows, data["parquet"]["size"], args.rate):
        print(line)
    if args.base is not None:
        print()
        print(f"A/B, ours-base / ours (above 1: {args.tree} is faster than {args.base}):")
        for line in compare_trees(all_rows):
            print(line)
    if args.json:
        args.json.write_text(json.dumps(all_rows, indent=1))


if __name__ == "__main__":
    main()
