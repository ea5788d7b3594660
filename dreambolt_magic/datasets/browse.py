"""Looking around a bucket before loading: list buckets, list one "folder" a page at a time, and peek at an
object's columns without downloading it.

The loader side of the panel and of completion; it shares
:class:`~dreambolt_magic.client.connection.Connection` and :func:`~dreambolt_magic.client.calls.call` with
:func:`~dreambolt_magic.load`, so every failure is one of our :class:`~dreambolt_magic.errors.S3Error` classes,
chosen the same way (:class:`~dreambolt_magic.datasets.sessions.Session` holds a connection and its retry policy).
Connection settings are arguments (the front end passes them in); nothing here reads IPython's config.

Peeks read as little as the format allows, always with explicit ranges ``bytes=first-last`` computed from
the size a HEAD reported (never a suffix range ``bytes=-N``, which some S3-compatible stores mishandle):

- Parquet: the footer, from the end of the file (one read of up to 64 KiB, a second only for a bigger
  footer);
- Feather / Arrow IPC: the schema message at the start of the file;
- CSV, TSV, JSON Lines (compressed or not): the first 64 KiB, decompressed as far as it goes, and more
  (doubling, at most 1 MiB in all) only while that holds no whole line (a bz2 block is up to 900 kB);
- a JSON array: the keys of its first record, from the same 64 KiB.
"""

from __future__ import annotations

import bz2
import contextlib
import json
import lzma
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.ipc
import pyarrow.orc
import pyarrow.parquet as pq

from dreambolt_magic.client.params import object_params
from dreambolt_magic.datasets.sessions import Session
from dreambolt_magic.errors import S3Error, S3FormatError
from dreambolt_magic.formats import readers
from dreambolt_magic.options import CustomerKey
from dreambolt_magic.uri import S3Uri, parse

__all__ = ["Listing", "ObjectInfo", "bucket_names", "list_buckets", "list_prefix", "peek_columns", "prefix_page"]

T = TypeVar("T")

#: How much of an object a peek reads first.
PEEK_BYTES = readers.HEAD_BYTES
#: The most a peek at a text format reads, doubling from PEEK_BYTES until it has a whole first line.
MAX_PEEK_BYTES = 1 << 20
_INDEX_COLUMN = re.compile(r"__index_level_\d+__")


@dataclass(frozen=True)
class ObjectInfo:
    """One object in a listing."""

    key: str
    size: int
    last_modified: datetime | None

    @property
    def name(self) -> str:
        """The last segment of the key."""
        return self.key.rpartition("/")[2]


@dataclass(frozen=True)
class Listing:
    """One page of a "folder": the sub-folders (full prefixes, ending in ``/``) and the objects directly in
    it. ``next_token`` is ``None`` on the last page; pass it back to :func:`list_prefix` for the next one."""

    bucket: str
    prefix: str
    folders: tuple[str, ...]
    objects: tuple[ObjectInfo, ...]
    next_token: str | None


def list_buckets(
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    profile: str | None = None,
    anon: bool = False,
    **options: Any,
) -> list[str]:
    """The names of the buckets the credentials may list, sorted.

    Many identities may read objects without being allowed ``s3:ListAllMyBuckets``: that, and unsigned
    requests, end in :class:`~dreambolt_magic.errors.S3AuthError` (the caller then asks for a bucket
    name). ``options``: ``unsigned_fallback``, ``max_attempts``, ``connect_timeout``, ``read_timeout``,
    ``requester_pays`` (every request says the requester pays, as a Requester Pays bucket demands).
    """
    return bucket_names(Session.of(endpoint_url=endpoint_url, profile=profile, anon=anon, **options), region)


def bucket_names(session: Session, region: str | None = None) -> list[str]:
    """:func:`list_buckets` through a session of the caller's (one :meth:`Session.lent` lends, say)."""
    answer = session.call("ListBuckets", region=region or session.conn.default_region)
    return sorted(b["Name"] for b in answer.get("Buckets", []))


