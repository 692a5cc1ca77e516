"""Every wait is bounded: a turn ends by its provider's deadline, whatever the server does.

Each test points a real provider at a loopback server that misbehaves (trickles one byte at a
time, hangs before or in the middle of an answer, answers 429 forever, keeps a job queued)
and measures that the turn fails as a "timeout" within the configured deadline plus a little
slack, with a hint that names the setting.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Awaitable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from PIL import Image

from telestrations.game import Game, Limits, Settings
from telestrations.providers.automatic1111 import A1111Provider
from telestrations.providers.base import (
    Caption,
    Picture,
    ProviderContext,
    ProviderError,
    partial_captions,
)
from telestrations.providers.http import HttpSettings
from telestrations.providers.ollama import OllamaProvider
from telestrations.providers.openai import OpenAIProvider
from telestrations.providers.runpod import RunPodProvider
from telestrations.store import Store
from tests.fakes.a1111_api import FakeA1111
from tests.fakes.ollama_api import FakeOllama
from tests.fakes.openai_api import CHAT, GPT_IMAGE, FakeOpenAI
from tests.fakes.runpod_api import FakeRunPod
from tests.fakes.server import Reply, json_reply

KEY = "sk-deadline-0123456789abcdef"
TEXT = "a cat riding a bicycle"
DEADLINE = 1.0
SLACK = 0.75
"""Seconds past the deadline a turn may take to end (thread hand-offs on a busy machine)."""

T = TypeVar("T")


def png(size: tuple[int, int] = (32, 24)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


PICTURE = Picture(png(), "png", 32, 24)


async def timed_failure(call: Awaitable[T], within: float = DEADLINE + SLACK) -> ProviderError:
    """Run ``call``; it must fail with a ProviderError in under ``within`` seconds."""
    t0 = time.monotonic()
    with pytest.raises(ProviderError) as err:
        await asyncio.wait_for(call, 30)  # a hang would fail here, not hang the suite
    took = time.monotonic() - t0
    assert took < within, f"took {took:.2f}s, more than {within:.2f}s"
    return err.value


def assert_deadline(err: ProviderError, kind: str, section: str) -> None:
    assert err.kind == "timeout", err
    assert f"{kind}_deadline under [providers.{section}]" in err.hint
    assert f"within {DEADLINE:g} s" in err.message
    assert KEY not in str(err)


# -- OpenAI ------------------------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    api = FakeOpenAI(key=KEY, models=GPT_IMAGE + CHAT)
    api.start()
    yield api
    api.stop()


def openai(fake: FakeOpenAI, **settings: Any) -> OpenAIProvider:
    table = {"base_url": fake.url + "/v1", "compatible": False, **settings}
    return OpenAIProvider(
        ProviderContext(settings=table, get_key=lambda name: KEY if name == "openai" else None)
    )


async def draw_with(p: OpenAIProvider, name: str = "gpt-image-1") -> Picture:
    model = p.model(name, "drawer")
    assert model is not None
    try:
        return await p.drawer(model).draw(TEXT)
    finally:
        await p.aclose()


async def describe_with(p: OpenAIProvider | OllamaProvider, name: str) -> Caption:
    model = p.model(name, "guesser")
    assert model is not None
    try:
        return await p.guesser(model).describe(PICTURE, "system", "describe")
    finally:
        await p.aclose()


async def test_a_body_trickling_a_byte_at_a_time_ends_at_the_deadline(fake: FakeOpenAI) -> None:
    """httpx's read timeout (300 s by default) never trips on a byte every 50 ms."""
    fake.script.append(Reply(200, b'{"data": [{"b64_json": "AAAA', trickle=0.05))
    err = await timed_failure(draw_with(openai(fake, draw_deadline=DEADLINE)))
    assert_deadline(err, "draw", "openai")


async def test_a_server_that_hangs_before_answering_ends_at_the_deadline(
    fake: FakeOpenAI,
) -> None:
    """Defaults: read_timeout 300 s × 3 attempts used to hold the turn for 15 minutes."""
    fake.script.append(Reply(200, {"data": []}, delay=3.0))
    err = await timed_failure(draw_with(openai(fake, draw_deadline=DEADLINE)))
    assert_deadline(err, "draw", "openai")


async def test_a_stream_that_stops_mid_caption_ends_at_the_describe_deadline(
    fake: FakeOpenAI,
) -> None:
    fake.token_delay = 0.4  # a word now and then: the caption outlasts the deadline
    seen: list[str] = []
    with partial_captions(seen.append):
        err = await timed_failure(describe_with(openai(fake, describe_deadline=DEADLINE), "gpt-4o"))
    assert_deadline(err, "describe", "openai")
    assert seen, "the words before the hang were shown as they came"


