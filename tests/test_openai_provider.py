"""The OpenAI drawer and guesser against a protocol-faithful fake API on 127.0.0.1."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from PIL import Image

from telestrations.providers.base import (
    Drawer,
    Guesser,
    ModelInfo,
    Picture,
    ProviderContext,
    ProviderError,
)
from telestrations.providers.openai import PRESETS, OpenAIProvider, provider
from tests.fakes.openai_api import CHAT, DALLE, GPT_IMAGE, REFUSAL, FakeOpenAI
from tests.fakes.server import Reply, free_port, json_reply

KEY = "sk-fake-0123456789abcdefghij"
SYSTEM = "You are playing a doodle guessing game"
PROMPT = "Describe what happens in this image in up to 10 words"
TEXT = "Illustrate in black & white doodle style: a cat riding a bicycle"


def picture(fmt: str = "PNG", size: tuple[int, int] = (64, 48)) -> Picture:
    buf = io.BytesIO()
    Image.new("RGB", size, (250, 20, 20)).save(buf, fmt)
    return Picture(buf.getvalue(), {"JPEG": "jpeg"}.get(fmt, fmt.lower()), *size)


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    api = FakeOpenAI(key=KEY, models=GPT_IMAGE + DALLE + CHAT).start()
    yield api  # type: ignore[misc]
    api.stop()


def make(
    fake: FakeOpenAI,
    settings: dict[str, Any] | None = None,
    key: str | None = KEY,
    *,
    official: bool = True,
    **kw: Any,
) -> OpenAIProvider:
    table: dict[str, Any] = {"base_url": fake.url + "/v1", **(settings or {})}
    if official:
        table.setdefault("compatible", False)  # behave as against api.openai.com
    return provider(
        ProviderContext(
            settings=table,
            get_key=lambda name: key if name == "openai" else None,
            **kw,
        )
    )


class Models:
    """The engine's model lookup over one provider (``openai:NAME`` ids), for games in tests."""

    def __init__(self, p: OpenAIProvider) -> None:
        self.p = p

    def drawer(self, model_id: str) -> Drawer:
        info = self.p.model(model_id.split(":", 1)[1], "drawer")
        assert info is not None
        return self.p.drawer(info)

    def guesser(self, model_id: str) -> Guesser:
        info = self.p.model(model_id.split(":", 1)[1], "guesser")
        assert info is not None
        return self.p.guesser(info)


@pytest.fixture
async def openai(fake: FakeOpenAI) -> AsyncIterator[OpenAIProvider]:
    p = make(fake)
    yield p
    await p.aclose()


def posted(fake: FakeOpenAI, path: str) -> list[Any]:
    return [r.json for r in fake.requests if r.path == path]


def preset(name: str, kind: str) -> ModelInfo:
    return next(m for m in PRESETS if m.name == name and m.kind == kind)


DRAWERS = [m.name for m in PRESETS if m.kind == "drawer"]
GUESSERS = [m.name for m in PRESETS if m.kind == "guesser"]

EXPECTED_DRAW_BODY = {
    "gpt-image": {"size": "1024x1024", "quality": "low", "output_format": "png"},
    "dall-e-3": {
        "n": 1,
        "size": "1024x1024",
        "quality": "standard",
        "style": "vivid",
        "response_format": "b64_json",
    },
    "dall-e-2": {"n": 1, "size": "512x512", "response_format": "b64_json"},
}
_WORDS = len(TEXT.split())  # the fake's text tokens; it draws 272 image tokens
_PER_TOKEN = (_WORDS * 5.00 + 272 * 30.00) / 1e6  # PROTOCOLS.md 8.4 rates
EXPECTED_COST = {
    "gpt-image-2.6-flare": _PER_TOKEN,
    "gpt-image-2.6-sunburst": _PER_TOKEN,
    "gpt-image-2.5-flare": _PER_TOKEN,
    "gpt-image-2.5-sunburst": _PER_TOKEN,
    "gpt-image-2": _PER_TOKEN,
    "gpt-image-1.5": None,  # no published token rates in PROTOCOLS.md: unknown stays unknown
    "gpt-image-1.5-2025-12-16": None,
    "chatgpt-image-latest": None,
    "gpt-image-1-mini": (_WORDS * 2.00 + 272 * 8.00) / 1e6,  # by tokens, not the image table
    "gpt-image-1": 0.011,
    "dall-e-3": 0.040,
    "dall-e-2": 0.018,
}


# -- presets --------------------------------------------------------------------------------------


