"""ORC, xlsx and zip on bytes made here: what each reader decodes, and what it refuses and how."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.orc
import pytest

from dreambolt_magic import explanations
from dreambolt_magic.formats import readers
from dreambolt_magic.notebook.arguments import ARGUMENTS


def frame(rows: int = 1000) -> pd.DataFrame:
    return pd.DataFrame({"id": range(rows), "name": [f"n{i}" for i in range(rows)], "x": [i / 4 for i in range(rows)]})


def orc_bytes(data: pd.DataFrame, **kw: Any) -> bytes:
    sink = io.BytesIO()
    pyarrow.orc.write_table(pa.Table.from_pandas(data, preserve_index=False), sink, **kw)
    return sink.getvalue()


class SpiedORCFile(pyarrow.orc.ORCFile):  # type: ignore[misc]
    """pyarrow's ORCFile, noting what each read decoded."""

    reads: list[tuple[str, Any]] = []

    def read(self, columns: Any = None, **kw: Any) -> Any:
        SpiedORCFile.reads.append(("file", columns))
        return super().read(columns=columns, **kw)

    def read_stripe(self, n: int, columns: Any = None) -> Any:
        SpiedORCFile.reads.append((f"stripe {n}", columns))
        return super().read_stripe(n, columns=columns)


@pytest.fixture
def spied(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    SpiedORCFile.reads = []
    monkeypatch.setattr(pyarrow.orc, "ORCFile", SpiedORCFile)
    return SpiedORCFile.reads


# --- ORC -----------------------------------------------------------------------------------------------


def test_orc_decodes_only_the_columns_asked(spied: list[tuple[str, Any]]) -> None:
    data = orc_bytes(frame())
    got = readers.read(data, key="d.orc", columns=["x", "id"])

    assert spied == [("file", ["x", "id"])]
    pd.testing.assert_frame_equal(got, pd.read_orc(io.BytesIO(data))[["x", "id"]])


def test_orc_nrows_decodes_only_the_stripes_that_hold_them(spied: list[tuple[str, Any]]) -> None:
    data = orc_bytes(frame(), stripe_size=1024, batch_size=100)
    stripes = pyarrow.orc.ORCFile(pa.BufferReader(data)).nstripes
    assert stripes > 3
    first = pyarrow.orc.ORCFile(pa.BufferReader(data)).read_stripe(0).num_rows
    spied.clear()

    got = readers.read(data, key="d.orc", columns=["name"], nrows=first + 1)

    assert spied == [("stripe 0", ["name"]), ("stripe 1", ["name"])]
    pd.testing.assert_frame_equal(got, pd.read_orc(io.BytesIO(data))[["name"]].head(first + 1))


def test_orc_nrows_zero_decodes_nothing(spied: list[tuple[str, Any]]) -> None:
    got = readers.read(orc_bytes(frame()), key="d.orc", columns=["x", "id"], nrows=0)

    assert list(got.columns) == ["x", "id"] and len(got) == 0
    assert spied == []


def test_orc_read_options_go_to_to_pandas() -> None:
    got = readers.read(orc_bytes(frame(10)), key="d.orc", strings_to_categorical=True)
    assert isinstance(got["name"].dtype, pd.CategoricalDtype)


# --- the lists of formats users read ---------------------------------------------------------------------


@pytest.mark.parametrize("code", ["UnsupportedFormat", "UnknownFormat"])
def test_the_format_remedies_name_every_format(code: str) -> None:
    remedy = explanations.EXPLANATIONS[code][1]
    assert all(fmt in remedy for fmt in readers.FORMATS), remedy


def test_the_format_option_help_names_every_format() -> None:
    (help_text,) = [a.kwds["help"] for a in ARGUMENTS if "--format" in a.args]
    assert all(fmt in help_text for fmt in readers.FORMATS), help_text
