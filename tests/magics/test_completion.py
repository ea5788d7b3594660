"""Tab completion of S3 URIs and option names, through the shell's own completer (``Completer.completions``),
against moto over HTTP: buckets, folders and keys, in a magic's line, a cell's body and a string in code; the
magics' settings; the listings kept; the time limit; registration across loads and unloads."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.completer import Completion, provisionalcompleter
from IPython.core.interactiveshell import InteractiveShell

from dreambolt_magic.notebook import completion

SECTION = "S3IngestMagics"
BODY = b"a,b\n1,2\n"
KEYS = ("readme.txt", "sales.csv", "sales/2023/dec.csv", "sales/2024/feb.csv", "sales/2024/jan.csv")


@pytest.fixture
def buckets(s3: Any) -> None:
    """Buckets ``alpha`` (a few small objects in folders) and ``beta`` (empty)."""
    s3.make_bucket("alpha")
    s3.make_bucket("beta")
    for key in KEYS:
        s3.put("alpha", key, BODY)


def completions(ip: InteractiveShell, text: str) -> list[Completion]:
    """What Tab offers with the cursor at the end of ``text``."""
    with provisionalcompleter():
        return list(ip.Completer.completions(text, len(text)))


def offered(ip: InteractiveShell, text: str) -> list[str]:
    """The texts of the S3 URIs and option names offered at the end of ``text``."""
    return [c.text for c in completions(ip, text) if c.text.startswith(("s3://", "--"))]


def configure(ip: InteractiveShell, name: str, value: Any) -> None:
    ip.run_line_magic("config", f"{SECTION}.{name} = {value!r}")


def test_buckets_complete_after_the_scheme(ip: InteractiveShell, buckets: None) -> None:
    assert offered(ip, "%s3ingest s3://") == ["s3://alpha/", "s3://beta/"]
    assert offered(ip, "df = %s3ingest s3://al") == ["s3://alpha/"]


def test_a_folder_lists_its_folders_then_its_objects(ip: InteractiveShell, buckets: None) -> None:
    assert offered(ip, "%s3ingest s3://alpha/") == ["s3://alpha/sales/", "s3://alpha/readme.txt",
                                                    "s3://alpha/sales.csv"]
    assert offered(ip, "%s3ingest s3://alpha/sales/") == ["s3://alpha/sales/2023/", "s3://alpha/sales/2024/"]


def test_keys_under_a_prefix_replace_the_whole_uri(ip: InteractiveShell, buckets: None) -> None:
    text = "df = %s3ingest s3://alpha/sales/2024/f"
    found = [c for c in completions(ip, text) if c.text.startswith("s3://")]
    assert [c.text for c in found] == ["s3://alpha/sales/2024/feb.csv"]
    # The completion replaces the URI typed so far, from its scheme: the front end inserts it whole.
    assert (found[0].start, found[0].end) == (text.index("s3://"), len(text))


def test_a_cell_body_completes_with_the_settings_of_its_first_line(ip: InteractiveShell, buckets: None,
                                                                   s3: Any) -> None:
    assert offered(ip, "%%s3ingest df\ns3://alpha/sales/2024/") == ["s3://alpha/sales/2024/feb.csv",
                                                                    "s3://alpha/sales/2024/jan.csv"]
    # The cell's own --endpoint-url applies, over %config's (here an endpoint where nothing listens).
    configure(ip, "endpoint_url", f"http://127.0.0.1:{_free_port()}")
    text = f"%%s3ingest df --endpoint-url {s3.endpoint_url}\ns3://alpha/sales/2023/"
    assert offered(ip, text) == ["s3://alpha/sales/2023/dec.csv"]


def test_a_string_in_code_completes(ip: InteractiveShell, buckets: None) -> None:
    text = 'import dreambolt_magic as dm\ndf = dm.load("s3://alpha/sa'
    assert offered(ip, text) == ["s3://alpha/sales/", "s3://alpha/sales.csv"]
    assert offered(ip, "dm.load('s3://b") == ["s3://beta/"]


def test_a_uri_outside_a_string_or_the_magic_is_left_alone(ip: InteractiveShell, buckets: None) -> None:
    assert offered(ip, "x = s3://alpha/") == []
    assert offered(ip, "%ls s3://alpha/") == []


def test_option_names_complete_after_dashes(ip: InteractiveShell) -> None:
    assert offered(ip, "%s3ingest s3://alpha/sales.csv --en") == ["--endpoint-url", "--engine", "--encoding"]
    assert offered(ip, "%%s3ingest df --no-") == ["--no-progress", "--no-cache"]
    # One the line has already is not offered again, but --option, which repeats, is.
    assert offered(ip, "%s3ingest s3://alpha/a.csv --nrows 3 --option a=1 --n") == ["--no-progress", "--no-cache"]
    assert "--option" in offered(ip, "%s3ingest s3://alpha/a.csv --option a=1 --op")


def test_the_magics_settings_apply(ip: InteractiveShell, buckets: None, proxy: Any) -> None:
    configure(ip, "endpoint_url", proxy.endpoint_url)
    configure(ip, "anon", True)
    configure(ip, "requester_pays", True)
    configure(ip, "region", "us-east-1")
    assert offered(ip, "%s3ingest s3://alpha/sales/2024/j") == ["s3://alpha/sales/2024/jan.csv"]
    seen = proxy.requests
    # The region set: no HeadBucket to find it; unsigned (no credential scope), and saying the requester pays.
    assert [(r.method, r.path) for r in seen] == [("GET", "/alpha")]
    assert [(r.region, r.request_payer) for r in seen] == [(None, "requester")]


def test_a_listing_is_kept_and_answers_longer_prefixes(ip: InteractiveShell, buckets: None, proxy: Any) -> None:
    configure(ip, "endpoint_url", proxy.endpoint_url)
    assert offered(ip, "%s3ingest s3://alpha/") == ["s3://alpha/sales/", "s3://alpha/readme.txt",
                                                    "s3://alpha/sales.csv"]
    first = len(proxy.requests)
    assert first >= 1
    assert offered(ip, "%s3ingest s3://alpha/") == ["s3://alpha/sales/", "s3://alpha/readme.txt",
                                                    "s3://alpha/sales.csv"]
    # The folder's listing was complete: it answers a name started in it, in a string too.
    assert offered(ip, "dm.load('s3://alpha/sa") == ["s3://alpha/sales/", "s3://alpha/sales.csv"]
    assert len(proxy.requests) == first
    # Another folder is another listing.
    assert offered(ip, "%s3ingest s3://alpha/sales/") == ["s3://alpha/sales/2023/", "s3://alpha/sales/2024/"]
    assert len(proxy.requests) == first + 1


def test_a_failure_offers_nothing_and_is_logged_at_debug(ip: InteractiveShell, buckets: None,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger=completion.__name__):
        assert offered(ip, "%s3ingest s3://missing/") == []
    assert any("listing failed" in r.getMessage() and "missing" in r.getMessage() for r in caplog.records)


@pytest.fixture
def silent_endpoint() -> Iterator[socket.socket]:
    """A socket on 127.0.0.1 that accepts connections (into its backlog) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener


