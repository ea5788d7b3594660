"""The AWS config and credentials files: where botocore reads them, and where one that does not parse is broken.

botocore parses both files whenever a session reads its settings or credentials. A line it cannot parse makes
it raise ``ConfigParseError``, which keeps :mod:`configparser`'s own error, and that quotes the line: often a
secret access key pasted on a line of its own. :func:`broken_file` tells which file it is and the number of the
line, never its text, for :func:`~dreambolt_magic.client.translation.translate` to report.
"""

from __future__ import annotations

import configparser
import os
import re
from dataclasses import dataclass

__all__ = ["FILES", "BrokenFile", "broken_file", "paths"]

#: Each file: what it is called, the variable that moves it, and where it is by default.
FILES = (
    ("config file", "AWS_CONFIG_FILE", "~/.aws/config"),
    ("credentials file", "AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"),
)

#: A setting with no value on its line, whose indented lines below are a block of settings (``s3 =``).
_OPENS_BLOCK = re.compile(r"[^=:\[]+[=:]\s*")


def paths() -> list[tuple[str, str]]:
    """``(name, path)`` of each file, where botocore looks for it now (the path need not exist)."""
    return [(name, os.path.expanduser(os.path.expandvars(os.environ.get(variable) or default)))
            for name, variable, default in FILES]


@dataclass(frozen=True)
class BrokenFile:
    """Where a file that does not parse is broken: the file, what it is, the line (if known) and what is wrong
    with that line, in words that never quote it."""

    path: str
    name: str
    line: int | None
    problem: str


def broken_file(path: str, error: BaseException | None) -> BrokenFile:
    """Where the file at ``path`` is broken, from the parser's ``error`` (a ``ConfigParseError``'s)."""
    name = next((n for n, p in paths() if _same(p, path)), "config or credentials file")
    line: int | None = None
    if isinstance(error, configparser.MissingSectionHeaderError):
        line, problem = error.lineno, "comes before any [section] header"
    elif isinstance(error, configparser.ParsingError):
        line = error.errors[0][0] if error.errors else None
        more = len(error.errors) - 1
        problem = ("is not a [section] header, a name = value setting or a # comment"
                   + (f" (nor {'is' if more == 1 else 'are'} {more} more line{'s' if more > 1 else ''} after it)"
                      if more > 0 else ""))
    elif isinstance(error, configparser.DuplicateSectionError):
        line, problem = error.lineno, "repeats a [section] header that comes earlier in the file"
    elif isinstance(error, configparser.DuplicateOptionError):
        line, problem = error.lineno, "sets a name that its section already sets"
    elif isinstance(error, UnicodeDecodeError):
        line, problem = _undecodable_line(path), "is not UTF-8 text"
    else:  # botocore's ValueError for an indented block of settings (``s3 =`` then ``  name = value`` lines)
        line, problem = _nested_line(path), "is in an indented block of settings but is not name = value"
    return BrokenFile(path, name, line, problem)


def _same(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError:
        return None


def _undecodable_line(path: str) -> int | None:
    data = _read(path)
    if data is None:
        return None
    try:
        data.decode()
    except UnicodeDecodeError as exc:
        return data.count(b"\n", 0, exc.start) + 1
    return None


def _nested_line(path: str) -> int | None:
    """The first indented line, in a block under a ``name =`` with no value, that has no ``=`` (as botocore
    reads those blocks); comments and blank lines aside."""
    data = _read(path)
    if data is None:
        return None
    nested = False
    for number, text in enumerate(data.decode(errors="replace").splitlines(), 1):
        stripped = text.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if text[0] in " \t":
            if nested and "=" not in stripped:
                return number
        else:
            nested = _OPENS_BLOCK.fullmatch(stripped) is not None
    return None
