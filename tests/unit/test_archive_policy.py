"""Which objects are archived, from what a listing says of them (storage class, RestoreStatus), and what a set
does with them (``dreambolt_magic.datasets.archived``). No I/O: the listing's one request is answered here.

moto lists no RestoreStatus, so how a listing's restore status is read is tested here, on the answers S3 gives.
"""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

import pytest

from dreambolt_magic.datasets import archived, listing
from dreambolt_magic.datasets.listing import ObjectRef, expand
from dreambolt_magic.errors import S3ArchivedError
from dreambolt_magic.uri import S3Uri

EXPIRY = datetime(2030, 1, 1, tzinfo=timezone.utc)


def ref(key: str, storage_class: str | None = None, restored: bool = False) -> ObjectRef:
    return ObjectRef(S3Uri("bkt", key), size=1, storage_class=storage_class, restored=restored)


@pytest.mark.parametrize(("storage_class", "restored", "expected"), [
    ("GLACIER", False, True),
    ("DEEP_ARCHIVE", False, True),
    ("GLACIER", True, False),  # a restored copy is there to read
    ("GLACIER_IR", False, False),  # Instant Retrieval serves at once
    ("STANDARD", False, False),
    ("INTELLIGENT_TIERING", False, False),  # its archive tiers are not in the listing: the GET tells
    (None, False, False),  # not listed
])
def test_an_object_is_archived_by_its_storage_class_unless_restored(
    storage_class: str | None, restored: bool, expected: bool
) -> None:
    assert ref("k", storage_class, restored).archived is expected


@pytest.mark.parametrize(("status", "restored"), [
    (None, False),
    ({"IsRestoreInProgress": True}, False),
    ({"IsRestoreInProgress": False, "RestoreExpiryDate": EXPIRY}, True),
])
def test_a_listing_asks_for_the_restore_status_and_reads_it(
    monkeypatch: pytest.MonkeyPatch, status: dict[str, Any] | None, restored: bool
) -> None:
    asked: list[dict[str, Any]] = []

    def call_in(conn: Any, operation: str, **params: Any) -> dict[str, Any]:
        asked.append(params)
        entry: dict[str, Any] = {"Key": "t/a.csv", "Size": 3, "ETag": '"e"', "StorageClass": "GLACIER"}
        if status is not None:
            entry["RestoreStatus"] = status
        return {"Contents": [entry], "IsTruncated": False}

    connection = SimpleNamespace(endpoint_url=None, release=lambda: None)
    monkeypatch.setattr(listing, "call_in", call_in)
    monkeypatch.setattr(listing.Connection, "lease", classmethod(lambda cls, *a, **k: connection))
    (found,) = expand("s3://bkt/t/", region="us-east-1")

    assert asked[0]["OptionalObjectAttributes"] == ["RestoreStatus"]
    assert (found.storage_class, found.restored, found.archived) == ("GLACIER", restored, not restored)


def test_a_set_without_archived_objects_is_left_as_it_is() -> None:
    refs = [ref("a"), ref("b", "GLACIER", restored=True)]
    assert archived.refuse_or_skip(refs, "s3://bkt/", skip=False) == (refs, 0)


def test_archived_objects_refuse_the_set_or_are_skipped_and_counted() -> None:
    refs = [ref("a"), ref("b", "GLACIER"), ref("c", "DEEP_ARCHIVE")]
    with pytest.raises(S3ArchivedError) as info:
        archived.refuse_or_skip(refs, "s3://bkt/", skip=False, endpoint="http://127.0.0.1:1")
    err = info.value
    assert (err.code, err.bucket, err.key, err.endpoint) == ("ArchivedObjects", "bkt", "b", "http://127.0.0.1:1")
    assert err.hints["archived"] == ["b", "c"] and err.hints["storage_classes"] == ["DEEP_ARCHIVE", "GLACIER"]
    assert archived.refuse_or_skip(refs, "s3://bkt/", skip=True) == ([refs[0]], 2)


def test_a_lazy_listing_raises_at_the_first_archived_object_or_counts_the_skipped() -> None:
    refs = [ref("a"), ref("b", "GLACIER"), ref("c"), ref("d", "GLACIER")]
    skipped = archived.Skipped()
    assert [r.uri.key for r in archived.skipping(refs, "s3://bkt/", skip=True, skipped=skipped)] == ["a", "c"]
    assert skipped.count == 2
    met = archived.skipping(refs, "s3://bkt/", skip=False, skipped=archived.Skipped())
    assert next(met).uri.key == "a"
    with pytest.raises(S3ArchivedError) as info:
        next(met)
    assert info.value.hints["archived"] == ["b"]
