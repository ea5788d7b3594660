"""The exceptions the loader raises, and the tables that choose them.

Every error the loader lets out is an :class:`S3Error`. The tree::

    S3Error                      root; carries uri, bucket, key, region, code, status, attempts
    ├── S3UriError               the text is not an S3 URI we can read (also a ValueError)
    ├── S3AuthError              no, invalid or expired credentials; access denied
    ├── S3NotFound               no such bucket, key or version
    ├── S3RateLimit              throttling that outlasted the retries
    ├── S3RegionError            the bucket lives in another region than the one asked
    ├── S3NetworkError           unreachable endpoint, timeouts, connections that keep failing
    ├── S3FormatError            bytes that do not parse as the format; unsupported format
    ├── S3TooLarge               the load would not fit in the memory available (also a MemoryError)
    ├── S3CacheError             a local cache directory that other users could write into
    ├── S3ArchivedError          objects archived in Glacier or Deep Archive, to restore before reading
    └── S3GenericError           any other S3 error

Classes are chosen from the S3 error code (:data:`CODE_CLASSES`) and, failing that, from the HTTP
status (:data:`STATUS_CLASSES`); never from message text. What each code means and how to fix it lives
in :mod:`dreambolt_magic.explain`.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CODE_CLASSES",
    "STATUS_CLASSES",
    "S3ArchivedError",
    "S3AuthError",
    "S3CacheError",
    "S3Error",
    "S3FormatError",
    "S3GenericError",
    "S3NetworkError",
    "S3NotFound",
    "S3RateLimit",
    "S3RegionError",
    "S3TooLarge",
    "S3UriError",
    "class_for",
]


class S3Error(Exception):
    """Root of every error the loader raises.

    The context is keyword-only and every field may be ``None`` where it is not known. ``explanation``
    and ``remedy`` say, in words, what happened and what to do; ``_repr_html_`` shows both in Jupyter.
    """

    #: The message when none is given; formatted with the error's fields.
    fmt = "the S3 request for {where} failed"
    #: A short human title, shown as the heading of the explanation.
    title = "S3 request failed"

    def __init__(
        self,
        message: str | None = None,
        *,
        uri: str | None = None,
        bucket: str | None = None,
        key: str | None = None,
        region: str | None = None,
        code: str | None = None,
        status: int | None = None,
        attempts: int | None = None,
        request_id: str | None = None,
        endpoint: str | None = None,
        operation: str | None = None,
        detail: str | None = None,
        hints: dict[str, Any] | None = None,
    ) -> None:
        self.uri = uri
        self.bucket = bucket
        self.key = key
        self.region = region
        self.code = code
        self.status = status
        self.attempts = attempts
        self.request_id = request_id
        self._endpoint: str | None = None
        self.endpoint = endpoint
        self.operation = operation
        #: The server's or parser's own words, kept for the details section (never shown as the cause).
        self.detail = detail
        #: Extra facts the explanation may use (e.g. ``{"available": [...]}``, ``{"profile": "dev"}``).
        self.hints: dict[str, Any] = dict(hints or {})
        #: Set by a front end once it has shown the rich explanation, so the traceback stays one line.
        self.displayed = False
        self._message = message
        super().__init__(message)

    @property
    def endpoint(self) -> str | None:
        """The S3-compatible endpoint the request went to, never with a ``user:password@`` part."""
        return self._endpoint

    @endpoint.setter
    def endpoint(self, value: str | None) -> None:
        from dreambolt_magic.uri import public_endpoint  # uri.py imports this module

        self._endpoint = public_endpoint(value)

    @property
    def where(self) -> str:
        if self.uri:
            return self.uri
        if self.bucket:
            return f"s3://{self.bucket}/{self.key or ''}"
        return "the object"

    @property
    def summary(self) -> str:
        """What failed, in one line, without the code and status."""
        return self._message or self.fmt.format(where=self.where, **self._fields())

    @property
    def message(self) -> str:
        """One line: what failed, with the S3 code and HTTP status where known."""
        text = self.summary
        tags = [t for t in (self.code, f"HTTP {self.status}" if self.status else None) if t]
        if tags and not any(t in text for t in tags):
            text = f"{text} ({', '.join(tags)})"
        return text

    def _fields(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket,
            "key": self.key,
            "region": self.region,
            "code": self.code,
            "status": self.status,
            "attempts": self.attempts,
        }

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"

    @property
    def explanation(self) -> str:
        """What happened, in words, from the error's code and fields."""
        from dreambolt_magic import explain

        return explain.explanation(self)

    @property
    def remedy(self) -> str:
        """What to do about it: a concrete next step."""
        from dreambolt_magic import explain

        return explain.remedy(self)

    def _repr_html_(self) -> str:
        from dreambolt_magic import explain

        return explain.render_html(self)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        from dreambolt_magic import explain

        p.text(explain.render_text(self))

    def _render_traceback_(self) -> list[str]:
        # IPython calls this instead of printing a traceback: the explanation is what helps here. Once a
        # front end has displayed it richly, the cell still fails (Run All stops) with one short line that
        # repeats none of it: JupyterLab shows "Name: message" for an error without a traceback, which would.
        from dreambolt_magic import explain

        if self.displayed:
            return [f"{type(self).__name__}: the load failed, as explained above; nothing was bound."]
        return explain.render_text(self).splitlines()


