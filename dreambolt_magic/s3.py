"""The loader: an S3 URI in, a pandas DataFrame out.

``load()`` parses the URI, finds the credentials and the bucket's region, downloads the object with one
retry policy of ours (resuming a body that breaks mid-way), checks and parses the bytes, and records where
the frame came from in ``df.attrs["s3"]``. Every botocore exception is translated into one of ours here,
at the boundary, once (see :func:`translate`); nothing else in the package handles botocore's errors.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import botocore.exceptions as bce
import botocore.loaders
import botocore.session
from botocore import UNSIGNED
from botocore.config import Config

from dreambolt_magic import readers
from dreambolt_magic.errors import (
    S3AuthError,
    S3Error,
    S3GenericError,
    S3NetworkError,
    S3RegionError,
    S3UriError,
    class_for,
)
from dreambolt_magic.progress import CancelFlag, NoProgress, Progress, TqdmProgress, check_cancel
from dreambolt_magic.regions import bucket_region_from, detect_region, region_cache
from dreambolt_magic.retry import RetryPolicy
from dreambolt_magic.uri import S3Uri, parse

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["load", "parse_uri", "summarize", "translate"]

DEFAULT_REGION = "us-east-1"
# A read that times out loses what it had read, so reads are not made too large.
CHUNK = 1 << 18
#: With a cancel flag, the body is read in slices this small, so a check comes at least every 64 KiB.
CANCEL_CHUNK = 64 << 10


def parse_uri(text: str) -> S3Uri:
    """Parse ``s3://bucket/key`` (or an ``s3a://``, virtual-hosted or path-style https URL) into an S3Uri."""
    return parse(text)


def load(
    uri: str | S3Uri,
    *,
    format: str | None = None,
    columns: Sequence[str] | str | None = None,
    nrows: int | None = None,
    region: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
    anon: bool = False,
    max_attempts: int = 5,
    progress: bool | Progress = True,
    unsigned_fallback: bool = True,
    connect_timeout: float = 10.0,
    read_timeout: float = 60.0,
    cancel: CancelFlag | None = None,
    **read_options: Any,
) -> pd.DataFrame:
    """Load one S3 object into a pandas DataFrame.

    Parameters
    ----------
    uri:
        ``s3://bucket/key``, ``s3a://...``, ``https://bucket.s3.REGION.amazonaws.com/key``, a path-style
        URL, or any of these with ``?versionId=...``.
    format:
        ``parquet``, ``csv``, ``tsv``, ``json``, ``jsonl`` or ``feather``; by default taken from the key's
        extension (compression ``.gz``, ``.bz2``, ``.xz``, ``.zst`` too), else sniffed from the bytes.
    columns, nrows:
        Read only these columns (a list, or ``"a,b"``) and only the first ``nrows`` rows.
    region:
        Sign for this region. By default: a region in the URL, else the bucket's own region as S3 reports
        it (cached per bucket).
    profile, endpoint_url, anon:
        A named AWS profile; an S3-compatible endpoint (``AWS_ENDPOINT_URL_S3`` and ``AWS_ENDPOINT_URL``
        are honoured too); unsigned requests, for public buckets.
    max_attempts:
        Attempts per request, with exponential backoff and full jitter between them.
    progress:
        ``True`` for a tqdm bar (a widget in Jupyter), ``False`` for none, or a :class:`Progress`.
    unsigned_fallback:
        With no credentials configured at all, try the object unsigned once (it may be public).
    connect_timeout, read_timeout:
        Seconds before a connection attempt, or a read that receives nothing, counts as failed.
    cancel:
        A ``threading.Event`` (or anything with ``is_set()`` and ``wait()``); once it is set the load
        stops at the next check (between 64 KiB slices of the body, between attempts, during backoff
        waits) and raises :class:`~dreambolt_magic.progress.Cancelled`.
    read_options:
        Passed to the parser (e.g. ``sep=";"``, ``encoding="latin-1"`` for CSV).

    Raises
    ------
    S3Error
        One of its subclasses, with ``explanation`` and ``remedy``; nothing partial is returned.
    """
    started = time.monotonic()
    target = uri if isinstance(uri, S3Uri) else parse_uri(uri)
    cols = _columns(columns)
    if nrows is not None and (isinstance(nrows, bool) or not isinstance(nrows, int) or nrows < 0):
        raise ValueError(f"nrows must be a whole number of at least 0, not {nrows!r}")
    policy = RetryPolicy(max_attempts=max_attempts, sleep=_cancellable_sleep(cancel))
    bar = _progress(progress)
    endpoint = endpoint_url or target.endpoint or _endpoint_from_env()
    context = {"uri": str(target), "bucket": target.bucket, "key": target.key, "endpoint": endpoint}
    try:
        if format is not None:
            format = readers.normalize_format(format, key=target.key)  # before any download
        bar.start(None, target.name)
        conn = Connection.open(
            profile=profile,
            endpoint_url=endpoint,
            anon=anon,
            unsigned_fallback=unsigned_fallback,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
        )
        chosen = region or target.region or _bucket_region(conn, target.bucket, policy, bar)
        context["region"] = chosen
        transfer = _Transfer(target, bar, cancel)
        chosen = _fetch(conn, transfer, chosen, policy, bar, explicit=bool(region or target.region))
        context["region"] = chosen
        check_cancel(cancel)
        frame = readers.read(transfer.data, key=target.key, format=format, columns=cols, nrows=nrows,
                             **read_options)
    except S3Error as exc:
        bar.finish(ok=False)
        _fill(exc, context)
        raise
    except BaseException:
        bar.finish(ok=False)
        raise
    bar.finish(ok=True)
    frame.attrs["s3"] = {
        "uri": str(target),
        "bucket": target.bucket,
        "key": target.key,
        "region": chosen,
        "endpoint": conn.endpoint_url,
        "etag": transfer.etag,
        "version_id": transfer.version_id,
        "last_modified": transfer.last_modified,
        "size": transfer.size,
        "bytes_fetched": transfer.fetched,
        "attempts": transfer.attempts,
        "signed": conn.signed,
        "unsigned_reason": conn.unsigned_reason,
        "elapsed": round(time.monotonic() - started, 6),
    }
    return frame