def test_a_silent_endpoint_never_holds_typing_up(ip: InteractiveShell, buckets: None,
                                                  silent_endpoint: socket.socket) -> None:
    configure(ip, "endpoint_url", f"http://127.0.0.1:{silent_endpoint.getsockname()[1]}")
    configure(ip, "read_timeout", 5.0)
    for text in ("%s3ingest s3://alpha/", "%s3ingest s3://", "%s3ingest s3://alpha/"):
        started = time.monotonic()
        assert offered(ip, text) == []
        assert time.monotonic() - started < 2.5
    # The listings still waiting end once the endpoint goes away: none is left to a later test.
    silent_endpoint.close()
    deadline = time.monotonic() + 20
    while _listing_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _listing_threads() == []


def _listing_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "dreambolt-completion" and t.is_alive()]


def test_reload_registers_the_matcher_once_and_unload_removes_it(ip: InteractiveShell, buckets: None) -> None:
    def ours() -> int:
        return sum(getattr(m, "matcher_identifier", None) == completion.IDENTIFIER
                   for m in ip.Completer.custom_matchers)

    assert ours() == 1
    ip.run_line_magic("reload_ext", "dreambolt_magic")
    ip.run_line_magic("load_ext", "dreambolt_magic")
    assert ours() == 1
    ip.run_line_magic("unload_ext", "dreambolt_magic")
    assert ours() == 0
    assert offered(ip, "%s3ingest s3://alpha/") == []


def test_kept_listings_expire_and_one_listing_runs_per_key() -> None:
    now = [0.0]
    listings = completion.Listings(fresh_for=30.0, clock=lambda: now[0])
    calls: list[str] = []
    release = threading.Event()

    def fetch() -> str:
        calls.append("x")
        release.wait(5)
        return "answer"

    # Not there within the wait: nothing now, and a second Tab waits for the same listing.
    assert listings.get("k", fetch, wait=0.05) is None
    assert listings.get("k", fetch, wait=0.05) is None
    release.set()
    assert listings.get("k", fetch, wait=5) == "answer"
    now[0] = 29.0
    assert listings.get("k", fetch, wait=5) == "answer"
    assert calls == ["x"]
    now[0] = 30.0
    assert listings.get("k", fetch, wait=5) == "answer"
    assert calls == ["x", "x"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
