"""Every setting's default, once, and the one object the layers below the public functions pass around.

- :class:`ConnectOptions`: how to reach S3 and sign for it, and how hard to try. Without ``max_attempts``
  it is also the key under which a connection is kept between loads
  (:meth:`~dreambolt_magic.client.connection.Connection.lease`).
- :class:`ReadOptions`: what to read of an object and how to parse it.
- :class:`TransferOptions`: how one object's bytes are fetched, and the memory guard's settings.
- :class:`LoadOptions`: the three, with the region to sign for, the cache and the SSE-C key (a
  :class:`CustomerKey`, which no repr shows): what a load is asked to do.

Public functions keep their typed keywords, whose defaults are these; they build one ``LoadOptions`` with
:meth:`LoadOptions.of`, which checks every value once, and code below them passes that object. No I/O, and
nothing read from the environment here: the front ends pass settings in.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

from dreambolt_magic.uri import public_endpoint

__all__ = [
    "CONNECT",
    "READ",
    "TRANSFER",
    "ConnectOptions",
    "CustomerKey",
    "LoadOptions",
    "ReadOptions",
    "TransferOptions",
    "column_list",
]


def _of(cls: Any, defaults: Any, values: Mapping[str, Any]) -> Any:
    known = {f.name for f in fields(cls)}
    return replace(defaults, **{k: v for k, v in values.items() if k in known and v is not None})


def _whole(name: str, value: Any, least: int, unit: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ValueError(f"{name} must be a whole number{unit} of at least {least}, not {value!r}")


@dataclass(frozen=True)
class ConnectOptions:
    """How to reach S3 and sign for it, and how hard to try."""

    #: A named AWS profile (``None``: the default credential chain).
    profile: str | None = None
    #: An S3-compatible endpoint (``None``: AWS, or ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``); kept
    #: without a ``user:password@`` part, which botocore would not send (:func:`~dreambolt_magic.uri.public_endpoint`).
    endpoint_url: str | None = None
    #: Unsigned requests, for public buckets.
    anon: bool = False
    #: With no credentials configured at all, try the object unsigned once (it may be public).
    unsigned_fallback: bool = True
    #: Seconds before a connection attempt counts as failed.
    connect_timeout: float = 5.0
    #: Seconds before a read that receives nothing counts as failed.
    read_timeout: float = 15.0
    #: Attempts per request, with exponential backoff and full jitter between them.
    max_attempts: int = 5
    #: Every request says the requester pays for it (``x-amz-request-payer: requester``), as a Requester Pays
    #: bucket demands of anyone but its owner.
    requester_pays: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "endpoint_url", public_endpoint(self.endpoint_url))
        _whole("max_attempts", self.max_attempts, 1)
        for name in ("connect_timeout", "read_timeout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{name} must be a number of seconds above 0, not {value!r}")

    @classmethod
    def of(cls, **values: Any) -> ConnectOptions:
        """Options from keywords, ``None`` meaning the default; names that are not connection settings are
        ignored (callers pass on a mix of settings)."""
        return _of(cls, CONNECT, values)

    def at(self, endpoint_url: str | None) -> ConnectOptions:
        """The same settings for another endpoint."""
        return self if endpoint_url == self.endpoint_url else replace(self, endpoint_url=endpoint_url)

    @property
    def connection_key(self) -> tuple[Any, ...]:
        """What makes two connections interchangeable: every setting but the attempts, which are the
        retry policy's."""
        return (self.profile, self.endpoint_url, self.anon, self.unsigned_fallback, self.connect_timeout,
                self.read_timeout, self.requester_pays)


@dataclass(frozen=True)
class ReadOptions:
    """What to read of an object and how to parse it."""

    #: ``parquet``, ``csv``, ... (``None``: from the key's extension, else the first bytes).
    format: str | None = None
    #: The columns to read (``None``: all).
    columns: tuple[str, ...] | None = None
    #: The first rows to read (``None``: all).
    nrows: int | None = None
    #: Passed to the parser (``sep=";"``, ``encoding="latin-1"``, ...).
    parser: Mapping[str, Any] = field(default_factory=dict)
    #: Columns asked for that the object lacks are left out of its frame rather than refused, as long as it has
    #: one of them: a set's objects need not all have every column (the set has nulls there).
    allow_missing: bool = False

    def __post_init__(self) -> None:
        if self.nrows is not None:
            _whole("nrows", self.nrows, 0)

    @property
    def column_list(self) -> list[str] | None:
        return None if self.columns is None else list(self.columns)


@dataclass(frozen=True)
class TransferOptions:
    """How one object's bytes are fetched, and the memory guard's settings."""

    #: Connections in flight for one object, the main stream included.
    max_concurrency: int = 8
    #: The bytes each ranged GET asks for (``None``: chosen from the object's size and the stream's speed).
    part_size: int | None = None
    #: Load even what the memory guard would refuse.
    force: bool = False
    #: The bytes a load may use (``None``: the memory available).
    memory_limit: int | None = None
    #: Bytes a second each body must bring, judged over half a minute (0: no floor); a slower one is broken off
    #: and read on from where it broke, like a stalled one (see :mod:`dreambolt_magic.transfer.pace`).
    min_speed: int = 1000

    def __post_init__(self) -> None:
        _whole("max_concurrency", self.max_concurrency, 1)
        _whole("min_speed", self.min_speed, 0, unit=" of bytes a second")
        if self.part_size is not None:
            _whole("part_size", self.part_size, 1, unit=" of bytes")


