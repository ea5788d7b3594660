"""The ``%%s3ingest`` magic's arguments, in one place: :func:`load_arguments` puts them on the magic, whose
docstring (and so ``%s3ingest?``) lists them, and :func:`parser_options` reads the ones that go to the parser
(``--sep``, ``--encoding``, ``--header``, ``--sheet``, ``--option KEY=VALUE``) into the read options
:func:`dreambolt_magic.load` takes."""

from __future__ import annotations

import ast
import base64
import binascii
import codecs
import inspect
import keyword
import os
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument

from dreambolt_magic import api, engines
from dreambolt_magic.formats.detection import FORMATS
from dreambolt_magic.options import TRANSFER

__all__ = ["ARGUMENTS", "check_arguments", "check_variable", "customer_key_from_env", "load_arguments", "literal",
           "parser_options"]

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
             help=f"{', '.join(FORMATS[:-1])} or {FORMATS[-1]}. Default: from the extension, else sniffed."),
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
    argument("--min-speed", type=int, default=None, metavar="BYTES_PER_S",
             help="A download that brings less than this over half a minute (a server trickling its bytes) is "
             "broken off and resumed; when the attempts run out the load fails saying the rate. 0: no floor. "
             f"Default: %%config S3IngestMagics.min_speed ({TRANSFER.min_speed})."),
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
    argument("--table-version", type=int, default=None, metavar="N",
             help="For a Delta Lake or Iceberg table's root: an older version (Delta) or a snapshot id (Iceberg) "
             "instead of the current one."),
    argument("--sse-c-key-env", default=None, metavar="NAME",
             help="For objects encrypted with a key of yours (SSE-C): the environment variable NAME holds the "
             "AES-256 key (base64, or its 32 bytes as text); it is sent on every HEAD and GET and never shown "
             "or kept. Such loads are not cached."),
    argument("--skip-archived", action="store_true",
             help="For several objects: leave out those archived in Glacier or Deep Archive (not restored) and "
             "load the rest; without it such a set is refused before any download, naming them."),
    argument("--engine", "-e", default=None, choices=engines.ENGINES,
             help="pandas (the default), dask (a lazy dask DataFrame, one partition per object) or polars."),
    # What goes to the parser, as dreambolt_magic.load's read options do (sep=";", encoding="latin-1").
    argument("--sep", default=None, help="CSV/TSV: the field separator, e.g. --sep ';' or --sep '\\t'."),
    argument("--encoding", default=None, help="CSV/TSV/JSON: the text's encoding, e.g. --encoding latin-1."),
    argument("--header", default=None, metavar="ROW",
             help="CSV/TSV/xlsx: the row that holds the column names, from 0 (the default), or none: no header "
             "row, the columns are numbered."),
    argument("--sheet", default=None, metavar="NAME_OR_INDEX",
             help="xlsx: the sheet to read, by name or by index from 0 (default: the first)."),
    argument("--option", action="append", default=None, metavar="KEY=VALUE",
             help="Any other parser option (repeat it for more), e.g. --option skiprows=2 --option "
             "\"na_values=['-', 'n/a']\". VALUE is read as a Python literal, else kept as text. An option the "
             "parser does not take is refused, with the ones it does."),
]


def load_arguments(magic: F) -> F:
    """``magic`` with every one of :data:`ARGUMENTS` (applied last first, as stacked decorators are)."""
    for decorate in reversed(ARGUMENTS):
        magic = decorate(magic)
    return magic


#: Read options that are another's name for one these arguments set (pandas takes either, not both).
_SAME = {"delimiter": "sep", "sheet_name": "sheet"}


def parser_options(args: Any) -> dict[str, Any]:
    """The read options the line gives: each ``--option KEY=VALUE`` and ``--sep``, ``--encoding``,
    ``--header``, ``--sheet``. UsageError for a malformed one, one given twice, or a setting of the load."""
    options: dict[str, Any] = {}
    for text in args.option or ():
        key, value = _option(text)
        _add(options, key, value, f"--option {key}=")
    flags = {"sep": _separator, "encoding": _encoding, "header": _header, "sheet": _unquoted}
    for name, read in flags.items():
        if (text := getattr(args, name)) is not None:
            _add(options, name, read(text), f"--{name}")
    own = [name for name in options if name in _load_settings()]
    if own:
        name = own[0]
        flag = "--" + name.replace("_", "-")
        instead = f"use {flag}" if any(flag in a.args for a in ARGUMENTS) else f"use dreambolt_magic.load({name}=...)"
        raise UsageError(f"--option {name}= is a setting of the load, not a parser option: {instead}")
    return options


