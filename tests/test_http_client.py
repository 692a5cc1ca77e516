"""The shared HTTP layer against real sockets on 127.0.0.1: retries, caps, timeouts, redaction."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from telestrations.providers.base import ProviderError
from telestrations.providers.http import (
    HttpClient,
    HttpFailure,
    HttpSettings,
    error_message,
)
from tests.fakes.server import FakeAPI, Reply, Request, free_port, json_reply

KEY = "sk-test-SECRETsecret0123456789"


class EchoAPI(FakeAPI):
    """Answers every request with what it saw; a 401 body echoes the Authorization header,
    as some misconfigured proxies do, to prove the key is scrubbed everywhere."""

    def handle(self, req: Request) -> Reply:
        if req.path == "/echo-auth":
            return json_reply(
                401,
                {"error": {"message": f"bad header {req.header('Authorization')}", "code": None}},
            )
        return json_reply(200, {"path": req.path, "query": req.query, "json": req.json})


@pytest.fixture
def api() -> Iterator[EchoAPI]:
    server = EchoAPI().start()
    yield server
    server.stop()


def settings(url: str, **kw: Any) -> HttpSettings:
    base = {"backoff_base": 0.01, "backoff_cap": 0.05, "read_timeout": 5.0}
    return HttpSettings(base_url=url, **{**base, **kw})


@pytest.fixture
async def client(api: EchoAPI) -> AsyncIterator[HttpClient]:
    c = HttpClient("Echo", settings(api.url + "/v1"), headers={"Authorization": f"Bearer {KEY}"})
    yield c
    await c.aclose()


def err(status: int, obj: Any, **headers: str) -> Reply:
    return json_reply(status, obj, **headers)


def openai_error(code: str, message: str, type_: str = "invalid_request_error") -> Any:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


# -- urls and settings ----------------------------------------------------------------------------


def test_url_joining() -> None:
    for base in ("https://api.openai.com/v1", "https://api.openai.com/v1/"):
        c = HttpClient("x", HttpSettings(base_url=base))
        for path in ("/images/generations", "images/generations"):
            assert c.url_for(path) == "https://api.openai.com/v1/images/generations"
        assert c.url_for("http://other/x") == "http://other/x"
        assert c.url_for("") == "https://api.openai.com/v1"


def test_settings_from_config_table() -> None:
    s = HttpSettings.from_settings(
        {"timeout": 42, "max_retries": 0, "max_bytes": 1000, "base_url": "http://ignored"},
        base_url="http://resolved",
        connect_timeout=2.0,
    )
    assert (s.base_url, s.read_timeout, s.max_retries, s.max_bytes, s.connect_timeout) == (
        "http://resolved",
        42.0,
        0,
        1000,
        2.0,
    )
    assert HttpSettings.from_settings({"base_url": "http://cfg"}, base_url="").base_url == (
        "http://cfg"
    )
    with pytest.raises(ValueError, match="read_timeout"):
        HttpSettings.from_settings({"read_timeout": "soon"}, base_url="http://x")
    with pytest.raises(ValueError, match="max_retries"):
        HttpSettings.from_settings({"max_retries": -1}, base_url="http://x")


# -- success and retries --------------------------------------------------------------------------


async def test_request_joins_path_and_sends_json(api: EchoAPI, client: HttpClient) -> None:
    data = await client.json("POST", "/images/generations", json={"a": 1}, params={"q": "x"})
    assert data == {"path": "/v1/images/generations", "query": {"q": ["x"]}, "json": {"a": 1}}
    req = api.requests[0]
    assert req.header("Authorization") == f"Bearer {KEY}"
    assert req.header(
        "User-Agent",
    ).startswith("telestrations/")


async def test_500_twice_then_success(api: EchoAPI, client: HttpClient) -> None:
    api.script.extend([err(500, openai_error("server_error", "boom", "server_error"))] * 2)
    assert (await client.json("GET", "/x"))["path"] == "/v1/x"
    assert len(api.requests) == 3


async def test_5xx_exhausts_retries(api: EchoAPI, client: HttpClient) -> None:
    api.script.extend([err(503, {"error": "overloaded"})] * 3)
    with pytest.raises(ProviderError) as info:
        await client.request("GET", "/x")
    assert info.value.kind == "server" and info.value.status == 503 and info.value.retryable
    assert "overloaded" in info.value.message
    assert len(api.requests) == 3


async def test_retry_disabled(api: EchoAPI, client: HttpClient) -> None:
    api.script.append(err(500, {}))
    with pytest.raises(ProviderError):
        await client.request("GET", "/x", retry=False)
    assert len(api.requests) == 1


async def test_429_retry_after_seconds_honoured(api: EchoAPI, client: HttpClient) -> None:
    api.script.append(
        err(429, openai_error("rate_limit_exceeded", "slow down"), **{"Retry-After": "1"})
    )
    start = time.monotonic()
    await client.request("GET", "/x")
    assert time.monotonic() - start >= 0.95
    assert api.requests[1].at - api.requests[0].at >= 0.95


async def test_retry_after_ms_wins_over_retry_after(api: EchoAPI, client: HttpClient) -> None:
    api.script.append(
        err(
            429,
            openai_error("rate_limit_exceeded", "x"),
            **{"retry-after-ms": "300", "Retry-After": "30"},
        )
    )
    start = time.monotonic()
    await client.request("GET", "/x")
    elapsed = time.monotonic() - start
    assert 0.28 <= elapsed < 5


async def test_retry_after_http_date(api: EchoAPI, client: HttpClient) -> None:
    when = email.utils.formatdate(time.time() + 2, usegmt=True)  # whole seconds: waits 1–2 s
    api.script.append(err(503, {}, **{"Retry-After": when}))
    start = time.monotonic()
    await client.request("GET", "/x")
    assert 0.9 <= time.monotonic() - start < 5


async def test_retry_after_above_cap_is_not_retried(api: EchoAPI, client: HttpClient) -> None:
    api.script.append(
        err(429, openai_error("rate_limit_exceeded", "later"), **{"Retry-After": "120"})
    )
    with pytest.raises(ProviderError) as info:
        await client.request("GET", "/x")
    assert info.value.kind == "rate_limited" and info.value.retry_after == 120
    assert len(api.requests) == 1


async def test_insufficient_quota_is_not_retried(api: EchoAPI, client: HttpClient) -> None:
    body = openai_error(
        "insufficient_quota", "You exceeded your current quota", "insufficient_quota"
    )
    api.script.append(err(429, body))
    with pytest.raises(ProviderError) as info:
        await client.request("POST", "/x", json={})
    assert info.value.kind == "quota"
    assert len(api.requests) == 1


async def test_a_retry_hint_reads_the_wait_from_the_body(api: EchoAPI) -> None:
    """A provider's ``retry_hint`` (Google's RetryInfo) takes the place of Retry-After: its
    wait is honoured even when the wording says "quota", above the cap means no retry, and
    ``None`` leaves it to the headers."""

    def hint(failure: HttpFailure) -> float | None:
        wait = failure.json.get("wait") if isinstance(failure.json, dict) else None
        return float(wait) if wait is not None else None

    c = HttpClient("Hinted", settings(api.url, retry_after_cap=10.0), retry_hint=hint)
    quota = "You exceeded your current quota, please check your plan and billing details."
    try:
        api.script.append(err(429, {"error": {"message": quota}, "wait": 0.4}))
        start = time.monotonic()
        await c.request("GET", "/x")
        assert len(api.requests) == 2 and 0.38 <= time.monotonic() - start < 5
        api.script.append(err(429, {"error": {"message": quota}, "wait": float("inf")}))
        with pytest.raises(ProviderError) as info:
            await c.request("GET", "/x")
        assert info.value.kind == "quota" and len(api.requests) == 3
        api.script.append(err(429, {"error": {"message": quota}}))  # no hint: the wording rules
        with pytest.raises(ProviderError):
            await c.request("GET", "/x")
        assert len(api.requests) == 4
        api.script.append(err(503, {"error": {"message": "busy"}}, **{"Retry-After": "0.3"}))
        start = time.monotonic()
        await c.request("GET", "/x")
        assert len(api.requests) == 6 and 0.28 <= time.monotonic() - start < 5
        api.script.append(err(400, {"error": {"message": "bad"}, "wait": 0.1}))
        with pytest.raises(ProviderError):  # a hint never makes a 400 retryable
            await c.request("GET", "/x")
        assert len(api.requests) == 7
    finally:
        await c.aclose()


@pytest.mark.parametrize(
    ("status", "kind"),
    [(400, "bad_request"), (401, "auth"), (403, "auth"), (404, "not_found"), (422, "bad_request")],
)
async def test_client_errors_are_not_retried(
    api: EchoAPI, client: HttpClient, status: int, kind: str
) -> None:
    api.script.append(err(status, openai_error("whatever", f"status {status} said so")))
    with pytest.raises(ProviderError) as info:
        await client.request("POST", "/x", json={})
    assert info.value.kind == kind and info.value.status == status
    assert f"status {status} said so" in info.value.message
    assert len(api.requests) == 1


async def test_x_should_retry_header_overrides(api: EchoAPI, client: HttpClient) -> None:
    api.script.append(err(503, {}, **{"x-should-retry": "false"}))
    with pytest.raises(ProviderError):
        await client.request("GET", "/x")
    assert len(api.requests) == 1
    api.script.append(err(418, {}, **{"x-should-retry": "true"}))
    await client.request("GET", "/x")
    assert len(api.requests) == 3
    api.script.append(err(400, {}, **{"x-should-retry": "true"}))  # never a 400
    with pytest.raises(ProviderError):
        await client.request("GET", "/x")
    assert len(api.requests) == 4


async def test_accept_returns_non_2xx(api: EchoAPI, client: HttpClient) -> None:
    api.script.append(err(400, {"status": "FAILED", "error": "nope"}))
    result = await client.request("POST", "/x", json={}, accept=lambda s: s == 400)
    assert result.status == 400 and result.json()["status"] == "FAILED"
    assert len(api.requests) == 1


async def test_error_mapper_gets_redacted_failure(api: EchoAPI) -> None:
    seen: list[HttpFailure] = []

    def mapper(failure: HttpFailure) -> ProviderError | None:
        seen.append(failure)
        if failure.code == "special":
            return ProviderError("refused", f"mapped: {failure.text}")
        return None

    c = HttpClient(
        "M", settings(api.url), headers={"Authorization": f"Bearer {KEY}"}, error_mapper=mapper
    )
    api.script.append(err(400, openai_error("special", "no way")))
    with pytest.raises(ProviderError) as info:
        await c.request("POST", "/x", json={})
    assert info.value.kind == "refused" and info.value.message == "mapped: no way"
    assert info.value.status == 400
    with pytest.raises(ProviderError) as info:  # the mapper returns None: generic mapping
        await c.request("GET", "/echo-auth")
    assert info.value.kind == "auth"
    assert KEY not in repr(seen[-1]) and "***" in seen[-1].text
    await c.aclose()


# -- transport failures ---------------------------------------------------------------------------


async def test_connection_refused_is_unreachable_after_retries() -> None:
    port = free_port()
    c = HttpClient("Nobody", settings(f"http://127.0.0.1:{port}"))
    start = time.monotonic()
    with pytest.raises(ProviderError) as info:
        await c.request("GET", "/x")
    assert info.value.kind == "unreachable" and info.value.status is None
    assert f"cannot connect to 127.0.0.1:{port}" in info.value.message
    assert "Nobody" in info.value.hint
    assert time.monotonic() - start < 2
    await c.aclose()


async def test_read_timeout(api: EchoAPI) -> None:
    c = HttpClient("Slow", settings(api.url, read_timeout=0.2, max_retries=1))
    api.script.extend([Reply(200, b"{}", delay=5.0)] * 2)
    start = time.monotonic()
    with pytest.raises(ProviderError) as info:
        await c.request("GET", "/x")
    assert info.value.kind == "timeout"
    assert len(api.requests) == 2
    # two 0.2 s timeouts, not two 5 s delays (room for a loaded machine on both sides)
    assert time.monotonic() - start < 4
    await c.aclose()


async def test_per_call_read_timeout(api: EchoAPI, client: HttpClient) -> None:
    api.script.append(Reply(200, b"{}", delay=0.6))
    with pytest.raises(ProviderError) as info:
        await client.request("GET", "/x", read_timeout=0.1, retry=False)
    assert info.value.kind == "timeout"


async def test_dropped_connection_is_retried(api: EchoAPI, client: HttpClient) -> None:
    body = b'{"path": "' + b"x" * 5000 + b'"}'
    api.script.append(Reply(200, body, {"Content-Type": "application/json"}, drop_after=100))
    assert len((await client.json("GET", "/x"))["path"]) == len("/v1/x")
    assert len(api.requests) == 2


async def test_dropped_connection_every_time(api: EchoAPI, client: HttpClient) -> None:
    api.script.extend([Reply(200, b"0123456789" * 100, drop_after=10)] * 3)
    with pytest.raises(ProviderError) as info:
        await client.request("GET", "/x")
    assert info.value.kind == "server" and "broke" in info.value.message
    assert len(api.requests) == 3


# -- bodies ---------------------------------------------------------------------------------------


async def test_html_instead_of_json(api: EchoAPI, client: HttpClient) -> None:
    page = "<!DOCTYPE html><html><head><title>Sign in</title></head><body>login</body></html>"
    api.script.append(Reply(200, page, {"Content-Type": "text/html"}))
    result = await client.request("GET", "/x")
    with pytest.raises(ProviderError) as info:
        result.json()
    assert info.value.kind == "bad_response" and "HTML page" in info.value.message


async def test_html_error_page_message(api: EchoAPI, client: HttpClient) -> None:
    page = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    api.script.extend([Reply(502, page, {"Content-Type": "text/html"})] * 3)
    with pytest.raises(ProviderError) as info:
        await client.request("GET", "/x")
    assert info.value.kind == "server" and "502 Bad Gateway" in info.value.message


async def test_body_over_cap(api: EchoAPI) -> None:
    c = HttpClient("Big", settings(api.url, max_bytes=1000))
    api.script.append(Reply(200, b"x" * 5000))
    with pytest.raises(ProviderError) as info:
        await c.request("GET", "/x")
    assert info.value.kind == "bad_response" and "larger than" in info.value.message
    assert len(api.requests) == 1
    await c.aclose()


async def _raw_server(handler: Any) -> tuple[asyncio.Server, int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"\r\n\r\n")


async def test_chunked_body_over_cap_is_cut_off() -> None:
    """No Content-Length: the cap must hold while streaming, not after reading everything."""
    sent = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal sent
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        try:
            for _ in range(200):  # would be 12.8 MB
                writer.write(b"10000\r\n" + b"y" * 0x10000 + b"\r\n")
                await writer.drain()
                sent += 1
        except (ConnectionError, OSError):
            pass
        writer.close()

    server, port = await _raw_server(handler)
    c = HttpClient("Chunky", settings(f"http://127.0.0.1:{port}", max_bytes=200_000))
    with pytest.raises(ProviderError) as info:
        await c.request("GET", "/x")
    assert info.value.kind == "bad_response"
    await c.aclose()
    server.close()
    await server.wait_closed()
    assert sent < 200


# -- cancellation ---------------------------------------------------------------------------------


async def test_cancellation_reaches_the_server() -> None:
    """Cancelling the caller closes the socket: the server sees EOF at once."""
    got_request = asyncio.Event()
    closed_at: list[float] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        got_request.set()
        while await reader.read(65536):  # the body, then EOF when the client hangs up
            pass
        closed_at.append(time.monotonic())
        writer.close()

    server, port = await _raw_server(handler)
    c = HttpClient("Hang", settings(f"http://127.0.0.1:{port}", read_timeout=30))
    task = asyncio.create_task(c.request("POST", "/generate", json={"prompt": "x"}))
    await asyncio.wait_for(got_request.wait(), 5)
    cancelled_at = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - cancelled_at < 5  # not the 30 s read timeout
    for _ in range(500):
        if closed_at:
            break
        await asyncio.sleep(0.01)
    assert closed_at and closed_at[0] - cancelled_at < 5
    await c.aclose()
    server.close()
    await server.wait_closed()


class _LogSeen(logging.Handler):
    """Sets ``seen`` when a record containing ``text`` is logged (from the event loop)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
        self.seen = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.seen.set()


