"""The public loader: :func:`load` validates what it is given once, then dispatches down: to an engine
(:mod:`dreambolt_magic.engines`), to the set loader (:mod:`dreambolt_magic.datasets.loader`) for a list, a
glob or a prefix, or to the load of one object (:mod:`dreambolt_magic.objects.load`). :func:`summarize` is
the one line a front end shows after a load.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from dreambolt_magic.formats.detection import normalize_format
from dreambolt_magic.options import TRANSFER, LoadOptions
from dreambolt_magic.transfer.parts import DEFAULT_CONCURRENCY
from dreambolt_magic.units import human_bytes, plural
from dreambolt_magic.uri import S3Uri, parse

if TYPE_CHECKING:
    import os

    import pandas as pd

    from dreambolt_magic.objects.cache import Cache
    from dreambolt_magic.transfer.progress import CancelFlag, Progress

__all__ = ["load", "parse_uri", "summarize"]


def parse_uri(text: str) -> S3Uri:
    """Parse ``s3://bucket/key`` (or an ``s3a://``, virtual-hosted or path-style https URL) into an S3Uri."""
    return parse(text)


def load(
    uri: str | S3Uri | Sequence[str | S3Uri],
    *,
    format: str | None = None,
    columns: Sequence[str] | str | None = None,
    nrows: int | None = None,
    sample: int | None = None,
    table_version: int | None = None,
    region: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
    anon: bool = False,
    requester_pays: bool = False,
    max_attempts: int = 5,
    progress: bool | Progress = True,
    unsigned_fallback: bool = True,
    connect_timeout: float = 5.0,
    read_timeout: float = 15.0,
    cancel: CancelFlag | None = None,
    max_concurrency: int = DEFAULT_CONCURRENCY,
    part_size: int | None = None,
    force: bool = False,
    memory_limit: int | None = None,
    min_speed: int = TRANSFER.min_speed,
    source_column: str | None = None,
    filter: str | None = None,
    skip_archived: bool = False,
    cache: bool | str | os.PathLike[str] | Cache | None = None,
    sse_customer_key: bytes | None = None,
    engine: str = "pandas",
    **read_options: Any,
) -> pd.DataFrame:
    """Load one S3 object into a pandas DataFrame.

    Parameters
    ----------
    uri:
        ``s3://bucket/key``, ``s3a://...``, ``https://bucket.s3.REGION.amazonaws.com/key``, a path-style
        URL, or any of these with ``?versionId=...``. Several objects load into one frame: a list of
        URIs, a glob (``s3://b/logs/2024-*/*.csv.gz``, ``**`` across folders) or a prefix ending in ``/``
        (see :func:`dreambolt_magic.datasets.loader.load_many`, which takes the same options and a few more).
    format:
        ``parquet``, ``csv``, ``tsv``, ``json``, ``jsonl``, ``feather``, ``orc``, ``xlsx`` or ``zip`` (an
        archive holding one data file, read as that file); by default taken from the key's
        extension (compression ``.gz``, ``.bz2``, ``.xz``, ``.zst`` too), else sniffed from the bytes.
    columns, nrows:
        Read only these columns (a list, or ``"a,b"``) and only the first ``nrows`` rows.
    table_version:
        For the root of a Delta Lake or Apache Iceberg table (which loads as the table: the files its log or
        metadata names for its current version, never its raw files): an older version (Delta) or another
        snapshot id (Iceberg). Needs ``pip install 'dreambolt_magic[delta]'`` (or ``[iceberg]``). Anything
        else (plain files, a single object) has no versions: :class:`S3FormatError`, code ``NotATable``.
    sample:
        A first look: the first ``sample`` rows, of the first objects of a set, fetching as little as that
        takes (see :mod:`dreambolt_magic.datasets.sampling`); ``df.attrs["s3"]["sample"]`` says it is one. Not with
        ``nrows``.
    region:
        Sign for this region. By default: a region in the URL, else the bucket's own region as S3 reports
        it (cached per bucket).
    profile, endpoint_url, anon:
        A named AWS profile; an S3-compatible endpoint (``AWS_ENDPOINT_URL_S3`` and ``AWS_ENDPOINT_URL``
        are honoured too); unsigned requests, for public buckets.
    requester_pays:
        For a Requester Pays bucket: every request of the load (the region lookup, listings, HEADs, GETs)
        says that you pay for it (``x-amz-request-payer: requester``); without it S3 refuses them with
        AccessDenied. Your account is charged for the requests and the bytes downloaded.
    max_attempts:
        Attempts per request, with exponential backoff and full jitter between them.
    progress:
        ``True`` for a tqdm bar (a widget in Jupyter), ``False`` for none, or a :class:`Progress`.
    unsigned_fallback:
        With no credentials configured at all, try the object unsigned once (it may be public).
    connect_timeout, read_timeout:
        Seconds before a connection attempt, or a read that receives nothing, counts as failed.
    cancel:
        A ``threading.Event`` (or anything with ``is_set()`` and ``wait()``); once it is set the load
        stops at the next check (between 64 KiB slices of the body, between attempts, during backoff
        waits) and raises :class:`~dreambolt_magic.transfer.progress.Cancelled`.
    max_concurrency, part_size:
        Connections in flight for one object, and the bytes each ranged GET asks for. An object under
        8 MiB is read by one GET; a larger one starts as one stream and, if that stream is slow, goes on
        in parts of 4-64 MiB (about two per connection; fewer and longer where each request waits long for
        its first byte) unless ``part_size`` is given;
        ``max_concurrency=1`` reads every object with one stream.
    force, memory_limit:
        Before the body is read, the object's size (for a Parquet read of some columns or rows, their size
        as the footer gives it) is compared with the memory available, or with ``memory_limit`` bytes if
        given; a load that would not fit raises :class:`~dreambolt_magic.errors.S3TooLarge` unless
        ``force=True``.
    min_speed:
        The floor, in bytes a second, under which a download is broken off: a connection that brings less over
        half a minute (a server trickling its bytes, which no read timeout catches) is given up and resumed
        from its next byte, as a stalled one is; when the attempts run out, an
        :class:`~dreambolt_magic.errors.S3NetworkError` (code ``TooSlow``) says the rate it came at.
        Default 1000 (1 kB/s); ``0`` for no floor.
    source_column, filter:
        For a set of objects (see below): a column naming each row's object, and a restricted expression
        (``"year == 2024"``) that prunes Hive partitions before download and then filters the rows.
    skip_archived:
        For a set: objects its listing says are archived (Glacier Flexible Retrieval, Deep Archive, not
        restored) are left out, and ``df.attrs["s3"]["skipped_archived"]`` counts them. Without it such a set
        is refused before any download with :class:`~dreambolt_magic.errors.S3ArchivedError` (code
        ``ArchivedObjects``), which names them and gives the restore command. A single archived object is
        an S3ArchivedError (code ``InvalidObjectState``) either way.
    cache:
        Keep the object's bytes on disk (:mod:`dreambolt_magic.objects.cache`): ``True`` in the default directory
        (``$XDG_CACHE_HOME/dreambolt_magic`` or ``~/.cache/dreambolt_magic``), a path for that directory,
        or a :class:`~dreambolt_magic.objects.cache.Cache` (to set its size limit). A cached object costs one HEAD
        (its current ETag) and no GET; a changed one is fetched again. With a cache the whole object is
        fetched, even for a Parquet read of some columns, so that the next load of any columns is a hit.
        ``df.attrs["s3"]["cached"]`` tells whether the bytes came from the cache.
    sse_customer_key:
        For objects encrypted with a key of yours (SSE-C): the 32 bytes of the AES-256 key, sent on every
        HEAD and GET of them (over HTTPS, as S3 requires). It is never stored, logged or shown (not in
        ``df.attrs``, errors or any repr); such a load is not cached (the cache would keep the decrypted
        bytes), and is not for ``engine="dask"`` (the key would travel in the task graph).
    engine:
        ``"pandas"`` (the default); ``"dask"`` for a lazy dask DataFrame with one partition per object, read
        on the workers by this function with these settings; ``"polars"`` for a polars DataFrame. The
        others need ``pip install 'dreambolt_magic[dask]'`` (or ``[polars]``); see
        :mod:`dreambolt_magic.engines`. An unknown name is a ValueError.
    read_options:
        Passed to the parser (e.g. ``sep=";"``, ``encoding="latin-1"`` for CSV; ``sheet="Sales"`` or
        ``sheet=1`` for an Excel workbook, which needs ``pip install 'dreambolt_magic[excel]'``).
        ``compression=`` (``"gzip"``, ``"bz2"``, ``"xz"``, ``"zstd"``, ``None``) is decompressed by the loader,
        under the memory limit, as a ``.gz`` name would be; ``"zip"``, ``"tar"`` and others are refused.

    Raises
    ------
    S3Error
        One of its subclasses, with ``explanation`` and ``remedy``; nothing partial is returned.
    """
    if format is not None:
        format = normalize_format(format)  # before any request
    # A set's own settings (see load_many), which are not the parser's.
    sets = {name: read_options.pop(name) for name in _SET_SETTINGS if name in read_options}
    options = LoadOptions.of(
        format=format, columns=columns, nrows=nrows, region=region, profile=profile, endpoint_url=endpoint_url,
        anon=anon, requester_pays=requester_pays, max_attempts=max_attempts, unsigned_fallback=unsigned_fallback,
        connect_timeout=connect_timeout, read_timeout=read_timeout, max_concurrency=max_concurrency,
        part_size=part_size, force=force, memory_limit=memory_limit, min_speed=min_speed, cache=cache,
        read_options=read_options,
        sse_customer_key=sse_customer_key,
    )
    run: dict[str, Any] = {"progress": progress, "cancel": cancel, "source_column": source_column, "filter": filter,
                           "sample": sample, "skip_archived": skip_archived, **sets}
    if table_version is not None:
        run["table_version"] = table_version
    if engine != "pandas":
        from dreambolt_magic import engines

        return engines.load(uri, options, engine=engine, **run)
    from dreambolt_magic.datasets import loader

    return loader.load(uri, options, **run)


