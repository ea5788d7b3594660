"""The speed floor's bookkeeping (``dreambolt_magic.transfer.pace``): read sizes and the verdict, no I/O.

The bodies are stand-ins that hand out what they are asked for; the clock is the flow's own fields, set here.
The floor over real sockets is tested in tests/faults/test_min_speed.py.
"""

from __future__ import annotations

import pytest

from dreambolt_magic.errors import S3NetworkError
from dreambolt_magic.transfer.pace import CHUNK, FIRST_SLICE, WINDOW, Flow


class Body:
    """Gives every byte asked for at once, and remembers the sizes asked."""

    def __init__(self) -> None:
        self.asked: list[int] = []

    def readinto(self, view: memoryview) -> int:
        self.asked.append(len(view))
        return len(view)


def read_all(flow: Flow, total: int) -> list[int]:
    buffer = memoryview(bytearray(total))
    done = 0
    while done < total:
        done += flow.readinto(buffer[done:])
    return flow.body.asked


def test_a_fast_body_s_reads_double_to_the_step_on_its_boundaries() -> None:
    asked = read_all(Flow(Body(), 1000, CHUNK), 3 * CHUNK)
    assert asked[:7] == [FIRST_SLICE, FIRST_SLICE, 2 * FIRST_SLICE, 4 * FIRST_SLICE, 8 * FIRST_SLICE,
                         16 * FIRST_SLICE, 32 * FIRST_SLICE]
    assert sum(asked[:7]) == CHUNK and asked[7:] == [CHUNK, CHUNK]  # then the step's reads, as without a floor


def test_without_a_floor_every_read_is_the_step_s() -> None:
    assert read_all(Flow(Body(), 0, CHUNK), 3 * CHUNK) == [CHUNK, CHUNK, CHUNK]


def test_a_low_floor_starts_with_reads_it_can_judge_within_the_window() -> None:
    flow = Flow(Body(), 50, CHUNK)
    assert flow.size <= 50 * WINDOW and flow.size & (flow.size - 1) == 0


def judged(flow: Flow, *, after: float, done: int, asked: int = 0) -> bool:
    flow.done, flow.asked = done, asked
    return flow.judge(flow.since + after)


def test_under_the_floor_only_when_even_the_read_under_way_could_not_lift_it() -> None:
    floor = 1000
    assert not judged(Flow(Body(), floor), after=WINDOW - 1, done=0)  # the window has not ended
    # 10 kB read, 25 kB asked and not yet come: it may all be there, 35 kB in 30 s is above 1 kB/s.
    assert not judged(Flow(Body(), floor), after=WINDOW, done=10_000, asked=25_000)
    slow = Flow(Body(), floor)
    assert judged(slow, after=WINDOW, done=10_000, asked=16_000)  # 26 kB at most: certainly under
    assert slow.broken is not None
    assert not slow.judge(slow.since + 2 * WINDOW)  # once


def test_a_window_above_the_floor_starts_a_new_one() -> None:
    flow = Flow(Body(), 1000)
    start = flow.since
    assert not judged(flow, after=WINDOW, done=40_000)
    assert (flow.since, flow.mark) == (start + WINDOW, 40_000)
    # The next window is judged on its own bytes: none came.
    assert flow.judge(start + 2 * WINDOW)


def test_the_error_of_a_body_broken_off_names_its_rate_and_the_floor() -> None:
    flow = Flow(Body(), 20_000)
    flow.broken = flow.since + 2.0
    flow.done = 4_000  # what the read the shutdown ended had brought counts too
    error = flow.too_slow()
    assert error.code == "TooSlow"
    assert error.hints == {"rate": 2_000.0, "floor": 20_000, "window": 2.0}
    assert "2.0 KB/s over 2 s" in str(error) and "20.0 KB/s" in str(error)


@pytest.mark.parametrize("broken", [False, True])
def test_an_empty_read_is_the_end_unless_the_body_was_broken_off(broken: bool) -> None:
    class Ended(Body):
        def readinto(self, view: memoryview) -> int:
            return 0

    flow = Flow(Ended(), 1000)
    flow.broken = flow.since if broken else None
    if broken:
        with pytest.raises(S3NetworkError, match="too slowly"):
            flow.readinto(memoryview(bytearray(10)))
    else:
        assert flow.readinto(memoryview(bytearray(10))) == 0
