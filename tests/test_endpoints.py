"""Named OpenAI-compatible endpoints (``[providers.NAME] type = "openai"``): config validation,
keys under NAME with their own environment variable, extra headers (secret ones redacted),
discovery through each endpoint's own ``/models``, and two endpoints in one game, each
answered by its own loopback server that sees only its own key."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from telestrations.config import ConfigError, load_config
from telestrations.providers.base import ProviderError
from telestrations.providers.listings import offered, state_note
from telestrations.providers.openai.endpoint import listed_kinds
from telestrations.runtime import Runtime
from telestrations.session import Checks
from telestrations.store import GameDir
from telestrations.text import SECRETS, header_secrets, looks_like_token
from tests.fakes.hostile import forms, make_hostile
from tests.fakes.openai_api import FakeOpenAI, error
from tests.fakes.server import Reply, json_reply

ALPHA_KEY = "alpha-KEY-0123456789abcdefghij"
BETA_KEY = "beta-KEY-9876543210zyxwvutsrq"
HEADER_SECRET = "hdr9f8e7d6c5b4a3f2e1d0c9b8a7"


@pytest.fixture
def alpha() -> Iterator[FakeOpenAI]:
    api = FakeOpenAI(key=ALPHA_KEY, compat=True)
    api.start()
    yield api
    api.stop()


@pytest.fixture
def beta() -> Iterator[FakeOpenAI]:
    api = FakeOpenAI(key=BETA_KEY, compat=True)
    api.start()
    yield api
    api.stop()


def write_config(home: Path, text: str) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.toml"
    path.write_text(text)
    return path


def two_endpoints(alpha: FakeOpenAI, beta: FakeOpenAI) -> str:
    return f"""
[providers.alpha]
type = "openai"
base_url = "{alpha.url}/v1"
headers = {{ "X-Team" = "red", "X-Api-Token" = "{HEADER_SECRET}" }}

