"""A drawing's check finishing beside the guesser's upload (``checks_beside``, ``uploads_after``).

With no pace the describe request is built and sent while the drawn PNG's chunk CRCs are
still being checked in a thread; its last bytes wait for the check. These tests play real
games against the fake OpenAI API on 127.0.0.1 and look at what the server received and what
the journal kept when the picture turns out broken (its header fine, its data damaged).
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from telestrations.game import CaptionReady, Game, Limits, PictureReady, Settings, TurnFailed
from telestrations.providers.base import (
    Caption,
    Guesser,
    Picture,
    ProviderError,
    checks_beside,
    uploads_after,
)
from telestrations.providers.http.images import INLINE_BASE64, picture_from_base64
from telestrations.store import GameDir, Store
from tests.fakes.openai_api import CHAT, GPT_IMAGE, FakeOpenAI
from tests.fakes.server import Reply, json_reply
from tests.test_openai_provider import KEY, Models, make

DRAWER, GUESSER = "openai:gpt-image-2", "openai:gpt-4o-mini"
CHAT_PATH = "/v1/chat/completions"


def noisy_png(size: tuple[int, int] = (256, 256)) -> bytes:
    """A PNG big enough (~200 KB) that its check is not simply done on the spot."""
    buf = io.BytesIO()
    Image.effect_noise(size, 60).convert("RGB").save(buf, "PNG")
    data = buf.getvalue()
    assert len(base64.b64encode(data)) > INLINE_BASE64
    return data


def damaged(png: bytes) -> bytes:
    """``png`` with one byte of its pixel data flipped: the header reads fine, the CRC fails."""
    at = png.index(b"IDAT") + 4 + 1000
    return png[:at] + bytes([png[at] ^ 0xFF]) + png[at + 1 :]


def drawing(png: bytes) -> Reply:
    b64 = base64.b64encode(png).decode()
    return json_reply(200, {"created": int(time.time()), "data": [{"b64_json": b64}]})


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    api = FakeOpenAI(key=KEY, models=GPT_IMAGE + CHAT).start()
    yield api  # type: ignore[misc]
    api.stop()


def chat_requests(fake: FakeOpenAI, expect: int = 0) -> list[tuple[int, int]]:
    """(bytes declared, bytes received) of every describe request the server saw, once it
    saw ``expect`` of them (a request dropped half-way reaches it a moment after the drop)."""
    until = time.monotonic() + 5
    while True:
        seen = [
            (int(r.headers.get("Content-Length", "-1")), len(r.body))
            for r in fake.requests
            if r.path == CHAT_PATH
        ]
        if len(seen) >= expect or time.monotonic() > until:
            return seen
        time.sleep(0.01)


async def play(
    tmp_path: Path,
    fake: FakeOpenAI,
    models_of: Any = Models,
    *,
    pace: float = 0.0,
    step: bool = False,
) -> tuple[Game, list[object]]:
    """One round against ``fake``, through ``models_of(provider)``; the provider is closed."""
    provider = make(fake)
    try:
        game_dir = Store(tmp_path).new_game("a red house", {})
        settings = Settings(drawer=DRAWER, guesser=GUESSER, pace=pace)
        game = Game(game_dir, models_of(provider), settings, Limits(1))
        events: list[object] = []
        game.subscribe(events.append)
        if step:
            await game.step()
            await game.step()
        else:
            game.start()
            await game.wait()
    finally:
        await provider.aclose()
    return game, events


async def test_the_upload_goes_out_beside_the_check_and_is_whole(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    png = noisy_png()
    fake.script.append(drawing(png))
    game, events = await play(tmp_path, fake)
    assert game.rounds_done == 1, game.reason
    [(declared, received)] = chat_requests(fake, 1)
    assert declared == received  # a Content-Length body, sent whole once the check passed
    chat = next(r for r in fake.requests if r.path == CHAT_PATH)
    assert "chunked" not in chat.headers.get("Transfer-Encoding", "")
    sent = json.loads(chat.body)["messages"][-1]["content"]
    uri = next(p["image_url"]["url"] for p in sent if p.get("type") == "image_url")
    assert uri == "data:image/png;base64," + base64.b64encode(png).decode()
    [draw, describe] = game.records
    assert draw.ok and describe.ok
    assert (game.dir.path / draw.output).read_bytes() == png
    assert [type(e) for e in events if isinstance(e, PictureReady | CaptionReady)] == [
        PictureReady,
        CaptionReady,
    ]


async def test_a_picture_broken_past_its_header_never_reaches_the_guesser_whole(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.script.append(drawing(damaged(noisy_png())))
    game, events = await play(tmp_path, fake)
    assert game.state == "paused"
    assert "bad_response" in game.reason and "broken" in game.reason
    # The describe request went out beside the check but was never finished.
    [(declared, received)] = chat_requests(fake, 1)
    assert 0 < received < declared
    [draw] = game.records  # kept as a failed draw; no caption of a broken picture
    assert draw.kind == "draw" and draw.status == "failed" and draw.output == ""
    assert draw.error is not None and draw.error.kind == "bad_response"
    assert not list(game.dir.path.glob("r0001-draw*"))
    assert not any(isinstance(e, PictureReady | CaptionReady) for e in events)
    assert [e.record for e in events if isinstance(e, TurnFailed)] == [draw]
    assert game.next().kind == "draw"  # a resume draws round 1 again


class Blind:
    """A guesser that answers without sending anything anywhere (as a local model would)."""

    async def describe(self, picture: Picture, system: str, prompt: str) -> Caption:
        return Caption("a house")


class DrawOverHttpGuessLocally(Models):
    def guesser(self, model_id: str) -> Guesser:
        return Blind()


async def test_a_local_guesser_s_caption_of_a_broken_picture_is_dropped(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.script.append(drawing(damaged(noisy_png())))
    game, events = await play(tmp_path, fake, DrawOverHttpGuessLocally)
    assert game.state == "paused" and "broken" in game.reason
    assert [(r.kind, r.status) for r in game.records] == [("draw", "failed")]
    assert not any(isinstance(e, CaptionReady) for e in events)


@pytest.mark.parametrize("how", ["paced", "stepped"])
async def test_with_a_pace_or_step_by_step_the_same_picture_fails_the_same_way(
    fake: FakeOpenAI, tmp_path: Path, how: str
) -> None:
    fake.script.append(drawing(damaged(noisy_png())))
    if how == "paced":
        game, _ = await play(tmp_path, fake, pace=0.01)
    else:
        game, _ = await play(tmp_path, fake, step=True)
    assert [(r.kind, r.status) for r in game.records][:1] == [("draw", "failed")]
    assert game.records[0].error is not None and "broken" in game.records[0].error.message
    assert not any(r.kind == "describe" and r.ok for r in game.records)
    assert all(received < declared for declared, received in chat_requests(fake))


async def test_picture_from_base64_leaves_only_the_rows_for_later() -> None:
    png = noisy_png()
    good, bad = base64.b64encode(png).decode(), base64.b64encode(damaged(png)).decode()
    with pytest.raises(ProviderError, match="broken"):
        await picture_from_base64(bad, max_pixels=10**8)  # outside: checked before returning
    with checks_beside() as later:
        pic = await picture_from_base64(bad, max_pixels=10**8)
    assert (pic.width, pic.height) == (256, 256) and pic.b64 == bad
    check = later.outcome()
    assert check is not None
    with pytest.raises(ProviderError, match="broken"):
        await check
    with checks_beside() as later:
        await picture_from_base64(good, max_pixels=10**8)
    check = later.outcome()
    assert check is not None and await check is None
    # The size and the pixel cap come from the header at once, never later.
    with checks_beside() as later, pytest.raises(ProviderError, match="too large"):
        await picture_from_base64(good, max_pixels=256 * 255)
    assert later.outcome() is None
    # Formats other than PNG are checked whole before returning.
    buf = io.BytesIO()
    Image.effect_noise((256, 256), 60).convert("RGB").save(buf, "JPEG", quality=95)
    with checks_beside() as later:
        await picture_from_base64(base64.b64encode(buf.getvalue()).decode(), max_pixels=10**8)
    assert later.outcome() is None


async def test_a_gate_that_fails_stops_any_request_short(fake: FakeOpenAI) -> None:
    """The hold-back is in the connection pool (http/pool.py), so every guesser's upload has it."""
    provider = make(fake)
    gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    guesser = Models(provider).guesser(GUESSER)
    pic = Picture(noisy_png(), "png", 256, 256)
    try:
        with uploads_after(gate), pytest.raises(ProviderError, match="broken: test"):
            describing = asyncio.ensure_future(guesser.describe(pic, "system", "prompt"))
            await asyncio.sleep(0.2)  # the body but its end is out; the server waits for it
            assert not describing.done() and chat_requests(fake) == []
            gate.set_exception(ProviderError("bad_response", "the png image is broken: test"))
            await describing
    finally:
        await provider.aclose()
    [(declared, received)] = chat_requests(fake, 1)
    assert 0 < received < declared