def list_prefix(
    bucket: str,
    prefix: str = "",
    *,
    token: str | None = None,
    page_size: int = 200,
    endpoint_url: str | None = None,
    region: str | None = None,
    profile: str | None = None,
    anon: bool = False,
    **options: Any,
) -> Listing:
    """One page (at most ``page_size`` entries) of what is under ``prefix`` in ``bucket``, folders first.

    ``prefix`` is a folder (``"sales/2024/"``, ``""`` for the top) optionally followed by the start of a
    name (``"sales/2024/jan"``): S3 filters by it, so a filter works on listings of any size. ``token`` is
    the ``next_token`` of the page before. Errors are :class:`~dreambolt_magic.errors.S3Error` subclasses
    (a missing bucket is :class:`~dreambolt_magic.errors.S3NotFound`).
    """
    session = Session.of(endpoint_url=endpoint_url, profile=profile, anon=anon, **options)
    return prefix_page(session, bucket, prefix, token=token, page_size=page_size, region=region)


def prefix_page(session: Session, bucket: str, prefix: str = "", *, token: str | None = None,
                page_size: int = 200, region: str | None = None) -> Listing:
    """:func:`list_prefix` through a session of the caller's (one :meth:`Session.lent` lends, say)."""
    if not 1 <= page_size <= 1000:
        raise ValueError(f"page_size must be between 1 and 1000 (S3's limit), not {page_size!r}")
    params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "Delimiter": "/", "MaxKeys": page_size}
    if token:
        params["ContinuationToken"] = token
    answer = session.call("ListObjectsV2", region=session.region_of(bucket, region), **params)
    folders = tuple(p["Prefix"] for p in answer.get("CommonPrefixes", []))
    objects = tuple(
        ObjectInfo(o["Key"], int(o.get("Size") or 0), o.get("LastModified"))
        for o in answer.get("Contents", [])
        if o["Key"] != prefix  # the zero-byte "folder marker" some tools create
    )
    next_token = answer.get("NextContinuationToken") if answer.get("IsTruncated") else None
    return Listing(bucket, prefix, folders, objects, next_token)


def peek_columns(
    uri: str | S3Uri,
    *,
    format: str | None = None,
    endpoint_url: str | None = None,
    region: str | None = None,
    profile: str | None = None,
    anon: bool = False,
    sse_customer_key: bytes | CustomerKey | None = None,
    **options: Any,
) -> list[str]:
    """The column names of an object, from its schema or header, reading only a few KiB of it.

    ``format`` overrides the extension, as in :func:`~dreambolt_magic.api.load`; ``sse_customer_key`` is the
    object's SSE-C key, if it is encrypted with one (sent on the HEAD and GETs). Returns ``[]`` when the
    columns cannot be told cheaply (a JSON document too large to see whole, a first line over 1 MiB).
    Raises the loader's errors: :class:`~dreambolt_magic.errors.S3NotFound` for a missing key,
    :class:`~dreambolt_magic.errors.S3FormatError` for bytes that are not the format, and so on.
    """
    target = uri if isinstance(uri, S3Uri) else parse(uri)
    session = Session.of(endpoint_url=endpoint_url or target.endpoint, profile=profile, anon=anon, **options)
    peek = Peek(session, target, region or target.region, CustomerKey.of(sse_customer_key))
    try:
        return peek.columns(format)
    except S3Error as exc:
        for name, value in (("uri", str(target)), ("bucket", target.bucket), ("key", target.key)):
            if getattr(exc, name, None) is None:
                setattr(exc, name, value)
        raise


