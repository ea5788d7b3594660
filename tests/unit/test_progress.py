"""The tqdm bar: batched, complete when a load ends well even if it fetched less than the object."""

from __future__ import annotations

import io

from dreambolt_magic.transfer.progress import NoProgress, Progress, TqdmProgress


def bar(out: io.StringIO) -> TqdmProgress:
    return TqdmProgress(interval=0.0, file=out, ascii=True, ncols=80, mininterval=0)


def test_a_pruned_read_ends_at_100_percent() -> None:
    out = io.StringIO()
    progress = bar(out)
    progress.start(1000, "data.parquet")
    progress.advance(200)  # only the footer and two column chunks were fetched
    progress.finish(ok=True)
    last = out.getvalue().replace("\r", "\n").strip().splitlines()[-1]
    assert "100%" in last, last


def test_a_failed_load_leaves_the_bar_short() -> None:
    out = io.StringIO()
    progress = bar(out)
    progress.start(1000, "data.parquet")
    progress.advance(200)
    progress.finish(ok=False)
    last = out.getvalue().replace("\r", "\n").strip().splitlines()[-1]
    assert "20%" in last, last


def test_a_load_that_fails_before_any_byte_leaves_no_bar() -> None:
    out = io.StringIO()
    progress = bar(out)
    progress.start(None, "data.parquet")
    progress.finish(ok=False)
    assert "0.00" in out.getvalue()  # it was drawn while the load ran
    assert out.getvalue().rpartition("\r")[2].strip() == ""  # and cleared when it failed


def test_the_bar_counts_in_decimal_units_as_the_summary_does() -> None:
    out = io.StringIO()
    progress = bar(out)
    progress.start(2_000_000, "data.parquet")
    progress.advance(2_000_000)
    progress.finish(ok=True)
    last = out.getvalue().replace("\r", "\n").strip().splitlines()[-1]
    assert "2.00M/2.00M" in last, last  # 1.91M in binary units


def test_retrying_is_shown_on_the_bar() -> None:
    out = io.StringIO()
    progress = bar(out)
    progress.start(None, "data.csv")
    progress.retrying(1, 5, "SlowDown", 0.4)
    assert "attempt 1 of 5 failed (SlowDown); retrying in 0.4 s" in out.getvalue()
    progress.finish(ok=True)


def test_both_implement_the_protocol() -> None:
    assert isinstance(NoProgress(), Progress)
    assert isinstance(TqdmProgress(), Progress)
