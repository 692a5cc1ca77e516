"""The optional semantic drift measure against loopback servers that speak Ollama's
``/api/embed`` and OpenAI's ``/v1/embeddings`` as documented, through the real httpx stack."""

from __future__ import annotations

import json
import logging
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from telestrations.embeddings import Embedder, EmbeddingError, cosine, embedder_for
from telestrations.game import Game, Limits, Settings
from telestrations.store import GameDir, Store
from telestrations.text import SECRETS
from tests.fakes.server import FakeAPI, Reply, Request, json_reply
from tests.test_drift import Models

KEY = "sk-proj-EMBEDDINGKEY0123456789abcdef"
FIRST = "a red house under a yellow sun"
CAPTIONS = ["a house under a sun", "a boat on the sea", "a house by the sea"]


def vector(text: str) -> list[float]:
    """A deterministic embedding: letter counts (texts sharing letters point the same way)."""
    return [float(text.lower().count(c)) for c in "abcdefghijklmnopqrstuvwxyz"]


class FakeOllamaEmbed(FakeAPI):
    """``POST /api/embed``: ``input`` a string or a list; unknown model 404, as Ollama says."""

    def handle(self, req: Request) -> Reply:
        if (req.method, req.path) != ("POST", "/api/embed"):
            return Reply(404, "404 page not found", {"Content-Type": "text/plain"})
        body = req.json
        if body.get("model") != "nomic-embed-text":
            msg = f'model "{body.get("model")}" not found, try pulling it first'
            return json_reply(404, {"error": msg})
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        return json_reply(
            200,
            {
                "model": "nomic-embed-text",
                "embeddings": [vector(t) for t in texts],
                "total_duration": 14143917,
                "load_duration": 1019500,
                "prompt_eval_count": 8,
            },
        )


class FakeOpenAIEmbed(FakeAPI):
    """``POST /v1/embeddings`` with a bearer key; ``data`` rows carry their ``index`` and come
    back in any order (clients must sort by it)."""

    def handle(self, req: Request) -> Reply:
        if req.header("Authorization") != f"Bearer {KEY}":
            given = req.header("Authorization") or ""
            err = {
                "message": f"Incorrect API key provided: {given[7:]}",
                "type": "invalid_request_error",
                "code": "invalid_api_key",
            }
            return json_reply(401, {"error": err})
        body = req.json
        rows = [
            {"object": "embedding", "index": i, "embedding": vector(t)}
            for i, t in enumerate(body["input"])
        ]
        random.Random(len(rows)).shuffle(rows)
        usage = {"prompt_tokens": 8, "total_tokens": 8}
        return json_reply(
            200, {"object": "list", "data": rows, "model": body["model"], "usage": usage}
        )


@pytest.fixture
def ollama() -> Iterator[FakeOllamaEmbed]:
    api = FakeOllamaEmbed().start()
    yield api  # type: ignore[misc]
    api.stop()


@pytest.fixture
def openai() -> Iterator[FakeOpenAIEmbed]:
    api = FakeOpenAIEmbed().start()
    yield api  # type: ignore[misc]
    api.stop()


async def play(tmp_path: Path, embedder: Embedder, rounds: int = 3) -> GameDir:
    game_dir = Store(tmp_path).new_game(FIRST, {})
    game = Game(
        game_dir,
        Models(CAPTIONS),
        Settings(drawer="d", guesser="g"),
        Limits(rounds=rounds),
        embedder=embedder,
    )  # type: ignore[arg-type]
    game.start()
    await game.wait()
    assert game.reason == f"finished round {rounds}"
    return GameDir.open(game_dir.path)


def expected(first: str, previous: str, caption: str) -> dict[str, float]:
    return {
        "semantic_to_first_prompt": round(cosine(vector(first), vector(caption)), 3),
        "semantic_to_previous": round(cosine(vector(previous), vector(caption)), 3),
    }