class Peek:
    """The few ranged reads that tell one object's columns."""

    def __init__(self, session: Session, target: S3Uri, region: str | None,
                 customer_key: CustomerKey | None = None) -> None:
        self.session = session
        self.target = target
        self.region = region
        self.customer_key = customer_key
        self.etag: str | None = None
        self.size = 0

    def _object(self, operation: str, read: Callable[[Any], T] | None = None, **params: Any) -> Any:
        region = self.session.region_of(self.target.bucket, self.region)
        return self.session.call(operation, region=region, read=read, **params)

    def _params(self) -> dict[str, Any]:
        return object_params(self.target, self.customer_key)

    def head(self) -> None:
        try:
            answer = self._object("HeadObject", **self._params())
        except S3Error as exc:
            if exc.code is not None or exc.status != 404:
                raise
            # A HEAD answer has no body, so no error code: a one-byte GET says which of bucket, key or
            # version is missing (and raises that instead).
            self._object("GetObject", read=lambda answer: answer["Body"].close(), **self._params(), Range="bytes=0-0")
            raise
        self.size = int(answer.get("ContentLength") or 0)
        self.etag = answer.get("ETag")

    def read(self, first: int, last: int) -> bytes:
        """Bytes ``first..last`` (inclusive) of the object, of the version the HEAD saw."""
        params = {**self._params(), "Range": f"bytes={first}-{last}"}
        if self.etag:
            params["IfMatch"] = self.etag

        def get(answer: Any) -> bytes:
            with contextlib.closing(answer["Body"]) as body:
                data = bytes(body.read())
            if answer["ResponseMetadata"]["HTTPStatusCode"] == 200 and len(data) == self.size:
                data = data[first : last + 1]  # the server ignored the range and sent it all
            return data

        return self._object("GetObject", read=get, **params)

    def start(self) -> bytes:
        return self.read(0, min(self.size, PEEK_BYTES) - 1)

    def columns(self, format: str | None) -> list[str]:
        key = self.target.key
        self.head()
        if self.size == 0:
            raise S3FormatError(f"{key} is empty (0 bytes)", key=key, code="EmptyObject")
        head: bytes | None = None
        try:
            fmt, compression = readers.detect(key, b"", format=format)
        except S3FormatError as exc:
            if exc.code != "UnknownFormat":
                raise
            # The name says nothing: the first bytes do.
            head = self.start()
            fmt, compression = readers.detect(key, head, format=format)
        if self.size <= PEEK_BYTES:
            # Small enough to read whole: the loader's own parser then answers.
            data = head if head is not None and len(head) == self.size else self.start()
            return _names(readers.schema_columns(data, key=key, format=fmt))
        if compression is None and fmt == "parquet":
            return self._parquet()
        if compression is None and fmt == "feather":
            return self._feather(head or self.start())
        if compression is None and fmt == "orc":
            return self._orc()
        if fmt in ("xlsx", "zip"):
            return []  # a sheet's first row, or an archive's member, is read from the whole file: not cheap
        return self._text(fmt, compression, head or self.start())

    def _parquet(self) -> list[str]:
        key = self.target.key
        tail_first = self.size - PEEK_BYTES
        tail = self.read(tail_first, self.size - 1)
        if tail[-4:] != b"PAR1":
            # Let the reader say what the object is instead (not Parquet at all, or cut short).
            readers.schema_columns(self.start(), key=key, format="parquet")
            raise _parse_error(key, "parquet", "does not end with the Parquet magic bytes PAR1")
        needed = int.from_bytes(tail[-8:-4], "little") + 8
        if needed > self.size - 4:
            raise _parse_error(key, "parquet", "has a footer length larger than the file")
        if needed > len(tail):
            tail = self.read(self.size - needed, tail_first - 1) + tail
        try:
            # The footer alone, behind the magic bytes, reads as a file with no row groups to fetch.
            schema = pq.ParquetFile(pa.BufferReader(b"PAR1" + tail[-needed:])).schema_arrow
        except (OSError, ValueError, pa.ArrowException) as exc:
            raise _parse_error(key, "parquet", "has a footer that does not parse", detail=str(exc)) from exc
        return _names(schema.names)

    def _feather(self, head: bytes) -> list[str]:
        key = self.target.key
        if not head.startswith((b"ARROW1", b"\xff\xff\xff\xff")):
            readers.schema_columns(head, key=key, format="feather")  # raises FormatMismatch
        start = 8 if head.startswith(b"ARROW1") else 0
        # An IPC message: the continuation marker, the metadata length, the metadata; a schema has no body.
        end = start + 8 + int.from_bytes(head[start + 4 : start + 8], "little")
        if end > self.size:
            raise _parse_error(key, "feather", "has a schema longer than the file")
        if end > len(head):
            head += self.read(len(head), end - 1)
        try:
            schema = pa.ipc.read_schema(pa.ipc.read_message(pa.py_buffer(head[start:end])))
        except (OSError, ValueError, pa.ArrowException) as exc:
            raise _parse_error(key, "feather", "has a schema that does not parse", detail=str(exc)) from exc
        return _names(schema.names)

    def _orc(self) -> list[str]:
        detail = None
        for tail_size in (PEEK_BYTES, MAX_PEEK_BYTES):
            # The schema is in the footer, at the end: the tail behind the magic bytes reads as the file.
            tail = self.read(max(0, self.size - tail_size), self.size - 1)
            try:
                return _names(pyarrow.orc.ORCFile(pa.BufferReader(b"ORC" + tail)).schema.names)
            except (OSError, ValueError, pa.ArrowException) as exc:
                detail = str(exc)
            if len(tail) == self.size:
                break
        raise _parse_error(self.target.key, "orc", "has a footer that does not parse", detail=detail)

    def _text(self, fmt: str, compression: str | None, head: bytes) -> list[str]:
        key = self.target.key
        # The loader's reader must not decompress again: give it the name without the compression suffix.
        plain_key = key.rpartition(".")[0] if compression and readers.detect(key, b"", format=fmt)[1] else key
        while True:
            text = _decompressed_start(compression, head) if compression else head
            if fmt == "json":
                # A JSON document is not read by lines: the keys of its first record are the columns.
                if (names := _first_record_keys(text)) or len(head) >= min(self.size, MAX_PEEK_BYTES):
                    return names
            elif b"\n" in text:
                break
            elif len(head) >= min(self.size, MAX_PEEK_BYTES):
                return []  # a first line longer than a peek reads: not cheap to tell
            # Not enough yet (a bz2 block is up to 900 kB; a header may be long): read as much again.
            head += self.read(len(head), min(2 * len(head), self.size, MAX_PEEK_BYTES) - 1)
        text = text[: text.rindex(b"\n") + 1]  # whole lines only; the range cut the last one
        try:
            return _names(readers.schema_columns(text, key=plain_key, format=fmt))
        except S3FormatError as exc:
            exc.key = key
            raise


