"""Gemini as drawer and guesser, against a protocol-faithful fake of the Gemini API on 127.0.0.1,
through the real httpx stack."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from telestrations.config import ConfigError, load_config
from telestrations.keys import KeyRing, KeyStore, env_vars
from telestrations.providers.base import Picture, ProviderContext, ProviderError, partial_captions
from telestrations.providers.gemini import (
    GeminiProvider,
    image_of,
    provider,
    token_cost,
)
from telestrations.providers.registry import (
    Registry,
    SafeProvider,
    declared_keys,
    provider_specs,
)
from telestrations.runtime import Runtime
from telestrations.store import GameDir
from telestrations.text import SECRETS, redact
from tests.fakes.gemini_api import (
    CAPTION,
    KEY,
    FakeGemini,
    b64,
    bad_key,
    png,
    rate_limited,
)
from tests.fakes.hostile import forms, make_hostile
from tests.fakes.server import Reply, json_reply

TEXT = "Illustrate in black & white doodle style: a lighthouse at night"
SYSTEM = "You are playing a doodle guessing game."
PROMPT = "Describe what happens in this image in up to 10 words."
DRAWER = "gemini-nano-banana-2.1"
GUESSER = "gemini-3.6-flash"


@pytest.fixture
def fake() -> Iterator[FakeGemini]:
    api = FakeGemini()
    api.start()
    yield api
    api.stop()


def make(
    url: str, settings: dict[str, Any] | None = None, key: str | None = KEY, **env: str
) -> Any:
    return provider(
        ProviderContext(
            settings={"base_url": url, **(settings or {})},
            get_key=lambda name: key if name == "gemini" else None,
            env=env,
        )
    )


@pytest.fixture
async def gem(fake: FakeGemini) -> AsyncIterator[GeminiProvider]:
    p = make(fake.url)
    yield p
    await p.aclose()


def picture() -> Picture:
    return Picture(png("a doodle"), "png", 96, 96)


async def draw(p: GeminiProvider, name: str = DRAWER, text: str = TEXT) -> Picture:
    model = p.model(name, "drawer")
    assert model is not None
    return await p.drawer(model).draw(text)  # type: ignore[no-any-return]


async def describe(p: GeminiProvider, name: str = GUESSER) -> Any:
    model = p.model(name, "guesser")
    assert model is not None
    return await p.guesser(model).describe(picture(), SYSTEM, PROMPT)


# -- drawing ------------------------------------------------------------------------------------


async def test_a_drawing_sends_the_documented_request(
    fake: FakeGemini, gem: GeminiProvider
) -> None:
    pic = await draw(gem)
    req = fake.requests[-1]
    assert req.method == "POST" and req.path == f"/v1beta/models/{DRAWER}:generateContent"
    assert req.header("x-goog-api-key") == KEY
    assert req.header("Authorization") is None and "key" not in req.query
    assert req.json == {
        "contents": [{"role": "user", "parts": [{"text": TEXT}]}],
        "generationConfig": {
            "responseModalities": ["IMAGE"],
            "imageConfig": {"aspectRatio": "1:1", "imageSize": "1K"},
        },
    }
    assert (
        pic.data == fake.images[-1] and pic.format == "png" and (pic.width, pic.height) == (96, 96)
    )
    assert pic.extras["finish_reason"] == "STOP" and pic.extras["model"] == DRAWER
    # 12 prompt tokens at $1.50/M + 100 thought tokens at $7.50/M + 1290 image tokens at $30/M
    assert pic.cost == pytest.approx((12 * 1.5 + 100 * 7.5 + 1290 * 30.0) / 1e6)


async def test_the_final_image_not_the_thought_draft(fake: FakeGemini, gem: GeminiProvider) -> None:
    pic = await draw(gem, "gemini-3-pro-image")
    assert pic.data == fake.images[-1] and pic.data != png("draft")
    assert pic.cost == pytest.approx((12 * 2 + 100 * 12 + 1290 * 120) / 1e6)


async def test_options_reach_the_request(fake: FakeGemini) -> None:
    p = make(
        fake.url,
        {
            "aspect_ratio": "16:9",
            "models": [
                {"name": "my-image", "kind": "drawer", "options": {"thinking_level": "minimal"}}
            ],
        },
    )
    fake.models.append("my-image")
    try:
        pic = await draw(p, "my-image")
        config = fake.requests[-1].json["generationConfig"]
        assert config["imageConfig"]["aspectRatio"] == "16:9"
        assert config["thinkingConfig"] == {"thinkingLevel": "MINIMAL"}
        assert pic.cost is None  # no sourced price for this model: unknown, not 0
    finally:
        await p.aclose()


def test_image_extraction_is_tolerant() -> None:
    data = png("x")
    urlsafe = base64.urlsafe_b64encode(data).decode().rstrip("=")
    assert image_of([{"inline_data": {"mime_type": "image/png", "data": urlsafe}}]) == data
    in_text = [{"text": f"here: data:image/png;base64,{b64(data)} enjoy"}]
    assert image_of(in_text) == data
    assert image_of([{"inlineData": {"data": b64(data)}, "thought": True}]) is None
    assert token_cost("unknown-model", {"candidatesTokensDetails": []}) is None
    assert token_cost(DRAWER, {"promptTokenCount": 10}) is None  # no modality split: unknown


async def test_a_blocked_prompt_is_a_refusal(gem: GeminiProvider) -> None:
    with pytest.raises(ProviderError) as err:
        await draw(gem, text="BLOCKME please")
    assert err.value.kind == "refused" and "PROHIBITED_CONTENT" in err.value.message


async def test_an_unsafe_image_is_a_refusal(gem: GeminiProvider) -> None:
    with pytest.raises(ProviderError) as err:
        await draw(gem, text="something UNSAFE")
    assert err.value.kind == "refused"
    assert "IMAGE_SAFETY" in err.value.message and "blocked for safety" in err.value.message


async def test_a_text_model_asked_for_an_image_is_no_image(
    fake: FakeGemini, gem: GeminiProvider
) -> None:
    with pytest.raises(ProviderError) as err:
        await draw(gem, GUESSER)
    assert err.value.kind == "refused" and "NO_IMAGE" in err.value.message


# -- describing -------------------------------------------------------------------------------


async def test_a_streamed_caption_grows_and_thoughts_are_skipped(
    fake: FakeGemini, gem: GeminiProvider
) -> None:
    seen: list[str] = []
    with partial_captions(seen.append):
        caption = await describe(gem)
    assert caption.text == CAPTION
    assert seen[-1] == CAPTION and len(seen) >= 3
    assert all("strokes" not in s for s in seen)  # the thought part never shows
    assert all(CAPTION.startswith(s) for s in seen)
    req = fake.requests[-1]
    assert req.path == f"/v1beta/models/{GUESSER}:streamGenerateContent"
    assert req.query == {"alt": ["sse"]}
    assert req.header("x-goog-api-key") == KEY and req.header("Authorization") is None
    body = req.json
    assert list(body) == ["systemInstruction", "contents", "generationConfig"]
    assert body["systemInstruction"] == {"parts": [{"text": SYSTEM}]}
    parts = body["contents"][0]["parts"]
    assert body["contents"][0]["role"] == "user"
    assert parts[0] == {"text": PROMPT}  # text before the image
    assert parts[1]["inlineData"]["mimeType"] == "image/png"
    assert base64.b64decode(parts[1]["inlineData"]["data"]) == picture().data
    assert body["generationConfig"] == {
        "maxOutputTokens": 2048,
        "thinkingConfig": {"thinkingLevel": "LOW"},
    }
    assert caption.extras["finish_reason"] == "STOP"
    assert caption.extras["usage"]["thoughtsTokenCount"] == 120


async def test_not_streamed_when_asked(fake: FakeGemini) -> None:
    p = make(fake.url, {"stream": False})
    try:
        caption = await describe(p)
        assert caption.text == CAPTION
        assert fake.requests[-1].path.endswith(":generateContent")
    finally:
        await p.aclose()


async def test_max_tokens_with_no_text_is_a_failed_turn_with_a_hint(fake: FakeGemini) -> None:
    p = make(fake.url, {"max_output_tokens": 200})
    try:
        with pytest.raises(ProviderError) as err:
            await describe(p)
        assert err.value.kind == "bad_response" and "thinking" in err.value.message
        assert "max_output_tokens" in err.value.hint
    finally:
        await p.aclose()


async def test_a_stop_drops_the_stream(fake: FakeGemini, gem: GeminiProvider) -> None:
    fake.slow_stream = 0.2
    seen: list[str] = []
    with partial_captions(seen.append):
        task = asyncio.ensure_future(describe(gem))
        for _ in range(300):
            if seen:
                break
            await asyncio.sleep(0.01)
    assert seen, "no partial caption arrived"
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 1.0
    for _ in range(300):  # the server notices on its next write
        if fake.dropped:
            break
        await asyncio.sleep(0.01)
    assert fake.dropped


async def test_the_deadline_ends_a_stream_that_never_finishes(fake: FakeGemini) -> None:
    fake.slow_stream = 0.1
    p = make(fake.url, {"describe_deadline": 0.6})
    try:
        started = time.monotonic()
        with pytest.raises(ProviderError) as err:
            await describe(p)
        assert err.value.kind == "timeout" and "describe_deadline" in err.value.hint
        assert time.monotonic() - started < 3.0
    finally:
        await p.aclose()


# -- errors ----------------------------------------------------------------------------------


async def test_a_bad_key_is_an_auth_error_without_the_key(fake: FakeGemini) -> None:
    wrong = "AIzaSy-wrong-key-0123456789abcdefghij"
    p = make(fake.url, key=wrong)
    try:
        with pytest.raises(ProviderError) as err:
            await draw(p)
        assert err.value.kind == "auth" and "API key not valid" in err.value.message
        assert "GEMINI_API_KEY" in err.value.hint and wrong not in str(err.value)
        assert len(fake.requests) == 1  # a 400 is never retried
    finally:
        await p.aclose()


async def test_no_key_at_all(fake: FakeGemini) -> None:
    p = make(fake.url, key=None)
    model = p.model(DRAWER, "drawer")
    avail = p.availability(model)
    assert not avail.ok and avail.kind == "auth" and "keys set gemini" in avail.hint
    with pytest.raises(ProviderError):
        p.drawer(model)
    await p.aclose()


async def test_google_api_key_is_the_fallback(fake: FakeGemini, isolated_env: Path) -> None:
    """Through the real key lookup: GOOGLE_API_KEY is used when GEMINI_API_KEY is unset, and
    is a secret of the process from the start, like every declared key variable."""
    (isolated_env / "config.toml").parent.mkdir(parents=True, exist_ok=True)
    (isolated_env / "config.toml").write_text(f'[providers.gemini]\nbase_url = "{fake.url}"\n')
    env = {**os.environ, "GOOGLE_API_KEY": KEY}
    runtime = Runtime.load(env=env)
    try:
        assert redact(f"said {KEY}") == "said ***" and KEY in SECRETS.raw
        safe = runtime.registry.providers["gemini"]
        assert isinstance(safe, SafeProvider)  # the registry's guard around every provider
        p = safe.inner
        assert isinstance(p, GeminiProvider) and p.key == KEY
        assert (await draw(p)).data == fake.images[-1]
        assert fake.requests[-1].header("x-goog-api-key") == KEY
        sources = {s.name: s.source for s in runtime.keyring.sources()}
        assert sources["gemini"] == "env GOOGLE_API_KEY"
    finally:
        await runtime.aclose()
    store = KeyStore(isolated_env / "keys.json")
    store.set("gemini", "AIzaSy-from-the-keys-file-000000000000")
    both = KeyRing(store, {"GEMINI_API_KEY": "AIzaSy-gemini-var", "GOOGLE_API_KEY": KEY})
    assert both.get("gemini") == "AIzaSy-gemini-var"  # the declared variable wins
    assert KEY in both.secrets()  # the unused fallback is still redacted
    assert KeyRing(store, {"GOOGLE_API_KEY": KEY}).get("gemini") == KEY  # env over the file
    assert KeyRing(store, {"GOOGLE_API_KEY": "  "}).get("gemini") == (
        "AIzaSy-from-the-keys-file-000000000000"
    )


async def test_429_waits_as_retry_info_says(fake: FakeGemini, gem: GeminiProvider) -> None:
    fake.script.append(rate_limited("0.4s"))
    started = time.monotonic()
    caption = await describe(gem)
    assert caption.text == CAPTION
    assert len(fake.requests) == 2
    assert fake.requests[1].at - fake.requests[0].at >= 0.4
    assert time.monotonic() - started < 5


async def test_a_per_day_quota_is_not_retried(fake: FakeGemini, gem: GeminiProvider) -> None:
    fake.script.append(rate_limited("30s", per_day=True))
    with pytest.raises(ProviderError) as err:
        await draw(gem)
    assert err.value.kind == "quota" and "tomorrow" in err.value.hint
    assert len(fake.requests) == 1


async def test_an_unknown_model_is_not_found(gem: GeminiProvider) -> None:
    with pytest.raises(ProviderError) as err:
        await draw(gem, "imagen-4.0-generate-001")
    assert err.value.kind == "not_found" and err.value.status == 404
    assert "NOT_FOUND" in err.value.message and "shut down" in err.value.hint


async def test_an_error_inside_the_stream(fake: FakeGemini, gem: GeminiProvider) -> None:
    event = {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}
    fake.script.append(
        Reply(
            200,
            pieces=[f"data: {json.dumps(event)}\r\n\r\n".encode()],
            headers={"Content-Type": "text/event-stream"},
        )
    )
    with pytest.raises(ProviderError) as err:
        await describe(gem)
    assert err.value.kind == "server" and "overloaded" in err.value.message


async def test_an_error_object_with_200_ok(fake: FakeGemini, gem: GeminiProvider) -> None:
    body = {"error": {"code": 403, "message": "Permission denied.", "status": "PERMISSION_DENIED"}}
    fake.script.append(json_reply(200, body))  # as some gateways send it
    with pytest.raises(ProviderError) as err:
        await draw(gem)
    assert err.value.kind == "auth" and "Permission denied" in err.value.message


async def test_server_errors_are_retried(fake: FakeGemini, gem: GeminiProvider) -> None:
    fake.script.append(
        json_reply(
            503,
            {
                "error": {
                    "code": 503,
                    "message": "The model is overloaded.",
                    "status": "UNAVAILABLE",
                }
            },
        )
    )
    assert (await draw(gem)).data == fake.images[-1]
    assert len(fake.requests) == 2


# -- the listing ----------------------------------------------------------------------------------


async def test_discovery_follows_every_page(fake: FakeGemini, gem: GeminiProvider) -> None:
    found = await gem.discover()
    pages = [r for r in fake.requests if r.path == "/v1beta/models"]
    assert len(pages) == 4  # 8 models, at most 2 a page whatever pageSize asks
    assert [r.query.get("pageToken") for r in pages] == [None, ["2"], ["4"], ["6"]]
    names = {(m.name, m.kind) for m in found}
    assert ("gemini-3.1-flash-lite-image", "drawer") in names  # only on the last page
    assert ("gemini-3.8-flash", "guesser") in names
    assert not any("embedding" in m.name for m in found)
    assert all(m.discovered and not m.name.startswith("models/") for m in found)
    assert {m.name for m in gem.models()} >= {m.name for m in found}


async def test_check_is_evidence_not_a_gate(fake: FakeGemini, gem: GeminiProvider) -> None:
    listed = await gem.check(gem.model(DRAWER, "drawer"))  # type: ignore[arg-type]
    assert listed.ok and not listed.reason
    fresh = await gem.check(gem.model("gemini-9-flash-image", "drawer"))  # type: ignore[arg-type]
    assert fresh.ok and "not in Gemini's model list" in fresh.reason
    embed = await gem.check(gem.model("gemini-embedding-001", "guesser"))  # type: ignore[arg-type]
    assert not embed.ok and embed.kind == "not_found"


async def test_check_with_a_bad_key(fake: FakeGemini) -> None:
    p = make(fake.url, key="AIzaSy-wrong-key-0123456789abcdefghij")
    avail = await p.check(p.model(GUESSER, "guesser"))
    assert not avail.ok and avail.kind == "auth"
    await p.aclose()


async def test_bad_settings_name_the_key(isolated_env: Path) -> None:
    for key, value in (
        ("aspect_ratio", "7:3"),
        ("image_size", "512"),
        ("thinking_level", "EXTREME"),
        ("max_output_tokens", 0),
        ("check_timeout", -1),
        ("stream", "yes"),
        ("strem", False),
    ):
        with pytest.raises(ValueError, match=key):
            make("http://127.0.0.1:9", {key: value})
        config = isolated_env / f"{key}.toml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(f"[providers.gemini]\n{key} = {json.dumps(value)}\n")
        with pytest.raises(ConfigError, match=rf"{key}.toml: \[providers.gemini\] .*{key}"):
            load_config(config, {})
    p = make("http://h:1/v1beta/", {"aspect_ratio": "21:9", "image_size": "2K"})
    assert p.http_settings.base_url == "http://h:1/v1beta"
    assert p.conf.aspect_ratio == "21:9" and p.conf.image_size == "2K"
    await p.aclose()


def test_declared_on_its_entry_point_with_its_key_variables() -> None:
    spec = provider_specs()["gemini"]
    assert spec is provider and spec.settings.__name__ == "GeminiSettings"
    key = declared_keys()["gemini"]
    assert key.envs == ("GEMINI_API_KEY", "GOOGLE_API_KEY")
    assert env_vars()["gemini"] == "GEMINI_API_KEY"
    registry = Registry.load(lambda name: ProviderContext())
    assert "gemini" in registry.providers and not registry.failures
    _, model = registry.resolve(f"gemini:{DRAWER}", "drawer")
    assert model.label == "Nano Banana 2.1"


# -- a whole game through the command ------------------------------------------------------------


def run_game(fake: FakeGemini, home: Path, drawer: str, guesser: str, prompt: str) -> Any:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(f'[providers.gemini]\nbase_url = "{fake.url}"\n')
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "telestrations",
            "run",
            "--rounds",
            "2",
            "--prompt",
            prompt,
            "--drawer",
            drawer,
            "--guesser",
            guesser,
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "GEMINI_API_KEY": KEY},
    )


def test_a_full_game_through_the_command(fake: FakeGemini, isolated_env: Path) -> None:
    out = run_game(fake, isolated_env, f"gemini:{DRAWER}", f"gemini:{GUESSER}", "a cat")
    assert out.returncode == 0, out.stderr
    assert KEY not in out.stdout + out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    turns = [r for r in lines if r.get("kind") in ("draw", "describe")]
    assert [(r["kind"], r["status"]) for r in turns] == [
        ("draw", "ok"),
        ("describe", "ok"),
        ("draw", "ok"),
        ("describe", "ok"),
    ]
    assert turns[1]["output"] == CAPTION
    assert lines[-1]["type"] == "end" and lines[-1]["rounds"] == 2
    game = GameDir.open(Path(lines[-1]["folder"]))
    assert game.image_path(game.records[0].output).read_bytes() == fake.images[0]
    assert game.records[0].cost is not None and game.records[0].cost > 0
    draws = [r.json for r in fake.requests if r.path.endswith(":generateContent")]
    assert draws[1]["contents"][0]["parts"][0]["text"].endswith(CAPTION)  # round 2 draws it
    for path in isolated_env.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path


def test_mixed_with_doodle_and_a_refusal(fake: FakeGemini, isolated_env: Path) -> None:
    out = run_game(fake, isolated_env, "doodle:doodle", f"gemini:{GUESSER}", "a dog")
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    describes = [r for r in lines if r.get("kind") == "describe"]
    assert describes and all(r["status"] == "ok" and r["output"] == CAPTION for r in describes)

    out = run_game(fake, isolated_env / "b", f"gemini:{DRAWER}", "doodle:doodle", "BLOCKME")
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    first = next(r for r in lines if r.get("kind") == "draw")
    assert first["status"] == "failed" and first["error"]["kind"] == "refused"


# -- a hostile server --------------------------------------------------------------------------


def leaks(text: str) -> list[str]:
    """Each form of the key (raw, URL-encoded, base64, a 12-character end) found in ``text``."""
    found = [f for f in forms(KEY) if f in text]
    return found + [p for p in (KEY[:12], KEY[-12:]) if p in text]


def test_a_hostile_gemini_leaks_nothing(isolated_env: Path) -> None:
    """The server echoes the key into every text field of every answer and error."""
    api = FakeGemini()
    keep = {"data", "mimeType", "finishReason", "role", "thought", "@type", "reason", "quotaId"}
    keep |= {"retryDelay", "status", "code", "nextPageToken", "blockReason", "modality"}
    make_hostile(api, [KEY], keep)
    api.start()
    k = KEY
    event = {"error": {"code": 500, "message": f"boom {k}", "status": "INTERNAL"}}
    attacks = [
        ("draw", bad_key()),
        ("draw", rate_limited("30s", per_day=True)),
        ("draw", json_reply(404, {"error": {"code": 404, "message": k, "status": "NOT_FOUND"}})),
        ("draw", Reply(200, f"<html><title>{k}</title></html>", {})),
        ("describe", Reply(200, pieces=[f"data: {json.dumps(event)}\r\n\r\n".encode()])),
        ("describe", Reply(200, pieces=[f"data: not json {k}\r\n\r\n".encode()])),
    ]
    said: list[str] = []

    async def play() -> None:
        p = make(api.url, {"max_retries": 0})
        try:
            pic = await draw(p)
            said.append(json.dumps(dict(pic.extras)))
            caption = await describe(p)
            said.append(caption.text + json.dumps(dict(caption.extras)))
            for kind, reply in [*attacks, ("draw", None), ("describe", None)]:
                if reply is not None:
                    api.script.append(reply)
                try:
                    got = await (draw(p, text="BLOCKME") if kind == "draw" else describe(p))
                    said.append(repr(got))
                except ProviderError as exc:
                    said.append(f"{exc.kind} {exc}")
            found = await p.discover()
            said.append(" ".join(m.id + m.label for m in found))
            said.append(str(await p.check(p.model(GUESSER, "guesser"))))  # type: ignore[arg-type]
        finally:
            await p.aclose()

    try:
        asyncio.run(play())
        assert len(said) == 2 + len(attacks) + 2 + 2
        assert "***" in said[1]  # the caption was poisoned, and redacted
        assert not any(leaks(s) for s in said), [s for s in said if leaks(s)]
        out = run_game(api, isolated_env, f"gemini:{DRAWER}", f"gemini:{GUESSER}", "a cat")
        assert out.returncode == 0, out.stderr
        assert not leaks(out.stdout + out.stderr)
        files = [p for p in isolated_env.rglob("*") if p.is_file()]
        assert files and not any(leaks(p.read_bytes().decode("utf-8", "replace")) for p in files)
    finally:
        api.stop()


async def test_checks_share_one_listing_and_discovery_refreshes(
    fake: FakeGemini, gem: GeminiProvider
) -> None:
    models = [m for m in gem.models() if m.provider == "gemini"]
    results = await asyncio.gather(*(gem.check(m) for m in models))
    assert all(r.ok for r in results)
    pages = [r for r in fake.requests if r.path == "/v1beta/models"]
    assert len(pages) == 4  # one listing of 4 pages for all 8 checks
    fake.models.append("gemini-9-flash")  # a launch: discovery sees it at once
    assert ("gemini-9-flash", "guesser") in {(m.name, m.kind) for m in await gem.discover()}
