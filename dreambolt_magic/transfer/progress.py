"""Progress reporting: a tiny callback protocol with a do-nothing default, and a tqdm bar.

Like fsspec's ``callbacks.py``: the loader always has a callback to call, so it never checks for None. The
tqdm bar imports ``tqdm.auto`` only when made, so it is an ipywidgets bar in Jupyter and text in a terminal,
and updates are batched so that reporting costs nothing measurable however small the chunks. A
:class:`Meter` batches the bytes of many threads (a transfer's parts) for one progress.

Cancelling is the other direction of the same conversation: a front end hands the loader a flag (a
``threading.Event``) and the loader raises :class:`Cancelled` at the next check once it is set.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "CancelFlag",
    "Cancelled",
    "Meter",
    "NoProgress",
    "Progress",
    "TqdmProgress",
    "cancellable_sleep",
    "check_cancel",
    "from_cache",
]

#: A :class:`Meter` hands bytes on at most this often (seconds).
METER_INTERVAL = 0.1


class Cancelled(Exception):
    """The load was cancelled: its ``cancel`` event was set. Nothing was returned or bound."""


class CancelFlag(Protocol):
    """What ``load(cancel=...)`` accepts: a :class:`threading.Event` or anything with these two methods."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


def check_cancel(cancel: CancelFlag | None) -> None:
    """Raise :class:`Cancelled` if ``cancel`` is set; the loader calls this between chunks and attempts."""
    if cancel is not None and cancel.is_set():
        raise Cancelled("the load was cancelled")


@runtime_checkable
class Progress(Protocol):
    """What the loader tells a progress display. Calls may come from worker threads."""

    def start(self, total: int | None, description: str = "") -> None:
        """The transfer begins; ``total`` bytes are expected (``None`` if not known yet).

        It may be called again once the size is known, before any bytes are reported.
        """

    def advance(self, n: int) -> None:
        """``n`` more bytes arrived."""

    def rewind(self, n: int) -> None:
        """``n`` bytes already counted must be fetched again (the object changed and is re-read)."""

    def retrying(self, attempt: int, max_attempts: int, reason: str, wait: float) -> None:
        """Attempt ``attempt`` of ``max_attempts`` failed with ``reason``; the next starts in ``wait`` s."""

    def finish(self, ok: bool) -> None:
        """The load ended, well or badly."""

    # Optional, and so not part of the protocol (a progress written before it still is one):
    # ``cached(n)``: ``n`` bytes came from the local cache, not from S3 (see :func:`from_cache`).


def from_cache(bar: Progress, n: int) -> None:
    """Tell ``bar`` that ``n`` bytes came from the local cache rather than over the network: its ``cached(n)``
    if it has one (a bar that then says so and claims no download speed), else ``advance(n)``."""
    cached = getattr(bar, "cached", None)
    if cached is not None:
        cached(n)
    else:
        bar.advance(n)


class NoProgress:
    """Reports nothing."""

    def start(self, total: int | None, description: str = "") -> None:
        pass

    def advance(self, n: int) -> None:
        pass

    def rewind(self, n: int) -> None:
        pass

    def retrying(self, attempt: int, max_attempts: int, reason: str, wait: float) -> None:
        pass

    def finish(self, ok: bool) -> None:
        pass

    def cached(self, n: int) -> None:
        pass


#: The bar of bytes that all came from the cache: no speed (nothing was downloaded), and it says where from.
CACHED_FORMAT = "{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}]{postfix}"
CACHED_NOTE = "from cache"


