"""A load from the cache: its progress bar says so and claims no download speed; the summary says cache.

The panel's bar: tests/widget/test_bar_cache.py."""

from __future__ import annotations

import re
from pathlib import Path

from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

# tqdm's speed (1.23MB/s, 456kB/s, 7.00B/s) and ours (1.2 MB/s).
SPEED = re.compile(r"\d\s?[kMG]?B/s")


def _bar_text(stderr: str) -> str:
    """The bar's last drawing (tqdm redraws with carriage returns)."""
    return stderr.replace("\r", "\n").strip().splitlines()[-1]


def test_a_cache_hit_s_bar_says_cache_and_no_speed(ip: InteractiveShell, bucket: str, tmp_path: Path) -> None:
    ip.run_line_magic("config", f"S3IngestMagics.cache_dir = {str(tmp_path / 'cache')!r}")
    ip.run_line_magic("config", "S3IngestMagics.progress = True")
    with capture_output() as first:
        ip.run_cell_magic("s3ingest", "df --cache", f"s3://{bucket}/data.parquet")
    assert ip.user_ns["df"].attrs["s3"]["cached"] is False and "from cache" not in first.stderr
    with capture_output() as again:
        ip.run_cell_magic("s3ingest", "df --cache", f"s3://{bucket}/data.parquet")
    assert ip.user_ns["df"].attrs["s3"]["cached"] is True
    drawn = _bar_text(again.stderr)
    assert "from cache" in drawn and "100%" in drawn, drawn
    assert not SPEED.search(again.stderr), again.stderr
    assert "from the cache" in again.stdout and not SPEED.search(again.stdout), again.stdout


def test_a_cached_set_s_bar_claims_no_speed(ip: InteractiveShell, bucket: str, tmp_path: Path) -> None:
    ip.run_line_magic("config", f"S3IngestMagics.cache_dir = {str(tmp_path / 'cache')!r}")
    ip.run_line_magic("config", "S3IngestMagics.progress = True")
    uris = f"s3://{bucket}/data.parquet\ns3://{bucket}/data.csv"
    ip.run_cell_magic("s3ingest", "df --cache --quiet", uris)
    with capture_output() as again:
        ip.run_cell_magic("s3ingest", "df --cache", uris)
    assert "from cache" in _bar_text(again.stderr) and not SPEED.search(again.stderr), again.stderr
