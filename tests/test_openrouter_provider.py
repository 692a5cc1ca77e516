"""OpenRouter as drawer (Image API) and guesser (chat completions), against a protocol-faithful
fake of OpenRouter on 127.0.0.1, through the real httpx stack."""

from __future__ import annotations

import asyncio
import base64
import importlib
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from telestrations.providers.base import (
    ModelInfo,
    Picture,
    ProviderContext,
    ProviderError,
    partial_captions,
)
from telestrations.providers.openrouter import OpenRouterProvider, provider
from telestrations.providers.registry import declared_keys
from telestrations.runtime import Runtime
from telestrations.session import Checks
from telestrations.store import GameDir
from tests.fakes.hostile import forms, make_hostile
from tests.fakes.openrouter_api import FakeOpenRouter, or_error
from tests.fakes.server import Reply, json_reply

openrouter_module = importlib.import_module("telestrations.providers.openrouter.provider")
KEY = FakeOpenRouter.key
DRAWER = "openai/gpt-image-2"
GUESSER = "qwen/qwen2.5-vl-72b"
SYSTEM = "You are playing a doodle guessing game"
PROMPT = "Describe what happens in this image in up to 10 words"


@pytest.fixture
def fake() -> Iterator[FakeOpenRouter]:
    api = FakeOpenRouter()
    api.start()
    yield api
    api.stop()


def make(
    url: str, settings: dict[str, Any] | None = None, key: str | None = KEY
) -> OpenRouterProvider:
    ctx = ProviderContext(
        settings={"base_url": f"{url}/api/v1", "max_retries": 2, **(settings or {})},
        get_key=lambda name: key if name == "openrouter" else None,
    )
    return OpenRouterProvider(ctx)


@pytest.fixture
async def router(fake: FakeOpenRouter) -> AsyncIterator[OpenRouterProvider]:
    p = make(
        fake.url, {"referer": "https://example.org/telestrations", "app_title": "Telestrations"}
    )
    yield p
    await p.aclose()


def png(size: tuple[int, int] = (48, 32)) -> Picture:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, "PNG")
    return Picture(buf.getvalue(), "png", *size)


def by_name(models: list[ModelInfo], name: str) -> ModelInfo:
    return next(m for m in models if m.name == name)


def model(name: str, kind: str = "drawer", **options: Any) -> ModelInfo:
    return ModelInfo("openrouter", name, kind, options=options)  # type: ignore[arg-type]


# -- drawing -------------------------------------------------------------------------------------


async def test_a_drawing_sends_the_documented_request(
    fake: FakeOpenRouter, router: OpenRouterProvider
) -> None:
    picture = await router.drawer(model(DRAWER)).draw("a doodle of a cat")
    (req,) = fake.requests
    assert (req.method, req.path) == ("POST", "/api/v1/images")
    assert req.header("Authorization") == f"Bearer {KEY}"
    assert req.header("HTTP-Referer") == "https://example.org/telestrations"
    assert req.header("X-OpenRouter-Title") == "Telestrations"
    assert req.header("X-Title") == "Telestrations"
    assert req.header("Content-Type") == "application/json"
    assert req.json == {
        "model": DRAWER,
        "prompt": "a doodle of a cat",
        "n": 1,
        "aspect_ratio": "1:1",
    }
    assert (picture.format, picture.width, picture.height) == ("png", 512, 512)
    assert picture.cost == pytest.approx(0.04)  # usage.cost, as OpenRouter reported it
    assert picture.extras["usage"]["cost"] == 0.04 and picture.extras["media_type"] == "image/png"


async def test_options_and_settings_reach_the_request(fake: FakeOpenRouter) -> None:
    p = make(fake.url, {"quality": "low", "resolution": "1K"})
    try:
        m = model(
            DRAWER, aspect_ratio="16:9", seed=7, output_format="png", provider={"sort": "price"}
        )
        picture = await p.drawer(m).draw("a wide lighthouse")
    finally:
        await p.aclose()
    assert fake.requests[0].json == {
        "model": DRAWER,
        "prompt": "a wide lighthouse",
        "n": 1,
        "aspect_ratio": "16:9",
        "resolution": "1K",
        "quality": "low",
        "output_format": "png",
        "seed": 7,
        "provider": {"sort": "price"},
    }
    assert fake.requests[0].header("HTTP-Referer") is None  # attribution only when set
    assert (picture.width, picture.height) == (640, 360)


async def test_a_price_override_wins_over_the_reported_cost(fake: FakeOpenRouter) -> None:
    ctx = ProviderContext(
        settings={"base_url": f"{fake.url}/api/v1"},
        get_key=lambda name: KEY,
        prices={f"openrouter:{DRAWER}": 0.5},
    )
    p = OpenRouterProvider(ctx)
    try:
        m = p.model(DRAWER, "drawer")
        assert m is not None
        assert (await p.drawer(m).draw("a cat")).cost == 0.5
    finally:
        await p.aclose()


