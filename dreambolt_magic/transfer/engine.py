"""The transfer engine: one object's bytes, fetched into one preallocated buffer, in parallel where it helps.

A load starts with one plain GET (the *main stream*), so an object below ``PARALLEL_THRESHOLD`` costs one
request. Its ``Content-Length`` gives the size: a larger object is cut into parts (as
:mod:`dreambolt_magic.transfer.parts` plans them), the main stream keeps reading from the front, and, if it
is slow, worker threads fetch parts from the back with explicit ranges (:mod:`dreambolt_magic.transfer.ranged`).
Only a sparse read's first GET may ask for a suffix (``first_bytes`` < 0), and its bytes go where the answer's
Content-Range says, which some S3-compatible servers (s3rver) set from byte 0. The main stream claims each next part
as it reaches it and stops where a worker has already claimed one, so the split adapts itself to the server.

Every part is read with ``readinto`` straight into its slice of the one buffer: no copies to join, no temp
files. Each request is retried under the caller's retry policy and resumes where its body broke (``Range``
from the next missing byte, ``If-Match`` on the ETag of the first answer), or where the speed floor broke it
off (:mod:`~dreambolt_magic.transfer.pace`: a body that trickles, which no read timeout ends). An object
that changes while it is read (412, or an answer with another ETag or size) is started again once, then
reported as ``ObjectChanged``; so are bytes that do not match the object's stored checksum (:meth:`Transfer.verify`),
then reported as ``ChecksumMismatch``. The cancel flag is checked by every thread between slices; progress
is batched.

Before the body is read, the size the first answer gives is checked against the memory available
(:mod:`dreambolt_magic.transfer.memory`), unless forced. When the load ends badly (an error, a cancel, Ctrl-C
in the main thread) :meth:`Transfer.abort` stops the workers and itself shuts down every socket in use,
answered or not, so none waits out a read timeout. :meth:`Transfer.fetch` fills only given byte ranges of the
buffer (a sparse buffer: the untouched pages of a zero-filled buffer take no memory), which is how Parquet
pruning reads a file.
"""

from __future__ import annotations

import contextlib
import mmap
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, TypeVar

import botocore.exceptions as bce

from dreambolt_magic.client.calls import s3_errors
from dreambolt_magic.errors import S3Error, S3GenericError, S3NetworkError
from dreambolt_magic.options import CustomerKey
from dreambolt_magic.transfer import buffers, memory, ranged
from dreambolt_magic.transfer.checksums import RANGED, VERIFIED, botocore_verdict, digest, stored_checksum
from dreambolt_magic.transfer.parts import DEFAULT_CONCURRENCY, PartTable, plan_parts
from dreambolt_magic.transfer.progress import CancelFlag, Meter, Progress, check_cancel
from dreambolt_magic.transfer.ranged import CHUNK, ObjectChangedSignal, RangedReads, start_of, total_of
from dreambolt_magic.transfer.workers import Workers
from dreambolt_magic.uri import S3Uri

__all__ = ["CANCEL_CHUNK", "CHUNK", "ObjectChangedSignal", "Transfer"]

T = TypeVar("T")

#: With a cancel flag, the body is read in slices this small, so a check comes at least every 64 KiB.
CANCEL_CHUNK = 64 << 10

