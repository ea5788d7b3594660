"""The engine names and the error for a missing extra, without S3: nothing here makes a request."""

from __future__ import annotations

import importlib
import signal
import threading
import time
from typing import Any

import pytest

import dreambolt_magic as dm
from dreambolt_magic import engines


@pytest.mark.parametrize("engine", ["spark", "Pandas", "", None, 1])
def test_an_unknown_engine_is_a_value_error_listing_the_choices(engine: Any) -> None:
    with pytest.raises(ValueError, match=r"engine must be one of 'pandas', 'dask', 'polars', not "):
        # Refused before anything is parsed or asked: the URI is not even valid.
        dm.load("not a uri", engine=engine)


@pytest.mark.parametrize(("engine", "module"), [("dask", "dask.dataframe"), ("polars", "polars")])
def test_a_missing_extra_says_what_to_install(monkeypatch: pytest.MonkeyPatch, engine: str, module: str) -> None:
    real = importlib.import_module

    def fail(name: str, *args: Any) -> Any:
        if name == module:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", fail)
    with pytest.raises(ImportError) as caught:
        dm.load("s3://bucket/key.parquet", engine=engine)
    message = str(caught.value)
    assert f"engine={engine!r} needs {module.partition('.')[0]}" in message
    assert message.endswith(f"pip install 'dreambolt_magic[{engine}]'")
    assert isinstance(caught.value.__cause__, ModuleNotFoundError)


def test_pandas_needs_nothing_more() -> None:
    engines.require("pandas")
    assert engines.check("dask") == "dask"


def test_requiring_polars_keeps_ctrl_c_interrupting_a_blocking_wait() -> None:
    # What importing polars does to SIGINT (it sets SA_RESTART), whether or not polars was imported before.
    signal.siginterrupt(signal.SIGINT, False)
    engines.require("polars")
    main = threading.main_thread().ident
    assert main is not None and threading.current_thread() is threading.main_thread()
    released = threading.Event()
    press = threading.Timer(0.2, signal.pthread_kill, (main, signal.SIGINT))
    give_up = threading.Timer(5, released.set)  # so that a failure fails instead of hanging
    press.start()
    give_up.start()
    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            released.wait()
        assert time.monotonic() - started < 2
    finally:
        press.cancel()
        give_up.cancel()
        signal.siginterrupt(signal.SIGINT, True)  # Python's own setting
