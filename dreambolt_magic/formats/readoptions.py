"""Which read options each format's parser takes, told by the parser's own signature (``pandas.read_csv``,
``pandas.read_json``, ``pandas.read_excel``, ``pyarrow.Table.to_pandas``), so that a misspelt or misplaced
option (``sepp=";"``, ``encoding=`` for Parquet) is refused by name, with the ones the parser does take,
rather than surfacing as a TypeError from deep inside pandas. A ZIP archive's options are its member's, and
are checked when the member is read. No I/O.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd
import pyarrow as pa

from dreambolt_magic.formats.detection import KINDS, format_error

__all__ = ["accepted", "check", "parser_name"]

#: Format → the parser its read options go to, and its name in messages.
_PARSERS: dict[str, tuple[str, Callable[..., Any]]] = {
    **dict.fromkeys(("csv", "tsv"), ("pandas.read_csv", pd.read_csv)),
    **dict.fromkeys(("json", "jsonl"), ("pandas.read_json", pd.read_json)),
    "xlsx": ("pandas.read_excel", pd.read_excel),
    **dict.fromkeys(("parquet", "feather", "orc"), ("pyarrow.Table.to_pandas", pa.Table.to_pandas)),
}
#: Parameters the reader itself fills, and why a caller does not.
_LOADS_OWN: dict[str, str] = {
    **dict.fromkeys(("self", "filepath_or_buffer", "path_or_buf", "io"), "the object is the source"),
    "usecols": "use columns= (--columns), which reads no more than it needs",
    "nrows": "use nrows= (--nrows), which reads no more than it needs",
    **dict.fromkeys(("iterator", "chunksize"), "a load gives one DataFrame"),
}
#: Options a reader takes beyond its parser's (xlsx: the sheet, by a shorter name than pandas').
_EXTRA = {"xlsx": frozenset({"sheet"})}
#: Parser options a format's reader sets itself.
_TAKEN = {"jsonl": {"lines": "JSON Lines are read one object per line already"}}


def parser_name(fmt: str) -> str:
    """The parser a format's read options go to, as messages name it."""
    return _PARSERS[fmt][0]


@functools.cache
def accepted(fmt: str) -> frozenset[str]:
    """The read options ``fmt``'s reader takes (a ZIP archive's: those of the format of its member)."""
    import inspect  # not at import: a load without read options never needs it (11 ms to import)

    parameters = inspect.signature(_PARSERS[fmt][1]).parameters.values()
    keywords = {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return frozenset(keywords - set(_LOADS_OWN) - set(_TAKEN.get(fmt, ())) | _EXTRA.get(fmt, frozenset()))


def check(fmt: str, options: Mapping[str, Any], key: str) -> None:
    """Refuse the read options ``fmt``'s parser does not take (code ``UnknownOption``), naming them and the
    ones it does."""
    if not options or fmt not in _PARSERS:
        return  # none to check; or a ZIP archive: its member's options, checked when the member is read
    takes = accepted(fmt)
    unknown = [name for name in options if name not in takes]
    if not unknown:
        return
    parser = parser_name(fmt)
    names = ", ".join(map(repr, unknown))
    notes = []
    import difflib

    for name in unknown:
        close = difflib.get_close_matches(name, sorted(takes), n=1)
        note = _LOADS_OWN.get(name) or _TAKEN.get(fmt, {}).get(name) or (f"did you mean {close[0]!r}?" if close else "")
        notes += [f"{name}: {note}"] if note else []
    message = f"is read as {KINDS[fmt]} by {parser}, which takes no option {names}"
    message += f" ({'; '.join(notes)})" if notes else ""
    message += f". It takes: {', '.join(sorted(takes))}"
    hints = {"unknown": unknown, "accepted": sorted(takes), "parser": parser}
    raise format_error(key, "UnknownOption", message, hints=hints)