[providers.beta]
type = "openai"
base_url = "{beta.url}/v1"
api_key_env = "BETA_TOKEN"
stream = false
"""


def tele(*args: str, env: dict[str, str], stdin: str | None = None) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "telestrations", *args],
        capture_output=True,
        text=True,
        timeout=90,
        input=stdin,
        env={**os.environ, **env},
    )


# -- config ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "said"),
    [
        ('type = "nope"\nbase_url = "http://x/v1"', "type 'nope' is unknown (types: openai)"),
        ('type = "gemini"', "type 'gemini' cannot be declared under another name"),
        ('type = "openai"', "a named endpoint needs base_url"),
        ('type = "openai"\nbase_url = "ftp://x"', "base_url must be an http(s) URL"),
        ('type = "openai"\nbase_url = "localhost:1234"', "base_url must be an http(s) URL"),
        ('type = "openai"\nbase_url = "http://x/v1"\napi_key_env = "A B"', "api_key_env must"),
        ('type = "openai"\nbase_url = "http://x/v1"\nstrem = true', "did you mean 'stream'?"),
        ('type = "openai"\nbase_url = "http://x/v1"\nheaders = { A = 1 }', "headers.A must be"),
    ],
)
def test_a_bad_named_endpoint_is_one_clear_error(isolated_env: Path, table: str, said: str) -> None:
    path = write_config(isolated_env, f"[providers.deepinfra]\n{table}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(f"{path}: [providers.deepinfra] ")
    assert said in str(err.value)


@pytest.mark.parametrize("name", ["openai", "ollama", "openrouter"])
def test_a_built_in_name_cannot_be_taken(isolated_env: Path, name: str) -> None:
    path = write_config(
        isolated_env, f'[providers.{name}]\ntype = "openai"\nbase_url = "http://x"\n'
    )
    with pytest.raises(ConfigError, match=f"{name} is a built-in provider"):
        load_config(path)


@pytest.mark.parametrize("name", ["DeepInfra", "my:box", "9lives"])
def test_a_name_must_fit_a_model_id(isolated_env: Path, name: str) -> None:
    path = write_config(
        isolated_env, f'[providers."{name}"]\ntype = "openai"\nbase_url = "http://x/v1"\n'
    )
    with pytest.raises(ConfigError, match="lower-case letters, digits"):
        load_config(path)


def test_each_endpoint_is_a_provider_with_its_own_key_variable(
    isolated_env: Path, alpha: FakeOpenAI, beta: FakeOpenAI
) -> None:
    write_config(isolated_env, two_endpoints(alpha, beta))
    config = load_config()
    assert {n: s.key.env for n, s in config.instances.items() if s.key} == {
        "alpha": "ALPHA_API_KEY",
        "beta": "BETA_TOKEN",
    }
    runtime = Runtime.load(env={**os.environ, "ALPHA_API_KEY": ALPHA_KEY, "BETA_TOKEN": BETA_KEY})
    assert {"alpha", "beta", "openai"} <= set(runtime.registry.providers)
    assert runtime.registry.failures == []
    a = runtime.registry.providers["alpha"]
    assert (a.title, a.key, a.base_url) == ("alpha", ALPHA_KEY, f"{alpha.url}/v1")
    assert runtime.registry.providers["beta"].key == BETA_KEY
    assert runtime.registry.providers["openai"].key == ""  # OpenAI's own key is not theirs
    assert [m for m in a.models() if not m.discovered] == []  # no OpenAI presets on DeepInfra
    _, model = runtime.registry.resolve("alpha:anything-at-all", "drawer")
    assert model.id == "alpha:anything-at-all"  # any name the server serves
    for secret in (ALPHA_KEY, BETA_KEY, HEADER_SECRET):  # known to the one redactor
        assert secret not in SECRETS.redact(f"x {secret} y")


def test_openai_base_url_does_not_move_a_named_endpoint(
    isolated_env: Path, alpha: FakeOpenAI, beta: FakeOpenAI
) -> None:
    write_config(isolated_env, two_endpoints(alpha, beta))
    runtime = Runtime.load(env={**os.environ, "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"})
    assert runtime.registry.providers["openai"].base_url == "http://127.0.0.1:9/v1"
    assert runtime.registry.providers["alpha"].base_url == f"{alpha.url}/v1"


def test_header_secrets_are_told_from_plain_values() -> None:
    found = header_secrets(
        {
            "X-Title": "My doodle game",
            "HTTP-Referer": "https://example.org/app",
            "X-Api-Key": "short1",
            "Authorization": "Bearer tok-ABC123def456ghi789",
            "X-Custom": HEADER_SECRET,
            "X-Version": "2026-11-30",
        }
    )
    assert found == [
        "short1",
        "Bearer tok-ABC123def456ghi789",
        "tok-ABC123def456ghi789",
        HEADER_SECRET,
    ]
    assert not looks_like_token("https://example.org/a1b2c3d4e5f6g7h8i9")
    assert not looks_like_token("abcdefghijklmnopqrstuvwxyz")  # letters only: a word


# -- discovery -----------------------------------------------------------------------------------


def test_kinds_from_what_a_listing_says() -> None:
    assert listed_kinds({"id": "black-forest-labs/FLUX-1-schnell"}) == ("drawer",)
    assert listed_kinds({"id": "stabilityai/sdxl-turbo"}) == ("drawer",)
    assert listed_kinds({"id": "llava-v1.6-mistral-7b"}) == ("guesser",)
    assert listed_kinds({"id": "text-embedding-3-small"}) == ()
    assert listed_kinds({"id": "whisper-1"}) == ()
    assert listed_kinds({"id": "m", "type": "image"}) == ("drawer",)  # Together's listing
    assert listed_kinds({"id": "m", "type": "embedding"}) == ()
    both = {
        "id": "g",
        "architecture": {
            "input_modalities": ["text", "image"],
            "output_modalities": ["text", "image"],
        },
    }
    assert listed_kinds(both) == ("drawer", "guesser")
    text_only = {
        "id": "t",
        "architecture": {"input_modalities": ["text"], "output_modalities": ["text"]},
    }
    assert listed_kinds(text_only) == ()


async def test_each_endpoint_discovers_through_its_own_models(
    isolated_env: Path, alpha: FakeOpenAI, beta: FakeOpenAI
) -> None:
    today = dt.date.today()
    soon = (today + dt.timedelta(days=10)).isoformat()

    def entry(name: str, shutdown: str | None = None) -> dict[str, Any]:
        return {
            "id": name,
            "object": "model",
            "created": 1,
            "owned_by": "me",
            "shutdown_date": shutdown,
        }

    alpha.models = ("stablediffusion", "llava-v1.6", "text-embedding-3-small", "whisper-1")
    listing = [entry("qwen2.5-vl"), entry("old-vision", "2026-01-01"), entry("next-vision", soon)]
    beta.script.append(json_reply(200, {"object": "list", "data": listing}))
    await asyncio.to_thread(write_config, isolated_env, two_endpoints(alpha, beta))
    runtime = Runtime.load(env={**os.environ, "ALPHA_API_KEY": ALPHA_KEY, "BETA_TOKEN": BETA_KEY})
    try:
        await Checks(runtime).discover()
    finally:
        await runtime.aclose()
    a = {(m.kind, m.name) for m in runtime.registry.providers["alpha"].models()}
    assert a == {("drawer", "stablediffusion"), ("guesser", "llava-v1.6")}
    b = {m.name: m for m in runtime.registry.providers["beta"].models()}
    assert {m.name for m in offered(b.values(), today)} == {"qwen2.5-vl", "next-vision"}
    assert state_note(b["next-vision"], today) == f"shuts down {soon}"
    assert state_note(b["old-vision"], today) == "shut down 2026-01-01"  # only with --all
    assert all(m.provider == "beta" and m.discovered for m in b.values())
    (listed,) = [r for r in alpha.requests if r.path == "/v1/models"]
    assert listed.header("Authorization") == f"Bearer {ALPHA_KEY}"
    assert listed.header("X-Team") == "red" and listed.header("X-Api-Token") == HEADER_SECRET
    (other,) = [r for r in beta.requests if r.path == "/v1/models"]
    assert other.header("Authorization") == f"Bearer {BETA_KEY}" and other.header("X-Team") is None


def test_models_shows_each_endpoints_listing_and_hides_shut_down_ones(
    isolated_env: Path, alpha: FakeOpenAI, beta: FakeOpenAI
) -> None:
    alpha.models = ("stablediffusion", "llava-v1.6")
    old = {"id": "old-vision", "object": "model", "created": 1, "owned_by": "me"}
    beta.script.append(
        json_reply(200, {"object": "list", "data": [{**old, "shutdown_date": "2026-01-01"}]})
    )
    write_config(isolated_env, two_endpoints(alpha, beta))
    env = {"ALPHA_API_KEY": ALPHA_KEY, "BETA_TOKEN": BETA_KEY}
    out = tele("models", env=env)
    assert out.returncode == 0, out.stderr
    assert "alpha:stablediffusion" in out.stdout and "alpha:llava-v1.6" in out.stdout
    assert "beta:old-vision" not in out.stdout
    every = tele("models", "--all", "--no-check", env=env)  # the cached listing, offline
    assert "beta:old-vision" in every.stdout and "shut down 2026-01-01" in every.stdout


# -- two endpoints, one game ---------------------------------------------------------------------


def test_keys_set_name_then_a_game_drawn_on_one_and_described_on_the_other(
    isolated_env: Path, alpha: FakeOpenAI, beta: FakeOpenAI
) -> None:
    write_config(isolated_env, two_endpoints(alpha, beta))
    stored = tele("keys", "set", "alpha", env={}, stdin=ALPHA_KEY + "\n")
    assert stored.returncode == 0, stored.stderr
    assert "stored alpha key" in stored.stdout and ALPHA_KEY not in stored.stdout
    listed = tele("keys", "list", env={"BETA_TOKEN": BETA_KEY})
    assert "alpha" in listed.stdout and "keys file" in listed.stdout
    assert "env BETA_TOKEN" in listed.stdout and BETA_KEY not in listed.stdout
    refused = tele("keys", "set", "gamma", env={}, stdin="x-key-1234\n")
    assert refused.returncode == 2 and "alpha" in refused.stderr and "beta" in refused.stderr

    out = tele(
        "run",
        "--rounds",
        "2",
        "--json",
        "-vv",
        "--prompt",
        "a red house",
        "--drawer",
        "alpha:gpt-image-2",
        "--guesser",
        "beta:gpt-4o-mini",
        env={"BETA_TOKEN": BETA_KEY},
    )
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    turns = [r for r in lines if r.get("kind") in ("draw", "describe")]
    assert [(r["kind"], r["model"], r["status"]) for r in turns] == [
        ("draw", "alpha:gpt-image-2", "ok"),
        ("describe", "beta:gpt-4o-mini", "ok"),
    ] * 2
    assert "purple circle" in turns[1]["output"]
    draws = [r for r in alpha.requests if r.method == "POST"]
    described = [r for r in beta.requests if r.method == "POST"]
    assert [r.path for r in draws] == ["/v1/images/generations"] * 2
    assert [r.path for r in described] == ["/v1/chat/completions"] * 2
    for r in alpha.requests:  # each server got its own key, and only it
        assert r.header("Authorization") == f"Bearer {ALPHA_KEY}"
        assert r.header("X-Team") == "red" and r.header("X-Api-Token") == HEADER_SECRET
    for r in beta.requests:
        assert r.header("Authorization") == f"Bearer {BETA_KEY}"
        assert r.header("X-Api-Token") is None
    assert described[0].json["max_tokens"] == 60 and "stream" not in described[0].json
    assert draws[1].json["prompt"].endswith(turns[1]["output"])  # round 2 draws the caption
    game = GameDir.open(Path(lines[-1]["folder"]))
    assert [r.model for r in game.records] == ["alpha:gpt-image-2", "beta:gpt-4o-mini"] * 2


def test_errors_name_the_endpoint_and_leak_no_secret(
    isolated_env: Path, alpha: FakeOpenAI, beta: FakeOpenAI
) -> None:
    write_config(isolated_env, two_endpoints(alpha, beta))
    echo = f"Incorrect API key provided: {ALPHA_KEY} (header {HEADER_SECRET})"
    alpha.script.append(error(401, echo, "invalid_request_error", "invalid_api_key"))
    out = tele(
        "run",
        "--no-check",
        "-vv",
        "--prompt",
        "a cat",
        "--drawer",
        "alpha:gpt-image-2",
        "--guesser",
        "doodle",
        env={"ALPHA_API_KEY": ALPHA_KEY},
    )
    assert out.returncode == 1
    text = out.stdout + out.stderr
    assert "FAILED auth" in out.stdout and f"alpha ({alpha.url}/v1) rejected the key" in out.stdout
    assert "keys set alpha" in out.stdout and "ALPHA_API_KEY" in out.stdout
    for secret in (ALPHA_KEY, HEADER_SECRET):
        for form in forms(secret):
            assert form not in text
    for path in isolated_env.rglob("*"):
        if path.is_file() and path.name not in ("config.toml", "keys.json"):
            data = path.read_bytes()
            assert ALPHA_KEY.encode() not in data and HEADER_SECRET.encode() not in data, path


async def test_no_key_sent_when_none_is_set_and_a_401_says_which_key(
    isolated_env: Path, alpha: FakeOpenAI, beta: FakeOpenAI
) -> None:
    await asyncio.to_thread(write_config, isolated_env, two_endpoints(alpha, beta))
    runtime = Runtime.load(env=dict(os.environ))
    try:
        drawer = runtime.models().drawer("alpha:gpt-image-2")  # a key is optional there
        with pytest.raises(ProviderError) as err:
            await drawer.draw("a cat")
    finally:
        await runtime.aclose()
    assert err.value.kind == "auth" and "alpha" in err.value.message
    assert "keys set alpha" in err.value.hint and "ALPHA_API_KEY" in err.value.hint
    assert alpha.requests[0].header("Authorization") is None


async def test_a_stop_cancels_a_named_endpoints_call(
    isolated_env: Path, alpha: FakeOpenAI, beta: FakeOpenAI
) -> None:
    await asyncio.to_thread(write_config, isolated_env, two_endpoints(alpha, beta))
    alpha.script.append(Reply(200, b"", delay=5.0))
    runtime = Runtime.load(env={**os.environ, "ALPHA_API_KEY": ALPHA_KEY})
    try:
        task = asyncio.ensure_future(runtime.models().drawer("alpha:gpt-image-2").draw("a cat"))
        for _ in range(300):
            if alpha.requests:
                break
            await asyncio.sleep(0.01)
        assert alpha.requests, "the request never arrived"
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.monotonic() - started < 1.0
    finally:
        await runtime.aclose()


def test_hostile_endpoints_leak_no_key_and_no_header_secret(
    isolated_env: Path, alpha: FakeOpenAI, beta: FakeOpenAI
) -> None:
    """Both servers echo every secret they were sent (and the other's) into every answer."""
    secrets = (ALPHA_KEY, BETA_KEY, HEADER_SECRET)
    stops = [make_hostile(api, secrets, keep=("b64_json", "id", "object")) for api in (alpha, beta)]
    write_config(isolated_env, two_endpoints(alpha, beta))
    env = {"ALPHA_API_KEY": ALPHA_KEY, "BETA_TOKEN": BETA_KEY}
    outputs = [
        tele(
            "run",
            "--rounds",
            "2",
            "--json",
            "-vv",
            "--prompt",
            "a boat",
            "--drawer",
            "alpha:gpt-image-2",
            "--guesser",
            "beta:gpt-4o-mini",
            env=env,
        ),
        tele("models", "-vv", env=env),
        tele("models", "--json", env=env),
    ]
    for stop in stops:
        stop()
    assert outputs[0].returncode == 0, outputs[0].stderr
    assert "***" in outputs[0].stdout  # the echo arrived, redacted
    found = []
    for out in outputs:
        text = out.stdout + out.stderr
        found += [f for s in secrets for f in forms(s) if f in text]
    for path in isolated_env.rglob("*"):
        if path.is_file() and path.name not in ("config.toml", "keys.json"):
            data = path.read_bytes()
            found += [f"{path}: {f}" for s in secrets for f in forms(s) if f.encode() in data]
    assert found == []


# -- the terminal UI -------------------------------------------------------------------------------


async def test_the_menus_offer_each_endpoints_models_and_a_round_plays(
    isolated_env: Path, alpha: FakeOpenAI, beta: FakeOpenAI
) -> None:
    from telestrations.tui.screens.picker import ModelPicker
    from tests.test_tui_support import main_screen, make_app, settle, wait_for

    alpha.models = ("stablediffusion", "gpt-image-2")
    beta.models = ("llava-v1.6", "gpt-4o-mini")
    await asyncio.to_thread(write_config, isolated_env, two_endpoints(alpha, beta))
    runtime = Runtime.load(env={**os.environ, "ALPHA_API_KEY": ALPHA_KEY, "BETA_TOKEN": BETA_KEY})
    app = make_app(runtime, drawer="doodle:doodle", guesser="doodle:doodle")
    async with app.run_test(size=(120, 40)) as pilot:
        m = main_screen(app)
        providers = runtime.registry.providers

        def discovered() -> bool:
            found = {m.id for name in ("alpha", "beta") for m in providers[name].models()}
            return {"alpha:stablediffusion", "beta:llava-v1.6"} <= found

        await wait_for(pilot, discovered)
        await settle(pilot)
        m.history.focus()
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPicker))
        picker = app.screen
        assert isinstance(picker, ModelPicker)
        ids = {row.model.id for row in picker.rows}
        assert {"alpha:stablediffusion", "alpha:gpt-image-2"} <= ids
        assert not any(i.startswith("beta:") for i in ids)  # beta lists no drawer
        await pilot.press(*"alpha:gpt-image-2")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is m)
        await pilot.press("g")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPicker))
        picker = app.screen
        assert isinstance(picker, ModelPicker)
        assert {"beta:llava-v1.6", "beta:gpt-4o-mini"} <= {r.model.id for r in picker.rows}
        await pilot.press(*"beta:llava-v1.6")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is m)
        assert (m.settings.drawer, m.settings.guesser) == ("alpha:gpt-image-2", "beta:llava-v1.6")
        m.query_one("#prompt").focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: m.game is not None and m.game.rounds_done >= 1, 30)
        records = m.game.records  # type: ignore[union-attr]
        assert [(r.kind, r.model, r.status) for r in records[:2]] == [
            ("draw", "alpha:gpt-image-2", "ok"),
            ("describe", "beta:llava-v1.6", "ok"),
        ]
        await pilot.press("enter")  # pause
    await runtime.aclose()


async def test_advice_names_the_endpoints_own_table(
    isolated_env: Path, alpha: FakeOpenAI, beta: FakeOpenAI
) -> None:
    await asyncio.to_thread(write_config, isolated_env, two_endpoints(alpha, beta))
    alpha.script.append(
        error(400, "Unsupported parameter: 'max_tokens'", "invalid_request_error", None)
    )
    runtime = Runtime.load(env={**os.environ, "ALPHA_API_KEY": ALPHA_KEY})
    try:
        with pytest.raises(ProviderError) as err:
            await runtime.models().drawer("alpha:gpt-image-2").draw("a cat")
    finally:
        await runtime.aclose()
    assert "[providers.alpha]" in err.value.hint and "[providers.openai]" not in err.value.hint
