"""**polars.** The pandas engine's frame (single objects and sets alike, with every option), converted with
``polars.from_pandas``, which goes through Arrow. All the set handling (partitions, schema unification,
filter) works on pandas frames, so converting at the end keeps one code path; the price is one copy of the
frame in memory while it is converted. polars frames have no ``attrs``, so ``df.attrs["s3"]`` provenance is
not kept (the magic's summary line still shows it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from dreambolt_magic.datasets import loader
from dreambolt_magic.engines.extras import require
from dreambolt_magic.uri import S3Uri

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl

__all__ = ["load_polars", "to_polars"]


def load_polars(uri: str | S3Uri | Sequence[str | S3Uri], **options: Any) -> pl.DataFrame:
    """The objects as a polars DataFrame: :func:`dreambolt_magic.api.load` with the same options, converted.

    See the module docstring for why the conversion is from pandas; ``attrs`` provenance is not kept.
    """
    require("polars")
    return to_polars(loader.load(uri, **options))


def to_polars(frame: pd.DataFrame) -> pl.DataFrame:
    """A pandas frame from the loader as a polars DataFrame (through Arrow; the index is not kept)."""
    require("polars")
    import polars as pl

    return pl.from_pandas(frame)
