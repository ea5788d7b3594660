"""Delta Lake and Apache Iceberg tables: which files make a table's current version (or the one asked for).

A table's data files are its history, not its rows: only its log (Delta, ``_delta_log/``) or metadata (Iceberg,
``metadata/*.metadata.json``) says which are current. The well-kept library for each reads that and nothing
else here: ``deltalake`` (extra ``[delta]``) and ``pyiceberg`` (extra ``[iceberg]``), given the load's
credentials, region and endpoint. The files it names (with their partition values, for Delta, whose files do
not hold them) are then read by the set loader through our own engine, as any set's objects are: progress,
retries, explanations, columns, nrows and filters all apply. What our engine cannot honour (Delta deletion
vectors in use, or column mapping; Iceberg delete files or renamed columns) is refused with an explanation,
never read into wrong rows; a Delta table that merely allows deletion vectors, none in use, is read. Without
the library: an explanation naming the ``pip install`` that reads the table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from dreambolt_magic.client.calls import bucket_region, call_in
from dreambolt_magic.client.connection import Connection, endpoint_from_env
from dreambolt_magic.client.retry import RetryPolicy
from dreambolt_magic.datasets.listing import ObjectRef, PageGuard
from dreambolt_magic.datasets.partitions import HIVE_NULL
from dreambolt_magic.errors import S3FormatError, S3NotFound
from dreambolt_magic.uri import S3Uri, parse

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    import pyarrow as pa

    from dreambolt_magic.options import LoadOptions

__all__ = ["TABLE_CODES", "Table", "check_version", "label", "not_a_table", "open_table", "table_root"]

#: The listing's codes for a prefix that reaches into a table, by the kind of table.
TABLE_CODES = {"DeltaTable": "delta", "IcebergTable": "iceberg"}
#: How many snapshots an error naming them shows.
_SHOWN = 10
_COMMIT = re.compile(r"(\d{20})\.json")
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
    #: Iceberg: the metadata file read (``metadata/*.metadata.json``), as an s3:// URI.
    metadata: str | None = None
    #: The table's schema as Arrow's, for a table with no file (an empty frame of its columns and types).
    schema: pa.Schema | None = None

    def describe(self) -> dict[str, Any]:
        """What ``df.attrs["s3"]["table"]`` says of it."""
        described = {"format": self.kind, "root": self.root, "version": self.version, "files": len(self.refs),
                     "rows": self.rows}
        return described if self.metadata is None else {**described, "metadata": self.metadata}


def label(described: dict[str, Any]) -> str:
    """A table's kind and version as ``df.attrs["s3"]["table"]`` (:meth:`Table.describe`) gives them:
    ``"Delta Lake table, version 3"``, ``"Apache Iceberg table, snapshot 8273..."``."""
    if described.get("format") == "iceberg":
        return f"Apache Iceberg table, snapshot {described.get('version')}"
    return f"Delta Lake table, version {described.get('version')}"


def table_root(uris: str | S3Uri | Sequence[str | S3Uri], exc: S3FormatError) -> str | None:
    """The root of the table ``exc`` (the listing's refusal) names, if ``uris`` is that root itself."""
    if exc.code not in TABLE_CODES or not isinstance(uris, (str, S3Uri)):
        return None
    root = exc.hints.get("table")
    return root if isinstance(root, str) and str(uris).strip().rstrip("/") + "/" == root else None


def check_version(version: object) -> None:
    """Refuse a ``table_version`` that is neither ``None`` nor a whole number."""
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise ValueError(f"table_version must be a whole number (a Delta version, an Iceberg snapshot id), "
                         f"not {version!r}")


def not_a_table(label: str, version: int) -> S3FormatError:
    """The refusal of a ``table_version`` given for ``label``, which is no table's root (its listing found no
    ``_delta_log/`` and no ``metadata/``)."""
    return S3FormatError(f"{label} is not the root of a Delta Lake or Apache Iceberg table, so it has no version "
                         f"{version} to read", uri=label, code="NotATable", hints={"version": version})


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
            kept = partial(_log_versions, conn, region, policy, target.bucket, prefix)
            return _delta(root, target.bucket, prefix, _storage(conn, region, "delta"), version, kept)
        metadata = _newest_metadata(conn, region, policy, target.bucket, prefix)
        return _iceberg(root, target.bucket, metadata, _storage(conn, region, "iceberg"), version)
    finally:
        conn.release()


# --- Delta Lake ----------------------------------------------------------------------------------------------


def _delta(root: str, bucket: str, prefix: str, storage: dict[str, str], version: int | None,
           kept: Callable[[], list[int]]) -> Table:
    try:
        import pyarrow as pa
        from deltalake import DeltaTable
    except ImportError as exc:
        raise _needs(root, "Delta Lake", "delta", "deltalake") from exc
    try:
        table = DeltaTable(root, storage_options=storage, version=version)
    except Exception as exc:  # deltalake's own errors (TableNotFoundError, DeltaError, OSError): none is ours
        missing = _delta_versions(root, kept, version) if version is not None else None
        raise missing or _unreadable(root, "Delta Lake", _scrubbed(str(exc), storage)) from None
    protocol, metadata = table.protocol(), table.metadata()
    # deltalake's DataFusion reader applies both (its to_pandas refuses deletion vectors, and reads the
    # columns of a table with column mapping as nulls).
    reader = (f"pyarrow.table(deltalake.QueryBuilder().register('t', deltalake.DeltaTable({root!r})).execute("
              "'select * from t').read_all()).to_pandas()")
    mapping = (metadata.configuration or {}).get("delta.columnMapping.mode", "none")
    if mapping not in ("none", None):
        raise _unsupported(root, "Delta Lake", f"column mapping ({mapping})", reader)
    if "deletionVectors" in set(protocol.reader_features or ()):
        # The feature allows them; only a file that has one (rows deleted in place) is refused. The vectors
        # are small: deltalake reads them to say which files have one.
        try:
            marked = pa.table(table.deletion_vectors()).column("filepath").to_pylist()
        except Exception as exc:
            raise _unreadable(root, "Delta Lake", _scrubbed(str(exc), storage)) from None
        if marked:
            raise _unsupported(root, "Delta Lake", f"deletion vectors (rows deleted in place, in {len(marked)} of "
                               f"its files)", reader)
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
    schema = pa.schema(table.schema().to_arrow())
    rows = sum(a.get("num_records") or 0 for a in actions)
    return Table("delta", root, table.version(), refs, list(schema.names), rows, schema=schema)


def _log_versions(conn: Connection, region: str, policy: RetryPolicy, bucket: str, prefix: str) -> list[int]:
    """The versions the table's log has a commit of (``_delta_log/NNN.json``), in order."""
    names = (key.rpartition("/")[2] for key in _keys(conn, region, policy, bucket, prefix + "_delta_log/"))
    return sorted(int(match.group(1)) for name in names if (match := _COMMIT.fullmatch(name)))


def _delta_versions(root: str, kept: Callable[[], list[int]], version: int) -> S3NotFound | None:
    """The refusal of ``version``, naming the versions the table's log has, if it is not one of them."""
    try:
        versions = kept()
    except Exception:  # the log cannot be listed: the caller says why the table cannot be read
        return None
    if not versions or versions[0] <= version <= versions[-1]:
        return None
    return _no_version(root, "Delta Lake", f"version {version}",
                       f"its log has versions {versions[0]} to {versions[-1]} ({versions[-1]} is the current one)")


# --- Apache Iceberg ------------------------------------------------------------------------------------------


def _keys(conn: Connection, region: str, policy: RetryPolicy, bucket: str, prefix: str) -> Iterator[str]:
    """The keys under ``prefix`` (a table's log or metadata folder), listed page by page."""
    token = None
    pages = PageGuard(f"s3://{bucket}/{prefix}")
    while True:
        params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": 1000}
        if token:
            params["ContinuationToken"] = token
        answer = call_in(conn, "ListObjectsV2", region=region, policy=policy, **params)
        yield from (entry["Key"] for entry in answer.get("Contents", []))
        token = answer.get("NextContinuationToken") if answer.get("IsTruncated") else None
        if not token:
            return
        pages.next(token, bool(answer.get("Contents")))


def _newest_metadata(conn: Connection, region: str, policy: RetryPolicy, bucket: str, prefix: str) -> str:
    """The newest ``metadata/*.metadata.json`` of the table (highest version number, not the last name: v10
    is newer than v9; a Hadoop table's ``version-hint.text`` may lag behind it), as an s3:// URI."""
    found = [(int(match.group(1)), key) for key in _keys(conn, region, policy, bucket, prefix + "metadata/")
             if (match := _METADATA.search(key.rpartition("/")[2]))]
    if not found:
        raise _unreadable(f"s3://{bucket}/{prefix}", "Apache Iceberg", "its metadata folder holds no *.metadata.json")
    return f"s3://{bucket}/{max(found)[1]}"


def _iceberg(root: str, bucket: str, metadata: str, storage: dict[str, str], version: int | None) -> Table:
    try:
        from pyiceberg.table import StaticTable
    except ImportError as exc:
        raise _needs(root, "Apache Iceberg", "iceberg", "pyiceberg") from exc
    reader = f"pyiceberg.table.StaticTable.from_metadata({metadata!r}).scan().to_pandas()"
    try:
        table = StaticTable.from_metadata(metadata, properties=storage)
    except Exception as exc:  # pyiceberg's own errors (and pyarrow's, for its file system): none is ours
        raise _unreadable(root, "Apache Iceberg", _scrubbed(str(exc), storage)) from None
    snapshot = table.current_snapshot() if version is None else table.snapshot_by_id(version)
    if version is not None and snapshot is None:
        raise _no_version(root, "Apache Iceberg", f"snapshot {version}", _snapshots(table))
    names: dict[int, set[str]] = {}
    for schema in table.metadata.schemas:
        for field in schema.fields:
            names.setdefault(field.field_id, set()).add(field.name)
    renamed = sorted(n for ids in names.values() if len(ids) > 1 for n in ids)
    if renamed:
        raise _unsupported(root, "Apache Iceberg", f"renamed columns ({', '.join(renamed)})", reader)
    try:
        # A snapshot id of 0 would plan the current snapshot: only a snapshot found above is passed on.
        tasks = list(table.scan(snapshot_id=snapshot.snapshot_id if snapshot is not None else None).plan_files())
    except Exception as exc:
        if snapshot is not None and _equality_deletes(table, snapshot):  # pyiceberg refuses to plan them
            raise _unsupported(root, "Apache Iceberg", "equality delete files (rows deleted by value since they "
                               "were written)", "an engine that applies equality deletes, such as Spark, Trino "
                               "or Flink (pyiceberg does not yet)") from None
        raise _unreadable(root, "Apache Iceberg", _scrubbed(str(exc), storage)) from None
    deletes = {delete.file_path for task in tasks for delete in task.delete_files}
    if deletes:
        hit = sum(1 for task in tasks if task.delete_files)
        raise _unsupported(root, "Apache Iceberg", f"position delete files (rows deleted since they were "
                           f"written: {len(deletes)} delete file{'s' if len(deletes) != 1 else ''} over {hit} of "
                           f"its {len(tasks)} data files)", reader)
    refs = []
    for task in tasks:
        data = task.file
        if str(data.file_format).upper().rpartition(".")[2] != "PARQUET":
            raise _unsupported(root, "Apache Iceberg", f"{data.file_format} data files", reader)
        target = parse(data.file_path)
        if target.bucket != bucket:
            raise _unsupported(root, "Apache Iceberg", f"a file outside the bucket ({data.file_path})", reader)
        # Iceberg's data files hold their partition columns: the folder names are not read as partitions.
        refs.append(ObjectRef(target, size=data.file_size_in_bytes, partitions={}))
    # The snapshot's own schema: an older snapshot may have had fewer columns.
    kept = table.schemas().get(snapshot.schema_id) if snapshot is not None and snapshot.schema_id is not None else None
    schema = kept or table.schema()
    rows = sum(task.file.record_count for task in tasks)
    return Table("iceberg", root, snapshot.snapshot_id if snapshot is not None else 0, refs,
                 [field.name for field in schema.fields], rows, metadata, schema.as_arrow())


def _snapshots(table: Any) -> str:
    """The table's snapshots, newest first (a few), for an error naming them."""
    from datetime import datetime, timezone

    current = table.current_snapshot()
    known = sorted(table.metadata.snapshots, key=lambda s: s.timestamp_ms, reverse=True)
    if not known:
        return "it has no snapshot yet"
    shown = [f"{s.snapshot_id} ("
             f"{datetime.fromtimestamp(s.timestamp_ms / 1000, timezone.utc):%Y-%m-%d %H:%M} UTC"
             f"{', the current one' if current is not None and s.snapshot_id == current.snapshot_id else ''})"
             for s in known[:_SHOWN]]
    more = f", and {len(known) - _SHOWN:,} older" if len(known) > _SHOWN else ""
    return f"its snapshots are {', '.join(shown)}{more}"


def _equality_deletes(table: Any, snapshot: Any) -> bool:
    """Whether ``snapshot``'s delete manifests list an equality delete file."""
    from pyiceberg.manifest import DataFileContent, ManifestContent

    try:
        return any(entry.data_file.content == DataFileContent.EQUALITY_DELETES
                   for manifest in snapshot.manifests(table.io) if manifest.content == ManifestContent.DELETES
                   for entry in manifest.fetch_manifest_entry(table.io))
    except Exception:  # the manifests cannot be read either: the caller says so, in the library's words
        return False


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


def _no_version(root: str, kind: str, asked: str, kept: str) -> S3NotFound:
    return S3NotFound(f"the {kind} table at {root} has no {asked}: {kept}", uri=root, code="NoSuchTableVersion",
                      hints={"table": root, "table_kind": kind})
