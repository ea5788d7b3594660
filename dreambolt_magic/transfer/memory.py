"""The memory guard: refuse a load that would not fit in memory, before its body is read.

A load holds the object's bytes and then the DataFrame parsed from them, both at once. The transfer calls
:func:`check` as soon as the first answer gives the size (before reading the body), and a pruned Parquet
read calls it again once the footer says how large the columns it will read are uncompressed. Either
refuses with :class:`~dreambolt_magic.errors.S3TooLarge` (code ``TooLarge``) unless the caller forces the
load. ``limit`` replaces the measured limit (a front end's setting, or a test's).

A compressed object's size says little of what it expands into (a 20 MB gzip of zeros is 20 GB), so its
decompression is held to the same limit while it runs: :func:`guard` gives the decoders a check of the bytes
they have produced so far, and they stop once the estimate passes the limit.

The limit measured is the smallest of the memory available (MemAvailable), what the container's memory limit
leaves and what the address-space limit leaves (:mod:`~dreambolt_magic.transfer.limits`); the error says which.
What a format's frame needs, from a footer or a size, is :mod:`dreambolt_magic.formats.estimates`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

from dreambolt_magic.errors import S3TooLarge
from dreambolt_magic.transfer import limits

__all__ = ["FRAME_FACTOR", "Limit", "available", "check", "estimate", "guard", "load_limit"]

#: A frame parsed from text (CSV, JSON) or from Arrow-backed bytes takes at least as much memory as the
#: bytes themselves, so the bytes plus the frame are at least twice the object's size. Compressed text
#: expands further; the guard stays a lower bound rather than refuse loads that would have fitted.
FRAME_FACTOR = 1.0


class Limit(NamedTuple):
    """The bytes a load may use, and what sets them: ``memory_limit`` (the caller's), ``available`` (the
    memory the system has free), ``container`` (the cgroup's memory limit) or ``address_space`` (RLIMIT_AS)."""

    bytes: int
    kind: str


def available() -> int | None:
    """Bytes of memory available to this process now (``None`` if the system does not say)."""
    # Linux's MemAvailable is what psutil reports there too; reading it spares a fresh process psutil's
    # import (10 ms) on its first load.
    found = _meminfo_available()
    if found is not None:
        return found
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil comes with ipykernel
        return None
    return int(psutil.virtual_memory().available)


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def load_limit(given: int | None = None) -> Limit | None:
    """The limit a load is held to: ``given`` if not None, else the smallest of the memory available, the
    container's room and the address space's (``None`` if the system tells none of them)."""
    if given is not None:
        return Limit(given, "memory_limit")
    found = [(available(), "available"), (_container_room(), "container"),
             (limits.address_space_room(), "address_space")]
    return min((Limit(room, kind) for room, kind in found if room is not None), default=None)


#: How long the container's room, once read, stands for: reading it takes a few small files (a cgroup's
#: memory.stat among them), some 0.2 ms, which a set of 300 small objects would pay 300 times. (The memory
#: available and the address space's room are read each time: one small file, or none without a limit.)
ROOMS_FRESH_FOR = 0.5
_read_rooms: tuple[float, int | None] | None = None


def _container_room() -> int | None:
    global _read_rooms
    now = time.monotonic()
    last = _read_rooms
    if last is None or now - last[0] >= ROOMS_FRESH_FOR:
        last = _read_rooms = (now, limits.container_room())
    return last[1]


def estimate(size: int) -> int:
    """Bytes a load of an object of ``size`` bytes needs: its bytes, and the frame parsed from them."""
    return size + int(size * FRAME_FACTOR)


def check(need: int, *, limit: int | None = None, force: bool = False, what: str = "the object",
          size: int | None = None) -> None:
    """Raise :class:`S3TooLarge` if ``need`` bytes exceed ``limit`` (default: :func:`load_limit`'s).

    ``force`` skips the check; so does a system that reports no limit. ``what`` and ``size`` are told in the
    error (``size`` being the object's size, where ``need`` is an estimate).
    """
    if force:
        return
    found = load_limit(limit)
    if found is not None and need > found.bytes:
        raise _too_large(need, found, what=what, size=size)


def guard(*, held: int, limit: int | None = None, force: bool = False,
          what: str = "decompressed") -> Callable[[int], None] | None:
    """A check for a decoder to call with the bytes it has produced so far: it raises :class:`S3TooLarge` once
    ``held`` bytes (the compressed ones) and an :func:`estimate` of those produced pass the limit. ``None`` with
    ``force``. The limit is measured once, at the first call: the bytes produced since are counted instead.

    ``what`` is ``"decompressed"`` (a whole object) or ``"rows"`` (the start of one, for the rows asked for).
    """
    if force:
        return None
    measured: list[Limit | None] = []

    def check_decompressed(produced: int) -> None:
        if not measured:
            measured.append(load_limit(limit))
        found, need = measured[0], held + estimate(produced)
        if found is not None and need > found.bytes:
            raise _too_large(need, found, what=what, size=held, decompressed=produced)

    return check_decompressed


def _too_large(need: int, found: Limit, *, what: str, size: int | None, decompressed: int | None = None) -> S3TooLarge:
    hints = {"need": need, "available_memory": found.bytes, "limit": found.kind, "size": size, "what": what,
             "limit_given": found.kind == "memory_limit"}
    if decompressed is not None:
        hints["decompressed"] = decompressed
    return S3TooLarge(code="TooLarge", hints=hints)
