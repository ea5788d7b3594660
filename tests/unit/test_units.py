"""Counts with their nouns."""

from __future__ import annotations

from dreambolt_magic.units import plural


def test_plural_agrees_with_the_count() -> None:
    assert plural(1, "object") == "1 object" and plural(0, "object") == "0 objects"
    assert plural(2, "bucket") == "2 buckets" and plural(1_234, "row") == "1,234 rows"
    assert plural(2, "match", "matches") == "2 matches" and plural(1, "match", "matches") == "1 match"