async def test_cancellation_interrupts_backoff(api: EchoAPI) -> None:
    c = HttpClient("Wait", settings(api.url))
    api.script.append(err(429, {}, **{"Retry-After": "30"}))
    backing_off = _LogSeen("retry 1/")  # logged just before the client's backoff sleep
    logging.getLogger("telestrations").addHandler(backing_off)
    try:
        task = asyncio.create_task(c.request("GET", "/x"))
        await asyncio.wait_for(backing_off.seen.wait(), 5)  # the client now waits 30 s
    finally:
        logging.getLogger("telestrations").removeHandler(backing_off)
    assert len(api.requests) == 1 and not task.done()
    start = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - start < 5  # not the 30 s backoff
    assert len(api.requests) == 1
    await c.aclose()


# -- secrets --------------------------------------------------------------------------------------


async def test_key_never_in_errors_or_logs(api: EchoAPI, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    c = HttpClient("Leaky", settings(api.url), headers={"Authorization": f"Bearer {KEY}"})
    errors: list[ProviderError] = []
    with pytest.raises(ProviderError) as info:
        await c.request("GET", "/echo-auth")
    errors.append(info.value)
    # The same echo as a retried 500, and in a 200 body read as not-JSON.
    api.script.extend(
        [lambda r: Reply(500, f"oops {r.header('Authorization')}")] * 3
        + [lambda r: Reply(200, f"<html>{r.header('Authorization')}</html>")]
    )
    with pytest.raises(ProviderError) as info:
        await c.request("GET", "/x")
    errors.append(info.value)
    with pytest.raises(ProviderError) as info:
        (await c.request("GET", "/x")).json()
    errors.append(info.value)
    # A key in the URL (some proxies take ?key=) stays out of logs too.
    c2 = HttpClient("Q", settings(f"http://127.0.0.1:{free_port()}"), secrets=[KEY])
    with pytest.raises(ProviderError) as info:
        await c2.request("GET", f"/x?key={KEY}")
    errors.append(info.value)
    for e in errors:
        for text in (str(e), e.message, e.hint, repr(e.args)):
            assert KEY not in text
            assert "SECRETsecret" not in text
    assert errors[0].message.endswith("bad header ***")
    assert caplog.records, "expected debug/warning logs"
    for record in caplog.records:
        assert KEY not in record.getMessage()
        assert "SECRETsecret" not in record.getMessage()
    await c.aclose()
    await c2.aclose()


async def test_basic_auth_password_redacted(api: EchoAPI) -> None:
    c = HttpClient("Basic", settings(api.url), auth=("user", "hunter2pass"))
    with pytest.raises(ProviderError) as info:
        await c.request("GET", "/echo-auth")  # echoes "Basic dXNlcjpodW50ZXIycGFzcw=="
    assert "dXNlcjpodW50ZXIycGFzcw" not in str(info.value)
    assert api.requests[0].header("Authorization") == "Basic dXNlcjpodW50ZXIycGFzcw=="
    await c.aclose()


# -- downloads ------------------------------------------------------------------------------------


async def test_download_sends_no_key_to_foreign_hosts(api: EchoAPI, client: HttpClient) -> None:
    blob = FakeAPI()
    blob.handle = lambda req: Reply(200, b"\x89PNG\r\n\x1a\nfake")  # type: ignore[method-assign]
    blob.start()
    try:
        data = await client.download(blob.url + "/img.png?sig=abc")
        assert data == b"\x89PNG\r\n\x1a\nfake"
        assert blob.requests[0].header("Authorization") is None
        await client.download(api.url + "/generated/img.png")  # same origin as the API
        assert api.requests[-1].header("Authorization") == f"Bearer {KEY}"
        blob.script.append(Reply(403, "<Error>AuthenticationFailed</Error>"))
        with pytest.raises(ProviderError) as info:
            await client.download(blob.url + "/expired.png")
        assert info.value.kind == "bad_response" and "expire" in info.value.hint
        with pytest.raises(ProviderError):
            await client.download("file:///etc/passwd")
    finally:
        blob.stop()


# -- error shapes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"error": {"message": "m1", "type": "t", "param": None, "code": "c"}}, "m1"),
        ({"error": "model 'x' not found"}, "model 'x' not found"),
        ({"object": "error", "message": "vllm says", "type": "x", "code": 400}, "vllm says"),
        ({"error": {"code": 400, "message": "llama.cpp says", "type": "x"}}, "llama.cpp says"),
        (
            {"error": "OutOfMemoryError", "detail": "CUDA out of memory", "body": "", "errors": ""},
            "OutOfMemoryError: CUDA out of memory",
        ),
        (
            {"detail": [{"loc": ["body", "steps"], "msg": "value is not a valid integer"}]},
            "steps: value is not a valid integer",
        ),
        ({"status": "FAILED", "error": '{"error_message": "worker blew up"}'}, "worker blew up"),
        ({"status": "FAILED", "error": "plain failure"}, "plain failure"),
        ({"detail": "Not Found"}, "Not Found"),
        ({}, ""),
        ([], ""),
        (None, ""),
    ],
)
def test_error_message_shapes(body: Any, message: str) -> None:
    assert error_message(body) == message


