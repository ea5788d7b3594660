"""What an error means and how to fix it, as text and as HTML.

Each entry of :data:`EXPLANATIONS` gives, for an S3 error code (or one of the loader's own codes), the
cause and the remedy as templates filled from the error's fields and hints. Classes have a fallback for
codes without an entry. Nothing here ever prints a credential: only the fields an error carries, and
those never hold one.
"""

from __future__ import annotations

import html
import string
from typing import Any

from dreambolt_magic.errors import (
    S3AuthError,
    S3CacheError,
    S3Error,
    S3FormatError,
    S3GenericError,
    S3NetworkError,
    S3NotFound,
    S3RateLimit,
    S3RegionError,
    S3TooLarge,
    S3UriError,
)

__all__ = ["EXPLANATIONS", "explanation", "remedy", "render_html", "render_text"]

_PROFILE_LOGIN = "aws sso login{profile_flag}"

#: code → (what happened, what to do). Templates see the error's fields and hints (see ``_values``).
EXPLANATIONS: dict[str, tuple[str, str]] = {
    "AccessDenied": (
        "S3 accepted the credentials{who} but they are not allowed to read {where}: the IAM policy, "
        "the bucket policy or an SCP denies s3:GetObject (or KMS decryption of the object).",
        "Ask for s3:GetObject on arn:aws:s3:::{bucket}/{key} (and kms:Decrypt if the object is "
        "SSE-KMS encrypted), or use a profile that has it: --profile NAME. If the bucket is public, "
        "load it without credentials: --anon.",
    ),
    "AllAccessDisabled": (
        "All access to bucket {bucket} has been disabled by AWS.",
        "Contact the bucket's owner or AWS Support; no credentials can read it.",
    ),
    "AccountProblem": (
        "AWS reports a problem with the account that owns the credentials{who}.",
        "Check the account's status (billing, suspension) in the AWS console.",
    ),
    "InvalidAccessKeyId": (
        "AWS does not know the access key id the request was signed with{who}: it was deleted, "
        "mistyped, or belongs to another partition or to an S3-compatible store.",
        "Check AWS_ACCESS_KEY_ID or the profile's aws_access_key_id; `aws sts get-caller-identity"
        "{profile_flag}` shows which identity is in use. For an S3-compatible store, pass its "
        "--endpoint-url.",
    ),
    "SignatureDoesNotMatch": (
        "The request was signed with a secret key that does not match the access key id{who}.",
        "Check AWS_SECRET_ACCESS_KEY or the profile's aws_secret_access_key (a stray space or a key from "
        "another user is common), then run `aws sts get-caller-identity{profile_flag}`.",
    ),
    "ExpiredToken": (
        "The temporary credentials{who} have expired.",
        "Refresh them: `" + _PROFILE_LOGIN + "` for SSO profiles, or get a new session token "
        "(e.g. `aws sts assume-role`), then run the cell again.",
    ),
    "InvalidToken": (
        "The session token{who} is malformed or was issued for another account or partition.",
        "Unset a stale AWS_SESSION_TOKEN, or refresh it: `" + _PROFILE_LOGIN + "`.",
    ),
    "TokenRefreshRequired": (
        "The session token{who} must be refreshed.",
        "Refresh it: `" + _PROFILE_LOGIN + "`, then run the cell again.",
    ),
    "RequestTimeTooSkewed": (
        "This machine's clock differs from AWS's by more than 15 minutes, so signatures are refused.",
        "Synchronise the clock (e.g. enable NTP: `timedatectl set-ntp true`).",
    ),
    "NoCredentials": (
        "No AWS credentials were found: not in the environment (AWS_ACCESS_KEY_ID), not in "
        "~/.aws/credentials or ~/.aws/config{profile_note}, and no SSO session or instance role. "
        "{unsigned_note}",
        "Configure credentials (`aws configure`, or `aws configure sso` then `aws sso login`), pick a "
        "profile with --profile NAME, or set AWS_PROFILE. If the object is public, use --anon.",
    ),
    "ProfileNotFound": (
        "The AWS profile {profile!r} is not defined in ~/.aws/config or ~/.aws/credentials.",
        "Use one of the configured profiles ({available}) with --profile NAME, or create it with "
        "`aws configure --profile {profile}`.",
    ),
    "SSOTokenExpired": (
        "The AWS SSO (IAM Identity Center) session{who} has expired or was never started.",
        "Run `" + _PROFILE_LOGIN + "` in a terminal, then run the cell again.",
    ),
    "CredentialsError": (
        "The credentials could not be obtained{who}: the credential source failed ({detail}).",
        "Check the profile's configuration (credential_process, role_arn, source_profile) with "
        "`aws sts get-caller-identity{profile_flag}`.",
    ),
    "NoSuchBucket": (
        "There is no bucket named {bucket}{at_endpoint}.",
        "Check the bucket name for typos (bucket names are lowercase); `aws s3 ls{endpoint_flag}` "
        "lists the buckets you can see.",
    ),
    "NoSuchKey": (
        "Bucket {bucket} exists but has no object with the key {key!r}.",
        "Check the key: keys are case-sensitive and include the full path. "
        "`aws s3 ls s3://{bucket}/{parent}{endpoint_flag}` lists what is there.",
    ),
    "NoSuchVersion": (
        "Object {key!r} has no version {version}.",
        "List the versions with `aws s3api list-object-versions --bucket {bucket} --prefix {key}`, or "
        "drop ?versionId= to read the current version.",
    ),
    "SlowDown": (
        "S3 asked to slow down (HTTP 503 SlowDown) {attempts_text}: the prefix is receiving more "
        "requests than it can serve right now.",
        "Wait a minute and run the cell again, or allow more attempts: --max-attempts 10.",
    ),
    "PermanentRedirect": (
        "Bucket {bucket} is in region {bucket_region}, not {region}.",
        "Use --region {bucket_region} (or drop --region and let the region be detected).",
    ),
    "AuthorizationHeaderMalformed": (
        "The request was signed for region {region}, but bucket {bucket} is in {bucket_region}.",
        "Use --region {bucket_region} (or drop --region and let the region be detected).",
    ),
    "IllegalLocationConstraintException": (
        "Bucket {bucket} is in another region ({bucket_region}) than the one used ({region}).",
        "Use --region {bucket_region}.",
    ),
    "EndpointConnectionError": (
        "Could not connect to the S3 endpoint{at_endpoint} {attempts_text}: nothing answered.",
        "Check the network (VPN, proxy: HTTPS_PROXY), the region name, and --endpoint-url if you use an "
        "S3-compatible store.",
    ),
    "ConnectTimeout": (
        "Connecting to S3{at_endpoint} timed out {attempts_text}.",
        "Check the network, firewall or proxy (HTTPS_PROXY); on a slow link raise the timeout with "
        "%config S3IngestMagics.connect_timeout = 30.",
    ),
    "ReadTimeout": (
        "S3{at_endpoint} stopped sending data {attempts_text}.",
        "Run the cell again; on a slow link raise %config S3IngestMagics.read_timeout = 120.",
    ),
    "ConnectionClosed": (
        "The connection to S3{at_endpoint} was closed before the answer was complete {attempts_text}.",
        "Run the cell again; if it keeps happening, check proxies or middleboxes on the path.",
    ),
    "IncompleteBody": (
        "The download of {where} kept breaking off before the end {attempts_text}.",
        "Run the cell again; on an unreliable link allow more attempts: --max-attempts 10.",
    ),
    "ChecksumMismatch": (
        "The bytes of {where} did not match the checksum S3 stores for them {attempts_text}: they were "
        "damaged or cut short on the way.",
        "Run the cell again; if it keeps happening, a proxy on the path may be altering responses.",
    ),
    "RequestTimeout": (
        "S3 closed the connection because it was idle for too long {attempts_text}.",
        "Run the cell again; check for a slow or congested link.",
    ),
    "InternalError": (
        "S3 had an internal error {attempts_text}.",
        "Wait a little and run the cell again; if it persists, check the AWS Health Dashboard.",
    ),
    "InvalidObjectState": (
        "{where} is archived (Glacier or Deep Archive storage class) and cannot be read until restored.",
        "Restore it first: `aws s3api restore-object --bucket {bucket} --key {key} "
        "--restore-request Days=1`, then wait for the restore to finish.",
    ),
    "PreconditionFailed": (
        "The object changed while it was being read.",
        "Run the cell again.",
    ),
    "ObjectChanged": (
        "{where} was replaced while it was being downloaded, twice in a row.",
        "Wait until whatever writes the object has finished, then run the cell again.",
    ),
    "InvalidRange": (
        "S3 refused the byte range asked for {where}.",
        "Run the cell again; if it persists, the object may have shrunk while it was being read.",
    ),
    "UnsupportedFormat": (
        "{message}",
        "Use one of the supported formats with --format (parquet, csv, tsv, json, jsonl, feather).",
    ),
    "UnknownFormat": (
        "The format of {key!r} could not be told from its name or its first bytes.",
        "Name it with --format (parquet, csv, tsv, json, jsonl, feather).",
    ),
    "FormatMismatch": (
        "{message}",
        "Check that the URI names the file you meant; if the name is wrong but the content is right, "
        "say what it is with --format.",
    ),
    "BadCompression": (
        "{message}",
        "Check the file; if it is not compressed, name its format with --format.",
    ),
    "ParseError": (
        "The bytes of {where} could not be parsed: {message}",
        "Check that the file is complete and of the format its name says; for CSV, pass parser options "
        "such as sep=';' to dreambolt_magic.load().",
    ),
    "EmptyObject": (
        "{where} is empty (0 bytes): there is nothing to parse.",
        "Check that the writer finished; load another object.",
    ),
    "MissingColumns": (
        "{message}",
        "Pick columns that exist: --columns {available_list}.",
    ),
    "BadEncoding": (
        "{message}",
        "Pass the file's encoding, e.g. dreambolt_magic.load(uri, encoding='latin-1').",
    ),
    "TooLarge": (
        "Loading {where} needs about {need_text} of memory ({need_note}), more than the {available_text} "
        "{available_note}. It was refused before its data were downloaded.",
        "Read less of it: --columns a,b and --nrows N (for Parquet only those columns and row groups are "
        "downloaded). For the whole of it, use dask, which works on a file in pieces: "
        "dask.dataframe.{dask_reader}('{uri_text}'). If you know it fits, load it anyway with "
        "--force (force=True).",
    ),
    "CacheNotPrivate": (
        "The cache directory {cache_directory} {cache_problem}: whoever can write there decides what a "
        "cached load returns, so it is not used.",
        "Run chmod 700 {cache_directory} as the directory's owner, or cache somewhere of your own: "
        "dreambolt_magic.load(uri, cache='/path/of/yours') or %config S3IngestMagics.cache_dir = '/path/of/yours'.",
    ),
    "NoMatchingObjects": (
        "No object matches {where}: the listing of bucket {bucket} under that prefix found none{filter_note}.",
        "List what is there with `aws s3 ls s3://{bucket}/{parent} --recursive`{endpoint_flag}; keys are "
        "case-sensitive, * matches within one folder and ** across folders.",
    ),
    "SchemaMismatch": (
        "{message}",
        "Load the objects separately, or name their types the same way when they are written; "
        "--columns can leave the conflicting column out.",
    ),
    "ColumnClash": (
        "{message}",
        "Choose another name (--source-column NAME), or load with partitions=False.",
    ),
    "BadFilter": (
        "{message}",
        "Use column or partition names that exist, compared with values of their type, e.g. "
        "--filter \"year == 2024 and month in (5, 6)\".",
    ),
    "DeltaTable": (
        "{where} reaches into the Delta Lake table at {table}. A Delta table's Parquet files are its history, "
        "not its current rows: a file stays after the rows in it are deleted, updated or compacted, and only "
        "the log in _delta_log/ says which files are current. Read as plain files, they would give rows the "
        "table no longer has, so nothing was loaded.",
        "dreambolt_magic does not read Delta tables yet. Read this one with the deltalake library "
        "(pip install deltalake): deltalake.DeltaTable('{table}').to_pandas(); or load single files you "
        "know are current by their full keys.",
    ),
    "IcebergTable": (
        "{where} reaches into the Apache Iceberg table at {table}. An Iceberg table's data files are its "
        "history, not its current rows: only its metadata (metadata/*.metadata.json) says which files, and "
        "which delete files, make the current snapshot. Read as plain files, they would give rows the table "
        "no longer has, so nothing was loaded.",
        "dreambolt_magic does not read Iceberg tables yet. Read this one with pyiceberg "
        "(pip install pyiceberg): pyiceberg.table.StaticTable.from_metadata('{table}metadata/...metadata.json')"
        ".scan().to_pandas(); or load single files you know are current by their full keys.",
    ),
    "InvalidUri": (
        "{message}",
        "Write the location as s3://bucket/path/to/file.parquet.",
    ),
    "InvalidBucketName": (
        "{message}",
        "Check the bucket name: 3-63 lowercase letters, digits, dots and hyphens.",
    ),
    "NotImplemented": (
        "The S3 endpoint{at_endpoint} does not implement a feature the request used.",
        "If this is an S3-compatible store, report it; try without ?versionId=.",
    ),
}

