"""tests/child.py's children end as any script does, through the interpreter's shutdown, so that an abort there
(as a pool thread's once did: SIGABRT, "terminate called without an active exception") fails the test that ran
the child rather than passing unseen."""

from __future__ import annotations

from typing import TYPE_CHECKING

import child
import pytest
from helpers import make_frame, to_bytes

if TYPE_CHECKING:
    from conftest import S3Helper

#: Loads ``sys.argv[1]`` from ``sys.argv[2]`` and prints its rows; with ``sys.argv[3] == "abort"`` the
#: interpreter aborts once the script is done, at its exit.
_LOAD = """
import atexit, json, os, sys
import dreambolt_magic

if sys.argv[3] == "abort":
    atexit.register(os.abort)
df = dreambolt_magic.load(sys.argv[1], endpoint_url=sys.argv[2], progress=False)
print(json.dumps(len(df)))
"""


@pytest.fixture
def uri(s3: S3Helper) -> str:
    s3.make_bucket("exits")
    return s3.put("exits", "data.parquet", to_bytes(make_frame(20), "parquet"))


def test_a_child_that_exits_cleanly_gives_its_result(s3: S3Helper, uri: str) -> None:
    assert child.run(_LOAD, uri, s3.endpoint_url, "") == 20


def test_an_abort_at_the_child_s_exit_fails_the_run(s3: S3Helper, uri: str) -> None:
    with pytest.raises(AssertionError, match=r"the child failed \(-6, SIGABRT\)"):
        child.run(_LOAD, uri, s3.endpoint_url, "abort")
