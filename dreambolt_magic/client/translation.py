"""Botocore's exceptions into ours: decided by S3 error code and HTTP status, never by message text.

Every botocore exception the package meets passes through :func:`translate` once, where the loader
(:mod:`dreambolt_magic.api`) and its helpers call botocore: the rest of the package sees only
:class:`~dreambolt_magic.errors.S3Error` and its subclasses. :func:`classify` gives the retry policy an
error's ``(code, status)``.

The botocore exception stays our error's ``__cause__`` (a traceback shows both), but first loses what it
holds of a credential: S3 echoes the session token in an ``ExpiredToken`` answer and the access key id, the
string to sign and the canonical request in a ``SignatureDoesNotMatch`` one
(:func:`~dreambolt_magic.client.redaction.scrub_client_error`). Nothing of those reaches our error either.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import botocore.exceptions as bce

from dreambolt_magic.client.config_files import broken_file
from dreambolt_magic.client.redaction import redact, scrub_client_error
from dreambolt_magic.client.regions import bucket_region_from
from dreambolt_magic.errors import (
    S3AuthError,
    S3Error,
    S3GenericError,
    S3NetworkError,
    S3UriError,
    class_for,
)

if TYPE_CHECKING:
    from dreambolt_magic.client.connection import Connection

__all__ = ["classify", "translate"]


_NETWORK_CODES: tuple[tuple[type[Exception], str], ...] = (
    (bce.ConnectTimeoutError, "ConnectTimeout"),
    (bce.ReadTimeoutError, "ReadTimeout"),
    (bce.ConnectionClosedError, "ConnectionClosed"),
    (bce.EndpointConnectionError, "EndpointConnectionError"),
    (bce.ResponseStreamingError, "IncompleteBody"),
    (bce.IncompleteReadError, "IncompleteBody"),
    (bce.FlexibleChecksumError, "ChecksumMismatch"),
    (bce.HTTPClientError, "ConnectionClosed"),
)

_CREDENTIAL_CODES: tuple[tuple[type[Exception], str], ...] = (
    (bce.ProfileNotFound, "ProfileNotFound"),
    (bce.NoCredentialsError, "NoCredentials"),
    (bce.SSOTokenLoadError, "SSOTokenExpired"),
    (bce.UnauthorizedSSOTokenError, "SSOTokenExpired"),
    (bce.TokenRetrievalError, "SSOTokenExpired"),
    (bce.PartialCredentialsError, "CredentialsError"),
    (bce.CredentialRetrievalError, "CredentialsError"),
    (bce.NoAuthTokenError, "CredentialsError"),
)


def translate(
    exc: BaseException,
    *,
    bucket: str | None = None,
    region: str | None = None,
    operation: str | None = None,
    profile: str | None = None,
    conn: Connection | None = None,
) -> S3Error:
    """Our exception for a botocore one; decided by S3 error code and HTTP status, never by message text."""
    endpoint = None
    if conn is not None:
        profile, endpoint = conn.profile, conn.endpoint_url
    common: dict[str, Any] = {"bucket": bucket, "region": region, "operation": operation, "endpoint": endpoint}
    if isinstance(exc, bce.ClientError):
        response = exc.response
        error = response.get("Error", {})
        meta = response.get("ResponseMetadata", {})
        status = meta.get("HTTPStatusCode")
        code = error.get("Code")
        if code and code.isdigit():
            code = None  # HEAD answers have no body; botocore puts the status where the code goes.
        hints: dict[str, Any] = {"profile": profile}
        named = bucket_region_from(response)
        if named:
            hints["bucket_region"] = named
        if error.get("StorageClass"):
            hints["storage_class"] = error["StorageClass"]  # an archived object's (InvalidObjectState)
        if conn is not None and not conn.signed:
            hints["unsigned"] = True
        if conn is not None and conn.requester_pays:
            hints["requester_pays"] = True  # an AccessDenied then has other causes than Requester Pays
        message = error.get("Message")
        scrub_client_error(exc)
        return class_for(code, status)(
            code=code,
            status=status,
            request_id=meta.get("RequestId"),
            detail=redact(message) if isinstance(message, str) else None,
            hints=hints,
            **common,
        )
    if isinstance(exc, bce.ConfigParseError):
        return _config_file_error(exc, profile, common)
    for kind, code in _CREDENTIAL_CODES:
        if isinstance(exc, kind):
            return S3AuthError(code=code, detail=type(exc).__name__, hints={"profile": profile}, **common)
    for kind, code in _NETWORK_CODES:
        if isinstance(exc, kind):
            return S3NetworkError(code=code, detail=type(exc).__name__, **common)
    if isinstance(exc, bce.MissingDependencyException):
        # botocore raises it before sending, for what only the AWS Common Runtime can do (SigV4A, some checksums).
        return S3GenericError("botocore needs the AWS Common Runtime (the awscrt package) for this request, and "
                              "cannot use it here", code="NeedsCRT", detail=str(exc), **common)
    if isinstance(exc, bce.ParamValidationError):
        return S3UriError(str(exc.kwargs.get("report", "")).strip() or None, code="InvalidUri", **common)
    return S3GenericError(detail=f"{type(exc).__name__}", **common)


def _config_file_error(exc: bce.ConfigParseError, profile: str | None, common: dict[str, Any]) -> S3AuthError:
    """The file and the line that botocore could not parse, never the line's text (a secret, as often as not)."""
    broken = broken_file(str(exc.kwargs.get("path")), exc.kwargs.get("error"))
    # The cause is kept, but not the parser's error: its text quotes the line.
    exc.kwargs["error"] = type(exc.kwargs.get("error")).__name__
    exc.__context__ = None
    where = f"line {broken.line} {broken.problem}" if broken.line else f"a line {broken.problem}"
    hints = {"profile": profile, "file": broken.path, "file_name": broken.name, "line": broken.line}
    return S3AuthError(f"the AWS {broken.name} {broken.path} cannot be parsed: {where}", code="ConfigFileError",
                       hints=hints, **common)


def classify(exc: BaseException) -> tuple[str | None, int | None] | None:
    """``(code, status)`` of one of our errors, for the retry policy; ``None`` for anything else."""
    if isinstance(exc, S3Error):
        return exc.code, exc.status
    return None