class S3UriError(S3Error, ValueError):
    fmt = "not an S3 URI we can read: {where}"
    title = "Not a valid S3 URI"


class S3AuthError(S3Error):
    fmt = "S3 refused the credentials or the access for {where}"
    title = "Access refused"


class S3NotFound(S3Error):
    fmt = "{where} was not found"
    title = "Not found"


class S3RateLimit(S3Error):
    fmt = "S3 kept throttling the requests for {where} after {attempts} attempts"
    title = "Throttled by S3"


class S3RegionError(S3Error):
    fmt = "S3 sent the request for {where} to another region than {region}"
    title = "Wrong region"


class S3NetworkError(S3Error):
    fmt = "could not reach S3 for {where}"
    title = "Network problem"


class S3FormatError(S3Error):
    fmt = "{where} could not be read in the format asked"
    title = "Cannot read the file"


class S3TooLarge(S3Error, MemoryError):
    fmt = "{where} is too large to load into the memory available"
    title = "Too large for memory"


class S3CacheError(S3Error):
    fmt = "the cache directory cannot be used for {where}"
    title = "Cache directory not private"


class S3ArchivedError(S3Error):
    fmt = "{where} is archived and must be restored before it can be read"
    title = "Archived: restore it first"


class S3GenericError(S3Error):
    fmt = "S3 answered with an error for {where}"
    title = "S3 error"


