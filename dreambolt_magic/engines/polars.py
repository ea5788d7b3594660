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
from dreambolt_magic.options import LoadOptions
from dreambolt_magic.uri import S3Uri

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl

    from dreambolt_magic.transfer.progress import CancelFlag, Progress

__all__ = ["load_polars", "polars_frame", "to_polars"]


def load_polars(
    uri: str | S3Uri | Sequence[str | S3Uri],
    *,
    progress: bool | Progress = True,
    cancel: CancelFlag | None = None,
    source_column: str | None = None,
    filter: str | None = None,
    sample: int | None = None,
    **options: Any,
) -> pl.DataFrame:
    """The objects as a polars DataFrame: :func:`dreambolt_magic.load` with the same options, converted.

    See the module docstring for why the conversion is from pandas; ``attrs`` provenance is not kept.
    """
    return polars_frame(uri, LoadOptions.of(**options), progress=progress, cancel=cancel,
                        source_column=source_column, filter=filter, sample=sample)


def polars_frame(uri: str | S3Uri | Sequence[str | S3Uri], options: LoadOptions, **run: Any) -> pl.DataFrame:
    """:func:`load_polars` with its options as one object (checked already); ``run``: progress, cancel and
    the set's source_column, filter and sample."""
    require("polars")
    return to_polars(loader.load(uri, options, **run))


def to_polars(frame: pd.DataFrame) -> pl.DataFrame:
    """A pandas frame from the loader as a polars DataFrame (through Arrow; the index is not kept)."""
    require("polars")
    import polars as pl

    return pl.from_pandas(frame)