# Throttling codes share one text.
for _code in ("ServiceUnavailable", "Throttling", "ThrottlingException", "ThrottledException",
              "RequestThrottled", "RequestLimitExceeded", "TooManyRequestsException", "BandwidthLimitExceeded"):
    EXPLANATIONS[_code] = EXPLANATIONS["SlowDown"]
EXPLANATIONS["TemporaryRedirect"] = EXPLANATIONS["PermanentRedirect"]
del _code

#: When the code has no entry: per class.
_FALLBACK: dict[type[S3Error], tuple[str, str]] = {
    S3UriError: ("{message}", "Write the location as s3://bucket/path/to/file.parquet."),
    S3AuthError: (
        "S3 refused the request for {where} (HTTP {status}){who}: the credentials are missing, invalid "
        "or not allowed to read it.",
        "Check which identity is used with `aws sts get-caller-identity{profile_flag}` and that it may "
        "s3:GetObject on arn:aws:s3:::{bucket}/{key}; for a public bucket use --anon.",
    ),
    S3NotFound: (
        "{where} does not exist (HTTP 404).",
        "Check the bucket and key for typos; keys are case-sensitive.",
    ),
    S3RateLimit: EXPLANATIONS["SlowDown"],
    S3RegionError: (
        "The request went to the wrong region for bucket {bucket}{bucket_region_note}.",
        "Pass the bucket's region with --region{bucket_region_flag}.",
    ),
    S3NetworkError: (
        "The network failed while talking to S3{at_endpoint} {attempts_text}.",
        "Check the network connection and proxy settings, then run the cell again.",
    ),
    S3FormatError: ("{message}", "Check the file, or name its format with --format."),
    S3TooLarge: (
        "Loading {where} needs more memory than is available.",
        "Read less of it with --columns a,b and --nrows N, use dask for the whole of it, or load it anyway "
        "with --force (force=True) if you know it fits.",
    ),
    S3CacheError: EXPLANATIONS["CacheNotPrivate"],
    S3GenericError: (
        "S3 answered with an error{code_note}: {message}",
        "Run the cell again; if it persists, look up the S3 error code in the AWS documentation.",
    ),
}


