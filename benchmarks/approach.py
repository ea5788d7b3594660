"""One timed load, in a fresh process: ``python benchmarks/approach.py APPROACH CASE SPEC_JSON``.

Prints one JSON line: ``seconds`` (to a pandas DataFrame; the imports of pandas, pyarrow, boto3 and each
approach's own library excluded, but ours' import of ``dreambolt_magic`` counted, as a script or a fresh
kernel pays for it), ``rss_mb`` (peak resident
memory of the process), ``rows`` and ``columns``, and for ours ``bytes_fetched`` (``df.attrs["s3"]``).
``run.py`` starts one of these per measurement, so no approach inherits another's warm caches or memory.
An approach named with ``-again`` (``ours-again``) loads once untimed and times a second, identical load in
the same process: the steady state of a notebook session, where the first load (or ``%load_ext``'s warm-up)
has paid each library's once-a-process costs.

Ours imports ``dreambolt_magic`` from the tree (a checkout of this repository) named by the environment
variable ``DREAMBOLT_BENCH_TREE``, put first on ``sys.path``; run.py sets it for every ``ours`` approach (its
``--tree``, or ``--base`` for ``ours-base``, which is ours from another tree: an A/B). Each of its modules is
checked to come from that tree, before the load and after it; a stray one ends the process with exit code
``WRONG_TREE``, and run.py stops the run. The tree's modules load from bytecode kept in the benchmark's cache
(``bytecode/``), compiled by the first process that imports them, as a pip install's are compiled when it
installs: this machine sets ``PYTHONDONTWRITEBYTECODE``, and a base tree may not be ours to write in, so
without it every process would compile each module it imports, the ones a load imports lazily during the
timed load (about 30 ms of a 0.2 s read of 2 columns at 4661a64). Without the variable, ``dreambolt_magic``
is whichever the environment imports, as it imports it.

Case ``many`` is a prefix of small CSV objects and ``parquet-set`` a prefix of Parquet files of which 2 of 8
columns are read (``spec["uri"]`` ends in ``/``, ``spec["path"]`` is the local folder of the same files); the
others are one object.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import io
import json
import marshal
import os
import resource
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

COLUMNS = ["qty", "category"]
NROWS = 1000


def _parquet_head(source: Any) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    batches = pq.ParquetFile(source).iter_batches(batch_size=NROWS)
    return pa.Table.from_batches([next(batches)]).to_pandas()


#: Threads raw-get uses for a prefix: as many as ours fetches objects with (dataset.MAX_WORKERS), for a ceiling
#: at the same concurrency.
RAW_THREADS = 8


def _client(spec: dict[str, Any], **config: Any) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=spec["endpoint"], region_name="us-east-1", config=Config(**config))


def _split(uri: str) -> tuple[str, str]:
    bucket, key = uri[len("s3://") :].split("/", 1)
    return bucket, key


def _keys(client: Any, uri: str) -> list[str]:
    bucket, prefix = _split(uri)
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [entry["Key"] for page in pages for entry in page.get("Contents", [])]


#: Where ours imports dreambolt_magic from (see the module's docstring), and the exit code when it did not.
TREE_VARIABLE = "DREAMBOLT_BENCH_TREE"
WRONG_TREE = 3


#: Where a tree's modules' bytecode is kept (run.py's cache; see the module's docstring).
BYTECODE = Path(os.environ.get("DREAMBOLT_BENCH_CACHE", Path.home() / ".cache" / "dreambolt-bench")) / "bytecode"


class _CachedBytecode(importlib.machinery.SourceFileLoader):
    """A module of the tree, its code unmarshalled from BYTECODE as from a ``.pyc``; compiled there once."""

    def get_code(self, fullname: str) -> Any:
        path = self.get_filename(fullname)
        stat = os.stat(path)
        # What a .pyc is checked against (the source's mtime and size), and what makes one unreadable.
        key = f"{path}\0{stat.st_mtime_ns}\0{stat.st_size}\0{sys.version}\0{sys.flags.optimize}"
        cached = BYTECODE / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.code"
        try:
            return marshal.loads(cached.read_bytes())
        except (OSError, EOFError, ValueError, TypeError):
            pass
        code = self.source_to_code(self.get_data(path), path)
        BYTECODE.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}")  # written aside: a parallel reader sees none or all
        partial.write_bytes(marshal.dumps(code))
        partial.replace(cached)
        return code


def compile_tree(tree: Path) -> int:
    """Fill BYTECODE with every module of ``tree``'s package, as its measurements will find them; run.py calls
    this before it measures, so that no timed load compiles. Returns the count of modules."""
    tree = tree.resolve()
    sources = sorted((tree / "dreambolt_magic").rglob("*.py"))
    for source in sources:
        name = ".".join(source.relative_to(tree).with_suffix("").parts).removesuffix(".__init__")
        _CachedBytecode(name, str(source)).get_code(name)
    return len(sources)


class _TreeFinder:
    """Finds dreambolt_magic's modules in the tree (first on sys.path anyway) and loads them with _CachedBytecode."""

    def __init__(self, tree: Path) -> None:
        self.tree = tree

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != "dreambolt_magic" and not fullname.startswith("dreambolt_magic."):
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, [str(self.tree)] if path is None else path, target)
        if spec is not None and type(spec.loader) is importlib.machinery.SourceFileLoader:
            spec.loader = _CachedBytecode(fullname, spec.origin)
        return spec


