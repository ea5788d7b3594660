"""What an error means and how to fix it, as text and as HTML.

Each entry of :data:`~dreambolt_magic.explanations.EXPLANATIONS` gives, for an S3 error code (or one of the
loader's own codes), the cause and the remedy as templates, filled here from the error's fields and hints.
Classes have a fallback for codes without an entry. Nothing here ever prints a credential: only the fields an
error carries, and those never hold one.

The templates speak the magic's language (``--format``, "run the cell again"). A front end with other controls
renders them with its :class:`Wording`: the panel says "the Format menu". One set of explanations, worded per
front end.
"""

from __future__ import annotations

import html
import re
import shlex
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dreambolt_magic.errors import S3Error, S3GenericError
from dreambolt_magic.explanations import EXPLANATIONS, FALLBACK
from dreambolt_magic.units import plural
from dreambolt_magic.uri import access_point

__all__ = ["EXPLANATIONS", "MAGIC", "Wording", "explanation", "remedy", "render_html", "render_text"]

#: A magic option in a template, with the value that follows it if any: a field (``{bucket_region}``), a
#: placeholder (``NAME``, ``N``, ``a,b``) or a number.
_OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z-]*)(?: (\{[a-z_]+\}|[A-Z][A-Z_]*\b|a,b|\d+\b))?")


@dataclass(frozen=True)
class Wording:
    """How a front end names what a remedy asks the user to do.

    ``phrases`` maps words of the templates to this front end's (``"run the cell again"``: ``"click Load
    again"``); ``options`` maps a magic option to the control that does the same here (``"--format"``: ``"the
    Format menu"``; a value that follows it is kept in brackets, a placeholder such as ``NAME`` dropped). Only the
    templates, and the few values that name options, are reworded, never an error's fields (a key, a message),
    and never inside backticks (a shell command, whose ``--profile`` is the AWS CLI's).
    """

    options: Mapping[str, str] = field(default_factory=dict)
    phrases: Mapping[str, str] = field(default_factory=dict)

    def apply(self, text: str) -> str:
        """``text`` in this front end's words."""
        if not self.options and not self.phrases:
            return text
        pieces = text.split("`")
        for i in range(0, len(pieces), 2):  # outside backticks
            for old, new in self.phrases.items():
                pieces[i] = pieces[i].replace(old, new)
            pieces[i] = _OPTION.sub(self._control, pieces[i])
        return "`".join(pieces)

    def _control(self, match: re.Match[str]) -> str:
        option, value = match.group(1), match.group(2)
        control = self.options.get(option)
        if control is None:
            return match.group(0)
        return f"{control} ({value})" if value and (value.startswith("{") or value.isdigit()) else control


#: The templates' own words: the magic's.
MAGIC = Wording()
#: The values of :func:`_values` that name magic options.
_WORDED_VALUES = ("requester_pays_fix", "archived_alternative", "parse_options_note")

class _Blank(string.Formatter):
    """Fills a missing or None field with a neutral word rather than failing."""

    def get_value(self, key: Any, args: Any, kwargs: Any) -> Any:
        value = kwargs.get(key) if isinstance(key, str) else None
        return "?" if value is None else value


_FORMATTER = _Blank()


def _values(err: S3Error, wording: Wording = MAGIC) -> dict[str, Any]:
    hints = err.hints
    profile = hints.get("profile")
    attempts = err.attempts or 0
    key = err.key or ""
    bucket_region = hints.get("bucket_region")
    available = hints.get("available") or []
    values = {
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
        "region_example": bucket_region or "REGION",
        "version": hints.get("version_id") or "",
        "code_note": f" ({err.code})" if err.code else "",
        "instead_note": f" {hints['instead']}" if hints.get("instead") else "",
        "table": hints.get("table") or "",
        "table_kind": hints.get("table_kind") or "table",
        "reader": hints.get("reader") or "its own library",
        "package": hints.get("package") or "the package",
        "parser": hints.get("parser") or "the parser",
        "extra": hints.get("extra") or "...",
        # Parser options help a text format only: for Parquet, say, sep= is beside the point.
        "parse_options_note": (" If it is CSV with another separator or quoting, pass parser options: --sep ';' "
                               "(sep=';' in Python), --option KEY=VALUE." if hints.get("format") in ("csv", "tsv")
                               else ""),
        "filter_note": f" that passes the filter {hints['filter']!r}" if hints.get("filter") else "",
        "cache_directory": hints.get("directory") or "DIR",
        "cache_problem": hints.get("problem") or "is not private to you",
        **_too_large(hints),
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
    for name in _WORDED_VALUES:  # values that name magic options are worded like the templates
        values[name] = wording.apply(values[name])
    return values


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
                             else plural(count, "object")),
        "archived_are": "is" if count == 1 else "are",
        "archived_list": listed or "?",
        "archived_outcome": ("With --skip-archived that leaves nothing to load." if hints.get("skipping")
                             else "Nothing was downloaded."),
        "archived_alternative": ("First " if hints.get("skipping")
                                 else "Load the other objects with --skip-archived (skip_archived=True), or "),
    }


