"""What a reader is asked for and what it may give back: :class:`Request` (the bytes, the columns and rows,
the read options) and :class:`Decoded` (a Parquet file's table, not yet converted into pandas), with the two
steps every read shares: :func:`parse_errors` turns the parsers' exceptions into ours, :func:`selected` puts the
columns asked for in their order. The readers of each format (:mod:`~dreambolt_magic.formats.readers` and the
modules it registers) take a Request. No I/O.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd
import pyarrow as pa

from dreambolt_magic.errors import S3TooLarge
from dreambolt_magic.formats import frames
from dreambolt_magic.formats.detection import KINDS, format_error
from dreambolt_magic.formats.loans import Loans

__all__ = ["Decoded", "Reader", "Request", "parse_errors", "selected"]


@dataclass(frozen=True)
class Request:
    """What a reader is asked for: the decompressed bytes, the key (for errors), the columns and the row
    count (None: all of them) and the caller's read options."""

    data: memoryview
    key: str
    columns: list[Any] | None = None
    nrows: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    #: Parquet only: the row groups the bytes hold (a sparse read); None: all of them.
    row_groups: list[int] | None = None
    #: CSV and TSV only: a file that holds the same bytes, which pandas parses on several threads.
    path: str | None = None
    #: Parquet only: hand the decoded table back not yet converted into pandas (:class:`Decoded`), where it may.
    defer: bool = False
    #: Columns asked for that the object lacks are left out rather than refused (as long as one is there):
    #: a set's objects need not all have every column, the set has nulls there.
    allow_missing: bool = False
    #: Called with the bytes a compressed member (a ZIP archive's) has decompressed into so far: the memory guard.
    guard: Callable[[int], None] | None = None
    #: The bytes :meth:`source` lent to Arrow, which the read takes back before it returns (shared by the
    #: requests :func:`dataclasses.replace` makes of this one).
    loans: Loans = field(default_factory=Loans, compare=False, repr=False)

    def source(self) -> pa.BufferReader:
        # A file-like view of the bytes, so the parsers read them without a copy of the whole object.
        return pa.BufferReader(self.loans.lend(self.data))

    def frame(self, table: pa.Table) -> pd.DataFrame:
        """A decoded table as the DataFrame asked for: with the read options, its columns writable, and none
        of them viewing the bytes read (see :mod:`dreambolt_magic.formats.frames`)."""
        return frames.to_pandas(table, source=self.data, **self.options)

    def result(self, table: pa.Table) -> pd.DataFrame | Decoded:
        """:meth:`frame`, or with ``defer`` the table as :class:`Decoded`, unless a column of it views the bytes
        read (which the loader frees once this returns)."""
        if self.defer and not frames.views(table, self.data):
            return Decoded(table, self.key, self.columns, self.options)
        return self.frame(table)

    def require(self, available: Iterable[Any]) -> Request:
        """This request, for the columns of ``available`` it asks for: MissingColumns if it asks for one that is
        not there (with :attr:`allow_missing`, only if none of them is)."""
        available = list(available)
        missing = [c for c in self.columns or () if c not in available]
        if not missing:
            return self
        assert self.columns is not None
        present = [c for c in self.columns if c in available]
        if self.allow_missing and present:
            return replace(self, columns=present)
        names = f"{', '.join(map(repr, missing))}; its columns are {', '.join(map(repr, available))}"
        hints = {"missing": missing, "available": available}
        raise format_error(self.key, "MissingColumns", f"has no column {names}", hints=hints)

    def first(self, batches: Iterable[pa.RecordBatch]) -> list[pa.RecordBatch]:
        """The batches holding the first nrows: a preview of a big file decodes only its start."""
        taken, count = [], 0
        for batch in batches if self.nrows != 0 else ():
            taken.append(batch)
            count += batch.num_rows
            if self.nrows is not None and count >= self.nrows:
                break
        return taken


@dataclass(frozen=True)
class Decoded:
    """A Parquet file decoded into Arrow and not yet into pandas: :meth:`frame` does that, as :func:`read` would
    have. A set of files converts its files' tables at once (:meth:`concat`): one conversion instead of one per
    file, where each costs about 2 ms of Python under the GIL whatever the file's size."""

    table: pa.Table
    key: str
    columns: list[Any] | None
    options: dict[str, Any]

    def frame(self) -> pd.DataFrame:
        """The DataFrame :func:`read` returns for these columns and read options."""
        with parse_errors("parquet", self.key, self.options):
            frame = frames.to_pandas(self.table, **self.options)
        return selected(frame, self.columns)

    @classmethod
    def concat(cls, items: Sequence[Decoded]) -> Decoded | None:
        """All of ``items`` as one, whose :meth:`frame` equals :func:`pandas.concat` of theirs (index aside);
        None where it might not: other columns or options, or tables that :func:`frames.can_concat` refuses."""
        first = items[0]
        if any(i.columns != first.columns or i.options != first.options for i in items[1:]):
            return None
        tables = [i.table for i in items]
        if not frames.can_concat(tables):
            return None
        return cls(pa.concat_tables(tables), first.key, first.columns, first.options)


#: A reader parses the bytes of one format into a DataFrame, with the columns (maybe more) and rows asked.
Reader = Callable[[Request], "pd.DataFrame | Decoded"]


@contextlib.contextmanager
def parse_errors(fmt: str, key: str, options: dict[str, Any]) -> Iterator[None]:
    """Turn the parsers' own exceptions into ours."""
    try:
        yield
    except UnicodeDecodeError as exc:
        encoding = options.get("encoding")
        advice = f"it is not {encoding}; pass its encoding= read option" if encoding else None
        advice = advice or 'it is not UTF-8; pass its encoding as a read option, e.g. encoding="latin-1"'
        raise format_error(key, "BadEncoding", f"cannot be decoded as text: {advice}", detail=str(exc)) from exc
    except pd.errors.EmptyDataError as exc:
        raise format_error(key, "EmptyObject", "holds no data", detail=str(exc)) from exc
    except S3TooLarge:
        raise  # the memory guard's, from a ZIP archive's member: already ours
    except MemoryError as exc:  # pyarrow's ArrowMemoryError too: not a corrupt file, a frame too large
        raise S3TooLarge(f"{key} ran out of memory while it was parsed as {KINDS[fmt]}", key=key,
                         code="OutOfMemory", detail=str(exc) or type(exc).__name__) from exc
    except (ValueError, OSError, EOFError, pa.ArrowException) as exc:
        message = f"could not be parsed as {KINDS[fmt]}: it is malformed, corrupt or truncated"
        raise format_error(key, "ParseError", f"{message}, or needs read options", detail=str(exc),
                           hints={"format": fmt}) from exc


def selected(frame: pd.DataFrame, columns: list[Any] | None, allow_missing: bool = False) -> pd.DataFrame:
    """``frame``'s ``columns``, in that order (with ``allow_missing``, those of them it has)."""
    if columns is None or list(frame.columns) == columns:
        return frame
    if allow_missing:
        columns = [c for c in columns if c in frame.columns or c in frame.index.names]
    # pandas metadata may have made an asked-for Parquet column the index: give it back as a column.
    in_index = [c for c in columns if c not in frame.columns and c in frame.index.names]
    return (frame.reset_index(level=in_index) if in_index else frame)[columns]
