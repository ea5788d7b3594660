"""Delta Lake and Apache Iceberg tables: which files make a table's current version (or the one asked for).

A table's data files are its history, not its rows: only its log (Delta, ``_delta_log/``) or metadata (Iceberg,
``metadata/*.metadata.json``) says which are current. The well-kept library for each reads that and nothing
else here: ``deltalake`` (extra ``[delta]``) and ``pyiceberg`` (extra ``[iceberg]``), given the load's
credentials, region and endpoint. The files it names (with their partition values, for Delta, whose files do
not hold them) are then read by the set loader through our own engine, as any set's objects are: progress,
retries, explanations, columns, nrows and filters all apply. What our engine cannot honour (Delta deletion
vectors or column mapping; Iceberg delete files or renamed columns) is refused with an explanation, never read
into wrong rows. Without the library: an explanation naming the ``pip install`` that reads the table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dreambolt_magic.client.calls import bucket_region, call_in
from dreambolt_magic.client.connection import Connection, endpoint_from_env
from dreambolt_magic.client.retry import RetryPolicy
from dreambolt_magic.datasets.listing import ObjectRef, PageGuard
from dreambolt_magic.datasets.partitions import HIVE_NULL
from dreambolt_magic.errors import S3FormatError
from dreambolt_magic.uri import S3Uri, parse

if TYPE_CHECKING:
    from collections.abc import Sequence

    from dreambolt_magic.options import LoadOptions

__all__ = ["TABLE_CODES", "Table", "open_table", "table_root"]

#: The listing's codes for a prefix that reaches into a table, by the kind of table.
TABLE_CODES = {"DeltaTable": "delta", "IcebergTable": "iceberg"}
_METADATA = re.compile(r"(?:v|0*)(\d+)(?:-[^/]*)?\.metadata\.json$")


@dataclass(frozen=True)
class Table:
    """A table's files at one version, and what the loader needs to know of it."""

    kind: str
    root: str
    version: int
    refs: list[ObjectRef]
    #: The table's columns in its schema's order, partition columns included.
    columns: list[str]
    rows: int

    def describe(self) -> dict[str, Any]:
        """What ``df.attrs["s3"]["table"]`` says of it."""
        return {"format": self.kind, "root": self.root, "version": self.version, "files": len(self.refs),
                "rows": self.rows}


def table_root(uris: str | S3Uri | Sequence[str | S3Uri], exc: S3FormatError) -> str | None:
    """The root of the table ``exc`` (the listing's refusal) names, if ``uris`` is that root itself."""
    if exc.code not in TABLE_CODES or not isinstance(uris, (str, S3Uri)):
        return None
    root = exc.hints.get("table")
    return root if isinstance(root, str) and str(uris).strip().rstrip("/") + "/" == root else None


def open_table(root: str, kind: str, options: LoadOptions, *, version: int | None = None) -> Table:
    """The files of the table at ``root`` (``kind``: ``"delta"`` or ``"iceberg"``), at ``version`` (Delta: a
    version number; Iceberg: a snapshot id), else its current one."""
    target = parse(root + "_") if root.endswith("/") else parse(root)
    prefix = target.key[:-1] if root.endswith("/") else target.key
    connect = options.connect
    conn = Connection.lease(connect.at(connect.endpoint_url or target.endpoint or endpoint_from_env()))
    try:
        policy = RetryPolicy(max_attempts=connect.max_attempts)
        region = options.region or target.region or bucket_region(conn, target.bucket, policy)
        if kind == "delta":
            return _delta(root, target.bucket, prefix, _storage(conn, region, "delta"), version)
        metadata = _newest_metadata(conn, region, policy, target.bucket, prefix)
        return _iceberg(root, target.bucket, metadata, _storage(conn, region, "iceberg"), version)
    finally:
        conn.release()


# --- Delta Lake ----------------------------------------------------------------------------------------------


