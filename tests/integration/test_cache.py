"""The local cache (``load(..., cache=...)``, ``%%s3ingest --cache``, ``%s3ingest_cache``) over HTTP.

Objects live on moto behind the :class:`FaultProxy`, whose request log tells how many HEADs and GETs a load
made. Every cache lives in the test's temporary directory (``XDG_CACHE_HOME`` points there too), so no
test writes to the real ``~/.cache``.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest
from faults.proxy import Corrupt, Fault, FaultProxy
from helpers import make_frame, to_bytes
from IPython.utils.capture import capture_output

import dreambolt_magic
from dreambolt_magic.errors import S3CacheError
from dreambolt_magic.objects.cache import Cache, default_directory, open_cache
from dreambolt_magic.transfer.checksums import digest
from dreambolt_magic.units import human_bytes

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


# --- what a hit can trust ------------------------------------------------------------------------


def stored_bytes(store: Cache, proxy: FaultProxy, key: str) -> bytes | None:
    """The bytes the cache would serve for ``key`` (ETag aside), or None without a whole entry."""
    entry = store.entry(proxy.endpoint_url, BUCKET, key)
    if entry is None:
        return None
    content = entry.path.read_bytes()
    return content[len(content) - entry.size:]


def test_an_entry_changed_on_disk_with_its_length_kept_is_fetched_again(
    proxy: FaultProxy, objects: dict[str, tuple[str, pd.DataFrame]], tmp_path: Path
) -> None:
    uri, source = objects["csv"]
    body = to_bytes(source, "csv")
    store = Cache(tmp_path)
    load(uri, proxy, cache=store)
    (entry,) = store.entries()
    content = bytearray(entry.path.read_bytes())
    # The last digit of the file (in the last row's value) made another: a frame that parses, wrong.
    at = next(i for i in range(len(content) - 1, 0, -1) if chr(content[i]).isdigit())
    content[at] = ord("1") if content[at] != ord("1") else ord("2")
    entry.path.write_bytes(bytes(content))
    proxy.clear()

    df = load(uri, proxy, cache=store)
    assert counts(proxy) == {"HEAD": 1, "GET": 1}  # the entry was not believed: fetched again
    assert df.attrs["s3"]["cached"] is False
    pd.testing.assert_frame_equal(df, source)
    assert stored_bytes(store, proxy, "data.csv") == body  # and rewritten good

    again = load(uri, proxy, cache=store)
    assert counts(proxy) == {"HEAD": 1}
    assert again.attrs["s3"]["cached"] is True
    pd.testing.assert_frame_equal(again, source)


@pytest.mark.parametrize("algorithm", ["CRC32", "SHA256"])
def test_a_download_damaged_on_the_way_is_not_served_later_from_the_cache(
    proxy: FaultProxy, s3: S3Helper, tmp_path: Path, algorithm: str
) -> None:
    # The object has a stored checksum; the first answer's body arrives with one byte flipped and its
    # length intact. What that first load returns is the transfer's to check; what the cache keeps is not.
    s3.make_bucket(BUCKET)
    source = make_frame(500, seed=3)
    body = to_bytes(source, "csv")
    uri = s3.put(BUCKET, "data.csv", body, ChecksumAlgorithm=algorithm)
    store = Cache(tmp_path)
    proxy.add(Fault(Corrupt(offset=len(body) // 2)))
    with contextlib.suppress(dreambolt_magic.S3Error):
        load(uri, proxy, cache=store, max_attempts=2)
    assert stored_bytes(store, proxy, "data.csv") in (None, body)  # never the damaged bytes
    proxy.clear()

    df = load(uri, proxy, cache=store)
    pd.testing.assert_frame_equal(df, source)
    assert stored_bytes(store, proxy, "data.csv") == body
    proxy.clear()
    again = load(uri, proxy, cache=store)
    assert counts(proxy) == {"HEAD": 1}
    assert again.attrs["s3"]["cached"] is True
    pd.testing.assert_frame_equal(again, source)


def test_an_entry_without_a_checksum_is_fetched_again_and_rewritten(
    proxy: FaultProxy, objects: dict[str, tuple[str, pd.DataFrame]], tmp_path: Path
) -> None:
    # The header of entries written before they had a checksum: the same format, without the field.
    uri, source = objects["csv"]
    store = Cache(tmp_path)
    load(uri, proxy, cache=store)
    (entry,) = store.entries()
    content = entry.path.read_bytes()
    magic = b"DBMCACHE1\n"
    (length,) = struct.unpack(">I", content[len(magic):len(magic) + 4])
    header = json.loads(content[len(magic) + 4:len(magic) + 4 + length])
    header.pop("checksum", None)
    encoded = json.dumps(header).encode()
    entry.path.write_bytes(magic + struct.pack(">I", len(encoded)) + encoded + content[-entry.size:])
    proxy.clear()

    df = load(uri, proxy, cache=store)
    assert counts(proxy) == {"HEAD": 1, "GET": 1}
    pd.testing.assert_frame_equal(df, source)
    again = load(uri, proxy, cache=store)
    assert counts(proxy) == {"HEAD": 1}
    assert again.attrs["s3"]["cached"] is True


def test_bytes_that_do_not_match_the_stored_checksum_are_not_kept(tmp_path: Path) -> None:
    store = Cache(tmp_path)
    data = b"a,b\n1,2\n"
    for field in ("ChecksumCRC32", "ChecksumSHA256"):
        wrong = digest(field, memoryview(b"a,b\n1,3\n"))
        assert not store.put(None, "b", "k", None, data, etag='"e"', checksum=(field, wrong))
        assert store.entries() == []
    # Bytes the transfer has checked already are not checked again: S3's CRC32 is kept as it is.
    crc = digest("ChecksumCRC32", memoryview(data))
    assert store.put(None, "b", "k", None, data, etag='"e"', checksum=("ChecksumCRC32", crc), verified=True)
    assert bytes(store.get(None, "b", "k", None, etag='"e"') or b"") == data


def test_a_loose_cache_directory_is_tightened_and_its_files_are_private(
    proxy: FaultProxy, objects: dict[str, tuple[str, pd.DataFrame]], tmp_path: Path
) -> None:
    uri, source = objects["csv"]
    directory = tmp_path / "cache"
    directory.mkdir()
    os.chmod(directory, 0o755)
    load(uri, proxy, cache=directory)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    (entry,) = Cache(directory).entries()
    assert stat.S_IMODE(entry.path.stat().st_mode) == 0o600

    os.chmod(directory, 0o775)  # loosened again, with an entry in it: a hit tightens it too
    proxy.clear()
    df = load(uri, proxy, cache=directory)
    assert counts(proxy) == {"HEAD": 1}
    pd.testing.assert_frame_equal(df, source)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_a_cache_directory_of_another_user_is_refused(
    proxy: FaultProxy, objects: dict[str, tuple[str, pd.DataFrame]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri, _ = objects["csv"]
    directory = tmp_path / "shared"
    directory.mkdir()
    os.chmod(directory, 0o777)
    if os.geteuid() == 0:
        os.chown(directory, 4242, 4242)
    else:
        monkeypatch.setattr(os, "geteuid", lambda: directory.stat().st_uid + 1)
    with pytest.raises(S3CacheError) as info:
        load(uri, proxy, cache=directory)
    assert f"chmod 700 {directory}" in str(info.value)
    assert f"chmod 700 {directory}" in info.value.remedy
    assert info.value.code == "CacheNotPrivate" and info.value.uri == uri
    assert proxy.count("GET", f"/{BUCKET}/data.csv") == 0  # refused before the download
    assert stat.S_IMODE(directory.stat().st_mode) == 0o777  # not ours to change
    assert list(directory.iterdir()) == []


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to give a file away")
def test_an_entry_file_another_user_owns_is_not_served(
    proxy: FaultProxy, objects: dict[str, tuple[str, pd.DataFrame]], tmp_path: Path
) -> None:
    uri, source = objects["csv"]
    store = Cache(tmp_path)
    load(uri, proxy, cache=store)
    (entry,) = store.entries()
    os.chown(entry.path, 4242, 4242)
    proxy.clear()
    df = load(uri, proxy, cache=store)
    assert counts(proxy) == {"HEAD": 1, "GET": 1}
    pd.testing.assert_frame_equal(df, source)
    rewritten = store.entry(proxy.endpoint_url, BUCKET, "data.csv")
    assert rewritten is not None and rewritten.path.stat().st_uid == os.geteuid()


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
        returned = magic.run_line_magic("s3ingest_cache", "")
    assert returned is None  # the listing is printed; no Out[] repr of the Cache repeats it
    assert "2 objects" in shown.stdout
    assert objects["csv"][0] in shown.stdout and objects["parquet"][0] in shown.stdout
    assert str(tmp_path / "magic-cache") in shown.stdout
    with capture_output() as shown:
        magic.run_line_magic("s3ingest_cache", "clear")
    assert "Removed 2 cached objects" in shown.stdout
    assert Cache(tmp_path / "magic-cache").entries() == []
    proxy.clear()
    magic.run_cell_magic("s3ingest", "df --quiet --cache", objects["csv"][0])
    assert counts(proxy).get("GET") == 1


def test_the_cache_magic_refuses_unknown_arguments(magic: InteractiveShell) -> None:
    from IPython.core.error import UsageError

    with pytest.raises(UsageError):
        magic.run_line_magic("s3ingest_cache", "purge")


def test_the_cache_size_is_validated(magic: InteractiveShell) -> None:
    from traitlets import TraitError

    from dreambolt_magic.notebook.magics import S3IngestMagics

    with pytest.raises(TraitError):
        S3IngestMagics(magic, cache_size=0)


def test_a_cache_hits_summary_says_so_and_claims_no_download_speed(
    s3: S3Helper, objects: dict[str, tuple[str, pd.DataFrame]], tmp_path: Path
) -> None:
    uri, _ = objects["parquet"]
    dreambolt_magic.load(uri, endpoint_url=s3.endpoint_url, progress=False, cache=tmp_path / "c")
    hit = dreambolt_magic.load(uri, endpoint_url=s3.endpoint_url, progress=False, cache=tmp_path / "c")
    line = dreambolt_magic.summarize(hit)
    size = hit.attrs["s3"]["size"]
    assert f"{human_bytes(size)} from the cache" in line
    assert "MB/s" not in line and "0 B" not in line
