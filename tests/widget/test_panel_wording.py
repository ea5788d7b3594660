"""What the panel says, in its own words: counts that agree with their nouns, notes that are true where they
are shown, and remedies that name the panel's controls rather than the magic's options."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from helpers import make_frame, to_bytes
from IPython.utils.capture import capture_output

from dreambolt_magic import explain
from dreambolt_magic.errors import S3Error, S3FormatError, class_for
from dreambolt_magic.explanations import EXPLANATIONS, FALLBACK
from dreambolt_magic.notebook.outputs import CONTROLS, PHRASES, panel_wording
from dreambolt_magic.notebook.panel import S3Panel

if TYPE_CHECKING:
    from conftest import S3Helper
    from IPython.core.interactiveshell import InteractiveShell


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


def _outside_backticks(text: str) -> str:
    return " ".join(text.split("`")[::2])


def test_the_panel_s_remedies_name_its_controls_not_the_magic_s_options(
    make_panel: Callable[..., S3Panel], ip: InteractiveShell, s3: S3Helper
) -> None:
    s3.make_bucket("words")
    uri = s3.put("words", "blob.bin", bytes(range(256)) * 8)  # neither its name nor its bytes say a format
    panel = make_panel()
    panel.uri.value = uri
    panel.load_button.click()
    assert panel.wait(10)
    shown = [o["data"] for o in panel.output.outputs if o["output_type"] == "display_data"]
    assert shown, panel.output.outputs
    for data in shown:
        for text in (data["text/plain"], data["text/html"]):
            assert "the Format menu" in text and "--format" not in text, text
    # The magic keeps its own words for the same error.
    with capture_output() as cap, pytest.raises(S3FormatError):
        ip.run_cell_magic("s3ingest", "df", uri)
    assert "--format" in cap.outputs[0].data["text/plain"] and "Format menu" not in cap.outputs[0].data["text/plain"]


def _every_error() -> list[S3Error]:
    hints = {"bucket_region": "eu-west-1", "available": ["a", "b"], "format": "csv", "profile": "dev",
             "archived": ["k"], "archived_count": 1}
    made: list[S3Error] = [class_for(code, None)("m", bucket="b", key="k", code=code, hints=hints)
                           for code in EXPLANATIONS]
    return made + [cls("m", bucket="b", key="k", hints=hints) for cls in FALLBACK]


def test_no_remedy_names_an_option_the_panel_has_a_control_for(make_panel: Callable[..., S3Panel]) -> None:
    words = panel_wording(make_panel())
    for err in _every_error():
        for text in (explain.remedy(err, words), explain.explanation(err, words)):
            named = set(re.findall(r"--[a-z][a-z-]*", _outside_backticks(text)))
            assert not named & set(CONTROLS), (err.code or type(err).__name__, text)
            assert "run the cell" not in text.lower(), text
    for option, (name, _) in CONTROLS.items():
        assert getattr(make_panel(), name).description in words.options[option]


def test_every_panel_phrase_rewords_something() -> None:
    # A phrase no template holds any more would silently stop rewording: each must still be found.
    templates = " ".join(t for pair in [*EXPLANATIONS.values(), *FALLBACK.values()] for t in pair)
    magic = " ".join(explain.remedy(err) for err in _every_error())
    for phrase in PHRASES:
        assert phrase in templates or phrase in magic, phrase
