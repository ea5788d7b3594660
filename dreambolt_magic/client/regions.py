"""Which region a bucket lives in, learnt once per bucket and kept.

Like s3fs's ``S3BucketRegionCache``: S3 names a bucket's region in the ``x-amz-bucket-region`` header of a
HeadBucket answer, on success and on its 301/400/403 error answers alike, so one cheap request settles it
(S3-compatible stores such as moto send it too). An explicit region, or one in the URL, always wins and
is never looked up.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

__all__ = ["RegionCache", "bucket_region_from", "detect_region", "region_cache"]

BUCKET_REGION_HEADER = "x-amz-bucket-region"


def bucket_region_from(response: Mapping[str, Any]) -> str | None:
    """The region an S3 answer (a success or a ``ClientError.response``) names for its bucket, if any."""
    headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}) or {}
    region = headers.get(BUCKET_REGION_HEADER) or response.get("Error", {}).get("Region")
    return region or None


def detect_region(client: Any, bucket: str) -> tuple[str | None, int | None]:
    """Ask S3 where ``bucket`` lives with one HeadBucket; returns ``(region, status)``.

    Error answers are read for the header, not raised: a 403 still names the region (the caller may be
    allowed to read objects without being allowed to list the bucket). Failures below HTTP propagate.
    """
    try:
        response = client.head_bucket(Bucket=bucket)
    except ClientError as exc:
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        region = bucket_region_from(exc.response)
        if region is None and status is not None and (status >= 500 or status == 429):
            raise  # throttled or failed: the caller's retry policy decides
        return region, status
    return bucket_region_from(response), response.get("ResponseMetadata", {}).get("HTTPStatusCode")


class RegionCache:
    """Thread-safe map from (endpoint, bucket) to region."""

    def __init__(self) -> None:
        self._regions: dict[tuple[str | None, str], str] = {}
        self._lock = threading.Lock()

    def get(self, endpoint: str | None, bucket: str) -> str | None:
        with self._lock:
            return self._regions.get((endpoint, bucket))

    def set(self, endpoint: str | None, bucket: str, region: str) -> None:
        with self._lock:
            self._regions[(endpoint, bucket)] = region

    def forget(self, endpoint: str | None, bucket: str) -> None:
        with self._lock:
            self._regions.pop((endpoint, bucket), None)

    def clear(self) -> None:
        with self._lock:
            self._regions.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._regions)


#: The process-wide cache the loader uses; owned by this module. ``region_cache.clear()`` resets it.
region_cache = RegionCache()