# -- describing ----------------------------------------------------------------------------------


async def test_a_streamed_caption_grows_and_costs_what_openrouter_says(
    fake: FakeOpenRouter, router: OpenRouterProvider
) -> None:
    seen: list[str] = []
    with partial_captions(seen.append):
        caption = await router.guesser(model(GUESSER, "guesser")).describe(png(), SYSTEM, PROMPT)
    assert caption.text == "A 48x32 png picture of a purple circle"
    assert seen and seen[-1] == caption.text and len(seen) > 3
    assert caption.cost == pytest.approx(0.00012)
    (req,) = fake.requests
    assert req.path == "/api/v1/chat/completions"
    assert req.header("Authorization") == f"Bearer {KEY}"
    body = req.json
    assert body["model"] == GUESSER and body["stream"] is True
    assert "stream_options" not in body and body["max_completion_tokens"] == 60
    system, user = body["messages"]
    assert system == {"role": "system", "content": SYSTEM}
    text, image = user["content"]
    assert text == {"type": "text", "text": PROMPT}  # the text before the image (12.4)
    assert image["type"] == "image_url"
    assert image["image_url"]["url"].startswith("data:image/png;base64,")
    assert base64.b64decode(image["image_url"]["url"].split(",", 1)[1]) == png().data


async def test_not_streamed_cost_from_usage(fake: FakeOpenRouter) -> None:
    p = make(fake.url, {"stream": False})
    try:
        caption = await p.guesser(model(GUESSER, "guesser")).describe(png(), SYSTEM, PROMPT)
    finally:
        await p.aclose()
    assert "stream" not in fake.requests[0].json
    assert caption.cost == pytest.approx(0.00012) and caption.extras["usage"]["cost"] == 0.00012


# -- discovery and checks ------------------------------------------------------------------------


