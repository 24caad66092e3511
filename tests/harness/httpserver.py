"""A small threaded HTTP(S) server for the fakes, tuned for loopback tests.

``http.server`` alone costs ~40 ms per request on loopback (Nagle's algorithm against delayed
ACKs), does the TLS handshake in the accepting thread (one stuck client blocks every other one)
and closes connections after each answer. This module fixes those three things and nothing more.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Request:
    """What a route handler gets: the parsed request, body already read."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes


@dataclass
class Response:
    """What a route handler returns."""

    status: int
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
        return cls(status=status, body=json.dumps(payload).encode(), headers=dict(headers or {}))


Dispatcher = Callable[[Request], Response]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: msal's requests.Session and Dovecot reuse sockets
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=parts.path,
            query=parts.query,
            headers={key.lower(): value for key, value in self.headers.items()},
            body=body,
        )
        try:
            response = self.server.dispatcher(request)
        except Exception as exc:  # a fake must answer, and the test must see why it broke
            self.server.errors.append(exc)
            response = Response.json(500, {"error": "harness_error", "detail": repr(exc)})
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = _serve
    do_POST = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: the suite's output must stay clean."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a deliberately hung request must not block stop()

    def __init__(
        self,
        address: tuple[str, int],
        dispatcher: Dispatcher,
        tls: ssl.SSLContext | None,
    ) -> None:
        self.dispatcher = dispatcher
        self.tls = tls
        self.errors: list[BaseException] = []
        super().__init__(address, _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Runs in the per-connection thread: set TCP_NODELAY and do the TLS handshake here."""
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls is not None:
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return  # e.g. a client that does not trust the test CA hangs up
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up mid-request are normal in failure tests; do not print tracebacks."""


class HTTPServerThread:
    """One server on 127.0.0.1 with an ephemeral port, served from a daemon thread."""

    def __init__(self, dispatcher: Dispatcher, tls: ssl.SSLContext | None = None) -> None:
        self._server = _Server(("127.0.0.1", 0), dispatcher, tls)
        self.port: int = self._server.server_address[1]
        self.scheme = "https" if tls is not None else "http"
        self.url = f"{self.scheme}://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"harness-http-{self.port}",
            daemon=True,
        )
        self._thread.start()

    @property
    def errors(self) -> list[BaseException]:
        """Exceptions raised by route handlers (answered as 500): a fake's own bugs."""
        return self._server.errors

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
