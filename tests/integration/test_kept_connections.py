"""Connections kept between loads (``Connection.lease``), over HTTP against moto: a second load with the same
settings reuses the first one's session and clients, one whose credentials' sources changed in between (the
``AWS_*`` environment, the config and credentials files) reads them afresh, and loads at the same time never
share one.

Connections made are counted on ``Connection.open``, which ``lease`` calls for each one it does not keep.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest
from helpers import make_frame, to_bytes

import dreambolt_magic as dm
from dreambolt_magic.client import connection
from dreambolt_magic.client.connection import Connection
from dreambolt_magic.errors import S3AuthError
from dreambolt_magic.options import ConnectOptions

if TYPE_CHECKING:
    from conftest import S3Helper

SECRET = "kept-secret-0123456789"
UNUSED = "http://127.0.0.1:9"  # never contacted: making a client sends nothing


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[Connection]:
    """Every connection made, in order."""
    found: list[Connection] = []
    real = Connection.open.__func__  # type: ignore[attr-defined]

    def spy(cls: type, options: Any, **kw: Any) -> Connection:
        found.append(real(cls, options, **kw))
        return found[-1]

    monkeypatch.setattr(Connection, "open", classmethod(spy))
    return found


def _load(s3: S3Helper, uri: str, **kw: Any) -> pd.DataFrame:
    return dm.load(uri, endpoint_url=s3.endpoint_url, progress=False, **kw)


def test_a_second_load_reuses_the_first_one_s_connection(s3: S3Helper, made: list[Connection]) -> None:
    frame = make_frame(20)
    uri = s3.put(s3.make_bucket("kept"), "a.csv", to_bytes(frame, "csv"))

    pd.testing.assert_frame_equal(_load(s3, uri), frame)
    pd.testing.assert_frame_equal(_load(s3, uri), frame)

    assert len(made) == 1
    assert list(made[0].clients) == ["us-east-1"]


def test_a_second_load_of_a_set_reuses_the_listing_s_and_the_set_s_connections(
    s3: S3Helper, made: list[Connection]
) -> None:
    frames = [make_frame(3, seed=i) for i in range(3)]
    s3.make_bucket("kept-set")
    for i, frame in enumerate(frames):
        s3.put("kept-set", f"p/{i}.csv", to_bytes(frame, "csv"))
    expected = pd.concat(frames, ignore_index=True)

    pd.testing.assert_frame_equal(_load(s3, "s3://kept-set/p/"), expected)
    assert len(made) == 2  # the listing's, and the one the set's loads share
    pd.testing.assert_frame_equal(_load(s3, "s3://kept-set/p/"), expected)
    assert len(made) == 2


def test_credentials_written_after_a_refused_load_are_used_by_the_next(
    s3: S3Helper, made: list[Connection], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    frame = make_frame(5)
    uri = s3.put(s3.make_bucket("private"), "a.csv", to_bytes(frame, "csv"))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    credentials = tmp_path / "credentials"
    credentials.write_text("")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))

    with pytest.raises(S3AuthError) as refused:
        _load(s3, uri)  # unsigned, as no credentials were found: refused
    assert refused.value.code == "NoCredentials" and refused.value.hints["unsigned_tried"] is True

    credentials.write_text(f"[default]\naws_access_key_id = AKIAKEPT\naws_secret_access_key = {SECRET}\n")
    df = _load(s3, uri)

    pd.testing.assert_frame_equal(df, frame)
    assert df.attrs["s3"]["signed"] is True
    assert len(made) == 2


def test_other_credentials_in_the_environment_make_a_new_connection(
    s3: S3Helper, made: list[Connection], monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = s3.put(s3.make_bucket("rotated"), "a.csv", to_bytes(make_frame(5), "csv"))
    _load(s3, uri)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAROTATED")
    _load(s3, uri)

    assert len(made) == 2
    assert made[1].session.get_credentials().access_key == "AKIAROTATED"


def _use(timeout: float) -> Connection:
    """Lease a connection (for an endpoint never contacted: making a client sends nothing) and give it back."""
    leased = Connection.lease(ConnectOptions(endpoint_url=UNUSED, anon=True, unsigned_fallback=False,
                                             connect_timeout=1.0, read_timeout=timeout))
    leased.release()
    return leased


def test_the_least_recently_used_connection_is_closed_beyond_kept() -> None:
    first = _use(1.0)
    closed: list[bool] = []
    first.client("us-east-1").close = lambda: closed.append(True)  # type: ignore[method-assign]
    for i in range(connection.KEPT - 1):
        _use(2.0 + i)
    assert _use(1.0) is first  # used again: now the most recent
    for i in range(connection.KEPT - 1):
        _use(20.0 + i)  # each closes one of the others
    assert closed == [] and _use(1.0) is first
    for i in range(connection.KEPT):
        _use(40.0 + i)
    assert closed == [True]
    assert _use(1.0) is not first


def test_loads_at_the_same_time_are_lent_a_connection_each(made: list[Connection]) -> None:
    # A client's pool of sockets is sized for one load: two sharing it would open more and discard them.
    settings = ConnectOptions(endpoint_url=UNUSED, anon=True, unsigned_fallback=False, connect_timeout=1.0,
                              read_timeout=1.0)
    one, other = Connection.lease(settings), Connection.lease(settings)
    assert one is not other and len(made) == 2
    closed: list[bool] = []
    other.client("us-east-1").close = lambda: closed.append(True)  # type: ignore[method-assign]
    one.release()
    other.release()  # one is kept already: this one is closed
    assert closed == [True]
    assert Connection.lease(settings) is one


def test_the_kept_connections_hold_no_secret(s3: S3Helper, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    uri = s3.put(s3.make_bucket("secret"), "a.csv", to_bytes(make_frame(5), "csv"))
    _load(s3, uri)

    keys = list(connection._kept.connections)
    assert len(keys) == 1
    assert SECRET not in repr(keys)


def test_a_load_refused_for_its_credentials_forgets_the_kept_connections(
    s3: S3Helper, made: list[Connection], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Credentials can change where no file or variable shows it (an SSO login): after a refusal the next
    # load reads them afresh.
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    public = s3.put(s3.make_bucket("open"), "a.csv", to_bytes(make_frame(5), "csv"), ACL="public-read")
    private = s3.put("open", "b.csv", to_bytes(make_frame(5), "csv"))
    _load(s3, public)
    assert len(connection._kept.connections) == 1

    with pytest.raises(S3AuthError):
        _load(s3, private)

    assert len(connection._kept.connections) == 0
    _load(s3, public)
    assert len(made) == 2


def test_a_forked_process_keeps_none_of_its_parent_s_connections(s3: S3Helper) -> None:
    # Its sockets would be its parent's too: two processes reading one HTTP connection mix their answers.
    uri = s3.put(s3.make_bucket("forked"), "a.csv", to_bytes(make_frame(5), "csv"))
    _load(s3, uri)
    assert len(connection._kept.connections) == 1
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe and exits at once
        os.write(writer, str(len(connection._kept.connections)).encode())
        os._exit(0)
    os.close(writer)
    try:
        assert os.read(reader, 16) == b"0"
    finally:
        os.close(reader)
        os.waitpid(child, 0)
    assert len(connection._kept.connections) == 1
