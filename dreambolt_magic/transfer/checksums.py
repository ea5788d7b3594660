"""An object's stored full-object checksum, and the same checksum of the bytes we hold. No I/O.

S3 keeps a checksum of an object uploaded with one (CRC32, SHA-1 or SHA-256, base64 in the GetObject
answer). botocore hashes a whole-object stream as it is read and compares at the read that finds its end,
which the loader, stopping at Content-Length, would never make: :func:`botocore_verdict` makes it. Bytes
put together from ranged parts or resumed pieces botocore cannot check:
:meth:`dreambolt_magic.transfer.engine.Transfer.verify` does, with :func:`digest`, over the buffer once. A ranged
(sparse) read gets no checksum and fetches some ranges only: there is nothing to compare (:data:`RANGED`).
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Callable
from typing import Any

import botocore.exceptions as bce
from botocore.httpchecksum import StreamingChecksumBody

__all__ = ["RANGED", "VERIFIED", "botocore_verdict", "digest", "stored_checksum"]

#: What the provenance (``df.attrs["s3"]["checksum"]``) says: the bytes matched the stored checksum; or the read
#: was ranged, so that no checksum came with it (and one of some ranges would say nothing of the whole).
#: ``None``: nothing was compared (the object has no stored checksum that can be checked, or the bytes came
#: from the local cache).
VERIFIED = "verified"
RANGED = "not checked: ranged read"

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


def botocore_verdict(body: Any) -> bool | None:
    """Whether ``body``, read to its last byte, matched the checksum its answer came with (None: botocore was
    not checking it, because the answer carried none or ``response_checksum_validation`` is off).

    botocore compares only at a read that returns nothing, which this makes: its running hash already
    covers every byte, so the check costs one empty read, where a hash of ours would go over them again.
    """
    if not isinstance(body, StreamingChecksumBody):
        return None
    try:
        body.read(1)
    except bce.FlexibleChecksumError:
        return False
    return True
