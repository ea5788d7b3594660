"""The transfer engine's pure parts: how an object is cut into parts, range coalescing, batched progress."""

from __future__ import annotations

import itertools

import pytest

from dreambolt_magic.formats import parquet
from dreambolt_magic.objects import parquetplan
from dreambolt_magic.transfer import engine as transfer
from dreambolt_magic.transfer import progress
from dreambolt_magic.transfer.parts import (
    MAX_PART,
    MIN_PART,
    PARALLEL_THRESHOLD,
    PartTable,
    coalesce,
    piece_size,
    plan_parts,
    recut,
)
from dreambolt_magic.transfer.progress import NoProgress
from dreambolt_magic.uri import S3Uri

MiB = 1 << 20


def covers(parts: list[tuple[int, int]], size: int) -> bool:
    joined = all(a[1] == b[0] for a, b in zip(parts, parts[1:], strict=False))
    return parts[0][0] == 0 and parts[-1][1] == size and joined


@pytest.mark.parametrize("size", [1, 1000, PARALLEL_THRESHOLD - 1])
def test_small_objects_are_one_part(size: int) -> None:
    assert plan_parts(size) == [(0, size)]


@pytest.mark.parametrize("size", [PARALLEL_THRESHOLD, 100 * MiB, 248_000_000, 5 << 30])
def test_large_objects_are_cut_into_whole_mib_parts_within_bounds(size: int) -> None:
    parts = plan_parts(size)
    assert covers(parts, size)
    sizes = {b - a for a, b in parts[:-1]}
    assert len(sizes) == 1 and MIN_PART <= sizes.pop() <= MAX_PART


def test_about_two_parts_per_connection() -> None:
    assert len(plan_parts(256 * MiB, max_concurrency=8)) == 16


def test_explicit_part_size_and_one_stream() -> None:
    assert plan_parts(10 * MiB, part_size=4 * MiB) == [(0, 4 * MiB), (4 * MiB, 8 * MiB), (8 * MiB, 10 * MiB)]
    assert plan_parts(100 * MiB, max_concurrency=1) == [(0, 100 * MiB)]


def test_coalesce_merges_near_ranges_only() -> None:
    assert coalesce([(100, 200), (0, 4), (250, 300), (1000, 1100), (5, 5)], gap=60) == [
        (0, 4),
        (100, 300),
        (1000, 1100),
    ]
    assert coalesce([(0, 10), (5, 8)], gap=0) == [(0, 10)]


class Bar:
    def __init__(self) -> None:
        self.advanced: list[int] = []
        self.rewound: list[int] = []

    def start(self, total: int | None, description: str = "") -> None: ...
    def advance(self, n: int) -> None:
        self.advanced.append(n)
    def rewind(self, n: int) -> None:
        self.rewound.append(n)
    def retrying(self, attempt: int, max_attempts: int, reason: str, wait: float) -> None: ...
    def finish(self, ok: bool) -> None: ...


def test_meter_batches_updates(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: now[0])
    bar = Bar()
    meter = progress.Meter(bar)
    for _ in range(1000):
        meter.advance(10)
        now[0] += 0.001  # a thousand updates in one second
    meter.flush()
    assert sum(bar.advanced) == 10_000
    assert len(bar.advanced) <= 11


def test_meter_flushes_before_rewinding() -> None:
    bar = Bar()
    meter = progress.Meter(bar)
    meter.advance(5)
    meter.rewind(5)
    assert (sum(bar.advanced), bar.rewound) == (5, [5])


def test_footer_start_refuses_what_is_not_parquet() -> None:
    with pytest.raises(ValueError):
        parquet.parquet_footer_start(memoryview(b"a,b\n1,2\n" * 3))
    with pytest.raises(ValueError):
        parquet.parquet_footer_start(memoryview(b"PAR1" + b"\0" * 4 + b"\xff\xff\xff\x7fPAR1"))


