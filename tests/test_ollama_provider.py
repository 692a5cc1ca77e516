"""The Ollama guesser against a protocol-faithful fake Ollama on 127.0.0.1 (real httpx stack)."""

from __future__ import annotations

import asyncio
import base64
import io
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from telestrations.providers.base import (
    Picture,
    ProviderContext,
    ProviderError,
    partial_captions,
)
from telestrations.providers.ollama import OllamaProvider, parse_reply
from tests.fakes.ollama_api import FakeModel, FakeOllama, go_base64_error
from tests.fakes.server import Reply, free_port, json_reply

SYSTEM = "You are playing a doodle guessing game"
PROMPT = "Describe what happens in this image in up to 10 words"


def picture(fmt: str = "PNG", size: tuple[int, int] = (64, 48)) -> Picture:
    buf = io.BytesIO()
    Image.new("RGB", size, (250, 20, 20)).save(buf, fmt)
    name = {"JPEG": "jpeg"}.get(fmt, fmt.lower())
    return Picture(buf.getvalue(), name, *size)


@pytest.fixture
def fake() -> Iterator[FakeOllama]:
    api = FakeOllama().start()
    yield api
    api.stop()


def make(
    url: str, settings: dict[str, Any] | None = None, key: str | None = None, **env: str
) -> OllamaProvider:
    return OllamaProvider(
        ProviderContext(
            settings={"host": url, **(settings or {})},
            get_key=lambda name: key if name == "ollama" else None,
            env=env,
        )
    )


@pytest.fixture
async def ollama(fake: FakeOllama) -> Any:
    p = make(fake.url)
    yield p
    await p.aclose()


def chats(fake: FakeOllama) -> list[Any]:
    return [r for r in fake.requests if r.path == "/api/chat"]


# -- describing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["llava", "bakllava", "moondream"])
async def test_the_originals_three_guessers_describe(
    fake: FakeOllama, ollama: OllamaProvider, name: str
) -> None:
    model = ollama.model(name, "guesser")
    assert model is not None and model.id == f"ollama:{name}"
    caption = await ollama.guesser(model).describe(picture(), SYSTEM, PROMPT)
    assert caption.text == "A doodle of a cat on a bicycle (64x48 png)"
    assert caption.cost is None
    assert caption.extras["model"] == f"{name}:latest"
    assert caption.extras["total_seconds"] == pytest.approx(2.938, abs=1e-3)
    assert caption.extras["eval_count"] == 10  # one per word in the fake
    assert fake.images[-1].format == "png"


async def test_request_body_is_exactly_the_native_chat_shape(
    fake: FakeOllama, ollama: OllamaProvider
) -> None:
    pic = picture()
    model = ollama.model("llava", "guesser")
    assert model is not None
    await ollama.guesser(model).describe(pic, SYSTEM, PROMPT)
    (req,) = chats(fake)
    body = req.json
    image = body["messages"][1]["images"][0]
    assert not image.startswith("data:")
    assert base64.b64decode(image, validate=True) == pic.data
    assert body == {
        "model": "llava",
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": PROMPT, "images": [image]},
        ],
        "stream": True,
        "keep_alive": "10m",
        "options": {"num_predict": 100},
    }
    assert req.header("Authorization") is None


async def test_streamed_caption_is_reported_word_by_word_as_it_arrives(
    fake: FakeOllama, ollama: OllamaProvider
) -> None:
    fake.token_delay = 0.02
    model = ollama.model("llava", "guesser")
    assert model is not None
    seen: list[tuple[float, str]] = []
    loop = asyncio.get_running_loop()
    with partial_captions(lambda text: seen.append((loop.time(), text))):
        caption = await ollama.guesser(model).describe(picture(), SYSTEM, PROMPT)
    done = loop.time()
    texts = [t for _, t in seen]
    assert len(texts) >= 5, texts
    assert all(b.startswith(a) and len(b) > len(a) for a, b in itertools.pairwise(texts))
    assert texts[0] == "A" and texts[-1] == caption.text
    # the first words were shown while the rest was still being generated
    assert done - seen[0][0] >= 0.1


async def test_no_partial_captions_when_streaming_is_off(fake: FakeOllama) -> None:
    ollama = make(fake.url, settings={"stream": False})
    try:
        model = ollama.model("llava", "guesser")
        assert model is not None
        seen: list[str] = []
        with partial_captions(seen.append):
            caption = await ollama.guesser(model).describe(picture(), SYSTEM, PROMPT)
    finally:
        await ollama.aclose()
    assert caption.text.startswith("A doodle") and seen == []
    assert chats(fake)[-1].json["stream"] is False


