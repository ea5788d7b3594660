"""botocore's data files kept parsed between processes (client.models): the same data, afresh when it changes."""

from __future__ import annotations

import gzip
import json
import marshal
import os
import time
from pathlib import Path

import botocore.loaders
import pytest
from botocore.exceptions import UnknownServiceError

from dreambolt_magic.client import models
from dreambolt_magic.client.models import KeptFiles, ModelLoader


def _kept(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.marshal"))


def test_a_file_is_parsed_once_then_read_from_its_kept_copy(tmp_path: Path) -> None:
    source = tmp_path / "data" / "thing"
    source.parent.mkdir()
    source.with_suffix(".json").write_text(json.dumps({"b": [1, 2.5, None, True], "a": {"z": "x"}}))
    folder = tmp_path / "kept"

    first = KeptFiles(folder).load_file(str(source))
    assert first == {"b": [1, 2.5, None, True], "a": {"z": "x"}}
    assert list(first) == ["b", "a"]  # the file's order
    (kept,) = _kept(folder)
    # What a later process reads is the kept copy, not the file: change the copy and it is what comes back.
    kept.write_bytes(marshal.dumps({"from": "the kept copy"}))
    assert KeptFiles(folder).load_file(str(source)) == {"from": "the kept copy"}


def test_a_changed_file_is_parsed_afresh(tmp_path: Path) -> None:
    source = tmp_path / "thing"
    source.with_suffix(".json").write_text('{"version": 1}')
    folder = tmp_path / "kept"
    assert KeptFiles(folder).load_file(str(source)) == {"version": 1}
    source.with_suffix(".json").write_text('{"version": 22}')  # another size, another time
    os.utime(source.with_suffix(".json"), ns=(time.time_ns() + 10**9,) * 2)
    assert KeptFiles(folder).load_file(str(source)) == {"version": 22}
    assert len(_kept(folder)) == 2


def test_gzipped_files_and_missing_ones(tmp_path: Path) -> None:
    source = tmp_path / "rules"
    with gzip.open(source.with_suffix(".json.gz"), "wt") as file:
        json.dump({"rules": ["r"]}, file)
    files = KeptFiles(tmp_path / "kept")
    assert files.load_file(str(source)) == {"rules": ["r"]}
    assert files.load_file(str(source)) == {"rules": ["r"]}
    assert files.load_file(str(tmp_path / "absent")) is None
    assert files.exists(str(source)) and not files.exists(str(tmp_path / "absent"))


@pytest.mark.parametrize("damage", [b"", b"\x00\x01 not marshal", marshal.dumps("a string, not a model")])
def test_an_unreadable_kept_copy_is_parsed_again_and_replaced(tmp_path: Path, damage: bytes) -> None:
    source = tmp_path / "thing"
    source.with_suffix(".json").write_text('{"ok": true}')
    folder = tmp_path / "kept"
    KeptFiles(folder).load_file(str(source))
    (kept,) = _kept(folder)
    kept.write_bytes(damage)
    assert KeptFiles(folder).load_file(str(source)) == {"ok": True}
    assert marshal.loads(kept.read_bytes()) == {"ok": True}


def test_a_folder_that_cannot_be_made_keeps_nothing_and_still_loads(tmp_path: Path) -> None:
    source = tmp_path / "thing"
    source.with_suffix(".json").write_text('{"ok": 1}')
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    files = KeptFiles(blocker / "kept")
    assert files.load_file(str(source)) == {"ok": 1}
    assert files.load_file(str(source)) == {"ok": 1}
    assert blocker.read_text() == "not a folder"


def test_other_releases_folders_go_once_stale(tmp_path: Path) -> None:
    stale, recent, other = (tmp_path / n for n in ("botocore-1.0.0-py3.11", "botocore-1.0.1-py3.11", "notes"))
    for folder in (stale, recent, other):
        folder.mkdir()
        (folder / "x.marshal").write_bytes(b"x")
    old = time.time() - models.STALE_SECONDS - 60
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    source = tmp_path / "thing"
    source.with_suffix(".json").write_text("{}")
    KeptFiles(tmp_path / "botocore-9.9.9-py3.11").load_file(str(source))
    assert not stale.exists()
    assert recent.exists() and other.exists()


def test_the_kept_folder_follows_the_cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    folder = models.kept_folder()
    assert folder.parent == tmp_path / "dreambolt_magic"
    assert folder.name.startswith(f"botocore-{botocore.__version__}-py")


def test_the_s3_model_and_rules_are_botocore_s_own(tmp_path: Path) -> None:
    ours, theirs = ModelLoader(tmp_path / "kept"), botocore.loaders.Loader()
    for type_name in ("service-2", "endpoint-rule-set-1"):
        assert ours.load_service_model("s3", type_name) == theirs.load_service_model("s3", type_name)
    # And from the kept copies, in a loader of its own (a later process).
    again = ModelLoader(tmp_path / "kept")
    assert again.load_service_model("s3", "service-2") == theirs.load_service_model("s3", "service-2")
    assert again.load_data("endpoints") == theirs.load_data("endpoints")
    assert _kept(tmp_path / "kept")


def test_an_unknown_service_is_botocore_s_error(tmp_path: Path) -> None:
    with pytest.raises(UnknownServiceError, match="s3"):
        ModelLoader(tmp_path / "kept").load_service_model("no-such-service", "service-2")


def test_a_known_service_is_found_without_listing_them_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    listed: list[str] = []
    original = botocore.loaders.Loader.list_available_services

    def counted(self: botocore.loaders.Loader, type_name: str) -> list[str]:
        listed.append(type_name)
        return list(original(self, type_name))

    monkeypatch.setattr(botocore.loaders.Loader, "list_available_services", counted)
    loader = ModelLoader(tmp_path / "kept")
    assert loader.load_service_model("s3", "service-2")["metadata"]["endpointPrefix"] == "s3"
    assert loader.load_service_model("s3", "endpoint-rule-set-1")
    assert listed == []
    with pytest.raises(UnknownServiceError):  # only an unknown one has all of them listed, for the error
        loader.load_service_model("no-such-service", "service-2")
    assert listed == ["service-2"]
