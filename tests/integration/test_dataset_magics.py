"""``%%s3ingest`` with several objects: URIs on several lines, globs, prefixes, --source-column, --filter."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest
from helpers import make_frame, to_bytes
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from dreambolt_magic import S3FormatError, S3NotFound

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

BUCKET = "cells"


@pytest.fixture
def frames(s3: Any) -> list[pd.DataFrame]:
    s3.make_bucket(BUCKET)
    parts = [make_frame(3 + i, seed=i) for i in range(3)]
    for i, part in enumerate(parts):
        s3.put(BUCKET, f"day=2024-05-0{i + 1}/data.csv", to_bytes(part, "csv"))
    return parts


def _with_day(parts: list[pd.DataFrame], days: list[int]) -> pd.DataFrame:
    return pd.concat([parts[d - 1].assign(day=f"2024-05-0{d}") for d in days], ignore_index=True)


def test_several_lines_are_one_frame(ip: InteractiveShell, frames: list[pd.DataFrame]) -> None:
    ip.user_ns["d"] = 3
    with capture_output() as cap:
        ip.run_cell_magic("s3ingest", "df", f"s3://{BUCKET}/day=2024-05-01/data.csv\n# a comment\n"
                                            f"s3://{BUCKET}/day=2024-05-0{{d}}/data.csv\n")
    pd.testing.assert_frame_equal(ip.user_ns["df"], _with_day(frames, [1, 3]))
    assert cap.stdout.startswith(f"Loaded s3://{BUCKET}/day=2024-05-01/data.csv and 1 more (2 objects): 8 rows")


def test_a_glob_with_source_column_and_filter(ip: InteractiveShell, frames: list[pd.DataFrame]) -> None:
    ip.run_cell_magic("s3ingest", "df -q --source-column src --filter \"day != '2024-05-02'\"",
                      f"s3://{BUCKET}/*/data.csv")
    expected = _with_day(frames, [1, 3])
    expected["src"] = pd.Categorical([f"s3://{BUCKET}/day=2024-05-0{d}/data.csv" for d in [1] * 3 + [3] * 5])
    pd.testing.assert_frame_equal(ip.user_ns["df"], expected)


def test_the_line_magic_takes_a_prefix(ip: InteractiveShell, frames: list[pd.DataFrame]) -> None:
    df = ip.run_line_magic("s3ingest", f"s3://{BUCKET}/ -q --columns id,day")
    pd.testing.assert_frame_equal(df, _with_day(frames, [1, 2, 3])[["id", "day"]])


def test_a_bad_filter_is_a_usage_error_before_any_request(ip: InteractiveShell, frames: list[pd.DataFrame]) -> None:
    with pytest.raises(UsageError, match="--filter"):
        ip.run_cell_magic("s3ingest", "df --filter \"__import__('os')\"", f"s3://{BUCKET}/")
    assert "df" not in ip.user_ns


def test_an_empty_glob_shows_the_explanation_and_binds_nothing(
    ip: InteractiveShell, frames: list[pd.DataFrame]
) -> None:
    with capture_output() as cap, pytest.raises(S3NotFound):
        ip.run_cell_magic("s3ingest", "df", f"s3://{BUCKET}/*/nothing.parquet")
    assert "df" not in ip.user_ns
    assert any("aws s3 ls" in str(o.data.get("text/html", "")) for o in cap.outputs)


def test_a_filter_naming_no_column_is_explained(ip: InteractiveShell, frames: list[pd.DataFrame]) -> None:
    with capture_output(), pytest.raises(S3FormatError, match="BadFilter"):
        ip.run_cell_magic("s3ingest", "df --filter \"colour == 1\"", f"s3://{BUCKET}/")
