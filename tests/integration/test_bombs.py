"""Objects that are small on S3 and huge in memory are refused before they are decoded, over HTTP: a Parquet
file of constant columns (its footer tells how many rows it holds), and decompression bombs (a compressed
object of zeros, or of one endless line, a thousand times its size once expanded) held to a memory limit,
whole, streamed for nrows, or in a ZIP archive. Where the limit is the process's own (its address space), or
what is measured is its peak memory, the load runs in a child process.

The bombs are made cheaply: one compressed member (or frame, or stream) of 1 or 16 MB, repeated; every
compression reads every member of a concatenated file.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import compress

import dreambolt_magic as dm
from dreambolt_magic import S3TooLarge
from dreambolt_magic.formats import readers

if TYPE_CHECKING:
    from conftest import S3Helper

BUCKET = "bombs"


def _constant_parquet(rows: int) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table({"a": np.zeros(rows, dtype="int64"), "b": np.ones(rows, dtype="float64")}), sink)
    return sink.getvalue()


def test_a_parquet_bomb_is_refused_from_its_footer(s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)
    body = _constant_parquet(2_000_000)  # 32 MB as a frame, a few kB on S3
    assert len(body) < 200_000
    uri = s3.put(BUCKET, "bomb.parquet", body)
    with pytest.raises(S3TooLarge) as caught:
        dm.load(uri, endpoint_url=s3.endpoint_url, progress=False, memory_limit=8_000_000)
    assert caught.value.code == "TooLarge"
    assert caught.value.hints["need"] >= 32_000_000  # the footer's rows x widths, not the object's size
    # Within the limit, the same file loads.
    df = dm.load(uri, endpoint_url=s3.endpoint_url, progress=False, memory_limit=200_000_000)
    assert len(df) == 2_000_000


def test_an_allocation_failure_is_reported_as_memory_not_as_a_corrupt_file(
    s3: S3Helper, monkeypatch: pytest.MonkeyPatch
) -> None:
    def out_of_memory(request: readers.Request) -> None:
        raise pa.ArrowMemoryError("malloc of size 12800000000 failed")

    monkeypatch.setitem(readers.READERS, "parquet", out_of_memory)
    s3.make_bucket(BUCKET)
    uri = s3.put(BUCKET, "small.parquet", _constant_parquet(10))
    with pytest.raises(S3TooLarge) as caught:
        dm.load(uri, endpoint_url=s3.endpoint_url, progress=False)
    assert caught.value.code == "OutOfMemory"
    assert "ran out of memory" in caught.value.explanation and "--columns" in caught.value.remedy


# --- decompression bombs -------------------------------------------------------------------------------

MB = 1 << 20
UNIT = 16 * MB
COMPRESSIONS = ["gzip", "bz2", "xz", "zstd"]
SUFFIXES = {"gzip": ".gz", "bz2": ".bz2", "xz": ".xz", "zstd": ".zst"}


def _bomb(compression: str, unit: bytes, members: int, head: bytes = b"") -> bytes:
    """``head`` then ``members`` x ``unit``, compressed as that many members (each decompresses on its own)."""
    return compress(head + unit, compression) + compress(unit, compression) * (members - 1)


def _load(s3: S3Helper, uri: str, **kw: object) -> object:
    return dm.load(uri, endpoint_url=s3.endpoint_url, progress=False, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_a_decompression_bomb_is_stopped_before_it_expands(s3: S3Helper, compression: str) -> None:
    s3.make_bucket(BUCKET)
    body = _bomb(compression, bytes(UNIT), 64)  # 1 GiB of zeros
    assert len(body) < 2 * MB
    uri = s3.put(BUCKET, "zeros.csv" + SUFFIXES[compression], body)

    with pytest.raises(S3TooLarge) as caught:
        _load(s3, uri, memory_limit=50 * MB)

    err = caught.value
    assert err.code == "TooLarge" and err.hints["what"] == "decompressed"
    # Stopped once the bytes and what they expanded into passed the limit: at 25 MB of the 1 GiB, give or take a step.
    assert 20 * MB < err.hints["decompressed"] <= 50 * MB
    assert "decompression bomb" in err.explanation and "memory_limit" in err.explanation


def test_force_loads_what_expands_past_the_limit(s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)
    rows = 2_000_000
    uri = s3.put(BUCKET, "lines.csv.gz", compress(b"a\n" + b"7\n" * rows, "gzip"))  # 4 MB as text, 20 kB gzipped

    with pytest.raises(S3TooLarge):
        _load(s3, uri, memory_limit=2 * MB)
    df = _load(s3, uri, memory_limit=2 * MB, force=True)
    assert len(df) == rows  # type: ignore[arg-type]


def test_a_zip_bomb_is_refused_from_its_directory(s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("zeros.csv", bytes(256 * MB))
    assert len(sink.getvalue()) < 2 * MB
    uri = s3.put(BUCKET, "zeros.zip", sink.getvalue())

    with pytest.raises(S3TooLarge) as caught:
        _load(s3, uri, memory_limit=50 * MB)
    assert caught.value.hints["what"] == "decompressed" and caught.value.hints["decompressed"] == 256 * MB


def test_a_compressed_member_of_a_zip_is_held_to_the_limit_too(s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("zeros.csv.gz", _bomb("gzip", bytes(UNIT), 32))  # 512 MB once expanded
    uri = s3.put(BUCKET, "nested.zip", sink.getvalue())

    with pytest.raises(S3TooLarge) as caught:
        _load(s3, uri, memory_limit=50 * MB)
    assert caught.value.hints["decompressed"] <= 50 * MB


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_a_bomb_of_one_endless_line_with_nrows_is_refused_not_expanded(s3: S3Helper, compression: str) -> None:
    s3.make_bucket(BUCKET)
    body = _bomb(compression, b"x" * UNIT, 16, head=b"a,b\n1,")  # a header, then one line of 256 MB
    uri = s3.put(BUCKET, "line.csv" + SUFFIXES[compression], body)

    with pytest.raises(S3TooLarge) as caught:
        _load(s3, uri, nrows=5, memory_limit=50 * MB)

    err = caught.value
    assert err.code == "TooLarge" and err.hints["what"] == "rows"
    assert err.hints["decompressed"] <= 50 * MB
    assert "without the rows asked for" in err.explanation and "find the end of a line" in err.explanation


def test_nrows_of_a_cached_bomb_decompresses_only_its_start(s3: S3Helper, tmp_path: Path) -> None:
    # With a cache the object is fetched whole (the entry is the object), and read from the entry after.
    s3.make_bucket(BUCKET)
    uri = s3.put(BUCKET, "lines.csv.gz", _bomb("gzip", b"0\n" * (MB // 2), 512, head=b"a\n"))  # 512 MB of lines

    for _ in range(2):  # fetched, then from the cache
        df = _load(s3, uri, nrows=10, memory_limit=50 * MB, cache=tmp_path)
        assert df["a"].tolist() == [0] * 10  # type: ignore[index]


def test_nrows_of_a_bomb_in_a_zip_decompresses_only_its_start(s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("lines.csv.gz", _bomb("gzip", b"0\n" * (MB // 2), 512, head=b"a\n"))
    uri = s3.put(BUCKET, "lines.zip", sink.getvalue())

    df = _load(s3, uri, nrows=10, memory_limit=50 * MB)
    assert df["a"].tolist() == [0] * 10  # type: ignore[index]


def _child(code: str, *args: str) -> dict[str, object]:
    """What ``code``, run in a fresh interpreter with ``args`` as sys.argv[1:], prints as JSON on its last line."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(dm.__file__).parents[1]), *sys.path])}
    done = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