def test_presets_cover_todays_and_the_originals_models(fake: FakeOpenAI) -> None:
    assert {"gpt-image-1.5", "gpt-image-1-mini", "gpt-image-1", "dall-e-3", "dall-e-2"} <= set(
        DRAWERS
    )
    assert {"gpt-4-vision-preview", "gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini"} <= set(
        GUESSERS
    )
    assert preset("dall-e-3", "drawer").retired == "shut down 2026-05-12"
    assert preset("gpt-image-1", "drawer").retired == "shut down 2026-10-23"
    assert preset("gpt-4.1-mini", "guesser").shutdown == "2027-01-14"
    assert preset("gpt-5-mini", "guesser").successor == "openai:gpt-6.1-terra"
    assert preset("gpt-image-1.5", "drawer").successor == "openai:gpt-image-2.6-flare"
    assert {"gpt-image-2.6-flare", "gpt-image-2.5-sunburst", "gpt-image-2"} <= set(DRAWERS)
    assert {"gpt-6.1-terra", "gpt-6-luna", "gpt-6.1-sol"} <= set(GUESSERS)
    assert preset("gpt-5-mini", "guesser").price is None  # per call: unknown ahead of time
    assert set(EXPECTED_COST) == set(DRAWERS)


@pytest.mark.parametrize("name", DRAWERS)
async def test_every_preset_drawer(fake: FakeOpenAI, openai: OpenAIProvider, name: str) -> None:
    drawer = openai.drawer(openai.model(name, "drawer"))  # type: ignore[arg-type]
    pic = await drawer.draw(TEXT)
    family = "gpt-image" if name.startswith(("gpt-image", "chatgpt-image")) else name
    assert posted(fake, "/v1/images/generations") == [
        {"model": name, "prompt": TEXT, **EXPECTED_DRAW_BODY[family]}
    ]
    req = fake.requests[-1]
    assert req.header("Authorization") == f"Bearer {KEY}"
    assert req.header("Content-Type") == "application/json"
    side = 512 if name == "dall-e-2" else 1024
    assert (pic.format, pic.width, pic.height) == ("png", side, side)
    with Image.open(io.BytesIO(pic.data)) as im:
        assert im.getpixel((side // 2, side // 2)) != (255, 255, 255)  # the drawn circle
    assert pic.cost == pytest.approx(EXPECTED_COST[name])
    assert pic.extras["model"] == name
    if name == "dall-e-3":
        assert pic.extras["revised_prompt"] == f"A vivid illustration: {TEXT}"
    if family == "gpt-image":
        assert pic.extras["usage"]["output_tokens"] == 272
        assert (pic.extras["size"], pic.extras["quality"]) == ("1024x1024", "low")


@pytest.mark.parametrize("name", GUESSERS)
async def test_every_preset_guesser(fake: FakeOpenAI, openai: OpenAIProvider, name: str) -> None:
    guesser = openai.guesser(openai.model(name, "guesser"))  # type: ignore[arg-type]
    pic = picture()
    caption = await guesser.describe(pic, SYSTEM, PROMPT)
    body = posted(fake, "/v1/chat/completions")[0]
    image_url = body["messages"][1]["content"][1]["image_url"]
    assert image_url["url"].startswith("data:image/png;base64,")
    expected: dict[str, Any] = {
        "model": name,
        "messages": [
            {"role": "system", "content": SYSTEM},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": PROMPT},
                    {"type": "image_url", "image_url": {"url": image_url["url"], "detail": "low"}},
                ],
            },
        ],
        "stream": True,  # the caption streams in word by word
        "stream_options": {"include_usage": True},  # else OpenAI's stream has no usage
    }
    if name.startswith("gpt-5"):
        expected.update(max_completion_tokens=400, reasoning_effort="minimal")
    elif name.startswith("gpt-6"):  # reasoning models: headroom for the reasoning tokens
        expected["max_completion_tokens"] = 2000
    elif name == "gpt-4-vision-preview":
        expected["max_tokens"] = 60
    else:
        expected["max_completion_tokens"] = 60
    assert body == expected
    assert caption.text == "A 64x48 png drawing of a purple circle"
    assert fake.seen_images[-1].detail == "low"
    usage = caption.extras["usage"]
    assert caption.extras["finish_reason"] == "stop"
    prices = {
        "gpt-4-vision-preview": (10.0, 30.0),
        "gpt-4o": (2.5, 10.0),
        "gpt-4o-mini": (0.15, 0.6),
        "gpt-4.1": (2.0, 8.0),
        "gpt-4.1-mini": (0.4, 1.6),
        "gpt-5-mini": (0.25, 2.0),
        "gpt-6.1-terra": (1.0, 5.0),  # PROTOCOLS.md 8.6
        "gpt-6-luna": (0.10, 0.50),
        "gpt-6.1-sol": (2.0, 10.0),
    }.get(name)
    if prices is None:  # gpt-5 and gpt-5-nano: no rate in our table, so no cost is guessed
        assert caption.cost is None
        return
    expected_cost = (
        usage["prompt_tokens"] * prices[0] + usage["completion_tokens"] * prices[1]
    ) / 1e6
    assert caption.cost == pytest.approx(expected_cost)
    assert caption.cost > 0


