"""The parameters that name one object in every request for it (HEAD, GET, ranged GET), built in one place.

``Bucket`` and ``Key``; ``VersionId`` where the URI names a version; and, for an object encrypted with a key
of the caller's (SSE-C), the key and its algorithm, which S3 wants on every HEAD and GET of it. botocore
adds the key's MD5 and base64-encodes both; :mod:`dreambolt_magic.client.redaction` keeps them out of its
logs. The key is passed in for each load and held by no connection (a kept connection serves loads with
other keys, or none).
"""

from __future__ import annotations

from typing import Any

from dreambolt_magic.options import CustomerKey
from dreambolt_magic.uri import S3Uri

__all__ = ["object_params"]


def object_params(target: S3Uri, customer_key: CustomerKey | None = None) -> dict[str, Any]:
    """A new dict of the parameters that name ``target`` (and send its SSE-C key, if it has one)."""
    params: dict[str, Any] = {"Bucket": target.bucket, "Key": target.key}
    if target.version_id:
        params["VersionId"] = target.version_id
    if customer_key is not None:
        params.update(customer_key.params)
    return params
