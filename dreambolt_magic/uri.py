"""Turn the text a user typed into an :class:`S3Uri`, or say exactly what is wrong with it.

Accepted: ``s3://``, ``s3a://`` and ``s3n://`` URIs, whose key is taken literally, and ``http(s)://`` URLs,
whose path is percent-decoded: AWS virtual-hosted and path-style hosts, or any other host as the endpoint
of an S3-compatible store. Pure: no I/O, no boto3.

A bucket may be named by an access point alias (``...-s3alias``, ``...--ol-s3``), which AWS accepts wherever
a bucket name goes, or be a directory bucket (S3 Express One Zone, ``base--ZONE-ID--x-s3``), whose name fixes
its region: the zone's (:func:`named_region`). In an ``s3://`` URI the bucket may also be an access point's
ARN, which botocore takes as the ``Bucket`` of any request: ``s3://arn:aws:s3:REGION:ACCOUNT:accesspoint/NAME/key``
(``arn:aws:s3-object-lambda:...`` for an Object Lambda access point, ``arn:aws:s3::ACCOUNT:accesspoint/ALIAS.mrap``
for a Multi-Region Access Point, which has no region). The bucket is then the ARN up to the access point's
name (:func:`access_point` reads it back), and the region the ARN's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

from dreambolt_magic.arns import (
    ARN_FORMS,
    REGION_PATTERN,
    AccessPoint,
    access_point,
    bucket_arn_path,
    split_arn,
    uri_for_arn,
)
from dreambolt_magic.errors import S3UriError

__all__ = ["GLOB", "AccessPoint", "S3Uri", "access_point", "is_directory_bucket", "is_many", "is_pattern",
           "named_region", "parse", "parse_set", "public_endpoint"]

_EXAMPLE = "s3://bucket/path/to/file.parquet"
_MAX_KEY_BYTES = 1024
_S3_SCHEMES = frozenset({"s3", "s3a", "s3n"})
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):(.*)", re.DOTALL)
# Only a last ?-part that is exactly one versionId is taken from an s3:// URI; any other '?' is in the key.
_VERSION = re.compile(r"\?versionId=([^?&]*)\Z")
_REGION = REGION_PATTERN
_AWS_HOST = re.compile(
    rf"(?:(?P<bucket>.+)\.)?s3(?:(?P<external>-external-1)|(?:\.dualstack\.|[.-])(?P<region>{_REGION}))?"
    r"\.amazonaws\.com(?:\.cn)?"
)
_AWS_DOMAIN = re.compile(r"(?:.+\.)?amazonaws\.com(?:\.cn)?")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IP_LIKE = re.compile(r"\d+\.\d+\.\d+\.\d+")
_DIRECTORY_SUFFIX = "--x-s3"
# A zone ID has no "--" in it, so the last "--"-separated part before the suffix is the zone.
_DIRECTORY = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?--(?P<zone>[a-z0-9]+(?:-[a-z0-9]+)+)--x-s3")
# A zone ID starts with its region's short form: use1 us-east-1, apne1 ap-northeast-1, usgw1 us-gov-west-1.
_ZONE_REGION = re.compile(r"(?P<area>[a-z]{2})(?P<gov>g?)(?P<way>ne|nw|se|sw|n|s|e|w|c)(?P<number>\d+)")
# A URL's user info: everything up to the last "@" before the path, query or fragment (as urlsplit reads it).
_USER_INFO = re.compile(r"\A([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@")
_WAYS = {"n": "north", "s": "south", "e": "east", "w": "west", "c": "central", "ne": "northeast",
         "nw": "northwest", "se": "southeast", "sw": "southwest"}


@dataclass(frozen=True)
class S3Uri:
    """An S3 object: bucket and key, with what the URL said about where and which version to read.

    ``bucket`` is a bucket's name or alias, or an access point's ARN. ``region`` is the region the bucket fixes
    (:func:`named_region`), else one named in an AWS URL (a hint, not a fact about the bucket);
    ``endpoint`` is ``scheme://host[:port]`` of a non-AWS, S3-compatible store. ``str()`` gives the canonical
    ``s3://`` form.
    """

    bucket: str
    key: str
    region: str | None = None
    version_id: str | None = None
    endpoint: str | None = None

    def __str__(self) -> str:
        version = f"?versionId={self.version_id}" if self.version_id else ""
        return f"s3://{self.bucket}/{self.key}{version}"

    @property
    def name(self) -> str:
        """The last segment of the key (``""`` for a key ending in ``/``)."""
        return self.key.rpartition("/")[2]


def parse(text: str) -> S3Uri:
    """Parse an ``s3://`` URI or an S3 ``http(s)://`` URL.

    Surrounding whitespace and one pair of matching quotes are removed first. Raises
    :class:`~dreambolt_magic.errors.S3UriError` (code ``InvalidUri``, ``InvalidBucketName`` or, for an access
    point ARN that is not one, ``InvalidArn``) with a message that names the problem and what to write instead.
    """
    if not isinstance(text, str):
        raise S3UriError(f"expected the URI as text, got {type(text).__name__}; write '{_EXAMPLE}'",
                         code="InvalidUri")
    uri = text.strip()
    if len(uri) >= 2 and uri[0] == uri[-1] and uri[0] in "'\"":
        uri = uri[1:-1].strip()
    if not uri:
        raise _error(f"the URI is empty; write {_EXAMPLE}", text)
    match = _SCHEME.match(uri)
    if match is None:
        tail = uri.lstrip("/")
        tail += "" if "/" in tail else "/path/to/file.parquet"
        raise _error(f"{uri} has no scheme; write s3://{tail}", text)
    scheme, rest = match[1].lower(), match[2]
    if scheme == "arn":
        raise _error(f"{uri} is an ARN, not a URI; write {uri_for_arn(uri) or _EXAMPLE}", text, code="InvalidArn")
    if scheme in _S3_SCHEMES:
        return _parse_s3(uri, match[1], rest, text)
    if scheme in ("http", "https"):
        return _parse_http(uri, text)
    raise _error(f"{uri} is a {match[1]}: URI, but only s3:// (or s3a://, s3n://) URIs and S3 http(s) URLs "
                 f"can be read; if the object is in S3, write s3://{rest.lstrip('/')}", text)


#: The one wildcard a key may hold: ``*`` (any run of characters but ``/``; ``**`` crosses folders).
GLOB = "*"


def parse_set(text: str) -> S3Uri:
    """:func:`parse`, also for ``s3://bucket/``: the whole bucket, a prefix of ``""`` (which :func:`parse`
    refuses as a URI without a key)."""
    try:
        return parse(text)
    except S3UriError as exc:
        stripped = text.strip()
        if exc.code == "InvalidUri" and exc.bucket and stripped.endswith("/"):
            return replace(parse(stripped + "_"), key="")
        raise


def is_many(uri: object) -> bool:
    """Whether ``uri`` names a set of objects: a list or tuple, or text whose key has a ``*`` or ends in ``/``."""
    if isinstance(uri, (list, tuple)):
        return True
    if not isinstance(uri, str):
        return False
    try:
        target = parse_set(uri)
    except S3UriError:
        return False
    return is_pattern(target.key)


def is_pattern(key: str) -> bool:
    """A key that names several objects: a glob, a whole bucket, or a prefix ending in ``/``."""
    return GLOB in key or key == "" or key.endswith("/")


def _parse_s3(uri: str, scheme: str, rest: str, text: str) -> S3Uri:
    body = rest.lstrip("/")
    if not body:
        raise _error(f"{uri} names no bucket and no key; write {_EXAMPLE}", text)
    slashes = len(rest) - len(body)
    if slashes != 2:
        count = {0: "no slashes", 1: "one slash"}.get(slashes, f"{slashes} slashes")
        raise _error(f"{uri} has {count} after '{scheme}:'; write {scheme}://{body}", text)
    version = None
    found = _VERSION.search(body)
    if found:
        version, body = found[1], body[: found.start()]
        if not version:
            raise _error(f"{uri} has an empty versionId; give the version after 'versionId=' or drop "
                         f"'?versionId='", text)
    if body.startswith("arn:"):
        point, key = _arn_and_key(body, uri, scheme, text)
        _check_key(key, uri, text, f"{scheme}://{point.arn}", point.arn, what="an access point")
        return S3Uri(point.arn, key, region=named_region(point.arn), version_id=version)
    bucket, _, key = body.partition("/")
    _check_bucket(bucket, uri, text)
    _check_key(key, uri, text, f"{scheme}://{bucket}", bucket)
    return S3Uri(bucket, key, region=named_region(bucket), version_id=version)


def _arn_and_key(body: str, uri: str, scheme: str, text: str) -> tuple[AccessPoint, str]:
    """The access point whose ARN starts ``body``, and the key after it."""
    path = bucket_arn_path(body)
    if path is not None:
        raise _error(f"{uri} holds a bucket's ARN, not an access point's; write {scheme}://{path}", text,
                     code="InvalidArn")
    try:
        return split_arn(body)
    except ValueError as exc:
        raise _error(f"{uri} does not hold an access point ARN that can be read: {exc}; write "
                     f"{scheme}://{ARN_FORMS}", text, code="InvalidArn") from None


def _parse_http(uri: str, text: str) -> S3Uri:
    try:
        parts = urlsplit(uri)
    except ValueError:  # a malformed [IPv6] host; the query is dropped from the message as it may be secret
        raise _error(f"{uri.partition('?')[0]} has a malformed host; write {_EXAMPLE}", text) from None
    # Presigned URLs carry credentials: never echo query values or user info, not even in the error's uri.
    shown = _redacted(parts)
    safe = text if shown == uri else shown
    if "@" in parts.netloc:
        raise _error(f"{shown} has a user name or password in it; remove them from the URL and give the "
                     f"credentials through an AWS profile or environment variables", safe)
    host = parts.hostname
    if not host:
        raise _error(f"{shown} names no host; write https://bucket.s3.amazonaws.com/key or {_EXAMPLE}", safe)
    try:
        port_ok = parts.port is not None or not parts.netloc.endswith(":")
    except ValueError:
        port_ok = False
    if not port_ok:
        raise _error(f"{shown} has an invalid port; write a number from 1 to 65535 after ':'", safe)
    if parts.fragment:
        raise _error(f"{shown} has a '#' fragment; write a '#' in a key as %23, or use the s3:// form, "
                     f"where keys are literal", safe)
    if host.endswith("console.aws.amazon.com"):
        raise _error(f"{shown} is a page of the AWS console, not the object; copy the object's 'S3 URI' "
                     f"(s3://...) from that page instead", safe)
    aws = _AWS_HOST.fullmatch(host)
    if aws is None and _AWS_DOMAIN.fullmatch(host):
        raise _error(f"{host} is not an S3 endpoint that can be read; write {_EXAMPLE}", safe)
    path = parts.path[1:]
    if aws and aws["bucket"]:
        bucket, key = aws["bucket"], path
    else:
        bucket, _, key = path.partition("/")
    bucket, key = unquote(bucket), unquote(key)
    endpoint = None if aws else f"{parts.scheme.lower()}://{parts.netloc.lower()}"
    _check_bucket(bucket, shown, safe)
    _check_key(key, shown, safe, f"s3://{bucket}", bucket)

    params = [(unquote(name), unquote(value)) for name, _, value in
              (p.partition("=") for p in parts.query.split("&") if p)]
    versions = [value for name, value in params if name == "versionId"]
    if len(versions) > 1 or versions == [""]:
        raise _error(f"{shown} needs exactly one non-empty versionId; write ?versionId=<version>", safe)
    region = named_region(bucket) or (("us-east-1" if aws["external"] else aws["region"]) if aws else None)
    version = versions[0] if versions else None
    result = S3Uri(bucket, key, region=region, version_id=version, endpoint=endpoint)
    others = sorted({name for name, _ in params} - {"versionId"})
    if others:
        raise _error(f"{shown} has query parameters other than versionId ({', '.join(others)}); presigned "
                     f"URLs are not supported: write {result} and the loader will use your AWS credentials",
                     safe)
    return result


def _check_bucket(bucket: str, uri: str, text: str) -> None:
    """Raise unless the bucket is a legal name."""
    if not bucket:
        raise _error(f"{uri} names no bucket; write {_EXAMPLE}", text)
    problem = None
    if not _BUCKET.fullmatch(bucket):
        problem = ("bucket names are 3-63 characters of lowercase letters, digits, dots and hyphens, "
                   "starting and ending with a letter or digit")
    elif ".." in bucket:
        problem = "bucket names cannot have two dots in a row"
    elif _IP_LIKE.fullmatch(bucket):
        problem = "bucket names cannot be formatted like an IP address"
    elif bucket.startswith("xn--"):
        problem = "bucket names cannot start with 'xn--'"
    elif bucket.endswith(_DIRECTORY_SUFFIX) and not _DIRECTORY.fullmatch(bucket):
        problem = ("directory bucket names are a base name, '--', the zone ID and '--x-s3', without dots: "
                   "e.g. my-bucket--usw2-az1--x-s3")
    if problem:
        raise _error(f"{bucket!r} is not a valid bucket name: {problem}", text, code="InvalidBucketName",
                     bucket=bucket)


def _check_key(key: str, uri: str, text: str, base: str, bucket: str, *, what: str = "a bucket") -> None:
    """Raise unless the key is present and not too long."""
    if not key:
        raise _error(f"{uri} names {what} but no object key; add the key: {base}/path/to/file.parquet",
                     text, bucket=bucket)
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        raise _error(f"the key in {base}/... has a character that is not valid Unicode (a lone surrogate); "
                     f"write the key as it appears in S3", text, bucket=bucket) from None
    if size > _MAX_KEY_BYTES:
        raise _error(f"the key in {base}/... is {size} bytes in UTF-8, but S3 keys are at most "
                     f"{_MAX_KEY_BYTES}; check that the URI was pasted once and whole", text, bucket=bucket)


def is_directory_bucket(bucket: str) -> bool:
    """Whether ``bucket`` is a directory bucket's name (S3 Express One Zone: ``base--ZONE-ID--x-s3``)."""
    return _DIRECTORY.fullmatch(bucket) is not None


