"""A tiny threaded HTTP/1.1 server on 127.0.0.1 for protocol-faithful fakes of real APIs.

Each fake API subclasses :class:`FakeAPI` and implements :meth:`FakeAPI.handle`, which gets
the parsed :class:`Request` and returns a :class:`Reply`. Tests can queue one-off replies
(``api.script.append(...)``) to inject failures (429, 5xx, dropped connections, slow bodies)
before the normal behaviour resumes. Every request is recorded in ``api.requests``.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def header(self, name: str) -> str | None:
        for k, v in self.headers.items():
            if k.lower() == name.lower():
                return v
        return None


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    """Seconds to wait before sending anything (to provoke read timeouts / test cancel)."""
    drop_after: int | None = None
    """Send the headers and this many body bytes, then close the connection."""
    chunk_delay: float = 0.0
    """Seconds between 64 KiB chunks of the body (a slow download), or between ``pieces``."""
    pieces: list[bytes] | None = None
    """Send the body as these HTTP/1.1 chunks (``Transfer-Encoding: chunked``), as a
    streaming API does; ``body`` is then ignored."""
    trickle: float = 0.0
    """Send ``body`` one byte per this many seconds, as one chunked stream: a server that
    never trips a read timeout. The body repeats until ``trickle_for`` seconds have passed or
    the client hangs up."""
    trickle_for: float = 30.0

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, self.headers.get("Content-Type", "application/octet-stream")
        if isinstance(self.body, str):
            return self.body.encode(), self.headers.get("Content-Type", "text/plain")
        return json.dumps(self.body).encode(), "application/json"


def json_reply(status: int, obj: Any, **headers: str) -> Reply:
    return Reply(status, obj, {"Content-Type": "application/json", **headers})


class _Server(ThreadingHTTPServer):
    """A listen backlog for many clients at once. Python's default of 5 overflows when a
    batch opens a dozen connections while a loaded machine has not yet scheduled the accept
    thread: Linux then drops the SYN and the client resends it only after 1 s, 3 s, ...,
    which turns into read timeouts and retries no test meant to provoke."""

    request_queue_size = 128
    daemon_threads = True


class FakeAPI:
    """Base of every fake; subclasses implement :meth:`handle`."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.script: deque[Reply | Callable[[Request], Reply]] = deque()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- to override -------------------------------------------------------
    def handle(self, req: Request) -> Reply:
        return json_reply(404, {"error": "not found"})

    def takeover(self, handler: BaseHTTPRequestHandler) -> bool:
        """Serve this request on the raw connection (a websocket) instead of :meth:`handle`;
        True when done. The request line and headers are parsed, the body is unread."""
        return False

    # -- plumbing ------------------------------------------------------------
    def _dispatch(self, req: Request) -> Reply:
        self.requests.append(req)
        if self.script:
            item = self.script.popleft()
            return item(req) if callable(item) else item
        return self.handle(req)

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeAPI:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _serve(self) -> None:
                if api.takeover(self):  # e.g. a websocket upgrade
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                req = Request(
                    self.command, parts.path, parse_qs(parts.query), dict(self.headers), body
                )
                reply = api._dispatch(req)
                if reply.delay:
                    time.sleep(reply.delay)
                data, ctype = reply.encoded()
                if reply.trickle:
                    self._trickle(reply, data, ctype)
                    return
                if reply.pieces is not None:
                    self._send_pieces(reply, ctype)
                    return
                try:
                    self.send_response(reply.status)
                    headers = {"Content-Type": ctype, **reply.headers}
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    if reply.drop_after is not None:
                        self.send_header("Connection", "close")
                    self.end_headers()
                    if reply.drop_after is not None:
                        self.wfile.write(data[: reply.drop_after])
                        self.wfile.flush()
                        self.close_connection = True
                        return
                    if reply.chunk_delay:
                        for i in range(0, len(data), 65536):
                            self.wfile.write(data[i : i + 65536])
                            self.wfile.flush()
                            time.sleep(reply.chunk_delay)
                    else:
                        self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def _trickle(self, reply: Reply, data: bytes, ctype: str) -> None:
                try:
                    self.send_response(reply.status)
                    for k, v in {"Content-Type": ctype, **reply.headers}.items():
                        self.send_header(k, v)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    self.wfile.flush()
                    until = time.monotonic() + reply.trickle_for
                    i = 0
                    while time.monotonic() < until and data:
                        byte = data[i % len(data) : i % len(data) + 1]
                        self.wfile.write(b"1\r\n" + byte + b"\r\n")
                        self.wfile.flush()
                        i += 1
                        time.sleep(reply.trickle)
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.close_connection = True

            def _send_pieces(self, reply: Reply, ctype: str) -> None:
                try:
                    self.send_response(reply.status)
                    for k, v in {"Content-Type": ctype, **reply.headers}.items():
                        self.send_header(k, v)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for piece in reply.pieces or []:
                        self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                        self.wfile.flush()
                        if reply.chunk_delay:
                            time.sleep(reply.chunk_delay)
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve

        self._server = _Server(("127.0.0.1", 0), Handler)
        # A short poll keeps stop() fast (shutdown waits up to one poll interval; default 0.5 s).
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def free_port() -> int:
    """A loopback port nobody listens on (for "service not running" tests)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