def summarize(frame: pd.DataFrame) -> str:
    """One line about a loaded frame: rows x columns, bytes, elapsed, MB/s, region, how it was signed."""
    info = frame.attrs.get("s3", {})
    size = info.get("bytes_fetched") or 0
    elapsed = info.get("elapsed") or 0.0
    rate = f"{size / elapsed / 1e6:,.1f} MB/s" if elapsed > 0 else "n/a"
    rows, cols = frame.shape
    parts = [
        f"{rows:,} rows x {cols:,} columns",
        _human_bytes(size),
        f"{elapsed:.2f} s",
        rate,
        f"region {info.get('region') or 'unknown'}",
    ]
    if info.get("signed") is False:
        parts.append(f"unsigned ({info.get('unsigned_reason')})")
    if (info.get("attempts") or 1) > 1:
        parts.append(f"{info['attempts']} attempts")
    return f"Loaded {info.get('uri', 'the object')}: " + " · ".join(parts)


# --- credentials and clients -------------------------------------------------------------------------


@dataclass
class Connection:
    """A botocore session with the settings of one load; makes a client per region."""

    session: botocore.session.Session
    endpoint_url: str | None
    signed: bool
    unsigned_reason: str | None
    config: Config
    profile: str | None
    unsigned_fallback: bool
    clients: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def open(
        cls,
        *,
        profile: str | None,
        endpoint_url: str | None,
        anon: bool,
        unsigned_fallback: bool,
        connect_timeout: float,
        read_timeout: float,
    ) -> Connection:
        # A botocore session (boto3's adds nothing we use): credentials and config are read afresh for
        # every load; the service model, ~0.2 s to parse, comes from one loader shared by all.
        session = botocore.session.get_session()
        session.register_component("data_loader", _shared_loader())
        if profile:
            available = sorted(session.available_profiles)
            if profile not in available:
                raise S3AuthError(
                    f"the AWS profile {profile!r} is not configured",
                    code="ProfileNotFound",
                    hints={"profile": profile, "available": available},
                )
            session.set_config_variable("profile", profile)
        signed, reason = True, None
        if anon:
            signed, reason = False, "anonymous access was asked for"
        else:
            try:
                credentials = session.get_credentials()
            except bce.BotoCoreError as exc:
                raise translate(exc, profile=profile) from exc
            if credentials is None:
                if not unsigned_fallback:
                    raise S3AuthError(
                        "no AWS credentials were found",
                        code="NoCredentials",
                        hints={"profile": profile, "unsigned_tried": False},
                    )
                signed, reason = False, "no credentials were found"
        config = Config(
            # One layer of retries: ours. botocore's would multiply with it.
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            signature_version=None if signed else UNSIGNED,
            s3={"addressing_style": "path"} if endpoint_url else {},
            user_agent_extra="dreambolt_magic",
        )
        return cls(session, endpoint_url, signed, reason, config, profile, unsigned_fallback)

    def client(self, region: str) -> Any:
        client = self.clients.get(region)
        if client is None:
            client = self.session.create_client(
                "s3", region_name=region, endpoint_url=self.endpoint_url, config=self.config
            )
            # botocore follows a region redirect silently and never says where it went; we follow it
            # ourselves, so the region we report is the region we used.
            client.meta.events.register("before-call.s3", _no_botocore_redirect)
            self.clients[region] = client
        return client

    @property
    def default_region(self) -> str:
        return self.session.get_config_variable("region") or DEFAULT_REGION