#: S3 error codes (and the loader's own codes for client-side conditions) → the class that reports them.
CODE_CLASSES: dict[str, type[S3Error]] = {
    # Credentials and permissions.
    "AccessDenied": S3AuthError,
    "AllAccessDisabled": S3AuthError,
    "AccountProblem": S3AuthError,
    "InvalidAccessKeyId": S3AuthError,
    "SignatureDoesNotMatch": S3AuthError,
    "ExpiredToken": S3AuthError,
    "InvalidToken": S3AuthError,
    "TokenRefreshRequired": S3AuthError,
    "RequestTimeTooSkewed": S3AuthError,
    "NoCredentials": S3AuthError,
    "ProfileNotFound": S3AuthError,
    "SSOTokenExpired": S3AuthError,
    "CredentialsError": S3AuthError,
    "ConfigFileError": S3AuthError,
    "IDPCommunicationError": S3AuthError,
    # Missing things.
    "NoSuchBucket": S3NotFound,
    "NoSuchKey": S3NotFound,
    "NoSuchVersion": S3NotFound,
    "NoMatchingObjects": S3NotFound,
    "NoSuchTableVersion": S3NotFound,
    # Throttling.
    "SlowDown": S3RateLimit,
    "ServiceUnavailable": S3RateLimit,
    "Throttling": S3RateLimit,
    "ThrottlingException": S3RateLimit,
    "ThrottledException": S3RateLimit,
    "RequestThrottled": S3RateLimit,
    "RequestLimitExceeded": S3RateLimit,
    "TooManyRequestsException": S3RateLimit,
    "BandwidthLimitExceeded": S3RateLimit,
    "RequestThrottledException": S3RateLimit,
    "ProvisionedThroughputExceededException": S3RateLimit,
    "EC2ThrottledException": S3RateLimit,
    "PriorRequestNotComplete": S3RateLimit,
    # Region.
    "PermanentRedirect": S3RegionError,
    "AuthorizationHeaderMalformed": S3RegionError,
    "IllegalLocationConstraintException": S3RegionError,
    "TemporaryRedirect": S3RegionError,
    # Network (the loader's codes for failures below HTTP).
    "EndpointConnectionError": S3NetworkError,
    "ConnectTimeout": S3NetworkError,
    "ReadTimeout": S3NetworkError,
    "ConnectionClosed": S3NetworkError,
    "IncompleteBody": S3NetworkError,
    "TooSlow": S3NetworkError,
    "ChecksumMismatch": S3NetworkError,
    "RequestTimeout": S3NetworkError,
    "RequestTimeoutException": S3NetworkError,
    # Format (the loader's codes).
    "UnsupportedFormat": S3FormatError,
    "UnknownFormat": S3FormatError,
    "ParseError": S3FormatError,
    "FormatMismatch": S3FormatError,
    "BadCompression": S3FormatError,
    "CompressionOption": S3FormatError,
    "EmptyObject": S3FormatError,
    "MissingColumns": S3FormatError,
    "BadEncoding": S3FormatError,
    "MissingSheet": S3FormatError,
    "UnknownOption": S3FormatError,
    "MissingPackage": S3FormatError,
    "ArchiveMembers": S3FormatError,
    "SchemaMismatch": S3FormatError,
    "ColumnClash": S3FormatError,
    "BadFilter": S3FormatError,
    "DeltaTable": S3FormatError,
    "IcebergTable": S3FormatError,
    "TableReaderMissing": S3FormatError,
    "BadTable": S3FormatError,
    "UnsupportedTable": S3FormatError,
    "NotATable": S3FormatError,
    # Memory (the loader's code).
    "TooLarge": S3TooLarge,
    "OutOfMemory": S3TooLarge,
    # The local cache (the loader's code).
    "CacheNotPrivate": S3CacheError,
    # Archived objects: a GET S3 refuses, and the loader's code for a set's archived objects.
    "InvalidObjectState": S3ArchivedError,
    "ArchivedObjects": S3ArchivedError,
    # URI.
    "InvalidUri": S3UriError,
    "InvalidBucketName": S3UriError,
    "InvalidArn": S3UriError,
    "ArnWithEndpoint": S3UriError,
    # Everything else that we still explain specifically.
    "InternalError": S3GenericError,
    "PreconditionFailed": S3GenericError,
    "ObjectChanged": S3GenericError,
    "InvalidRange": S3GenericError,
    "EndlessListing": S3GenericError,
    "NotImplemented": S3GenericError,
    # A package botocore needs for the request (the loader's code).
    "NeedsCRT": S3GenericError,
}

#: When the code is unknown (HEAD answers have no body), the HTTP status decides.
STATUS_CLASSES: dict[int, type[S3Error]] = {
    301: S3RegionError,
    307: S3RegionError,
    401: S3AuthError,
    403: S3AuthError,
    404: S3NotFound,
    429: S3RateLimit,
    503: S3RateLimit,
}


def class_for(code: str | None, status: int | None) -> type[S3Error]:
    """The error class for an S3 error code, else for an HTTP status, else :class:`S3GenericError`."""
    if code and code in CODE_CLASSES:
        return CODE_CLASSES[code]
    if status is not None:
        if status in STATUS_CLASSES:
            return STATUS_CLASSES[status]
        if status >= 500:
            return S3GenericError
    return S3GenericError
