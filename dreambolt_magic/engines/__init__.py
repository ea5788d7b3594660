"""Other kinds of DataFrame over the same objects: a lazy dask DataFrame, or a polars DataFrame.

``load(uri, engine="dask")`` binds a dask DataFrame with one partition per object; ``engine="polars"``
returns a polars DataFrame; ``engine="pandas"`` (the default) is :func:`dreambolt_magic.api.load` itself.
dask and polars are optional: ``pip install 'dreambolt_magic[dask]'`` or ``'dreambolt_magic[polars]'``.

See :mod:`dreambolt_magic.engines.dask` and :mod:`dreambolt_magic.engines.polars`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from dreambolt_magic.engines.extras import ENGINES, check, require
from dreambolt_magic.units import plural

if TYPE_CHECKING:
    from dreambolt_magic.engines.dask import load_dask
    from dreambolt_magic.engines.polars import load_polars, to_polars
    from dreambolt_magic.options import LoadOptions
    from dreambolt_magic.transfer.progress import CancelFlag, Progress
    from dreambolt_magic.uri import S3Uri

__all__ = ["ENGINES", "check", "describe", "load", "load_dask", "load_polars", "require", "scheduler", "to_polars"]

#: The engines' own functions, imported on first use: the magics import this package, and ``%load_ext`` must
#: not pay for the loader's modules (nor numpy and pandas) that these need.
_LAZY = {"lazy_frame": "dask", "load_dask": "dask", "load_polars": "polars", "polars_frame": "polars",
         "to_polars": "polars"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"{__name__}.{module}"), name)


def load(
    uri: str | S3Uri | Sequence[str | S3Uri],
    options: LoadOptions,
    *,
    engine: str,
    progress: bool | Progress = True,
    cancel: CancelFlag | None = None,
    source_column: str | None = None,
    filter: str | None = None,
    sample: int | None = None,
    partitions: bool = True,
    max_workers: int | None = None,
    table_version: int | None = None,
    skip_archived: bool = False,
) -> Any:
    """:func:`dreambolt_magic.load` with another engine: a dask or polars DataFrame (see the module)."""
    check(engine)
    require(engine)
    run: dict[str, Any] = {"progress": progress, "cancel": cancel, "source_column": source_column, "filter": filter,
                           "skip_archived": skip_archived}
    if engine == "dask":
        if sample is not None:
            raise ValueError("sample is for an in-memory frame; with engine='dask' use nrows=N, which gives the "
                             "first N rows as a lazy frame")
        if table_version is not None:
            raise ValueError("table_version is for an in-memory frame; with engine='dask' a Delta or Iceberg "
                             "table is refused, not read: load it with engine='pandas' or 'polars'")
        from dreambolt_magic.engines.dask import lazy_frame

        return lazy_frame(uri, options, partitions=partitions, **run)  # the cluster decides the workers
    if max_workers is not None:
        run["max_workers"] = max_workers
    if table_version is not None:
        run["table_version"] = table_version
    if engine == "polars":
        from dreambolt_magic.engines.polars import polars_frame

        return polars_frame(uri, options, sample=sample, partitions=partitions, **run)
    from dreambolt_magic.datasets import loader

    return loader.load(uri, options, sample=sample, partitions=partitions, **run)


# --- what the magic prints ---------------------------------------------------------------------------------


def scheduler() -> str:
    """Where a dask computation would run now: the default ``distributed`` client, else dask's local scheduler."""
    try:
        from distributed import default_client

        client = default_client()
    except (ImportError, ValueError):
        import dask

        name = dask.config.get("scheduler", None)
        return f"dask's {name!r} scheduler" if name else "dask's local threaded scheduler (no distributed Client)"
    return f"the distributed Client at {client.scheduler.address}"


def describe(frame: Any, uri: Any) -> str:
    """One line about a dask frame bound from ``uri``: partitions and columns, computing nothing."""
    from dreambolt_magic.datasets.listing import set_label

    name = set_label(uri)
    names = [str(c) for c in frame.columns]
    shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    parts = frame.npartitions
    return (f"Bound a dask DataFrame over {name}: {plural(parts, 'partition')}, "
            f"{plural(len(names), 'column')} ({shown}); nothing is read until it is "
            f"computed, by {scheduler()}")