async def test_settings_and_model_options_shape_the_request(fake: FakeOllama) -> None:
    p = make(
        fake.url,
        {
            "temperature": 0.7,
            "keep_alive": "1h",
            "models": [
                {
                    "name": "moondream",
                    "kind": "guesser",
                    "options": {"num_predict": 30, "options": {"seed": 42}, "keep_alive": -1},
                }
            ],
        },
    )
    try:
        model = p.model("moondream", "guesser")
        assert model is not None
        await p.guesser(model).describe(picture(), SYSTEM, PROMPT)
        body = chats(fake)[-1].json
        assert body["keep_alive"] == -1
        assert body["options"] == {"seed": 42, "temperature": 0.7, "num_predict": 30}
    finally:
        await p.aclose()


async def test_any_pulled_model_name_is_accepted(fake: FakeOllama, ollama: OllamaProvider) -> None:
    model = ollama.model("llama3.2-vision:11b", "guesser")
    assert model is not None
    caption = await ollama.guesser(model).describe(picture(), SYSTEM, PROMPT)
    assert caption.text.endswith("(64x48 png)")
    assert ollama.model("llava", "drawer") is None


async def test_webp_is_sent_as_png(fake: FakeOllama, ollama: OllamaProvider) -> None:
    model = ollama.model("llava", "guesser")
    assert model is not None
    await ollama.guesser(model).describe(picture("WEBP"), SYSTEM, PROMPT)
    assert fake.images[-1].format == "png"
    assert (fake.images[-1].width, fake.images[-1].height) == (64, 48)


async def test_jpeg_is_sent_untouched(fake: FakeOllama, ollama: OllamaProvider) -> None:
    pic = picture("JPEG")
    model = ollama.model("llava", "guesser")
    assert model is not None
    await ollama.guesser(model).describe(pic, SYSTEM, PROMPT)
    sent = chats(fake)[-1].json["messages"][1]["images"][0]
    assert base64.b64decode(sent) == pic.data


async def test_no_system_message_when_system_is_empty(
    fake: FakeOllama, ollama: OllamaProvider
) -> None:
    model = ollama.model("llava", "guesser")
    assert model is not None
    await ollama.guesser(model).describe(picture(), "", PROMPT)
    assert [m["role"] for m in chats(fake)[-1].json["messages"]] == ["user"]


async def test_streamed_reply_is_assembled(fake: FakeOllama) -> None:
    p = make(fake.url, {"stream": True})
    try:
        model = p.model("llava", "guesser")
        assert model is not None
        caption = await p.guesser(model).describe(picture(), SYSTEM, PROMPT)
        assert chats(fake)[-1].json["stream"] is True
        assert caption.text == "A doodle of a cat on a bicycle (64x48 png)"
        assert caption.extras["done_reason"] == "stop"
    finally:
        await p.aclose()


async def test_empty_caption_is_a_bad_response(fake: FakeOllama, ollama: OllamaProvider) -> None:
    fake.models["llava:latest"].reply = lambda system, prompt, images: "   "
    model = ollama.model("llava", "guesser")
    assert model is not None
    with pytest.raises(ProviderError) as err:
        await ollama.guesser(model).describe(picture(), SYSTEM, PROMPT)
    assert err.value.kind == "bad_response"


# -- failures -----------------------------------------------------------------------------------


async def test_not_running_is_unreachable_with_ollama_serve_hint() -> None:
    p = make(f"127.0.0.1:{free_port()}", {"max_retries": 0})
    try:
        model = p.model("llava", "guesser")
        assert model is not None
        with pytest.raises(ProviderError) as err:
            await p.guesser(model).describe(picture(), SYSTEM, PROMPT)
        assert err.value.kind == "unreachable"
        assert err.value.message.startswith("Ollama is not running at http://127.0.0.1:")
        assert err.value.hint == "start it with `ollama serve`"
        avail = await p.check(model)
        assert not avail.ok and avail.kind == "unreachable"
        assert avail.hint == "start it with `ollama serve`"
    finally:
        await p.aclose()