def named_region(bucket: str) -> str | None:
    """The region a bucket fixes, if it fixes one: an access point ARN's, or a directory bucket's
    (``name--usw2-az1--x-s3`` is in us-west-2, the region of zone usw2-az1); ``None`` for a Multi-Region
    Access Point, which has none, and for any other name, whose region S3 alone knows."""
    point = access_point(bucket)
    if point is not None:
        return point.region or None
    directory = _DIRECTORY.fullmatch(bucket)
    if directory is None:
        return None
    short = _ZONE_REGION.fullmatch(directory["zone"].partition("-")[0])
    if short is None:
        return None
    gov = "-gov" if short["gov"] else ""
    return f"{short['area']}{gov}-{_WAYS[short['way']]}-{short['number']}"


def public_endpoint(url: str | None) -> str | None:
    """An endpoint URL without its ``user:password@`` part, if it has one; anything else as it is.

    botocore never sends a URL's user info (S3 requests are signed, never sent with HTTP basic auth), so the
    endpoint works the same without it: the loader keeps, uses and shows only this form.
    """
    return _USER_INFO.sub(r"\1", url, count=1) if isinstance(url, str) else url


def _redacted(parts: SplitResult) -> str:
    """The URL without user info and with every query value but versionId's hidden."""
    query = "&".join(p if p.startswith("versionId=") else f"{p.partition('=')[0]}=..."
                     for p in parts.query.split("&") if p)
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, query, parts.fragment))


def _error(message: str, uri: str, *, code: str = "InvalidUri", bucket: str | None = None) -> S3UriError:
    return S3UriError(message, uri=uri, code=code, bucket=bucket)