@pytest.mark.parametrize(
    ("key", "format", "columns", "nrows", "expected"),
    [
        ("a.parquet", None, ["x"], None, True),
        ("a.parquet", None, None, 10, True),
        ("a.parquet", None, None, None, False),
        ("a.parquet.gz", None, ["x"], None, False),
        ("a.csv", None, ["x"], None, False),
        ("a", "parquet", ["x"], None, True),
        ("a", None, ["x"], None, False),
    ],
)
def test_can_prune(key: str, format: str | None, columns: list[str] | None, nrows: int | None, expected: bool) -> None:
    assert parquetplan.can_prune(key, format, columns=columns, nrows=nrows) is expected


# --- piece_size: how long the ranged GETs of a sparse fetch are -------------------------------------------


def test_piece_size_without_timings_is_two_pieces_per_connection() -> None:
    assert piece_size(160 * MiB, 8) == 10 * MiB
    assert piece_size(10 * MiB, 8) == MIN_PART  # never below the minimum part


def test_piece_size_keeps_the_default_where_requests_are_cheap() -> None:
    # S3 through one connection: 20 ms to the first byte, then 40 MB/s.
    s3_like = [(64 << 10, 0.02 + (64 << 10) / 40e6), (MiB, 0.02 + MiB / 40e6)]
    assert piece_size(160 * MiB, 8, s3_like) == pytest.approx(160 * MiB / 8, rel=0.01)
    assert piece_size(35 * MiB, 8, s3_like) <= 35 * MiB / 4


def test_piece_size_is_one_request_where_each_costs_a_fixed_time() -> None:
    # moto: 0.13 s for any range of a big object, whatever its length.
    moto = [(64 << 10, 0.131), (MiB, 0.129)]
    assert piece_size(35 * MiB, 8, moto) == 35 * MiB


def test_piece_size_ignores_timings_of_similar_sizes() -> None:
    assert piece_size(35 * MiB, 8, [(MiB, 0.13), (MiB, 0.2)]) == piece_size(35 * MiB, 8)


# --- recut: the rest of a whole object, once its first GET showed what a request costs ---------------------


def test_recut_keeps_the_plan_where_requests_are_cheap() -> None:
    # S3: 30 ms to the first byte, then 40 MB/s; the rest of 240 MB in parts of 15 MiB.
    assert recut(15 * MiB, 240 * MiB, 15 * MiB, concurrency=8, wait=0.03, rate=40e6) is None


def test_recut_makes_fewer_longer_parts_where_each_request_waits() -> None:
    # moto through a 40 MB/s link: 0.25 s to the first byte.
    parts = recut(15 * MiB, 240 * MiB, 15 * MiB, concurrency=8, wait=0.25, rate=40e6)
    assert parts is not None and 2 <= len(parts) < 15
    assert parts[0][0] == 15 * MiB and parts[-1][1] == 240 * MiB
    assert all(a == b for (_, a), (b, _) in itertools.pairwise(parts))  # contiguous
    assert all(15 * MiB < end - start <= MAX_PART for start, end in parts[:-1])


def test_recut_never_passes_the_largest_part() -> None:
    parts = recut(0, 2048 * MiB, 16 * MiB, concurrency=8, wait=5.0, rate=40e6)
    assert parts is not None and max(end - start for start, end in parts) == MAX_PART


@pytest.mark.parametrize("rate", [0.0, float("inf")])
def test_recut_without_a_measured_rate_keeps_the_plan(rate: float) -> None:
    assert recut(0, 100 * MiB, 8 * MiB, concurrency=8, wait=0.5, rate=rate) is None


def test_workers_take_parts_from_the_back_or_in_order() -> None:
    parts = [(0, 10), (10, 20), (20, 30), (30, 40)]
    back, front = PartTable(parts), PartTable(parts)
    assert back.take(0) and front.take(0)  # the main stream's
    assert [back.take_last() for _ in range(4)] == [3, 2, 1, None]
    assert [front.take_first() for _ in range(4)] == [1, 2, 3, None]


def test_arrived_is_the_filled_start_of_the_buffer() -> None:
    t = transfer.Transfer(S3Uri("b", "k"), NoProgress())
    t.received = 10  # the main stream's reach
    assert t.arrived() == 10
    t._arrived += [(20, 30), (40, 50)]  # finished parts, with a gap before them
    assert t.arrived() == 10
    t._arrived.append((10, 20))
    assert t.arrived() == 30  # up to the next gap
