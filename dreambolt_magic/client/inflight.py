"""The sockets a load's requests are using, which any thread can shut down at once (:class:`InFlight`).

A thread blocked in a socket read ends only when its socket is shut down (or the read timeout passes). The
transfer registers a body's socket once botocore hands the body over, but before that the socket is
botocore's: a request waiting for its answer's headers (a busy or slow server) could not be reached, and a
Ctrl-C left it open until the server answered. So the clients' connection pools here hand out connections
that register themselves, as a request starts on them (and as they connect), with the :class:`InFlight` of
the thread that uses them (:meth:`InFlight.tracking`). :meth:`InFlight.shut_down`, from whichever thread
handles the interrupt, then shuts every one of them down itself, waiting for no other thread, and refuses
the requests that would start after it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any

from botocore.awsrequest import AWSHTTPConnection, AWSHTTPConnectionPool, AWSHTTPSConnection, AWSHTTPSConnectionPool

__all__ = ["InFlight", "track_requests"]

_current = threading.local()


class InFlight:
    """The connections that threads inside :meth:`tracking` have used, for :meth:`shut_down`."""

    def __init__(self) -> None:
        self._connections: set[Any] = set()
        self._lock = threading.Lock()
        self._shut = False

    @contextlib.contextmanager
    def tracking(self) -> Iterator[None]:
        """While in this block, the calling thread's requests register the connections they use here."""
        previous = getattr(_current, "inflight", None)
        _current.inflight = self
        try:
            yield
        finally:
            _current.inflight = previous

    def shut_down(self) -> None:
        """Shut down the socket of every connection registered, and refuse any request that starts later
        (until :meth:`reopen`)."""
        with self._lock:
            self._shut = True
            connections = list(self._connections)
        for connection in connections:
            _shut(connection)

    def reopen(self) -> None:
        """Let requests start again (a transfer started again from scratch)."""
        with self._lock:
            self._shut = False

    def _claim(self, connection: Any) -> None:
        connection.inflight = self
        with self._lock:
            self._connections.add(connection)
            shut = self._shut
        if shut:
            # An OSError that urllib3 does not swallow (it would a BrokenPipeError): the request fails at once.
            raise ConnectionAbortedError("the load was stopped")

    def _release(self, connection: Any) -> None:
        with self._lock:
            self._connections.discard(connection)

    def _connected(self, connection: Any) -> None:
        with self._lock:
            shut = self._shut
        if shut:
            _shut(connection)  # shut down while it was connecting: its socket did not exist yet


def _shut(connection: Any) -> None:
    sock = getattr(connection, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class _Registering:
    """Mixed into botocore's connection classes: a connection registers with its thread's InFlight."""

    inflight: InFlight | None = None

    def connect(self) -> None:
        inflight = self._used()
        super().connect()  # type: ignore[misc]
        if inflight is not None:
            inflight._connected(self)

    def request(self, *args: Any, **kwargs: Any) -> Any:
        self._used()
        return super().request(*args, **kwargs)  # type: ignore[misc]

    def _used(self) -> InFlight | None:
        # A connection belongs to the InFlight of the request it serves now, or to none (a listing, a HEAD):
        # another load's shut_down must not reach it once the pool has lent it on.
        inflight = getattr(_current, "inflight", None)
        if self.inflight is not None and self.inflight is not inflight:
            self.inflight._release(self)
            self.inflight = None
        if inflight is not None:
            inflight._claim(self)
        return inflight


class _HTTPConnection(_Registering, AWSHTTPConnection):
    pass


class _HTTPSConnection(_Registering, AWSHTTPSConnection):
    pass


class _HTTPConnectionPool(AWSHTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSConnectionPool(AWSHTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


def track_requests(client: Any) -> None:
    """Make ``client``'s connection pools hand out connections that register with :class:`InFlight`.

    botocore offers no setting for its pool classes: they are set on its HTTP session, where botocore keeps
    them (for its proxy managers too). If a botocore release moves them, nothing changes but that a request
    waiting for its answer is not reached by :meth:`InFlight.shut_down` (bodies still are).
    """
    session = getattr(getattr(client, "_endpoint", None), "http_session", None)
    manager = getattr(session, "_manager", None)
    if session is None or manager is None or not hasattr(session, "_pool_classes_by_scheme"):
        return
    classes = {"http": _HTTPConnectionPool, "https": _HTTPSConnectionPool}
    session._pool_classes_by_scheme = classes
    manager.pool_classes_by_scheme = classes