# The peak is VmHWM, the peak of this process's own memory: ru_maxrss would start at the parent's (Linux keeps it
# across exec), and the test process may have been large.
_PEAK = """
import json, sys
import dreambolt_magic as dm

def peak():
    return next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmHWM:"))

warm, uri, endpoint = sys.argv[1:]
dm.load(warm, endpoint_url=endpoint, progress=False, nrows=10)  # imports, thread pools, allocator arenas
before = peak()
df = dm.load(uri, endpoint_url=endpoint, progress=False, nrows=10, memory_limit=50 << 20)
print(json.dumps({"rows": df["a"].tolist(), "grew": peak() - before, "fetched": df.attrs["s3"]["bytes_fetched"]}))
"""


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_nrows_of_a_bomb_decompresses_only_its_start(s3: S3Helper, compression: str) -> None:
    s3.make_bucket(BUCKET)
    suffix = SUFFIXES[compression]
    warm = s3.put(BUCKET, "warm.csv" + suffix, compress(b"a\n" + b"1\n" * 1000, compression))
    body = _bomb(compression, b"0\n" * (MB // 2), 512, head=b"a\n")  # 512 MB of lines
    uri = s3.put(BUCKET, "lines.csv" + suffix, body)

    found = _child(_PEAK, warm, uri, s3.endpoint_url)

    assert found["rows"] == [0] * 10
    # The process's peak grew by far less than even the first stretch fetched expands into (256 MB for gzip).
    assert isinstance(found["grew"], int) and found["grew"] < 64 * MB, found


_ADDRESS_SPACE = """
import json, resource, sys
import dreambolt_magic as dm
warm, uri, endpoint = sys.argv[1:]
dm.load(warm, endpoint_url=endpoint, progress=False)
vm = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmSize:"))
hard = resource.getrlimit(resource.RLIMIT_AS)[1]
resource.setrlimit(resource.RLIMIT_AS, (vm + (768 << 20), hard))
try:
    dm.load(uri, endpoint_url=endpoint, progress=False)
except MemoryError as exc:
    hints = getattr(exc, "hints", {})
    print(json.dumps({"raised": type(exc).__name__, "code": getattr(exc, "code", None), "limit": hints.get("limit"),
                      "decompressed": hints.get("decompressed"), "explanation": getattr(exc, "explanation", ""),
                      "remedy": getattr(exc, "remedy", "")}))
else:
    print(json.dumps({"raised": None}))
"""


def test_an_address_space_limit_refuses_the_load_by_name_not_with_a_memory_error(s3: S3Helper) -> None:
    s3.make_bucket(BUCKET)
    warm = s3.put(BUCKET, "warm.csv.gz", compress(b"a\n" + b"1\n" * 1000, "gzip"))
    uri = s3.put(BUCKET, "zeros.csv.gz", _bomb("gzip", bytes(UNIT), 256))  # 4 MB, 4 GiB once expanded

    found = _child(_ADDRESS_SPACE, warm, uri, s3.endpoint_url)

    assert (found["raised"], found["code"], found["limit"]) == ("S3TooLarge", "TooLarge", "address_space"), found
    assert isinstance(found["decompressed"], int) and found["decompressed"] < 768 * MB
    assert "address-space limit" in str(found["explanation"]) and "ulimit -v" in str(found["remedy"])
