"""``%%s3ingest``, ``%s3ingest`` and ``%s3ingest_demo`` in a real InteractiveShell, against moto over HTTP.

Magics are called the way IPython calls them (``run_cell_magic``, ``run_line_magic``, ``run_cell``) and the
assertions are on ``ip.user_ns``, on what was printed and on what was displayed. Fixtures: tests/conftest.py
(``s3``: moto on 127.0.0.1) and tests/magics/conftest.py (``ip``, ``bucket``, ``source``).
"""

from __future__ import annotations

import functools
import html
import logging
import os
import re
import socket
from typing import Any

import pandas as pd
import pytest
from helpers import make_frame, to_bytes
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from traitlets import TraitError

import dreambolt_magic
from dreambolt_magic.errors import S3AuthError, S3Error, S3FormatError, S3NetworkError, S3NotFound
from dreambolt_magic.notebook import demo
from dreambolt_magic.notebook.magics import S3IngestMagics

SENTINEL = object()
CSV = "s3://bkt/data.csv"
PARQUET = "s3://bkt/data.parquet"
#: Every option of %s3ingest, as its help must name it.
OPTIONS = ("--format", "--columns", "--nrows", "--region", "--profile", "--endpoint-url", "--anon", "--requester-pays",
           "--max-attempts", "--no-progress", "--quiet", "--skip-archived", "--sse-c-key-env", "--engine", "--sep",
           "--encoding", "--header", "--sheet", "--option")
#: Every configurable setting of S3IngestMagics, with its default.
TRAIT_DEFAULTS: dict[str, Any] = {
    "region": None,
    "profile": None,
    "endpoint_url": None,
    "anon": False,
    "requester_pays": False,
    "max_attempts": 5,
    "progress": True,
    "quiet": False,
    "unsigned_fallback": True,
    "connect_timeout": 5.0,
    "read_timeout": 15.0,
    "min_speed": 1000,
    "cache": False,
    "cache_dir": None,
    "cache_size": 2 << 30,
    "engine": "pandas",
}


# --- helpers -------------------------------------------------------------------------------------------


def magics(ip: InteractiveShell) -> S3IngestMagics:
    """The registered S3IngestMagics instance."""
    instance = ip.magics_manager.registry["S3IngestMagics"]
    assert isinstance(instance, S3IngestMagics)
    return instance


def config(ip: InteractiveShell, statement: str) -> Any:
    """``%config S3IngestMagics.<statement>``."""
    return ip.run_line_magic("config", f"S3IngestMagics.{statement}")


def summary(out: str) -> str:
    """The one summary line a successful load prints (and nothing else)."""
    lines = out.splitlines()
    assert len(lines) == 1, out
    assert lines[0].startswith("Loaded "), out
    return lines[0]


def closed_port() -> int:
    """A loopback port nothing listens on: connections to it are refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def refuses(port: int) -> bool:
    """Whether a connection to 127.0.0.1:port is refused (nothing listens there)."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


def only_html(outputs: list[Any]) -> str:
    """The text/html of the one rich output that was displayed."""
    assert len(outputs) == 1, [o.data for o in outputs]
    data = outputs[0].data
    assert "text/html" in data, list(data)
    return str(data["text/html"])


# --- %%s3ingest VAR: binding a frame -------------------------------------------------------------------