def literal(text: str) -> Any:
    """``text`` as the Python literal it spells (``2``, ``None``, ``['-', 'n/a']``, ``'x'``), else as it is."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an invalid escape ('\s+', a regex) is still the text meant
            return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def _add(options: dict[str, Any], key: str, value: Any, given_as: str) -> None:
    same = _SAME.get(key, key)
    clash = next((name for name in options if _SAME.get(name, name) == same), None)
    if clash is not None:
        raise UsageError(f"{given_as} sets {clash} again: give it once")
    options[key] = value


def _load_settings() -> set[str]:
    # load()'s own keywords: a read option of one of these names would be taken for the setting.
    parameters = inspect.signature(api.load).parameters.values()
    return {p.name for p in parameters if p.kind is not p.VAR_KEYWORD}


def _unquoted(text: str) -> str:
    # IPython splits a magic's line without removing quotes: --sep ';' arrives as "';'".
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"" else text


def _option(text: str) -> tuple[str, Any]:
    key, equals, value = _unquoted(text).partition("=")
    key = key.strip()
    if not equals or not key.isidentifier():
        raise UsageError(f"--option takes KEY=VALUE, e.g. --option skiprows=2, not {text!r}")
    return key, literal(value.strip())


def _separator(text: str) -> str:
    value = _unquoted(text)
    # \t arrives as a backslash and a t, which pandas would take for a regex: the tab is meant.
    return "\t" if value == "\\t" else value


def _encoding(text: str) -> str:
    name = _unquoted(text).strip()
    try:
        codecs.lookup(name)
    except LookupError:
        raise UsageError(f"--encoding {name!r} is no encoding Python knows; e.g. utf-8, latin-1, cp1252") from None
    return name


def _header(text: str) -> int | list[int] | None:
    value = _unquoted(text).strip()
    if value.lower() == "none":
        return None
    rows = value.split(",")
    if not all(row.strip().isdigit() for row in rows):
        raise UsageError(f"--header takes a row number from 0, rows like 0,1, or none, not {text!r}")
    return int(rows[0]) if len(rows) == 1 else [int(row) for row in rows]


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


def check_variable(name: str) -> str:
    """``name``, the variable ``%%s3ingest NAME`` binds, if a frame may be bound to it; else a UsageError."""
    if not name.isidentifier() or keyword.iskeyword(name):
        raise UsageError(
            f"{name!r} is not a valid Python variable name: use letters, digits and underscores, "
            "not starting with a digit, and not a keyword (e.g. %%s3ingest df)."
        )
    if name.startswith("__") and name.endswith("__"):
        raise UsageError(f"{name!r} is one of Python's own names (__builtins__, __name__, ...): binding a frame "
                         "to it would break the notebook; choose another, e.g. %%s3ingest df.")
    return name


def check_arguments(args: Any) -> None:
    """A UsageError, before any request, for arguments that parse but make no sense (a filter is checked by
    parsing it, its quotes removed: IPython splits magic lines without removing them)."""
    if args.nrows is not None and args.nrows < 0:
        raise UsageError(f"--nrows must be 0 or more, not {args.nrows}")
    if args.sample is not None and args.sample < 1:
        raise UsageError(f"--sample must be 1 or more rows, not {args.sample}")
    if args.sample is not None and args.nrows is not None:
        raise UsageError("--sample and --nrows both limit the rows: give one (--sample N: the first N rows of "
                         "the first objects, said to be a sample; --nrows N: the first N rows)")
    if args.max_attempts is not None and args.max_attempts < 1:
        raise UsageError(f"--max-attempts must be 1 or more, not {args.max_attempts}")
    if args.min_speed is not None and args.min_speed < 0:
        raise UsageError(f"--min-speed must be 0 (no floor) or more bytes a second, not {args.min_speed}")
    if args.columns is not None and not all(c.strip() for c in args.columns.split(",")):
        raise UsageError(f"--columns {args.columns!r} has an empty name; write e.g. --columns a,b")
    if args.source_column is not None and not args.source_column.strip():
        raise UsageError("--source-column needs a column name, e.g. --source-column source")
    if args.filter is not None:
        from dreambolt_magic.datasets.filters import Filter, FilterSyntaxError

        # IPython splits magic lines without removing quotes: --filter "year == 2024" arrives quoted.
        text = args.filter.strip()
        if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
            args.filter = text[1:-1]

        try:
            Filter(args.filter)
        except FilterSyntaxError as exc:
            raise UsageError(f"--filter: {exc}") from None