@cache
def _shared_loader() -> botocore.loaders.Loader:
    """One botocore data loader for the process: it caches the S3 service model (~0.2 s to parse)."""
    return botocore.loaders.create_loader()


def _no_botocore_redirect(context: dict[str, Any], **_: Any) -> None:
    # Both flags botocore's redirectors read: "already redirected, do not redirect again".
    context["s3_redirected"] = True
    context.setdefault("s3_redirect", {})["redirected"] = True


def _endpoint_from_env() -> str | None:
    # botocore would read these itself, but we need the endpoint to key the region cache and to report it.
    import os

    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None


# --- region --------------------------------------------------------------------------------------------


def _bucket_region(conn: Connection, bucket: str, policy: RetryPolicy, bar: Progress) -> str:
    cached = region_cache.get(conn.endpoint_url, bucket)
    if cached:
        return cached
    client = conn.client(conn.default_region)

    def attempt(_: int) -> tuple[str | None, int | None]:
        try:
            return detect_region(client, bucket)
        except (bce.BotoCoreError, bce.ClientError) as exc:
            raise translate(exc, bucket=bucket, operation="HeadBucket", conn=conn) from exc

    found, status = policy.call(attempt, classify=_classify, on_retry=_on_retry(policy, bar))
    if found:
        region_cache.set(conn.endpoint_url, bucket, found)
        return found
    if status == 404:
        # HeadBucket answers have no body; this one means the bucket does not exist.
        raise class_for("NoSuchBucket", 404)(code="NoSuchBucket", status=404, bucket=bucket,
                                              operation="HeadBucket")
    return conn.default_region


# --- download ------------------------------------------------------------------------------------------


class _Transfer:
    """One object's bytes, written into one buffer; resumes from where a broken body stopped."""

    def __init__(self, target: S3Uri, bar: Progress, cancel: CancelFlag | None = None) -> None:
        self.target = target
        self.bar = bar
        self.cancel = cancel
        self.step = CHUNK if cancel is None else CANCEL_CHUNK
        self.buffer: bytearray | None = None
        self.received = 0
        self.size: int | None = None
        self.etag: str | None = None
        self.version_id: str | None = target.version_id
        self.last_modified: str | None = None
        self.fetched = 0
        self.attempts = 0
        self.restarted = False

    @property
    def data(self) -> memoryview:
        assert self.buffer is not None
        return memoryview(self.buffer)[: self.received]

    def run(self, client: Any) -> None:
        check_cancel(self.cancel)
        self.attempts += 1
        params: dict[str, Any] = {"Bucket": self.target.bucket, "Key": self.target.key}
        if self.target.version_id:
            params["VersionId"] = self.target.version_id
        resuming = self.buffer is not None and 0 < self.received and self.size is not None
        if resuming:
            params["Range"] = f"bytes={self.received}-{self.size - 1}"  # type: ignore[operator]
            if self.etag:
                params["IfMatch"] = self.etag
        try:
            response = client.get_object(**params)
        except bce.ClientError as exc:
            if resuming and exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 412:
                self._object_changed()
                return self.run(client)
            raise
        status = response["ResponseMetadata"]["HTTPStatusCode"]
        if self.buffer is not None and (not resuming or status == 200):
            # A whole object again (no size to resume against, or the server ignored the Range).
            self.bar.rewind(self.received)
            self.received = 0
            if self.size is None:
                self.buffer = bytearray()
        if self.buffer is None:
            self._begin(response)
        self._stream(response["Body"])
        if self.size is None:
            self._verify_length(client)

    def _verify_length(self, client: Any) -> None:
        # Without a Content-Length a body that ends early looks complete: ask for the size it should have.
        params: dict[str, Any] = {"Bucket": self.target.bucket, "Key": self.target.key}
        if self.version_id:
            params["VersionId"] = self.version_id
        expected = client.head_object(**params).get("ContentLength")
        if expected is not None and expected != self.received:
            raise bce.IncompleteReadError(actual_bytes=self.received, expected_bytes=expected)

    def _begin(self, response: dict[str, Any]) -> None:
        self.size = response.get("ContentLength")
        self.etag = response.get("ETag")
        self.version_id = response.get("VersionId") or self.version_id
        modified = response.get("LastModified")
        self.last_modified = modified.isoformat() if isinstance(modified, datetime) else modified
        self.buffer = bytearray(self.size or 0)
        self.bar.start(self.size, self.target.name)

    def _stream(self, body: Any) -> None:
        with contextlib.closing(body):
            if self.size is None:
                # No Content-Length: read to the end, growing the buffer.
                assert self.buffer is not None
                while chunk := body.read(self.step):
                    self.buffer.extend(chunk)
                    self._count(len(chunk))
                    check_cancel(self.cancel)
                return
            assert self.buffer is not None
            view = memoryview(self.buffer)
            while self.received < self.size:
                check_cancel(self.cancel)
                n = body.readinto(view[self.received : min(self.received + self.step, self.size)])
                if not n:
                    raise bce.IncompleteReadError(actual_bytes=self.received, expected_bytes=self.size)
                self._count(n)

    def _count(self, n: int) -> None:
        self.received += n
        self.fetched += n
        self.bar.advance(n)

    def _object_changed(self) -> None:
        if self.restarted:
            raise S3GenericError(
                "the object changed twice while it was being downloaded",
                code="ObjectChanged",
                status=412,
            )
        self.restarted = True
        self.bar.rewind(self.received)
        self.buffer, self.received, self.size, self.etag = None, 0, None, None


