"""Quantities for people: byte counts in decimal units (kB, MB, GB), the one convention of the summary, the
progress bars and the explanations; and counts of things with the noun agreeing ("1 object", "2 objects")."""

from __future__ import annotations

__all__ = ["human_bytes", "plural"]


def human_bytes(n: float) -> str:
    """A byte count for people: ``1.2 MB``."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n:,.1f} TB"  # pragma: no cover


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """``n`` and the noun for that many: ``plural(1, "object")`` is ``"1 object"``, ``plural(1200, "row")``
    ``"1,200 rows"``; ``nouns`` for a plural that is not the noun and an s (``plural(2, "match", "matches")``)."""
    return f"{n:,} {noun if n == 1 else nouns or noun + 's'}"