async def test_ollama_embeddings_are_journalled_each_text_asked_once(
    tmp_path: Path, ollama: FakeOllamaEmbed
) -> None:
    embedder = embedder_for("ollama:nomic-embed-text", {"OLLAMA_HOST": ollama.url}, lambda _: None)
    assert embedder is not None
    game = await play(tmp_path, embedder)
    sims = [r.similarity for r in game.records if r.kind == "describe"]
    previous = [FIRST, *CAPTIONS[:-1]]
    for sim, prev, caption in zip(sims, previous, CAPTIONS, strict=True):
        assert sim is not None
        assert {k: v for k, v in sim.items() if k.startswith("semantic")} == expected(
            FIRST, prev, caption
        )
        assert "to_first_prompt" in sim and "to_previous" in sim  # the text measure too
    asked = [t for req in ollama.requests for t in req.json["input"]]
    assert sorted(asked) == sorted([FIRST, *CAPTIONS])  # every text embedded exactly once


async def test_openai_compatible_embeddings_sorted_by_index(
    tmp_path: Path, openai: FakeOpenAIEmbed
) -> None:
    env = {"OPENAI_BASE_URL": f"{openai.url}/v1"}
    embedder = embedder_for(
        "openai:text-embedding-3-small", env, lambda name: KEY if name == "openai" else None
    )
    assert embedder is not None
    game = await play(tmp_path, embedder, rounds=2)
    last = [r for r in game.records if r.kind == "describe"][-1].similarity
    assert last is not None
    assert (
        last["semantic_to_previous"]
        == expected(FIRST, CAPTIONS[0], CAPTIONS[1])["semantic_to_previous"]
    )
    assert all(req.path == "/v1/embeddings" for req in openai.requests)


async def test_a_failing_service_costs_the_figures_never_the_turn(
    tmp_path: Path, openai: FakeOpenAIEmbed, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "sk-proj-WRONGKEY9876543210zyxwvu"
    SECRETS.add(wrong)
    env = {"OPENAI_BASE_URL": f"{openai.url}/v1"}
    embedder = embedder_for("openai:text-embedding-3-small", env, lambda _: wrong)
    assert embedder is not None
    with caplog.at_level(logging.WARNING):
        game = await play(tmp_path, embedder, rounds=2)
    describes = [r for r in game.records if r.kind == "describe"]
    assert all(
        r.ok and set(r.similarity or {}) == {"to_first_prompt", "to_previous"} for r in describes
    )
    assert "HTTP 401" in caplog.text and "***" in caplog.text and wrong not in caplog.text


async def test_unknown_ollama_model_is_a_clear_error(ollama: FakeOllamaEmbed) -> None:
    embedder = Embedder("ollama", ollama.url, "nomic-embed-txt")
    with pytest.raises(EmbeddingError, match="try pulling it first"):
        await embedder.vectors(["a cat"])


def test_embedder_specs() -> None:
    assert embedder_for("", {}, lambda _: None) is None
    default = embedder_for("ollama:m", {}, lambda _: None)
    assert default is not None and default.base_url == "http://127.0.0.1:11434"
    oa = embedder_for("openai:m", {}, lambda _: "k")
    assert oa is not None and oa.base_url == "https://api.openai.com/v1" and oa.key == "k"
    for bad in ("ollama", "gemini:x"):
        with pytest.raises(EmbeddingError):
            embedder_for(bad, {}, lambda _: None)


def test_run_embeddings_flag(isolated_env: Path, ollama: FakeOllamaEmbed) -> None:
    env = {**os.environ, "OLLAMA_HOST": ollama.url}
    base = [sys.executable, "-m", "telestrations", "run", "--prompt", FIRST, "--rounds", "1"]
    flag = ["--embeddings", "ollama:nomic-embed-text", "--json"]
    out = subprocess.run([*base, *flag], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    describe = [json.loads(line) for line in out.stdout.splitlines()][1]
    want = expected(FIRST, FIRST, describe["output"])
    assert describe["similarity"]["semantic_to_first_prompt"] == want["semantic_to_first_prompt"]
    show = subprocess.run(
        [sys.executable, "-m", "telestrations", "show", "last"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    first = want["semantic_to_first_prompt"]
    assert f"(embeddings: {first:.2f} / {first:.2f})" in show.stdout.splitlines()[-1]
    bad = subprocess.run(
        [*base, "--embeddings", "gemini:x"], capture_output=True, text=True, timeout=60, env=env
    )
    assert bad.returncode == 2 and "ollama or openai" in bad.stderr
