"""The code that does again what the panel did: a ``%%s3ingest`` cell, or a ``dreambolt_magic.load()`` call.

After a load the panel shows the cell that loads the same object with the same options, to copy into the
notebook and re-run without the panel. Text only: no widgets and no I/O here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dreambolt_magic.uri import public_endpoint

__all__ = ["PanelRequest", "equivalent_cell"]

#: The setting names a panel passes to the loader, and the ``%%s3ingest`` flag of each.
FLAGS = {"endpoint_url": "--endpoint-url", "region": "--region", "profile": "--profile"}
#: What one magic argument may hold: IPython splits on blanks, keeps quotes and expands {name} and $name; the
#: magic splits on commas, and its parser takes a leading "-" for an option.
_MAGIC_WORD = re.compile(r"(?!-)[^\s,'\"\\{}$]+")


@dataclass(frozen=True)
class PanelRequest:
    """One load the panel was asked for: the variable, the URI, the read options and the connection settings."""

    name: str
    uri: str
    format: str | None
    columns: list[str] | None
    nrows: int | None
    settings: dict[str, Any]


def equivalent_cell(request: PanelRequest, defaults: Mapping[str, Any] | None = None) -> str:
    """The ``%%s3ingest`` cell that loads what ``request`` loaded, to re-run without the panel.

    IPython keeps quotes in magic arguments and expands ``{name}`` and ``$name`` in them, so a column name the
    magic cannot take (with a space, a comma, a quote, a brace or a ``$`` in it, or a leading ``-``) gets the
    equivalent ``dreambolt_magic.load()`` call instead. A setting equal to
    its value in ``defaults`` (the configured defaults the magic would use anyway) is left out.
    """
    defaults = defaults or {}
    values = [*(request.columns or ()), *(_shown(k, v) for k, v in request.settings.items() if k in FLAGS and v)]
    if not all(_MAGIC_WORD.fullmatch(str(v)) for v in values):
        return _python_cell(request)
    args = [request.name]
    if request.format:
        args += ["--format", request.format]
    if request.columns:
        args += ["--columns", ",".join(request.columns)]
    if request.nrows is not None:
        args += ["--nrows", str(request.nrows)]
    for setting, flag in FLAGS.items():
        value = _shown(setting, request.settings.get(setting))
        if value and value != _shown(setting, defaults.get(setting)):
            args += [flag, value]
    for switch in ("anon", "requester_pays"):
        if request.settings.get(switch) and not defaults.get(switch):
            args.append("--" + switch.replace("_", "-"))
    # The magic fills {name} from the namespace in the body; a literal brace is written doubled.
    body = request.uri.replace("{", "{{").replace("}", "}}")
    return f"%%s3ingest {' '.join(args)}\n{body}"


def _shown(setting: str, value: Any) -> Any:
    # A cell is kept in the notebook and shared with it: the endpoint goes without the user info botocore
    # ignores anyway (a password, perhaps).
    return public_endpoint(value) if setting == "endpoint_url" else value


def _python_cell(request: PanelRequest) -> str:
    # The loader reads no config, so every setting that was used is spelt out.
    options = {"format": request.format, "columns": request.columns, "nrows": request.nrows,
               **{k: _shown(k, v) for k, v in request.settings.items() if v}}
    given = "".join(f", {name}={value!r}" for name, value in options.items() if value is not None)
    return f"import dreambolt_magic\n{request.name} = dreambolt_magic.load({request.uri!r}{given})"
