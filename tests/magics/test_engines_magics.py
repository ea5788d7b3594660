"""``%%s3ingest --engine dask|polars`` and ``%config S3IngestMagics.engine``, in a real InteractiveShell.

No distributed cluster here: dask computes with its local threaded scheduler, which is what the magic's
summary line says (tests/integration/test_engines.py runs dask on a LocalCluster). polars is imported after
the magic has (see tests/integration/test_engines.py for why).
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

import dask.dataframe as dd
import pandas as pd
import pytest
from helpers import make_frame, to_bytes
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from traitlets import TraitError

from dreambolt_magic.engines.extras import NEEDS

PARQUET = "s3://bkt/data.parquet"
SENTINEL = object()


def _magics(ip: InteractiveShell) -> Any:
    return ip.magics_manager.registry["S3IngestMagics"]


def test_engine_dask_binds_a_lazy_frame_and_says_so_without_computing(
    ip: InteractiveShell, bucket: str, source: pd.DataFrame
) -> None:
    with capture_output() as cap:
        ip.run_cell_magic("s3ingest", "df --engine dask", PARQUET)
    df = ip.user_ns["df"]
    assert isinstance(df, dd.DataFrame)
    assert cap.stdout.strip() == (
        f"Bound a dask DataFrame over {PARQUET}: 1 partition, 4 columns (id, city, value, flag); nothing is "
        "read until it is computed, by dask's local threaded scheduler (no distributed Client)"
    )
    computed = df.compute()
    pd.testing.assert_frame_equal(computed, source.astype({"city": computed["city"].dtype}))


def test_engine_dask_takes_a_set_with_filter_and_nrows(ip: InteractiveShell, s3: Any) -> None:
    s3.make_bucket("bkt")
    parts = [make_frame(3 + i, seed=i) for i in range(3)]
    for i, part in enumerate(parts):
        s3.put("bkt", f"day={i + 1}/data.csv", to_bytes(part, "csv"))
    df = ip.run_line_magic("s3ingest", "s3://bkt/ -q -e dask --filter \"day != 2\" --columns id,day -n 4")
    assert isinstance(df, dd.DataFrame)
    expected = pd.concat([parts[0].assign(day=1), parts[2].assign(day=3)], ignore_index=True)[["id", "day"]]
    pd.testing.assert_frame_equal(df.compute().reset_index(drop=True), expected.iloc[:4])


def test_engine_polars_binds_a_polars_frame_after_the_usual_summary(
    ip: InteractiveShell, bucket: str, source: pd.DataFrame
) -> None:
    with capture_output() as cap:
        ip.run_cell_magic("s3ingest", "df --engine polars --columns id,value", PARQUET)
    df = ip.user_ns["df"]
    import polars as pl

    assert isinstance(df, pl.DataFrame)
    assert cap.stdout.startswith(f"Loaded {PARQUET}: 20 rows x 2 columns")
    assert cap.stdout.rstrip().endswith("· polars DataFrame")
    pd.testing.assert_frame_equal(df.to_pandas(), source[["id", "value"]])


def test_the_configured_engine_is_the_default_and_the_option_wins(ip: InteractiveShell, bucket: str) -> None:
    ip.run_line_magic("config", "S3IngestMagics.engine = 'polars'")
    ip.run_cell_magic("s3ingest", "df -q", PARQUET)
    import polars as pl

    assert isinstance(ip.user_ns["df"], pl.DataFrame)
    ip.run_cell_magic("s3ingest", "df -q --engine pandas", PARQUET)
    assert isinstance(ip.user_ns["df"], pd.DataFrame)


def test_an_unknown_configured_engine_is_refused(ip: InteractiveShell, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(TraitError):
        _magics(ip).engine = "spark"
    with caplog.at_level(logging.ERROR):
        ip.run_line_magic("config", "S3IngestMagics.engine = 'spark'")
    assert [r.levelno for r in caplog.records] == [logging.ERROR]
    assert _magics(ip).engine == "pandas"


def test_an_unknown_engine_option_is_a_usage_error_naming_the_choices(ip: InteractiveShell) -> None:
    ip.user_ns["df"] = SENTINEL
    with pytest.raises(UsageError) as caught:
        ip.run_cell_magic("s3ingest", "df --engine spark", PARQUET)
    assert type(caught.value) is UsageError
    assert "pandas" in str(caught.value) and "dask" in str(caught.value) and "polars" in str(caught.value)
    assert ip.user_ns["df"] is SENTINEL


@pytest.mark.parametrize("engine", ["dask", "polars"])
def test_a_missing_extra_is_a_usage_error_before_any_request(
    ip: InteractiveShell, monkeypatch: pytest.MonkeyPatch, engine: str
) -> None:
    real = importlib.import_module
    missing = NEEDS[engine][0]

    def fail(name: str, *args: Any) -> Any:
        if name == missing:
            raise ModuleNotFoundError(f"No module named {missing!r}", name=missing)
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", fail)
    ip.user_ns["df"] = SENTINEL
    # No bucket exists: a request would raise S3NotFound, not the UsageError.
    with pytest.raises(UsageError) as caught:
        ip.run_cell_magic("s3ingest", f"df --engine {engine}", "s3://no-such-bucket/data.parquet")
    assert type(caught.value) is UsageError
    assert f"pip install 'dreambolt_magic[{engine}]'" in str(caught.value)
    assert ip.user_ns["df"] is SENTINEL
