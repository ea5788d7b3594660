"""What ``import dreambolt_magic`` and ``%load_ext`` cost a fresh process: the heavy libraries wait for a load.

Each test runs in a fresh interpreter, as a script or a new kernel starts: this process has imported them all.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

HEAVY = ("pandas", "pyarrow", "botocore", "boto3", "numpy", "ipywidgets")


def _run(code: str) -> object:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_the_package_imports_no_heavy_library() -> None:
    imported = _run(f"""
        import json, sys
        import dreambolt_magic
        dreambolt_magic.load, dreambolt_magic.S3Error, dreambolt_magic.parse_uri("s3://bucket/key")
        print(json.dumps([name for name in {HEAVY!r} if name in sys.modules]))
    """)
    assert imported == []


def test_load_ext_leaves_the_heavy_imports_to_its_warm_up_thread() -> None:
    found = _run(f"""
        import json, sys
        from IPython.core.interactiveshell import InteractiveShell
        from dreambolt_magic.notebook import extension
        extension._warm_up = lambda: None  # what the call itself imports, without the thread's
        shell = InteractiveShell.instance()
        shell.run_line_magic("load_ext", "dreambolt_magic")
        print(json.dumps({{"imported": [name for name in {HEAVY!r} if name in sys.modules],
                           "magics": sorted(shell.magics_manager.magics["cell"])}}))
    """)
    assert isinstance(found, dict)
    assert found["imported"] == []
    assert "s3ingest" in found["magics"]


def test_a_first_client_beside_the_warm_up_parses_the_model_once() -> None:
    """The warm-up thread and a load's first client at the same time: every model file is read once."""
    reads = _run("""
        import json, threading
        from dreambolt_magic.client import connection, models
        from dreambolt_magic.options import ConnectOptions

        reads = []
        original = models.KeptFiles.load_file
        def counted(self, file_path, *args, **kwargs):
            reads.append(file_path)
            return original(self, file_path, *args, **kwargs)
        models.KeptFiles.load_file = counted

        warming = threading.Thread(target=connection.warm_up)
        warming.start()
        made = connection.Connection.open(ConnectOptions(endpoint_url="http://127.0.0.1:9", anon=True,
                                                         unsigned_fallback=False, connect_timeout=1.0,
                                                         read_timeout=1.0))
        made.client("eu-west-1").close()
        warming.join(60)
        print(json.dumps(reads))
    """)
    assert isinstance(reads, list) and reads  # the model was read at all
    assert sorted(reads) == sorted(set(reads))
