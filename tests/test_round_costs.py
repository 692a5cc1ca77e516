"""What keeps a round's own work small: the drawer's base64 reaches the guesser as it was
sent, big strings are spliced into and lifted out of JSON, and the engine writes each turn
beside the next call while keeping the journal order and "on disk before it is shown"."""

from __future__ import annotations

import base64
import io
import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from telestrations.game import CaptionReady, Event, Game, Limits, PictureReady, Settings
from telestrations.providers.base import ProviderContext, ProviderError
from telestrations.providers.http import (
    HttpResult,
    json_body,
    picture_from_base64,
    picture_from_bytes,
)
from telestrations.providers.http.bodies import JsonSafe, Spliced
from telestrations.providers.openai import OpenAIProvider, provider
from telestrations.store import Store
from tests.fakes.openai_api import CHAT, GPT_IMAGE, FakeOpenAI
from tests.fakes.server import json_reply

KEY = "sk-fake-0123456789abcdefghij"


def noisy_png(side: int = 300) -> bytes:
    """Big enough (>64 KB) to take the splice and lift paths."""
    im = Image.effect_noise((side, side), 80).convert("RGB")
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    api = FakeOpenAI(key=KEY, models=GPT_IMAGE + CHAT).start()
    yield api  # type: ignore[misc]
    api.stop()


def make(fake: FakeOpenAI) -> OpenAIProvider:
    table = {"base_url": fake.url + "/v1", "compatible": False}
    return provider(
        ProviderContext(settings=table, get_key=lambda name: KEY if name == "openai" else None)
    )


def test_json_body_is_the_json_httpx_would_send() -> None:
    b64 = base64.b64encode(random.randbytes(200_000)).decode()
    body = {
        "model": "m",
        "messages": [{"content": [{"url": f"data:image/png;base64,{b64}"}]}],
        "quoted": 'say "hi"\\n' * 10_000,  # long, but needs escapes: encoded normally
        "text": "é ✓",
        "n": 1.5,
    }
    sent = json_body(body)
    assert json.loads(sent) == body
    httpx_way = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    assert sent == httpx_way.encode()


@pytest.mark.parametrize(
    "value",
    [
        base64.b64encode(random.Random(7).randbytes(100_000)).decode(),
        'a\\"b' * 30_000,  # escapes inside: parsed the ordinary way
        "",
    ],
    ids=["base64", "escapes", "empty"],  # fixed names: parallel workers must collect alike
)
def test_lifted_json_parses_as_json_does(value: str) -> None:
    doc = {"created": 1, "data": [{"revised_prompt": '"b64_json"', "b64_json": value}]}
    raw = json.dumps(doc).encode()
    result = HttpResult(200, __import__("httpx").Headers(), raw)
    assert result.json(lift="b64_json") == doc == result.json()


def test_lifted_json_still_refuses_what_is_not_json() -> None:
    raw = b'{"data": [{"b64_json": "' + b"A" * 100_000 + b'"}'  # cut short
    with pytest.raises(ProviderError) as info:
        HttpResult(200, __import__("httpx").Headers(), raw).json(lift="b64_json")
    assert info.value.kind == "bad_response"


async def test_the_drawers_base64_goes_to_the_guesser_as_it_came(fake: FakeOpenAI) -> None:
    png = noisy_png()
    b64 = base64.b64encode(png).decode()
    fake.script.append(json_reply(200, {"created": 1, "data": [{"b64_json": b64}]}))
    openai = make(fake)
    try:
        pic = await openai.drawer(openai.model("gpt-image-1", "drawer")).draw("a cat")  # type: ignore[arg-type]
        assert pic.data == png and pic.b64 == b64 and (pic.width, pic.height) == (300, 300)
        guesser = openai.guesser(openai.model("gpt-4o-mini", "guesser"))  # type: ignore[arg-type]
        caption = await guesser.describe(pic, "system", "what is it?")
    finally:
        await openai.aclose()
    assert caption.text
    chat = [r for r in fake.requests if r.path == "/v1/chat/completions"][-1]
    parts = chat.json["messages"][-1]["content"]
    url = next(p["image_url"]["url"] for p in parts if p["type"] == "image_url")
    assert url == f"data:image/png;base64,{b64}"
    assert chat.header("Content-Type") == "application/json"
    assert f'"url":"data:image/png;base64,{b64}"'.encode() in chat.body  # byte for byte


def test_json_body_splices_trusted_and_checked_strings_in_order() -> None:
    one = JsonSafe(base64.b64encode(random.randbytes(90_000)).decode())
    two = "data:image/png;base64," + base64.b64encode(random.randbytes(120_000)).decode()
    body = {"a": [one, {"b": two}], "c": "x", "d": JsonSafe(one), "e": "\\u" * 40_000}
    sent = json_body(body)
    httpx_way = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    assert sent == httpx_way.encode() and json.loads(sent) == body


def test_json_body_writes_a_spliced_data_uri_as_the_one_string_it_stands_for() -> None:
    b64 = JsonSafe(base64.b64encode(random.randbytes(150_000)).decode())
    uri = Spliced(JsonSafe("data:image/png;base64,"), b64)
    body = {"messages": [{"content": [{"image_url": {"url": uri}}, "x"]}], "n": 1}
    plain_body = {"messages": [{"content": [{"image_url": {"url": str(uri)}}, "x"]}], "n": 1}
    httpx_way = json.dumps(plain_body, ensure_ascii=False, separators=(",", ":"))
    assert json_body(body) == httpx_way.encode()
    assert uri == "data:image/png;base64," + b64
    with pytest.raises(TypeError):  # only text known to need no escaping
        Spliced(JsonSafe("data:"), 'a"b')  # type: ignore[arg-type]


