"""``--nrows 0``: the columns and their types for the price of the footer (Parquet) or the header (text)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pytest
from helpers import make_frame, to_bytes

from dreambolt_magic.objects.parquetplan import FOOTER_TAIL
from dreambolt_magic.objects.textplan import HEADER_BYTES

if TYPE_CHECKING:
    from faults.proxy import FaultProxy
    from IPython.core.interactiveshell import InteractiveShell

BUCKET = "zero"


def _footer(body: bytes) -> int:
    """The bytes of a Parquet file's footer: its metadata, their length and the closing PAR1."""
    return int.from_bytes(body[-8:-4], "little") + 8


def _load(ip: InteractiveShell, proxy: FaultProxy, uri: str) -> pd.DataFrame:
    ip.run_cell_magic("s3ingest", f"df --nrows 0 --quiet --endpoint-url {proxy.endpoint_url}", uri)
    frame: pd.DataFrame = ip.user_ns["df"]
    return frame


@pytest.mark.parametrize("width", [4, 400])  # a footer that fits the first tail, and one that does not
def test_nrows_0_on_parquet_fetches_the_footer_alone(
    ip: InteractiveShell, s3: Any, proxy: FaultProxy, width: int
) -> None:
    s3.make_bucket(BUCKET)
    whole = make_frame(50_000)
    if width > 4:
        whole = pd.DataFrame({f"c{i}": np.arange(5_000) * i for i in range(width)})
    body = to_bytes(whole, "parquet")
    uri = s3.put(BUCKET, "data.parquet", body)
    frame = _load(ip, proxy, uri)
    assert frame.empty and list(frame.columns) == list(whole.columns)
    assert frame.dtypes.to_dict() == whole.dtypes.to_dict()
    footer, fetched = _footer(body), frame.attrs["s3"]["bytes_fetched"]
    assert (footer > FOOTER_TAIL) == (width > 4), footer
    # The footer, and at most the rest of the first short tail (a suffix, whose answer told the size).
    assert footer <= fetched <= max(footer, FOOTER_TAIL), (footer, fetched, len(body))
    gets = [r for r in proxy.requests if r.method == "GET" and r.path.endswith(".parquet")]
    assert len(gets) == (1 if footer <= FOOTER_TAIL else 2) and all(r.range for r in gets), gets
    assert gets[0].range == f"bytes=-{FOOTER_TAIL}"


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_nrows_0_on_text_fetches_the_header(ip: InteractiveShell, s3: Any, proxy: FaultProxy, fmt: str) -> None:
    s3.make_bucket(BUCKET)
    whole = make_frame(50_000)
    body = to_bytes(whole, fmt)
    frame = _load(ip, proxy, s3.put(BUCKET, f"data.{fmt}", body))
    assert frame.empty and list(frame.columns) == list(whole.columns)
    assert frame.dtypes.to_dict() == whole.dtypes.to_dict()
    assert frame.attrs["s3"]["bytes_fetched"] <= HEADER_BYTES < len(body) // 50
