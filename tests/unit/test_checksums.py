"""The stored full-object checksum of a GetObject answer, and the same checksum of bytes we hold
(``dreambolt_magic.transfer.checksums``). No I/O.

Expected digests are computed here with zlib and hashlib, and checked once against published test vectors.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dreambolt_magic.transfer.checksums import digest, stored_checksum

FIELDS = ["ChecksumCRC32", "ChecksumSHA1", "ChecksumSHA256"]


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def reference(field: str, data: bytes) -> str:
    """What S3 stores for ``data`` in ``field``, computed without the module."""
    if field == "ChecksumCRC32":
        return b64(zlib.crc32(data).to_bytes(4, "big"))
    return b64(hashlib.new(field.removeprefix("Checksum").lower(), data).digest())


# --- which stored checksum ------------------------------------------------------------------------------


@pytest.mark.parametrize("field", FIELDS)
def test_a_full_object_checksum_is_picked(field: str) -> None:
    value = reference(field, b"payload")
    assert stored_checksum({field: value}) == (field, value)
    assert stored_checksum({field: value, "ChecksumType": "FULL_OBJECT", "ETag": '"abc"'}) == (field, value)


@pytest.mark.parametrize("field", FIELDS)
def test_a_composite_checksum_is_never_picked(field: str) -> None:
    # A multipart upload's checksum is of its parts' checksums, not of the bytes: even when it looks whole.
    value = reference(field, b"payload")
    assert stored_checksum({field: value, "ChecksumType": "COMPOSITE"}) is None
    assert stored_checksum({field: f"{value}-3"}) is None


def test_a_multipart_value_is_skipped_for_a_full_one_in_another_field() -> None:
    sha = reference("ChecksumSHA256", b"payload")
    answer = {"ChecksumCRC32": "AAAAAA==-12", "ChecksumSHA256": sha}
    assert stored_checksum(answer) == ("ChecksumSHA256", sha)


@pytest.mark.parametrize("answer", [
    {},
    {"ETag": '"d41d8cd98f00b204e9800998ecf8427e"'},
    {"ChecksumCRC32": ""},
    {"ChecksumCRC32": None},
    {"ChecksumCRC32C": "yZRlqg=="},  # not one the standard library computes
    {"ChecksumCRC64NVME": "AAAAAAAAAAA="},
    {"ChecksumType": "FULL_OBJECT"},
])
def test_no_checkable_checksum_is_none(answer: dict[str, Any]) -> None:
    assert stored_checksum(answer) is None


def test_of_several_full_checksums_one_is_picked_and_it_matches() -> None:
    data = b"several at once"
    answer = {field: reference(field, data) for field in reversed(FIELDS)}
    picked = stored_checksum(answer)
    assert picked is not None
    field, value = picked
    assert answer[field] == value
    assert digest(field, memoryview(data)) == value


# --- the digest of the bytes we hold --------------------------------------------------------------------


@pytest.mark.parametrize(("field", "data", "hex_digest"), [
    ("ChecksumCRC32", b"123456789", "cbf43926"),  # the CRC-32 check value
    ("ChecksumSHA1", b"abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),  # FIPS 180 examples
    ("ChecksumSHA256", b"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    ("ChecksumCRC32", b"", "00000000"),
    ("ChecksumSHA256", b"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
])
def test_digest_matches_published_vectors(field: str, data: bytes, hex_digest: str) -> None:
    assert digest(field, memoryview(data)) == b64(bytes.fromhex(hex_digest))


@pytest.mark.parametrize("field", FIELDS)
@given(data=st.binary(max_size=2048))
def test_digest_matches_zlib_and_hashlib(field: str, data: bytes) -> None:
    assert digest(field, memoryview(data)) == reference(field, data)


@pytest.mark.parametrize("field", FIELDS)
def test_digest_reads_a_view_into_a_larger_buffer_and_tells_one_byte(field: str) -> None:
    buffer = bytearray(b"HEADER" + b"the object's bytes" + b"TRAILER")
    view = memoryview(buffer)[6:-7]
    assert digest(field, view) == reference(field, b"the object's bytes")
    buffer[10] ^= 1  # one bit of the object, through the view
    assert digest(field, view) != reference(field, b"the object's bytes")
