"""One timed load, in a fresh process: ``python benchmarks/approach.py APPROACH CASE SPEC_JSON``.

Prints one JSON line: ``seconds`` (to a pandas DataFrame, imports excluded), ``rss_mb`` (peak resident
memory of the process), ``rows`` and ``columns``. ``run.py`` starts one of these per measurement, so no
approach inherits another's warm caches or memory.
"""

from __future__ import annotations

import io
import json
import os
import resource
import sys
import time
from typing import Any

COLUMNS = ["qty", "category"]
NROWS = 1000


def _parquet_head(source: Any) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    batches = pq.ParquetFile(source).iter_batches(batch_size=NROWS)
    return pa.Table.from_batches([next(batches)]).to_pandas()


def ours(case: str, spec: dict[str, Any]) -> Any:
    import dreambolt_magic

    kw: dict[str, Any] = {"columns": COLUMNS} if case == "columns" else {"nrows": NROWS} if case == "nrows" else {}
    return dreambolt_magic.load(spec["uri"], endpoint_url=spec["endpoint"], progress=spec.get("progress", False), **kw)


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
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    host = spec["endpoint"].split("://", 1)[1]
    fs = pafs.S3FileSystem(
        endpoint_override=host,
        scheme="http",
        access_key=os.environ["AWS_ACCESS_KEY_ID"],
        secret_key=os.environ["AWS_SECRET_ACCESS_KEY"],
        region="us-east-1",
    )
    path = spec["uri"][len("s3://") :]
    if case == "csv":
        with fs.open_input_stream(path) as f:
            return pcsv.read_csv(f).to_pandas()
    if case == "nrows":
        return _parquet_head(fs.open_input_file(path))
    return pq.read_table(path, filesystem=fs, columns=COLUMNS if case == "columns" else None).to_pandas()


def boto3_parse(case: str, spec: dict[str, Any]) -> Any:
    import boto3
    import pandas as pd
    from boto3.s3.transfer import TransferConfig

    client = boto3.client("s3", endpoint_url=spec["endpoint"], region_name="us-east-1")
    bucket, key = spec["uri"][len("s3://") :].split("/", 1)
    buf = io.BytesIO()
    client.download_fileobj(bucket, key, buf, Config=TransferConfig(max_concurrency=10))
    buf.seek(0)
    if case == "csv":
        return pd.read_csv(buf)
    if case == "nrows":
        return _parquet_head(buf)
    return pd.read_parquet(buf, columns=COLUMNS if case == "columns" else None)


def raw_get(case: str, spec: dict[str, Any]) -> Any:
    import boto3

    client = boto3.client("s3", endpoint_url=spec["endpoint"], region_name="us-east-1")
    bucket, key = spec["uri"][len("s3://") :].split("/", 1)
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


APPROACHES = {
    "ours": ours,
    "s3fs": s3fs_pandas,
    "pyarrow-fs": pyarrow_fs,
    "boto3": boto3_parse,
    "polars": polars_s3,
    "raw-get": raw_get,
    "local": local,
}


def _warm(name: str) -> None:
    """Import before the clock starts: the time measured is the load, not the interpreter's start."""
    import boto3  # noqa: F401
    import pandas  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    if name == "ours":
        import dreambolt_magic  # noqa: F401
    elif name == "s3fs":
        import s3fs  # noqa: F401
    elif name == "polars":
        import polars  # noqa: F401


def main() -> None:
    name, case, spec = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    fn = APPROACHES[name]
    _warm(name)
    started = time.perf_counter()
    result = fn(case, spec)
    seconds = time.perf_counter() - started
    shape = getattr(result, "shape", (len(result), 0))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "rss_mb": rss, "rows": shape[0], "columns": shape[1]}))


if __name__ == "__main__":
    main()
