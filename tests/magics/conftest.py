"""What the magics tests add to the suite's IPython fixtures (``shell`` and ``ip``, in tests/conftest.py).

- ``ip`` (per test): the suite's ``ip``, formatting ``text/html`` too, so that a test sees the rich
  explanation a kernel would show; the active formats are put back afterwards.
- ``bucket``: bucket ``bkt`` holding the 20-row sample frame as ``data.csv`` and ``data.parquet``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from helpers import make_frame, to_bytes
from IPython.core.interactiveshell import InteractiveShell

BUCKET = "bkt"
ROWS = 20


@pytest.fixture
def ip(ip: InteractiveShell) -> Iterator[InteractiveShell]:
    """The shell with the extension loaded afresh, reading from moto, progress bar off, HTML on."""
    saved_types = list(ip.display_formatter.active_types)
    if "text/html" not in saved_types:
        # A terminal shell formats text/plain only; the rich explanation is the HTML a kernel would show.
        ip.display_formatter.active_types = [*saved_types, "text/html"]
    try:
        yield ip
    finally:
        ip.display_formatter.active_types = saved_types


@pytest.fixture
def source() -> pd.DataFrame:
    """The frame every sample object holds."""
    return make_frame(ROWS)


@pytest.fixture
def bucket(s3: Any, source: pd.DataFrame) -> str:
    """Bucket ``bkt`` (us-east-1) with ``data.csv`` and ``data.parquet``; returns its name."""
    s3.make_bucket(BUCKET)
    s3.put(BUCKET, "data.csv", to_bytes(source, "csv"))
    s3.put(BUCKET, "data.parquet", to_bytes(source, "parquet"))
    return BUCKET