@pytest.mark.parametrize(
    ("host", "local"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("gpu-box", True),
        ("192.168.1.20", True),
        ("[::1]", True),
        ("sd.lan", True),
        ("api.runpod.ai", False),
        ("api.openai.com", False),
        ("2606:4700::6810:84e5", False),
    ],
)
def test_local_servers_get_is_it_running_cloud_gets_check_the_network(
    host: str, local: bool
) -> None:
    from telestrations.providers.http.errors import _is_local

    assert _is_local(host) is local


# -- auth headers and error tables ----------------------------------------------------------------


async def test_one_auth_builder_for_every_scheme(api: EchoAPI) -> None:
    """Bearer, Basic (a user, or user:password in the URL) and a custom header (the Gemini
    style): each is what the server receives, and each value is redacted from errors."""
    from telestrations.providers.http import auth_headers

    assert auth_headers("") == {}
    assert auth_headers(KEY) == {"Authorization": f"Bearer {KEY}"}
    assert auth_headers("pw", user="me") == {"Authorization": "Basic bWU6cHc="}
    assert auth_headers("", base_url="http://me:pw@host:1") == {"Authorization": "Basic bWU6cHc="}
    custom = auth_headers(KEY, scheme="header", header="x-goog-api-key")
    assert custom == {"x-goog-api-key": KEY}
    c = HttpClient("Echo", settings(api.url), headers=custom)
    try:
        api.script.append(lambda r: json_reply(401, {"error": {"message": f"bad {KEY}"}}))
        with pytest.raises(ProviderError) as err:
            await c.request("GET", "/models")
    finally:
        await c.aclose()
    assert api.requests[-1].header("x-goog-api-key") == KEY
    assert KEY not in str(err.value) and err.value.kind == "auth"