def _fetch(
    conn: Connection, transfer: _Transfer, region: str, policy: RetryPolicy, bar: Progress, *,
    explicit: bool,
) -> str:
    """Download with retries; follow one region redirect. Returns the region that answered."""
    redirected = False
    while True:
        client = conn.client(region)

        def attempt(_: int, client: Any = client, region: str = region) -> None:
            try:
                transfer.run(client)
            except (bce.BotoCoreError, bce.ClientError) as exc:
                raise translate(exc, region=region, operation="GetObject", conn=conn) from exc

        try:
            policy.call(attempt, classify=_classify, on_retry=_on_retry(policy, bar))
            return region
        except S3RegionError as exc:
            named = exc.hints.get("bucket_region")
            if redirected or not named or named == region:
                raise
            # S3 named the bucket's region: follow once, and remember it.
            redirected = True
            region_cache.set(conn.endpoint_url, transfer.target.bucket, named)
            region = named
            if explicit:
                exc.hints["explicit_region"] = True
        except S3AuthError as exc:
            if conn.signed or conn.unsigned_reason != "no credentials were found":
                raise
            # The unsigned try of an object that turned out not to be public.
            raise S3AuthError(
                "no AWS credentials were found, and the object is not public",
                code="NoCredentials",
                status=exc.status,
                hints={"profile": conn.profile, "unsigned_tried": True, "server_code": exc.code},
            ) from exc


def _classify(exc: BaseException) -> tuple[str | None, int | None] | None:
    if isinstance(exc, S3Error):
        return exc.code, exc.status
    return None


def _on_retry(policy: RetryPolicy, bar: Progress) -> Callable[[int, BaseException, float], None]:
    def report(attempt: int, exc: BaseException, wait: float) -> None:
        reason = getattr(exc, "code", None) or type(exc).__name__
        bar.retrying(attempt, policy.max_attempts, reason, wait)

    return report


# --- translation of botocore's exceptions ---------------------------------------------------------------

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
        if conn is not None and not conn.signed:
            hints["unsigned"] = True
        return class_for(code, status)(
            code=code,
            status=status,
            request_id=meta.get("RequestId"),
            detail=error.get("Message"),
            hints=hints,
            **common,
        )
    for kind, code in _CREDENTIAL_CODES:
        if isinstance(exc, kind):
            return S3AuthError(code=code, detail=type(exc).__name__, hints={"profile": profile}, **common)
    for kind, code in _NETWORK_CODES:
        if isinstance(exc, kind):
            return S3NetworkError(code=code, detail=type(exc).__name__, **common)
    if isinstance(exc, bce.ParamValidationError):
        return S3UriError(str(exc.kwargs.get("report", "")).strip() or None, code="InvalidUri", **common)
    return S3GenericError(detail=f"{type(exc).__name__}", **common)


# --- small helpers -------------------------------------------------------------------------------------


def _columns(columns: Sequence[str] | str | None) -> list[str] | None:
    if columns is None:
        return None
    names = columns.split(",") if isinstance(columns, str) else list(columns)
    names = [n.strip() for n in names]
    if not names or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"columns must name at least one column, e.g. 'a,b', not {columns!r}")
    return names


def _cancellable_sleep(cancel: CancelFlag | None) -> Callable[[float], None]:
    """The backoff wait: ``time.sleep``, or with a cancel flag a wait that ends as soon as it is set."""
    if cancel is None:
        return time.sleep

    def wait(seconds: float) -> None:
        cancel.wait(seconds)
        check_cancel(cancel)

    return wait


def _progress(progress: bool | Progress) -> Progress:
    if progress is True:
        return TqdmProgress()
    if progress is False or progress is None:
        return NoProgress()
    return progress


def _fill(exc: S3Error, context: dict[str, Any]) -> None:
    for name, value in context.items():
        if getattr(exc, name, None) is None:
            setattr(exc, name, value)


def _human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n:,.1f} TB"  # pragma: no cover