async def test_jpeg_and_gif_pictures(fake: FakeOpenAI, openai: OpenAIProvider) -> None:
    guesser = openai.guesser(openai.model("gpt-4o-mini", "guesser"))  # type: ignore[arg-type]
    assert (await guesser.describe(picture("JPEG"), SYSTEM, PROMPT)).text.startswith("A 64x48 jpeg")
    assert (await guesser.describe(picture("GIF"), SYSTEM, PROMPT)).text.startswith("A 64x48 png")


# -- request shapes for other models and servers ------------------------------------------------


async def test_dall_e_3_options(fake: FakeOpenAI) -> None:
    settings = {
        "models": [
            {
                "name": "dall-e-3",
                "kind": "drawer",
                "options": {"size": "1792x1024", "quality": "hd", "style": "natural"},
            }
        ]
    }
    p = make(fake, settings)
    pic = await p.drawer(p.model("dall-e-3", "drawer")).draw(TEXT)  # type: ignore[arg-type]
    assert posted(fake, "/v1/images/generations")[0] == {
        "model": "dall-e-3",
        "prompt": TEXT,
        "n": 1,
        "size": "1792x1024",
        "quality": "hd",
        "style": "natural",
        "response_format": "b64_json",
    }
    assert (pic.width, pic.height, pic.cost) == (1792, 1024, 0.12)
    await p.aclose()


async def test_price_override_wins(fake: FakeOpenAI) -> None:
    p = make(fake, prices={"openai:gpt-image-1-mini": 0.5})
    pic = await p.drawer(p.model("gpt-image-1-mini", "drawer")).draw(TEXT)  # type: ignore[arg-type]
    assert pic.cost == 0.5
    await p.aclose()


async def test_gpt_image_jpeg_output(fake: FakeOpenAI) -> None:
    opts = {"output_format": "jpeg", "size": "1536x1024", "quality": "medium"}
    p = make(fake, {"models": [{"name": "gpt-image-1-mini", "kind": "drawer", "options": opts}]})
    pic = await p.drawer(p.model("gpt-image-1-mini", "drawer")).draw(TEXT)  # type: ignore[arg-type]
    assert (pic.format, pic.width, pic.height) == ("jpeg", 1536, 1024)
    assert pic.cost == pytest.approx((len(TEXT.split()) * 2.0 + 272 * 8.0) / 1e6)  # by usage
    await p.aclose()


async def test_unknown_model_on_openai_uses_gpt_image_shape(fake: FakeOpenAI) -> None:
    p = make(fake)
    model = p.model("chatgpt-image-latest", "drawer")
    assert model is not None
    pic = await p.drawer(model).draw(TEXT)
    assert "response_format" not in posted(fake, "/v1/images/generations")[0]
    assert pic.cost is None  # unknown price: never 0
    await p.aclose()


async def test_prompt_cut_to_the_models_limit(fake: FakeOpenAI, openai: OpenAIProvider) -> None:
    long = "a cat " * 400  # 2400 characters; dall-e-2 takes 1000
    pic = await openai.drawer(preset("dall-e-2", "drawer")).draw(long)
    assert len(posted(fake, "/v1/images/generations")[0]["prompt"]) == 1000
    assert pic.extras["prompt_truncated"] is True