async def test_model_not_pulled(fake: FakeOllama, ollama: OllamaProvider) -> None:
    model = ollama.model("llava:34b", "guesser")
    assert model is not None
    with pytest.raises(ProviderError) as err:
        await ollama.guesser(model).describe(picture(), SYSTEM, PROMPT)
    assert err.value.kind == "not_found"
    assert err.value.status == 404
    assert err.value.hint == "run `ollama pull llava:34b`"
    assert len(chats(fake)) == 1  # a 404 is not retried
    avail = await ollama.check(model)
    assert (avail.ok, avail.kind, avail.hint) == (False, "not_found", "run `ollama pull llava:34b`")


async def test_check_accepts_pulled_vision_models_and_rejects_text_only(
    ollama: OllamaProvider,
) -> None:
    for name in ("llava", "llava:latest", "moondream", "llama3.2-vision:11b"):
        model = ollama.model(name, "guesser")
        assert model is not None
        assert (await ollama.check(model)).ok, name
    text_only = ollama.model("llama3.2:3b", "guesser")
    assert text_only is not None
    avail = await ollama.check(text_only)
    assert not avail.ok
    assert avail.reason == "llama3.2:3b cannot see images"


async def test_error_object_inside_a_200_body(fake: FakeOllama, ollama: OllamaProvider) -> None:
    fake.script.append(
        json_reply(200, {"error": "an error was encountered while running the model"})
    )
    model = ollama.model("llava", "guesser")
    assert model is not None
    with pytest.raises(ProviderError) as err:
        await ollama.guesser(model).describe(picture(), SYSTEM, PROMPT)
    assert err.value.kind == "server"
    assert "an error was encountered while running the model" in err.value.message


async def test_error_line_midstream_with_http_200(fake: FakeOllama) -> None:
    fake.stream_error = "llama runner process has terminated: signal: killed"
    p = make(fake.url, {"stream": True})
    try:
        model = p.model("llava", "guesser")
        assert model is not None
        with pytest.raises(ProviderError) as err:
            await p.guesser(model).describe(picture(), SYSTEM, PROMPT)
        assert err.value.kind == "server"
        assert "signal: killed" in err.value.message
    finally:
        await p.aclose()


async def test_503_busy_then_success(fake: FakeOllama, ollama: OllamaProvider) -> None:
    fake.script.append(
        json_reply(
            503, {"error": "server busy, please try again.  maximum pending requests exceeded"}
        )
    )
    model = ollama.model("llava", "guesser")
    assert model is not None
    caption = await ollama.guesser(model).describe(picture(), SYSTEM, PROMPT)
    assert caption.text.startswith("A doodle")
    assert len(chats(fake)) == 2


async def test_524_from_the_pod_proxy_is_retried(fake: FakeOllama, ollama: OllamaProvider) -> None:
    fake.script.append(Reply(524, "<html>A timeout occurred</html>", {"Content-Type": "text/html"}))
    model = ollama.model("llava", "guesser")
    assert model is not None
    caption = await ollama.guesser(model).describe(picture(), SYSTEM, PROMPT)
    assert caption.text.startswith("A doodle")
    assert len(chats(fake)) == 2


async def test_persistent_524_explains_the_100_second_limit(fake: FakeOllama) -> None:
    for _ in range(2):
        fake.script.append(Reply(524, "<html>timeout</html>", {"Content-Type": "text/html"}))
    p = make(fake.url, {"max_retries": 1})
    try:
        model = p.model("llava", "guesser")
        assert model is not None
        with pytest.raises(ProviderError) as err:
            await p.guesser(model).describe(picture(), SYSTEM, PROMPT)
        assert err.value.kind == "timeout"
        assert "100 s" in err.value.hint
        assert len(chats(fake)) == 2
    finally:
        await p.aclose()


async def test_500_free_text_is_a_server_error(fake: FakeOllama) -> None:
    fake.script.append(json_reply(500, {"error": "model requires more system memory"}))
    p = make(fake.url, {"max_retries": 0})
    try:
        model = p.model("llava", "guesser")
        assert model is not None
        with pytest.raises(ProviderError) as err:
            await p.guesser(model).describe(picture(), SYSTEM, PROMPT)
        assert err.value.kind == "server"
        assert err.value.message == "Ollama: model requires more system memory"
    finally:
        await p.aclose()


async def test_bearer_key_for_a_proxied_ollama(fake: FakeOllama) -> None:
    fake.require_bearer = "proxy-secret-123"
    without = make(fake.url)
    with_key = make(fake.url, key="proxy-secret-123")
    try:
        model = without.model("llava", "guesser")
        assert model is not None
        with pytest.raises(ProviderError) as err:
            await without.guesser(model).describe(picture(), SYSTEM, PROMPT)
        assert err.value.kind == "auth"
        caption = await with_key.guesser(model).describe(picture(), SYSTEM, PROMPT)
        assert caption.text.startswith("A doodle")
        assert chats(fake)[-1].header("Authorization") == "Bearer proxy-secret-123"
    finally:
        await without.aclose()
        await with_key.aclose()