@pytest.mark.parametrize("retry_after", [None, "0.2"])
async def test_a_429_storm_ends_at_the_deadline(
    fake: FakeOpenAI, retry_after: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    headers = {"Retry-After": retry_after} if retry_after else {}
    storm = {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit"}}
    for _ in range(200):
        fake.script.append(json_reply(429, storm, **headers))
    settings = {"draw_deadline": DEADLINE, "max_retries": 100}
    err = await timed_failure(draw_with(openai(fake, **settings)))
    assert_deadline(err, "draw", "openai")
    assert "last: HTTP 429" in err.message and "Rate limit reached" in err.message
    assert len(fake.requests) >= 2, "it did retry while there was time"
    assert KEY not in caplog.text


async def test_a_wait_longer_than_the_time_left_fails_now(fake: FakeOpenAI) -> None:
    """Retry-After 30 s with 1 s left: sleeping into the deadline would help nobody."""
    fake.script.append(json_reply(429, {"error": {"message": "busy"}}, **{"Retry-After": "30"}))
    err = await timed_failure(draw_with(openai(fake, draw_deadline=DEADLINE)), within=0.5)
    assert_deadline(err, "draw", "openai")
    assert len(fake.requests) == 1


async def test_within_the_deadline_nothing_changes(fake: FakeOpenAI) -> None:
    fake.script.append(json_reply(500, {"error": {"message": "oops"}}))
    picture = await draw_with(openai(fake, draw_deadline=DEADLINE))
    assert picture.width > 0
    assert len(fake.requests) == 2


# -- Ollama, AUTOMATIC1111, RunPod -------------------------------------------------------------


async def test_ollama_ndjson_stream_that_hangs_ends_at_the_describe_deadline() -> None:
    api = FakeOllama()
    api.start()
    try:
        api.token_delay = 0.4
        p = OllamaProvider(
            ProviderContext(settings={"host": api.url, "describe_deadline": DEADLINE})
        )
        seen: list[str] = []
        with partial_captions(seen.append):
            err = await timed_failure(describe_with(p, "llava"))
        assert_deadline(err, "describe", "ollama")
        assert seen
    finally:
        api.stop()


async def test_a1111_trickle_names_the_deadline_not_read_timeout() -> None:
    api = FakeA1111()
    api.start()
    try:
        api.script.append(Reply(200, b'{"images": ["iVBOR', trickle=0.05))
        p = A1111Provider(
            ProviderContext(settings={"base_url": api.url, "draw_deadline": DEADLINE})
        )
        model = p.model("default", "drawer")
        assert model is not None
        try:
            err = await timed_failure(p.drawer(model).draw(TEXT))
        finally:
            await p.aclose()
        assert_deadline(err, "draw", "automatic1111")
        assert "read_timeout" not in err.hint
    finally:
        api.stop()


async def test_runpod_job_that_never_finishes_ends_at_the_deadline_and_is_cancelled() -> None:
    api = FakeRunPod(key=KEY)
    api.start()
    try:
        api.plan = ["IN_QUEUE"] + ["IN_PROGRESS"] * 10_000
        settings = {
            "base_url": f"{api.url}/v2",
            "poll_interval": 0.05,
            "poll_max": 0.1,
            "draw_deadline": DEADLINE,
        }
        p = RunPodProvider(
            ProviderContext(settings=settings, get_key=lambda n: KEY if n == "runpod" else None)
        )
        model = p.model("sdxl", "drawer")
        assert model is not None
        try:
            err = await timed_failure(p.drawer(model).draw(TEXT))
        finally:
            await p.aclose()
        assert_deadline(err, "draw", "runpod")
        (job_id,) = api.jobs
        assert api.cancelled == [job_id], "the job was cancelled, not left running and billed"
    finally:
        api.stop()


async def test_runpod_deadline_during_runsync_still_cancels_the_job() -> None:
    """The job id only arrives with runsync's answer: the cancel follows it there."""
    api = FakeRunPod(key=KEY)
    api.start()
    try:
        api.plan = ["IN_PROGRESS"] * 10_000
        api.sync_hold = DEADLINE + 0.5  # runsync still holds the request at the deadline
        settings = {"base_url": f"{api.url}/v2", "draw_deadline": DEADLINE}
        p = RunPodProvider(
            ProviderContext(settings=settings, get_key=lambda n: KEY if n == "runpod" else None)
        )
        model = p.model("sdxl", "drawer")
        assert model is not None
        try:
            err = await timed_failure(p.drawer(model).draw(TEXT))
            assert_deadline(err, "draw", "runpod")
        finally:
            await p.aclose()  # waits (briefly) for the late cancel
        (job_id,) = api.jobs
        assert api.cancelled == [job_id]
        assert api.calls("status") == []
    finally:
        api.stop()


# -- settings --------------------------------------------------------------------------------


def test_defaults_fit_real_image_models_and_bound_a_hung_server() -> None:
    base = HttpSettings.from_settings({}, base_url="http://x")
    assert (base.draw_deadline, base.describe_deadline) == (600.0, 180.0)
    # A hung server used to hold a turn for read_timeout × attempts = 15 minutes.
    assert base.draw_deadline < base.read_timeout * (base.max_retries + 1)
    ollama = OllamaProvider(ProviderContext()).http.settings
    assert ollama.describe_deadline == 300.0
    a1111 = A1111Provider(ProviderContext()).http_settings
    assert a1111.draw_deadline == 900.0
    assert a1111.draw_deadline < a1111.read_timeout * (a1111.max_retries + 1)
    runpod = RunPodProvider(ProviderContext(settings={"job_timeout": 300}))
    assert runpod._settings.draw_deadline == 300 + 120, "room after job_timeout to download"
    chosen = RunPodProvider(ProviderContext(settings={"draw_deadline": 50}))
    assert chosen._settings.draw_deadline == 50


@pytest.mark.parametrize("value", [0, -1, "600", True, None])
@pytest.mark.parametrize("key", ["draw_deadline", "describe_deadline"])
def test_bad_deadlines_are_refused_naming_the_key(key: str, value: Any) -> None:
    with pytest.raises(ValueError, match=key):
        HttpSettings.from_settings({key: value}, base_url="http://x")


# -- the engine ------------------------------------------------------------------------------


class _Models:
    def __init__(self, p: OpenAIProvider) -> None:
        self.p = p

    def drawer(self, model_id: str) -> Any:
        model = self.p.model(model_id.partition(":")[2], "drawer")
        assert model is not None
        return self.p.drawer(model)

    def guesser(self, model_id: str) -> Any:
        model = self.p.model(model_id.partition(":")[2], "guesser")
        assert model is not None
        return self.p.guesser(model)


async def test_a_turn_past_its_deadline_fails_and_pauses_the_game(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.script.append(Reply(200, b'{"data": [', trickle=0.05))
    p = openai(fake, draw_deadline=DEADLINE)
    game = Game(
        Store(tmp_path).new_game(TEXT, {}),
        _Models(p),  # type: ignore[arg-type]
        Settings(drawer="openai:gpt-image-1", guesser="openai:gpt-4o"),
        Limits(rounds=1),
    )
    t0 = time.monotonic()
    try:
        game.start()
        await asyncio.wait_for(game.wait(), 30)
    finally:
        await p.aclose()
    assert time.monotonic() - t0 < DEADLINE + SLACK
    assert game.state == "paused"
    assert game.reason.startswith("timeout: ")
    (record,) = game.records
    assert record.status == "failed" and record.error is not None
    assert record.error.kind == "timeout"
    assert "draw_deadline" in record.error.hint
    # Resuming retries the turn: the server answers now.
    game.resume()
    await asyncio.wait_for(game.wait(), 30)
    await p.aclose()
    assert [(r.kind, r.status) for r in game.records] == [
        ("draw", "failed"),
        ("draw", "ok"),
        ("describe", "ok"),
    ]


async def test_ollama_and_a1111_keep_the_deadline_hint_when_a_wait_would_outlast_it() -> None:
    """Their own timeout advice ("raise timeout/read_timeout") is for a single slow read."""
    ollama_api, a1111_api = FakeOllama(), FakeA1111()
    ollama_api.start()
    a1111_api.start()
    try:
        busy = json_reply(503, {"error": "busy"}, **{"Retry-After": "30"})
        ollama_api.script.append(busy)
        a1111_api.script.append(busy)
        ollama = OllamaProvider(
            ProviderContext(settings={"host": ollama_api.url, "describe_deadline": DEADLINE})
        )
        err = await timed_failure(describe_with(ollama, "llava"), within=0.5)
        assert_deadline(err, "describe", "ollama")
        assert "last: HTTP 503" in err.message
        a1111 = A1111Provider(
            ProviderContext(settings={"base_url": a1111_api.url, "draw_deadline": DEADLINE})
        )
        model = a1111.model("default", "drawer")
        assert model is not None
        try:
            err = await timed_failure(a1111.drawer(model).draw(TEXT), within=0.5)
        finally:
            await a1111.aclose()
        assert_deadline(err, "draw", "automatic1111")
    finally:
        ollama_api.stop()
        a1111_api.stop()