async def test_compatible_server_without_key_localai_urls() -> None:
    """LocalAI-like: no key, answers with a URL on itself despite response_format."""
    fake = FakeOpenAI(key=None, models=("stablediffusion", "llava"), compat=True)
    fake.ignore_response_format = True
    fake.start()
    try:
        p = make(fake, key=None, official=False)
        model = p.model("stablediffusion", "drawer")
        assert model is not None and p.availability(model).ok
        pic = await p.drawer(model).draw(TEXT)
        assert posted(fake, "/v1/images/generations")[0] == {
            "model": "stablediffusion",
            "prompt": TEXT,
            "n": 1,
            "response_format": "b64_json",
        }
        downloads = [r for r in fake.requests if r.path.startswith("/files/")]
        assert len(downloads) == 1 and pic.format == "png" and pic.width == 1024
        assert fake.requests[0].header("Authorization") is None
        caption = await p.guesser(p.model("llava", "guesser")).describe(picture(), "", PROMPT)  # type: ignore[arg-type]
        body = posted(fake, "/v1/chat/completions")[0]
        assert body["max_tokens"] == 60 and "max_completion_tokens" not in body
        assert body["stream"] is True and "stream_options" not in body  # old servers reject it
        assert [m["role"] for m in body["messages"]] == ["user"]  # empty system: left out
        assert caption.text.startswith("A 64x48 png") and caption.cost is None
        await p.aclose()
    finally:
        fake.stop()


async def test_compatible_server_rejecting_response_format() -> None:
    fake = FakeOpenAI(key=None, models=("flux-dev",), reject_response_format=True).start()
    try:
        p = make(fake, key=None, official=False)
        drawer = p.drawer(p.model("flux-dev", "drawer"))  # type: ignore[arg-type]
        await drawer.draw(TEXT)
        await drawer.draw(TEXT)  # remembered: asked once without the field
        bodies = posted(fake, "/v1/images/generations")
        assert ["response_format" in b for b in bodies] == [True, False, False]
        await p.aclose()
    finally:
        fake.stop()


async def test_token_field_fallback_both_ways(fake: FakeOpenAI) -> None:
    # Forced max_tokens against a reasoning model: rejected, asked again with the new field.
    p = make(fake, {"token_field": "max_tokens"})
    guesser = p.guesser(p.model("gpt-5-mini", "guesser"))  # type: ignore[arg-type]
    caption = await guesser.describe(picture(), SYSTEM, PROMPT)
    bodies = posted(fake, "/v1/chat/completions")
    assert [("max_tokens" in b, "max_completion_tokens" in b) for b in bodies] == [
        (True, False),
        (False, True),
    ]
    assert caption.text
    await guesser.describe(picture(), SYSTEM, PROMPT)
    assert len(posted(fake, "/v1/chat/completions")) == 3  # remembered
    await p.aclose()
    # An older compatible server that does not know max_completion_tokens.
    old = FakeOpenAI(key=None, models=("llava",), compat=True).start()
    try:
        p = make(old, {"token_field": "max_completion_tokens"}, key=None, official=False)
        guesser = p.guesser(p.model("llava", "guesser"))  # type: ignore[arg-type]
        assert (await guesser.describe(picture(), SYSTEM, PROMPT)).text
        bodies = posted(old, "/v1/chat/completions")
        assert [b.get("max_tokens") for b in bodies] == [None, 60]
        await p.aclose()
    finally:
        old.stop()


async def test_legacy_vision_preview_truncates_without_max_tokens(fake: FakeOpenAI) -> None:
    opts = {"max_tokens": 0}
    p = make(
        fake, {"models": [{"name": "gpt-4-vision-preview", "kind": "guesser", "options": opts}]}
    )
    guesser = p.guesser(p.model("gpt-4-vision-preview", "guesser"))  # type: ignore[arg-type]
    caption = await guesser.describe(picture(), SYSTEM, PROMPT)
    body = posted(fake, "/v1/chat/completions")[0]
    assert "max_tokens" not in body and "max_completion_tokens" not in body
    assert caption.extras["finish_reason"] == "stop"  # 10 words fit in its 16-token default
    await p.aclose()


async def test_reasoning_budget_exhausted(fake: FakeOpenAI) -> None:
    opts = {"max_tokens": 30, "reasoning_effort": "low"}
    p = make(fake, {"models": [{"name": "gpt-5-mini", "kind": "guesser", "options": opts}]})
    guesser = p.guesser(p.model("gpt-5-mini", "guesser"))  # type: ignore[arg-type]
    with pytest.raises(ProviderError) as info:
        await guesser.describe(picture(), SYSTEM, PROMPT)
    assert info.value.kind == "bad_response" and "max_tokens" in info.value.hint
    await p.aclose()


