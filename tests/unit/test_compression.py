"""Decompression a step at a time (formats/compression.py), on bytes: the same bytes as the one-shot stdlib and
pyarrow calls, every member of a concatenated file, a guard that sees each step and stops a bomb at once, and a
start decompressed only as far as the line ends asked for, from whole or cut-off input."""

from __future__ import annotations

import random

import pytest
from helpers import compress

from dreambolt_magic.formats import compression

COMPRESSIONS = ["gzip", "bz2", "xz", "zstd"]
MB = 1 << 20


class Stop(Exception):
    pass


@pytest.mark.parametrize("name", COMPRESSIONS)
def test_expand_gives_every_member_of_a_concatenated_file(name: str) -> None:
    first, second = b"a,b\n" + b"1,2\n" * 100_000, b"3,4\n" * 50_000
    data = memoryview(compress(first, name) + compress(second, name))
    assert compression.expand(name, data) == first + second


@pytest.mark.parametrize("name", COMPRESSIONS)
def test_the_guard_sees_each_step_and_stops_a_bomb(name: str) -> None:
    bomb = memoryview(compress(bytes(16 * MB), name) * 64)  # 1 GiB of zeros
    seen: list[int] = []

    def guard(produced: int) -> None:
        seen.append(produced)
        if produced > 10 * MB:
            raise Stop

    with pytest.raises(Stop):
        compression.expand(name, bomb, guard=guard)
    assert seen == sorted(seen) and seen[-1] <= 10 * MB + compression.STEP


@pytest.mark.parametrize("name", COMPRESSIONS)
def test_a_start_stops_at_the_lines_asked_for(name: str) -> None:
    text = b"a\n" + b"0\n" * (2 * MB)  # 4 MB of lines
    plain, ended = compression.expand_start(name, memoryview(compress(text, name)), lines=12)
    assert not ended and plain.count(b"\n") >= 12 and len(plain) <= 256 << 10 and text.startswith(plain)


@pytest.mark.parametrize("name", COMPRESSIONS)
def test_a_cut_off_start_gives_what_it_holds(name: str) -> None:
    text = random.Random(0).randbytes(MB).replace(b"\n", b" ") + b"\n"  # one line, incompressible
    data = compress(text, name)
    plain, ended = compression.expand_start(name, memoryview(data[: len(data) // 2]), lines=1)
    assert ended and text.startswith(plain)
    whole, ended = compression.expand_start(name, memoryview(data), lines=10)
    assert ended and whole == text
