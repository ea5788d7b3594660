"""A fault-injecting HTTP proxy to put in front of moto's S3 server.

Every request is forwarded to moto as it came (method, path and query, headers, body) and moto's answer is
relayed, unless a queued :class:`Fault` matches it. A fault names the requests it applies to (method, an
optional path substring, how many times) and what happens instead::

    with FaultProxy(s3.endpoint_url) as proxy:
        proxy.add(Fault(Reply(503, "SlowDown"), times=2))     # two throttled GETs, then moto answers
        proxy.add(Fault(Cut(after=1000)))                      # the next body breaks; the loader resumes
        load(uri, endpoint_url=proxy.endpoint_url)
        assert [r.status for r in proxy.requests if r.method == "GET"] == [503, 503, 200, 206]

    with FaultProxy(s3.endpoint_url) as proxy:
        proxy.add(Fault(Throttle(rate=500_000), times=None))  # every body at 500 kB/s, as over a slow link
        proxy.add(Fault(Trickle(size=100, every=0.05)))        # the next body at 2 kB/s: too slow to be of use

Faults are tried in the order they were added; the first that matches (and has times left) applies, so
one request meets at most one fault. :attr:`FaultProxy.requests` records every request, so a test can
assert how many were made and of what kind. Credentials never reach the record: of the Authorization
header only the region of its credential scope is kept, and query strings (a presigned URL carries its
signature there) are dropped. Under :class:`Throttle`, :attr:`FaultProxy.sent` counts the body bytes that
went out and :attr:`FaultProxy.aborted` tells whether a client hung up before its body was all sent.
:meth:`FaultProxy.open_connections` counts the client connections still open, as the proxy sees them.
"""

from __future__ import annotations

import http.client
import re
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

__all__ = ["Corrupt", "Cut", "Delay", "Fault", "FaultProxy", "Hook", "Reply", "Reset", "Seen", "Stall", "Throttle",
           "Trickle"]

# Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are not forwarded; the proxy also
# sets Content-Length itself, since it may cut or drop the body.
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}
)
_SCOPE_REGION = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/,\s]+)/")
REQUEST_ID = "FAULTPROXY0000001"
_SSE_C = "x-amz-server-side-encryption-customer"


