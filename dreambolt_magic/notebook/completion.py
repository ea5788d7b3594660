"""Tab completion of S3 URIs, and of the magic's option names.

One IPython matcher (IPython's matcher API v2), registered by the extension, completes

- ``s3://`` with the buckets the credentials may list (ListBuckets), and ``s3://bucket/pre`` with the
  folders and objects under ``pre`` (one ListObjectsV2 page of at most :data:`PAGE_SIZE`, folders first):
  in a ``%s3ingest`` or ``%s3ingest_info`` line, in a ``%%s3ingest`` cell (its line and its body), and in
  any string literal of code (``dreambolt_magic.load("s3://bucket/``);
- ``s3://ARN/`` (an access point's whole ARN, then ``/``) with the keys listed through the access point, on
  AWS only (with an endpoint URL the loader refuses an ARN, and nothing is sent);
- S3 ``https://`` URLs in their own form: ``https://bucket.s3.REGION.amazonaws.com/pre`` (virtual-hosted) with
  keys, ``https://s3.REGION.amazonaws.com/`` (path-style) with buckets and keys, percent-encoded as the loader
  decodes them. Only AWS's S3 hosts are listed, and a store's own URL if it is the endpoint the listings go to:
  a URL of any other host (a web page in a string, another store) is sent nothing. A virtual-hosted URL's
  bucket is not completed: until it is typed, nothing says the host is S3's;
- ``--`` in a ``%s3ingest`` line, or a ``%%s3ingest`` cell's first line, with the magic's option names.

Listings use the magics' settings (``%config S3IngestMagics``: endpoint, profile, region, anonymous
access, requester pays), overridden by the line's own ``--endpoint-url``, ``--profile``, ``--region``,
``--anon`` and ``--requester-pays``, and go through :mod:`dreambolt_magic.datasets.browse` on a lent
session (the connection a load kept, if it has these settings). Each listing is kept :data:`FRESH_FOR`
seconds; a shorter one that was complete answers a longer prefix in the same folder without a request.
A Tab waits at most :data:`TIME_LIMIT` seconds for a listing, which runs on a thread of its own: what has
not come by then is not offered (it is kept when it comes, for the next Tab), so a slow or unreachable
endpoint never holds up typing. A listing that fails offers nothing; the failure is logged at debug level.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from IPython.core.completer import CompletionContext, SimpleCompletion, context_matcher

from dreambolt_magic.arns import split_arn
from dreambolt_magic.errors import S3UriError
from dreambolt_magic.notebook.arguments import ARGUMENTS
from dreambolt_magic.options import ConnectOptions
from dreambolt_magic.uri import parse

__all__ = ["FRESH_FOR", "IDENTIFIER", "PAGE_SIZE", "TIME_LIMIT", "S3Completion", "register", "unregister"]

log = logging.getLogger(__name__)

#: The matcher's identifier (``%config IPCompleter.disable_matchers = ["dreambolt_magic.s3"]`` turns it off).
IDENTIFIER = "dreambolt_magic.s3"
#: Seconds a Tab waits for a listing.
TIME_LIMIT = 1.5
#: Seconds a listing is reused for.
FRESH_FOR = 30.0
#: Entries one listing asks for (S3 returns at most 1000).
PAGE_SIZE = 1000
#: Listings under way at once (an unreachable endpoint holds each up to its timeouts); beyond, a Tab waits
#: for none.
RUNNING_MAX = 4
# Completion is one more Tab away: it retries less than a load does.
_ATTEMPTS = 2

# A line that runs the magic: "%s3ingest ...", "df = %s3ingest ...", "%%s3ingest df ...", "%s3ingest_info ...".
_MAGIC_LINE = re.compile(r"\s*(?:[\w.]+\s*=\s*)?%{1,2}s3ingest(?:_info)?(?=\s|$)")
_CELL_MAGIC = re.compile(r"\s*%%s3ingest(?=\s|$)")
# The URI being typed: after a quote (a string literal), a space or the start of the line.
_URI = re.compile(r"(^|[\s'\"])(s3a?://|https?://)([^\s'\"]*)$")
_VALUED = {"--endpoint-url": "endpoint_url", "--profile": "profile", "--region": "region"}
_FLAGS = {"--anon": "anon", "--requester-pays": "requester_pays"}
#: What the line may say of the connection, by the name the magic's arguments give it.
_SETTINGS = (*_VALUED.values(), *_FLAGS.values())


class S3Completion:
    """The matcher, with the listings it keeps; ``magics`` is the
    :class:`~dreambolt_magic.notebook.magics.S3IngestMagics` whose settings apply, read at each Tab."""

    def __init__(self, magics: Any, *, time_limit: float = TIME_LIMIT, fresh_for: float = FRESH_FOR) -> None:
        self.magics = magics
        self.time_limit = time_limit
        self.listings = Listings(fresh_for)

    @context_matcher(identifier=IDENTIFIER)
    def matcher(self, context: CompletionContext) -> dict[str, Any]:
        """What IPython calls on Tab (a ``SimpleMatcherResult``): S3 URIs or option names where they are being
        typed, else nothing."""
        try:
            found = self.complete(context.full_text, context.cursor_line, context.text_until_cursor)
        except Exception:  # a completion that fails offers nothing; it must never break typing
            log.debug("completion failed", exc_info=True)
            found = None
        if not found or not found[1]:
            return {"completions": [], "suppress": False}
        fragment, completions = found
        return {"completions": completions[: context.limit or None], "matched_fragment": fragment,
                "suppress": True, "ordered": True}

    def complete(self, text: str, line_number: int, before: str) -> tuple[str, list[SimpleCompletion]] | None:
        """The text to replace and its completions, for a cursor after ``before`` on line ``line_number``
        of ``text``; ``None`` where this completes nothing."""
        lines = text.split("\n")
        magic_line = _MAGIC_LINE.match(before) is not None
        in_body = line_number > 0 and _CELL_MAGIC.match(lines[0]) is not None
        uri = _URI.search(before)
        if uri is not None and (uri.group(1) in ("'", '"') or magic_line or in_body):
            # The settings the magic's line gives, after the cursor too.
            line = lines[line_number] if magic_line else lines[0] if in_body else ""
            scheme, rest = uri.group(2), uri.group(3)
            return scheme + rest, self._s3(scheme, rest, line)
        word = before.rsplit(None, 1)[-1] if before and not before[-1].isspace() else ""
        if magic_line and word.startswith("-"):
            return word, _option_names(word, before)
        return None

    def _s3(self, scheme: str, rest: str, line: str) -> list[SimpleCompletion]:
        if scheme.startswith("http"):
            return self._url(scheme, rest, line)
        options, region = self._settings(line)
        if rest.startswith("arn:"):
            return self._access_point(scheme, rest, options, region)
        if "/" not in rest:
            return self._buckets(scheme, rest, options, region)
        bucket, _, path = rest.partition("/")
        return self._keys(f"{scheme}{bucket}/", options, region, bucket, path) if bucket else []

    def _buckets(self, start: str, typed: str, options: ConnectOptions, region: str | None) -> list[SimpleCompletion]:
        names = self.listings.get((options, region), lambda: _bucket_names(options, region), self.time_limit)
        return [SimpleCompletion(f"{start}{name}/", type="bucket") for name in names or () if name.startswith(typed)]

    def _keys(self, start: str, options: ConnectOptions, region: str | None, bucket: str,
              path: str) -> list[SimpleCompletion]:
        """The folders and objects under ``path`` in ``bucket``, written after ``start`` (percent-encoded in a URL)."""
        listing = self._listing(options, region, bucket, path)
        if listing is None:
            return []
        write = _quoted if start.startswith("http") else str
        folders = [SimpleCompletion(start + write(f), type="folder") for f in listing.folders if f.startswith(path)]
        return folders + [SimpleCompletion(start + write(o.key), type="object") for o in listing.objects
                          if o.key.startswith(path)]

    def _access_point(self, scheme: str, rest: str, options: ConnectOptions,
                      region: str | None) -> list[SimpleCompletion]:
        """Keys, once the access point's whole ARN and a ``/`` are typed: the bucket is the ARN (botocore sends the
        listing to the access point's host). Nothing with an endpoint URL, where the loader refuses an ARN."""
        try:
            point, path = split_arn(rest)
        except ValueError:  # still being typed
            return []
        if options.endpoint_url or not rest.startswith(point.arn + "/"):
            return []
        return self._keys(f"{scheme}{point.arn}/", options, region, point.arn, path)

    def _url(self, scheme: str, rest: str, line: str) -> list[SimpleCompletion]:
        """An S3 https:// URL's buckets (path-style) or keys, in the URL's own form."""
        host, slash, after = rest.partition("/")
        if not slash or "?" in after or "#" in after:
            return []
        try:  # the host names the bucket (virtual-hosted), or the path does (path-style, a store's URL)
            probe = parse(f"{scheme}{host}/probe/key")
        except S3UriError:  # no S3 URL the loader reads (a user:password@, a console page, another AWS service)
            return []
        options, region = self._settings(line)
        if probe.endpoint is not None and probe.endpoint != _origin(options.endpoint_url):
            # Not AWS, and not where the listings go: a web page, or another store. Sent nothing.
            return []
        region = region or probe.region
        if probe.bucket != "probe":
            return self._keys(f"{scheme}{host}/", options, region, probe.bucket, unquote(after))
        if "/" not in after:
            return self._buckets(f"{scheme}{host}/", unquote(after), options, region)
        typed_bucket, _, typed_key = after.partition("/")
        bucket = unquote(typed_bucket)
        return self._keys(f"{scheme}{host}/{typed_bucket}/", options, region, bucket, unquote(typed_key))

    def _listing(self, options: ConnectOptions, region: str | None, bucket: str, path: str) -> Any:
        # A complete listing of a shorter prefix in the same folder holds every entry this one would.
        folder = path.rpartition("/")[0] + "/" if "/" in path else ""
        for end in range(len(path) - 1, len(folder) - 1, -1):
            shorter = self.listings.fresh((options, region, bucket, path[:end]))
            if shorter is not None and shorter.next_token is None:
                return shorter
        return self.listings.get((options, region, bucket, path),
                                 lambda: _prefix_page(options, region, bucket, path), self.time_limit)

    def _settings(self, line: str) -> tuple[ConnectOptions, str | None]:
        given = _line_settings(line)
        line_args = SimpleNamespace(**{name: given.get(name) for name in _SETTINGS}, max_attempts=None)
        settings = self.magics.connection_settings(line_args)  # as the magic would load it
        region = settings.pop("region")
        options = ConnectOptions.of(**{**settings, "max_attempts": min(settings["max_attempts"], _ATTEMPTS)})
        from dreambolt_magic.client.connection import endpoint_from_env  # botocore: not at %load_ext

        return options.at(options.endpoint_url or endpoint_from_env()), region


