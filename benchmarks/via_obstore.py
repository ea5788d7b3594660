"""The ``obstore`` approach's reads (issue 19): obstore, the Python binding of the Rust ``object_store`` crate.

``approach.py`` times them; nothing here is imported by ``dreambolt_magic``. obstore is the ``bench`` extra.
Not named ``obstore.py``: this folder is first on ``sys.path`` when ``approach.py`` runs, and would shadow it.

- :func:`whole`: every byte of one object, in parallel ranged GETs (``parquet``, ``csv``).
- :func:`columns`: some columns of a Parquet object: its footer, then only their chunks (``columns``).
- :func:`reader`: obstore's file-like reader, for pyarrow (``nrows``).
"""

from __future__ import annotations

import os
import struct
from concurrent.futures import ThreadPoolExecutor
from typing import Any

#: A whole object is fetched in parts of this size, this many at once (ours' DEFAULT_CONCURRENCY): ~8 MiB, the
#: size the issue names, so the 16.6 MB small file is 2 parts and the 240 MB file 29.
PART = 8 << 20
THREADS = 8
#: The bytes at a Parquet file's end fetched first for its footer (pyarrow's own first read is as long).
FOOTER_READ = 64 << 10


def store(spec: dict[str, Any]) -> tuple[Any, str]:
    """An ``S3Store`` for the object's bucket and the object's key, configured as ``approach._arrow_fs`` is:
    the endpoint, the keys from the environment, region us-east-1, plain http allowed. Path-style addressing
    (obstore's default), as both servers want."""
    from obstore.store import S3Store

    bucket, key = spec["uri"][len("s3://") :].split("/", 1)
    s3 = S3Store(bucket, endpoint=spec["endpoint"], region="us-east-1",
                 access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                 secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
                 client_options={"allow_http": True})
    return s3, key


def whole(s3: Any, key: str) -> bytearray:
    """Every byte of the object, in PART ranges fetched THREADS at a time.

    The first range's GET gives the object's size (``obstore.get`` returns once its answer's headers are in,
    before the body is read), so no HEAD; the other ranges then start at once, each ``obstore.get_range`` on a
    thread (the call releases the GIL), and each part is copied into its place as it lands. Not
    ``obstore.get_ranges``: it merges ranges less than ``coalesce`` apart into one request, adjacent ones even
    with ``coalesce=0`` (developmentseed/obstore#678), so a whole object asked for in parts was one GET (moto's
    log: 1 GET per call). ``asyncio.gather`` of ``get_range_async`` made the GETs too, but took 0.7-0.85 s for
    the 16.6 MB file where threads took 0.04 s.
    """
    import obstore

    first = obstore.get(s3, key, options={"range": (0, PART)})
    size = first.meta["size"]
    buf = bytearray(size)

    def fetch(start: int) -> None:
        end = min(start + PART, size)
        buf[start:end] = memoryview(obstore.get_range(s3, key, start=start, end=end))

    with ThreadPoolExecutor(THREADS) as pool:
        rest = [pool.submit(fetch, start) for start in range(PART, size, PART)]
        head = memoryview(first.bytes())
        buf[: len(head)] = head
        for part in rest:
            part.result()
    return buf


def columns(s3: Any, key: str, names: list[str]) -> Any:
    """The columns ``names`` of a Parquet object as a pyarrow Table, fetching its footer and then only their
    column chunks.

    A HEAD for the size (a suffix range, ``bytes=-N``, would save it, but s3rver answers one from byte 0), the
    file's last FOOTER_READ bytes (more if its metadata is longer), then every wanted chunk with one
    ``obstore.get_ranges`` call: obstore's vectored read, which merges ranges less than 1 MiB apart and fetches
    up to 10 at once. The bytes land in a buffer of the file's size that is otherwise never written
    (``bytearray`` takes zeroed pages from the kernel, which stay unmapped until touched), so pyarrow reads the
    footer and the chunks at their own offsets. ``pq.ParquetFile(obstore.open_reader(...))`` (see
    :func:`reader`) fetched the same ranges but one after another: 2 of 8 columns of a file of 8 row groups,
    s3rver loopback, 0.06-0.17 s (with and without ``pre_buffer``) against 0.034 s; obstore's fsspec
    ``FsspecStore`` under ``pq.read_table`` made 14 requests where this makes 10 and took 0.084 s.
    """
    import obstore
    import pyarrow as pa
    import pyarrow.parquet as pq

    size = obstore.head(s3, key)["size"]
    buf = bytearray(size)
    tail = max(0, size - FOOTER_READ)
    buf[tail:] = memoryview(obstore.get_range(s3, key, start=tail, end=size))
    (footer,) = struct.unpack("<I", buf[-8:-4])
    if (start := size - 8 - footer) < tail:
        buf[start:tail] = memoryview(obstore.get_range(s3, key, start=start, end=tail))
    parquet = pq.ParquetFile(pa.BufferReader(pa.py_buffer(buf)))
    ranges = []
    for group in range(parquet.metadata.num_row_groups):
        row_group = parquet.metadata.row_group(group)
        for index in range(row_group.num_columns):
            chunk = row_group.column(index)
            if chunk.path_in_schema.split(".")[0] in names:
                dictionary = chunk.has_dictionary_page and chunk.dictionary_page_offset  # 0: none (PAR1 is there)
                first = chunk.dictionary_page_offset if dictionary else chunk.data_page_offset
                ranges.append((first, first + chunk.total_compressed_size))
    ranges.sort()
    parts = obstore.get_ranges(s3, key, starts=[a for a, _ in ranges], ends=[b for _, b in ranges])
    for (start, end), part in zip(ranges, parts, strict=True):
        buf[start:end] = memoryview(part)
    return parquet.read(columns=names)


class _File:
    """``obstore.open_reader``'s file with the ``closed`` attribute pyarrow's Python-file wrapper asks for
    (obstore 0.12's ``ReadableFile`` has none: ``AttributeError`` inside ``pq.ParquetFile``)."""

    closed = False

    def __init__(self, file: Any) -> None:
        self.file = file

    def __getattr__(self, name: str) -> Any:
        return getattr(self.file, name)

    def readable(self) -> bool:
        return True


def reader(s3: Any, key: str) -> Any:
    """A file-like view of the object for pyarrow: a HEAD, then each read a ranged GET of at least 1 MiB."""
    import obstore

    return _File(obstore.open_reader(s3, key))