@pytest.mark.parametrize("uri", [CSV, PARQUET])
def test_cell_binds_a_frame_equal_to_the_source(
    ip: InteractiveShell, bucket: str, source: pd.DataFrame, uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert ip.run_cell_magic("s3ingest", "df", uri) is None
    df = ip.user_ns["df"]
    assert isinstance(df, pd.DataFrame)
    pd.testing.assert_frame_equal(df, source)
    assert df.attrs["s3"]["uri"] == uri
    line = summary(capsys.readouterr().out)
    assert line.startswith(f"Loaded {uri}: 20 rows x 4 columns")
    assert "region us-east-1" in line


def test_cell_replaces_a_previous_value(ip: InteractiveShell, bucket: str, source: pd.DataFrame) -> None:
    ip.user_ns["df"] = SENTINEL
    ip.run_cell_magic("s3ingest", "df --quiet", CSV)
    pd.testing.assert_frame_equal(ip.user_ns["df"], source)


def test_cell_body_may_have_blank_lines_comments_and_spaces(
    ip: InteractiveShell, bucket: str, source: pd.DataFrame
) -> None:
    ip.run_cell_magic("s3ingest", "df -q", f"\n# the January export\n\n   {CSV}   \n\n")
    pd.testing.assert_frame_equal(ip.user_ns["df"], source)


def test_run_cell_binds_the_variable(ip: InteractiveShell, bucket: str, source: pd.DataFrame) -> None:
    result = ip.run_cell(f"%%s3ingest df -q\n{CSV}\n")
    assert result.success, result.error_in_exec
    pd.testing.assert_frame_equal(ip.user_ns["df"], source)


# --- options -------------------------------------------------------------------------------------------


def test_format_names_what_the_extension_does_not(
    ip: InteractiveShell, s3: Any, source: pd.DataFrame
) -> None:
    s3.make_bucket("bkt")
    s3.put("bkt", "export.csv", to_bytes(source, "tsv"))
    ip.run_cell_magic("s3ingest", "guessed -q", "s3://bkt/export.csv")
    assert ip.user_ns["guessed"].shape == (20, 1)  # read as CSV: one tab-joined column
    ip.run_cell_magic("s3ingest", "named -q --format tsv", "s3://bkt/export.csv")
    pd.testing.assert_frame_equal(ip.user_ns["named"], source)
    ip.run_cell_magic("s3ingest", "short -q -f tsv", "s3://bkt/export.csv")
    pd.testing.assert_frame_equal(ip.user_ns["short"], source)


def test_format_that_does_not_match_the_bytes_is_a_format_error(ip: InteractiveShell, bucket: str) -> None:
    with capture_output() as cap, pytest.raises(S3FormatError) as info:
        ip.run_cell_magic("s3ingest", "df --format parquet", CSV)
    assert info.value.code == "FormatMismatch"
    assert "df" not in ip.user_ns
    assert html.escape(info.value.remedy) in only_html(cap.outputs)


@pytest.mark.parametrize("uri", [CSV, PARQUET])
@pytest.mark.parametrize("option", ["--columns id,value", "-c id,value"])
def test_columns_reads_only_those(
    ip: InteractiveShell, bucket: str, source: pd.DataFrame, uri: str, option: str
) -> None:
    ip.run_cell_magic("s3ingest", f"df -q {option}", uri)
    pd.testing.assert_frame_equal(ip.user_ns["df"], source[["id", "value"]])


def test_columns_that_do_not_exist_is_a_format_error(ip: InteractiveShell, bucket: str) -> None:
    ip.user_ns["df"] = SENTINEL
    with capture_output(), pytest.raises(S3FormatError) as info:
        ip.run_cell_magic("s3ingest", "df --columns id,nope", CSV)
    assert info.value.code == "MissingColumns"
    assert ip.user_ns["df"] is SENTINEL


@pytest.mark.parametrize("uri", [CSV, PARQUET])
@pytest.mark.parametrize("option", ["--nrows 3", "-n 3"])
def test_nrows_reads_only_the_first_rows(
    ip: InteractiveShell, bucket: str, source: pd.DataFrame, uri: str, option: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    capsys.readouterr()
    ip.run_cell_magic("s3ingest", f"df {option}", uri)
    pd.testing.assert_frame_equal(ip.user_ns["df"], source.head(3))
    assert "3 rows x 4 columns" in summary(capsys.readouterr().out)


def test_nrows_zero_gives_the_columns_and_no_rows(ip: InteractiveShell, bucket: str) -> None:
    ip.run_cell_magic("s3ingest", "df -q --nrows 0", CSV)
    df = ip.user_ns["df"]
    assert df.shape == (0, 4)
    assert list(df.columns) == ["id", "city", "value", "flag"]


def test_region_is_detected_or_taken_from_the_option(
    ip: InteractiveShell, s3: Any, source: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    s3.make_bucket("eubkt", region="eu-central-1")
    s3.put("eubkt", "data.csv", to_bytes(source, "csv"))
    capsys.readouterr()
    ip.run_cell_magic("s3ingest", "detected", "s3://eubkt/data.csv")
    assert ip.user_ns["detected"].attrs["s3"]["region"] == "eu-central-1"
    assert "region eu-central-1" in summary(capsys.readouterr().out)

    ip.run_cell_magic("s3ingest", "explicit --region eu-west-2", "s3://eubkt/data.csv")
    assert ip.user_ns["explicit"].attrs["s3"]["region"] == "eu-west-2"
    assert "region eu-west-2" in summary(capsys.readouterr().out)
    pd.testing.assert_frame_equal(ip.user_ns["explicit"], source)


def test_endpoint_url_option_overrides_the_configured_endpoint(
    ip: InteractiveShell, bucket: str, s3: Any, source: pd.DataFrame
) -> None:
    config(ip, f"endpoint_url = 'http://127.0.0.1:{closed_port()}'")
    config(ip, "max_attempts = 1")
    with capture_output(), pytest.raises(S3NetworkError):
        ip.run_cell_magic("s3ingest", "df --region us-east-1", CSV)
    assert "df" not in ip.user_ns

    ip.run_cell_magic("s3ingest", f"df -q --endpoint-url {s3.endpoint_url}", CSV)
    pd.testing.assert_frame_equal(ip.user_ns["df"], source)
    assert ip.user_ns["df"].attrs["s3"]["endpoint"] == s3.endpoint_url


def test_anon_sends_unsigned_requests(
    ip: InteractiveShell, s3: Any, source: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    s3.make_bucket("bkt")
    s3.put("bkt", "public.csv", to_bytes(source, "csv"), ACL="public-read")
    s3.put("bkt", "private.csv", to_bytes(source, "csv"))
    capsys.readouterr()
    ip.run_cell_magic("s3ingest", "df --anon", "s3://bkt/public.csv")
    pd.testing.assert_frame_equal(ip.user_ns["df"], source)
    assert ip.user_ns["df"].attrs["s3"]["signed"] is False
    assert ip.user_ns["df"].attrs["s3"]["unsigned_reason"] == "anonymous access was asked for"
    assert "unsigned (anonymous access was asked for)" in summary(capsys.readouterr().out)

    # Proof that nothing was signed: moto refuses an anonymous read of a private object.
    with capture_output(), pytest.raises(S3AuthError) as info:
        ip.run_cell_magic("s3ingest", "private --anon", "s3://bkt/private.csv")
    assert info.value.status == 403
    assert "private" not in ip.user_ns


@pytest.mark.parametrize(("configured", "option", "attempts"), [(None, "--max-attempts 2", 2),
                                                                ("1", "", 1), ("1", "--max-attempts 3", 3)])
def test_max_attempts_is_the_number_of_attempts(
    ip: InteractiveShell, configured: str | None, option: str, attempts: int
) -> None:
    config(ip, f"endpoint_url = 'http://127.0.0.1:{closed_port()}'")
    if configured is not None:
        config(ip, f"max_attempts = {configured}")
    with capture_output(), pytest.raises(S3NetworkError) as info:
        ip.run_cell_magic("s3ingest", f"df --region us-east-1 {option}", CSV)
    assert info.value.code == "EndpointConnectionError"
    assert info.value.attempts == attempts


def test_progress_bar_is_shown_unless_no_progress(
    ip: InteractiveShell, bucket: str, source: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    config(ip, "progress = True")
    capsys.readouterr()
    ip.run_cell_magic("s3ingest", "df -q", CSV)
    err = capsys.readouterr().err
    assert "data.csv" in err and "100%" in err

    ip.run_cell_magic("s3ingest", "df2 -q --no-progress", CSV)
    assert capsys.readouterr() == ("", "")
    pd.testing.assert_frame_equal(ip.user_ns["df2"], source)


@pytest.mark.parametrize("option", ["--quiet", "-q"])
def test_quiet_prints_no_summary(
    ip: InteractiveShell, bucket: str, source: pd.DataFrame, option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    ip.run_cell_magic("s3ingest", f"df {option}", CSV)
    assert capsys.readouterr() == ("", "")
    pd.testing.assert_frame_equal(ip.user_ns["df"], source)


@pytest.mark.parametrize("how", ["option", "config"])
def test_unknown_profile_is_an_auth_error(ip: InteractiveShell, bucket: str, how: str) -> None:
    ip.user_ns["df"] = SENTINEL
    if how == "config":
        config(ip, "profile = 'nope'")
    line = "df --profile nope" if how == "option" else "df"
    with capture_output() as cap, pytest.raises(S3AuthError) as info:
        ip.run_cell_magic("s3ingest", line, CSV)
    assert info.value.code == "ProfileNotFound"
    assert info.value.displayed is True
    assert ip.user_ns["df"] is SENTINEL
    assert html.escape(info.value.remedy) in only_html(cap.outputs)


# --- %s3ingest URI: the line form ----------------------------------------------------------------------


def test_line_returns_the_frame_and_binds_nothing(
    ip: InteractiveShell, bucket: str, source: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    before = set(ip.user_ns)
    capsys.readouterr()
    df = ip.run_line_magic("s3ingest", f"{CSV} --nrows 3")
    pd.testing.assert_frame_equal(df, source.head(3))
    assert set(ip.user_ns) == before
    line = summary(capsys.readouterr().out)
    assert "3 rows x 4 columns" in line and "region us-east-1" in line


def test_line_in_an_assignment_binds_the_name(ip: InteractiveShell, bucket: str, source: pd.DataFrame) -> None:
    result = ip.run_cell(f"df2 = %s3ingest {CSV}")
    assert result.success, result.error_in_exec
    pd.testing.assert_frame_equal(ip.user_ns["df2"], source)


def test_line_failure_leaves_the_assigned_name_alone(ip: InteractiveShell, bucket: str) -> None:
    ip.user_ns["df2"] = SENTINEL
    with capture_output():
        result = ip.run_cell("df2 = %s3ingest s3://bkt/missing.csv")
    assert type(result.error_in_exec) is S3NotFound
    assert ip.user_ns["df2"] is SENTINEL


def test_line_without_a_uri_is_a_usage_error(ip: InteractiveShell) -> None:
    with pytest.raises(UsageError) as info:
        ip.run_line_magic("s3ingest", "--nrows 3")
    assert type(info.value) is UsageError


# --- {name} in the cell body ---------------------------------------------------------------------------


def test_braces_are_filled_from_the_namespace(ip: InteractiveShell, bucket: str, source: pd.DataFrame) -> None:
    ip.user_ns.update(bucket_name="bkt", stem="data", ext="parquet")
    ip.run_cell_magic("s3ingest", "df -q", "s3://{bucket_name}/{stem}.{ext}")
    assert ip.user_ns["df"].attrs["s3"]["uri"] == PARQUET
    pd.testing.assert_frame_equal(ip.user_ns["df"], source)


@pytest.mark.parametrize(
    ("body", "key"), [("s3://bkt/odd{{1}}.csv", "odd{1}.csv"), ("s3://bkt/odd}}.csv", "odd}.csv")]
)
def test_doubled_braces_are_literal(
    ip: InteractiveShell, s3: Any, source: pd.DataFrame, body: str, key: str
) -> None:
    # The help says: write {{ and }} for literal braces. That holds whether or not a { is in the body.
    s3.make_bucket("bkt")
    s3.put("bkt", key, to_bytes(source, "csv"))
    ip.run_cell_magic("s3ingest", "df -q", body)
    assert ip.user_ns["df"].attrs["s3"]["key"] == key
    pd.testing.assert_frame_equal(ip.user_ns["df"], source)


@pytest.mark.parametrize("defined", [False, True])
def test_undefined_name_in_braces_is_a_usage_error(ip: InteractiveShell, defined: bool) -> None:
    if defined:
        ip.user_ns["df"] = SENTINEL
    before = set(ip.user_ns)
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("s3ingest", "df", "s3://bkt/{no_such_name}.csv")
    assert type(info.value) is UsageError
    assert "{no_such_name}" in str(info.value)
    assert set(ip.user_ns) == before
    assert ip.user_ns.get("df", None) is (SENTINEL if defined else None)


@pytest.mark.parametrize("body", ["s3://bkt/{", "s3://bkt/{x", "s3://bkt/{0}.csv", "s3://bkt/{}.csv"])
def test_malformed_braces_are_a_usage_error(ip: InteractiveShell, body: str) -> None:
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("s3ingest", "df", body)
    assert type(info.value) is UsageError
    assert "df" not in ip.user_ns


@pytest.mark.parametrize("body", [
    "s3://bkt/{os.environ[AWS_SECRET_ACCESS_KEY]}.csv",  # item access on an attribute: a secret in the message
    "s3://bkt/{env[AWS_SECRET_ACCESS_KEY]}.csv", "s3://bkt/{n[0]}.csv", "s3://bkt/{n.real}.csv",
    "s3://bkt/{n!r}.csv", "s3://bkt/{n:>5}.csv",
])
def test_only_plain_names_are_filled_in_the_body(ip: InteractiveShell, body: str, monkeypatch: pytest.MonkeyPatch
                                                 ) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "very-secret-value")
    import os

    ip.user_ns.update(os=os, env=dict(os.environ), n=7)
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("s3ingest", "df", body)
    assert type(info.value) is UsageError
    assert "plain variable name" in str(info.value)
    assert "very-secret-value" not in str(info.value)
    assert "df" not in ip.user_ns


@pytest.mark.parametrize("name", ["__builtins__", "__name__", "__doc__"])
def test_pythons_own_names_are_not_bound(ip: InteractiveShell, name: str) -> None:
    before = ip.user_ns.get(name)
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("s3ingest", name, CSV)
    assert type(info.value) is UsageError and "Python's own names" in str(info.value)
    assert ip.user_ns.get(name) is before


# --- usage errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["1x", "a-b", "a.b", "class", "for", "None", "x[0]"])
def test_bad_variable_name_is_a_usage_error(
    ip: InteractiveShell, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = set(ip.user_ns)
    capsys.readouterr()
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("s3ingest", name, CSV)
    assert type(info.value) is UsageError
    assert repr(name) in str(info.value)
    assert set(ip.user_ns) == before
    assert capsys.readouterr() == ("", "")  # refused before anything was loaded


def test_bad_variable_name_in_run_cell_prints_one_line(ip: InteractiveShell) -> None:
    with capture_output() as cap:
        result = ip.run_cell(f"%%s3ingest a-b\n{CSV}")
    assert type(result.error_in_exec) is UsageError
    assert cap.stdout == ""
    assert cap.stderr.splitlines() == [f"UsageError: {result.error_in_exec}"]


def test_ctrl_c_during_a_load_is_one_line_and_still_stops_the_run(
    ip: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dreambolt_magic import api

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt  # as Ctrl-C arrives, deep in a socket read

    monkeypatch.setattr(api, "load", interrupted)
    ip.user_ns["df"] = SENTINEL
    with capture_output() as cap:
        result = ip.run_cell(f"%%s3ingest df\n{CSV}")
    assert isinstance(result.error_in_exec, KeyboardInterrupt)  # Run All stops here
    lines = [line for line in (cap.stdout + cap.stderr).splitlines() if line.strip()]
    assert lines == [f"Interrupted: {CSV} was not loaded, and nothing was bound."]
    assert ip.user_ns["df"] is SENTINEL


BAD_OPTIONS = ["--nrows -1", "--nrows abc", "--nrows", "-n 1.5", "--max-attempts 0", "--max-attempts -2",
               "--max-attempts x", "--columns ,", "--columns id,,value", "--bogus", "-z",
               "--engine spark", "--engine"]


@pytest.mark.parametrize("options", BAD_OPTIONS)
def test_bad_option_in_a_cell_is_a_usage_error(ip: InteractiveShell, options: str) -> None:
    ip.user_ns["df"] = SENTINEL
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("s3ingest", f"df {options}", CSV)
    assert type(info.value) is UsageError
    assert ip.user_ns["df"] is SENTINEL


@pytest.mark.parametrize("options", BAD_OPTIONS)
def test_bad_option_on_a_line_is_a_usage_error(ip: InteractiveShell, options: str) -> None:
    with pytest.raises(UsageError) as info:
        ip.run_line_magic("s3ingest", f"{CSV} {options}")
    assert type(info.value) is UsageError


@pytest.mark.parametrize(
    "body",
    ["", "\n", "   \n\t\n", "# only a comment\n"],
    ids=["empty", "newline", "whitespace", "comment"],
)
def test_body_without_a_uri_is_a_usage_error(ip: InteractiveShell, body: str) -> None:
    # Several URIs are several objects in one frame: tests/integration/test_dataset_magics.py.
    ip.user_ns["df"] = SENTINEL
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("s3ingest", "df", body)
    assert type(info.value) is UsageError
    assert ip.user_ns["df"] is SENTINEL


@pytest.mark.parametrize("line", ["", "--quiet", "df extra"])
def test_cell_line_without_exactly_one_name_is_a_usage_error(
    ip: InteractiveShell, line: str
) -> None:
    before = set(ip.user_ns)
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("s3ingest", line, CSV)
    assert type(info.value) is UsageError
    assert set(ip.user_ns) == before


# --- loader failures: the explanation is displayed, the variable is untouched ----------------------------


def _missing(ip: InteractiveShell, s3: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    return "s3://bkt/missing.csv"


def _csv_behind_parquet(ip: InteractiveShell, s3: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    return s3.put("bkt", "fake.parquet", to_bytes(make_frame(5), "csv"))


def _no_credentials(ip: InteractiveShell, s3: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    config(ip, "unsigned_fallback = False")
    return CSV


#: scenario → (arrange, error class, S3 error code, HTTP status, hints, a phrase the remedy must contain)
FAILURES: dict[str, tuple[Any, type[S3Error], str, int | None, dict[str, Any], str]] = {
    "no-such-key": (_missing, S3NotFound, "NoSuchKey", 404, {}, "keys are case-sensitive"),
    "csv-behind-parquet": (_csv_behind_parquet, S3FormatError, "FormatMismatch", None, {}, "--format"),
    # unsigned_fallback = False: refused before any request, no unsigned try.
    "no-credentials": (_no_credentials, S3AuthError, "NoCredentials", None, {"unsigned_tried": False},
                       "aws configure"),
}


@pytest.mark.parametrize("bound_before", [True, False], ids=["bound", "unbound"])
@pytest.mark.parametrize("scenario", list(FAILURES))
def test_loader_failure_propagates_and_is_explained(
    ip: InteractiveShell, bucket: str, s3: Any, monkeypatch: pytest.MonkeyPatch, scenario: str,
    bound_before: bool,
) -> None:
    arrange, error_class, code, status, hints, phrase = FAILURES[scenario]
    uri = arrange(ip, s3, monkeypatch)
    if bound_before:
        ip.user_ns["df"] = SENTINEL
    with capture_output() as cap, pytest.raises(S3Error) as info:
        ip.run_cell_magic("s3ingest", "df", uri)
    exc = info.value
    assert type(exc) is error_class
    assert (exc.code, exc.status) == (code, status)
    assert {name: exc.hints.get(name) for name in hints} == hints
    assert exc.displayed is True
    assert ip.user_ns.get("df", None) is (SENTINEL if bound_before else None)
    assert phrase in exc.remedy
    shown = only_html(cap.outputs)
    assert html.escape(exc.remedy) in shown
    assert html.escape(exc.explanation) in shown
    assert "How to fix it: " + exc.remedy in cap.outputs[0].data["text/plain"]
    assert cap.stdout == ""  # the explanation is displayed, not printed; no summary line


def test_loader_failure_in_run_cell_shows_its_explanation_once(ip: InteractiveShell, bucket: str) -> None:
    ip.user_ns["df"] = SENTINEL
    with capture_output() as cap:
        result = ip.run_cell("%%s3ingest df\ns3://bkt/missing.csv")
    exc = result.error_in_exec
    assert type(exc) is S3NotFound
    assert result.success is False
    assert exc.displayed is True
    assert ip.user_ns["df"] is SENTINEL
    # The rich explanation, and no second plain line repeating it: the cell fails with a line that says so.
    assert exc._render_traceback_() == ["S3NotFound: the load failed, as explained above; nothing was bound."]
    assert "missing.csv" not in cap.stdout and cap.stderr == ""
    assert len(cap.outputs) == 1
    assert html.escape(exc.remedy) in only_html(cap.outputs)


def test_without_credentials_a_public_object_loads_unsigned(
    ip: InteractiveShell, s3: Any, source: pd.DataFrame, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    s3.make_bucket("bkt")
    s3.put("bkt", "public.csv", to_bytes(source, "csv"), ACL="public-read")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    capsys.readouterr()
    ip.run_cell_magic("s3ingest", "df", "s3://bkt/public.csv")  # unsigned_fallback is on by default
    pd.testing.assert_frame_equal(ip.user_ns["df"], source)
    assert ip.user_ns["df"].attrs["s3"]["signed"] is False
    assert "unsigned (no credentials were found)" in summary(capsys.readouterr().out)


# --- configuration ---------------------------------------------------------------------------------------


def test_fresh_extension_has_the_documented_defaults(ip: InteractiveShell, s3: Any) -> None:
    # The fixture configured only these two; everything else must be at its default, whatever ran before.
    expected = {**TRAIT_DEFAULTS, "endpoint_url": s3.endpoint_url, "progress": False}
    instance = magics(ip)
    assert {name: getattr(instance, name) for name in TRAIT_DEFAULTS} == expected
    assert set(S3IngestMagics.class_traits(config=True)) == set(TRAIT_DEFAULTS)
    defaults = {name: trait.default() for name, trait in S3IngestMagics.class_traits(config=True).items()}
    assert defaults == TRAIT_DEFAULTS


def test_config_lists_every_setting(ip: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert ip.run_line_magic("config", "") is None
    assert "S3IngestMagics" in capsys.readouterr().out.split()
    ip.run_line_magic("config", "S3IngestMagics")
    out = capsys.readouterr().out
    for name in TRAIT_DEFAULTS:
        assert f"S3IngestMagics.{name}=" in out, name
    assert "Attempts per request" in out


def test_config_sets_and_reads_back(ip: InteractiveShell) -> None:
    config(ip, "max_attempts = 3")
    config(ip, "region = 'eu-west-3'")
    assert config(ip, "max_attempts") == 3
    assert config(ip, "region") == "eu-west-3"
    assert magics(ip).max_attempts == 3


@pytest.mark.parametrize(("name", "good", "bad"), [("max_attempts", 3, 0), ("max_attempts", 3, -1),
                                                   ("connect_timeout", 7.0, 0), ("read_timeout", 30.0, -1),
                                                   ("min_speed", 0, -1)])
def test_config_refuses_an_invalid_value_and_keeps_the_old_one(
    ip: InteractiveShell, caplog: pytest.LogCaptureFixture, name: str, good: float, bad: float
) -> None:
    config(ip, f"{name} = {good}")
    with caplog.at_level(logging.ERROR):
        config(ip, f"{name} = {bad}")  # %config reports a failing update with logging.error; no raise
    assert [r.levelno for r in caplog.records] == [logging.ERROR]
    assert name in caplog.records[0].getMessage()
    assert getattr(magics(ip), name) == good
    assert config(ip, name) == good


@pytest.mark.parametrize(("name", "bad"), [("max_attempts", 0), ("connect_timeout", 0.0),
                                           ("read_timeout", -1.0), ("min_speed", -1)])
def test_invalid_setting_raises_trait_error(ip: InteractiveShell, name: str, bad: float) -> None:
    instance = magics(ip)
    old = getattr(instance, name)
    with pytest.raises(TraitError):
        setattr(instance, name, bad)
    assert getattr(instance, name) == old


def test_configured_region_is_used_and_the_option_wins(
    ip: InteractiveShell, bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config(ip, "region = 'eu-west-3'")
    capsys.readouterr()
    ip.run_cell_magic("s3ingest", "df", CSV)
    assert ip.user_ns["df"].attrs["s3"]["region"] == "eu-west-3"
    assert "region eu-west-3" in summary(capsys.readouterr().out)
    ip.run_cell_magic("s3ingest", "df --region eu-west-2 -q", CSV)
    assert ip.user_ns["df"].attrs["s3"]["region"] == "eu-west-2"


def test_configured_quiet_and_anon_are_used(
    ip: InteractiveShell, s3: Any, source: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    s3.make_bucket("bkt")
    s3.put("bkt", "public.csv", to_bytes(source, "csv"), ACL="public-read")
    config(ip, "quiet = True")
    config(ip, "anon = True")
    capsys.readouterr()
    ip.run_cell_magic("s3ingest", "df", "s3://bkt/public.csv")
    assert capsys.readouterr() == ("", "")
    assert ip.user_ns["df"].attrs["s3"]["signed"] is False
    assert ip.user_ns["df"].attrs["s3"]["unsigned_reason"] == "anonymous access was asked for"


def test_config_does_not_reach_a_plain_load_call(ip: InteractiveShell, bucket: str, s3: Any) -> None:
    # The loader reads no global config: %config changes the magic's defaults, not dreambolt_magic.load.
    config(ip, "region = 'eu-west-3'")
    df = dreambolt_magic.load(CSV, endpoint_url=s3.endpoint_url, progress=False)
    assert df.attrs["s3"]["region"] == "us-east-1"


# --- %s3ingest? -------------------------------------------------------------------------------------------


def test_help_names_every_option(ip: InteractiveShell) -> None:
    doc = ip.find_line_magic("s3ingest").__doc__
    assert ip.find_cell_magic("s3ingest").__doc__ == doc
    for option in OPTIONS:
        assert option in doc, option
    inspected = ip.object_inspect_mime("%s3ingest")["text/plain"]
    for option in OPTIONS:
        assert option in inspected, option


def test_help_for_the_target_argument_is_readable(ip: InteractiveShell) -> None:
    doc = ip.find_line_magic("s3ingest").__doc__
    # argparse %-formats help strings: a bare "%s" in one is replaced by a dict of the argument's fields.
    assert "option_strings" not in doc
    target_help = doc.split("positional arguments:", 1)[1].split("options:", 1)[0]
    assert "(%%s3ingest)" in target_help
    assert "(%s3ingest)" in target_help


# --- %s3ingest_demo --------------------------------------------------------------------------------------

DEMO_HEADER = re.compile(
    r"Embedded S3 server at (http://127\.0\.0\.1:(\d+)) \(bucket dreambolt-demo, region eu-west-1\); "
)


def _demo_started(out: str) -> tuple[str, int, dict[str, str]]:
    """The endpoint, port and label → URI table that ``%s3ingest_demo`` printed."""
    first, *rest = out.splitlines()
    match = DEMO_HEADER.match(first)
    assert match, first
    return match.group(1), int(match.group(2)), dict(line.split() for line in rest)


def test_demo_starts_serves_samples_and_stops(
    ip: InteractiveShell, s3: Any, bucket: str, source: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    server = ip.run_line_magic("s3ingest_demo", "")
    endpoint, port, uris = _demo_started(capsys.readouterr().out)
    assert isinstance(server, demo.DemoServer)
    assert server.running
    assert (server.endpoint_url, server.port) == (endpoint, port)
    assert server.uris == uris
    assert endpoint != s3.endpoint_url
    assert uris == {d.label: f"s3://{demo.DEMO_BUCKET}/{d.key}" for d in demo.DATASETS}
    assert config(ip, "endpoint_url") == endpoint

    ip.run_cell_magic("s3ingest", "trips", uris["parquet"])
    trips = ip.user_ns["trips"]
    parquet = next(d for d in demo.DATASETS if d.label == "parquet")
    assert trips.shape == (parquet.rows, len(parquet.columns))
    assert tuple(trips.columns) == parquet.columns
    assert trips.attrs["s3"]["endpoint"] == endpoint
    assert trips.attrs["s3"]["region"] == "eu-west-1"  # detected: the demo gives no region
    line = summary(capsys.readouterr().out)
    assert line.startswith(f"Loaded {uris['parquet']}: 50,000 rows x 8 columns")

    with capture_output(), pytest.raises(S3FormatError):
        ip.run_cell_magic("s3ingest", "broken", uris["broken"])
    assert "broken" not in ip.user_ns

    # A second %s3ingest_demo lists the same server; it does not start another.
    assert ip.run_line_magic("s3ingest_demo", "") is server
    assert _demo_started(capsys.readouterr().out)[:2] == (endpoint, port)

    assert ip.run_line_magic("s3ingest_demo", "stop") is None
    assert capsys.readouterr().out == ("The embedded S3 server is stopped; the endpoint setting and the AWS_* "
                                       "variables are as they were.\n")
    assert not server.running
    assert config(ip, "endpoint_url") == s3.endpoint_url
    assert refuses(port)
    ip.run_cell_magic("s3ingest", "df -q", CSV)
    assert ip.user_ns["df"].attrs["s3"]["endpoint"] == s3.endpoint_url
    pd.testing.assert_frame_equal(ip.user_ns["df"], source)


@pytest.fixture
def unseeded_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    """``%s3ingest_demo`` starts a real DemoServer but skips generating the samples (seconds of work)."""
    monkeypatch.setattr(demo, "start_demo_server", functools.partial(demo.start_demo_server, seed=False))


def test_demo_stop_without_a_server_changes_nothing(
    ip: InteractiveShell, s3: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert ip.run_line_magic("s3ingest_demo", "stop") is None
    assert capsys.readouterr() == ("", "")
    assert config(ip, "endpoint_url") == s3.endpoint_url


def test_demo_unknown_argument_is_a_usage_error(ip: InteractiveShell, s3: Any) -> None:
    with pytest.raises(UsageError) as info:
        ip.run_line_magic("s3ingest_demo", "start now")
    assert type(info.value) is UsageError
    assert config(ip, "endpoint_url") == s3.endpoint_url


@pytest.mark.usefixtures("unseeded_demo")
def test_demo_gives_fake_credentials_only_when_there_are_none(
    ip: InteractiveShell, bucket: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    capsys.readouterr()
    result = ip.run_cell("server = %s3ingest_demo")
    assert result.success, result.error_in_exec
    endpoint, port, _ = _demo_started(capsys.readouterr().out)
    server = ip.user_ns["server"]
    assert isinstance(server, demo.DemoServer)
    assert server.endpoint_url == endpoint
    assert os.environ["AWS_ACCESS_KEY_ID"] and os.environ["AWS_SECRET_ACCESS_KEY"]
    # moto keeps one state per process, so the demo endpoint serves the test bucket too.
    ip.run_cell_magic("s3ingest", "df -q", CSV)
    assert ip.user_ns["df"].attrs["s3"]["signed"] is True
    assert ip.user_ns["df"].attrs["s3"]["endpoint"] == endpoint
    ip.run_line_magic("s3ingest_demo", "stop")
    assert not server.running
    assert refuses(port)
    # Its fake credentials went with it: later loads are not signed with them.
    assert "AWS_ACCESS_KEY_ID" not in os.environ and "AWS_SECRET_ACCESS_KEY" not in os.environ


@pytest.mark.usefixtures("unseeded_demo")
def test_demo_leaves_existing_credentials_alone(ip: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    before = (os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
    ip.run_line_magic("s3ingest_demo", "")
    assert (os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]) == before
    ip.run_line_magic("s3ingest_demo", "stop")


# --- %load_ext / %unload_ext -----------------------------------------------------------------------------


def _instances(ip: InteractiveShell) -> list[Any]:
    return [c for c in ip.configurables if isinstance(c, S3IngestMagics)]


def test_unload_removes_the_magics_and_reload_works(
    ip: InteractiveShell, bucket: str, source: pd.DataFrame
) -> None:
    registered = {kind: sorted(names) for kind, names in magics(ip).magics.items()}
    assert {"s3ingest", "s3ingest_demo"} <= set(registered["line"])
    assert registered["cell"] == ["s3ingest"]
    ip.run_line_magic("unload_ext", "dreambolt_magic")
    for name in registered["line"]:
        assert ip.find_line_magic(name) is None, name
    assert ip.find_cell_magic("s3ingest") is None
    assert "S3IngestMagics" not in ip.magics_manager.registry
    assert _instances(ip) == []
    with pytest.raises(UsageError):
        ip.run_line_magic("config", "S3IngestMagics")
    with capture_output():
        result = ip.run_cell(f"%%s3ingest df\n{CSV}")
    assert type(result.error_in_exec) is UsageError
    assert "df" not in ip.user_ns

    ip.run_line_magic("load_ext", "dreambolt_magic")
    assert len(_instances(ip)) == 1
    assert ip.magics_manager.registry["S3IngestMagics"] is _instances(ip)[0]
    # The %config settings live in the shell's config, so the new instance reads from moto too.
    ip.run_cell_magic("s3ingest", "df -q", CSV)
    pd.testing.assert_frame_equal(ip.user_ns["df"], source)


def test_loading_twice_registers_once(ip: InteractiveShell) -> None:
    first = magics(ip)
    dreambolt_magic.load_ipython_extension(ip)
    assert magics(ip) is first
    assert _instances(ip) == [first]


def test_unloading_twice_is_harmless(ip: InteractiveShell) -> None:
    dreambolt_magic.unload_ipython_extension(ip)
    dreambolt_magic.unload_ipython_extension(ip)
    assert ip.find_line_magic("s3ingest") is None
    assert _instances(ip) == []


@pytest.mark.usefixtures("unseeded_demo")
def test_reload_carries_on_with_the_running_demo_and_its_endpoint(
    ip: InteractiveShell, bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    server = ip.run_line_magic("s3ingest_demo", "")
    endpoint, port, _ = _demo_started(capsys.readouterr().out)
    ip.run_line_magic("config", "S3IngestMagics.max_attempts = 2")
    ip.run_line_magic("reload_ext", "dreambolt_magic")
    assert server.running and not refuses(port)
    (magics,) = _instances(ip)
    assert (magics.endpoint_url, magics.max_attempts) == (endpoint, 2)
    # moto keeps one state per process: the demo endpoint serves the test bucket too, on loopback.
    ip.run_cell_magic("s3ingest", "df -q", CSV)
    assert ip.user_ns["df"].attrs["s3"]["endpoint"] == endpoint
    ip.run_line_magic("s3ingest_demo", "stop")
    assert not server.running and refuses(port)


def test_unload_keeps_the_demo_for_a_load_and_stops_it_when_the_process_ends(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    from dreambolt_magic.notebook import extension

    capsys.readouterr()
    server = ip.run_line_magic("s3ingest_demo", "")
    _, port, _ = _demo_started(capsys.readouterr().out)
    ip.run_line_magic("unload_ext", "dreambolt_magic")
    assert server.running
    extension._stop_parked()  # what the process's exit runs
    assert not server.running and refuses(port)


def test_loading_the_extension_warms_up_on_a_thread(shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from dreambolt_magic.client import connection

    called: list[str] = []
    monkeypatch.setattr(connection, "warm_up", lambda: called.append(threading.current_thread().name))
    if "dreambolt_magic" in shell.extension_manager.loaded:
        shell.run_line_magic("unload_ext", "dreambolt_magic")
    shell.run_line_magic("load_ext", "dreambolt_magic")
    try:
        for thread in threading.enumerate():
            if thread.name == "dreambolt-warm-up":
                thread.join(5)
    finally:
        shell.run_line_magic("unload_ext", "dreambolt_magic")
    assert called == ["dreambolt-warm-up"]
