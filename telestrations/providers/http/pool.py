"""httpx's default transport with a cheaper "is this idle connection still open?" check.

httpcore's pool asks every idle connection whether its socket became readable (the server
closed it) on every request it queues and every response it closes. Through anyio each ask
builds the stream's whole attribute table, with a ``getpeername`` system call, to reach the
raw socket. With a batch's 16-20 pooled connections that was ~24 asks and ~0.3 ms of CPU per
call, the largest single cost per call. :class:`_Backend` hands httpcore the same anyio
streams, except that the raw socket is looked up once per connection. Nothing else changes:
reads, writes, TLS, timeouts and the readability test itself are httpcore's and anyio's.
"""

# ruff: noqa: ASYNC109  (httpcore's stream and backend interface takes these timeouts)

from __future__ import annotations

import ssl
import typing

import httpcore
import httpx
from httpcore._utils import is_socket_readable


class _Stream(httpcore.AsyncNetworkStream):
    """An anyio stream whose raw socket is remembered for the pool's readability checks."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket = inner.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
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
