"""Run a few lines of Python in a fresh interpreter, held to loopback like the suite.

For what one process can do only once or only at its start: route the AWS Common Runtime's log into Python's
logging (``awscrt.logging.init_logging``), or import botocore without the CRT. The child is this interpreter,
with the parent's environment (the suite's fake credentials, no ~/.aws, no metadata service) and this folder
importable; before ``code`` runs it enters conftest's :func:`~conftest.loopback_only` guard, so the child
too can resolve and reach nothing but this machine. Packages named in ``hide`` it cannot find at all, as if
they were not installed. ``code`` prints its result as JSON on the last line of its output, which :func:`run`
returns parsed. The child then exits as any script does: a failure or an abort at its interpreter's exit fails
the run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["run"]

_TESTS = Path(__file__).resolve().parent
# Before anything is imported: the guard's module imports botocore, which imports awscrt if it can.
_HIDE = """import sys
from importlib.machinery import PathFinder

class _Hidden(PathFinder):
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        return None if name.partition(".")[0] in HIDDEN else super().find_spec(name, path, target)

sys.meta_path[sys.meta_path.index(PathFinder)] = _Hidden
"""
# No epilogue: the child ends through the interpreter's shutdown, as a user's script or kernel does, so that an
# abort there (SIGABRT, "terminate called without an active exception": once an Arrow pool thread that still
# held our bytes, see formats/loans.py) fails the test instead of hiding behind os._exit(0).
# Kept in a name: a guard left to the garbage collector would close, and undo its patches.
_PROLOGUE = "from conftest import loopback_only\n_offline = loopback_only()\n_offline.__enter__()\n"


def run(code: str, *args: str, env: dict[str, str] | None = None, hide: tuple[str, ...] = (),
        timeout: float = 120) -> Any:
    """Run ``code`` (its ``sys.argv[1:]`` are ``args``) with ``env`` added to this process's environment and the
    top-level packages ``hide`` not to be found; returns the JSON its last line of output holds. A child that
    fails fails the test, with its stderr."""
    environ = {**os.environ, **(env or {})}
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_TESTS), os.environ.get("PYTHONPATH")]))
    prologue = (f"HIDDEN = {set(hide)!r}\n" + _HIDE if hide else "") + _PROLOGUE
    done = subprocess.run([sys.executable, "-c", prologue + code, *args], env=environ, capture_output=True,
                          text=True, timeout=timeout, check=False)
    code_or_signal = f"{done.returncode}, {signal.Signals(-done.returncode).name}" if done.returncode < 0 else \
        str(done.returncode)
    assert done.returncode == 0, f"the child failed ({code_or_signal}):\n{done.stderr[-4000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])
