"""The floor under a headless round: the same two calls with nothing of ours around them.

``round_overhead.py`` measures the whole engine (checks, journal, pictures on disk, events).
This plays the bare exchange of one round against the same loopback server, 200 times, two
ways, and prints what each costs beyond the server's time:

- ``httpx``: a plain ``httpx.AsyncClient`` (its default transport: httpcore, h11, anyio) posts
  the drawer's request, ``json.loads`` the 1.5 MB ``b64_json`` answer, posts the guesser's
  request with that base64 in a data URI, and reads its server-sent events;
- ``asyncio``: the same bytes over one keep-alive ``asyncio`` stream, with the HTTP/1.1
  framing written by hand (Content-Length and chunked answers only: enough for this server).

The engine cannot go below the first line: its httpx round trips and reads are in it. The
gap between the two lines is what the HTTP stack itself costs on this machine; compare it
with the budget a ratio target leaves (1.08 × the provider time, less that time).

    /work/venv/bin/python bench/http_floor.py
    /work/venv/bin/python bench/http_floor.py --rounds 100
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from round_overhead import KEY, Meter, Server

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


async def with_httpx(base: str, rounds: int) -> None:
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        for _ in range(rounds):
            r = await client.post("/images/generations", content=drawer_body())
            b64 = r.json()["data"][0]["b64_json"]
            async with client.stream("POST", "/chat/completions", content=guesser_body(b64)) as s:
                caption = caption_of(await s.aread())
            assert caption


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


async def with_asyncio(host: str, port: int, rounds: int) -> None:
    conn = Raw(host, port)
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


async def main(rounds: int) -> None:
    from telestrations.alloc import keep_big_buffers

    keep_big_buffers()  # as the telestrations command and round_overhead do
    server = Server()
    print(server.describe(), flush=True)
    try:
        for label in ("httpx", "asyncio", "httpx", "asyncio"):  # twice each, interleaved
            meter = Meter(server)
            meter.start()
            if label == "httpx":
                await with_httpx(server.url, rounds)
            else:
                await with_asyncio("127.0.0.1", server.port, rounds)
            meter.stop(label, rounds)
    finally:
        server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    asyncio.run(main(parser.parse_args().rounds))
