"""What the loader's own codes about the data mean and how to fix them: its format, its size in memory, the
cache, a set of objects, a filter, a Delta Lake or Iceberg table. Part of
:data:`dreambolt_magic.explanations.EXPLANATIONS`, the same templates: filled from the error's fields and hints
by :mod:`dreambolt_magic.explain`; none of them ever names a credential.
"""

from __future__ import annotations

__all__ = ["DATA_EXPLANATIONS"]

#: code → (what happened, what to do).
DATA_EXPLANATIONS: dict[str, tuple[str, str]] = {
    "UnsupportedFormat": (
        "{message}",
        "Use one of the supported formats with --format (parquet, csv, tsv, json, jsonl, feather, orc, xlsx, zip).",
    ),
    "UnknownFormat": (
        "The format of {key!r} could not be told from its name or its first bytes.",
        "Name it with --format (format= in Python): one of parquet, csv, tsv, json, jsonl, feather, orc, xlsx, zip.",
    ),
    "FormatMismatch": (
        "{message}",
        "Check that the URI names the file you meant; if the name is wrong but the content is right, "
        "say what it is with --format.",
    ),
    "BadCompression": (
        "{message}",
        "Check the file; if it is not compressed, name its format with --format.",
    ),
    "CompressionOption": (
        "{message}. pandas would decompress it by itself, where the memory guard cannot count what it expands into "
        "(a small compressed object can expand a thousandfold and exhaust the memory), so the loader decompresses "
        "what compression= names itself, and refuses what it cannot. Nothing was loaded.",
        "Pass compression='gzip', 'bz2', 'xz' or 'zstd' (also as a dict with only a 'method'), None for an object "
        "that is not compressed, or leave it out: the name (.gz, .bz2, .xz, .zst) or the first bytes tell. For a ZIP "
        "archive holding one data file: --format zip (format='zip').",
    ),
    "ParseError": (
        "The bytes of {where} could not be parsed: {message}",
        "Check that the file is complete and of the format its name says.{parse_options_note}",
    ),
    "EmptyObject": (
        "{where} is empty (0 bytes): there is nothing to parse.",
        "Check that the writer finished; load another object.",
    ),
    "MissingColumns": (
        "{message}",
        "Pick columns that exist: --columns {available_list}.",
    ),
    "BadEncoding": (
        "{message}",
        "Pass the file's encoding, e.g. dreambolt_magic.load(uri, encoding='latin-1').",
    ),
    "UnknownOption": (
        "{message}",
        "Pass only options {parser} takes (see its documentation), e.g. sep=';' or encoding='latin-1' for CSV; "
        "in %%s3ingest, --option KEY=VALUE (or --sep, --encoding, --header, --sheet).",
    ),
    "MissingSheet": (
        "{message}",
        "Name a sheet the workbook has, or its index from 0: --sheet NAME_OR_INDEX (sheet= in Python). Its "
        "sheets: {available}.",
    ),
    "MissingPackage": (
        "{message}",
        "Install it where the kernel runs: pip install 'dreambolt_magic[{extra}]' (or pip install {package}), "
        "then restart the kernel.",
    ),
    "ArchiveMembers": (
        "{message}",
        "A ZIP archive is read when it holds exactly one data file: give each file an archive of its own, or "
        "upload the files themselves and load them together by their prefix (s3://{bucket}/{parent}).",
    ),
    "TooLarge": (
        "Loading {where} needs about {need_text} of memory ({need_note}), more than the {available_text} "
        "{available_note}. {refused_note}",
        "Read less of it: --columns a,b and --nrows N (for Parquet only those columns and row groups are "
        "downloaded). For the whole of it, use dask, which works on a file in pieces: "
        "dask.dataframe.{dask_reader}('{uri_text}'), or {limit_fix}. If you know it fits, load it anyway with "
        "--force (force=True).",
    ),
    "OutOfMemory": (
        "{message}: the DataFrame its bytes decode into is larger than the memory the process could get.",
        "Read less of it: --columns a,b and --nrows N; for the whole of it, use dask, which works on a file in "
        "pieces: dask.dataframe.{dask_reader}('{uri_text}').",
    ),
    "CacheNotPrivate": (
        "The cache directory {cache_directory} {cache_problem}: whoever can write there decides what a "
        "cached load returns, so it is not used.",
        "Run chmod 700 {cache_directory} as the directory's owner, or cache somewhere of your own: "
        "dreambolt_magic.load(uri, cache='/path/of/yours') or %config S3IngestMagics.cache_dir = '/path/of/yours'.",
    ),
    "NoMatchingObjects": (
        "No object matches {where}: the listing of bucket {bucket} under that prefix found none{filter_note}.",
        "List what is there with `aws s3 ls s3://{bucket}/{parent} --recursive`{endpoint_flag}; keys are "
        "case-sensitive, * matches within one folder and ** across folders.",
    ),
    "SchemaMismatch": (
        "{message}",
        "Load the objects separately, or name their types the same way when they are written; "
        "--columns can leave the conflicting column out.",
    ),
    "ColumnClash": (
        "{message}",
        "Choose another name (--source-column NAME), or load with partitions=False.",
    ),
    "BadFilter": (
        "{message}",
        "Use column or partition names that exist, compared with values of their type, e.g. "
        "--filter \"year == 2024 and month in (5, 6)\".",
    ),
    "DeltaTable": (
        "{where} reaches into the Delta Lake table at {table} without being its root. A Delta table's Parquet "
        "files are its history, not its current rows: a file stays after the rows in it are deleted, updated or "
        "compacted, and only the log in _delta_log/ says which files are current. Read as plain files, they "
        "would give rows the table no longer has, so nothing was loaded.",
        "Load the table's root, {table}, which reads its current version (--table-version N for an older "
        "one); for one partition, add a filter on it: --filter \"year == 2024\".",
    ),
    "IcebergTable": (
        "{where} reaches into the Apache Iceberg table at {table} without being its root. An Iceberg table's "
        "data files are its history, not its current rows: only its metadata (metadata/*.metadata.json) says "
        "which files, and which delete files, make the current snapshot. Read as plain files, they would give "
        "rows the table no longer has, so nothing was loaded.",
        "Load the table's root, {table}, which reads its current snapshot (--table-version SNAPSHOT_ID for "
        "another); for some of its rows, add a filter: --filter \"year == 2024\".",
    ),
    "TableReaderMissing": (
        "{table} is an {table_kind} table. Its current rows are the files its log or metadata names, which "
        "{package} reads, and it is not installed.",
        "Install it: pip install 'dreambolt_magic[{extra}]', then run the cell again.",
    ),
    "BadTable": (
        "{message}",
        "Check that {table} is the table's root and that the credentials may read it; the library's own "
        "words are in the message.",
    ),
    "UnsupportedTable": (
        "{message}. Reading its files as they are would give rows the table no longer has (or columns under "
        "other names), so nothing was loaded.",
        "Read this table with a reader that applies them: {reader}.",
    ),
    "NotATable": (
        "{where} is not the root of a Delta Lake or Apache Iceberg table: it holds no _delta_log/ folder and no "
        "metadata/ folder, only plain files, and plain files have no versions. --table-version N "
        "(table_version=N) applies only to such a table's root, so nothing was loaded.",
        "Leave --table-version out to load the files as they are now; or, if a table is what you mean, load its "
        "root (the folder that holds _delta_log/ or metadata/) with --table-version N.",
    ),
    "NoSuchTableVersion": (
        "{message}. Nothing was loaded.",
        "Pass one of those with --table-version N (table_version=N), or leave it out to read the {table_kind} "
        "table's current state.",
    ),
}