def _delta(root: str, bucket: str, prefix: str, storage: dict[str, str], version: int | None) -> Table:
    try:
        import pyarrow as pa
        from deltalake import DeltaTable
    except ImportError as exc:
        raise _needs(root, "Delta Lake", "delta", "deltalake") from exc
    try:
        table = DeltaTable(root, storage_options=storage, version=version)
    except Exception as exc:  # deltalake's own errors (TableNotFoundError, DeltaError, OSError): none is ours
        raise _unreadable(root, "Delta Lake", _scrubbed(str(exc), storage)) from None
    protocol, metadata = table.protocol(), table.metadata()
    features = set(protocol.reader_features or ())
    mapping = (metadata.configuration or {}).get("delta.columnMapping.mode", "none")
    if "deletionVectors" in features or mapping not in ("none", None):
        what = "deletion vectors" if "deletionVectors" in features else f"column mapping ({mapping})"
        raise _unsupported(root, "Delta Lake", what, "deltalake.DeltaTable(uri).to_pandas()")
    actions = pa.table(table.get_add_actions(flatten=True)).to_pylist()
    uris = table.file_uris()
    partition_columns = list(metadata.partition_columns)
    refs = []
    for uri, action in zip(uris, actions, strict=True):
        target = parse(uri)
        if target.bucket != bucket or not target.key.startswith(prefix):
            raise _unsupported(root, "Delta Lake", f"a file outside the table ({uri})", "deltalake")
        values = {name: action.get(f"partition.{name}") for name in partition_columns}
        refs.append(ObjectRef(target, size=action.get("size_bytes"),
                              partitions={k: HIVE_NULL if v is None else str(v) for k, v in values.items()}))
    columns = list(pa.schema(table.schema().to_arrow()).names)
    rows = sum(a.get("num_records") or 0 for a in actions)
    return Table("delta", root, table.version(), refs, columns, rows)


# --- Apache Iceberg ------------------------------------------------------------------------------------------


def _newest_metadata(conn: Connection, region: str, policy: RetryPolicy, bucket: str, prefix: str) -> str:
    """The newest ``metadata/*.metadata.json`` of the table (highest version number), as an s3:// URI."""
    found: list[tuple[int, str]] = []
    token = None
    pages = PageGuard(f"s3://{bucket}/{prefix}metadata/")
    while True:
        params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix + "metadata/", "MaxKeys": 1000}
        if token:
            params["ContinuationToken"] = token
        answer = call_in(conn, "ListObjectsV2", region=region, policy=policy, **params)
        for entry in answer.get("Contents", []):
            match = _METADATA.search(entry["Key"].rpartition("/")[2])
            if match:
                found.append((int(match.group(1)), entry["Key"]))
        token = answer.get("NextContinuationToken") if answer.get("IsTruncated") else None
        if not token:
            break
        pages.next(token, bool(answer.get("Contents")))
    if not found:
        raise _unreadable(f"s3://{bucket}/{prefix}", "Apache Iceberg", "its metadata folder holds no *.metadata.json")
    return f"s3://{bucket}/{max(found)[1]}"