#: What sets the limit a load was held to (memory.Limit.kind) → the end of "more than the N ...", and a fix.
_LIMITS = {
    "memory_limit": ("the load may use (memory_limit)", "raise memory_limit"),
    "available": ("available now", "free memory or use a machine with more"),
    "container": ("its container's memory limit leaves (the cgroup's memory.max, less what the container uses)",
                  "give the container more memory (a higher memory limit, or a bigger machine)"),
    "address_space": ("the address-space limit leaves (RLIMIT_AS, ulimit -v, less what the process has mapped)",
                      "raise the address-space limit (ulimit -v) the kernel runs under"),
}


def _too_large(hints: dict[str, Any]) -> dict[str, str]:
    what, size = hints.get("what"), _human_bytes(hints.get("size"))
    decompressed = _human_bytes(hints.get("decompressed"))
    kind = hints.get("limit") or ("memory_limit" if hints.get("limit_given") else "available")
    available_note, limit_fix = _LIMITS.get(kind, _LIMITS["available"])
    need_notes = {
        "parquet": "the columns and row groups asked for, compressed and uncompressed",
        "decompressed": f"its {size}, what they decompress into ({decompressed} when it was stopped, and "
                        "counting) and the DataFrame parsed from that",
        "rows": f"its first {size}, and what they decompress into: {decompressed} when it was stopped, still "
                "without the rows asked for, so its lines are that long at least",
    }
    refused = {
        "decompressed": "It was stopped while it was decompressed, before expanding the rest: a compressed file "
                        "can expand a thousandfold (a decompression bomb).",
        "rows": "It was stopped there rather than expanded whole to find the end of a line.",
    }
    return {
        "need_text": _human_bytes(hints.get("need")),
        "available_text": _human_bytes(hints.get("available_memory")),
        "need_note": need_notes.get(what or "", f"its {size} and the DataFrame parsed from them"),
        "available_note": available_note,
        "refused_note": refused.get(what or "", "It was refused before its data were downloaded."),
        "limit_fix": limit_fix,
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


def _fill(template: str, err: S3Error, wording: Wording = MAGIC) -> str:
    return " ".join(_FORMATTER.format(wording.apply(template), **_values(err, wording)).split())


def explanation(err: S3Error, wording: Wording = MAGIC) -> str:
    """The cause, in words (a front end's :class:`Wording`)."""
    return _fill(_entry(err)[0], err, wording)


def remedy(err: S3Error, wording: Wording = MAGIC) -> str:
    """The fix, in words (a front end's :class:`Wording`)."""
    return _fill(_entry(err)[1], err, wording)


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


def render_text(err: S3Error, wording: Wording = MAGIC) -> str:
    """Several lines of plain text: title, cause, fix, details (in a front end's :class:`Wording`)."""
    cause = explanation(err, wording)
    lines = [f"{type(err).__name__}: {err.title}"]
    if err.summary not in cause:  # format errors' explanations often say it already
        lines.append(f"  {err.message}")
    lines += ["", f"What happened: {cause}", f"How to fix it: {remedy(err, wording)}"]
    details = _details(err)
    if details:
        lines.append("")
        lines.extend(f"  {name}: {value}" for name, value in details)
    return "\n".join(lines)


def render_html(err: S3Error, wording: Wording = MAGIC) -> str:
    """A self-contained HTML block for Jupyter (``_repr_html_``), in a front end's :class:`Wording`."""
    esc = html.escape
    cause = explanation(err, wording)
    rows = "".join(
        f"<tr><th style='text-align:left;padding-right:1em;font-weight:normal;color:#555'>{esc(k)}</th>"
        f"<td style='text-align:left'><code>{esc(v)}</code></td></tr>"
        for k, v in _details(err)
    )
    return (
        "<div class='dreambolt-error' style='border-left:4px solid #d9534f;background:#fdf3f2;"
        "padding:0.6em 1em;margin:0.3em 0;font-family:var(--jp-ui-font-family,sans-serif)'>"
        f"<div style='font-weight:bold;color:#a94442'>{esc(type(err).__name__)}: {esc(err.title)}</div>"
        + ("" if err.summary in cause else f"<div style='margin:0.3em 0'>{esc(err.message)}</div>")
        + f"<div><b>What happened.</b> {esc(cause)}</div>"
        f"<div style='margin-top:0.3em'><b>How to fix it.</b> {esc(remedy(err, wording))}</div>"
        + (f"<details style='margin-top:0.4em'><summary>Details</summary><table>{rows}</table></details>"
           if rows else "")
        + "</div>"
    )
