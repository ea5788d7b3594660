"""What the panel says, in its own words: counts that agree with their nouns, notes that are true where they
are shown, and remedies that name the panel's controls rather than the magic's options."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from helpers import make_frame, to_bytes

from dreambolt_magic.notebook.panel import S3Panel

if TYPE_CHECKING:
    from conftest import S3Helper


def test_one_bucket_is_one_and_the_note_says_where_to_pick_it(
    make_panel: Callable[..., S3Panel], s3: S3Helper
) -> None:
    panel = make_panel()
    panel.refresh_buckets()
    assert panel.bucket.options == () and "No buckets are visible" in panel.browse_status.value
    assert "Bucket box" in panel.browse_status.value
    s3.make_bucket("only")
    panel.refresh_buckets()
    note = panel.browse_status.value
    assert panel.bucket.options == ("only",) and panel.entries.options == ()
    assert note.startswith("1 bucket visible: pick one in the Bucket box"), note
    assert "above" not in note  # above the note is the empty list of entries, not the bucket


def test_one_folder_and_one_object(make_panel: Callable[..., S3Panel], s3: S3Helper) -> None:
    s3.make_bucket("few")
    s3.put("few", "a.csv", to_bytes(make_frame(3), "csv"))
    s3.put("few", "sub/b.csv", to_bytes(make_frame(3), "csv"))
    panel = make_panel()
    panel.go_to("few")
    assert panel.browse_status.value == "1 folder, 1 object"
    panel.uri.value = "s3://few/a.csv"
    assert "4 columns; none selected" in panel.columns_note.value
    panel.columns.value = ("id",)
    assert "1 of 4 columns" in panel.columns_note.value
