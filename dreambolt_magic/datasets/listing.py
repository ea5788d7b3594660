"""Expanding what a set names into objects: lists of URIs, globs, prefixes, and Hive partitions in keys.

- ``s3://b/logs/`` (a key ending in ``/``): every object under the prefix, at any depth, except folder
  markers and names starting with ``_`` or ``.`` below it (``_SUCCESS``, ``_delta_log/``, ``.crc``).
- ``s3://b/logs/2024-*/*.csv.gz``: a glob, when the key has a ``*``. ``*`` matches within one path
  segment, ``**`` across segments (``**/`` also matches none), ``?`` one character and ``[abc]`` one of a
  set. A key without ``*`` is taken literally: S3 keys may hold ``?`` and ``[``.
- A list of any of these (and of plain URIs): all of their objects, each once.

A prefix or glob that reaches into a Delta Lake table (a folder holding ``_delta_log/``) or an Apache Iceberg
table (``metadata/*.metadata.json``) is refused with :class:`~dreambolt_magic.errors.S3FormatError` (codes
``DeltaTable``, ``IcebergTable``) before any object is read: a table's data files are its history, not its
current rows, so reading them as plain files would return rows the table no longer has. The listing itself
shows a table at or below its prefix; the folders above a partition (``name=value``) or ``data`` folder are
asked too, since a load of one partition of a table lists none of the table's own files.

Listings are paged (:data:`LIST_PAGE_SIZE` keys a request) from the literal part of the key before the first
wildcard (in a directory bucket, which lists only prefixes ending in ``/``, from its folder). A listing that
matches nothing is :class:`~dreambolt_magic.errors.S3NotFound` (code ``NoMatchingObjects``), never an empty
frame. Each key's ``name=value`` folders are read here, as text; :mod:`dreambolt_magic.datasets.partitions`
gives them their types. Each object keeps its storage class and, from
the listing's ``RestoreStatus``, whether an archived one has a restored copy to read
(:mod:`dreambolt_magic.datasets.archived` decides what a set does with the others).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from dreambolt_magic.client.calls import bucket_region, call_in, in_region
from dreambolt_magic.client.connection import Connection, endpoint_from_env
from dreambolt_magic.client.regions import region_cache
from dreambolt_magic.client.retry import RetryPolicy
from dreambolt_magic.errors import S3FormatError, S3GenericError, S3NotFound
from dreambolt_magic.options import CONNECT, ConnectOptions
from dreambolt_magic.transfer.progress import CancelFlag, cancellable_sleep, check_cancel
from dreambolt_magic.uri import GLOB, S3Uri, is_directory_bucket, is_many, is_pattern, parse_set

__all__ = ["ARCHIVED_CLASSES", "LIST_PAGE_SIZE", "MAX_EMPTY_PAGES", "ObjectRef", "PageGuard", "expand", "is_many",
           "iter_refs", "set_label"]

#: Keys asked for per ListObjectsV2 request (S3's maximum).
LIST_PAGE_SIZE = 1000
#: Storage classes whose objects S3 serves only once a copy is restored (Glacier Instant Retrieval serves at once).
ARCHIVED_CLASSES = frozenset({"GLACIER", "DEEP_ARCHIVE"})
_PARTITION = re.compile(r"([^=/]+)=([^/]*)")
# A table's root is the folder that holds its log (Delta) or its metadata files (Iceberg).
_DELTA_LOG = re.compile(r"(?:^|/)_delta_log/")
_ICEBERG_METADATA = re.compile(r"(?:^|/)metadata/(?:[^/]*\.metadata\.json|version-hint\.text)$")


@dataclass(frozen=True)
class ObjectRef:
    """One object of a set: where it is, what the listing said about it, and its partition values."""

    uri: S3Uri
    size: int | None = None
    etag: str | None = None
    partitions: dict[str, str] = field(default_factory=dict)
    #: The listing's storage class (``None``: not listed, or a store that names none).
    storage_class: str | None = None
    #: The listing said a restored copy of the archived object is there to read.
    restored: bool = False

    @property
    def text(self) -> str:
        return str(self.uri)

    @property
    def archived(self) -> bool:
        """Whether the listing says a GET of it would be refused until it is restored (InvalidObjectState)."""
        return self.storage_class in ARCHIVED_CLASSES and not self.restored


#: Pages in a row that hold no key yet say there is more, before a listing is given up as endless.
MAX_EMPTY_PAGES = 50


class PageGuard:
    """Ends a listing that would never end: a server that sends a continuation token it sent before (the same
    pages again, for ever), or page after empty page that says there is more."""

    def __init__(self, what: str) -> None:
        self.what, self.tokens, self.empty = what, set[str](), 0

    def next(self, token: str, had_keys: bool) -> None:
        """Before asking for the page after ``token``: raise if the listing goes round in circles."""
        self.empty = 0 if had_keys else self.empty + 1
        if token in self.tokens or self.empty >= MAX_EMPTY_PAGES:
            why = ("sent a continuation token it had sent before" if token in self.tokens
                   else f"sent {self.empty} empty pages in a row, each saying there was more")
            raise S3GenericError(f"the listing of {self.what} never ends: the server {why}", uri=self.what,
                                 code="EndlessListing", hints={"pages": len(self.tokens) + 1})
        self.tokens.add(token)


def set_label(uris: Any) -> str:
    """How a set is named in messages: its URI, or its first and how many more."""
    if isinstance(uris, (str, S3Uri)):
        return str(uris).strip()
    items = [str(u).strip() for u in uris]
    return items[0] if len(items) == 1 else f"{items[0]} and {len(items) - 1} more"


def expand(
    uris: str | S3Uri | Sequence[str | S3Uri],
    connect: ConnectOptions = CONNECT,
    *,
    region: str | None = None,
    cancel: CancelFlag | None = None,
) -> list[ObjectRef]:
    """The objects ``uris`` name, in order, each once: globs and prefixes listed (paged), others as given.

    Raises :class:`~dreambolt_magic.errors.S3NotFound` (``NoMatchingObjects``) when a glob or prefix matches
    nothing, and the loader's errors for the listing requests (a missing bucket, access refused, ...).
    """
    refs = list(iter_refs(uris, connect, region=region, cancel=cancel))
    _learn_regions(refs, region, connect)
    return refs


def iter_refs(
    uris: str | S3Uri | Sequence[str | S3Uri],
    connect: ConnectOptions = CONNECT,
    *,
    region: str | None = None,
    cancel: CancelFlag | None = None,
) -> Iterator[ObjectRef]:
    """The objects of :func:`expand`, as they are listed: a page of a listing is requested only once the
    previous one has been consumed, so a caller that stops early (a sample) lists no further. Every URI is
    parsed before any request.
    """
    items = [uris] if isinstance(uris, (str, S3Uri)) else list(uris)
    if not items:
        raise ValueError("no URI was given: pass one or more s3:// URIs, globs or prefixes")
    targets = [(item if isinstance(item, S3Uri) else parse_set(item), isinstance(item, str)) for item in items]
    conn = None
    seen: set[str] = set()
    try:
        for target, textual in targets:
            if not (textual and is_pattern(target.key)):
                found: Iterable[ObjectRef] = [ObjectRef(target, partitions=_partitions_of(target.key))]
            else:
                if conn is None:
                    # One set of connection settings serves every listing of the set.
                    conn = Connection.lease(connect.at(connect.endpoint_url or target.endpoint or endpoint_from_env()))
                lister = _Lister(conn, RetryPolicy(max_attempts=connect.max_attempts, sleep=cancellable_sleep(cancel)),
                                 region or target.region, cancel)
                found = lister.matching(target)
            matched = False
            for ref in found:
                matched = True
                if ref.text not in seen:
                    seen.add(ref.text)
                    yield ref
            if not matched:
                assert conn is not None  # only a listing can match nothing
                raise S3NotFound(uri=str(target).rstrip("/") + ("/" if target.key.endswith("/") else ""),
                                 bucket=target.bucket, key=target.key, code="NoMatchingObjects",
                                 endpoint=conn.endpoint_url, hints={"pattern": target.key})
    finally:
        if conn is not None:
            conn.release()  # kept for the loads, and the next listing


def _learn_regions(refs: list[ObjectRef], region: str | None, connect: ConnectOptions) -> None:
    """Find each bucket's region once, before the loads: else every load of a list would ask at the same time."""
    counts: dict[tuple[str | None, str], int] = {}
    for ref in refs:
        if region is None and ref.uri.region is None:
            where = (connect.endpoint_url or ref.uri.endpoint, ref.uri.bucket)
            counts[where] = counts.get(where, 0) + 1
    policy = RetryPolicy(max_attempts=connect.max_attempts)
    conn: Connection | None = None
    try:
        for (endpoint, bucket), count in counts.items():
            if count < 2:
                continue
            endpoint = endpoint or endpoint_from_env()
            if region_cache.get(endpoint, bucket):
                continue
            if conn is None or conn.endpoint_url != endpoint:
                if conn is not None:
                    conn.release()
                conn = Connection.lease(connect.at(endpoint))
            bucket_region(conn, bucket, policy)
    finally:
        if conn is not None:
            conn.release()


