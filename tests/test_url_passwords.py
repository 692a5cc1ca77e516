"""A password in a base URL (http://user:pass@host, basic auth behind a proxy) is a secret:
it never reaches an error, a hint, a log line or a model title, yet it is still sent."""

from __future__ import annotations

import base64
import logging

import pytest
from PIL import Image

from telestrations.providers.base import Picture, ProviderContext, ProviderError
from telestrations.providers.ollama import OllamaProvider
from telestrations.providers.openai import OpenAIProvider
from tests.fakes.ollama_api import FakeOllama
from tests.fakes.server import free_port

PASSWORD = "s3cret-pw-42"


def picture() -> Picture:
    import io

    buf = io.BytesIO()
    Image.new("RGB", (16, 16), "red").save(buf, "PNG")
    return Picture(buf.getvalue(), "png", 16, 16)


async def test_openai_compatible_url_password_stays_out_of_errors_and_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"http://bob:{PASSWORD}@127.0.0.1:{free_port()}/v1"
    p = OpenAIProvider(ProviderContext(settings={"base_url": url, "max_retries": 1}))
    model = p.model("gpt-4o-mini", "guesser")
    assert model is not None
    caplog.set_level(logging.DEBUG)
    try:
        with pytest.raises(ProviderError) as info:
            await p.guesser(model).describe(picture(), "s", "p")
    finally:
        await p.aclose()
    err = info.value
    shown = f"{err.message} {err.hint} {p.http.title} {caplog.text}"
    assert err.kind == "unreachable" and "127.0.0.1" in shown
    assert PASSWORD not in shown and "bob:" not in shown


async def test_ollama_host_with_basic_auth_is_used_but_never_shown() -> None:
    api = FakeOllama().start()
    try:
        host = api.url.replace("http://", f"http://alice:{PASSWORD}@")
        p = OllamaProvider(ProviderContext(settings={}, env={"OLLAMA_HOST": host}))
        model = p.model("llava", "guesser")
        assert model is not None
        try:
            caption = await p.guesser(model).describe(picture(), "s", "p")
            avail = await p.check(model)
        finally:
            await p.aclose()
        assert caption.text and avail.ok and PASSWORD not in avail.reason
        sent = api.requests[-1].header("Authorization") or ""
        assert base64.b64decode(sent.removeprefix("Basic ")).decode() == f"alice:{PASSWORD}"
    finally:
        api.stop()
    down = OllamaProvider(
        ProviderContext(settings={}, env={"OLLAMA_HOST": f"http://alice:{PASSWORD}@127.0.0.1:9"})
    )
    reason, hint = down.endpoint.not_running
    assert PASSWORD not in reason + hint and "127.0.0.1:9" in reason