async def test_organization_and_project_headers(fake: FakeOpenAI) -> None:
    p = make(fake, {"organization": "org-abc", "project": "proj_xyz"})
    await p.drawer(preset("gpt-image-1-mini", "drawer")).draw(TEXT)
    req = fake.requests[-1]
    assert (req.header("OpenAI-Organization"), req.header("OpenAI-Project")) == (
        "org-abc",
        "proj_xyz",
    )
    await p.aclose()


async def test_env_base_url_wins(fake: FakeOpenAI) -> None:
    p = make(
        fake, {"base_url": "http://127.0.0.1:1/v1"}, env={"OPENAI_BASE_URL": fake.url + "/v1/"}
    )
    assert p.base_url == fake.url + "/v1"
    await p.drawer(preset("gpt-image-1-mini", "drawer")).draw(TEXT)
    assert fake.requests[-1].path == "/v1/images/generations"
    await p.aclose()


# -- availability and checks ----------------------------------------------------------------------


def test_no_key_for_api_openai_com() -> None:
    p = provider(ProviderContext())
    assert p.base_url == "https://api.openai.com/v1" and p.official
    avail = p.availability(preset("gpt-image-1-mini", "drawer"))
    assert not avail.ok and avail.reason == "no OpenAI key" and avail.kind == "auth"
    assert "telestrations keys set openai" in avail.hint
    with pytest.raises(ProviderError) as info:
        p.drawer(preset("gpt-image-1-mini", "drawer"))
    assert info.value.kind == "auth"
    local = provider(ProviderContext(settings={"base_url": "http://127.0.0.1:8080/v1"}))
    assert local.availability(preset("gpt-4o", "guesser")).ok


async def test_check_lists_models(fake: FakeOpenAI, openai: OpenAIProvider) -> None:
    assert (await openai.check(preset("gpt-4o", "guesser"))).ok
    fake.models = GPT_IMAGE + CHAT  # DALL·E shut down
    avail = await openai.check(preset("dall-e-3", "drawer"))  # missing from the list: a warning
    assert avail.ok and avail.warning and "does not show it" in avail.reason
    assert "retired or not available to this key" in avail.hint
    bad_key = make(fake, key="sk-wrong-key-000000000000")
    avail = await bad_key.check(preset("gpt-4o", "guesser"))
    assert not avail.ok and avail.kind == "auth"
    await bad_key.aclose()
    nowhere = provider(ProviderContext(settings={"base_url": f"http://127.0.0.1:{free_port()}/v1"}))
    avail = await nowhere.check(preset("gpt-4o", "guesser"))
    assert not avail.ok and avail.kind == "unreachable"
    await nowhere.aclose()


# -- errors ---------------------------------------------------------------------------------------


