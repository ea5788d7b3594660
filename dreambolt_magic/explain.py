"""What an error means and how to fix it, as text and as HTML.

Each entry of :data:`~dreambolt_magic.explanations.EXPLANATIONS` gives, for an S3 error code (or one of the
loader's own codes), the cause and the remedy as templates, filled here from the error's fields and hints.
Classes have a fallback for codes without an entry. Nothing here ever prints a credential: only the fields an
error carries, and those never hold one.
"""

from __future__ import annotations

import html
import shlex
import string
from typing import Any

from dreambolt_magic.errors import S3Error, S3GenericError
from dreambolt_magic.explanations import EXPLANATIONS, FALLBACK
from dreambolt_magic.uri import access_point

__all__ = ["EXPLANATIONS", "explanation", "remedy", "render_html", "render_text"]

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
        "object_arn": _object_arn(err.bucket, key),
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
        "instead_note": f" {hints['instead']}" if hints.get("instead") else "",
        "table": hints.get("table") or "",
        "table_kind": hints.get("table_kind") or "table",
        "reader": hints.get("reader") or "its own library",
        "package": hints.get("package") or "the package",
        "parser": hints.get("parser") or "the parser",
        "extra": hints.get("extra") or "...",
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
        **_requester_pays(hints),
        **_archived(err),
        **_speeds(hints),
        "unsigned_note": (
            "An unsigned request was tried in case the object is public, and S3 refused it."
            if hints.get("unsigned_tried")
            else ""
        ),
    }


def _speeds(hints: dict[str, Any]) -> dict[str, str]:
    """A body broken off by the speed floor: the rate it came at, the floor, and over how long."""
    window = hints.get("window")
    return {
        "rate_text": f"{_human_bytes(hints.get('rate'))}/s",
        "floor_text": f"the floor of {_human_bytes(hints.get('floor'))}/s",
        "window_text": f"{window:.0f} s" if isinstance(window, (int, float)) else "the last half minute",
    }


def _object_arn(bucket: str | None, key: str) -> str:
    """The ARN a policy grants s3:GetObject on: the object's, or, through an access point, the access point's."""
    point = access_point(bucket) if bucket else None
    if point is not None:
        return f"{point.arn}/object/{key}"
    return f"arn:aws:s3:::{'?' if bucket is None else bucket}/{key}"


def _requester_pays(hints: dict[str, Any]) -> dict[str, str]:
    """What a refusal says of Requester Pays: a possible cause and its fix, unless the load already paid."""
    if hints.get("requester_pays"):
        return {"requester_pays_note": "", "requester_pays_fix": ""}
    return {
        "requester_pays_note": " Or the bucket is a Requester Pays bucket, which refuses every request that "
        "does not say the requester pays.",
        "requester_pays_fix": " For a Requester Pays bucket add --requester-pays (requester_pays=True); your "
        "account is then charged for the requests and the bytes downloaded.",
    }


#: The most archived keys an explanation lists.
ARCHIVED_LISTED = 5


def _archived(err: S3Error) -> dict[str, Any]:
    """The fields of an archived object's explanation: its storage class, the restore command's arguments and,
    for a set (code ArchivedObjects), which of its objects are archived."""
    hints = err.hints
    classes = hints.get("storage_classes") or ([hints["storage_class"]] if hints.get("storage_class") else [])
    keys = list(hints.get("archived") or [])
    count = hints.get("archived_count") or len(keys)
    listed = ", ".join(keys[:ARCHIVED_LISTED]) + (f" and {count - ARCHIVED_LISTED:,} more"
                                                  if count > ARCHIVED_LISTED else "")
    every = hints.get("skipping") and count == hints.get("listed")
    return {
        "storage_class_note": f" ({', '.join(classes)} storage class)" if classes else "",
        "key_arg": shlex.quote(err.key or "KEY"),
        "version_flag": f" --version-id {shlex.quote(hints['version_id'])}" if hints.get("version_id") else "",
        # An Intelligent-Tiering archive tier is restored without a number of days.
        "restore_request": "'{}'" if "INTELLIGENT_TIERING" in classes else "Days=1",
        "archived_summary": ((f"All {count:,} objects" if count > 1 else "The one object") if every
                             else f"{count:,} object{'s' if count != 1 else ''}"),
        "archived_are": "is" if count == 1 else "are",
        "archived_list": listed or "?",
        "archived_outcome": ("With --skip-archived that leaves nothing to load." if hints.get("skipping")
                             else "Nothing was downloaded."),
        "archived_alternative": ("First " if hints.get("skipping")
                                 else "Load the other objects with --skip-archived (skip_archived=True), or "),
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
        if cls in FALLBACK:
            return FALLBACK[cls]
    return FALLBACK[S3GenericError]


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
