"""Engine behaviour with drawers and guessers that implement the protocols (no HTTP)."""

from __future__ import annotations

import asyncio
import io
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image

from telestrations.game import (
    CaptionGrowing,
    CaptionReady,
    Event,
    Game,
    GameError,
    Limits,
    PictureReady,
    Settings,
    StateChanged,
    TurnFailed,
    TurnStarted,
)
from telestrations.providers.base import Caption, Picture, ProviderError, report_partial
from telestrations.store import GameDir, Store
from telestrations.turns import TurnRecord


def png(color: str = "red", size: tuple[int, int] = (16, 16)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


class Drawer:
    def __init__(self, delay: float = 0.0, cost: float | None = 0.01) -> None:
        self.delay = delay
        self.cost = cost
        self.texts: list[str] = []
        self.started = asyncio.Event()
        self.cancelled = False

    async def draw(self, text: str) -> Picture:
        self.texts.append(text)
        self.started.set()
        try:
            await asyncio.sleep(self.delay)
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return Picture(png(), "png", 16, 16, {"seen": text}, self.cost)


class Guesser:
    def __init__(self, name: str = "g", fail: ProviderError | None = None) -> None:
        self.name = name
        self.fail = fail
        self.calls: list[tuple[str, str, int]] = []

    async def describe(self, picture: Picture, system: str, prompt: str) -> Caption:
        self.calls.append((system, prompt, len(picture.data)))
        if self.fail is not None:
            err, self.fail = self.fail, None
            raise err
        return Caption(f"{self.name} saw caption {len(self.calls)}", {}, None)


class Models:
    def __init__(self) -> None:
        self.drawers: dict[str, Drawer] = {"d": Drawer()}
        self.guessers: dict[str, Guesser] = {"g": Guesser("g"), "g2": Guesser("g2")}

    def drawer(self, model_id: str) -> Drawer:
        return self.drawers[model_id]

    def guesser(self, model_id: str) -> Guesser:
        return self.guessers[model_id]


@pytest.fixture
def models() -> Models:
    return Models()


def new_game(tmp_path: Path, models: Models, **limits: object) -> Game:
    game_dir = Store(tmp_path).new_game("a red house", {})
    return Game(game_dir, models, Settings(drawer="d", guesser="g"), Limits(**limits))  # type: ignore[arg-type]


async def test_rounds_alternate_and_feed_captions_back(tmp_path: Path, models: Models) -> None:
    game = new_game(tmp_path, models, rounds=3)
    events: list[Event] = []
    game.subscribe(events.append)
    game.start()
    await game.wait()
    assert game.state == "stopped" and game.reason == "finished round 3"
    kinds = [(r.round, r.kind) for r in game.records]
    assert kinds == [
        (1, "draw"),
        (1, "describe"),
        (2, "draw"),
        (2, "describe"),
        (3, "draw"),
        (3, "describe"),
    ]
    # The drawer text is "{style}: {prompt}", and each round draws the previous caption.
    texts = models.drawers["d"].texts
    assert texts[0] == "Illustrate in black & white doodle style: a red house"
    assert texts[1] == "Illustrate in black & white doodle style: g saw caption 1"
    assert models.guessers["g"].calls[0][:2] == (
        "You are playing a doodle guessing game",
        "Describe what happens in this image in up to 10 words",
    )
    assert sum(isinstance(e, PictureReady) for e in events) == 3
    assert sum(isinstance(e, CaptionReady) for e in events) == 3
    assert isinstance(events[0], StateChanged) and events[0].state == "running"
    assert isinstance(events[1], TurnStarted)


async def test_empty_style_sends_bare_prompt(tmp_path: Path, models: Models) -> None:
    game = new_game(tmp_path, models)
    game.settings = replace(game.settings, style="  ")
    await game.step()
    assert models.drawers["d"].texts == ["a red house"]


async def test_every_event_is_on_disk_before_it_is_emitted(tmp_path: Path, models: Models) -> None:
    game = new_game(tmp_path, models, rounds=2)
    seen: list[int] = []

    def check(event: Event) -> None:
        if isinstance(event, (PictureReady, CaptionReady)):
            on_disk = GameDir.open(game.dir.path).records
            assert on_disk[-1] == event.record
            seen.append(event.record.seq)
            if isinstance(event, PictureReady):
                assert event.path.read_bytes() == event.picture.data

    game.subscribe(check)
    game.start()
    await game.wait()
    assert seen == [1, 2, 3, 4]


async def test_pause_during_slow_draw_keeps_the_image(tmp_path: Path, models: Models) -> None:
    models.drawers["d"] = Drawer(delay=0.3)
    game = new_game(tmp_path, models)
    game.start()
    await models.drawers["d"].started.wait()
    game.pause()
    assert game.pause_requested
    await game.wait()
    assert game.state == "paused"
    assert [r.kind for r in game.records] == ["draw"]
    assert (game.dir.path / game.records[0].output).is_file()
    # resume continues with the describe of that image
    models.drawers["d"].delay = 0
    game.settings = replace(game.settings)
    game.limits = Limits(rounds=1)
    game.resume()
    await game.wait()
    assert [r.kind for r in game.records] == ["draw", "describe"]
    assert game.state == "stopped"


async def test_stop_during_slow_draw_cancels_and_records_nothing(
    tmp_path: Path, models: Models
) -> None:
    models.drawers["d"] = Drawer(delay=5)
    game = new_game(tmp_path, models)
    task = game.start()
    await models.drawers["d"].started.wait()
    game.stop()
    await game.wait()
    assert task.cancelled()
    assert models.drawers["d"].cancelled
    assert game.state == "stopped"
    assert game.records == []
    assert GameDir.open(game.dir.path).records == []
    assert not list(game.dir.path.glob("*.png"))
    with pytest.raises(GameError):
        await game.run()


async def test_switching_guesser_mid_game_is_used_from_next_describe(
    tmp_path: Path, models: Models
) -> None:
    game = new_game(tmp_path, models, rounds=2)

    def switch(event: Event) -> None:
        if isinstance(event, CaptionReady) and event.record.round == 1:
            game.settings = replace(game.settings, guesser="g2")

    game.subscribe(switch)
    game.start()
    await game.wait()
    describes = [r for r in game.records if r.kind == "describe"]
    assert [r.model for r in describes] == ["g", "g2"]
    assert describes[1].output.startswith("g2 saw")
    assert len(models.guessers["g2"].calls) == 1


async def test_change_mid_turn_waits_for_next_turn(tmp_path: Path, models: Models) -> None:
    models.drawers["d"] = Drawer(delay=0.2)
    game = new_game(tmp_path, models, rounds=1)
    game.start()
    await models.drawers["d"].started.wait()
    game.settings = replace(game.settings, guesser="g2", guesser_prompt="new prompt")
    await game.wait()
    describe = game.records[1]
    assert describe.model == "g2" and describe.input == "new prompt"
    assert game.records[0].model == "d"


async def test_step_runs_exactly_one_turn(tmp_path: Path, models: Models) -> None:
    game = new_game(tmp_path, models)
    record = await game.step()
    assert record.kind == "draw" and len(game.records) == 1 and game.state == "paused"
    record = await game.step()
    assert record.kind == "describe" and len(game.records) == 2 and game.state == "paused"


async def test_failure_is_recorded_pauses_and_resume_retries(
    tmp_path: Path, models: Models
) -> None:
    models.guessers["g"] = Guesser(
        fail=ProviderError("rate_limited", "slow down", hint="wait a minute")
    )
    game = new_game(tmp_path, models, rounds=1)
    failures: list[TurnFailed] = []
    game.subscribe(lambda e: failures.append(e) if isinstance(e, TurnFailed) else None)
    game.start()
    await game.wait()
    assert game.state == "paused"
    assert "slow down" in game.reason
    failed = game.records[-1]
    assert failed.status == "failed" and failed.error is not None
    assert failed.error.kind == "rate_limited" and failed.error.hint == "wait a minute"
    assert failed.cost is None
    assert len(failures) == 1
    game.resume()
    await game.wait()
    assert [(r.round, r.kind, r.status) for r in game.records] == [
        (1, "draw", "ok"),
        (1, "describe", "failed"),
        (1, "describe", "ok"),
    ]
    assert game.state == "stopped"


async def test_unexpected_exception_becomes_internal_failure(
    tmp_path: Path, models: Models
) -> None:
    class Broken:
        async def draw(self, text: str) -> Picture:
            raise ZeroDivisionError("oops")

    models.drawers["d"] = Broken()  # type: ignore[assignment]
    game = new_game(tmp_path, models)
    game.start()
    await game.wait()
    assert game.state == "paused"
    assert game.records[0].error is not None and game.records[0].error.kind == "internal"


async def test_spend_cap_pauses_before_the_turn(tmp_path: Path, models: Models) -> None:
    game = new_game(tmp_path, models, spend=0.025)
    game.price_of = lambda model: 0.01 if model == "d" else None
    game.start()
    await game.wait()
    assert game.state == "paused" and "spending cap" in game.reason
    spent, unknown = game.spent
    assert spent == pytest.approx(0.02)  # two draws; a third would pass the cap
    assert unknown == 2  # the guesser's cost is unknown, never counted as 0


async def test_until_converged_stops_where_the_chain_stops_changing(
    tmp_path: Path, models: Models
) -> None:
    class Same:
        async def describe(self, picture: Picture, system: str, prompt: str) -> Caption:
            return Caption("a red square")

    models.guessers["g"] = Same()  # type: ignore[assignment]
    game = new_game(tmp_path, models, until_converged=True, rounds=10)
    game.start()
    await game.wait()
    assert game.state == "stopped"
    assert game.reason == "converged: unchanged since round 1"
    assert game.rounds_done == 3  # three near-identical captions in a row (k = 3)
    assert game.records[-1].converged == {"kind": "stable", "round": 3, "since": 1, "k": 3}


async def test_pause_when_idle_and_run_twice_rejected(tmp_path: Path, models: Models) -> None:
    models.drawers["d"] = Drawer(delay=0.2)
    game = new_game(tmp_path, models)
    game.pause()
    assert game.state == "paused"
    task = game.start()
    await models.drawers["d"].started.wait()
    with pytest.raises(GameError):
        await game.step()
    game.stop()
    await asyncio.gather(task, return_exceptions=True)


async def test_similarity_recorded_on_describe(tmp_path: Path, models: Models) -> None:
    game = new_game(tmp_path, models)
    await game.step()
    await game.step()
    sim = game.records[1].similarity
    assert sim is not None and set(sim) == {"to_first_prompt", "to_previous"}
    assert 0.0 <= sim["to_first_prompt"] <= 1.0
    assert sim["to_previous"] == sim["to_first_prompt"]  # round 1 drew the first prompt


async def test_drift_measured_beside_the_next_call_reaches_every_copy(
    tmp_path: Path, models: Models
) -> None:
    """Without ``until_converged`` a caption's drift is measured beside the next request,
    yet the event, the journal line and ``step()``'s answer all carry it."""
    game = new_game(tmp_path, models, rounds=3)
    ready: list[TurnRecord] = []
    game.subscribe(lambda e: ready.append(e.record) if isinstance(e, CaptionReady) else None)
    game.start()
    await game.wait()
    assert game.rounds_done == 3 and len(ready) == 3
    on_disk = [r for r in GameDir.open(game.dir.path).records if r.kind == "describe"]
    for shown, kept in zip(ready, on_disk, strict=True):
        assert shown.similarity is not None and set(shown.similarity) == {
            "to_first_prompt",
            "to_previous",
        }
        assert kept.similarity == shown.similarity
    stepped = new_game(tmp_path / "stepped", models)
    await stepped.step()
    answer = await stepped.step()
    assert answer.kind == "describe" and answer.similarity == stepped.records[-1].similarity
    assert answer.similarity is not None


async def test_broken_subscriber_does_not_break_the_game(tmp_path: Path, models: Models) -> None:
    game = new_game(tmp_path, models, rounds=1)
    game.subscribe(lambda e: 1 / 0)
    game.start()
    await game.wait()
    assert game.rounds_done == 1


async def test_pace_spaces_out_fast_turns(tmp_path: Path, models: Models) -> None:
    game = new_game(tmp_path, models, rounds=2)
    game.settings = replace(game.settings, pace=0.15)
    t0 = asyncio.get_running_loop().time()
    game.start()
    await game.wait()
    took = asyncio.get_running_loop().time() - t0
    assert len(game.records) == 4
    # three waits between four instant turns (the last turn ends the game before waiting)
    assert took >= 3 * 0.15 - 0.02
    gaps = [
        (datetime.fromisoformat(b.started) - datetime.fromisoformat(a.started)).total_seconds()
        for a, b in zip(game.records, game.records[1:], strict=False)
    ]
    assert min(gaps) >= 0.14


async def test_pause_during_pace_wait_is_immediate(tmp_path: Path, models: Models) -> None:
    game = new_game(tmp_path, models)
    game.settings = replace(game.settings, pace=30.0)
    drawn = asyncio.Event()
    game.subscribe(lambda e: drawn.set() if isinstance(e, PictureReady) else None)
    game.start()
    await asyncio.wait_for(drawn.wait(), 30)
    t0 = asyncio.get_running_loop().time()
    game.pause()
    await asyncio.wait_for(game.wait(), 30)
    assert asyncio.get_running_loop().time() - t0 < 5  # not the 30 s pace
    assert game.state == "paused" and len(game.records) == 1


def test_settings_from_saved_header_keeps_text_fields_only() -> None:
    base = Settings(drawer="d", pace=1.5)
    got = Settings.from_saved({"guesser": "g2", "pace": "9", "style": "", "bogus": 1}, base)
    assert got == replace(base, guesser="g2", style="")
    assert Settings.from_saved(None, base) is base


async def test_streaming_guesser_emits_caption_growing_events(
    tmp_path: Path, models: Models
) -> None:
    class Streamer(Guesser):
        async def describe(self, picture: Picture, system: str, prompt: str) -> Caption:
            for so_far in ("a", "a red", "a red house"):
                report_partial(so_far)
                await asyncio.sleep(0)
            return Caption("a red house", {}, None)

    models.guessers["s"] = Streamer("s")
    game = new_game(tmp_path, models, rounds=1)
    game.settings = replace(game.settings, guesser="s")
    events: list[Event] = []
    game.subscribe(events.append)
    game.start()
    await game.wait()
    growing = [e for e in events if isinstance(e, CaptionGrowing)]
    assert [(e.round, e.model, e.text) for e in growing] == [
        (1, "s", "a"),
        (1, "s", "a red"),
        (1, "s", "a red house"),
    ]
    ready = next(i for i, e in enumerate(events) if isinstance(e, CaptionReady))
    assert events.index(growing[-1]) < ready
    assert [r.output for r in game.records if r.kind == "describe"] == ["a red house"]
    report_partial("after the turn")  # no listener outside a describe turn: a no-op
    assert len([e for e in events if isinstance(e, CaptionGrowing)]) == 3


async def test_a_turn_that_cannot_be_saved_pauses_and_resume_saves_it_without_redrawing(
    tmp_path: Path, models: Models
) -> None:
    game = new_game(tmp_path, models)
    blocker = game.dir.path / "r0001-draw.png"
    blocker.mkdir()  # the image cannot be written where it belongs
    events: list[Event] = []
    game.subscribe(events.append)
    record = await game.step()
    assert game.state == "paused" and game.reason.startswith("cannot save the turn")
    assert game.records == [] and not any(isinstance(e, PictureReady) for e in events)
    assert len(models.drawers["d"].texts) == 1
    blocker.rmdir()
    game.start()  # resume: the kept picture is written first, the drawer is not asked again
    for _ in range(500):  # bounded: until the kept turn and the next one are journalled
        if len(game.records) >= 2:
            break
        await asyncio.sleep(0.01)
    game.pause()
    await game.wait()
    assert game.records[0].output == record.output and (game.dir.path / record.output).is_file()
    assert [r.seq for r in game.records] == list(range(1, len(game.records) + 1))
    draws = [r for r in game.records if r.kind == "draw"]
    assert len(models.drawers["d"].texts) == len(draws)  # one drawing per kept draw turn
    assert isinstance(events[-1], StateChanged) and events[-1].state == "paused"


async def test_a_stepped_describe_sends_the_drawn_picture_from_memory(
    tmp_path: Path, models: Models
) -> None:
    """Turn by turn (a batch, the step key) the describe gets the very Picture the drawer
    returned (its base64 rides along), not one read back from disk; another game opening the
    folder reads it from disk."""
    seen: list[Picture] = []

    class Keeping(Guesser):
        async def describe(self, picture: Picture, system: str, prompt: str) -> Caption:
            seen.append(picture)
            return await super().describe(picture, system, prompt)

    models.guessers["g"] = Keeping("g")
    drawn = Picture(png("blue"), "png", 16, 16, {}, None, b64="kept-with-the-picture")
    models.drawers["d"].draw = lambda text: asyncio.sleep(0, drawn)  # type: ignore[method-assign]
    game = new_game(tmp_path / "one", models)
    await game.step()
    await game.step()
    assert game.dir.has_image("r0001-draw.png") and [r.kind for r in game.records] == [
        "draw",
        "describe",
    ]
    assert seen[-1].b64 == "kept-with-the-picture" and seen[-1].data == drawn.data
    other = new_game(tmp_path / "two", models)
    await other.step()
    again = Game(GameDir.open(other.dir.path), models, other.settings)  # type: ignore[arg-type]
    await again.step()  # the describe of a picture another process drew
    assert seen[-1].b64 is None and seen[-1].data == drawn.data  # read back from the folder


class DeafDrawer(Drawer):
    """Answers even when cancelled, as ``asyncio.wait_for`` does on Python 3.11 when the
    awaited call finishes in the same loop pass as the cancel (a websocket frame arriving as
    the stop lands): the cancellation is swallowed and the picture returned."""

    async def draw(self, text: str) -> Picture:
        self.texts.append(text)
        self.started.set()
        try:
            await asyncio.sleep(self.delay)
        except asyncio.CancelledError:
            if self.cancelled:
                raise  # deaf once: a second cancel (the test's clean-up) ends it
            self.cancelled = True
        return Picture(png(), "png", 16, 16, {"seen": text}, self.cost)


@pytest.mark.parametrize("how", ["run", "step"])
async def test_a_stop_ends_the_game_even_when_a_provider_swallows_the_cancel(
    tmp_path: Path, models: Models, how: str
) -> None:
    deaf = models.drawers["d"] = DeafDrawer(delay=30)
    game = new_game(tmp_path, models)
    task = game.start() if how == "run" else asyncio.ensure_future(game.step())
    await asyncio.wait_for(deaf.started.wait(), 30)
    game.stop()
    await asyncio.wait({task}, timeout=30)
    if not task.done():  # played on after the stop: end it for the clean-up, then fail
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        pytest.fail(f"the game played on after the stop: {len(deaf.texts)} draws")
    assert deaf.cancelled and game.state == "stopped"
    assert len(deaf.texts) == 1  # no turn after the stop
    assert [(r.round, r.kind) for r in game.records] == [(1, "draw")]  # the answer is kept