def _use_tree() -> Path | None:
    """Put the tree named by TREE_VARIABLE first on sys.path, before anything imports dreambolt_magic."""
    if not os.environ.get(TREE_VARIABLE):
        return None
    tree = Path(os.environ[TREE_VARIABLE]).resolve()
    if not (tree / "dreambolt_magic" / "__init__.py").is_file():
        _wrong_tree(f"{tree} holds no dreambolt_magic package")
    if "dreambolt_magic" in sys.modules:
        _wrong_tree("dreambolt_magic was imported before its tree was put on sys.path")
    sys.path.insert(0, str(tree))
    sys.meta_path.insert(0, _TreeFinder(tree))
    return tree


def _check_tree(tree: Path | None) -> None:
    """Every dreambolt_magic module this process has imported comes from ``tree``; if not, exit loudly."""
    if tree is None:
        return
    for name, module in list(sys.modules.items()):
        if name != "dreambolt_magic" and not name.startswith("dreambolt_magic."):
            continue
        origin = getattr(module, "__file__", None)
        if origin is None or not Path(origin).resolve().is_relative_to(tree):
            _wrong_tree(f"{name} was imported from {origin}, not from {tree}")


def _wrong_tree(message: str) -> None:
    print(f"wrong dreambolt_magic: {message}", file=sys.stderr)
    sys.exit(WRONG_TREE)


#: Seconds spent inside the progress bar's methods during the load, on every thread (see _time_the_bar).
BAR = {"seconds": 0.0, "calls": 0}