async def test_a_picture_from_base64_is_decoded_and_checked_in_one_go() -> None:
    png = noisy_png(120)
    b64 = base64.b64encode(png).decode()
    pic = await picture_from_base64(b64, max_pixels=10**6, cost=0.5)
    assert pic.data == png and pic.b64 == b64 and isinstance(pic.b64, JsonSafe)
    assert (pic.format, pic.width, pic.height, pic.cost) == ("png", 120, 120, 0.5)
    uri = await picture_from_base64(f"data:image/png;base64,{b64}", max_pixels=10**6)
    assert uri.data == png and uri.b64 is None  # not plain base64: not sent on as it is
    broken = bytearray(png)
    broken[broken.index(b"IDAT") + 50] ^= 0xFF
    big = Image.new("1", (4000, 4000))
    buf = io.BytesIO()
    big.save(buf, "PNG")
    bad = {
        "crc": base64.b64encode(bytes(broken)).decode(),
        "cut": b64[: len(b64) // 2],
        "bomb": base64.b64encode(buf.getvalue()).decode(),
        "text": base64.b64encode(b"<html>nope</html>").decode(),
        "garbage": "not base64 at all!",
    }
    for name, value in bad.items():
        with pytest.raises(ProviderError) as info:
            await picture_from_base64(value, max_pixels=10**6)
        assert info.value.kind == "bad_response", name


async def test_a_picture_without_its_base64_is_encoded_as_before() -> None:
    png = noisy_png(120)
    pic = await picture_from_bytes(png, max_pixels=10**6)
    assert pic.b64 is None and pic.data == png


async def test_broken_pixel_data_is_refused_without_a_full_decode() -> None:
    png = bytearray(noisy_png(120))
    at = png.index(b"IDAT") + 50
    png[at] ^= 0xFF  # one flipped byte in the compressed rows: the chunk's CRC fails
    with pytest.raises(ProviderError) as info:
        await picture_from_bytes(bytes(png), max_pixels=10**6)
    assert info.value.kind == "bad_response"


async def test_every_turn_is_on_disk_before_its_event_and_in_order(tmp_path: Path) -> None:
    store = Store(tmp_path / "games")
    game_dir = store.new_game("a red house under a yellow sun", {})
    from telestrations.providers.doodle import provider as doodle

    seen: list[tuple[int, str]] = []
    journal = game_dir.path / "journal.jsonl"

    def on_event(event: Event) -> None:
        if isinstance(event, (PictureReady, CaptionReady)):
            lines = [json.loads(x) for x in journal.read_text().splitlines() if x.strip()]
            seqs = [x.get("seq") for x in lines if x.get("type", "turn") == "turn"]
            assert event.record.seq in seqs  # on disk before anyone hears of it
            if isinstance(event, PictureReady):
                assert event.path.is_file()
            seen.append((event.record.seq, event.record.kind))

    models = _doodle_models(doodle)
    game = Game(game_dir, models, Settings(), Limits(rounds=4))
    game.subscribe(on_event)
    game.start()
    await game.wait()
    assert game.state == "stopped" and game.rounds_done == 4
    assert [s for s, _ in seen] == list(range(1, 9))  # every turn, in journal order
    on_disk = [(r.seq, r.kind) for r in type(game_dir).open(game_dir.path).records]
    assert on_disk == seen


def _doodle_models(doodle):  # type: ignore[no-untyped-def]
    from telestrations.providers.base import ModelInfo

    p = doodle(ProviderContext())

    class Models:
        def drawer(self, model_id: str):  # type: ignore[no-untyped-def]
            return p.drawer(ModelInfo("doodle", "doodle", "drawer"))

        def guesser(self, model_id: str):  # type: ignore[no-untyped-def]
            return p.guesser(ModelInfo("doodle", "doodle", "guesser"))

    return Models()


async def test_a_fast_games_turns_reach_the_history_in_batches_in_journal_order(
    isolated_env: Path,
) -> None:
    """At ``pace = 0`` turns come faster than a layout pass: they are shown several at a
    time (never one pass per change), in journal order, and all of them once paused."""
    from tests.test_tui_support import main_screen, make_app, make_runtime, settle, wait_for

    runtime, fake = make_runtime(isolated_env, thumbnail_width=120)
    fake.delay = 0.03  # a turn takes a few frames, as with a fast local model
    app = make_app(runtime)
    async with app.run_test(size=(120, 40)) as pilot:
        m = main_screen(app)
        screen = app.screen
        passes = 0
        layout = screen._refresh_layout

        def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
            nonlocal passes
            passes += 1
            return layout(*args, **kwargs)

        screen._refresh_layout = counted  # type: ignore[method-assign]
        await pilot.press("enter")
        await wait_for(pilot, lambda: m.game is not None and m.game.rounds_done >= 24)
        m.action_pause()
        await wait_for(pilot, lambda: not m.running)
        await settle(pilot)
        game, h = m.game, m.history
        assert game is not None
        assert all(h.has(r) for r in game.records) and not h._held
        rounds = [e.round for e in h.entries]
        assert rounds == sorted(rounds) == [r.round for r in game.records if r.kind == "draw"]
        assert h.hi == len(h.entries) and h.following  # the newest card is mounted, in view
        assert h.scroll_y >= h.max_scroll_y - 1
    # One turn at a time costs ~2.5 passes a round here (card, picture, caption, markers);
    # batched, 1.25-1.5 (loaded machine). 24 rounds, so the fixed passes weigh little.
    assert passes < 2.0 * game.rounds_done, (passes, game.rounds_done)
