"""A ``%%s3ingest`` cell's body: one URI (or glob, or prefix) a line, ``#`` comments, and ``{name}`` replaced by
the value of ``name`` in the user's namespace (plain names only: attribute and item access are refused)."""

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
    """``text`` with each ``{name}`` replaced by the value of ``name`` in ``namespace``; ``{{`` and ``}}`` are
    literal braces. Only plain names: ``{a.b}``, ``{a[0]}``, ``{a!r}`` or ``{a:>5}`` would reach into objects
    (``{os.environ[...]}`` into secrets) or format them, and are a UsageError."""
    if "{" not in text and "}" not in text:
        return text
    out = []
    try:
        pieces = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise UsageError(f"The braces in {text!r} are not a valid {{name}} substitution: {exc}; write {{{{ and "
                         "}} for literal braces.") from None
    for literal, field, spec, conversion in pieces:
        out.append(literal)
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            shown = "{" + field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            raise UsageError(f"{shown} in the cell is not a plain variable name: only {{name}} is replaced (no "
                             "attributes, items, conversions or formats); write {{ and }} for literal braces.")
        if field not in namespace:
            raise UsageError(f"{{{field}}} in the cell names no variable; define it first, "
                             "or write {{ and }} for literal braces.")
        out.append(str(namespace[field]))
    return "".join(out)
