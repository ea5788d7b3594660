"""The ZIP reader: an archive that holds one data file is read as that file, whose format its own name (or,
failing that, its first bytes) tells: ``export.zip`` holding ``export.csv`` is a CSV. An archive with several
data files, or none, is refused with a list of what it holds, rather than guessing which one was meant. A
ZIP that is an Excel workbook (``[Content_Types].xml`` and ``xl/``) is read as the workbook. Registered in
:data:`dreambolt_magic.formats.readers.READERS`, which passes in its own ``read`` for the member. No I/O.
"""

from __future__ import annotations

import lzma
import zipfile
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dreambolt_magic.errors import S3FormatError
from dreambolt_magic.formats import spreadsheets
from dreambolt_magic.formats.compression import STEP
from dreambolt_magic.formats.detection import HEAD_BYTES, detect, format_error, named

if TYPE_CHECKING:
    import pandas as pd

    from dreambolt_magic.formats.request import Request

__all__ = ["data_members", "read_zip"]

#: What zipfile raises for a corrupt, truncated, encrypted or oddly compressed archive or member.
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, RuntimeError,
               NotImplementedError, zlib.error, lzma.LZMAError)
#: Member names listed in an error, at most.
_LISTED = 20


def _is_extra(name: str) -> bool:
    # What archivers add beside the data: folders, macOS resource forks, hidden files (.DS_Store).
    return name.endswith("/") or name.startswith("__MACOSX/") or name.rsplit("/", 1)[-1].startswith(".")


def data_members(names: list[str]) -> list[str]:
    """The members of an archive that are data: those with a data file's extension; if none has one, the only
    file that is not an archiver's extra, if there is one (a lone ``data`` without extension is sniffed)."""
    files = [name for name in names if not _is_extra(name)]
    named_data = [name for name in files if named(name)[0] is not None]
    return named_data or (files if len(files) == 1 else [])


def read_zip(request: Request, read: Callable[..., pd.DataFrame]) -> pd.DataFrame:
    """The frame of the one data file in the archive, read by ``read`` as that file's format."""
    key = request.key
    try:
        with zipfile.ZipFile(request.source()) as archive:
            names = archive.namelist()
            members = [] if spreadsheets.is_workbook(names) else data_members(names)
            body = _member(archive, members[0], request.guard) if len(members) == 1 else bytearray()
    except _ZIP_ERRORS as exc:
        message = "could not be read as a ZIP archive: it is corrupt, truncated, encrypted or compressed in a way "
        raise format_error(key, "ParseError", message + "Python's zipfile cannot read", detail=str(exc)) from exc
    if spreadsheets.is_workbook(names):
        return spreadsheets.read_xlsx(request)  # an xlsx by another name
    if len(members) != 1:
        raise _members_error(key, names, members)
    (member,) = members
    if not body:
        message = f"holds one file, {member!r}, and it is empty (0 bytes)"
        raise format_error(key, "ArchiveMembers", message, hints={"members": names, "data_files": members})
    try:
        fmt, compression = detect(member, bytes(body[:HEAD_BYTES]))
    except S3FormatError as exc:
        looks_like = exc.hints.get("looks_like")
        message = f"holds one file, {member!r}, which is no data file: its name has no known format extension"
        message += f" and its first bytes look like {looks_like}" if looks_like else ""
        hints = {**exc.hints, "members": names, "data_files": [], "member": member}
        raise format_error(key, "ArchiveMembers", message, hints=hints) from exc
    guard, held = request.guard, len(body)
    try:
        return read(body, key=key, format=fmt, compression=compression, columns=request.columns,
                    nrows=request.nrows, allow_missing=request.allow_missing,
                    guard=None if guard is None else lambda produced: guard(held + produced), **request.options)
    except S3FormatError as exc:
        exc.hints.setdefault("member", member)
        raise


def _member(archive: zipfile.ZipFile, name: str, guard: Callable[[int], None] | None) -> bytearray:
    """The member's bytes, decompressed a step at a time under ``guard``, which first sees the size the archive
    gives (zipfile reads no more than that): a ZIP bomb is refused before it is expanded."""
    if guard is not None:
        guard(archive.getinfo(name).file_size)
    body = bytearray()
    with archive.open(name) as member:
        while piece := member.read(STEP):
            body += piece
            if guard is not None:
                guard(len(body))
    return body


def _listed(names: list[str]) -> str:
    more = len(names) - _LISTED
    return ", ".join(map(repr, names[:_LISTED])) + (f" and {more} more" if more > 0 else "")


def _members_error(key: str, names: list[str], members: list[str]) -> S3FormatError:
    listed = _listed(names)
    hints: dict[str, Any] = {"members": names, "data_files": members}
    if not names:
        return format_error(key, "ArchiveMembers", "is an empty ZIP archive: it holds no file", hints=hints)
    if not members:
        message = f"is a ZIP archive with no data file in it, only {listed}"
        return format_error(key, "ArchiveMembers", message, hints=hints)
    message = f"is a ZIP archive with {len(members)} data files, {_listed(members)}; it is read only when it holds "
    message += "exactly one"
    if len(members) < len(names):
        message += f". Its members: {listed}"
    return format_error(key, "ArchiveMembers", message, hints=hints)