async def test_discovery_reads_modalities_prices_and_pages(
    fake: FakeOpenRouter, router: OpenRouterProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(openrouter_module, "PAGE_SIZE", 2)  # 7 models: four pages
    found = await router.discover()
    pages = [r for r in fake.requests if r.path == "/api/v1/models"]
    assert [r.query["offset"] for r in pages] == [["0"], ["2"], ["4"], ["6"]]
    assert all(r.query["output_modalities"] == ["all"] for r in pages)
    kinds = {(m.kind, m.name) for m in found}
    assert kinds == {
        ("drawer", "openai/gpt-image-2"),
        ("drawer", "black-forest-labs/flux.2-pro"),
        ("drawer", "google/gemini-3-pro-image"),
        ("guesser", "google/gemini-3-pro-image"),
        ("guesser", "openai/gpt-4o-mini"),
        ("guesser", "qwen/qwen2.5-vl-72b"),
        ("guesser", "old/retired-vision"),
    }  # not the text-only model
    assert by_name(found, "old/retired-vision").shutdown == "2026-01-01"  # hidden by menus
    by = {(m.kind, m.name): m for m in found}
    assert by[("drawer", "openai/gpt-image-2")].price == 0.04
    assert "$0.04/image" in by[("drawer", "openai/gpt-image-2")].note
    mini = by[("guesser", "openai/gpt-4o-mini")]
    assert mini.shutdown == "2027-01-14"  # expiration_date, marked and enforced by listings
    assert mini.options["price_in"] == pytest.approx(0.15)
    assert mini.options["price_out"] == pytest.approx(0.6)
    assert all(m.id.startswith("openrouter:") and m.discovered for m in found)
    assert {m.id for m in router.models()} >= {m.id for m in found}


async def test_check_is_evidence_not_a_gate(
    fake: FakeOpenRouter, router: OpenRouterProvider
) -> None:
    assert (await router.check(model(DRAWER))).ok
    assert (await router.check(model(GUESSER, "guesser"))).ok
    unlisted = await router.check(model("new/launch-day-model"))
    assert unlisted.ok and "not in OpenRouter's model list" in unlisted.reason
    wrong = await router.check(model("meta/llama-text-only", "guesser"))
    assert not wrong.ok and "as neither a drawer nor a guesser" in wrong.reason  # text only
    gone = await router.check(model("old/retired-vision", "guesser"))
    assert not gone.ok and "retired 'old/retired-vision' on 2026-01-01" in gone.reason
    drawer_as_guesser = await router.check(model("black-forest-labs/flux.2-pro", "guesser"))
    assert not drawer_as_guesser.ok and "only as a drawer" in drawer_as_guesser.reason
    assert len([r for r in fake.requests if r.path == "/api/v1/models"]) == 1  # one listing


def test_no_key_is_unusable_with_the_hint(fake: FakeOpenRouter) -> None:
    p = make(fake.url, key=None)
    avail = p.availability(model(DRAWER))
    assert not avail.ok and avail.kind == "auth" and "keys set openrouter" in avail.hint


def test_declared_on_its_entry_point() -> None:
    assert provider.name == "openrouter"
    assert declared_keys()["openrouter"].env == "OPENROUTER_API_KEY"


# -- errors ----------------------------------------------------------------------------------------


async def test_a_wrong_key_is_auth_without_the_key(fake: FakeOpenRouter) -> None:
    wrong = "sk-or-v1-WRONG0123456789abcdef"
    p = make(fake.url, key=wrong)
    try:
        with pytest.raises(ProviderError) as err:
            await p.drawer(model(DRAWER)).draw("a cat")
    finally:
        await p.aclose()
    assert err.value.kind == "auth" and err.value.status == 401
    assert "keys set openrouter" in err.value.hint and "OPENROUTER_API_KEY" in err.value.hint
    assert wrong not in str(err.value) and len(fake.requests) == 1  # not retried


async def test_out_of_credits_is_quota(fake: FakeOpenRouter, router: OpenRouterProvider) -> None:
    fake.credits = 0
    with pytest.raises(ProviderError) as err:
        await router.drawer(model(DRAWER)).draw("a cat")
    assert err.value.kind == "quota" and err.value.status == 402
    assert err.value.message.startswith("out of credits: Insufficient credits")
    assert "credits" in err.value.hint and len(fake.requests) == 1


async def test_moderation_is_a_refusal_with_its_reasons(
    fake: FakeOpenRouter, router: OpenRouterProvider
) -> None:
    with pytest.raises(ProviderError) as err:
        await router.drawer(model(DRAWER)).draw("something forbidden")
    assert err.value.kind == "refused" and "violence/graphic" in err.value.message
    assert "edit the prompt" in err.value.hint


async def test_rate_limits_are_retried_then_reported(
    fake: FakeOpenRouter, router: OpenRouterProvider
) -> None:
    limited = or_error(429, "Rate limit exceeded: free-models-per-min")
    limited.headers["Retry-After"] = "0"
    fake.script.extend([limited, limited])
    picture = await router.drawer(model(DRAWER)).draw("a cat")  # two retries, then the image
    assert picture.format == "png" and len(fake.requests) == 3
    fake.script.extend([limited, limited, limited])
    with pytest.raises(ProviderError) as err:
        await router.drawer(model(DRAWER)).draw("a cat")
    assert err.value.kind == "rate_limited" and "wait" in err.value.hint


async def test_an_unknown_model_is_not_found(router: OpenRouterProvider) -> None:
    with pytest.raises(ProviderError) as err:
        await router.drawer(model("nobody/nothing")).draw("a cat")
    assert err.value.kind == "not_found" and "author/slug" in err.value.hint


async def test_an_error_after_200_ok(fake: FakeOpenRouter, router: OpenRouterProvider) -> None:
    fake.script.append(
        json_reply(200, {"error": {"code": 502, "message": "Provider returned error"}})
    )
    with pytest.raises(ProviderError) as err:
        await router.drawer(model(DRAWER)).draw("a cat")
    assert err.value.kind == "server" and "not billed" in err.value.hint


# -- cancel ----------------------------------------------------------------------------------------


async def test_a_stop_cancels_the_drawing(fake: FakeOpenRouter, router: OpenRouterProvider) -> None:
    fake.script.append(Reply(200, b"", delay=5.0))
    task = asyncio.ensure_future(router.drawer(model(DRAWER)).draw("a slow cat"))
    for _ in range(300):
        if fake.requests:
            break
        await asyncio.sleep(0.01)
    assert fake.requests, "the request never arrived"
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 1.0


# -- a whole game through the command --------------------------------------------------------------


def run_game(home: Path, config: str, *args: str, env: dict[str, str]) -> Any:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(config)
    return subprocess.run(
        [sys.executable, "-m", "telestrations", *args],
        capture_output=True,
        text=True,
        timeout=90,
        env={**os.environ, **env},
    )


def test_a_full_game_through_the_command(fake: FakeOpenRouter, isolated_env: Path) -> None:
    keep = ("b64_json", "id", "object", "role", "input_modalities", "output_modalities")
    stop = make_hostile(fake, [KEY], keep=keep)
    config = (
        f'[providers.openrouter]\nbase_url = "{fake.url}/api/v1"\napp_title = "Telestrations"\n'
    )
    out = run_game(
        isolated_env,
        config,
        "run",
        "--rounds",
        "2",
        "--prompt",
        "a cat",
        "--drawer",
        f"openrouter:{DRAWER}",
        "--guesser",
        f"openrouter:{GUESSER}",
        "--json",
        "-vv",
        env={"OPENROUTER_API_KEY": KEY},
    )
    stop()
    assert out.returncode == 0, out.stderr
    for form in forms(KEY):
        assert form not in out.stdout + out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    turns = [r for r in lines if r.get("kind") in ("draw", "describe")]
    assert [(r["kind"], r["status"]) for r in turns] == [("draw", "ok"), ("describe", "ok")] * 2
    caption = turns[1]["output"]  # every word echoes the key (a hostile server), redacted
    assert "512x512" in caption and "purple" in caption and "***" in caption
    game = GameDir.open(Path(lines[-1]["folder"]))
    assert game.records[0].cost == pytest.approx(0.04)
    assert all(
        r.header("Authorization") == f"Bearer {KEY}" for r in fake.requests if r.method == "POST"
    )
    for path in isolated_env.rglob("*"):
        if path.is_file() and path.name != "config.toml":
            data = path.read_bytes()
            assert all(f.encode() not in data for f in forms(KEY)), path


def test_models_lists_what_openrouter_offers(fake: FakeOpenRouter, isolated_env: Path) -> None:
    config = f'[providers.openrouter]\nbase_url = "{fake.url}/api/v1"\n'
    out = run_game(isolated_env, config, "models", env={"OPENROUTER_API_KEY": KEY})
    assert out.returncode == 0, out.stderr
    assert "openrouter:openai/gpt-image-2" in out.stdout
    assert "openrouter:qwen/qwen2.5-vl-72b" in out.stdout
    assert "openrouter:meta/llama-text-only" not in out.stdout


async def test_registry_builds_it_from_config(fake: FakeOpenRouter, isolated_env: Path) -> None:
    config = isolated_env / "config.toml"
    await asyncio.to_thread(isolated_env.mkdir, parents=True, exist_ok=True)
    await asyncio.to_thread(
        config.write_text, f'[providers.openrouter]\nbase_url = "{fake.url}/api/v1"\n'
    )
    runtime = Runtime.load(env={**os.environ, "OPENROUTER_API_KEY": KEY})
    try:
        await Checks(runtime).discover()
        _, m = runtime.registry.resolve(f"openrouter:{DRAWER}", "drawer")
        assert m.discovered and m.price == 0.04
    finally:
        await runtime.aclose()


async def test_no_key_no_visit(fake: FakeOpenRouter) -> None:
    p = make(fake.url, key=None)
    try:
        assert await p.discover() == []
    finally:
        await p.aclose()
    assert fake.requests == []


# -- the terminal UI ---------------------------------------------------------------------------


async def test_the_app_asks_for_the_key_then_lists_openrouters_models(
    fake: FakeOpenRouter, isolated_env: Path
) -> None:
    from telestrations.tui.screens.dialogs import KeyDialog
    from telestrations.tui.screens.picker import ModelPicker
    from tests.test_tui_support import main_screen, make_app, wait_for

    config = isolated_env / "config.toml"
    await asyncio.to_thread(isolated_env.mkdir, parents=True, exist_ok=True)
    await asyncio.to_thread(
        config.write_text, f'[providers.openrouter]\nbase_url = "{fake.url}/api/v1"\n'
    )
    runtime = Runtime.load(env=dict(os.environ))
    app = make_app(runtime, drawer=f"openrouter:{DRAWER}", guesser="doodle:doodle")
    async with app.run_test(size=(120, 40)) as pilot:
        m = main_screen(app)
        await pilot.press("enter")  # a drawer without its key: the dialog comes first
        await wait_for(pilot, lambda: isinstance(app.screen, KeyDialog))
        assert fake.requests == []  # no key, no visit
        await pilot.press(*KEY)
        await pilot.press("enter")
        await wait_for(pilot, lambda: m.game is not None and m.game.rounds_done >= 1, 30)
        assert m.game is not None and m.game.records[0].model == f"openrouter:{DRAWER}"
        await pilot.press("enter")  # pause
        await wait_for(pilot, lambda: any(r.path == "/api/v1/models" for r in fake.requests))
        await wait_for(
            pilot,
            lambda: runtime.registry.resolve(f"openrouter:{GUESSER}", "guesser")[1].discovered,
        )
        m.history.focus()
        await pilot.press("g")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPicker))
        picker = app.screen
        assert isinstance(picker, ModelPicker)
        assert f"openrouter:{GUESSER}" in {r.model.id for r in picker.rows}
        assert KEY not in app.export_screenshot()
    await runtime.aclose()
