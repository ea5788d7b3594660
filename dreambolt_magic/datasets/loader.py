"""Load what a URI names: one object (:func:`dreambolt_magic.objects.load.load_object`), or a set of them.

A list of URIs, a glob, a prefix (a Delta Lake or Iceberg table's root among them), Hive partitions: the set
loader, :mod:`dreambolt_magic.datasets.sets`, which this module imports only when a load is of a set, so that a
load of one object imports none of the listing, filter, partition and table machinery.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from dreambolt_magic.formats.detection import normalize_format
from dreambolt_magic.formats.request import Decoded
from dreambolt_magic.objects.load import DEFAULTS, load_object
from dreambolt_magic.options import LoadOptions
from dreambolt_magic.uri import S3Uri, is_many

if TYPE_CHECKING:
    import pandas as pd

    from dreambolt_magic.datasets.filters import Filter
    from dreambolt_magic.transfer.progress import CancelFlag, Progress

__all__ = ["MAX_WORKERS", "load", "load_many"]

#: Objects fetched at the same time.
MAX_WORKERS = 8



def load(
    uri: str | S3Uri | Sequence[str | S3Uri],
    options: LoadOptions = DEFAULTS,
    *,
    progress: bool | Progress = True,
    cancel: CancelFlag | None = None,
    source_column: str | None = None,
    filter: str | Filter | None = None,
    sample: int | None = None,
    partitions: bool = True,
    max_workers: int = MAX_WORKERS,
    table_version: int | None = None,
    skip_archived: bool = False,
) -> pd.DataFrame:
    """A pandas frame of one object or of a set, with its provenance in ``attrs["s3"]``: :func:`load_set` for a
    list, a glob, a prefix (a table's root among them), or with ``source_column``, ``filter``, ``sample`` or
    ``table_version``; else the object loader."""
    if (not isinstance(uri, (str, S3Uri)) or is_many(uri) or source_column is not None or filter is not None
            or sample is not None or table_version is not None):
        from dreambolt_magic.datasets.sets import load_set

        return load_set(uri, options, progress=progress, cancel=cancel, source_column=source_column,
                        filter=filter, sample=sample, partitions=partitions, max_workers=max_workers,
                        table_version=table_version, skip_archived=skip_archived)
    frame, info = load_object(uri, options, progress=progress, cancel=cancel)
    assert not isinstance(frame, Decoded)  # only load_object(defer=True) gives one
    frame.attrs["s3"] = info
    return frame


def load_many(
    uris: str | S3Uri | Sequence[str | S3Uri],
    *,
    format: str | None = None,
    columns: Sequence[str] | str | None = None,
    nrows: int | None = None,
    region: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
    anon: bool = False,
    requester_pays: bool = False,
    max_attempts: int = 5,
    progress: bool | Progress = True,
    unsigned_fallback: bool = True,
    connect_timeout: float | None = None,
    read_timeout: float | None = None,
    cancel: CancelFlag | None = None,
    source_column: str | None = None,
    filter: str | Filter | None = None,
    partitions: bool = True,
    max_workers: int = MAX_WORKERS,
    sample: int | None = None,
    table_version: int | None = None,
    skip_archived: bool = False,
    sse_customer_key: bytes | None = None,
    **options: Any,
) -> pd.DataFrame:
    """Load many S3 objects into one pandas DataFrame (see the module docstring for what is accepted).

    The options are :func:`dreambolt_magic.api.load`'s, applied to every object (``sse_customer_key`` too: the
    objects share one SSE-C key), and:

    source_column:
        Add a column of this name holding each row's object URI (``s3://bucket/key``), as a categorical.
    filter:
        A restricted expression such as ``"year == 2024 and region in ('eu', 'us')"``: objects whose Hive
        partitions cannot match are not fetched, nor are Parquet row groups whose statistics (min, max, null
        count) prove that none of their rows can, and only matching rows are kept.
    partitions:
        Turn ``name=value`` folders in the keys into columns (default ``True``).
    max_workers:
        Objects fetched at the same time (default 8).
    sample:
        The first ``sample`` rows of the set, in listing order, fetching as little as that takes: objects one
        wave at a time (the first alone), listings a page at a time, Parquet files' first row groups
        (see :mod:`dreambolt_magic.datasets.sampling`). Not random. Not with ``nrows``. ``df.attrs["s3"]["sample"]``
        is ``sample``.
    skip_archived:
        Leave out the objects the listing says are archived (Glacier Flexible Retrieval, Deep Archive, with
        no restored copy) and load the rest; ``df.attrs["s3"]["skipped_archived"]`` counts them. Without it a
        set that holds any is refused before anything is downloaded (:class:`~dreambolt_magic.errors.
        S3ArchivedError`, code ``ArchivedObjects``, naming them). See :mod:`dreambolt_magic.datasets.archived`.

    ``columns`` may name partition columns; ``nrows`` keeps the first rows of the set and fetches objects
    (in order, ``max_workers`` at a time) only until it has them. ``df.attrs["s3"]`` describes the set, and
    its ``objects`` entry lists each object's own provenance. Raises the loader's
    :class:`~dreambolt_magic.errors.S3Error` subclasses; nothing partial is returned.
    """
    if format is not None:
        format = normalize_format(format)  # before any request
    loading = LoadOptions.of(format=format, columns=columns, nrows=nrows, region=region, profile=profile,
                             endpoint_url=endpoint_url, anon=anon, requester_pays=requester_pays,
                             max_attempts=max_attempts, unsigned_fallback=unsigned_fallback,
                             connect_timeout=connect_timeout, read_timeout=read_timeout,
                             sse_customer_key=sse_customer_key, **options)
    from dreambolt_magic.datasets.sets import load_set

    return load_set(uris, loading, progress=progress, cancel=cancel, source_column=source_column, filter=filter,
                    partitions=partitions, max_workers=max_workers, sample=sample, table_version=table_version,
                    skip_archived=skip_archived)


