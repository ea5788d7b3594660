"""The memory guard: refuse a load that would not fit in memory, before its body is read.

A load holds the object's bytes and then the DataFrame parsed from them, both at once. The transfer calls
:func:`check` as soon as the first answer gives the size (before reading the body), and a pruned Parquet
read calls it again once the footer says how large the columns it will read are uncompressed. Either
refuses with :class:`~dreambolt_magic.errors.S3TooLarge` (code ``TooLarge``) unless the caller forces the
load. ``limit`` replaces the measured available memory (a front end's setting, or a test's).

What a format's frame needs, from a footer or a size, is :mod:`dreambolt_magic.formats.estimates`.
"""

from __future__ import annotations

from dreambolt_magic.errors import S3TooLarge

__all__ = ["FRAME_FACTOR", "available", "check", "estimate"]

#: A frame parsed from text (CSV, JSON) or from Arrow-backed bytes takes at least as much memory as the
#: bytes themselves, so the bytes plus the frame are at least twice the object's size. Compressed text
#: expands further; the guard stays a lower bound rather than refuse loads that would have fitted.
FRAME_FACTOR = 1.0


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


def estimate(size: int) -> int:
    """Bytes a load of an object of ``size`` bytes needs: its bytes, and the frame parsed from them."""
    return size + int(size * FRAME_FACTOR)


def check(need: int, *, limit: int | None = None, force: bool = False, what: str = "the object",
          size: int | None = None) -> None:
    """Raise :class:`S3TooLarge` if ``need`` bytes exceed ``limit`` (default: :func:`available`).

    ``force`` skips the check; so does a system that does not report its available memory. ``what`` and
    ``size`` are told in the error (``size`` being the object's size, where ``need`` is an estimate).
    """
    if force:
        return
    have = available() if limit is None else limit
    if have is None or need <= have:
        return
    raise S3TooLarge(
        code="TooLarge",
        hints={"need": need, "available_memory": have, "size": size, "what": what, "limit_given": limit is not None},
    )
