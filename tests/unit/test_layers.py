"""The package's layers, read from its source: every import points down (imports inside functions count).

    notebook/ > api.py > engines/ > datasets/ > objects/ > formats/ | transfer/ > client/ > errors, explain,
    options, units, uri

A module may import its own package's modules and any layer below it; ``formats`` and ``transfer`` are
siblings and import neither each other nor anything above; the bottom modules (errors, explain, explanations,
options, units, uri) may import one another. Only ``notebook/`` imports IPython or ipywidgets. The
package's ``__init__`` (the public names) and the old import paths kept for this release (``COMPAT``) stand
outside the layers: nothing in the package imports them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "dreambolt_magic"

#: Layer of each top-level name of the package, highest first.
LAYERS: dict[str, int] = {
    "notebook": 7,
    "api": 6,
    "engines": 5,
    "datasets": 4,
    "objects": 3,
    "formats": 2,
    "transfer": 2,
    "client": 1,
    "errors": 0,
    "folders": 0,
    "explain": 0,
    "explanations": 0,
    "options": 0,
    "arns": 0,
    "data_explanations": 0,
    "units": 0,
    "uri": 0,
}
#: Old import paths that README documented, re-exported for this release; they import upwards by design.
COMPAT = {"s3", "progress", "browse", "connection"}
FRONT_END_ONLY = ("IPython", "ipywidgets")


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p != PACKAGE / "__init__.py" and p.stem not in COMPAT
                  or p.parent != PACKAGE and p.stem in COMPAT)


def _top(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


def _imports(path: Path) -> list[tuple[int, str]]:
    """``(line, dotted name)`` of every import in ``path``, at any depth, relative ones made absolute."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = ".".join(("dreambolt_magic", *path.relative_to(PACKAGE).with_suffix("").parts[:-1]))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def violations(path: Path) -> list[str]:
    """What ``path`` imports against the layers, as readable lines (none: it keeps them)."""
    own = _top(path)
    if own not in LAYERS:
        return [f"{path.relative_to(PACKAGE)}: {own!r} is in no layer (add it to LAYERS)"]
    found = []
    for line, name in _imports(path):
        where = f"{path.relative_to(PACKAGE)}:{line} imports {name}"
        if name.split(".")[0] in FRONT_END_ONLY and own != "notebook":
            found.append(f"{where}: only notebook/ may import {name.split('.')[0]}")
        parts = name.split(".")
        if parts[0] != "dreambolt_magic" or len(parts) < 2:
            continue
        other = parts[1]
        if other in COMPAT:
            found.append(f"{where}: the package never imports its old import paths")
        elif other not in LAYERS:
            found.append(f"{where}: {other!r} is in no layer")
        elif other != own and LAYERS[other] >= LAYERS[own] and not LAYERS[own] == LAYERS[other] == 0:
            found.append(f"{where}: {other} is not below {own}")
    return found


def test_every_module_of_the_package_is_checked() -> None:
    names = {p.relative_to(PACKAGE).as_posix() for p in _modules()}
    assert {"api.py", "notebook/magics.py", "client/connection.py", "transfer/engine.py"} <= names
    assert not names & {f"{c}.py" for c in COMPAT}


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_imports_point_down_the_layers(path: Path) -> None:
    assert violations(path) == []


def test_an_upward_import_inside_a_function_is_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The check itself can fail: a client module that reaches up to the set loader from inside a function,
    # a formats module that imports its sibling transfer, and a loader module that imports IPython.
    monkeypatch.setattr(f"{__name__}.PACKAGE", tmp_path)
    (tmp_path / "client").mkdir()
    (tmp_path / "formats").mkdir()
    bad = tmp_path / "client" / "regions.py"
    bad.write_text("def f():\n    from dreambolt_magic.datasets import loader\n")
    sibling = tmp_path / "formats" / "readers.py"
    sibling.write_text("from ..transfer import memory\nimport IPython\n")
    assert violations(bad) == ["client/regions.py:2 imports dreambolt_magic.datasets.loader: datasets is not "
                               "below client"]

    assert [v.split(": ", 1)[1] for v in violations(sibling)] == [
        "transfer is not below formats", "only notebook/ may import IPython"]
