"""The local cache's files (``dreambolt_magic.objects.cache``) in a temporary directory, with no S3: entry
names, the header written and read back, hits and misses, and the order of eviction. (Named apart from
tests/integration/test_cache.py, which loads through the cache over HTTP.)"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import pytest

from dreambolt_magic.objects import cache as cache_module
from dreambolt_magic.objects.cache import Cache, default_directory

ENDPOINT = "http://127.0.0.1:9000"


def put(store: Cache, key: str, data: bytes, *, etag: str = '"e1"', used: float | None = None,
        bucket: str = "b") -> Path:
    assert store.put(ENDPOINT, bucket, key, None, data, etag=etag)
    path = store.path_for(ENDPOINT, bucket, key)
    if used is not None:
        os.utime(path, (used, used))
    return path


# --- entry names ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["../../etc/passwd", "../x", "a/../../b", "/abs/key", "..", "dir/", "name\0nul",
                                 "C:\\windows\\x", "~/.ssh/id_rsa", "%2e%2e/x"])
def test_an_entry_is_named_by_a_hash_inside_the_directory_whatever_the_key(tmp_path: Path, key: str) -> None:
    store = Cache(tmp_path / "c")
    path = store.path_for(ENDPOINT, "b", key)
    assert path.parent == store.directory
    stem, suffix = path.name.split(".")
    assert len(stem) == 64 and set(stem) <= set("0123456789abcdef") and suffix == "s3c"
    assert store.put(ENDPOINT, "b", key, None, b"bytes", etag='"e"')
    assert [p.name for p in tmp_path.iterdir()] == ["c"]  # nothing written beside the directory
    assert [p.name for p in store.directory.iterdir()] == [path.name]
    assert store.entry(ENDPOINT, "b", key).key == key  # type: ignore[union-attr]


def test_each_object_and_version_has_its_own_entry(tmp_path: Path) -> None:
    store = Cache(tmp_path)
    names = [
        store.path_for(ENDPOINT, "b", "k"),
        store.path_for(ENDPOINT, "b", "k", "v1"),
        store.path_for(ENDPOINT, "b", "k", "v2"),
        store.path_for(ENDPOINT, "b", "K"),
        store.path_for(ENDPOINT, "c", "k"),
        store.path_for("http://127.0.0.1:9001", "b", "k"),
        store.path_for(None, "b", "k"),
        # The parts are kept apart: "a" + "b/c" is not "a/b" + "c".
        store.path_for(ENDPOINT, "a", "b/c"),
        store.path_for(ENDPOINT, "a/b", "c"),
    ]
    assert len(set(names)) == len(names)
    assert store.path_for(ENDPOINT, "b", "k", "") == store.path_for(ENDPOINT, "b", "k")  # no version: none


def test_an_endpoints_password_does_not_change_the_name(tmp_path: Path) -> None:
    store = Cache(tmp_path)
    assert store.path_for("http://user:pw@127.0.0.1:9000", "b", "k") == store.path_for(ENDPOINT, "b", "k")
    assert store.path_for("http://user:pw@127.0.0.1", "b", "k") == store.path_for("http://127.0.0.1", "b", "k")
    # The name is a hash of what the header records: no credential is hashed either.
    expected = hashlib.sha256(json.dumps([ENDPOINT, "b", "k", ""]).encode()).hexdigest()
    assert store.path_for("http://user:pw@127.0.0.1:9000", "b", "k").name == f"{expected}.s3c"


# --- the header, written and read back --------------------------------------------------------------------


def test_the_header_round_trips(tmp_path: Path) -> None:
    store = Cache(tmp_path)
    before = time.time()
    assert store.put("http://user:pw@127.0.0.1:9000", "b", "dir/k.csv", "v-asked", b"a,b\n1,2\n", etag='"e1"',
                     object_version="v-stored", last_modified="2024-05-01T00:00:00Z")
    entry = store.entry(ENDPOINT, "b", "dir/k.csv", "v-asked")
    assert entry is not None
    assert (entry.uri, entry.endpoint, entry.bucket, entry.key) == ("s3://b/dir/k.csv", ENDPOINT, "b", "dir/k.csv")
    assert (entry.etag, entry.version_id, entry.size) == ('"e1"', "v-stored", 8)
    assert entry.last_modified == "2024-05-01T00:00:00Z"
    assert before <= entry.stored <= time.time()
    assert entry.head() == {"ETag": '"e1"', "VersionId": "v-stored", "LastModified": "2024-05-01T00:00:00Z"}
    assert entry.path == store.path_for(ENDPOINT, "b", "dir/k.csv", "v-asked")
    assert b"pw" not in entry.path.read_bytes()
    # Without a version reported, the one asked for is recorded.
    assert store.put(ENDPOINT, "b", "other", "v-asked", b"x", etag='"e2"')
    assert store.entry(ENDPOINT, "b", "other", "v-asked").version_id == "v-asked"  # type: ignore[union-attr]


@pytest.mark.parametrize("data", [b"", b"x", b"a,b\n1,2\n" * 1000, bytes(range(256))])
def test_a_hit_gives_the_bytes_stored(tmp_path: Path, data: bytes) -> None:
    store = Cache(tmp_path)
    assert store.put(ENDPOINT, "b", "k", None, memoryview(data), etag='"e1"')
    got = store.get(ENDPOINT, "b", "k", None, etag='"e1"')
    assert got is not None and bytes(got) == data
    assert store.has(ENDPOINT, "b", "k") and not store.has(ENDPOINT, "b", "other")


def test_another_etag_or_none_is_a_miss(tmp_path: Path) -> None:
    store = Cache(tmp_path)
    put(store, "k", b"old bytes", etag='"e1"')
    assert store.get(ENDPOINT, "b", "k", None, etag='"e2"') is None
    assert store.get(ENDPOINT, "b", "k", None, etag=None) is None
    assert store.get(ENDPOINT, "b", "missing", None, etag='"e1"') is None
    put(store, "k", b"new bytes", etag='"e2"')  # the changed object replaces its entry
    assert bytes(store.get(ENDPOINT, "b", "k", None, etag='"e2"')) == b"new bytes"  # type: ignore[arg-type]
    assert len(store.entries()) == 1


@pytest.mark.parametrize("damage", ["truncate", "extend"])
def test_an_entry_whose_bytes_are_not_all_there_is_a_miss(tmp_path: Path, damage: str) -> None:
    store = Cache(tmp_path)
    path = put(store, "k", b"a,b\n1,2\n")
    raw = path.read_bytes()
    path.write_bytes(raw[:-3] if damage == "truncate" else raw + b"more")
    assert store.get(ENDPOINT, "b", "k", None, etag='"e1"') is None


@pytest.mark.parametrize("damage", ["magic", "not a dict", "not json", "empty"])
def test_an_entry_whose_header_cannot_be_read_is_no_entry(tmp_path: Path, damage: str) -> None:
    store = Cache(tmp_path)
    path = put(store, "k", b"a,b\n1,2\n")
    header = json.dumps([1, 2]).encode()
    path.write_bytes({
        "magic": b"X" + path.read_bytes()[1:],
        "not a dict": cache_module._MAGIC + cache_module._LENGTH.pack(len(header)) + header,
        "not json": cache_module._MAGIC + cache_module._LENGTH.pack(3) + b"{{{",
        "empty": b"",
    }[damage])
    assert store.get(ENDPOINT, "b", "k", None, etag='"e1"') is None
    assert store.entry(ENDPOINT, "b", "k") is None
    assert store.entries() == []


def test_what_is_not_stored(tmp_path: Path) -> None:
    store = Cache(tmp_path / "c", max_bytes=10)
    assert not store.put(ENDPOINT, "b", "k", None, b"x", etag=None)  # no ETag: it could never be validated
    assert not store.put(ENDPOINT, "b", "k", None, b"x", etag="")
    assert not store.put(ENDPOINT, "b", "k", None, b"x" * 11, etag='"e"')  # larger than the whole cache
    assert not store.directory.exists()  # and nothing was made for them


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "10"])
def test_the_limit_is_a_whole_number_of_bytes(tmp_path: Path, bad: object) -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        Cache(tmp_path, max_bytes=bad)  # type: ignore[arg-type]


# --- eviction --------------------------------------------------------------------------------------------


def test_the_least_recently_used_go_first_until_the_rest_fit(tmp_path: Path) -> None:
    store = Cache(tmp_path)
    paths = {name: put(store, name, name.encode() * 100, used=used)
             for name, used in [("a", 1_000), ("b", 3_000), ("c", 2_000), ("d", 4_000)]}
    sizes = {name: path.stat().st_size for name, path in paths.items()}
    assert store.size() == sum(sizes.values())
    assert [e.key for e in store.entries()] == ["d", "b", "c", "a"]  # most recently used first

    # Room for all but one: the oldest, a, goes.
    tighter = Cache(tmp_path, max_bytes=store.size() - 1)
    assert tighter.evict() == 1
    assert [e.key for e in tighter.entries()] == ["d", "b", "c"]
    # Room for the two most recent only: c then nothing more.
    assert Cache(tmp_path, max_bytes=sizes["d"] + sizes["b"]).evict() == 1
    assert [e.key for e in store.entries()] == ["d", "b"]
    assert Cache(tmp_path, max_bytes=store.size()).evict() == 0  # within the limit: nothing


def test_a_hit_makes_an_entry_the_most_recently_used(tmp_path: Path) -> None:
    store = Cache(tmp_path)
    put(store, "a", b"a" * 100, used=1_000)
    put(store, "b", b"b" * 100, used=2_000)
    assert store.get(ENDPOINT, "b", "a", None, etag='"e1"') is not None
    assert [e.key for e in store.entries()] == ["a", "b"]
    assert Cache(tmp_path, max_bytes=store.size() - 1).evict() == 1
    assert [e.key for e in store.entries()] == ["a"]


def test_a_store_evicts_older_entries_and_never_the_one_just_written(tmp_path: Path) -> None:
    probe = Cache(tmp_path / "probe")
    one = put(probe, "x", b"x" * 1000).stat().st_size  # the file size of one such entry, header included
    store = Cache(tmp_path / "c", max_bytes=2 * one + 10)
    put(store, "a", b"a" * 1000, used=1_000)
    put(store, "b", b"b" * 1000, used=2_000)
    assert sorted(e.key for e in store.entries()) == ["a", "b"]
    path_c = put(store, "c", b"c" * 1000)  # a third does not fit: the oldest makes room
    assert sorted(e.key for e in store.entries()) == ["b", "c"]
    assert store.size() <= store.max_bytes
    # The entry being written is kept even when it is the oldest (a clock set back, say): the others go.
    os.utime(path_c, (10, 10))
    assert Cache(store.directory, max_bytes=one + 10).evict(keep=path_c) == 1
    assert [e.key for e in store.entries()] == ["c"]


def test_clear_removes_entries_and_left_over_temporary_files(tmp_path: Path) -> None:
    store = Cache(tmp_path)
    put(store, "a", b"1")
    put(store, "b", b"2")
    (tmp_path / ".tmp-crashed").write_bytes(b"half")
    (tmp_path / "unrelated.txt").write_bytes(b"mine")
    assert store.clear() == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["unrelated.txt"]
    assert store.entries() == [] and store.size() == 0


def test_the_default_directory_is_read_when_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_directory() == tmp_path / "xdg" / "dreambolt_magic"
    assert Cache().directory == tmp_path / "xdg" / "dreambolt_magic"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_directory() == tmp_path / "home" / ".cache" / "dreambolt_magic"