class Transfer(RangedReads):
    """One object's bytes in one buffer; see the module docstring.

    ``retry(fn)`` runs ``fn(attempt)`` under the load's retry policy and ``errors()`` is the client funnel's
    translation (:func:`~dreambolt_magic.client.calls.s3_errors` for the region asked): the workers use both,
    so a part is retried and translated exactly like the main stream.
    :meth:`run` is the main stream's attempt (the caller retries it and follows region redirects), then
    :meth:`join` waits for the workers.
    """

    def __init__(
        self,
        target: S3Uri,
        bar: Progress,
        cancel: CancelFlag | None = None,
        *,
        retry: Callable[[Callable[[int], Any]], Any] | None = None,
        errors: Callable[[], AbstractContextManager[None]] | None = None,
        part_size: int | None = None,
        max_concurrency: int | None = None,
        first_bytes: int | None = None,
        first_range: tuple[int, int] | None = None,
        force: bool = False,
        memory_limit: int | None = None,
        customer_key: CustomerKey | None = None,
        min_speed: float = 0,
    ) -> None:
        self.target = target
        #: The SSE-C key every GET (and the length check's HEAD) of the object sends, if it has one.
        self.customer_key = customer_key
        self.bar = bar
        self.meter = Meter(bar)
        self.cancel = cancel
        self.retry = retry or (lambda fn: fn(1))
        self.errors = errors or (lambda: s3_errors(operation="GetObject"))
        self.part_size = part_size
        self.max_concurrency = DEFAULT_CONCURRENCY if max_concurrency is None else max(1, max_concurrency)
        #: Ask the first GET for only this many bytes (``bytes=0-N``): the start of a sparse read; negative, the
        #: last ones (``bytes=-N``: its end, and the size, in one answer, where the size is not known yet).
        self.first_bytes = first_bytes
        #: Ask the first GET for these bytes instead (``bytes=a-b``, end exclusive here): a sparse read that
        #: knows the object's size already (from a listing) and wants its end first. An answer for another
        #: size (the object was replaced since) or none (416) falls back to ``first_bytes``.
        self.first_range = first_range
        #: The memory guard's settings: skip it, or the bytes a load may use (default: what is available).
        self.force = force
        self.memory_limit = memory_limit
        self.step = CHUNK if cancel is None else CANCEL_CHUNK
        #: The worker threads, and the bodies being read by any thread (:meth:`abort` shuts their sockets; a
        #: body slower than ``min_speed`` bytes a second is broken off and read on: :mod:`~.pace`).
        self.workers = Workers(min_speed, self.step)
        self.fetched = 0
        self.attempts = 0
        self.restarted = False
        self.requests = 0
        #: ``(bytes, seconds)`` of the ranged requests answered so far at the first attempt: what a request
        #: costs on this server (see :func:`~dreambolt_magic.transfer.parts.piece_size`).
        self.timings: list[tuple[int, float]] = []
        #: For an object of at least this many bytes (None: none), workers take parts from the front, after
        #: the main stream's, rather than from the back: the bytes then arrive roughly in order, which a
        #: parse running alongside needs (see :meth:`arrived`).
        self.in_order_from: int | None = None
        #: For a whole object of at least this many bytes (None: none), the buffer is an in-memory file with a
        #: path (:attr:`path`), for a parser that reads a path faster than bytes (see dreambolt_magic.objects.overlap).
        self.file_from: int | None = None
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self.buffer: bytearray | mmap.mmap | None = None
        #: A path to the buffer's bytes while it lives, if :attr:`file_from` made it an in-memory file.
        self.path: str | None = None
        self.size: int | None = None
        self.etag: str | None = None
        self.version_id: str | None = self.target.version_id
        self.last_modified: str | None = None
        #: The main stream's next byte and where its claimed span ends.
        self.received = 0
        #: Where the first answer's bytes start: 0, or the start of ``first_range``.
        self.first_start = 0
        self.limit = 0
        #: True once the first answer was a 206 for ``first_bytes`` or ``first_range``: only some ranges of the
        #: buffer are filled.
        self.sparse = False
        self.counted = 0  # bytes reported to progress since the last start
        self._parts: PartTable | None = None
        self._probe: tuple[Any, int, tuple[float, int] | None] | None = None
        #: Seconds the first GET waited for its answer: with the probe's rate, what a request costs here.
        self._first_wait = 0.0
        #: Whether workers were started beside the main stream (decided by the probe).
        self.parallel = False
        #: botocore's verdict on one answer that gave every byte (True: they matched the stored checksum). A
        #: resumed or parallel read has none: botocore never sees the whole object (see :meth:`verify`).
        self.streamed: bool | None = None
        #: What the provenance says of the checksum (checksums.VERIFIED or RANGED), once known.
        self.checked: str | None = None
        self._handed_over = False
        #: The object's stored full-object checksum, as ``(response field, base64 value)``, where it has one.
        self.checksum: tuple[str, str] | None = None
        self._front = 0
        self.workers.renew()
        #: The ``(start, end)`` parts the workers have filled completely.
        self._arrived: list[tuple[int, int]] = []

    @property
    def data(self) -> memoryview:
        """The object's bytes (for a sparse read, zeros where nothing was fetched)."""
        assert self.buffer is not None
        end = self.size if self.size is not None else self.received
        return memoryview(self.buffer)[:end]

    # --- the main stream ---------------------------------------------------------------------------------

    def run(self, client: Any) -> None:
        """One attempt of the main stream: the first GET, or a resume of it from the next missing byte."""
        answer = self._answer(client)
        if answer is None:
            return  # a worker failed: join() says why
        response, resuming, began, attempts = answer
        status = response["ResponseMetadata"]["HTTPStatusCode"]
        if self.buffer is not None and (not resuming or status == 200):
            # A whole object again (no size to resume against, or the server ignored the Range).
            self.meter.rewind(self.received)
            self.counted -= self.received
            self.received = 0
            if self.size is None:
                self.buffer, self.path = bytearray(), None
        if self.buffer is None:
            self._first_wait = time.monotonic() - began
            try:
                self._begin(response, client)
            except BaseException:
                response["Body"].close()
                raise
        self._stream(response["Body"], whole=status == 200)
        if self.in_order and self.parallel and not self._handed_over and not self.workers.stop.is_set():
            # The main stream stopped at a part a worker had taken, with parts after it still free (in order,
            # the workers work just ahead of it): its connection goes on as one more worker.
            self._handed_over = True
            self._start_workers(client, 1)
        if self.sparse and not resuming:
            self._timed(self.limit - self.first_start, began, attempts)
        if self.size is None:
            self._verify_length(client)

    def _answer(self, client: Any) -> tuple[dict[str, Any], bool, float, int] | None:
        """The main stream's answer to read: ``(response, resuming, when asked, attempts then)``, asked again
        as an answer says (the object changed since the first, a range it does not have); None once a worker
        has failed."""
        while True:
            check_cancel(self.cancel)
            self.attempts += 1
            if self.workers.stop.is_set():
                return None
            resuming = self.buffer is not None and self.size is not None and self.received > 0
            began, attempts = time.monotonic(), self.attempts
            try:
                response = self._get(client, self._main_params(resuming))
            except S3Error as exc:
                if self._ask_again(exc.status, resuming):
                    continue
                raise
            if self.buffer is None and self.first_range is not None and (
                response["ResponseMetadata"]["HTTPStatusCode"] != 206
                or total_of(response.get("ContentRange")) != self.first_range[1]
            ):
                # Not the size the listing gave (the object was replaced since), or a server that ignored the
                # Range: start as if no size were known.
                response["Body"].close()
                self.first_range = None
                continue
            return response, resuming, began, attempts

    def _main_params(self, resuming: bool) -> dict[str, Any]:
        """The main stream's GET: from the next missing byte, the range a plan asked first, or all of it."""
        params = self._params()
        if resuming:
            end = self.limit if self.sparse else self.size
            params["Range"] = f"bytes={self.received}-{end - 1}"  # type: ignore[operator]
            if self.etag:
                params["IfMatch"] = self.etag
        elif self.buffer is None and self.first_range is not None:
            params["Range"] = f"bytes={self.first_range[0]}-{self.first_range[1] - 1}"
        elif self.buffer is None and self.first_bytes:
            first = self.first_bytes
            params["Range"] = f"bytes=0-{first - 1}" if first > 0 else f"bytes={first}"
        return params

    def _ask_again(self, status: int | None, resuming: bool) -> bool:
        """Whether a refused GET is asked again otherwise (and set up for that), or its error is the answer."""
        if resuming and status == 412:
            self._object_changed()  # the object is another since the first answer: start again, once
            return True
        if status == 416 and self.buffer is None and self.first_range is not None:
            self.first_range = None  # smaller than the listing said: replaced since; as if no size were known
            return True
        if status == 416 and self.buffer is None and self.first_bytes:
            self.first_bytes = None  # an empty object has no byte 0 to ask for: read it whole
            return True
        return False

    def _begin(self, response: dict[str, Any], client: Any) -> None:
        status = response["ResponseMetadata"]["HTTPStatusCode"]
        length = response.get("ContentLength")
        total = total_of(response.get("ContentRange"))
        self.size = total if status == 206 and total is not None else length
        self.etag = response.get("ETag")
        self.checksum = stored_checksum(response) if status == 200 else None
        self.checked = RANGED if status == 206 else None
        self.version_id = response.get("VersionId") or self.version_id
        modified = response.get("LastModified")
        self.last_modified = modified.isoformat() if isinstance(modified, datetime) else modified
        if self.size is not None and not (status == 206 and (self.first_bytes or self.first_range)):
            # A sparse read is checked once its footer says what it will fetch (check_memory).
            self.check_memory(memory.estimate(self.size), what="object")
        if self.file_from is not None and (self.size or 0) >= self.file_from:
            with contextlib.suppress(OSError):  # out of descriptors, say: the bytes are parsed as bytes then
                self.buffer, self.path = buffers.in_memory_file(self.size or 0)
        if self.buffer is None:
            self.buffer = buffers.zeroed(self.size or 0)
        self.counted = 0
        self.bar.start(self.size, self.target.name)
        if self.size is None:
            self.limit = 0
            return
        if status == 206:
            # Where the answer says its bytes start: a server may answer a suffix from byte 0 (s3rver 3.7 does).
            self.first_start = start_of(response.get("ContentRange"))
            self.received = self.first_start
            self.limit = min(self.size, self.first_start + (length if length is not None else self.size))
            self.sparse = self.first_start > 0 or self.limit < self.size
            return
        parts = plan_parts(self.size, part_size=self.part_size, max_concurrency=self.max_concurrency)
        self._parts = PartTable(parts)
        self._parts.take(0)
        self._front = 0
        self.limit = parts[0][1]
        if len(parts) > 1:
            self._probe = (client, min(self.max_concurrency - 1, len(parts) - 1), None)
            if ranged.FAST_STREAM is None:
                self._decide()

    def check_memory(self, need: int, *, what: str = "object") -> None:
        """Refuse (:class:`~dreambolt_magic.errors.S3TooLarge`) if ``need`` bytes would not fit in memory."""
        memory.check(need, limit=self.memory_limit, force=self.force, what=what, size=self.size)

    def _stream(self, body: Any, *, whole: bool) -> None:
        with self.workers.reading(body) as flow:
            if self.size is None:
                # No Content-Length: read to the end, growing the buffer (botocore checks at the empty read).
                assert isinstance(self.buffer, bytearray)
                while chunk := flow.read():
                    self.buffer.extend(chunk)
                    self.received += len(chunk)
                    self._count(len(chunk))
                    check_cancel(self.cancel)
                self.streamed = botocore_verdict(body)
                return
            assert self.buffer is not None
            view = memoryview(self.buffer)
            while True:
                while self.received < self.limit:
                    check_cancel(self.cancel)
                    if self.workers.stop.is_set():
                        return
                    n = flow.readinto(view[self.received : self.limit])
                    if not n:
                        raise bce.IncompleteReadError(actual_bytes=self.received, expected_bytes=self.limit)
                    self.received += n
                    self._count(n)
                    if self._probe is not None:
                        self._decide()
                if not self._claim_next():
                    break  # the rest is the workers'; closing drops what the server still sends
            if whole and self.received == self.size:
                # One answer gave every byte: botocore has hashed them all, and compares at the empty read.
                self.streamed = botocore_verdict(body)

    def _verify_length(self, client: Any) -> None:
        # Without a Content-Length a body that ends early looks complete: ask for the size it should have.
        params = self._params()
        if self.version_id:
            params["VersionId"] = self.version_id
        expected = client.head_object(**params).get("ContentLength")
        if expected is not None and expected != self.received:
            raise bce.IncompleteReadError(actual_bytes=self.received, expected_bytes=expected)

    def _object_changed(self) -> None:
        """Start again from scratch once; the second time the object changes, give up."""
        self.abort()
        if self.restarted:
            raise S3GenericError(
                "the object changed twice while it was being downloaded",
                code="ObjectChanged",
                status=412,
                attempts=self.attempts,
            )
        self.restarted = True
        self.meter.rewind(self.counted)
        first_bytes = self.first_bytes
        self._reset()
        self.first_bytes = first_bytes
        self.first_range = None  # the size it was planned from may be the old object's

    def verify(self) -> None:
        """Check the bytes against the object's stored checksum, wherever it can be known.

        One answer that gave every byte has been checked by botocore (:attr:`streamed`); bytes put together
        from parts or pieces, or an answer botocore did not check, are hashed here, once. A ranged read
        cannot be checked (:data:`~dreambolt_magic.transfer.checksums.RANGED`). A mismatch means some bytes were
        damaged on the way: the object is read again from the start, once (:class:`ObjectChangedSignal`); a
        second mismatch is an S3NetworkError ``ChecksumMismatch``.
        """
        if self.buffer is None or self.checked is not None:
            return
        matched = self.streamed
        if matched is None:
            if self.checksum is None:
                return
            field, expected = self.checksum
            matched = digest(field, self.data) == expected
        if matched:
            self.checked = VERIFIED
            return
        if self.restarted:
            raise S3NetworkError(
                "the downloaded bytes did not match the object's stored checksum, twice",
                code="ChecksumMismatch",
                attempts=self.attempts,
            )
        raise ObjectChangedSignal

    def restart(self, signal: ObjectChangedSignal) -> None:
        """After ``signal`` from :meth:`join`: forget everything (or give up); run again."""
        buffers.forget_frames(signal)  # its frames view the buffer dropped here
        self._object_changed()

    def release(self) -> None:
        """Let go of the buffer once the caller is done with the bytes
        (:func:`dreambolt_magic.transfer.buffers.release`: a mapping is unmapped on a thread of its own)."""
        buffer, self.buffer, self.path = self.buffer, None, None
        buffers.release(buffer)
