"""An AWS credentials or config file that does not parse: an S3AuthError that names the file and the line, and
never shows the line's text, which is often a secret pasted on a line of its own.

botocore raises ``ConfigParseError`` for such a file, keeping :mod:`configparser`'s error, which quotes the
line. Each case here writes a broken file holding a fake secret, points ``AWS_SHARED_CREDENTIALS_FILE`` or
``AWS_CONFIG_FILE`` at it, and loads from moto.
"""

from __future__ import annotations

import logging
import pickle
from typing import TYPE_CHECKING

import pytest
from helpers import make_frame, renderings, to_bytes

import dreambolt_magic as dm

if TYPE_CHECKING:
    from pathlib import Path

    from conftest import S3Helper

SECRET = "wJalrXUtnFEMIK7MDENGbPxRfiCYPastedSecretNeverShowMe"
CREDENTIALS = "AWS_SHARED_CREDENTIALS_FILE"
CONFIG = "AWS_CONFIG_FILE"

#: (variable, the file's text, the broken line's number, the profile the load names)
BROKEN = {
    "secret alone on a line": (CREDENTIALS, f"[default]\naws_access_key_id = AKIAX\n{SECRET}\n", 3, None),
    "secret alone, a profile named": (CREDENTIALS, f"[dev]\naws_access_key_id = AKIAX\n\n{SECRET}\n", 4, "dev"),
    "text before any header": (CREDENTIALS, f"{SECRET}\n[default]\naws_access_key_id = AKIAX\n", 1, None),
    "header without its ]": (CREDENTIALS, f"[default]\naws_access_key_id = AKIAX\n[dev {SECRET}\n", 3, None),
    "a key set twice": (CREDENTIALS, f"[default]\naws_secret_access_key = {SECRET}\n"
                                     f"aws_secret_access_key = {SECRET}\n", 3, None),
    "not UTF-8": (CREDENTIALS, f"[default]\naws_access_key_id = AKIAX\naws_secret_access_key = {SECRET}\xff\n", 3,
                  None),
    "config: profile header without its ]": (CONFIG, f"[default]\nregion = us-east-1\n[profile dev\n{SECRET}\n", 3,
                                             None),
    "config: indented block line without =": (CONFIG, f"[default]\nregion = us-east-1\ns3 =\n  addressing_style = "
                                                      f"path\n  # a comment\n  {SECRET}\n", 6, None),
}


@pytest.fixture
def objects(s3: S3Helper) -> S3Helper:
    s3.make_bucket("files")
    s3.put("files", "data.csv", to_bytes(make_frame(10), "csv"))
    return s3


def write(path: Path, text: str) -> None:
    # Latin-1, so that "\xff" is one byte that is not UTF-8 (the rest is ASCII either way).
    path.write_bytes(text.encode("latin-1"))


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_file_names_itself_and_the_line_and_never_shows_it(
    objects: S3Helper, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    case: str,
) -> None:
    variable, text, line, profile = BROKEN[case]
    broken = tmp_path / "broken-file"
    write(broken, text)
    monkeypatch.setenv(variable, str(broken))
    with caplog.at_level(logging.DEBUG), pytest.raises(dm.S3AuthError) as info:
        dm.load("s3://files/data.csv", endpoint_url=objects.endpoint_url, profile=profile, progress=False)
    err = info.value
    kind = "credentials file" if variable == CREDENTIALS else "config file"
    assert err.code == "ConfigFileError"
    assert f"the AWS {kind} {broken} cannot be parsed: line {line} " in str(err)
    assert (err.hints["file"], err.hints["line"]) == (str(broken), line)
    assert err.remedy and str(broken) in err._repr_html_()
    for name, shown in {
        **renderings(err),
        "cause's pickle": repr(pickle.dumps(err.__cause__)),
        "cause's fields": repr(vars(err.__cause__)),
        "logs": caplog.text,
    }.items():
        assert SECRET not in shown, f"the line shows in the {name}"


def test_the_next_load_reads_the_mended_file(
    objects: S3Helper, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "credentials"
    write(broken, f"[default]\naws_access_key_id = testing\n{SECRET}\n")
    monkeypatch.setenv(CREDENTIALS, str(broken))
    with pytest.raises(dm.S3AuthError, match="line 3"):
        dm.load("s3://files/data.csv", endpoint_url=objects.endpoint_url, progress=False)
    write(broken, "[default]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    df = dm.load("s3://files/data.csv", endpoint_url=objects.endpoint_url, progress=False)
    assert len(df) == 10


def test_a_broken_config_file_fails_an_anonymous_load_too(
    objects: S3Helper, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # botocore reads the config file for any client (the region, its settings), signed or not.
    broken = tmp_path / "config"
    write(broken, f"[default]\n{SECRET}\n")
    monkeypatch.setenv(CONFIG, str(broken))
    with pytest.raises(dm.S3AuthError, match="line 2") as info:
        dm.load("s3://files/data.csv", endpoint_url=objects.endpoint_url, anon=True, progress=False)
    assert SECRET not in str(info.value)