# --- what a fault does ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """Answer with an S3 error instead of forwarding.

    ``code=None`` sends no body (as S3 does for HEAD, and load balancers for 502/504). ``fields`` are
    extra elements of the ``<Error>`` document (e.g. ``{"Region": "eu-west-1"}``); ``headers`` are extra
    response headers (e.g. ``{"x-amz-bucket-region": "eu-west-1"}``).
    """

    status: int
    code: str | None = None
    message: str = "injected by FaultProxy"
    headers: Mapping[str, str] = field(default_factory=dict)
    fields: Mapping[str, str] = field(default_factory=dict)

    def body(self) -> bytes:
        if self.code is None:
            return b""
        extra = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in self.fields.items())
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{escape(self.code)}</Code><Message>{escape(self.message)}</Message>{extra}"
            f"<RequestId>{REQUEST_ID}</RequestId></Error>"
        ).encode()


@dataclass(frozen=True)
class Send:
    """Answer with this body (and status) instead of forwarding: a success the server never gave."""

    body: bytes
    status: int = 200
    content_type: str = "application/xml"


@dataclass(frozen=True)
class Reset:
    """Reset the connection (RST, by closing with SO_LINGER 0) before sending any header."""


@dataclass(frozen=True)
class Cut:
    """Forward, but send only the first ``after`` bytes of the body, then close the connection.

    With ``keep_length`` the original Content-Length is sent, so the client can tell the body is short;
    without it the body is close-delimited (no Content-Length, ``Connection: close``) and a clean cut
    looks like the end. With ``reset`` the connection is reset rather than closed.
    """

    after: int
    keep_length: bool = True
    reset: bool = False  # close with RST (once the bytes sent have arrived) rather than FIN


@dataclass(frozen=True)
class Stall:
    """Forward, but pause ``seconds`` after the first ``after`` bytes of the body, then send the rest."""

    after: int
    seconds: float


@dataclass(frozen=True)
class Trickle:
    """Forward, but after the first ``after`` bytes of the body send ``size`` bytes every ``every`` seconds:
    a server that sends too slowly to be of use, yet never so slowly that a read times out."""

    size: int
    every: float
    after: int = 0


@dataclass(frozen=True)
class Delay:
    """Wait ``seconds`` before forwarding (latency before the first byte of the answer)."""

    seconds: float


@dataclass(frozen=True)
class Throttle:
    """Forward, but send the body at ``rate`` bytes a second, ``piece`` bytes at a time (a slow link).

    Each answer gets the whole rate to itself. A client that gives up mid-body is seen doing so:
    :attr:`FaultProxy.aborted` is set and :attr:`FaultProxy.sent` stops growing. With ``wait`` the
    answer starts only after that many seconds (a server slow to start each answer, as moto is with ranges).
    """

    rate: float
    piece: int = 8 * 1024
    wait: float = 0.0


@dataclass(frozen=True)
class Corrupt:
    """Forward, but flip the bits of the body's byte at ``offset`` (damage on the way, length intact).

    ``mask`` is the bits flipped: all by default; ``0x01`` turns a digit into another digit, damage that
    still parses (a wrong value, not a broken file).
    """

    offset: int = 0
    mask: int = 0xFF


@dataclass(frozen=True)
class FromStart:
    """Forward a suffix range (``bytes=-N``) as ``bytes=0-N``: how s3rver 3.7 answers one, from byte 0 (its
    206 says so in its Content-Range)."""


@dataclass(frozen=True)
class Hook:
    """Call ``run()`` (e.g. to replace the object in moto), then forward."""

    run: Callable[[], object]


Action = Reply | Send | Reset | Cut | Stall | Trickle | Delay | Throttle | Corrupt | Hook | FromStart


@dataclass(frozen=True)
class Fault:
    """Do ``action`` to the next ``times`` requests (every one, with ``None``) with this method and path.

    ``path`` is a substring of the request's path (without the query): ``"/bucket/key"`` picks one
    object, ``None`` any path.
    """

    action: Action
    method: str = "GET"
    path: str | None = None
    times: int | None = 1

    def matches(self, method: str, path: str) -> bool:
        return method == self.method and (self.path is None or self.path in path)


# --- what the proxy saw --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """One request as the proxy saw it, and what it answered.

    ``region`` is the region of the signature's credential scope (``None`` if unsigned); ``status`` is the
    status sent (``None`` if the connection was reset first); ``fault`` names the action applied.
    ``request_payer`` is the ``x-amz-request-payer`` header. ``customer_key`` is what the request said of an
    SSE-C key: its algorithm and the key's MD5 (both S3 sends back too), only if the key itself was sent;
    the key never reaches the record.
    """

    method: str
    path: str
    range: str | None
    if_match: str | None
    region: str | None
    status: int | None
    fault: str | None
    request_payer: str | None = None
    customer_key: tuple[str | None, str | None] | None = None


# --- the proxy -----------------------------------------------------------------------------------------


class FaultProxy:
    """An HTTP proxy on 127.0.0.1 at a free port that forwards to ``upstream`` and injects faults."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname or not parts.port:
            raise ValueError(f"upstream must be http://host:port, not {upstream!r}")
        self.upstream = (parts.hostname, parts.port)
        self._faults: list[list[Any]] = []  # [fault, times left (None: no limit)]
        self._seen: list[Seen] = []
        self._sent = 0
        #: Set once a client has closed its connection while a :class:`Throttle` was still sending its body.
        self.aborted = threading.Event()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()  # accepted, their handler not yet done

    # lifecycle

    def start(self) -> FaultProxy:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.proxy = self
        self._server = server
        self._stopping.clear()
        # A short poll interval: stop() waits for the serving loop to notice, once per test.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.01}, name="FaultProxy", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; a stalled or delayed answer is cut short."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def endpoint_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the proxy is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # faults and the record

    def count(self, method: str, path: str) -> int:
        """How many ``method`` requests for ``path`` (no query) the proxy has seen."""
        return sum(1 for seen in list(self.requests) if (seen.method, seen.path) == (method, path))

    def add(self, fault: Fault) -> None:
        """Queue ``fault`` after those already queued."""
        with self._lock:
            self._faults.append([fault, fault.times])

    def clear(self) -> None:
        """Forget the queued faults, the requests seen, the bytes sent and any abort."""
        with self._lock:
            self._faults.clear()
            self._seen.clear()
            self._sent = 0
            self.aborted.clear()

    @property
    def requests(self) -> list[Seen]:
        """Every request seen so far, in the order they arrived."""
        with self._lock:
            return list(self._seen)

    @property
    def sent(self) -> int:
        """Body bytes sent so far under :class:`Throttle`."""
        with self._lock:
            return self._sent

    def open_connections(self) -> int:
        """How many client connections are open as the proxy sees them: accepted, and the client has neither
        closed nor shut down its end (no FIN or RST has arrived), whatever the handler is doing meanwhile."""
        with self._lock:
            connections = list(self._connections)
        return sum(1 for sock in connections if not _peer_closed(sock))

    def _connection(self, sock: socket.socket, *, opened: bool) -> None:
        with self._lock:
            if opened:
                self._connections.add(sock)
            else:
                self._connections.discard(sock)

    def _take(self, method: str, path: str) -> Action | None:
        with self._lock:
            for entry in self._faults:
                fault, left = entry
                if (left is None or left > 0) and fault.matches(method, path):
                    if left is not None:
                        entry[1] = left - 1
                    return fault.action
        return None

    def _arrived(self, h: BaseHTTPRequestHandler, path: str, action: Action | None) -> Seen:
        """Record a request as it arrives, so that a slow answer cannot reorder the record."""
        scope = _SCOPE_REGION.search(h.headers.get("Authorization", ""))
        seen = Seen(
            method=h.command,
            path=path,
            range=h.headers.get("Range"),
            if_match=h.headers.get("If-Match"),
            region=scope.group(1) if scope else None,
            status=None,
            fault=type(action).__name__ if action is not None else None,
            request_payer=h.headers.get("x-amz-request-payer"),
            customer_key=(h.headers.get(_SSE_C + "-algorithm"), h.headers.get(_SSE_C + "-key-MD5"))
            if h.headers.get(_SSE_C + "-key") else None,
        )
        with self._lock:
            self._seen.append(seen)
        return seen

    def _answered(self, seen: Seen, status: int) -> None:
        with self._lock:
            for i, entry in enumerate(self._seen):
                if entry is seen:  # gone if clear() came in between
                    self._seen[i] = replace(seen, status=status)

    # one request

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)  # botocore sends no chunked request bodies
        body = h.rfile.read(length) if length else b""
        path = urlsplit(h.path).path
        action = self._take(h.command, path)
        seen = self._arrived(h, path, action)
        if isinstance(action, Reset):
            _reset(h)
        elif isinstance(action, Reply):
            self._answered(seen, action.status)
            _send_error(h, action)
        elif isinstance(action, Send):
            self._answered(seen, action.status)
            _send_body(h, action)
        else:
            if isinstance(action, Delay):
                self._stopping.wait(action.seconds)
            elif isinstance(action, Throttle):
                self._stopping.wait(action.wait)
            elif isinstance(action, Hook):
                action.run()
            status, reason, headers, data = self._forward(h, body, from_start=isinstance(action, FromStart))
            self._answered(seen, status)
            self._relay(h, action, status, reason, headers, data)

    def _forward(
        self, h: BaseHTTPRequestHandler, body: bytes, *, from_start: bool = False
    ) -> tuple[int, str, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(*self.upstream, timeout=30)
        try:
            # The Host header is forwarded as sent: it is part of the signature.
            conn.putrequest(h.command, h.path, skip_host=True, skip_accept_encoding=True)
            for name, value in h.headers.items():
                if name.lower() == "range" and from_start and value.startswith("bytes=-"):
                    value = f"bytes=0-{value.removeprefix('bytes=-')}"  # moto checks no signature
                if name.lower() not in _HOP_BY_HOP:
                    conn.putheader(name, value)
            conn.endheaders(body or None)
            response = conn.getresponse()
            data = response.read()
            headers = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
            return response.status, response.reason, headers, data
        finally:
            conn.close()

    def _relay(
        self,
        h: BaseHTTPRequestHandler,
        action: Action | None,
        status: int,
        reason: str,
        headers: list[tuple[str, str]],
        data: bytes,
    ) -> None:
        h.send_response_only(status, reason)
        for name, value in headers:
            if name.lower() != "content-length" or h.command == "HEAD":
                h.send_header(name, value)
        if isinstance(action, Cut) and not action.keep_length:
            h.send_header("Connection", "close")  # the body ends where the connection does
        elif h.command != "HEAD":
            h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        if isinstance(action, Cut):
            h.wfile.write(data[: action.after])
            h.close_connection = True
            if action.reset:
                _drain(h.connection)
                _reset(h)
        elif isinstance(action, Stall):
            h.wfile.write(data[: action.after])
            self._stopping.wait(action.seconds)
            h.wfile.write(data[action.after :])
        elif isinstance(action, Throttle):
            self._throttle(h, action, data)
        elif isinstance(action, Trickle):
            self._trickle(h, action, data)
        elif isinstance(action, Corrupt) and action.offset < len(data):
            damaged = bytes([data[action.offset] ^ action.mask])
            h.wfile.write(data[: action.offset] + damaged + data[action.offset + 1 :])
        else:
            h.wfile.write(data)

    def _trickle(self, h: BaseHTTPRequestHandler, trickle: Trickle, data: bytes) -> None:
        try:
            h.wfile.write(data[: trickle.after])
            h.wfile.flush()
            for start in range(trickle.after, len(data), trickle.size):
                if self._stopping.wait(trickle.every):
                    h.close_connection = True
                    return
                h.wfile.write(data[start : start + trickle.size])
                h.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            h.close_connection = True  # the client broke the body off

    def _throttle(self, h: BaseHTTPRequestHandler, throttle: Throttle, data: bytes) -> None:
        try:
            for start in range(0, len(data), throttle.piece):
                if self._stopping.wait(throttle.piece / throttle.rate):
                    h.close_connection = True  # the body is short of its Content-Length
                    return
                piece = data[start : start + throttle.piece]
                h.wfile.write(piece)
                h.wfile.flush()
                with self._lock:
                    self._sent += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            h.close_connection = True
            self.aborted.set()


def _send_body(h: BaseHTTPRequestHandler, send: Send) -> None:
    h.send_response_only(send.status)
    h.send_header("Content-Type", send.content_type)
    h.send_header("x-amz-request-id", REQUEST_ID)
    h.send_header("Content-Length", str(len(send.body)))
    h.end_headers()
    h.wfile.write(send.body)


def _send_error(h: BaseHTTPRequestHandler, reply: Reply) -> None:
    payload = b"" if h.command == "HEAD" else reply.body()
    h.send_response_only(reply.status)
    h.send_header("Content-Type", "application/xml")
    h.send_header("x-amz-request-id", REQUEST_ID)
    for name, value in reply.headers.items():
        h.send_header(name, value)
    h.send_header("Content-Length", str(len(payload)))
    h.end_headers()
    h.wfile.write(payload)


def _reset(h: BaseHTTPRequestHandler) -> None:
    """Close the client's connection so that it receives RST, not FIN."""
    h.close_connection = True
    h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    h.rfile.close()  # the file holds a reference to the socket, which would delay the close
    h.connection.close()


def _drain(sock: socket.socket, timeout: float = 2.0) -> None:
    """Wait until the peer has acknowledged every byte written: a reset discards what is still unsent."""
    deadline = time.monotonic() + timeout
    with suppress(ImportError, OSError):  # TIOCOUTQ is Linux's; elsewhere, a short wait does nearly as well
        import fcntl
        import termios

        while time.monotonic() < deadline:
            unsent = struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0"))[0]
            if not unsent:
                return
            time.sleep(0.001)
        return
    time.sleep(0.05)


def _peer_closed(sock: socket.socket) -> bool:
    """Whether the client has closed or shut down its end: a peek that reads the end (or an error)."""
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False  # open, nothing to read
    except OSError:
        return True  # reset, or closed here already


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    proxy: FaultProxy

    def process_request(self, request: Any, client_address: Any) -> None:
        self.proxy._connection(request, opened=True)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        self.proxy._connection(request, opened=False)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (a read timeout during a stall) is expected; anything else is a bug here.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects
    server: _Server

    def _dispatch(self) -> None:
        self.server.proxy._handle(self)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request line may carry a presigned URL's signature