async def test_the_app_shows_a_picture_broken_past_its_header_as_a_failed_drawing(
    isolated_env: Path,
) -> None:
    """In the app (its own engine loop, a guesser on this machine): the round's card is the
    failed drawing with its reason, the game pauses, and nothing waits for a guesser."""
    from telestrations.tui.widgets.cards import ErrorCard
    from tests.test_tui_support import main_screen, make_app, make_runtime, wait_for

    runtime, fake = make_runtime(isolated_env)
    fake.checked, fake.image = True, damaged(noisy_png())
    app = make_app(runtime)
    async with app.run_test(size=(120, 36)) as pilot:
        m = main_screen(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: m.game is not None and m.game.state == "paused")
        await wait_for(pilot, lambda: bool(m.query(ErrorCard)))
        assert m.game is not None
        assert [(r.kind, r.status) for r in m.game.records] == [("draw", "failed")]
        [card] = m.query(ErrorCard)
        shown = str(card.render())
        assert "broken" in shown
        assert not m.running
        assert "waiting for the guesser" not in str(m.status_line.render())
        fake.image = None  # a good drawing next: Enter retries the round and plays on
        await pilot.press("enter")
        await wait_for(pilot, lambda: m.game is not None and m.game.rounds_done >= 1)


@pytest.mark.parametrize("where", ["/journal.jsonl", "-draw.png"])
async def test_failing_writes_beside_checked_uploads_lose_and_repeat_nothing(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """The describe under a passed check does not wait for its drawing's write; when that
    write fails (disk full, then room again) the caption is kept and written after it."""
    from tests.test_store_faults import Faults, assert_clean, resume_until_stopped

    png = noisy_png()

    def answer(req: Any) -> Reply:
        return drawing(png) if req.path.endswith("/generations") else fake.handle(req)

    fake.script.extend([answer] * 40)
    provider = make(fake)
    try:
        game_dir = Store(tmp_path).new_game("a red house", {})
        settings = Settings(drawer=DRAWER, guesser=GUESSER, pace=0.0)
        game = Game(game_dir, Models(provider), settings, Limits(rounds=3))
        faults = Faults(monkeypatch, where)
        faults.plan = ["short", "ok", "fsync", "ok", "short"]
        await resume_until_stopped(game, 20)
    finally:
        await provider.aclose()
    assert game.state == "stopped" and game.reason == "finished round 3"
    assert faults.failed >= 2
    assert_clean(game_dir.path, list(range(1, 7)))
    kept = GameDir.open(game_dir.path).records
    assert [(r.round, r.kind) for r in kept] == [
        (n // 2 + 1, ("draw", "describe")[n % 2]) for n in range(6)
    ]
    draws = [r for r in fake.requests if r.path.endswith("/generations")]
    assert len(draws) == 3  # a drawing that failed to save is not asked for again
