"""A throttling HTTP proxy in front of moto: object bodies arrive slowly, as over a slow link.

Requests are forwarded as they came (the Host header too: it is signed) and answers relayed, except that a
GET's body is sent in small pieces at ``rate`` bytes a second. So a load through it takes as long as a real
slow download, and a client that gives up mid-body is seen doing so: :attr:`ThrottledProxy.aborted` is set
when a client closes its connection before the whole body was sent, and :attr:`ThrottledProxy.sent` counts
the body bytes that went out.
"""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}
)
PIECE = 8 * 1024


class ThrottledProxy:
    """An HTTP proxy on 127.0.0.1 at a free port, forwarding to ``upstream`` with slow GET bodies."""

    def __init__(self, upstream: str, *, rate: float) -> None:
        parts = urlsplit(upstream)
        assert parts.hostname and parts.port, upstream
        self.upstream = (parts.hostname, parts.port)
        self.rate = rate
        self.sent = 0
        self.aborted = threading.Event()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> ThrottledProxy:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.proxy = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="ThrottledProxy", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def endpoint_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        conn = http.client.HTTPConnection(*self.upstream, timeout=30)
        try:
            conn.putrequest(h.command, h.path, skip_host=True, skip_accept_encoding=True)
            for name, value in h.headers.items():
                if name.lower() not in _HOP_BY_HOP:
                    conn.putheader(name, value)
            conn.endheaders(body or None)
            response = conn.getresponse()
            data = response.read()
            headers = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
        finally:
            conn.close()
        h.send_response_only(response.status, response.reason)
        for name, value in headers:
            if name.lower() != "content-length" or h.command == "HEAD":
                h.send_header(name, value)
        if h.command != "HEAD":
            h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        if h.command != "GET":
            h.wfile.write(data)
            return
        try:
            for start in range(0, len(data), PIECE):
                if self._stopping.wait(PIECE / self.rate):
                    return
                h.wfile.write(data[start : start + PIECE])
                h.wfile.flush()
                with self._lock:
                    self.sent += len(data[start : start + PIECE])
        except (BrokenPipeError, ConnectionResetError):
            h.close_connection = True
            self.aborted.set()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    proxy: ThrottledProxy


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def _dispatch(self) -> None:
        self.server.proxy._handle(self)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        pass
