"""A ``%%s3ingest`` cell's body: one URI (or glob, or prefix) a line, ``#`` comments, and ``{name}`` replaced by
the value of ``name`` in the user's namespace (attribute and item access are not names: refused)."""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from IPython.core.error import UsageError

__all__ = ["substitute", "uris_from_body"]


def uris_from_body(cell: str, namespace: Mapping[str, Any]) -> str | list[str]:
    """The URIs of a cell's body: one, or a list for several lines (loaded into one frame)."""
    lines = [ln.strip() for ln in cell.splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    if not lines:
        raise UsageError("The cell has no URI: put one on the line below %%s3ingest VAR, e.g. "
                         "s3://bucket/path/data.parquet")
    # Several lines are several objects (or globs, or prefixes), loaded into one frame.
    uris = [substitute(line, namespace) for line in lines]
    return uris[0] if len(uris) == 1 else uris


def substitute(text: str, namespace: Mapping[str, Any]) -> str:
    """``text`` with each ``{name}`` replaced by the value of ``name`` in ``namespace``."""
    if "{" not in text and "}" not in text:
        return text
    try:
        return string.Formatter().vformat(text, (), _Namespace(namespace))
    except KeyError as exc:
        raise UsageError(f"{{{exc.args[0]}}} in the cell names no variable; define it first, "
                         "or write {{ and }} for literal braces.") from None
    except (ValueError, IndexError, AttributeError) as exc:
        raise UsageError(f"The braces in {text!r} are not a valid {{name}} substitution: {exc}") from None


class _Namespace(Mapping[str, Any]):
    """The user namespace for str.format: a KeyError names the missing variable."""

    def __init__(self, ns: Mapping[str, Any]) -> None:
        self._ns = ns

    def __getitem__(self, key: str) -> Any:
        return self._ns[key]

    def __iter__(self) -> Any:
        return iter(self._ns)

    def __len__(self) -> int:
        return len(self._ns)
