"""The Excel reader: one sheet of an ``.xlsx`` workbook, with :func:`pandas.read_excel` and openpyxl.

openpyxl is optional (``pip install 'dreambolt_magic[excel]'``): without it a workbook is refused with an
error that says so. The sheet is the ``sheet=`` read option (``sheet_name=``, pandas' own name, too): a name,
or an index from 0 (a text of digits that is no sheet's name is an index, as the magic passes text); by
default the first. A load gives one DataFrame, so one sheet. Registered in
:data:`dreambolt_magic.formats.readers.READERS`. No I/O.
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING, Any

import pandas as pd

from dreambolt_magic.formats.detection import format_error

if TYPE_CHECKING:
    from dreambolt_magic.formats.request import Request

__all__ = ["INSTALL", "is_workbook", "read_xlsx", "require_openpyxl"]

#: What a user without openpyxl runs.
INSTALL = "pip install 'dreambolt_magic[excel]'"
#: Options for opening the workbook rather than parsing a sheet of it.
_OPENING = ("engine", "engine_kwargs", "storage_options")


def is_workbook(names: list[str]) -> bool:
    """Whether a ZIP archive's member names are an Office Open XML workbook's (an xlsx is such a ZIP)."""
    return "[Content_Types].xml" in names and any(name.startswith("xl/") for name in names)


def require_openpyxl(key: str) -> None:
    """Refuse, saying what to install, where openpyxl is not: before a workbook's bytes are downloaded, if
    the name says what it is."""
    try:
        import openpyxl  # noqa: F401
    except ImportError as exc:
        message = f"is an Excel workbook, which needs the openpyxl package: {INSTALL}"
        hints = {"package": "openpyxl", "extra": "excel"}
        raise format_error(key, "MissingPackage", message, hints=hints) from exc


def read_xlsx(request: Request) -> pd.DataFrame:
    """The sheet asked for (by default the first), for the columns and first rows asked."""
    options = dict(request.options)
    sheet = _sheet_option(options)
    opening = {name: options.pop(name) for name in _OPENING if name in options}
    opening.setdefault("engine", "openpyxl")
    if opening["engine"] == "openpyxl":
        require_openpyxl(request.key)
    columns = request.columns
    # A callable usecols never raises for absent names, so require() can name them all at once.
    usecols = None if columns is None else columns.__contains__
    # openpyxl leaves the sheet's reader in a reference cycle, alive until the garbage collector runs: it gets a
    # copy, so that the bytes downloaded are freed (unmapped) as soon as this returns, as for other formats.
    with pd.ExcelFile(io.BytesIO(request.data), **opening) as book:
        name = _sheet(book.sheet_names, sheet, request.key)
        frame = pd.read_excel(book, sheet_name=name, usecols=usecols, nrows=request.nrows, **options)
        if columns is not None and not set(columns) <= set(frame.columns):
            request.require(pd.read_excel(book, sheet_name=name, nrows=0, **options).columns)
    return frame


def _sheet_option(options: dict[str, Any]) -> str | int:
    if "sheet" in options and "sheet_name" in options:
        raise TypeError("sheet= and sheet_name= both name the sheet to read: give one")
    sheet = options.pop("sheet", options.pop("sheet_name", 0))
    if isinstance(sheet, bool) or not isinstance(sheet, (str, int)):
        raise TypeError(f"sheet must be one sheet's name or index (a load gives one DataFrame), not {sheet!r}")
    return sheet


def _sheet(names: list[str], sheet: str | int, key: str) -> str:
    """The name of the sheet ``sheet`` picks: a name, or an index from 0 (from the end if negative)."""
    if sheet in names:
        return str(sheet)
    index = int(sheet) if isinstance(sheet, int) or re.fullmatch(r"-?\d+", sheet.strip()) else None
    if index is not None and -len(names) <= index < len(names):
        return names[index]
    listed = ", ".join(map(repr, names))
    message = f"has no sheet {sheet!r}; its sheets are {listed} (by name, or by index from 0 to {len(names) - 1})"
    raise format_error(key, "MissingSheet", message, hints={"available": names, "missing": sheet})