# -- discovery ----------------------------------------------------------------------------------


async def test_discovery_lists_vision_models_only(fake: FakeOllama, ollama: OllamaProvider) -> None:
    fake.models["old-vlm:7b"] = FakeModel(
        "old-vlm:7b", families=["llama", "clip"], capabilities=None, projector=False
    )
    fake.models["old-text:7b"] = FakeModel(
        "old-text:7b", families=["llama"], capabilities=None, projector=False
    )
    found = await ollama.discover()
    names = sorted(m.name for m in found)
    assert names == ["bakllava", "llama3.2-vision:11b", "llava", "moondream", "old-vlm:7b"]
    assert all(m.discovered and m.kind == "guesser" for m in found)
    shows = [r.json for r in fake.requests if r.path == "/api/show"]
    assert {"model": "llama3.2:3b"} in shows
    listed = {m.name for m in ollama.models()}
    assert "llama3.2-vision:11b" in listed and "old-vlm:7b" in listed
    assert "llama3.2:3b" not in listed


async def test_discovery_when_not_running_raises_unreachable() -> None:
    p = make(f"127.0.0.1:{free_port()}")
    try:
        with pytest.raises(ProviderError) as err:
            await p.discover()
        assert err.value.kind == "unreachable"
    finally:
        await p.aclose()


# -- the fake itself behaves like Ollama ----------------------------------------------------------


async def test_fake_rejects_data_uri_and_defaults_to_streaming(fake: FakeOllama) -> None:
    import httpx

    png = base64.b64encode(picture().data).decode()
    async with httpx.AsyncClient(base_url=fake.url) as client:
        r = await client.post("/api/chat", content=b"")
        assert (r.status_code, r.json()) == (400, {"error": "missing request body"})
        body = {
            "model": "llava",
            "messages": [
                {"role": "user", "content": "hi", "images": [f"data:image/png;base64,{png}"]}
            ],
        }
        r = await client.post("/api/chat", json=body)
        assert (r.status_code, r.json()) == (400, {"error": "illegal base64 data at input byte 4"})
        body["messages"][0]["images"] = [png]
        r = await client.post("/api/chat", json=body)
        assert r.headers["content-type"] == "application/x-ndjson"
        text, final = parse_reply(r.content)
        assert final["done"] is True and text.endswith("(64x48 png)")
        r = await client.post("/api/generate", json={"model": "nope", "prompt": "x"})
        assert r.json() == {"error": 'model "nope" not found, try pulling it first'}
        assert (await client.get("/")).text == "Ollama is running"


def test_go_base64_error_text() -> None:
    assert go_base64_error("aGVsbG8=") is None
    assert (
        go_base64_error("data:image/png;base64,aGVsbG8=") == "illegal base64 data at input byte 4"
    )
    assert go_base64_error("aGVsbG8") is not None


async def test_discovery_reads_capabilities_from_tags(
    fake: FakeOllama, ollama: OllamaProvider
) -> None:
    """Servers since v0.30 list capabilities in /api/tags (PROTOCOLS.md 8.7): no /api/show
    per model; an image model is a drawer current servers refuse, an embedder is neither."""
    fake.tag_capabilities = True
    fake.models["x/z-image-turbo:latest"] = FakeModel(
        "x/z-image-turbo:latest", capabilities=["image"], projector=False
    )
    fake.models["nomic-embed-text:latest"] = FakeModel(
        "nomic-embed-text:latest", capabilities=["embedding"], projector=False
    )
    found = await ollama.discover()
    assert not [r for r in fake.requests if r.path == "/api/show"]
    guessers = sorted(m.name for m in found if m.kind == "guesser")
    assert guessers == ["bakllava", "llama3.2-vision:11b", "llava", "moondream"]
    (drawer,) = [m for m in found if m.kind == "drawer"]
    assert drawer.name == "x/z-image-turbo"
    avail = ollama.availability(drawer)
    assert not avail.ok and "no longer generates images" in avail.reason
    with pytest.raises(ProviderError):
        ollama.drawer(drawer)
    assert "nomic-embed-text" not in {m.name for m in ollama.models()}