class CustomerKey:
    """A customer-provided key (SSE-C) for objects encrypted with one: 256 bits for AES-256, sent on each HEAD
    and GET of them and never shown. Its repr hides it, it is kept out of the connection key (so a kept
    connection never holds it) and it refuses to be pickled (so it never travels in a dask graph or a file)."""

    __slots__ = ("_key",)
    ALGORITHM = "AES256"

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, (bytes, bytearray)):
            raise TypeError(f"sse_customer_key must be bytes (the 32 bytes of an AES-256 key), not "
                            f"{type(key).__name__}")
        if len(key) != 32:
            raise ValueError(f"sse_customer_key must be the 32 bytes of an AES-256 key, not {len(key)} bytes")
        self._key = bytes(key)

    @classmethod
    def of(cls, key: bytes | CustomerKey | None) -> CustomerKey | None:
        """``key`` as a CustomerKey (``None``: no key)."""
        return key if key is None or isinstance(key, CustomerKey) else cls(key)

    @property
    def params(self) -> dict[str, Any]:
        """The request parameters that send it (botocore adds its MD5 and base64-encodes both)."""
        return {"SSECustomerAlgorithm": self.ALGORITHM, "SSECustomerKey": self._key}

    def __repr__(self) -> str:
        return "CustomerKey(<hidden>)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CustomerKey) and hmac.compare_digest(self._key, other._key)

    def __hash__(self) -> int:
        return hash(hashlib.sha256(self._key).digest())

    def __reduce__(self) -> Any:
        raise TypeError("an SSE-C key is not pickled: pass it to each load instead")

    def __copy__(self) -> CustomerKey:
        return self

    def __deepcopy__(self, memo: Any) -> CustomerKey:
        return self


#: The size limit of a cache made without one: 2 GiB.
CACHE_MAX_BYTES = 2 << 30

#: The defaults.
CONNECT = ConnectOptions()
READ = ReadOptions()
TRANSFER = TransferOptions()


@dataclass(frozen=True)
class LoadOptions:
    """Everything a load is asked to do, but for where (the URIs) and its progress and cancel (run-time)."""

    connect: ConnectOptions = CONNECT
    read: ReadOptions = READ
    transfer: TransferOptions = TRANSFER
    #: The region to sign for (``None``: the URL's, else the bucket's own, detected and cached).
    region: str | None = None
    #: The cache: ``None``/``False`` off, ``True`` the default directory, a path, or a ``Cache``.
    cache: Any = None
    #: The SSE-C key of the objects (``None``: they are not encrypted with a key of yours). Never in a repr.
    sse_customer_key: CustomerKey | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.sse_customer_key is not None and self.cache not in (None, False):
            # The cache would keep the decrypted bytes on disk, and serve them to a later load without the key.
            raise ValueError("an SSE-C encrypted object is not cached: load it with cache=None")

    @classmethod
    def of(cls, **values: Any) -> LoadOptions:
        """The options of :func:`dreambolt_magic.load`'s keywords (``None``: the default), each checked once:
        a bad value is a ValueError before any request. Keywords that are no setting go to the parser."""
        known = {f.name for group in (ConnectOptions, ReadOptions, TransferOptions) for f in fields(group)}
        known |= {"region", "cache", "read_options", "sse_customer_key"}
        parser = dict(values.pop("read_options", None) or {})
        parser.update({k: v for k, v in values.items() if k not in known})
        columns = column_list(values.get("columns"))
        read = ReadOptions(format=values.get("format"), columns=None if columns is None else tuple(columns),
                           nrows=values.get("nrows"), parser=parser)
        return cls(connect=ConnectOptions.of(**values), read=read, transfer=_of(TransferOptions, TRANSFER, values),
                   region=values.get("region"), cache=values.get("cache"),
                   sse_customer_key=CustomerKey.of(values.get("sse_customer_key")))

    def reading(self, **changes: Any) -> LoadOptions:
        """The same load of other columns or rows (``columns=``, ``nrows=``, ...)."""
        if changes.get("columns") is not None:
            changes["columns"] = tuple(changes["columns"])
        return replace(self, read=replace(self.read, **changes))

    def at(self, endpoint_url: str | None) -> LoadOptions:
        """The same load at another endpoint."""
        return replace(self, connect=self.connect.at(endpoint_url))


def column_list(columns: Sequence[str] | str | None) -> list[str] | None:
    """The ``columns`` argument as a list of names: ``"a,b"`` or ``["a", "b"]``; ValueError if it names none."""
    if columns is None:
        return None
    names = columns.split(",") if isinstance(columns, str) else list(columns)
    names = [n.strip() for n in names]
    if not names or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"columns must name at least one column, e.g. 'a,b', not {columns!r}")
    return names
