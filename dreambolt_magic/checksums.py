"""An object's stored full-object checksum, and the same checksum of the bytes we hold. No I/O.

S3 keeps a checksum of an object uploaded with one (CRC32, SHA-1 or SHA-256, base64 in the GetObject
answer). botocore checks a whole-object stream against it itself, but not bytes put together from ranged
parts or resumed pieces: :meth:`dreambolt_magic.transfer.Transfer.verify` does, with these.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Callable
from typing import Any

__all__ = ["digest", "stored_checksum"]

#: The stored checksums whose full-object value the standard library can compute.
_DIGESTS: dict[str, Callable[[memoryview], bytes]] = {
    "ChecksumCRC32": lambda data: zlib.crc32(data).to_bytes(4, "big"),
    "ChecksumSHA1": lambda data: hashlib.sha1(data).digest(),
    "ChecksumSHA256": lambda data: hashlib.sha256(data).digest(),
}


def stored_checksum(response: dict[str, Any]) -> tuple[str, str] | None:
    """The ``(response field, base64 value)`` of the full-object checksum a GetObject answer carries, if it
    carries one that can be checked here."""
    # A multipart upload's checksum is a checksum of part checksums ("...-12"): not of the bytes we hold.
    if response.get("ChecksumType") == "COMPOSITE":
        return None
    for field in _DIGESTS:
        value = response.get(field)
        if value and "-" not in value:
            return field, value
    return None


def digest(field: str, data: memoryview) -> str:
    """The base64 checksum of ``data`` that the answer's ``field`` holds for the object."""
    return base64.b64encode(_DIGESTS[field](data)).decode("ascii")