class Listings:
    """Answers kept for ``fresh_for`` seconds, and those under way, by what they answer."""

    def __init__(self, fresh_for: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.fresh_for = fresh_for
        self.clock = clock
        self._lock = threading.Lock()
        self._kept: dict[Hashable, tuple[float, Any]] = {}
        self._running: dict[Hashable, Future[Any]] = {}

    def fresh(self, key: Hashable) -> Any:
        """The kept answer for ``key`` if it is fresh, else ``None``."""
        with self._lock:
            return self._fresh(key)

    def get(self, key: Hashable, fetch: Callable[[], Any], wait: float) -> Any:
        """The answer for ``key``: kept, else ``fetch()``'s on a thread (one per key at a time), if it comes
        within ``wait`` seconds; else ``None`` (and it is kept when it comes)."""
        with self._lock:
            kept = self._fresh(key)
            if kept is not None:
                return kept
            future = self._running.get(key)
            if future is None:
                if len(self._running) >= RUNNING_MAX:
                    log.debug("completion: %d listings under way already; not starting another", RUNNING_MAX)
                    return None
                future = self._running[key] = Future()
                threading.Thread(target=self._run, args=(key, fetch, future), name="dreambolt-completion",
                                 daemon=True).start()
        try:
            return future.result(timeout=wait)
        except FutureTimeout:
            log.debug("completion: no listing within %.1f s; it is kept for the next Tab if it comes", wait)
            return None

    def _fresh(self, key: Hashable) -> Any:
        entry = self._kept.get(key)
        if entry is None:
            return None
        if self.clock() - entry[0] >= self.fresh_for:
            del self._kept[key]
            return None
        return entry[1]

    def _run(self, key: Hashable, fetch: Callable[[], Any], future: Future[Any]) -> None:
        answer = None
        try:
            answer = fetch()
        except Exception as exc:  # completion offers nothing, and says why to debug logs only
            log.debug("completion: listing failed: %s", exc)
        with self._lock:
            now = self.clock()
            if answer is not None:
                for old in [k for k, (when, _) in self._kept.items() if now - when >= self.fresh_for]:
                    del self._kept[old]
                self._kept[key] = (now, answer)
            self._running.pop(key, None)
        future.set_result(answer)


def _bucket_names(options: ConnectOptions, region: str | None) -> list[str]:
    from dreambolt_magic.datasets import browse

    with browse.Session.lent(options) as session:
        return browse.bucket_names(session, region)


def _prefix_page(options: ConnectOptions, region: str | None, bucket: str, path: str) -> Any:
    from dreambolt_magic.datasets import browse

    with browse.Session.lent(options) as session:
        return browse.prefix_page(session, bucket, path, page_size=PAGE_SIZE, region=region)


def _quoted(key: str) -> str:
    """``key`` as an https:// URL's path holds it: percent-encoded, which the loader decodes (``=`` of a Hive
    folder kept as it is)."""
    return quote(key, safe="/=")


def _origin(endpoint_url: str | None) -> str | None:
    """``scheme://host[:port]`` of an endpoint URL, as :func:`~dreambolt_magic.uri.parse` gives a URL's."""
    if not endpoint_url:
        return None
    parts = urlsplit(endpoint_url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower().rpartition('@')[2]}"


def _line_settings(line: str) -> dict[str, Any]:
    """The connection settings a magic's line gives (``--endpoint-url URL`` or ``--endpoint-url=URL``, ...)."""
    words = line.split()
    given: dict[str, Any] = {}
    for i, word in enumerate(words):
        flag, equals, value = word.partition("=")
        if flag in _VALUED:
            value = value if equals else words[i + 1] if i + 1 < len(words) else ""
            if value.strip("'\""):
                given[_VALUED[flag]] = value.strip("'\"")
        elif word in _FLAGS:
            given[_FLAGS[word]] = True
    return given


def _option_names(word: str, line: str) -> list[SimpleCompletion]:
    """The magic's long options that start with ``word``, but those the line has already (``--option`` repeats)."""
    given = set(line.split()[:-1])
    names = [flag for argument in ARGUMENTS for flag in argument.args if flag.startswith("--")]
    return [SimpleCompletion(name, type="option") for name in names if name.startswith(word) and
            (name not in given or name == "--option")]


def register(shell: Any, magics: Any) -> S3Completion:
    """Add the matcher to ``shell``'s completer (replacing one an earlier load added), for ``magics``."""
    unregister(shell)
    completion = S3Completion(magics)
    shell.Completer.custom_matchers.append(completion.matcher)
    return completion


def unregister(shell: Any) -> None:
    """Take the matcher out of ``shell``'s completer, if it is there."""
    completer = getattr(shell, "Completer", None)
    if completer is not None:
        completer.custom_matchers[:] = [m for m in completer.custom_matchers
                                        if getattr(m, "matcher_identifier", None) != IDENTIFIER]
