"""A set's objects fetched on a bounded pool of threads, a wave at a time (:class:`Fetcher`): the first failure
cancels the others and is raised; each object's bytes and retries are folded into the set's one bar
(:class:`Part`), which says "file n of N" (:class:`FilesBar`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

from dreambolt_magic.datasets.listing import ObjectRef
from dreambolt_magic.datasets.partitions import Loaded
from dreambolt_magic.datasets.sampling import Wave
from dreambolt_magic.transfer.progress import (
    CancelFlag,
    Cancelled,
    NoProgress,
    Progress,
    TqdmProgress,
    check_cancel,
    from_cache,
)

if TYPE_CHECKING:
    import pandas as pd

    from dreambolt_magic.formats.readers import Decoded

__all__ = ["EitherFlag", "Fetcher", "FilesBar", "Part", "set_progress"]


class FilesBar(TqdmProgress):
    """The tqdm bar, which also says "file n of N"."""

    def files(self, done: int, total: int | None) -> None:
        with self._lock:
            if self._bar is not None:
                self._bar.set_description(f"file {done}" + (f" of {total}" if total else ""), refresh=False)


def set_progress(progress: bool | Progress) -> Progress:
    if progress is True:
        return FilesBar()
    if progress is False or progress is None:
        return NoProgress()
    return progress


class Part:
    """What one object's load reports, folded into the set's bar: bytes and retries, not its start and end."""

    def __init__(self, bar: Progress) -> None:
        self.bar = bar

    def start(self, total: int | None, description: str = "") -> None:
        pass

    def advance(self, n: int) -> None:
        self.bar.advance(n)

    def rewind(self, n: int) -> None:
        self.bar.rewind(n)

    def cached(self, n: int) -> None:
        from_cache(self.bar, n)

    def retrying(self, attempt: int, max_attempts: int, reason: str, wait: float) -> None:
        self.bar.retrying(attempt, max_attempts, reason, wait)

    def finish(self, ok: bool) -> None:
        pass


class EitherFlag:
    """Set when the caller's cancel flag is, or when another object of the set failed."""

    def __init__(self, user: CancelFlag | None) -> None:
        self.user = user
        self.own = threading.Event()

    def is_set(self) -> bool:
        return self.own.is_set() or (self.user is not None and self.user.is_set())

    def wait(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.is_set():
            left = 0.05 if deadline is None else min(0.05, deadline - time.monotonic())
            if left <= 0:
                break
            self.own.wait(left)
        return self.is_set()


class Fetcher:
    """Runs the loads on a bounded pool, a wave at a time; the first failure cancels the others and is raised."""

    def __init__(self, bar: Progress, cancel: CancelFlag | None, workers: int,
                 load: Callable[[ObjectRef, Progress, CancelFlag, list[str] | None, int | None],
                                tuple[pd.DataFrame | Decoded, dict[str, Any]]],
                 total: int | None) -> None:
        self.bar, self.cancel, self.workers, self.load, self.total = bar, cancel, workers, load, total
        self.done = 0
        self._lock = threading.Lock()

    def _one(self, ref: ObjectRef, flag: CancelFlag, wave: Wave) -> Loaded:
        # A set's objects need not all have every column asked for (allow_missing): the others are null there.
        result, info = self.load(ref, Part(self.bar), flag, wave.columns, wave.rows)
        with self._lock:
            self.done += 1
            done = self.done
        files = getattr(self.bar, "files", None)
        if files is not None:
            files(done, self.total)
        return Loaded.of(ref, result, info)

    def run(self, waves: Iterable[Wave], stop: Callable[[list[Loaded]], bool]) -> list[Loaded]:
        """Fetch each wave's objects at once, in order, until the waves end or ``stop`` says a batch is enough."""
        flag = EitherFlag(self.cancel)
        loaded: list[Loaded] = []
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="dreambolt-set") as pool:
            for wave in waves:
                futures = [pool.submit(self._one, ref, flag, wave) for ref in wave.refs]
                finished, _ = wait(futures, return_when=FIRST_EXCEPTION)
                failure = first_failure(futures, finished)
                if failure is not None:
                    flag.own.set()
                    for future in futures:
                        future.cancel()
                    wait(futures)
                    check_cancel(self.cancel)
                    raise failure
                batch = [f.result() for f in futures]
                loaded += batch
                if stop(batch):
                    break
        return loaded


def first_failure(futures: list[Future[Loaded]], finished: set[Future[Loaded]]) -> BaseException | None:
    failures = [f.exception() for f in futures if f in finished and not f.cancelled() and f.exception()]
    real = [e for e in failures if not isinstance(e, Cancelled)]
    return (real or failures or [None])[0]