#: Keywords of :func:`~dreambolt_magic.datasets.loader.load_many` that :func:`load` passes on to it.
_SET_SETTINGS = ("partitions", "max_workers")


def summarize(frame: pd.DataFrame) -> str:
    """One line about a loaded frame: rows x columns, bytes, elapsed, MB/s, region, how it was signed."""
    info = frame.attrs.get("s3", {})
    size = info.get("bytes_fetched") or 0
    elapsed = info.get("elapsed") or 0.0
    rate = f"{size / elapsed / 1e6:,.1f} MB/s" if elapsed > 0 else "n/a"
    rows, cols = frame.shape
    objects = info.get("objects") or [info]
    cached = sum(o.get("size") or 0 for o in objects if o.get("cached"))
    if cached and not size:
        # Nothing was downloaded: a download speed would be a claim about nothing.
        parts = [f"{plural(rows, 'row')} x {plural(cols, 'column')}", f"{human_bytes(cached)} from the cache",
                 f"{elapsed:.2f} s"]
    else:
        parts = [f"{plural(rows, 'row')} x {plural(cols, 'column')}", human_bytes(size)]
        parts += [f"{human_bytes(cached)} from the cache"] if cached else []
        parts += [f"{elapsed:.2f} s", rate]
    parts.append(f"region {info.get('region') or 'unknown'}")
    if info.get("signed") is False:
        parts.append(f"unsigned ({info.get('unsigned_reason')})")
    if (info.get("attempts") or 1) > 1:
        parts.append(f"{info['attempts']} attempts")
    if info.get("skipped_archived"):
        skipped = info["skipped_archived"]
        parts.append(f"{plural(skipped, 'archived object')} skipped")
    count = f" ({plural(info['object_count'], 'object')})" if "object_count" in info else ""
    if isinstance(info.get("table"), dict):
        from dreambolt_magic.datasets.tables import label

        count = f" ({label(info['table'])}: {plural(info['table'].get('files') or 0, 'file')})"
    if info.get("sample"):
        objects = info.get("object_count") or 1
        count = f" (sample: the first {plural(info['sample'], 'row')}, from {plural(objects, 'object')})"
    return f"Loaded {info.get('uri', 'the object')}{count}: " + " · ".join(parts)
