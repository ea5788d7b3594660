"""A listing that would never end is ended, over HTTP: a server that repeats its continuation token, or sends
empty page after empty page that says there is more (FaultProxy answers the listing requests itself)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

import dreambolt_magic as dm
from dreambolt_magic.datasets import listing
from dreambolt_magic.errors import S3GenericError
from faults.proxy import Fault, FaultProxy, Send

if TYPE_CHECKING:
    from conftest import S3Helper

BUCKET = "loops"


def _page(token: str, keys: tuple[str, ...] = ()) -> bytes:
    contents = "".join(f"<Contents><Key>{k}</Key><Size>4</Size><ETag>&quot;e&quot;</ETag></Contents>" for k in keys)
    return (f'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>{BUCKET}</Name><Prefix>p/</Prefix>'
            f"<KeyCount>{len(keys)}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>{contents}"
            f"<NextContinuationToken>{token}</NextContinuationToken></ListBucketResult>").encode()


def _listings(proxy: FaultProxy) -> int:
    return sum(1 for r in proxy.requests if r.method == "GET" and r.path == f"/{BUCKET}")


def test_a_repeated_continuation_token_ends_the_listing(s3: S3Helper, proxy: FaultProxy) -> None:
    s3.make_bucket(BUCKET)
    s3.put(BUCKET, "p/a.csv", b"n\n1\n")
    # Twenty of them: without the guard the listing would follow them all, then end on moto's own page.
    proxy.add(Fault(Send(_page("same", ("p/a.csv",))), path=f"/{BUCKET}", times=20))
    with pytest.raises(S3GenericError) as caught:
        dm.load(f"s3://{BUCKET}/p/", endpoint_url=proxy.endpoint_url, progress=False)
    assert caught.value.code == "EndlessListing"
    assert "continuation token it had sent before" in str(caught.value)
    assert _listings(proxy) == 2  # the second page repeated the first's token: no third request


def test_empty_truncated_pages_end_the_listing(s3: S3Helper, proxy: FaultProxy) -> None:
    s3.make_bucket(BUCKET)
    tokens = iter(range(10_000))
    for _ in range(listing.MAX_EMPTY_PAGES + 5):
        proxy.add(Fault(Send(_page(f"t{next(tokens)}")), path=f"/{BUCKET}"))
    with pytest.raises(S3GenericError) as caught:
        dm.load(f"s3://{BUCKET}/p/", endpoint_url=proxy.endpoint_url, progress=False)
    assert caught.value.code == "EndlessListing" and "empty pages" in str(caught.value)
    assert _listings(proxy) == listing.MAX_EMPTY_PAGES
    assert caught.value.explanation and caught.value.remedy
