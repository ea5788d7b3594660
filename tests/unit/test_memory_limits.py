"""The limits a load is held to, read from fake cgroup and /proc files in tmp_path: the container's memory limit
(cgroup v2, the v1 fallback, the cgroups above the process's, "max" and v1's huge "unlimited"), the address-space
limit, the smallest of them, and the explanation naming the one that refused the load. The address-space limit
is also set for real, in a subprocess, in tests/integration/test_bombs.py."""

from __future__ import annotations

import resource
from pathlib import Path

import pytest

from dreambolt_magic.errors import S3TooLarge
from dreambolt_magic.transfer import limits, memory

MB = 1 << 20


def _files(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _proc(tmp_path: Path, cgroup: str, status: str = "VmSize:\t  102400 kB\n") -> Path:
    proc = tmp_path / "proc"
    _files(proc, {"cgroup": cgroup, "status": status})
    return proc


def test_cgroup_v2_limit_less_the_working_set(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    _files(root, {"user.slice/app/memory.max": f"{512 * MB}\n", "user.slice/app/memory.current": f"{200 * MB}\n",
                  "user.slice/app/memory.stat": f"anon {150 * MB}\ninactive_file {50 * MB}\nactive_file 1\n"})
    proc = _proc(tmp_path, "0::/user.slice/app\n")
    # The page cache the kernel drops first (inactive_file) is room, as the kubelet counts it.
    assert limits.container_room(root, proc) == 512 * MB - 150 * MB


def test_cgroup_v2_max_is_no_limit_but_a_parent_may_have_one(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    _files(root, {"a/b/memory.max": "max\n", "a/b/memory.current": f"{10 * MB}\n",
                  "a/memory.max": f"{100 * MB}\n", "a/memory.current": f"{70 * MB}\n"})
    proc = _proc(tmp_path, "0::/a/b\n")
    assert limits.container_room(root, proc) == 30 * MB
    (root / "a/memory.max").write_text("max\n")
    assert limits.container_room(root, proc) is None


def test_a_namespaced_container_reads_its_limit_at_the_mount(tmp_path: Path) -> None:
    # Inside a cgroup namespace /proc/self/cgroup says "/", and the container's own cgroup is the mount itself.
    root = tmp_path / "cgroup"
    _files(root, {"memory.max": f"{1024 * MB}\n", "memory.current": f"{24 * MB}\n"})
    assert limits.container_room(root, _proc(tmp_path, "0::/\n")) == 1000 * MB


def test_cgroup_v1_is_the_fallback(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    _files(root, {"memory/docker/abc/memory.limit_in_bytes": f"{256 * MB}\n",
                  "memory/docker/abc/memory.usage_in_bytes": f"{100 * MB}\n",
                  "memory/docker/abc/memory.stat": f"cache {40 * MB}\ntotal_inactive_file {40 * MB}\n",
                  "memory/memory.limit_in_bytes": "9223372036854771712\n",  # v1's "unlimited"
                  "memory/memory.usage_in_bytes": f"{4000 * MB}\n"})
    proc = _proc(tmp_path, "12:pids:/docker/abc\n4:memory:/docker/abc\n0::/\n")
    assert limits.container_room(root, proc) == 256 * MB - 60 * MB


def test_no_cgroup_files_is_no_limit(tmp_path: Path) -> None:
    assert limits.container_room(tmp_path / "none", _proc(tmp_path, "0::/x\n")) is None
    assert limits.container_room(tmp_path / "none", tmp_path / "no-proc") is None


def test_a_full_cgroup_has_no_room_rather_than_negative(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    _files(root, {"memory.max": f"{100 * MB}\n", "memory.current": f"{120 * MB}\n"})
    assert limits.container_room(root, _proc(tmp_path, "0::/\n")) == 0


def test_address_space_room_is_the_soft_limit_less_vm_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    proc = _proc(tmp_path, "0::/\n", status="Name:\tpython\nVmPeak:\t  999999 kB\nVmSize:\t  102400 kB\n")
    monkeypatch.setattr(resource, "getrlimit", lambda which: (1024 * MB, resource.RLIM_INFINITY))
    assert limits.address_space_room(proc) == 1024 * MB - 100 * MB
    monkeypatch.setattr(resource, "getrlimit", lambda which: (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    assert limits.address_space_room(proc) is None


@pytest.mark.parametrize(("rooms", "expected"), [
    ((8000 * MB, None, None), memory.Limit(8000 * MB, "available")),
    ((8000 * MB, 300 * MB, 900 * MB), memory.Limit(300 * MB, "container")),
    ((8000 * MB, 300 * MB, 200 * MB), memory.Limit(200 * MB, "address_space")),
    ((None, None, None), None),
], ids=["available", "container", "address_space", "none"])
def test_the_limit_is_the_smallest(monkeypatch: pytest.MonkeyPatch, rooms: tuple[int | None, ...],
                                   expected: memory.Limit | None) -> None:
    monkeypatch.setattr(memory, "available", lambda: rooms[0])
    monkeypatch.setattr(limits, "container_room", lambda: rooms[1])
    monkeypatch.setattr(limits, "address_space_room", lambda: rooms[2])
    monkeypatch.setattr(memory, "_read_rooms", None)  # nothing read before this test
    assert memory.load_limit() == expected
    assert memory.load_limit(5) == memory.Limit(5, "memory_limit")  # the caller's limit, whatever the system's


def test_the_container_s_room_is_read_once_in_a_while_the_others_each_time(
        monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[str] = []
    clock = [1000.0]
    monkeypatch.setattr(memory.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(memory, "_read_rooms", None)
    monkeypatch.setattr(memory, "available", lambda: reads.append("available") or 8000 * MB)
    monkeypatch.setattr(limits, "container_room", lambda: reads.append("container") or 300 * MB)
    monkeypatch.setattr(limits, "address_space_room", lambda: reads.append("address") or None)
    for _ in range(3):
        assert memory.load_limit() == memory.Limit(300 * MB, "container")
    assert reads.count("container") == 1 and reads.count("available") == reads.count("address") == 3
    clock[0] += memory.ROOMS_FRESH_FOR
    memory.load_limit()
    assert reads.count("container") == 2  # read again once they are no longer fresh


@pytest.mark.parametrize(("kind", "words", "fix"), [
    ("container", "container's memory limit", "give the container more memory"),
    ("address_space", "address-space limit", "ulimit -v"),
    ("available", "available now", "a machine with more"),
])
def test_the_refusal_names_the_limit_and_the_way_on(monkeypatch: pytest.MonkeyPatch, kind: str, words: str,
                                                    fix: str) -> None:
    monkeypatch.setattr(memory, "load_limit", lambda given=None: memory.Limit(100 * MB, kind))
    with pytest.raises(S3TooLarge) as caught:
        memory.check(300 * MB, size=150 * MB)
    err = caught.value
    assert err.hints["limit"] == kind and err.hints["available_memory"] == 100 * MB
    assert words in err.explanation
    assert fix in err.remedy and "--nrows" in err.remedy and "--force" in err.remedy


def test_the_decompression_guard_measures_once_and_counts_what_it_produced(monkeypatch: pytest.MonkeyPatch) -> None:
    measured = []

    def load_limit(given: int | None = None) -> memory.Limit:
        measured.append(given)
        return memory.Limit(100 * MB, "available")

    monkeypatch.setattr(memory, "load_limit", load_limit)
    check = memory.guard(held=10 * MB)
    assert check is not None
    check(20 * MB)
    check(44 * MB)  # 10 + 2 x 44 = 98 MB: fits
    with pytest.raises(S3TooLarge) as caught:
        check(46 * MB)
    assert measured == [None]
    assert caught.value.hints["decompressed"] == 46 * MB and caught.value.hints["what"] == "decompressed"
    assert "decompression bomb" in caught.value.explanation
    assert memory.guard(held=10 * MB, force=True) is None