def _decompressed_start(compression: str, head: bytes) -> bytes:
    """As much of the decompressed content as the cut-off ``head`` gives; ``b""`` if it gives nothing."""
    if compression == "zstd":
        try:
            # pyarrow has no incremental zstd decoder; a frame cut off mid-block does not decode at all.
            return bytes(pa.input_stream(pa.py_buffer(head), compression="zstd").read(PEEK_BYTES))
        except (OSError, ValueError, pa.ArrowException):
            return b""
    decoder: Any = {"gzip": lambda: zlib.decompressobj(wbits=31), "bz2": bz2.BZ2Decompressor,
                    "xz": lzma.LZMADecompressor}[compression]()
    try:
        return bytes(decoder.decompress(head, PEEK_BYTES))
    except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError) as exc:
        raise S3FormatError(f"is not valid {compression} data", code="BadCompression", detail=str(exc)) from exc


def _first_record_keys(text: bytes) -> list[str]:
    """The keys of the first record of a JSON array (or of the first object), if the start shows them."""
    doc = text.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    start = 1 if doc.startswith("[") else 0
    while start < len(doc) and doc[start] in " \t\r\n":
        start += 1
    try:
        record, _ = json.JSONDecoder().raw_decode(doc, start)
    except ValueError:
        return []
    return [str(k) for k in record] if isinstance(record, dict) else []


def _names(names: Any) -> list[str]:
    return [str(n) for n in names if not _INDEX_COLUMN.fullmatch(str(n))]


def _parse_error(key: str, fmt: str, what: str, detail: str | None = None) -> S3FormatError:
    return S3FormatError(f"{key} {what}: it is not valid {fmt} or is truncated", key=key, code="ParseError",
                         detail=detail)