def _time_the_bar() -> None:
    """Wrap the tqdm bar's methods with a clock: the bar's own cost, measured in the load it is part of.

    Two loads in two processes differ by far more than 3% on this machine (memory and scheduling noise), so
    the wall-clock difference of bar on and bar off cannot show a cost that small; the time inside the bar
    can. What it leaves out is tqdm's monitor thread, which wakes every 10 s.
    """
    import threading

    try:
        from dreambolt_magic.transfer.progress import TqdmProgress
    except ImportError:  # a tree from before the transfer package (1f17a61 and older) has flat modules
        from dreambolt_magic.progress import TqdmProgress  # type: ignore[no-redef]

    lock = threading.Lock()

    def clocked(method: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                spent = time.perf_counter() - began
                with lock:
                    BAR["seconds"] += spent
                    BAR["calls"] += 1

        return call

    for name in ("start", "advance", "rewind", "retrying", "finish"):
        setattr(TqdmProgress, name, clocked(getattr(TqdmProgress, name)))


def ours(case: str, spec: dict[str, Any], progress: bool = True) -> Any:
    """As a user calls it: the progress bar is on by default (tqdm on stderr, which run.py captures)."""
    import dreambolt_magic

    if progress:
        _time_the_bar()

    kw: dict[str, Any] = ({"columns": COLUMNS} if case in ("columns", "parquet-set")
                          else {"nrows": NROWS} if case == "nrows" else {})
    return dreambolt_magic.load(spec["uri"], endpoint_url=spec["endpoint"], progress=progress, **kw)


def ours_noprogress(case: str, spec: dict[str, Any]) -> Any:
    return ours(case, spec, progress=False)


def s3fs_pandas(case: str, spec: dict[str, Any]) -> Any:
    import pandas as pd

    options = {"client_kwargs": {"endpoint_url": spec["endpoint"], "region_name": "us-east-1"}}
    if case == "csv":
        return pd.read_csv(spec["uri"], storage_options=options)
    if case == "nrows":
        import s3fs

        with s3fs.S3FileSystem(**options).open(spec["uri"], "rb") as f:
            return _parquet_head(f)
    return pd.read_parquet(spec["uri"], storage_options=options, columns=COLUMNS if case == "columns" else None)


def pyarrow_fs(case: str, spec: dict[str, Any]) -> Any:
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    fs = _arrow_fs(spec)
    path = spec["uri"][len("s3://") :]
    if case == "csv":
        with fs.open_input_stream(path) as f:
            return pcsv.read_csv(f).to_pandas()
    if case == "nrows":
        return _parquet_head(fs.open_input_file(path))
    return pq.read_table(path, filesystem=fs, columns=COLUMNS if case == "columns" else None).to_pandas()


def boto3_parse(case: str, spec: dict[str, Any]) -> Any:
    import pandas as pd
    from boto3.s3.transfer import TransferConfig

    client = _client(spec)
    bucket, key = _split(spec["uri"])
    buf = io.BytesIO()
    client.download_fileobj(bucket, key, buf, Config=TransferConfig(max_concurrency=10))
    buf.seek(0)
    if case == "csv":
        return pd.read_csv(buf)
    if case == "nrows":
        return _parquet_head(buf)
    return pd.read_parquet(buf, columns=COLUMNS if case == "columns" else None)


def raw_get(case: str, spec: dict[str, Any]) -> Any:
    client = _client(spec)
    bucket, key = _split(spec["uri"])
    return client.get_object(Bucket=bucket, Key=key)["Body"].read()


def local(case: str, spec: dict[str, Any]) -> Any:
    import pandas as pd

    if case == "csv":
        return pd.read_csv(spec["path"])
    if case == "nrows":
        return _parquet_head(spec["path"])
    return pd.read_parquet(spec["path"], columns=COLUMNS if case == "columns" else None)


def polars_s3(case: str, spec: dict[str, Any]) -> Any:
    import polars as pl

    options = {"aws_endpoint_url": spec["endpoint"], "aws_region": "us-east-1", "aws_allow_http": "true"}
    if case == "csv":
        return pl.read_csv(spec["uri"], storage_options=options).to_pandas()
    frame = pl.scan_parquet(spec["uri"], storage_options=options)
    if case == "columns":
        frame = frame.select(COLUMNS)
    if case == "nrows":
        frame = frame.head(NROWS)
    return frame.collect().to_pandas()


# --- obstore (issue 19): the mechanics are in via_obstore.py ---------------------------------------------


def obstore_load(case: str, spec: dict[str, Any]) -> Any:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq
    import via_obstore  # this script's folder is first on sys.path

    store, key = via_obstore.store(spec)
    if case == "columns":
        return via_obstore.columns(store, key, COLUMNS).to_pandas()
    if case == "nrows":
        # The reader fetches what pyarrow reads (footer, then the first row group's chunks), in order.
        return _parquet_head(via_obstore.reader(store, key))
    data = via_obstore.whole(store, key)
    if case == "csv":
        return pd.read_csv(io.BytesIO(data))
    return pq.read_table(pa.BufferReader(pa.py_buffer(data))).to_pandas()


# --- case "many": a prefix of small CSV objects into one frame --------------------------------------------


def many_s3fs(spec: dict[str, Any]) -> Any:
    """What a pandas user writes: glob the prefix, read_csv each object in turn (s3fs has no concurrent read_csv)."""
    import pandas as pd
    import s3fs

    options = {"client_kwargs": {"endpoint_url": spec["endpoint"], "region_name": "us-east-1"}}
    paths = s3fs.S3FileSystem(**options).glob(spec["uri"][len("s3://") :] + "*.csv")
    return pd.concat((pd.read_csv(f"s3://{p}", storage_options=options) for p in paths), ignore_index=True)


def _arrow_fs(spec: dict[str, Any]) -> Any:
    import pyarrow.fs as pafs

    return pafs.S3FileSystem(
        endpoint_override=spec["endpoint"].split("://", 1)[1],
        scheme="http",
        access_key=os.environ["AWS_ACCESS_KEY_ID"],
        secret_key=os.environ["AWS_SECRET_ACCESS_KEY"],
        region="us-east-1",
    )


def _arrow_dataset(spec: dict[str, Any], format: str) -> Any:
    import pyarrow.dataset as pads
    import pyarrow.fs as pafs

    fs = _arrow_fs(spec)
    # pyarrow's own discovery of the prefix, handed over as a listing rather than as the folder's path: for a
    # path, pyarrow first asks whether it is a folder with ListObjectsV2 max-keys=1, which s3rver 3.7.1 answers
    # with a 500, as it does any listing it must truncate (jamhall/s3rver#814).
    listing = fs.get_file_info(pafs.FileSelector(spec["uri"][len("s3://") :], recursive=True))
    paths = sorted(info.path for info in listing if info.type == pafs.FileType.File)
    return pads.dataset(paths, format=format, filesystem=fs)


def many_pyarrow(spec: dict[str, Any]) -> Any:
    return _arrow_dataset(spec, "csv").to_table().to_pandas()


def many_boto3(spec: dict[str, Any]) -> Any:
    """List, then get_object and read_csv each object in turn: the plain boto3 loop."""
    import pandas as pd

    client = _client(spec)
    bucket, _ = _split(spec["uri"])
    frames = [pd.read_csv(client.get_object(Bucket=bucket, Key=key)["Body"]) for key in _keys(client, spec["uri"])]
    return pd.concat(frames, ignore_index=True)


def many_polars(spec: dict[str, Any]) -> Any:
    import polars as pl

    options = {"aws_endpoint_url": spec["endpoint"], "aws_region": "us-east-1", "aws_allow_http": "true"}
    return pl.scan_csv(spec["uri"] + "*.csv", storage_options=options).collect().to_pandas()


def many_raw(spec: dict[str, Any]) -> Any:
    """List, then GET every object's bytes on RAW_THREADS threads, no parsing: the ceiling at ours' concurrency."""
    client = _client(spec, max_pool_connections=RAW_THREADS)
    bucket, _ = _split(spec["uri"])
    with ThreadPoolExecutor(RAW_THREADS) as pool:
        return list(pool.map(lambda key: client.get_object(Bucket=bucket, Key=key)["Body"].read(),
                             _keys(client, spec["uri"])))


def many_local(spec: dict[str, Any]) -> Any:
    import pandas as pd

    return pd.concat((pd.read_csv(p) for p in sorted(Path(spec["path"]).glob("*.csv"))), ignore_index=True)


# --- case "parquet-set": 2 of 8 columns of every Parquet file under a prefix ---------------------------------


def set_s3fs(spec: dict[str, Any]) -> Any:
    import pandas as pd

    options = {"client_kwargs": {"endpoint_url": spec["endpoint"], "region_name": "us-east-1"}}
    return pd.read_parquet(spec["uri"], columns=COLUMNS, storage_options=options)


def set_pyarrow(spec: dict[str, Any]) -> Any:
    return _arrow_dataset(spec, "parquet").to_table(columns=COLUMNS).to_pandas()


def set_boto3(spec: dict[str, Any]) -> Any:
    """List, then get_object and read the columns of each file in turn: the plain boto3 loop."""
    import pandas as pd

    client = _client(spec)
    bucket, _ = _split(spec["uri"])
    frames = [pd.read_parquet(io.BytesIO(client.get_object(Bucket=bucket, Key=key)["Body"].read()), columns=COLUMNS)
              for key in _keys(client, spec["uri"])]
    return pd.concat(frames, ignore_index=True)


def set_polars(spec: dict[str, Any]) -> Any:
    import polars as pl

    options = {"aws_endpoint_url": spec["endpoint"], "aws_region": "us-east-1", "aws_allow_http": "true"}
    return pl.scan_parquet(spec["uri"] + "*.parquet", storage_options=options).select(COLUMNS).collect().to_pandas()


def set_local(spec: dict[str, Any]) -> Any:
    import pandas as pd

    return pd.read_parquet(spec["path"], columns=COLUMNS)


APPROACHES = {
    "ours": ours,
    "ours-noprogress": ours_noprogress,
    "s3fs": s3fs_pandas,
    "pyarrow-fs": pyarrow_fs,
    "boto3": boto3_parse,
    "polars": polars_s3,
    "obstore": obstore_load,
    "raw-get": raw_get,
    "local": local,
}
#: Case "many"; ours takes a prefix as it takes one object.
MANY = {
    "ours": lambda spec: ours("many", spec),
    "ours-noprogress": lambda spec: ours_noprogress("many", spec),
    "s3fs": many_s3fs,
    "pyarrow-fs": many_pyarrow,
    "boto3": many_boto3,
    "polars": many_polars,
    "raw-get": many_raw,
    "local": many_local,
}
#: Case "parquet-set"; raw-get is every file whole (more than a read of 2 columns needs), as for "many".
PARQUET_SET = {
    "ours": lambda spec: ours("parquet-set", spec),
    "s3fs": set_s3fs,
    "pyarrow-fs": set_pyarrow,
    "boto3": set_boto3,
    "polars": set_polars,
    "raw-get": many_raw,
    "local": set_local,
}
#: The cases that read a prefix, and each approach's way of reading it.
SETS = {"many": MANY, "parquet-set": PARQUET_SET}


def _warm(name: str) -> None:
    """Import before the clock starts: the time measured is the load, not the interpreter's start.

    Not ``dreambolt_magic``: what its import costs is ours to make small, and an A/B against a tree that
    imported more or less at ``import dreambolt_magic`` would otherwise compare different things.
    """
    import boto3  # noqa: F401
    import pandas  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    if name.startswith("ours"):
        # The bar imports tqdm on its first use: a once-a-process cost, not the bar's. dreambolt_magic itself
        # is imported inside the clock, as a script or a fresh kernel pays for it (a -again run imports it in
        # its first load).
        import tqdm.auto  # noqa: F401
    elif name == "s3fs":
        import s3fs  # noqa: F401
    elif name == "pyarrow-fs":
        import pyarrow.csv  # noqa: F401
        import pyarrow.dataset  # noqa: F401
        import pyarrow.fs  # noqa: F401
    elif name == "polars":
        import polars  # noqa: F401
    elif name == "obstore":
        import obstore  # noqa: F401
        import obstore.store  # noqa: F401
        import via_obstore  # noqa: F401


def _peak_rss_mb() -> float:
    """This process's peak resident memory, in MiB.

    Linux's VmHWM belongs to the process's own memory map, which exec starts afresh; ``ru_maxrss`` carries
    over the parent's peak from before the exec (run.py's, which may have just generated the data).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    name, case, spec = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    tree = _use_tree()
    # ours-base is ours, from the tree run.py's --base names (an older commit): the same code runs it.
    name, again = name.removesuffix("-base").removesuffix("-again"), name.endswith("-again")
    load = (lambda: SETS[case][name](spec)) if case in SETS else (lambda: APPROACHES[name](case, spec))
    _warm(name)
    _check_tree(tree)
    if again:
        load()
        BAR.update(seconds=0.0, calls=0)
    started = time.perf_counter()
    result = load()
    seconds = time.perf_counter() - started
    _check_tree(tree)  # the modules the load imported too
    shape = getattr(result, "shape", (len(result), 0))
    out = {"seconds": seconds, "rss_mb": _peak_rss_mb(), "rows": shape[0], "columns": shape[1]}
    fetched = getattr(result, "attrs", {}).get("s3", {}).get("bytes_fetched")
    if fetched is not None:
        out["bytes_fetched"] = fetched
    if BAR["calls"]:
        out["bar_seconds"], out["bar_calls"] = BAR["seconds"], BAR["calls"]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