class _Lister:
    """Paged ListObjectsV2 with the loader's retries, region detection and one redirect followed."""

    def __init__(self, conn: Any, policy: RetryPolicy, region: str | None, cancel: CancelFlag | None) -> None:
        self.conn, self.policy, self.region, self.cancel = conn, policy, region, cancel

    def matching(self, target: S3Uri) -> Iterator[ObjectRef]:
        key = target.key
        if GLOB in key:
            literal = re.split(r"[*?\[]", key, maxsplit=1)[0]
            regex = _glob_regex(key)
            base = literal.rpartition("/")[0] + "/" if "/" in literal else ""
            hidden_ok = key.rpartition("/")[2][:1] in ("_", ".")
            keep = lambda k: regex.fullmatch(k) is not None and (hidden_ok or not _hidden(k[len(base):]))  # noqa: E731
            if is_directory_bucket(target.bucket):
                literal = base  # it lists only prefixes that end in "/": the whole folder, filtered here
        else:
            literal = key
            keep = lambda k: not _hidden(k[len(key):])  # noqa: E731
        region = self.region or bucket_region(self.conn, target.bucket, self.policy)
        self._refuse_tables_above(target, literal, region)
        for entry in self._list(target.bucket, literal, region, target):
            name = entry["Key"]
            if name.endswith("/") or not keep(name):
                continue
            restore = entry.get("RestoreStatus") or {}
            yield ObjectRef(S3Uri(target.bucket, name, region=target.region, endpoint=target.endpoint),
                            size=int(entry.get("Size") or 0), etag=entry.get("ETag"), partitions=_partitions_of(name),
                            storage_class=entry.get("StorageClass"),
                            restored=bool(restore.get("RestoreExpiryDate")) and not restore.get("IsRestoreInProgress"))

    def _list(self, bucket: str, prefix: str, region: str, target: S3Uri) -> Iterable[dict[str, Any]]:
        token = None
        pages = PageGuard(f"s3://{bucket}/{prefix}")
        while True:
            check_cancel(self.cancel)
            # RestoreStatus tells an archived object that has a restored copy (readable) from one without.
            params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": LIST_PAGE_SIZE,
                                      "OptionalObjectAttributes": ["RestoreStatus"]}
            if token:
                params["ContinuationToken"] = token
            answer, region = self._page(region, bucket, params)
            contents = answer.get("Contents", [])
            # The whole page is looked at before any of it is handed on: a table's log may sort after its files.
            for entry in contents:
                _refuse_table(target, entry["Key"], self.conn.endpoint_url)
            yield from contents
            token = answer.get("NextContinuationToken") if answer.get("IsTruncated") else None
            if not token:
                return
            pages.next(token, bool(contents))

    def _refuse_tables_above(self, target: S3Uri, literal: str, region: str) -> None:
        """Ask the folders above a partition or ``data`` folder of the listed prefix whether they hold a table."""
        for folder in _table_candidates(literal):
            for marker, limit in (("_delta_log/", 1), ("metadata/", LIST_PAGE_SIZE)):
                if (folder + marker).startswith(literal):
                    continue  # the listing itself covers it
                params = {"Bucket": target.bucket, "Prefix": folder + marker, "MaxKeys": limit}
                answer, region = self._page(region, target.bucket, params)
                for entry in answer.get("Contents", []):
                    _refuse_table(target, entry["Key"], self.conn.endpoint_url)

    def _page(self, region: str, bucket: str, params: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """One ListObjectsV2 page through the funnel, and the region that answered it (one redirect followed)."""
        answered = [region]

        def in_one(chosen: str) -> dict[str, Any]:
            answered.append(chosen)
            return call_in(self.conn, "ListObjectsV2", region=chosen, policy=self.policy, **params)

        return in_region(self.conn, bucket, region, in_one), answered[-1]


def _table_candidates(literal: str) -> list[str]:
    """The folder ``literal`` lies in, and those above each partition (``name=value``) or ``data`` folder."""
    folders = literal.split("/")[:-1]
    found = ["/".join(folders) + "/" if folders else ""]
    for i, folder in enumerate(folders):
        if folder == "data" or _PARTITION.fullmatch(folder):
            parent = "/".join(folders[:i])
            found.append(parent + "/" if parent else "")
    return list(dict.fromkeys(found))


def _refuse_table(target: S3Uri, key: str, endpoint: str | None) -> None:
    """Raise if ``key`` is a Delta log entry or an Iceberg metadata file: its folder is a table."""
    delta = _DELTA_LOG.search(key)
    iceberg = None if delta else _ICEBERG_METADATA.search(key)
    found = delta or iceberg
    if found is None:
        return
    root = key[: found.start() + (1 if found.group().startswith("/") else 0)]
    kind, code = ("Delta Lake", "DeltaTable") if delta else ("Apache Iceberg", "IcebergTable")
    table = f"s3://{target.bucket}/{root}"
    raise S3FormatError(
        f"{target} reaches into the {kind} table at {table} without being its root",
        uri=str(target), bucket=target.bucket, key=target.key, code=code, endpoint=endpoint,
        hints={"table": table, "table_kind": kind, "marker": key},
    )


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """``*`` within a segment, ``**`` across segments (``**/`` also none), ``?`` one character, ``[...]`` a set."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 2 :]:
            end = pattern.index("]", i + 2)
            # fnmatch knows the set syntax ([!a-c]); only its inner regex is kept.
            out.append(fnmatch.translate(pattern[i : end + 1])[4:-3])
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out), re.DOTALL)


def _hidden(relative: str) -> bool:
    return any(part[:1] in ("_", ".") for part in relative.split("/") if part)


def _partitions_of(key: str) -> dict[str, str]:
    folders = key.split("/")[:-1]
    found = {}
    for folder in folders:
        match = _PARTITION.fullmatch(folder)
        if match:
            found[unquote(match[1])] = unquote(match[2])
    return found
