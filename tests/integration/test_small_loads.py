"""A small load ends as soon as its bytes are in and parsed: no helper thread's wait holds it up.

Each load starts helper threads (the cancel watcher, the overlapped CSV parse) that sleep between looks at
what they watch. Their sleeps used to be waits on the thing watched, so a load's end waited for them to run
out: up to 50 ms a load, which made 300 small objects take 15 s one after another. Here the sleep between
looks is made a minute long; a load that ended only when a helper woke by itself would take that minute.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest
from helpers import make_frame, to_bytes

import dreambolt_magic
from dreambolt_magic.objects import overlap
from dreambolt_magic.transfer import engine as transfer
from dreambolt_magic.transfer import workers
from dreambolt_magic.transfer.progress import NoProgress
from dreambolt_magic.uri import S3Uri

if TYPE_CHECKING:
    from conftest import S3Helper

BUCKET = "small"
#: Far longer than a small load, far shorter than the helpers' patched sleep (LONG).
PATIENCE = 20.0
LONG = 60.0


def load_in_time(s3: S3Helper, uri: str, **kw: Any) -> pd.DataFrame:
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["frame"] = dreambolt_magic.load(uri, endpoint_url=s3.endpoint_url, progress=False, **kw)
        except BaseException as exc:  # handed to the test
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(PATIENCE)
    assert not thread.is_alive(), "the load waited for a helper thread's sleep to run out"
    if "error" in result:
        raise result["error"]
    return result["frame"]


def test_the_cancel_watcher_lets_the_load_end_at_once(s3: S3Helper, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers, "CANCEL_POLL", LONG)
    frame = make_frame(200, seed=1)
    s3.make_bucket(BUCKET)
    uri = s3.put(BUCKET, "watched.parquet", to_bytes(frame, "parquet"))

    df = load_in_time(s3, uri, cancel=threading.Event())

    pd.testing.assert_frame_equal(df, frame)


def test_the_cancel_watcher_still_sees_a_cancel(monkeypatch: pytest.MonkeyPatch) -> None:
    # The other half of the watcher's job: a flag set while the block runs shuts the bodies being read.
    monkeypatch.setattr(workers, "CANCEL_POLL", 0.01)
    flag = threading.Event()
    shut = threading.Event()
    t = transfer.Transfer(S3Uri(BUCKET, "cancel.csv"), NoProgress(), flag)
    monkeypatch.setattr(t.workers, "shut_open", shut.set)

    with t.watching():
        flag.set()
        assert shut.wait(PATIENCE)


def test_the_overlapped_parse_lets_a_small_csv_end_at_once(s3: S3Helper, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(overlap, "POLL", LONG)
    frame = make_frame(200, seed=3)
    s3.make_bucket(BUCKET)
    uri = s3.put(BUCKET, "small.csv", to_bytes(frame, "csv"))

    df = load_in_time(s3, uri)

    pd.testing.assert_frame_equal(df, frame)
