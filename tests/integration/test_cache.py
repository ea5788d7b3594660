"""The local cache (``load(..., cache=...)``, ``%%s3ingest --cache``, ``%s3ingest_cache``) over HTTP.

Objects live on moto behind the :class:`FaultProxy`, whose request log tells how many HEADs and GETs a load
made. Every cache lives in the test's temporary directory (``XDG_CACHE_HOME`` points there too), so no
test writes to the real ``~/.cache``.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest
from faults.proxy import FaultProxy
from helpers import make_frame, to_bytes
from IPython.utils.capture import capture_output

import dreambolt_magic
from dreambolt_magic.cache import Cache, default_directory, open_cache

if TYPE_CHECKING:
    from conftest import S3Helper
    from IPython.core.interactiveshell import InteractiveShell

BUCKET = "cached"


@pytest.fixture(autouse=True)
def _private_cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    return home


@pytest.fixture
def objects(s3: S3Helper) -> dict[str, tuple[str, pd.DataFrame]]:
    """Bucket ``cached`` with a CSV and a Parquet object: format -> (uri, frame)."""
    s3.make_bucket(BUCKET)
    found = {}
    for n, format in enumerate(("csv", "parquet")):
        frame = make_frame(200, seed=n)
        found[format] = (s3.put(BUCKET, f"data.{format}", to_bytes(frame, format)), frame)
    return found


def counts(proxy: FaultProxy) -> dict[str, int]:
    """Requests by method, then the log is forgotten."""
    seen: dict[str, int] = {}
    for request in proxy.requests:
        seen[request.method] = seen.get(request.method, 0) + 1
    proxy.clear()
    return seen


def load(uri: str, proxy: FaultProxy, **kw: Any) -> pd.DataFrame:
    return dreambolt_magic.load(uri, endpoint_url=proxy.endpoint_url, progress=False, **kw)


@pytest.mark.parametrize("format", ["csv", "parquet"])
def test_the_second_load_is_one_head_and_no_get(
    proxy: FaultProxy, objects: dict[str, tuple[str, pd.DataFrame]], tmp_path: Path, format: str
) -> None:
    uri, source = objects[format]
    store = tmp_path / "cache"
    first = load(uri, proxy, cache=store)
    assert first.attrs["s3"]["cached"] is False
    assert counts(proxy).get("GET") == 1  # the first load is an ordinary download (no HEAD first)

    second = load(uri, proxy, cache=store)
    assert counts(proxy) == {"HEAD": 1}
    pd.testing.assert_frame_equal(second, first)
    pd.testing.assert_frame_equal(second, source)
    info = second.attrs["s3"]
    assert info["cached"] is True
    assert info["bytes_fetched"] == 0
    assert info["etag"] == first.attrs["s3"]["etag"]
    assert info["size"] == first.attrs["s3"]["size"]


def test_cached_bytes_are_parsed_like_downloaded_ones(
    proxy: FaultProxy, objects: dict[str, tuple[str, pd.DataFrame]], tmp_path: Path
) -> None:
    uri, source = objects["parquet"]
    load(uri, proxy, cache=tmp_path)
    proxy.clear()
    df = load(uri, proxy, cache=tmp_path, columns=["id", "value"], nrows=5)
    assert counts(proxy) == {"HEAD": 1}
    pd.testing.assert_frame_equal(df, source[["id", "value"]].head(5))


def test_a_changed_object_is_fetched_again_and_replaces_its_entry(
    proxy: FaultProxy, s3: S3Helper, objects: dict[str, tuple[str, pd.DataFrame]], tmp_path: Path
) -> None:
    uri, _ = objects["csv"]
    load(uri, proxy, cache=tmp_path)
    changed = make_frame(50, seed=9)
    s3.put(BUCKET, "data.csv", to_bytes(changed, "csv"))
    proxy.clear()

    df = load(uri, proxy, cache=tmp_path)
    assert counts(proxy) == {"HEAD": 1, "GET": 1}
    assert df.attrs["s3"]["cached"] is False
    pd.testing.assert_frame_equal(df, changed)
    assert len(Cache(tmp_path).entries()) == 1  # replaced, not added

    again = load(uri, proxy, cache=tmp_path)
    assert counts(proxy) == {"HEAD": 1}
    assert again.attrs["s3"]["cached"] is True
    pd.testing.assert_frame_equal(again, changed)


def test_a_deleted_object_is_not_served_from_the_cache(
    proxy: FaultProxy, s3: S3Helper, objects: dict[str, tuple[str, pd.DataFrame]], tmp_path: Path
) -> None:
    uri, _ = objects["csv"]
    load(uri, proxy, cache=tmp_path)
    s3.client.delete_object(Bucket=BUCKET, Key="data.csv")
    with pytest.raises(dreambolt_magic.S3NotFound):
        load(uri, proxy, cache=tmp_path)


def test_least_recently_used_entries_are_evicted(s3: S3Helper, proxy: FaultProxy, tmp_path: Path) -> None:
    s3.make_bucket(BUCKET)
    payload = {name: to_bytes(make_frame(300, seed=n), "csv") for n, name in enumerate("abc")}
    uris = {name: s3.put(BUCKET, f"{name}.csv", body) for name, body in payload.items()}
    # Room for two objects (and their headers), not three.
    store = Cache(tmp_path, max_bytes=max(map(len, payload.values())) * 2 + 2048)
    load(uris["a"], proxy, cache=store)
    load(uris["b"], proxy, cache=store)
    a_path = store.path_for(proxy.endpoint_url, BUCKET, "a.csv")
    os.utime(a_path, (1, 1))  # a long time ago
    load(uris["b"], proxy, cache=store)  # used again: now the most recent
    os.utime(store.path_for(proxy.endpoint_url, BUCKET, "b.csv"), (2, 2))
    load(uris["a"], proxy, cache=store)  # a hit: marks a used now, so b is the oldest
    proxy.clear()

    load(uris["c"], proxy, cache=store)
    assert sorted(e.key for e in store.entries()) == ["a.csv", "c.csv"]
    assert store.size() <= store.max_bytes
    proxy.clear()
    load(uris["b"], proxy, cache=store)
    assert counts(proxy) == {"GET": 1}  # evicted: fetched again, with no HEAD first (no entry)


def test_an_object_larger_than_the_cache_is_not_kept(
    proxy: FaultProxy, objects: dict[str, tuple[str, pd.DataFrame]], tmp_path: Path
) -> None:
    uri, source = objects["csv"]
    store = Cache(tmp_path, max_bytes=100)
    pd.testing.assert_frame_equal(load(uri, proxy, cache=store), source)
    assert store.entries() == []


def test_the_directory_is_private_and_holds_no_credentials(
    proxy: FaultProxy, objects: dict[str, tuple[str, pd.DataFrame]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t-never-stored")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDNEVERSTORED")
    old = os.umask(0o022)
    try:
        load(objects["csv"][0], proxy, cache=True)
    finally:
        os.umask(old)
    directory = default_directory()
    assert directory == tmp_path / "xdg" / "dreambolt_magic"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    (entry,) = list(directory.iterdir())
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    content = entry.read_bytes()
    assert b"s3cr3t-never-stored" not in content and b"AKIDNEVERSTORED" not in content


def test_the_endpoint_is_stored_without_a_password(tmp_path: Path) -> None:
    store = Cache(tmp_path)
    assert store.put("http://user:pw@127.0.0.1:9000", "b", "k", None, b"x,y\n1,2\n", etag='"e"')
    (entry,) = store.entries()
    assert entry.endpoint == "http://127.0.0.1:9000"
    assert b"pw" not in entry.path.read_bytes()


def test_open_cache_reads_its_spec(tmp_path: Path) -> None:
    assert open_cache(None) is None and open_cache(False) is None
    assert open_cache(True).directory == default_directory()  # type: ignore[union-attr]
    assert open_cache(str(tmp_path)).directory == tmp_path  # type: ignore[union-attr]
    store = Cache(tmp_path, max_bytes=10)
    assert open_cache(store) is store
    with pytest.raises(TypeError):
        open_cache(3)
    with pytest.raises(ValueError):
        Cache(tmp_path, max_bytes=0)


def test_a_damaged_entry_is_a_miss(
    proxy: FaultProxy, objects: dict[str, tuple[str, pd.DataFrame]], tmp_path: Path
) -> None:
    uri, source = objects["csv"]
    load(uri, proxy, cache=tmp_path)
    (entry,) = Cache(tmp_path).entries()
    entry.path.write_bytes(entry.path.read_bytes()[:-10])  # cut short
    proxy.clear()
    df = load(uri, proxy, cache=tmp_path)
    assert counts(proxy) == {"HEAD": 1, "GET": 1}
    pd.testing.assert_frame_equal(df, source)


def test_many_objects_are_cached_one_by_one(s3: S3Helper, proxy: FaultProxy, tmp_path: Path) -> None:
    s3.make_bucket(BUCKET)
    frames = [make_frame(20, seed=n) for n in range(3)]
    for n, frame in enumerate(frames):
        s3.put(BUCKET, f"parts/{n}.csv", to_bytes(frame, "csv"))
    first = load(f"s3://{BUCKET}/parts/", proxy, cache=tmp_path)
    proxy.clear()
    second = load(f"s3://{BUCKET}/parts/", proxy, cache=tmp_path)
    # The listing is a GET of the bucket, and its ETags validate the entries: no HEAD, no object's body.
    assert [(r.method, r.path) for r in proxy.requests] == [("GET", f"/{BUCKET}")]
    pd.testing.assert_frame_equal(second, first)
    assert all(o["cached"] for o in second.attrs["s3"]["objects"])
    assert [o["etag"] for o in second.attrs["s3"]["objects"]] == [o["etag"] for o in first.attrs["s3"]["objects"]]
    assert [o["last_modified"] for o in second.attrs["s3"]["objects"]] == [
        o["last_modified"] for o in first.attrs["s3"]["objects"]]


def test_a_listed_object_that_changed_is_fetched_again_without_a_head(
    s3: S3Helper, proxy: FaultProxy, tmp_path: Path
) -> None:
    s3.make_bucket(BUCKET)
    frames = [make_frame(20, seed=n) for n in range(4)]
    for n, frame in enumerate(frames):
        s3.put(BUCKET, f"parts/{n}.csv", to_bytes(frame, "csv"))
    load(f"s3://{BUCKET}/parts/*.csv", proxy, cache=tmp_path)
    frames[2] = make_frame(7, seed=99)
    s3.put(BUCKET, "parts/2.csv", to_bytes(frames[2], "csv"))
    s3.client.delete_object(Bucket=BUCKET, Key="parts/3.csv")
    proxy.clear()
    df = load(f"s3://{BUCKET}/parts/*.csv", proxy, cache=tmp_path)
    seen = sorted((r.method, r.path) for r in proxy.requests)
    assert seen == [("GET", f"/{BUCKET}"), ("GET", f"/{BUCKET}/parts/2.csv")]  # the listing, the changed object
    pd.testing.assert_frame_equal(df, pd.concat(frames[:3], ignore_index=True))
    assert [o["cached"] for o in df.attrs["s3"]["objects"]] == [True, True, False]
    proxy.clear()
    load(f"s3://{BUCKET}/parts/*.csv", proxy, cache=tmp_path)
    assert [(r.method, r.path) for r in proxy.requests] == [("GET", f"/{BUCKET}")]  # the new entry is a hit


# --- the magics --------------------------------------------------------------------------------------


@pytest.fixture
def magic(ip: InteractiveShell, proxy: FaultProxy, tmp_path: Path) -> InteractiveShell:
    ip.run_line_magic("config", f"S3IngestMagics.endpoint_url = {proxy.endpoint_url!r}")
    ip.run_line_magic("config", f"S3IngestMagics.cache_dir = {str(tmp_path / 'magic-cache')!r}")
    return ip


def test_the_magic_caches_with_the_flag(
    magic: InteractiveShell, proxy: FaultProxy, objects: dict[str, tuple[str, pd.DataFrame]]
) -> None:
    uri, source = objects["csv"]
    magic.run_cell_magic("s3ingest", "df --quiet", uri)
    magic.run_cell_magic("s3ingest", "df --quiet", uri)
    assert counts(proxy).get("GET") == 2  # no cache by default

    magic.run_cell_magic("s3ingest", "df --quiet --cache", uri)
    proxy.clear()
    magic.run_cell_magic("s3ingest", "df --quiet --cache", uri)
    assert counts(proxy) == {"HEAD": 1}
    pd.testing.assert_frame_equal(magic.user_ns["df"], source)
    assert magic.user_ns["df"].attrs["s3"]["cached"] is True


def test_the_config_default_and_no_cache(
    magic: InteractiveShell, proxy: FaultProxy, objects: dict[str, tuple[str, pd.DataFrame]]
) -> None:
    uri, _ = objects["csv"]
    magic.run_line_magic("config", "S3IngestMagics.cache = True")
    magic.run_cell_magic("s3ingest", "df --quiet", uri)
    proxy.clear()
    magic.run_cell_magic("s3ingest", "df --quiet", uri)
    assert counts(proxy) == {"HEAD": 1}
    magic.run_cell_magic("s3ingest", "df --quiet --no-cache", uri)
    assert counts(proxy) == {"GET": 1}


def test_the_cache_magic_shows_and_clears(
    magic: InteractiveShell, proxy: FaultProxy, objects: dict[str, tuple[str, pd.DataFrame]], tmp_path: Path
) -> None:
    for uri, _ in objects.values():
        magic.run_cell_magic("s3ingest", "df --quiet --cache", uri)
    with capture_output() as shown:
        store = magic.run_line_magic("s3ingest_cache", "")
    assert "2 objects" in shown.stdout
    assert objects["csv"][0] in shown.stdout and objects["parquet"][0] in shown.stdout
    assert store.directory == tmp_path / "magic-cache"
    with capture_output() as shown:
        magic.run_line_magic("s3ingest_cache", "clear")
    assert "Removed 2 cached objects" in shown.stdout
    assert store.entries() == []
    proxy.clear()
    magic.run_cell_magic("s3ingest", "df --quiet --cache", objects["csv"][0])
    assert counts(proxy).get("GET") == 1


def test_the_cache_magic_refuses_unknown_arguments(magic: InteractiveShell) -> None:
    from IPython.core.error import UsageError

    with pytest.raises(UsageError):
        magic.run_line_magic("s3ingest_cache", "purge")


def test_the_cache_size_is_validated(magic: InteractiveShell) -> None:
    from traitlets import TraitError

    from dreambolt_magic.magics import S3IngestMagics

    with pytest.raises(TraitError):
        S3IngestMagics(magic, cache_size=0)
