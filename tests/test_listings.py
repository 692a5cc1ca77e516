"""Model lists that stay current: the services' listings cached on disk with a time-to-live,
shutdown dates that hide and refuse a model (naming its replacement), a model missing from a
listing as a warning only, and per-token cost of GPT image models.

Provider tests go through the real httpx stack to the loopback fake of OpenAI's API; the
command tests run `telestrations` in a subprocess, as a person does. Dates are relative to
today, so the tests mean the same thing on any day."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from telestrations.providers.base import ModelInfo, ProviderContext
from telestrations.providers.listings import (
    Listing,
    ListingCache,
    age_text,
    shutdown_verdict,
    state_note,
    state_of,
)
from telestrations.providers.openai import OpenAIProvider, provider
from telestrations.providers.openai.models import size_problem, usage_cost
from telestrations.text import SECRETS
from tests.fakes.openai_api import CHAT, DALLE, GPT_IMAGE, FakeOpenAI

KEY = "sk-listing-0123456789abcdefghij"
TODAY = date.today()
PAST = (TODAY - timedelta(days=3)).isoformat()
SOON = (TODAY + timedelta(days=12)).isoformat()
LATER = (TODAY + timedelta(days=200)).isoformat()


def model(shutdown: str = "", successor: str = "") -> ModelInfo:
    return ModelInfo("openai", "m", "drawer", shutdown=shutdown, successor=successor)


# -- dates and costs ---------------------------------------------------------------------------


def test_shutdown_states() -> None:
    day = date(2026, 11, 30)
    assert state_of(model("2026-12-01"), day) == "soon"
    assert state_note(model("2026-12-01"), day) == "shuts down 2026-12-01"
    assert state_of(model("2026-11-30"), day) == "gone"  # the day itself: already off
    assert state_note(model("2026-05-12"), day) == "shut down 2026-05-12"
    assert state_of(model("2026-12-30"), day) == "soon"  # 30 days: marked
    assert state_of(model("2026-12-31"), day) == "ok"  # 31 days: not yet
    assert state_of(model(""), day) == state_of(model("not a date"), day) == "ok"
    refusal = shutdown_verdict(model("2026-05-12", "openai:gpt-image-2.6-flare"), day)
    assert refusal is not None and not refusal.ok and refusal.kind == "not_found"
    assert refusal.reason == "openai:m was shut down on 2026-05-12"
    assert "use openai:gpt-image-2.6-flare instead" in refusal.hint
    assert shutdown_verdict(model("2026-12-01"), day) is None


def test_usage_cost_is_computed_or_unknown() -> None:
    usage = {
        "input_tokens": 50,
        "output_tokens": 1756,
        "total_tokens": 1806,
        "input_tokens_details": {"text_tokens": 40, "image_tokens": 10},
        "output_tokens_details": {"image_tokens": 1756, "text_tokens": 0},
    }
    expected = (40 * 5.00 + 10 * 8.00 + 1756 * 30.00) / 1e6
    assert usage_cost("gpt-image-2.6-flare", usage) == pytest.approx(expected)
    assert usage_cost("gpt-image-2-2026-04-21", usage) == pytest.approx(expected)  # snapshot
    assert usage_cost("gpt-image-1.5", usage) is None  # no published rate: unknown
    assert usage_cost("gpt-image-2.6-flare", None) is None
    assert usage_cost("gpt-image-2.6-flare", {"output_tokens": 5}) is None
    texty = {**usage, "output_tokens_details": {"image_tokens": 1700, "text_tokens": 56}}
    assert usage_cost("gpt-image-2.6-flare", texty) is None  # no text-out rate: not guessed


def test_gpt_image_2_size_rules() -> None:
    assert size_problem("gpt-image-2.6-flare", "1536x864") is None
    assert size_problem("gpt-image-2", "3840x2160") is None
    assert size_problem("gpt-image-2", "auto") is None
    assert "16" in (size_problem("gpt-image-2", "1000x1000") or "")
    assert "1:3" in (size_problem("gpt-image-2.5-flare", "3200x1024") or "")
    assert "3840x2160" in (size_problem("gpt-image-2", "3840x2400") or "")
    assert size_problem("gpt-image-1.5", "1000x1000") is None  # other rules, not ours to say


def test_cache_round_trip_keyed_by_provider_and_url(tmp_path: Path) -> None:
    now = [1_000_000.0]
    cache = ListingCache(tmp_path / "listings", ttl=3600, clock=lambda: now[0])
    secret_url = "http://user:pa55word-very-secret@127.0.0.1:9/v1"
    SECRETS.add_url(secret_url)  # as Runtime.load does for every URL in config and env
    echoed = ModelInfo("openai", "echo", "guesser", note="served by pa55word-very-secret")
    found = (
        ModelInfo("openai", "gpt-image-2.6-flare", "drawer", shutdown=SOON, options={"a": 1}),
        echoed,  # a server that echoes a secret into its listing
    )
    cache.save(Listing("openai", secret_url, now[0], found))
    assert cache.load("openai", "http://127.0.0.1:9/v1") is None  # another endpoint
    assert cache.load("deepinfra", secret_url) is None  # another provider name
    listing = cache.load("openai", secret_url)
    assert listing is not None and cache.fresh(listing)
    m, echo = listing.models
    assert echo.note == "served by ***"
    assert (m.name, m.kind, m.shutdown, dict(m.options), m.discovered) == (
        "gpt-image-2.6-flare",
        "drawer",
        SOON,
        {"a": 1},
        True,
    )
    files = list((tmp_path / "listings").iterdir())
    assert len(files) == 1 and "pa55word" not in files[0].name + files[0].read_text()
    now[0] += 3601
    assert not cache.fresh(listing) and age_text(cache.age(listing)) == "1 h ago"
    files[0].write_text("{not json")
    assert cache.load("openai", secret_url) is None  # a broken cache is no cache


# -- the OpenAI provider's listing ------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    api = FakeOpenAI(key=KEY, models=GPT_IMAGE + DALLE + CHAT).start()
    yield api  # type: ignore[misc]
    api.stop()


def make(fake: FakeOpenAI) -> OpenAIProvider:
    table = {"base_url": fake.url + "/v1", "compatible": False}
    return provider(ProviderContext(settings=table, get_key=lambda name: KEY))  # type: ignore[return-value]


async def test_discover_brings_shutdown_dates(fake: FakeOpenAI) -> None:
    fake.shutdown = {"gpt-image-2.5-sunburst": PAST, "gpt-6-luna": SOON}
    fake.models += ("gpt-image-7-preview", "text-embedding-9")
    p = make(fake)
    found = await p.discover()
    assert fake.requests[-1].path == "/v1/models"
    assert fake.requests[-1].header("Authorization") == f"Bearer {KEY}"
    shown = {(m.kind, m.name): m for m in p.models()}
    assert shown[("drawer", "gpt-image-2.5-sunburst")].shutdown == PAST  # the listing's word
    assert shown[("guesser", "gpt-6-luna")].shutdown == SOON
    assert shown[("drawer", "gpt-image-1.5")].shutdown == "2026-12-01"  # the preset's
    assert shown[("drawer", "gpt-image-7-preview")].discovered  # named like an image model
    assert not any(m.name == "text-embedding-9" for m in found)  # what it does is unknown
    await p.aclose()


async def test_missing_from_listing_is_a_warning(fake: FakeOpenAI) -> None:
    fake.listing = tuple(m for m in fake.models if m != "gpt-image-2.6-flare")
    p = make(fake)
    flare = p.model("gpt-image-2.6-flare", "drawer")
    assert flare is not None
    avail = await p.check(flare)
    assert avail.ok and avail.warning and "does not show it" in avail.reason
    picture = await p.drawer(flare).draw("a cat")  # and the call itself works
    assert picture.width == 1024
    await p.aclose()


async def test_flare_cost_from_usage_and_top_quality_fallback(fake: FakeOpenAI) -> None:
    options = {"size": "1536x864", "quality": "max", "complexity": "low"}
    table = {
        "base_url": fake.url + "/v1",
        "compatible": False,
        "models": [{"name": "gpt-image-2.6-flare", "kind": "drawer", "options": options}],
    }
    p: Any = provider(ProviderContext(settings=table, get_key=lambda name: KEY))
    flare = p.model("gpt-image-2.6-flare", "drawer")
    pic = await p.drawer(flare).draw("a doodle of a cat riding a bicycle")
    body = fake.requests[-1].json
    assert body == {
        "model": "gpt-image-2.6-flare",
        "prompt": "a doodle of a cat riding a bicycle",
        "size": "1536x864",
        "quality": "max",
        "output_format": "png",
        "complexity": "low",
    }
    assert (pic.width, pic.height) == (1536, 864)
    assert pic.cost == pytest.approx((8 * 5.00 + 0 * 8.00 + 272 * 30.00) / 1e6)
    assert pic.extras["usage"]["output_tokens"] == 272
    fake.reject_top_quality = True  # a proxy that says 400 to xhigh/max: asked again at high
    pic = await p.drawer(flare).draw("a doodle of a cat riding a bicycle")
    qualities = [r.json["quality"] for r in fake.requests[-2:]]
    assert qualities == ["max", "high"] and pic.cost is not None
    await p.aclose()


# -- the command -------------------------------------------------------------------------------


def env_for(home: Path, fake: FakeOpenAI) -> dict[str, str]:
    config = home / "config.toml"
    home.mkdir(parents=True, exist_ok=True)
    # `compatible = false`: this loopback URL stands for api.openai.com (its rules and dates)
    config.write_text("[providers.openai]\ncompatible = false\n")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("OPENAI_", "RUNPOD_", "OLLAMA_", "GEMINI_", "GOOGLE_", "TELESTRATIONS_")
        )
    }
    return env | {
        "TELESTRATIONS_CONFIG": str(config),
        "TELESTRATIONS_DATA_DIR": str(home / "data"),
        "TELESTRATIONS_KEYS": str(home / "keys.json"),
        "OPENAI_API_KEY": KEY,
        "OPENAI_BASE_URL": f"{fake.url}/v1",
        "OLLAMA_HOST": "http://127.0.0.1:9",  # nothing there: no stray local server answers
    }


def tele(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "telestrations", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )


def row(out: str, model_id: str) -> str | None:
    return next((x for x in out.splitlines() if x.split()[:1] == [model_id]), None)


def test_models_hides_shut_down_marks_soon_and_refuses(tmp_path: Path, fake: FakeOpenAI) -> None:
    fake.shutdown = {"gpt-image-2.5-sunburst": PAST, "gpt-6-luna": SOON, "gpt-5-mini": PAST}
    env = env_for(tmp_path / "home", fake)
    out = tele(env, "models")
    assert out.returncode == 0, out.stderr
    assert row(out.stdout, "openai:gpt-image-2.5-sunburst") is None  # past its date: hidden
    assert row(out.stdout, "openai:gpt-5-mini") is None
    luna = row(out.stdout, "openai:gpt-6-luna")
    assert luna is not None and f"shuts down {SOON}" in luna and " ok " in luna
    assert "openai: listed just now" in out.stdout
    out = tele(env, "models", "--all")
    sunburst = row(out.stdout, "openai:gpt-image-2.5-sunburst")
    assert sunburst is not None and f"shut down {PAST}" in sunburst and " no " in sunburst
    mini = row(out.stdout, "openai:gpt-5-mini")
    assert mini is not None and "replaced by openai:gpt-6.1-terra" in mini
    data = json.loads(tele(env, "models", "--all", "--json").stdout)
    entry = next(m for m in data if m["id"] == "openai:gpt-5-mini")
    assert (entry["state"], entry["shutdown"], entry["available"]) == ("gone", PAST, False)
    # Chosen anyway (a flag, a saved state, a config default): refused before any call,
    # in one line naming the replacement; nothing is drawn.
    posts_before = sum(r.method == "POST" for r in fake.requests)
    out = tele(env, "run", "--rounds", "1", "--prompt", "a cat", "--guesser", "openai:gpt-5-mini")
    assert out.returncode == 2
    assert f"openai:gpt-5-mini was shut down on {PAST}" in out.stderr
    assert "use openai:gpt-6.1-terra instead" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    out = tele(env, "run", "--rounds", "1", "--prompt", "a cat", "--drawer", "openai:dall-e-3")
    assert out.returncode == 2 and "use openai:gpt-image-2.6-flare instead" in out.stderr
    assert sum(r.method == "POST" for r in fake.requests) == posts_before
    assert KEY not in out.stdout + out.stderr


def test_cached_listing_offline_refresh_and_ttl(tmp_path: Path, fake: FakeOpenAI) -> None:
    fake.models += ("gpt-image-7-preview",)
    env = env_for(tmp_path / "home", fake)
    out = tele(env, "models")
    assert row(out.stdout, "openai:gpt-image-7-preview") is not None
    # The listing changes: a fresh cache is used as it is (no call), --refresh asks now.
    fake.models += ("gpt-image-8-preview",)
    listed = sum(r.path == "/v1/models" for r in fake.requests)
    out = tele(env, "models", "--no-check")
    assert row(out.stdout, "openai:gpt-image-8-preview") is None
    assert "openai: cached list from just now" in out.stdout
    assert sum(r.path == "/v1/models" for r in fake.requests) == listed
    out = tele(env, "models", "--refresh")
    assert row(out.stdout, "openai:gpt-image-8-preview") is not None
    # Older than the time-to-live: fetched again without being asked.
    fake.models += ("gpt-image-9-preview",)
    (cache,) = (tmp_path / "home" / "data" / "listings").glob("openai-*.json")
    saved = json.loads(cache.read_text())
    saved["fetched_at"] = time.time() - 25 * 3600
    cache.write_text(json.dumps(saved))
    out = tele(env, "models")
    assert row(out.stdout, "openai:gpt-image-9-preview") is not None
    # The service goes away: the cached listing still fills the list, marked with its age.
    saved = json.loads(cache.read_text())
    saved["fetched_at"] = time.time() - 3 * 3600 - 60
    cache.write_text(json.dumps(saved))
    fake.stop()
    out = tele(env, "models", "--refresh")
    assert out.returncode == 0, out.stderr
    assert row(out.stdout, "openai:gpt-image-9-preview") is not None
    assert "openai: cached list from 3 h ago (the service did not answer" in out.stdout
    out = tele(env, "models", "--no-check", "--json")
    entry = next(m for m in json.loads(out.stdout) if m["id"] == "openai:gpt-image-9-preview")
    assert entry["listing"] == "cached list from 3 h ago"


def test_missing_from_listing_warns_and_the_game_plays(tmp_path: Path, fake: FakeOpenAI) -> None:
    fake.listing = tuple(m for m in fake.models if m != "gpt-image-2.6-flare")  # launch day
    env = env_for(tmp_path / "home", fake)
    out = tele(
        env,
        "run",
        "--rounds",
        "1",
        "--prompt",
        "a cat on a bicycle",
        "--drawer",
        "openai:gpt-image-2.6-flare",
        "--guesser",
        "openai:gpt-6-luna",
    )
    assert out.returncode == 0, out.stderr
    warnings = [x for x in out.stderr.splitlines() if "does not show it" in x]
    assert len(warnings) == 1 and "drawer openai:gpt-image-2.6-flare" in warnings[0]
    assert "game kept in" in out.stdout
    assert [r.json["model"] for r in fake.requests if r.method == "POST"] == [
        "gpt-image-2.6-flare",
        "gpt-6-luna",
    ]