def _iceberg(root: str, bucket: str, metadata: str, storage: dict[str, str], version: int | None) -> Table:
    try:
        from pyiceberg.table import StaticTable
    except ImportError as exc:
        raise _needs(root, "Apache Iceberg", "iceberg", "pyiceberg") from exc
    try:
        table = StaticTable.from_metadata(metadata, properties=storage)
        tasks = list(table.scan(snapshot_id=version).plan_files())
    except Exception as exc:  # pyiceberg's own errors (and pyarrow's, for its file system): none is ours
        raise _unreadable(root, "Apache Iceberg", _scrubbed(str(exc), storage)) from None
    names: dict[int, set[str]] = {}
    for schema in table.metadata.schemas:
        for field in schema.fields:
            names.setdefault(field.field_id, set()).add(field.name)
    renamed = sorted(n for ids in names.values() if len(ids) > 1 for n in ids)
    if renamed:
        raise _unsupported(root, "Apache Iceberg", f"renamed columns ({', '.join(renamed)})",
                           "pyiceberg.table.StaticTable.from_metadata(...).scan().to_pandas()")
    if any(task.delete_files for task in tasks):
        raise _unsupported(root, "Apache Iceberg", "delete files (rows deleted since they were written)",
                           "pyiceberg.table.StaticTable.from_metadata(...).scan().to_pandas()")
    refs = []
    for task in tasks:
        data = task.file
        if str(data.file_format).upper().rpartition(".")[2] != "PARQUET":
            raise _unsupported(root, "Apache Iceberg", f"{data.file_format} data files", "pyiceberg")
        target = parse(data.file_path)
        if target.bucket != bucket:
            raise _unsupported(root, "Apache Iceberg", f"a file outside the bucket ({data.file_path})", "pyiceberg")
        # Iceberg's data files hold their partition columns: the folder names are not read as partitions.
        refs.append(ObjectRef(target, size=data.file_size_in_bytes, partitions={}))
    snapshot = table.snapshot_by_id(version) if version is not None else table.current_snapshot()
    columns = [field.name for field in table.schema().fields]
    rows = sum(task.file.record_count for task in tasks)
    return Table("iceberg", root, snapshot.snapshot_id if snapshot is not None else 0, refs, columns, rows)


# --- credentials, and errors ---------------------------------------------------------------------------------


def _storage(conn: Connection, region: str, kind: str) -> dict[str, str]:
    """The library's settings for this connection: its endpoint, region and credentials (kept in memory for
    the call only, and scrubbed from any message the library returns)."""
    credentials = conn.session.get_credentials() if conn.signed else None
    frozen = credentials.get_frozen_credentials() if credentials is not None else None
    if kind == "delta":
        options = {"AWS_REGION": region, "AWS_ALLOW_HTTP": "true"}
        if conn.endpoint_url:
            options["AWS_ENDPOINT_URL"] = conn.endpoint_url
        if frozen is None:
            options["AWS_SKIP_SIGNATURE"] = "true"
        else:
            options.update(AWS_ACCESS_KEY_ID=frozen.access_key, AWS_SECRET_ACCESS_KEY=frozen.secret_key)
            if frozen.token:
                options["AWS_SESSION_TOKEN"] = frozen.token
        return options
    options = {"s3.region": region}
    if conn.endpoint_url:
        options["s3.endpoint"] = conn.endpoint_url
    if frozen is None:
        options["s3.anonymous"] = "true"
    else:
        options.update({"s3.access-key-id": frozen.access_key, "s3.secret-access-key": frozen.secret_key})
        if frozen.token:
            options["s3.session-token"] = frozen.token
    return options


def _scrubbed(text: str, storage: dict[str, str]) -> str:
    for name, value in storage.items():
        if value and any(word in name.lower() for word in ("secret", "token", "key-id", "access_key")):
            text = text.replace(value, "***")
    return text


def _needs(root: str, kind: str, extra: str, package: str) -> S3FormatError:
    return S3FormatError(f"{root} is an {kind} table, and reading one needs {package}",
                         uri=root, code="TableReaderMissing",
                         hints={"table": root, "table_kind": kind, "extra": extra, "package": package})


def _unreadable(root: str, kind: str, why: str) -> S3FormatError:
    return S3FormatError(f"the {kind} table at {root} could not be read: {why}", uri=root, code="BadTable",
                         hints={"table": root, "table_kind": kind})


def _unsupported(root: str, kind: str, what: str, reader: str) -> S3FormatError:
    return S3FormatError(f"the {kind} table at {root} uses {what}, which dreambolt_magic cannot apply to the "
                         "files it reads", uri=root, code="UnsupportedTable",
                         hints={"table": root, "table_kind": kind, "feature": what, "reader": reader})