class _Blank(string.Formatter):
    """Fills a missing or None field with a neutral word rather than failing."""

    def get_value(self, key: Any, args: Any, kwargs: Any) -> Any:
        value = kwargs.get(key) if isinstance(key, str) else None
        return "?" if value is None else value


_FORMATTER = _Blank()


def _values(err: S3Error) -> dict[str, Any]:
    hints = err.hints
    profile = hints.get("profile")
    attempts = err.attempts or 0
    key = err.key or ""
    bucket_region = hints.get("bucket_region")
    available = hints.get("available") or []
    return {
        "where": err.where,
        "bucket": err.bucket,
        "key": key,
        "parent": key.rpartition("/")[0] + "/" if "/" in key else "",
        "region": err.region,
        "status": err.status,
        "code": err.code,
        "message": err.summary,
        "detail": err.detail,
        "profile": profile,
        "profile_flag": f" --profile {profile}" if profile else "",
        "profile_note": f" (profile {profile!r})" if profile else "",
        "who": f" (profile {profile!r})" if profile else "",
        "available": ", ".join(available) if available else "none are configured",
        "available_list": ",".join(str(a) for a in available[:5]) if available else "a,b",
        "attempts_text": f"after {attempts} attempts" if attempts > 1 else "",
        "at_endpoint": f" at {err.endpoint}" if err.endpoint else "",
        "endpoint_flag": f" --endpoint-url {err.endpoint}" if err.endpoint else "",
        "bucket_region": bucket_region,
        "bucket_region_note": f" (it is in {bucket_region})" if bucket_region else "",
        "bucket_region_flag": f" {bucket_region}" if bucket_region else " REGION",
        "version": hints.get("version_id") or "",
        "code_note": f" ({err.code})" if err.code else "",
        "table": hints.get("table") or "",
        "filter_note": f" that passes the filter {hints['filter']!r}" if hints.get("filter") else "",
        "cache_directory": hints.get("directory") or "DIR",
        "cache_problem": hints.get("problem") or "is not private to you",
        "need_text": _human_bytes(hints.get("need")),
        "available_text": _human_bytes(hints.get("available_memory")),
        "need_note": (
            "the columns and row groups asked for, compressed and uncompressed"
            if hints.get("what") == "parquet"
            else f"its {_human_bytes(hints.get('size'))} and the DataFrame parsed from them"
        ),
        "available_note": "the load may use (memory_limit)" if hints.get("limit_given") else "available now",
        "dask_reader": _dask_reader(key),
        "uri_text": err.uri or f"s3://{err.bucket or 'bucket'}/{key}",
        "unsigned_note": (
            "An unsigned request was tried in case the object is public, and S3 refused it."
            if hints.get("unsigned_tried")
            else ""
        ),
    }