class TqdmProgress:
    """A tqdm bar in bytes (decimal units, as the summary), with size, speed and ETA; red when the load fails
    part of the way, and gone when it fails before any byte arrived. Bytes that came from the local cache
    (:meth:`cached`) are counted too, but while every byte did, the bar says "from cache" and shows no speed.

    Bytes are batched and handed to tqdm at most every ``interval`` seconds.
    """

    def __init__(self, *, interval: float = 0.1, **tqdm_kwargs: Any) -> None:
        self._interval = interval
        self._kwargs = tqdm_kwargs
        self._bar: Any = None
        self._pending = 0
        self._last = 0.0
        self._lock = threading.Lock()
        #: Bytes that came over the network, and from the cache: only the first make a speed.
        self._downloaded = 0
        self._from_cache = 0

    def start(self, total: int | None, description: str = "") -> None:
        from tqdm.auto import tqdm

        with self._lock:
            if self._bar is not None:
                # A second start() names the size once the first answer has told it.
                if total is not None and self._bar.total != total:
                    self._bar.reset(total=total)
                    self._pending = 0
                return
            self._bar = tqdm(
                total=total,
                desc=description,
                unit="B",
                unit_scale=True,
                unit_divisor=1000,  # decimal, as the summary line counts (MB, not MiB)
                dynamic_ncols=True,
                leave=True,
                **self._kwargs,
            )
            self._last = time.monotonic()

    def advance(self, n: int) -> None:
        with self._lock:
            self._pending += n
            self._downloaded += n
            now = time.monotonic()
            if self._bar is not None and now - self._last >= self._interval:
                self._flush(now)

    def cached(self, n: int) -> None:
        with self._lock:
            self._pending += n
            self._from_cache += n
            if self._bar is not None:
                self._flush(time.monotonic())

    def rewind(self, n: int) -> None:
        with self._lock:
            self._pending -= n
            self._downloaded -= n

    def _flush(self, now: float) -> None:
        self._note_cache(self._bar)
        if self._pending:
            self._bar.update(self._pending)
            self._pending = 0
        self._last = now

    def _note_cache(self, bar: Any) -> None:
        """While every byte came from the cache, the bar says so instead of showing a speed."""
        only_cache = self._from_cache > 0 and self._downloaded <= 0
        if only_cache and bar.bar_format != CACHED_FORMAT:
            bar.bar_format = CACHED_FORMAT
            bar.set_postfix_str(CACHED_NOTE, refresh=False)
        elif not only_cache and bar.bar_format == CACHED_FORMAT:
            bar.bar_format = None  # bytes were downloaded too: tqdm's own format, with the speed
            bar.set_postfix_str("", refresh=False)

    def retrying(self, attempt: int, max_attempts: int, reason: str, wait: float) -> None:
        with self._lock:
            if self._bar is not None:
                self._bar.set_postfix_str(
                    f"attempt {attempt} of {max_attempts} failed ({reason}); retrying in {wait:.1f} s",
                    refresh=True,
                )

    def finish(self, ok: bool) -> None:
        with self._lock:
            bar, self._bar = self._bar, None
            if bar is None:
                return
            self._note_cache(bar)
            if self._pending:
                bar.update(self._pending)
                self._pending = 0
            if ok:
                if bar.total is not None and bar.n < bar.total:
                    # A pruned read fetches less than the whole object: done is 100%, not a short (red) bar.
                    bar.total = bar.n
                bar.set_postfix_str(CACHED_NOTE if bar.bar_format == CACHED_FORMAT else "")
            elif bar.n == 0:
                bar.leave = False  # nothing arrived: an empty bar above the explanation says nothing; gone
            else:
                bar.colour = "red"
            bar.close()


def cancellable_sleep(cancel: CancelFlag | None) -> Callable[[float], None]:
    """The backoff wait: ``time.sleep``, or with a cancel flag a wait that ends as soon as it is set."""
    if cancel is None:
        return time.sleep

    def wait(seconds: float) -> None:
        cancel.wait(seconds)
        check_cancel(cancel)

    return wait


class Meter:
    """Hands one :class:`Progress` the bytes of many threads: summed under a lock and passed on at most every
    :data:`METER_INTERVAL` seconds (the first at once)."""

    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self._lock = threading.Lock()
        self._pending = 0
        self._last = float("-inf")  # the first bytes are shown at once

    def advance(self, n: int) -> None:
        with self._lock:
            self._pending += n
            now = time.monotonic()
            if now - self._last < METER_INTERVAL:
                return
            pending, self._pending, self._last = self._pending, 0, now
        self.bar.advance(pending)

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, 0
        if pending:
            self.bar.advance(pending)

    def rewind(self, n: int) -> None:
        self.flush()
        if n:
            self.bar.rewind(n)
