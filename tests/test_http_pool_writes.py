"""The pool's streams: a request head goes out with the start of its body (one write, one
wake-up of the server), and under an upload gate a body's end waits for it."""

from __future__ import annotations

import asyncio
import json
import typing
from collections.abc import Iterator

import httpcore
import pytest

from telestrations.providers.base import ProviderError, uploads_after
from telestrations.providers.http import HttpClient, HttpSettings
from telestrations.providers.http.pool import BIG_READ, FIRST_PIECE, _Stream
from tests.fakes.server import FakeAPI, Reply, Request, json_reply

POST_HEAD = (
    b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:1\r\nAccept: */*\r\n"
    b"Content-Length: %d\r\nContent-Type: application/json\r\n\r\n"
)


class Recorder(httpcore.AsyncNetworkStream):
    """httpcore's stream interface, keeping each write as it was asked for."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.reads = 0

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        self.reads += 1
        return b""

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        self.writes.append(bytes(buffer))

    async def aclose(self) -> None:
        pass

    def get_extra_info(self, info: str) -> typing.Any:
        return None


async def test_a_head_waits_for_the_start_of_its_body() -> None:
    inner = Recorder()
    stream = _Stream(inner)
    body = b'{"prompt": "a house"}'
    head = POST_HEAD % len(body)
    await stream.write(head)
    assert inner.writes == []  # held back
    await stream.write(body)
    await stream.write(b"")  # h11's end of a sized message
    assert inner.writes[0] == head + body and b"".join(inner.writes) == head + body


async def test_a_big_body_goes_out_head_and_first_piece_then_the_rest() -> None:
    inner = Recorder()
    stream = _Stream(inner)
    body = bytes(range(256)) * 8000  # 2 MB
    head = POST_HEAD % len(body)
    await stream.write(head)
    await stream.write(body)
    assert len(inner.writes) == 2
    assert inner.writes[0] == head + body[:FIRST_PIECE]
    assert inner.writes[1] == body[FIRST_PIECE:]


@pytest.mark.parametrize("size", [20, 2_000_000])
async def test_under_an_upload_gate_the_end_of_a_body_waits_for_it(size: int) -> None:
    body = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    head = POST_HEAD % len(body)
    for passes in (True, False):
        inner = Recorder()
        stream = _Stream(inner)
        gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        with uploads_after(gate):
            await stream.write(head)
            writing = asyncio.ensure_future(stream.write(body))
            await asyncio.sleep(0.01)
            sent = b"".join(inner.writes)
            assert not writing.done() and sent == head + body[: len(body) - min(64, size)]
            if passes:
                gate.set_result(None)
                await writing
                assert b"".join(inner.writes) == head + body
            else:
                gate.set_exception(ProviderError("bad_response", "the png image is broken"))
                with pytest.raises(ProviderError, match="broken"):
                    await writing
                assert b"".join(inner.writes) == sent  # the end never went out


@pytest.mark.parametrize(
    "head",
    [
        b"GET /v1/models HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n",
        b"POST /v1/x HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
        b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
        b"partial body bytes that happen to say\r\nContent-Length: 5\r\n\r\n",  # not a head
    ],
)
async def test_what_announces_no_body_goes_out_at_once(head: bytes) -> None:
    inner = Recorder()
    await _Stream(inner).write(head)
    assert inner.writes == [head]


async def test_a_chunked_head_waits_too_and_a_read_sends_what_is_held() -> None:
    inner = Recorder()
    stream = _Stream(inner)
    head = b"POST /v1/up HTTP/1.1\r\nHost: x\r\ntransfer-encoding: chunked\r\n\r\n"
    await stream.write(head)
    assert inner.writes == []
    await stream.read(100)  # never wait for an answer to a request not yet sent
    assert inner.writes == [head] and inner.reads == 1


class Reads(Recorder):
    """Reads of given sizes, over an asyncio-like transport with a ``max_size``."""

    def __init__(self, sizes: list[int]) -> None:
        super().__init__()
        self.sizes = sizes
        self._stream = type("S", (), {})()
        self._stream._transport = type("T", (), {"max_size": 256 * 1024})()  # type: ignore[attr-defined]

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        return b"x" * self.sizes.pop(0)


async def test_reads_widen_while_a_big_answer_streams_and_narrow_after() -> None:
    inner = Reads([300, 256 * 1024, 1024 * 1024, 700_000, 5_000, 200])
    stream = _Stream(inner)
    seen = []
    for _ in range(6):
        await stream.read(BIG_READ)
        seen.append(stream._transport.max_size)
    usual = 256 * 1024
    assert seen == [usual, BIG_READ, BIG_READ, BIG_READ, usual, usual]


class Echo(FakeAPI):
    def handle(self, req: Request) -> Reply:
        if req.path == "/v1/big":
            return Reply(200, b"x" * 3_000_000, {"Content-Type": "application/octet-stream"})
        return json_reply(200, {"method": req.method, "json": req.json})


@pytest.fixture
def echo() -> Iterator[Echo]:
    server = Echo().start()
    yield server
    server.stop()


async def test_requests_through_the_real_stack_arrive_whole(echo: Echo) -> None:
    client = HttpClient("Echo", HttpSettings(base_url=echo.url + "/v1", read_timeout=5.0))
    try:
        small = await client.request("POST", "/x", json={"a": 1})
        assert json.loads(small.body) == {"method": "POST", "json": {"a": 1}}
        payload = {"image": "A" * 500_000, "n": [1, 2, 3]}
        big = await client.request("POST", "/x", json=payload)
        assert json.loads(big.body)["json"] == payload
        got = await client.request("GET", "/x")
        assert json.loads(got.body) == {"method": "GET", "json": None}
        answer = await client.request("GET", "/big")
        assert answer.body == b"x" * 3_000_000
        assert [r.method for r in echo.requests] == ["POST", "POST", "GET", "GET"]
        pool = client.client._transport._pool  # type: ignore[attr-defined]
        stream = pool.connections[0]._connection._network_stream
        assert isinstance(stream, _Stream)  # ours
        await client.request("GET", "/x")  # a small answer after the big one: usual reads
        assert stream._transport.max_size == stream._usual == 256 * 1024
    finally:
        await client.aclose()
