"""botocore's data files, parsed once per botocore release rather than once per process.

A process's first client reads some 3.5 MB of botocore's JSON: the S3 model, its endpoint rules and the
table of every service's endpoints (``endpoints.json``, which botocore still consults for the region and
partition). Parsed, that was 35 ms of the 66 ms a first client took here, and looking up whether ``s3`` is a
service at all (botocore lists the folders of all 400 services first, for the error it would raise) another
15 ms: fixed costs of every fresh kernel or script, before its first byte.

:class:`ModelLoader` is botocore's own loader with two changes:

- :class:`KeptFiles`, its file loader, keeps each file's parsed data as a ``marshal`` file in
  ``<cache home>/botocore-<release>-py<X.Y>/`` (see :func:`dreambolt_magic.folders.cache_home`), named after
  the file's path, size and modification time: a changed file is parsed afresh, another botocore release or
  Python uses other files. marshal loads the same data about four times faster than ``json`` parses it. A
  kept file that cannot be read (truncated, of another format) is parsed again and replaced; a cache that
  cannot be written is not used. Every value is what the JSON holds (dicts, lists, strings, numbers), with
  plain dicts where botocore's own loader makes ``OrderedDict`` (dicts keep their order; nothing in botocore
  compares two models' order).
- :meth:`ModelLoader.load_service_model` asks only the service's own folders for its versions; only for a
  service it does not find does it let botocore list them all, for the error that names the known ones.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import marshal
import os
import shutil
import stat
import sys
import threading
import time
from pathlib import Path
from typing import Any

import botocore
from botocore.exceptions import DataNotFoundError
from botocore.loaders import JSONFileLoader, Loader, instance_cache

from dreambolt_magic.folders import cache_home

__all__ = ["KeptFiles", "ModelLoader", "kept_folder"]

log = logging.getLogger(__name__)

#: A folder of other releases' kept files is removed once nothing has been kept in it for this long.
STALE_SECONDS = 30 * 86_400
_PREFIX = "botocore-"
_SUFFIX = ".marshal"


def kept_folder() -> Path:
    """Where this botocore release's parsed files are kept, for this Python (read when called)."""
    return cache_home() / f"{_PREFIX}{botocore.__version__}-py{sys.version_info[0]}.{sys.version_info[1]}"


class KeptFiles(JSONFileLoader):
    """botocore's JSON file loader, keeping what it parsed (see the module docstring)."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder if folder is not None else kept_folder()
        self._usable: bool | None = None  # None: not tried yet

    def load_file(self, file_path: str) -> Any:
        for extension in (".json", ".json.gz"):
            source = file_path + extension
            try:
                found = os.stat(source)
            except OSError:
                continue
            if not stat.S_ISREG(found.st_mode):
                continue
            identity = f"{source}\0{found.st_size}\0{found.st_mtime_ns}".encode()
            kept = self.folder / (hashlib.sha256(identity).hexdigest()[:32] + _SUFFIX)
            data = self._read(kept)
            if data is None:
                data = _parse(source)
                self._keep(kept, data)
            return data
        return None

    def _read(self, kept: Path) -> Any:
        try:
            data = marshal.loads(kept.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, EOFError, ValueError, TypeError) as exc:
            log.debug("parsing botocore's file again: its kept copy %s is unreadable (%s)", kept.name, exc)
            return None
        return data if isinstance(data, dict | list) else None

    def _keep(self, kept: Path, data: Any) -> None:
        if not self._ready():
            return
        temporary = kept.with_name(f".tmp-{os.getpid()}-{threading.get_ident()}-{kept.name}")
        try:
            temporary.write_bytes(marshal.dumps(data))
            os.replace(temporary, kept)
        except (OSError, ValueError) as exc:
            log.debug("not keeping botocore's parsed file %s: %s", kept.name, exc)
            temporary.unlink(missing_ok=True)

    def _ready(self) -> bool:
        """Whether the folder exists or could be made; on making it, other releases' stale folders go."""
        if self._usable is None:
            try:
                made = not self.folder.is_dir()
                self.folder.mkdir(parents=True, exist_ok=True)
                self._usable = True
            except OSError as exc:
                log.debug("not keeping botocore's parsed files in %s: %s", self.folder, exc)
                self._usable = False
            else:
                if made:
                    _remove_stale(self.folder)
        return self._usable


class ModelLoader(Loader):
    """botocore's :class:`~botocore.loaders.Loader`, reading through :class:`KeptFiles` and finding a
    service's model without listing every service first (see the module docstring)."""

    def __init__(self, folder: Path | None = None) -> None:
        super().__init__(file_loader=KeptFiles(folder))

    @instance_cache
    def load_service_model(self, service_name: str, type_name: str, api_version: str | None = None) -> Any:
        if api_version is not None:
            return super().load_service_model(service_name, type_name, api_version)
        try:
            api_version = self.determine_latest_version(service_name, type_name)
        except DataNotFoundError:
            # Not a service botocore has this model of: its own path raises the error that names the known ones.
            return super().load_service_model(service_name, type_name)
        model = self.load_data(os.path.join(service_name, api_version, type_name))
        self._extras_processor.process(model, self._find_extras(service_name, type_name, api_version))
        return model


def _parse(source: str) -> Any:
    opener: Any = gzip.open if source.endswith(".gz") else open
    with opener(source, "rb") as file:
        return json.loads(file.read().decode("utf-8"))


def _remove_stale(folder: Path) -> None:
    cutoff = time.time() - STALE_SECONDS
    try:
        siblings = [p for p in folder.parent.iterdir() if p.name.startswith(_PREFIX) and p != folder]
    except OSError:
        return
    for sibling in siblings:
        try:
            if sibling.is_dir() and sibling.stat().st_mtime < cutoff:
                shutil.rmtree(sibling, ignore_errors=True)
        except OSError:
            continue