def test_error_rules_match_status_codes_words_and_params() -> None:
    import httpx

    from telestrations.providers.http import ErrorRule, HttpFailure, rejects_field, translate

    def failure(status: int, error: dict[str, Any]) -> HttpFailure:
        body = {"error": error}
        return HttpFailure(status, httpx.Headers(), b"", body, str(error.get("message", "")))

    rules = (
        ErrorRule("quota", status=frozenset({429}), codes=frozenset({"insufficient_quota"})),
        ErrorRule("not_found", status=frozenset({404}), words=("model",), message="gone: {said}"),
        ErrorRule("bad_request", status=frozenset({400}), param="response_format"),
    )
    quota = translate(failure(429, {"type": "insufficient_quota", "message": "pay"}), rules)
    assert quota is not None and quota.kind == "quota" and quota.status == 429
    assert translate(failure(429, {"type": "rate_limit", "message": "slow"}), rules) is None
    gone = translate(failure(404, {"message": "The model x does not exist"}), rules)
    assert gone is not None and gone.message == "gone: The model x does not exist"
    param = translate(failure(400, {"param": "response_format", "message": "no"}), rules)
    assert param is not None and param.kind == "bad_request"
    google = (ErrorRule("auth", codes=frozenset({"API_KEY_INVALID"})),)
    bad_key = {
        "code": 400,
        "status": "INVALID_ARGUMENT",
        "message": "API key not valid.",
        "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}
        ],
    }
    assert (found := translate(failure(400, bad_key), google)) is not None and found.kind == "auth"
    canonical = (ErrorRule("quota", codes=frozenset({"RESOURCE_EXHAUSTED"})),)
    assert translate(failure(429, {"code": 429, "status": "RESOURCE_EXHAUSTED"}), canonical)
    assert translate(failure(400, {**bad_key, "details": "API_KEY_INVALID"}), google) is None
    refused = ProviderError("bad_request", "Unrecognized request argument: stream", status=400)
    assert rejects_field(refused, "stream")
    assert not rejects_field(refused, "max_tokens")
    assert not rejects_field(ProviderError("server", "unknown stream", status=500), "stream")


async def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    """The pool's idle check goes through our cached-socket streams (providers/http/pool.py):
    a keep-alive connection the server closed is dropped before the next request, which then
    succeeds at once on a new connection (no retries allowed here)."""
    from telestrations.providers.http.pool import _Backend, default_transport

    connections: list[int] = []
    requests = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal requests
        connections.append(1)
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"GET /ping ")
        requests += 1
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
        writer.write(b"Content-Length: 11\r\n\r\n" + b'{"ok": true}'[:11])
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.close()  # keep-alive was promised: the client finds out only by looking

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport = default_transport()
    assert isinstance(transport._pool._network_backend, _Backend)  # type: ignore[attr-defined]
    c = HttpClient("Closer", HttpSettings(base_url=f"http://127.0.0.1:{port}", max_retries=0))
    try:
        first = await c.request("GET", "/ping")
        await asyncio.sleep(0.2)  # the server has closed its end by now
        second = await c.request("GET", "/ping")
    finally:
        await c.aclose()
        await transport.aclose()
        server.close()
        await server.wait_closed()
    assert first.status == second.status == 200
    assert requests == 2 and len(connections) == 2
