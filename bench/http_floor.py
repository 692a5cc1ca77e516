"""The floor under a headless round: the same two calls with nothing of ours around them.

``round_overhead.py`` measures the whole engine (checks, journal, pictures on disk, events).
This plays the bare exchange of one round against the same loopback server, 200 times, in
five ways from the most stack to the least, and prints what each costs beyond the server's
time. Every way posts the drawer's request, ``json.loads`` the 1.5 MB ``b64_json`` answer,
posts the guesser's request with that base64 in a data URI, and reads its server-sent events:

- ``httpx``: a plain ``httpx.AsyncClient`` (its default transport: httpcore, h11, anyio);
- ``engine's``: the same client on the transport the engine uses
  (:func:`telestrations.providers.http.pool.default_transport`);
- ``httpx+h11``: the same client on the leanest transport this bench could write: h11 on one
  ``asyncio`` stream, no httpcore or anyio (and no pool, timeouts, TLS or proxies: a
  measuring stick, not something to ship);
- ``h11``: h11 on one ``asyncio`` stream, no httpx;
- ``asyncio``: the same bytes over one keep-alive ``asyncio`` stream, with the HTTP/1.1
  framing written by hand (Content-Length and chunked answers only: enough for this server).

The engine cannot go below the ``engine's`` line: its round trips and reads are in it. The
steps between the lines are what each layer of the HTTP stack costs on this machine; compare
them with the budget a ratio target leaves (1.08 × the provider time, less that time). The
project's HTTP client is httpx, so ``httpx+h11`` is as low as an engine on it could go.

    /work/venv/bin/python bench/http_floor.py
    /work/venv/bin/python bench/http_floor.py --rounds 100
    /work/venv/bin/python bench/http_floor.py --only httpx,asyncio
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import typing
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import h11
import httpx
from round_overhead import KEY, Meter, Server

from telestrations.providers.http.pool import default_transport

PROMPT = "a house under the sun"


def drawer_body() -> bytes:
    body = {"model": "gpt-image-2", "prompt": PROMPT, "size": "1024x1024", "n": 1}
    return json.dumps(body).encode()


def guesser_body(b64: str) -> bytes:
    """The guesser's request with the base64 spliced in (it needs no JSON escaping), as the
    engine builds it: no 2 MB ``json.dumps``."""
    marker = "\x00"
    content = [
        {"type": "text", "text": "Describe this drawing in one sentence."},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64," + marker}},
    ]
    body = {
        "model": "gpt-4o-mini",
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": content}],
    }
    before, after = json.dumps(body).split("\\u0000")
    return b"".join((before.encode(), b64.encode("ascii"), after.encode()))


def caption_of(events: bytes) -> str:
    words = []
    for line in events.split(b"\n"):
        if line.startswith(b"data: ") and line != b"data: [DONE]":
            for choice in json.loads(line[6:])["choices"]:
                words.append(choice["delta"].get("content", ""))
    return "".join(words)


async def with_httpx(
    base: str, rounds: int, transport: httpx.AsyncBaseTransport | None = None
) -> None:
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(
        base_url=base, headers=headers, timeout=30, transport=transport
    ) as client:
        for _ in range(rounds):
            r = await client.post("/images/generations", content=drawer_body())
            b64 = r.json()["data"][0]["b64_json"]
            async with client.stream("POST", "/chat/completions", content=guesser_body(b64)) as s:
                caption = caption_of(await s.aread())
            assert caption


class H11:
    """One keep-alive HTTP/1.1 connection parsed by h11, on an ``asyncio`` stream."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.conn = h11.Connection(h11.CLIENT)
        self.reader: asyncio.StreamReader | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def send(
        self, method: str, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> h11.Response:
        if self.reader is None:
            await self.open()
        events = (h11.Request(method=method, target=target, headers=headers), h11.Data(data=body))
        pieces = [self.conn.send(e) for e in (*events, h11.EndOfMessage())]
        self.writer.write(b"".join(p for p in pieces if p))
        await self.writer.drain()
        while True:
            event = await self.next_event()
            if isinstance(event, h11.Response):
                return event

    async def next_event(self) -> object:
        assert self.reader is not None
        while True:
            event = self.conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            self.conn.receive_data(await self.reader.read(1 << 20))

    async def body(self) -> typing.AsyncIterator[bytes]:
        while True:
            event = await self.next_event()
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                self.conn.start_next_cycle()
                return

    async def post(self, path: str, body: bytes) -> bytes:
        head = [
            (b"Host", f"{self.host}:{self.port}".encode()),
            (b"Authorization", f"Bearer {KEY}".encode()),
            (b"Content-Type", b"application/json"),
            (b"Content-Length", str(len(body)).encode()),
        ]
        await self.send("POST", path.encode(), head, body)
        return b"".join([piece async for piece in self.body()])

    async def close(self) -> None:
        if self.reader is not None:
            self.writer.close()
            await self.writer.wait_closed()


class _H11Body(httpx.AsyncByteStream):
    def __init__(self, conn: H11) -> None:
        self.conn = conn

    async def __aiter__(self) -> typing.AsyncIterator[bytes]:
        async for piece in self.conn.body():
            yield piece


class H11Transport(httpx.AsyncBaseTransport):
    """httpx on :class:`H11`: one connection, one request at a time."""

    def __init__(self, host: str, port: int) -> None:
        self.conn = H11(host, port)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        headers = [(b"Host", request.url.netloc)]
        headers += [(k, v) for k, v in request.headers.raw if k.lower() != b"host"]
        event = await self.conn.send(request.method, request.url.raw_path, headers, request.content)
        return httpx.Response(
            event.status_code, headers=list(event.headers), stream=_H11Body(self.conn)
        )

    async def aclose(self) -> None:
        await self.conn.close()


class Raw:
    """One keep-alive HTTP/1.1 connection, framed by hand."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def post(self, path: str, body: bytes) -> bytes:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Authorization: Bearer {KEY}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        await self.writer.drain()
        raw = await self.reader.readuntil(b"\r\n\r\n")
        fields = {}
        for line in raw.decode("latin-1").split("\r\n")[1:]:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        if "content-length" in fields:
            return await self.reader.readexactly(int(fields["content-length"]))
        pieces: list[bytes] = []
        while True:
            size = int((await self.reader.readline()).strip(), 16)
            piece = await self.reader.readexactly(size + 2)
            if size == 0:
                return b"".join(pieces)
            pieces.append(piece[:-2])

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


async def with_asyncio(host: str, port: int, rounds: int, conn: Raw | H11 | None = None) -> None:
    conn = conn or Raw(host, port)
    await conn.open()
    try:
        for _ in range(rounds):
            b64 = json.loads(await conn.post("/v1/images/generations", drawer_body()))["data"][0][
                "b64_json"
            ]
            caption = caption_of(await conn.post("/v1/chat/completions", guesser_body(b64)))
            assert caption
    finally:
        await conn.close()


WAYS = ("httpx", "engine's", "httpx+h11", "h11", "asyncio")


async def main(rounds: int, ways: list[str]) -> None:
    from telestrations.alloc import keep_big_buffers

    keep_big_buffers()  # as the telestrations command and round_overhead do
    server = Server()
    print(server.describe(), flush=True)
    host = "127.0.0.1"
    try:
        for label in ways + ways:  # twice each, interleaved
            meter = Meter(server)
            meter.start()
            if label == "httpx":
                await with_httpx(server.url, rounds)
            elif label == "engine's":
                await with_httpx(server.url, rounds, default_transport())
            elif label == "httpx+h11":
                await with_httpx(server.url, rounds, H11Transport(host, server.port))
            elif label == "h11":
                await with_asyncio(host, server.port, rounds, H11(host, server.port))
            else:
                await with_asyncio(host, server.port, rounds)
            meter.stop(label, rounds)
    finally:
        server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument(
        "--only", default=",".join(WAYS), help=f"some of {', '.join(WAYS)} (comma-separated)"
    )
    args = parser.parse_args()
    chosen = [w.strip() for w in args.only.split(",") if w.strip()]
    unknown = [w for w in chosen if w not in WAYS]
    if unknown or not chosen:
        parser.error(f"--only takes some of {', '.join(WAYS)}; got {args.only!r}")
    asyncio.run(main(args.rounds, chosen))
