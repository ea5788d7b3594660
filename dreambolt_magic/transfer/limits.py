"""What bounds this process's memory besides the memory the system has free: the container's memory limit
(its cgroup's) and the address-space limit (``RLIMIT_AS``, ``ulimit -v``). In a container MemAvailable is the
host's: a load that passes it but not the cgroup's limit gets the kernel killed (the OOM killer), not the load
refused; one past ``RLIMIT_AS`` gets a MemoryError from deep inside a parser. :mod:`~dreambolt_magic.transfer.memory`
holds a load to the smallest of the three.

Each is read afresh per load, from a few small files (no psutil); ``None`` means no limit, or none that can be
read. The roots are parameters so that tests can fake the files.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CGROUP_ROOT", "address_space_room", "container_room"]

#: Where the cgroup file systems are mounted (v2 there, or at ``unified/`` in the hybrid layout; v1's memory
#: controller at ``memory/``).
CGROUP_ROOT = "/sys/fs/cgroup"
#: A cgroup v1 limit this large is none (the kernel's "unlimited" is 2**63 rounded down to a page).
_NO_V1_LIMIT = 1 << 60
#: The files of each version: the limit, the usage, and in the stats the page cache the kernel can drop first
#: (the kubelet's "working set" is the usage less it).
_FILES = {
    "v2": ("memory.max", "memory.current", "inactive_file"),
    "v1": ("memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file"),
}


def container_room(root: str | Path = CGROUP_ROOT, proc: str | Path = "/proc/self") -> int | None:
    """Bytes the process's cgroup may still take: its memory limit less its working set, the smallest over it
    and the cgroups above it (each may have a limit), for cgroup v2 and v1 alike; ``None`` if none has one."""
    text = _read(os.path.join(proc, "cgroup"))
    if text is None:
        return None
    rooms = []
    for line in text.splitlines():
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hierarchy == "0" and not controllers:
            rooms += _rooms([os.fspath(root), os.path.join(root, "unified")], path, "v2")
        elif "memory" in controllers.split(","):
            rooms += _rooms([os.path.join(root, "memory")], path, "v1")
    return min(rooms, default=None)


def _rooms(mounts: list[str], path: str, version: str) -> list[int]:
    found = []
    parts = [part for part in path.split("/") if part]
    for mount in mounts:
        # The process's own cgroup and each above it, up to the mount: a container whose cgroup namespace hides
        # the path (it reads "/") sees its own cgroup at the mount itself.
        for depth in range(len(parts), -1, -1):
            room = _room(os.path.join(mount, *parts[:depth]), version)
            if room is not None:
                found.append(room)
    return found


def _room(directory: str, version: str) -> int | None:
    limit_name, usage_name, cache_name = _FILES[version]
    limit = _read(os.path.join(directory, limit_name))
    try:
        if limit is None or limit.strip() == "max" or int(limit) >= _NO_V1_LIMIT:
            return None
        usage = _read(os.path.join(directory, usage_name))
        if usage is None:
            return None
        working_set = max(int(usage) - _stat(os.path.join(directory, "memory.stat"), cache_name), 0)
        return max(int(limit) - working_set, 0)
    except ValueError:
        return None


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as file:
            return file.read()
    except OSError:
        return None


def _stat(path: str, name: str) -> int:
    for line in (_read(path) or "").splitlines():
        field, _, value = line.partition(" ")
        if field == name:
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


def address_space_room(proc: str | Path = "/proc/self") -> int | None:
    """Bytes of address space the process may still map: its soft ``RLIMIT_AS`` less its ``VmSize``; ``None``
    without a limit (``RLIM_INFINITY``)."""
    try:
        import resource  # Unix only
    except ImportError:  # pragma: no cover - Windows
        return None
    soft = resource.getrlimit(resource.RLIMIT_AS)[0]
    if soft == resource.RLIM_INFINITY or soft < 0:
        return None
    return max(soft - _vm_size(proc), 0)


def _vm_size(proc: str | Path) -> int:
    for line in (_read(os.path.join(proc, "status")) or "").splitlines():
        if line.startswith("VmSize:"):
            try:
                return int(line.split()[1]) * 1024
            except (ValueError, IndexError):
                return 0
    return 0
