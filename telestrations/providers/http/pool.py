"""httpx's default transport with a cheaper "is this idle connection still open?" check.

httpcore's pool asks every idle connection whether its socket became readable (the server
closed it) on every request it queues and every response it closes. Through anyio each ask
builds the stream's whole attribute table, with a ``getpeername`` system call, to reach the
raw socket. With a batch's 16-20 pooled connections that was ~24 asks and ~0.3 ms of CPU per
call, the largest single cost per call. :class:`_Backend` hands httpcore the same anyio
streams, except that the raw socket is looked up once per connection. Nothing else changes:
reads, writes, TLS, timeouts and the readability test itself are httpcore's and anyio's.

A request head also goes out with the start of its body (:meth:`_Stream.write`). httpcore
writes the head and the body separately; on loopback or a LAN each write wakes the server,
which reads and parses the head, then waits again for the body: two wake-ups per call
(~0.7-1.3 ms each on a busy 2-core machine) where one does.

The last bytes of a body sent under :func:`~telestrations.providers.base.uploads_after` wait
for its check (a drawing's CRCs, finishing beside the upload); a failed check ends the
request unfinished, so the service never has a whole request for a broken picture.

And while a big answer streams in (a read came back full), the asyncio transport under the
connection reads :data:`BIG_READ` bytes per readiness event instead of 256 KiB, so a 2 MB
image answer already in the socket takes two or three loop passes rather than eight (~0.8 ms
a drawing); once reads come back small it goes back to asyncio's size. (Always reading 1 MiB
allocated 1 MiB for every few-hundred-byte event of a streamed caption, and over 1000 rounds
the app's resident memory grew 10 % more.)
"""

# ruff: noqa: ASYNC109  (httpcore's stream and backend interface takes these timeouts)

from __future__ import annotations

import asyncio
import re
import ssl
import typing

import httpcore
import httpx
from httpcore._utils import is_socket_readable

from telestrations.providers.base import upload_gate

BIG_READ = 1024 * 1024
"""Bytes the transport takes per read while a big answer streams in."""

FIRST_PIECE = 64 * 1024
"""How much of a body goes out in the same write as the head; the rest follows as it is."""

HELD_BACK = 64
"""Bytes at the end of a body's first write that wait for its upload gate."""

_HEAD = re.compile(rb"^[A-Z]+ [^\r\n]* HTTP/1\.1\r\n")
_BODY_FOLLOWS = re.compile(
    rb"\r\n(?:content-length:[ \t]*0*[1-9][0-9]*|transfer-encoding:[^\r\n]*chunked)[ \t]*\r\n",
    re.IGNORECASE,
)


def _announces_body(buffer: bytes) -> bool:
    """``buffer`` is a whole HTTP/1.1 request head (as h11 writes it) saying a body follows."""
    return (
        buffer.endswith(b"\r\n\r\n")
        and _HEAD.match(buffer) is not None
        and _BODY_FOLLOWS.search(buffer) is not None
    )


class _Stream(httpcore.AsyncNetworkStream):
    """An anyio stream whose raw socket is remembered for the pool's readability checks, and
    whose request heads wait for the start of their body (one write, one wake-up)."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket = inner.get_extra_info("socket")
        self._head: bytes | None = None
        transport = getattr(getattr(inner, "_stream", None), "_transport", None)
        size = getattr(transport, "max_size", None)
        # asyncio's selector transport reads ``max_size`` per event (a class attribute; set
        # on the instance it changes this connection only); other layouts are left alone.
        self._transport: typing.Any = transport if isinstance(size, int) else None
        self._usual = size if isinstance(size, int) else 0

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if self._head is not None:  # never read an answer before the request went out
            head, self._head = self._head, None
            await self._inner.write(head, timeout)
        data = await self._inner.read(max_bytes, timeout)
        transport = self._transport
        if transport is not None:
            if len(data) >= self._usual:  # a full read: more is waiting, take it in big ones
                transport.max_size = max(self._usual, BIG_READ)
            elif len(data) < FIRST_PIECE:
                transport.max_size = self._usual
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        head, self._head = self._head, None
        if head is None:
            if _announces_body(buffer):
                self._head = buffer  # sent with the body's first bytes, next
                return
            await self._inner.write(buffer, timeout)
            return
        gate = upload_gate()
        held = min(HELD_BACK, len(buffer)) if gate is not None else 0
        cut = len(buffer) - held
        first = min(FIRST_PIECE, cut)
        view = memoryview(buffer)  # the rest goes out without copying it
        await self._inner.write(head + bytes(view[:first]), timeout)
        if cut > first:
            await self._inner.write(view[first:cut], timeout)  # type: ignore[arg-type]
        if gate is not None and held:  # every later write of the body comes after this one
            await asyncio.shield(gate)  # raises the check's error; a cancel spares the check
            await self._inner.write(view[cut:], timeout)  # type: ignore[arg-type]

    async def aclose(self) -> None:
        self._head = None
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> typing.Any:
        if info == "is_readable" and self._socket is not None:
            return is_socket_readable(self._socket)
        if info == "socket" and self._socket is not None:
            return self._socket
        return self._inner.get_extra_info(info)


class _Backend(httpcore.AsyncNetworkBackend):
    """httpcore's own backend, its streams wrapped in :class:`_Stream`."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _Stream(stream)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._inner.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def default_transport() -> httpx.AsyncHTTPTransport:
    """What ``httpx.AsyncClient()`` would make (same TLS, environment and limits), with the
    cheaper check; exactly httpx's own transport where its layout is not the one known here."""
    transport = httpx.AsyncHTTPTransport()
    pool = getattr(transport, "_pool", None)
    inner = getattr(pool, "_network_backend", None)
    if type(pool) is httpcore.AsyncConnectionPool and isinstance(
        inner, httpcore.AsyncNetworkBackend
    ):
        pool._network_backend = _Backend(inner)
    return transport