def _human_bytes(n: Any) -> str:
    if not isinstance(n, (int, float)):
        return "an unknown amount"
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000:
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n:,.1f} TB"


def _dask_reader(key: str) -> str:
    name = key.lower()
    for suffix, reader in ((".parquet", "read_parquet"), (".pq", "read_parquet"), (".json", "read_json"),
                           (".jsonl", "read_json"), (".ndjson", "read_json")):
        if suffix in name:
            return reader
    return "read_csv"


def _entry(err: S3Error) -> tuple[str, str]:
    if err.code and err.code in EXPLANATIONS:
        return EXPLANATIONS[err.code]
    for cls in type(err).__mro__:
        if cls in _FALLBACK:
            return _FALLBACK[cls]
    return _FALLBACK[S3GenericError]


def _fill(template: str, err: S3Error) -> str:
    return " ".join(_FORMATTER.format(template, **_values(err)).split())


def explanation(err: S3Error) -> str:
    """The cause, in words."""
    return _fill(_entry(err)[0], err)


def remedy(err: S3Error) -> str:
    """The fix, in words."""
    return _fill(_entry(err)[1], err)


def _details(err: S3Error) -> list[tuple[str, str]]:
    rows = [
        ("URI", err.uri),
        ("Region", err.region),
        ("Endpoint", err.endpoint),
        ("Error code", err.code),
        ("HTTP status", str(err.status) if err.status else None),
        ("Attempts", str(err.attempts) if err.attempts else None),
        ("Operation", err.operation),
        ("Request id", err.request_id),
        ("Server said", err.detail if err.detail and err.detail not in err.message else None),
    ]
    return [(k, v) for k, v in rows if v]


