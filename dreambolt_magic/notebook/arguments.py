"""The ``%%s3ingest`` magic's arguments, in one place: :func:`load_arguments` puts them on the magic, whose
docstring (and so ``%s3ingest?``) lists them."""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Callable
from typing import Any, TypeVar

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument

from dreambolt_magic import engines

__all__ = ["customer_key_from_env", "load_arguments"]

F = TypeVar("F", bound=Callable[..., Any])

#: The arguments, in the order the help lists them.
ARGUMENTS = [
    argument(
        "target",
        # argparse formats help with %: %%%%s3ingest prints as %%s3ingest.
        help="In a cell (%%%%s3ingest): the variable to bind the DataFrame to; the URI is the cell's body. "
        "On a line (%%s3ingest): the URI; the DataFrame is returned.",
    ),
    argument("--format", "-f", default=None,
             help="parquet, csv, tsv, json, jsonl or feather. Default: from the extension, else sniffed."),
    argument("--columns", "-c", default=None, help="Comma-separated columns to read, e.g. a,b."),
    argument("--nrows", "-n", type=int, default=None, help="Read only the first N rows."),
    argument("--sample", type=int, default=None, metavar="N",
             help="A first look: the first N rows of the first objects, fetching no more objects (nor Parquet "
             "row groups) than that takes; not random. Not with --nrows."),
    argument("--region", default=None, help="Region to sign for (default: detected from the bucket)."),
    argument("--profile", default=None, help="AWS profile to take credentials from."),
    argument("--endpoint-url", default=None, help="S3-compatible endpoint URL."),
    argument("--anon", action="store_true", default=None, help="Unsigned requests, for public buckets."),
    argument("--requester-pays", action="store_true", default=None,
             help="For a Requester Pays bucket: every request says you pay for it (your account is charged for "
             "the requests and the bytes)."),
    argument("--max-attempts", type=int, default=None, help="Attempts per request (default 5)."),
    argument("--no-progress", action="store_true", help="No progress bar."),
    argument("--force", action="store_true",
             help="Load even if it looks too large for the memory available."),
    argument("--quiet", "-q", action="store_true", help="No summary line."),
    argument("--cache", action="store_true", default=None,
             help="Keep the objects on disk; an unchanged object is not downloaded again (see %%s3ingest_cache)."),
    argument("--no-cache", action="store_true", help="Do not use the cache, whatever the configuration says."),
    argument("--info", action="store_true",
             help="Show the objects, total bytes, columns and row counts (from Parquet footers) instead of "
             "loading; nothing is bound."),
    argument("--source-column", default=None, metavar="NAME",
             help="For several objects: add a column NAME holding each row's object URI."),
    argument("--filter", default=None, metavar="EXPR",
             help="Keep rows matching EXPR, e.g. \"year == 2024 and month in (5, 6)\"; objects in Hive "
             "partitions (year=2024/) and Parquet row groups that cannot match are not downloaded."),
    argument("--sse-c-key-env", default=None, metavar="NAME",
             help="For objects encrypted with a key of yours (SSE-C): the environment variable NAME holds the "
             "AES-256 key (base64, or its 32 bytes as text); it is sent on every HEAD and GET and never shown "
             "or kept. Such loads are not cached."),
    argument("--skip-archived", action="store_true",
             help="For several objects: leave out those archived in Glacier or Deep Archive (not restored) and "
             "load the rest; without it such a set is refused before any download, naming them."),
    argument("--engine", "-e", default=None, choices=engines.ENGINES,
             help="pandas (the default), dask (a lazy dask DataFrame, one partition per object) or polars."),
]


def load_arguments(magic: F) -> F:
    """``magic`` with every one of :data:`ARGUMENTS` (applied last first, as stacked decorators are)."""
    for decorate in reversed(ARGUMENTS):
        magic = decorate(magic)
    return magic


def customer_key_from_env(name: str | None) -> bytes | None:
    """The SSE-C key the environment variable ``name`` holds (``None``: no ``--sse-c-key-env``): the base64 of
    32 bytes, as ``openssl rand -base64 32`` prints it, or 32 characters taken as they are. A UsageError
    (which never shows the value) if it is unset or neither."""
    if name is None:
        return None
    value = os.environ.get(name.strip())
    if not value:
        raise UsageError(f"--sse-c-key-env {name}: the environment variable {name} is not set (or empty); set it "
                         "to the base64 of your 32-byte key, e.g. in the shell that starts Jupyter")
    text = value.strip()
    try:
        decoded = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    if len(decoded) == 32:
        return decoded
    raw = text.encode("utf-8")
    if len(raw) == 32:
        return raw
    raise UsageError(f"--sse-c-key-env {name}: the variable holds neither the base64 of a 32-byte key nor 32 "
                     f"characters (it holds {len(text)} characters); SSE-C keys are 256-bit AES keys")