async def test_wrong_key_is_auth(fake: FakeOpenAI, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "sk-wrong-SECRET-9876543210zz"
    p = make(fake, key=wrong)
    with pytest.raises(ProviderError) as info:
        await p.drawer(preset("gpt-image-1-mini", "drawer")).draw(TEXT)
    assert info.value.kind == "auth" and info.value.status == 401
    assert "telestrations keys set openai" in info.value.hint
    assert "Incorrect API key" in info.value.message
    assert len(fake.requests) == 1
    for text in [str(info.value), info.value.message, info.value.hint] + [
        r.getMessage() for r in caplog.records
    ]:
        assert wrong not in text and "SECRET" not in text
    await p.aclose()


async def test_rate_limit_retry_after_then_success(
    fake: FakeOpenAI, openai: OpenAIProvider
) -> None:
    body = {
        "error": {
            "message": "Rate limit reached for images per minute",
            "type": "requests",
            "param": None,
            "code": "rate_limit_exceeded",
        }
    }
    fake.script.append(json_reply(429, body, **{"Retry-After": "1"}))
    start = time.monotonic()
    pic = await openai.drawer(preset("gpt-image-1-mini", "drawer")).draw(TEXT)
    assert time.monotonic() - start >= 0.95 and pic.format == "png"
    assert len(posted(fake, "/v1/images/generations")) == 2


async def test_server_errors_twice_then_success(fake: FakeOpenAI) -> None:
    p = make(fake, {"max_retries": 2})  # default backoff: about 0.5 s, then 1 s
    body = {
        "error": {
            "message": "The server had an error",
            "type": "server_error",
            "param": None,
            "code": None,
        }
    }
    fake.script.extend([json_reply(500, body), json_reply(502, body)])
    caption = await p.guesser(preset("gpt-4o-mini", "guesser")).describe(picture(), SYSTEM, PROMPT)
    assert caption.text and len(posted(fake, "/v1/chat/completions")) == 3
    await p.aclose()


async def test_insufficient_quota_not_retried(fake: FakeOpenAI, openai: OpenAIProvider) -> None:
    body = {
        "error": {
            "message": "You exceeded your current quota, please check your plan and "
            "billing details.",
            "type": "insufficient_quota",
            "param": None,
            "code": "insufficient_quota",
        }
    }
    fake.script.append(json_reply(429, body))
    with pytest.raises(ProviderError) as info:
        await openai.drawer(preset("gpt-image-1-mini", "drawer")).draw(TEXT)
    assert info.value.kind == "quota" and "billing" in info.value.hint
    assert len(fake.requests) == 1


@pytest.mark.parametrize("name", ["dall-e-3", "gpt-image-1-mini"])
async def test_content_policy_is_refused(
    fake: FakeOpenAI, openai: OpenAIProvider, name: str
) -> None:
    with pytest.raises(ProviderError) as info:
        await openai.drawer(preset(name, "drawer")).draw("a forbidden doodle")
    assert info.value.kind == "refused" and "safety system" in info.value.message
    assert str(info.value).startswith("refused by the content filter: Your request was rejected")
    assert len(fake.requests) == 1


async def test_guesser_refusal(fake: FakeOpenAI, openai: OpenAIProvider) -> None:
    guesser = openai.guesser(preset("gpt-4o", "guesser"))
    with pytest.raises(ProviderError) as info:
        await guesser.describe(picture(), SYSTEM, "describe the forbidden thing")
    assert info.value.kind == "refused" and REFUSAL in info.value.message


async def test_retired_model_not_found(fake: FakeOpenAI) -> None:
    fake.models = GPT_IMAGE + CHAT  # as api.openai.com today
    p = make(fake)
    with pytest.raises(ProviderError) as info:
        await p.drawer(preset("dall-e-3", "drawer")).draw(TEXT)
    err = info.value
    assert err.kind == "not_found" and err.status == 404
    assert "dall-e-3" in err.message and "does not exist" in err.message
    assert "openai:dall-e-3 was shut down 2026-05-12" in err.hint
    assert "openai:gpt-image-2" in err.hint
    with pytest.raises(ProviderError) as info:
        await p.guesser(p.model("gpt-4-turbo-nope", "guesser")).describe(picture(), SYSTEM, PROMPT)  # type: ignore[arg-type]
    assert info.value.kind == "not_found"
    assert "model retired or not available to this key" in info.value.message
    await p.aclose()


async def test_response_format_sent_to_gpt_image_model(
    fake: FakeOpenAI, openai: OpenAIProvider
) -> None:
    # A user forced the DALL·E shape on a GPT image model: a clear hint, no retry loop.
    model = ModelInfo(
        "openai", "gpt-image-1-mini", "drawer", options={"family": "dall-e-2", "size": "1024x1024"}
    )
    with pytest.raises(ProviderError) as info:
        await openai.drawer(model).draw(TEXT)
    assert info.value.kind == "bad_request" and "gpt-image" in info.value.hint
    assert len(fake.requests) == 1


async def test_organization_must_be_verified(fake: FakeOpenAI, openai: OpenAIProvider) -> None:
    body = {
        "error": {
            "message": "Your organization must be verified to use the model `gpt-image-1`.",
            "type": "invalid_request_error",
            "param": None,
            "code": "organization_must_be_verified",
        }
    }
    fake.script.append(json_reply(403, body))
    with pytest.raises(ProviderError) as info:
        await openai.drawer(preset("gpt-image-1", "drawer")).draw(TEXT)
    assert info.value.kind == "auth" and "verify the organization" in info.value.hint


async def test_garbage_image_is_bad_response(fake: FakeOpenAI, openai: OpenAIProvider) -> None:
    fake.script.append(json_reply(200, {"created": 1, "data": [{"b64_json": "aGVsbG8gd29ybGQ="}]}))
    with pytest.raises(ProviderError) as info:
        await openai.drawer(preset("gpt-image-1-mini", "drawer")).draw(TEXT)
    assert info.value.kind == "bad_response" and "not an image" in info.value.message
    fake.script.append(
        Reply(200, "<html><title>Proxy login</title></html>", {"Content-Type": "text/html"})
    )
    with pytest.raises(ProviderError) as info:
        await openai.drawer(preset("gpt-image-1-mini", "drawer")).draw(TEXT)
    assert info.value.kind == "bad_response" and "HTML" in info.value.message