def _repeats(err: S3Error) -> bool:
    """Whether the explanation already says what the one-line message says (format errors, mostly)."""
    return err.summary in err.explanation


def render_text(err: S3Error) -> str:
    """Several lines of plain text: title, cause, fix, details."""
    lines = [f"{type(err).__name__}: {err.title}"]
    if not _repeats(err):
        lines.append(f"  {err.message}")
    lines += ["", f"What happened: {err.explanation}", f"How to fix it: {err.remedy}"]
    details = _details(err)
    if details:
        lines.append("")
        lines.extend(f"  {name}: {value}" for name, value in details)
    return "\n".join(lines)


def render_html(err: S3Error) -> str:
    """A self-contained HTML block for Jupyter (``_repr_html_``)."""
    esc = html.escape
    rows = "".join(
        f"<tr><th style='text-align:left;padding-right:1em;font-weight:normal;color:#555'>{esc(k)}</th>"
        f"<td style='text-align:left'><code>{esc(v)}</code></td></tr>"
        for k, v in _details(err)
    )
    return (
        "<div class='dreambolt-error' style='border-left:4px solid #d9534f;background:#fdf3f2;"
        "padding:0.6em 1em;margin:0.3em 0;font-family:var(--jp-ui-font-family,sans-serif)'>"
        f"<div style='font-weight:bold;color:#a94442'>{esc(type(err).__name__)}: {esc(err.title)}</div>"
        + ("" if _repeats(err) else f"<div style='margin:0.3em 0'>{esc(err.message)}</div>")
        + f"<div><b>What happened.</b> {esc(err.explanation)}</div>"
        f"<div style='margin-top:0.3em'><b>How to fix it.</b> {esc(err.remedy)}</div>"
        + (f"<details style='margin-top:0.4em'><summary>Details</summary><table>{rows}</table></details>"
           if rows else "")
        + "</div>"
    )
