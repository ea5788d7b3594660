"""Every setting's default, once: how to connect (:class:`ConnectOptions`) and how to fetch one object
(:class:`TransferOptions`).

Public functions keep their typed keywords, whose defaults are these; code below them passes one
``ConnectOptions`` rather than its fields one by one, and it is the key under which a connection is kept.
No I/O, and nothing read from the environment here: the front ends pass settings in.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

__all__ = ["CONNECT", "TRANSFER", "ConnectOptions", "TransferOptions", "default"]


@dataclass(frozen=True)
class ConnectOptions:
    """How to reach S3 and sign for it, and how hard to try."""

    #: A named AWS profile (``None``: the default credential chain).
    profile: str | None = None
    #: An S3-compatible endpoint (``None``: AWS, or ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``).
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

    @classmethod
    def of(cls, **values: Any) -> ConnectOptions:
        """Options from keywords, ``None`` meaning the default (unknown names are ignored: callers pass on
        a mix of settings)."""
        known = {f.name for f in fields(cls)}
        return replace(CONNECT, **{k: v for k, v in values.items() if k in known and v is not None})

    def settings(self) -> dict[str, Any]:
        """The fields as keywords."""
        return asdict(self)


@dataclass(frozen=True)
class TransferOptions:
    """How one object's bytes are fetched."""

    #: Connections in flight for one object, the main stream included.
    max_concurrency: int = 8
    #: The bytes each ranged GET asks for (``None``: chosen from the object's size and the stream's speed).
    part_size: int | None = None


#: The defaults.
CONNECT = ConnectOptions()
TRANSFER = TransferOptions()


def default(name: str, value: Any = None) -> Any:
    """``value``, or the default of the setting ``name`` where ``value`` is ``None``."""
    if value is not None:
        return value
    for defaults in (CONNECT, TRANSFER):
        if hasattr(defaults, name):
            return getattr(defaults, name)
    raise KeyError(f"no setting is called {name!r}")
