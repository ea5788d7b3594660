"""Requests for an access point's ARN that must not be sent, refused before botocore builds them.

An ARN (:func:`~dreambolt_magic.uri.access_point`) is botocore's to resolve: it sends the request to the
access point's own host in the ARN's region. Two cases fail there, late and obscurely, so every client of a
:class:`~dreambolt_magic.client.connection.Connection` refuses them first, for any operation
(:func:`refuse_unsendable` runs on ``before-parameter-build``):

- an ARN with an ``endpoint_url``: an S3-compatible store has no AWS access points, and botocore would
  address the request to ``NAME-ACCOUNT.<the store's host>``
  (:class:`~dreambolt_magic.errors.S3UriError`, code ``ArnWithEndpoint``);
- a signed request to a Multi-Region Access Point without the AWS Common Runtime: botocore signs those with
  SigV4A, which it does only through ``awscrt`` (:class:`~dreambolt_magic.errors.S3GenericError`, code
  ``NeedsCRT``). An unsigned one needs no signature, and goes.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import botocore.compat

from dreambolt_magic.errors import S3GenericError, S3UriError
from dreambolt_magic.uri import access_point

__all__ = ["refuse_unsendable", "sigv4a_unavailable"]

_WITHOUT_CRT = ("Or read through one of the Multi-Region Access Point's Regional access points, or its buckets, "
                "which need no SigV4A; public data can also be read unsigned with --anon.")


def sigv4a_unavailable() -> str | None:
    """Why botocore cannot sign SigV4A requests in this process, which needs the AWS Common Runtime (``awscrt``);
    ``None`` if it can."""
    if importlib.util.find_spec("awscrt") is None:
        return "it is not installed"
    # botocore decides once, when it is imported: awscrt must import, and BOTO_DISABLE_CRT not be set.
    if not getattr(botocore.compat, "HAS_CRT", False):
        return "botocore does not use it (BOTO_DISABLE_CRT is set, or awscrt fails to import)"
    return None


def refuse_unsendable(endpoint_url: str | None, signed: bool, params: dict[str, Any], **_: Any) -> None:
    """Raise if ``params`` name an access point ARN that a client with these settings must not send to."""
    bucket = params.get("Bucket")
    point = access_point(bucket) if isinstance(bucket, str) else None
    if point is None:
        return
    context: dict[str, Any] = {"bucket": bucket, "key": params.get("Key"), "endpoint": endpoint_url}
    if endpoint_url:
        raise S3UriError(
            f"{point.arn} is an AWS access point's ARN, but the requests go to the S3-compatible store at "
            f"{endpoint_url}, which has no access points; write the store's bucket name (s3://bucket/key), or "
            f"read from AWS without an endpoint URL",
            code="ArnWithEndpoint", **context,
        )
    reason = sigv4a_unavailable() if point.multi_region and signed else None
    if reason:
        raise S3GenericError(
            f"{point.arn} is a Multi-Region Access Point, whose requests botocore signs with SigV4A, which needs "
            f"the AWS Common Runtime (the awscrt package): {reason}",
            code="NeedsCRT", hints={"reason": reason, "instead": _WITHOUT_CRT}, **context,
        )
