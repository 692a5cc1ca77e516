"""Pilot tests of every key flow of the main screen, against in-test providers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.binding import Binding
from textual.widgets import Input, Static

from telestrations.game import Game, Settings
from telestrations.lock import is_held
from telestrations.state import load_state
from telestrations.store import GameDir
from telestrations.tui.screens.dialogs import ConfirmDialog, KeyDialog
from telestrations.tui.screens.games import PastGames
from telestrations.tui.screens.help import HelpScreen
from telestrations.tui.screens.main import MainScreen
from telestrations.tui.screens.picker import ModelPicker
from telestrations.tui.screens.viewer import ImageViewer
from telestrations.tui.widgets.cards import ErrorCard, RoundCard, RoundEntry
from telestrations.tui.widgets.history import History

from .test_tui_support import (
    MARKUP_CAPTION,
    Gate,
    main_screen,
    make_app,
    make_runtime,
    wait_for,
    wait_for_palette,
)

SIZE = (120, 40)


def journal(path: Path) -> list[dict]:
    lines = (path / "journal.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if json.loads(line)["type"] == "turn"]


def card_texts(history: History) -> list[str]:
    return [str(card.query_one(".card-text", Static).render()) for card in history.query(RoundCard)]


async def test_enter_starts_shows_cards_and_everything_is_on_disk(isolated_env: Path) -> None:
    runtime, _fake = make_runtime(isolated_env)
    app = make_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        assert isinstance(app.focused, Input) and app.focused.id == "prompt"
        await pilot.press("enter")
        await wait_for(pilot, lambda: m.game is not None and m.game.rounds_done >= 2)
        assert isinstance(app.focused, History)  # single-key bindings work now
        await pilot.press("enter")  # pause
        await wait_for(pilot, lambda: m.game.state == "paused" and not m.running)
        await wait_for(pilot, lambda: any("eye saw picture" in t for t in card_texts(m.history)))
        texts = card_texts(m.history)
        assert texts and all("fake:painter drew" in t for t in texts)
        assert any("fake:eye saw" in t and "eye saw picture" in t for t in texts)
        on_disk = journal(m.game.dir.path)
        shown = [e for e in m.history.entries if isinstance(e, RoundEntry)]
        assert len(shown) == len([r for r in on_disk if r["kind"] == "draw"])
        for entry in shown:
            assert (m.game.dir.path / entry.image).is_file()
            if entry.describe is not None:
                assert entry.describe.output in [r["output"] for r in on_disk]


async def test_pause_keeps_the_image_in_flight_then_enter_resumes(isolated_env: Path) -> None:
    runtime, fake = make_runtime(isolated_env)
    fake.gate = Gate()
    app = make_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: fake.draw_started.is_set())
        await pilot.press("enter")  # pause while the drawer is busy
        assert m.game is not None and m.game.pause_requested
        assert m.check_action("resume", ()) is True  # Enter now means "don't pause after all"
        fake.gate.set()
        await wait_for(pilot, lambda: m.game.state == "paused" and not m.running)
        assert len(m.game.records) == 1 and m.game.records[0].kind == "draw"
        assert len(m.history.query(RoundCard)) == 1  # the image in flight was kept and shown
        draws = len(fake.draws)
        await pilot.pause(0.3)
        assert len(fake.draws) == draws and len(m.game.records) == 1  # nothing new while paused
        await pilot.press("enter")  # resume
        await wait_for(pilot, lambda: m.game.rounds_done >= 2)
        assert m.game.records[1].kind == "describe"


async def test_enter_twice_while_pausing_keeps_playing(isolated_env: Path) -> None:
    runtime, fake = make_runtime(isolated_env)
    fake.gate = Gate()
    app = make_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: fake.draw_started.is_set())
        await pilot.press("enter", "enter")  # pause, then change of mind
        fake.gate.set()
        await wait_for(pilot, lambda: m.game is not None and m.game.rounds_done >= 2)
        assert m.running


async def test_step_plays_exactly_one_turn(isolated_env: Path) -> None:
    runtime, fake = make_runtime(isolated_env)
    app = make_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        m.history.focus()
        await pilot.press("s")
        await wait_for(pilot, lambda: m.game is not None and not m.running and m.game.records)
        assert [r.kind for r in m.game.records] == ["draw"] and m.game.state == "paused"
        await pilot.press("s")
        await wait_for(pilot, lambda: len(m.game.records) == 2 and not m.running)
        assert [r.kind for r in m.game.records] == ["draw", "describe"]
        await pilot.pause(0.2)
        assert len(fake.draws) == 1 and len(m.game.records) == 2


async def test_stop_cancels_the_turn_in_flight_and_enter_continues(isolated_env: Path) -> None:
    runtime, fake = make_runtime(isolated_env)
    fake.gate = Gate()
    app = make_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: fake.draw_started.is_set())
        await pilot.press("x")
        await wait_for(pilot, lambda: not m.running)
        assert fake.cancelled == 1
        assert m.game is not None and m.game.state == "stopped"
        assert journal(m.game.dir.path) == []  # nothing half-done was recorded
        fake.gate.set()
        await pilot.press("enter")  # continue the same game from disk
        await wait_for(pilot, lambda: m.game.rounds_done >= 1)
        assert journal(m.game.dir.path)[0]["kind"] == "draw"


async def test_changing_the_guesser_mid_game_takes_effect_next_turn(isolated_env: Path) -> None:
    runtime, fake = make_runtime(isolated_env)
    fake.gate = Gate()
    app = make_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: fake.draw_started.is_set())
        await pilot.press("g")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPicker))
        picker = app.screen
        assert isinstance(picker, ModelPicker)
        ids = [row.model.id for row in picker.rows]
        assert {"fake:eye", "fake:other", "keyed:seer"} <= set(ids)
        await pilot.press(*"other")
        await pilot.press("enter")  # Enter selects in the menu; it does not pause the game
        await wait_for(pilot, lambda: app.screen is m)
        assert m.settings.guesser == "fake:other" and m.game is not None
        assert m.game.settings.guesser == "fake:other" and not m.game.pause_requested
        fake.gate.set()
        await wait_for(pilot, lambda: m.game.rounds_done >= 1)
        caption = next(r for r in m.game.records if r.kind == "describe")
        assert caption.model == "fake:other" and caption.output.startswith("other saw")


async def test_drawer_menu_via_keyboard_lists_models_grouped(isolated_env: Path) -> None:
    runtime, _ = make_runtime(isolated_env)
    app = make_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        main_screen(app).history.focus()
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPicker))
        picker = app.screen
        assert isinstance(picker, ModelPicker) and picker.kind == "drawer"
        assert [r.model.id for r in picker.rows] == ["fake:painter"]
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))


async def test_new_game_asks_first_when_running(isolated_env: Path) -> None:
    runtime, fake = make_runtime(isolated_env)
    fake.gate = Gate()
    app = make_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: fake.draw_started.is_set())
        first = m.game.dir.path  # type: ignore[union-attr]
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: m.game is None and not m.running)
        assert isinstance(app.focused, Input) and app.focused.id == "prompt"
        assert m.history.entries == []
        fake.gate.set()
        await pilot.press(*"blue")
        await pilot.press("enter")
        await wait_for(pilot, lambda: m.game is not None and m.game.rounds_done >= 1)
        assert m.game.dir.path != first
        assert m.game.dir.first_prompt.endswith("blue")


async def test_failed_turn_shows_error_card_pauses_and_enter_retries(isolated_env: Path) -> None:
    runtime, _fake = make_runtime(isolated_env)
    app = make_app(runtime, guesser="fake:broken")
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(m.history.query(ErrorCard)))
        await wait_for(pilot, lambda: m.game.state == "paused" and not m.running)
        card = m.history.query_one(ErrorCard)
        text = str(card.render())
        assert "rate limited" in text and "[red]slow down[/red]" in text  # plain, not markup
        assert "wait a minute, then press Enter" in text and "\x1b" not in text
        await pilot.press("enter")  # retry
        await wait_for(pilot, lambda: m.game.rounds_done >= 1)
        assert [r.status for r in m.game.records[:3]] == ["ok", "failed", "ok"]


async def test_missing_key_opens_dialog_and_stores_key(isolated_env: Path) -> None:
    runtime, _fake = make_runtime(isolated_env)
    app = make_app(runtime)
    secret = "sk-test-0123456789abcdef"
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        m.history.focus()
        await pilot.press("g")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPicker))
        await pilot.press(*"seer")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, KeyDialog))
        await pilot.press(*secret)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        await wait_for(pilot, lambda: runtime.keyring.get("keyed") == secret)
        stored = json.loads((isolated_env / "keys.json").read_text())
        assert stored == {"keyed": secret}
        assert (isolated_env / "keys.json").stat().st_mode & 0o077 == 0
        notes = " ".join(str(n.message) for n in app._notifications)
        assert secret not in notes and "sk-…cdef" in notes
        assert secret not in app.export_screenshot()
        await pilot.press("enter")
        await wait_for(pilot, lambda: m.game is not None and m.game.rounds_done >= 1)
        assert m.game.records[1].model == "keyed:seer"


async def test_start_with_a_keyless_model_asks_for_the_key_first(isolated_env: Path) -> None:
    runtime, _ = make_runtime(isolated_env)
    app = make_app(runtime, guesser="keyed:seer")
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, KeyDialog))
        assert m.game is None
        await pilot.press(*"key-123456789012")
        await pilot.press("enter")
        await wait_for(pilot, lambda: m.game is not None and m.game.rounds_done >= 1)


async def test_captions_are_plain_text(isolated_env: Path) -> None:
    runtime, _ = make_runtime(isolated_env)
    app = make_app(runtime, guesser="fake:markup")
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        m.history.focus()
        await pilot.press("s")
        await wait_for(pilot, lambda: m.game is not None and bool(m.game.records))
        await wait_for(pilot, lambda: not m.running)
        await pilot.press("s")
        await wait_for(pilot, lambda: len(m.game.records) == 2 and not m.running)
        await wait_for(pilot, lambda: any("red end" in t for t in card_texts(m.history)))
        card = m.history.query_one(RoundCard)
        content = card.query_one(".card-text", Static).render()
        text = str(content)
        assert (
            "[bold red]x[/bold red]" in text and "[link=https://evil.example]click[/link]" in text
        )
        assert "\x1b" not in text and "\x07" not in text and "red end" in text
        assert not any("link" in str(span.style) for span in content.spans)  # type: ignore[attr-defined]
        assert MARKUP_CAPTION == m.game.records[1].output  # the journal keeps what was said


async def test_resume_rebuilds_history_and_continues(isolated_env: Path) -> None:
    runtime, _ = make_runtime(isolated_env)
    settings = Settings(drawer="fake:painter", guesser="fake:eye")
    game_dir = runtime.store.new_game("a cat", {"drawer": "fake:painter", "guesser": "fake:eye"})
    game = Game(game_dir, runtime.models(), settings)
    for _ in range(4):
        await game.step()
    app = make_app(runtime, resume=GameDir.open(game_dir.path))
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        await wait_for(pilot, lambda: len(m.history.query(RoundCard)) == 2)
        assert m.game is not None and m.game.state == "paused"
        assert m.controls.value("prompt") == "a cat"
        await pilot.press("enter")
        await wait_for(pilot, lambda: m.game.rounds_done >= 3)
        third = next(r for r in m.game.records if r.round == 3 and r.kind == "draw")
        second_caption = next(r for r in m.game.records if r.round == 2 and r.kind == "describe")
        assert second_caption.output in third.input


async def test_quit_cancels_and_writes_state(isolated_env: Path) -> None:
    runtime, fake = make_runtime(isolated_env)
    fake.gate = Gate()
    app = make_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        style = m.query_one("#style", Input)
        style.value = "in crayon"
        await pilot.press("enter")
        await wait_for(pilot, lambda: fake.draw_started.is_set())
        m.choose_model("guesser", "fake:other")
        assert m.game is not None
        folder = m.game.dir.path
        assert is_held(folder)
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running)
    assert app.return_code == 0
    assert fake.cancelled == 1
    assert not is_held(folder)  # the game's lock is let go on quit, not left to the exit
    state = load_state(runtime.state_file)
    assert state.guesser == "fake:other" and state.drawer == "fake:painter"
    assert state.style == "in crayon" and state.prompt == "a red house under a yellow sun"


async def test_state_is_saved_on_each_change(isolated_env: Path) -> None:
    runtime, _ = make_runtime(isolated_env)
    app = make_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        m.choose_model("guesser", "fake:other")
        await wait_for(pilot, lambda: load_state(runtime.state_file).guesser == "fake:other")


async def test_escape_leaves_a_text_field(isolated_env: Path) -> None:
    runtime, _ = make_runtime(isolated_env)
    app = make_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("escape")
        assert isinstance(app.focused, History)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))


async def test_help_lists_every_binding(isolated_env: Path) -> None:
    runtime, _ = make_runtime(isolated_env)
    app = make_app(runtime)
    async with app.run_test(size=SIZE):
        rows = app.help_rows()
        described = {r.description for r in rows}
        for binding in MainScreen.BINDINGS:
            assert binding.tooltip in described  # type: ignore[union-attr]
        assert any(r.keys == "q" for r in rows) and any("End" in r.keys for r in rows)


async def test_palette_has_every_action(isolated_env: Path) -> None:
    """The palette is generated from the bindings: every described binding of the screen, its
    history and the app that can run now, titled by its tooltip, with its key."""
    runtime, _ = make_runtime(isolated_env)
    app = make_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        commands = {c.title: c.help for c in app.get_system_commands(m)}
        groups = ((m, "game", MainScreen), (m.history, "history", History), (app, "app", type(app)))
        for node, group, cls in groups:
            for b in cls.BINDINGS:
                assert isinstance(b, Binding) and b.tooltip
                if b.id == "quit-now":  # the same action as quit: listed once
                    continue
                target, action, params = app._parse_action(b.action, node)
                title = f"{group}: {b.tooltip[0].lower()}{b.tooltip[1:]}"
                assert (title in commands) == bool(target.check_action(action, params)), b.id
        assert commands["game: start a game from the first prompt"] == "Start · key Enter"
        assert commands["game: choose the drawer"] == "Drawer · key d"
        assert commands["history: jump to the newest round"] == "Newest · key End, G"
        assert "game: pause after the turn in flight" not in commands  # only what Enter does now
        assert "game: cancel the turn in flight and stop" not in commands  # nothing runs
        assert "guesser: fake:other" in commands
        await pilot.press("ctrl+p")
        await pilot.press(*"guesser: fake:other")
        await wait_for_palette(pilot, "guesser: fake:other")
        await pilot.press("enter")
        await wait_for(pilot, lambda: m.settings.guesser == "fake:other")
        await pilot.press("ctrl+p")
        await pilot.press(*"choose the drawer")
        await wait_for_palette(pilot, "choose the drawer")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPicker))


async def test_viewer_and_system_viewer(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    runtime, _ = make_runtime(isolated_env)
    app = make_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        m.history.focus()
        await pilot.press("s")
        await wait_for(pilot, lambda: m.game is not None and bool(m.game.records) and not m.running)
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, ImageViewer))
        await wait_for(pilot, lambda: bool(app.screen.query("#viewer-image")))
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is m)
        await pilot.press("o")
        await wait_for(pilot, lambda: bool(app._notifications))
        message = str(list(app._notifications)[-1].message)
        assert "r0001-draw.png" in message and ("display" in message or "viewer" in message)


async def test_thumbnails_are_small_cached_files_made_for_the_cells_shown(
    isolated_env: Path,
) -> None:
    from .test_tui_support import png_bytes

    runtime, fake = make_runtime(isolated_env, thumbnail_width=16)
    fake.image = png_bytes("green", (1792, 1024))
    app = make_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        m.history.focus()
        await pilot.press("s")
        await wait_for(pilot, lambda: bool(m.history.query(".thumb-image")))
        image = m.history.query_one(".thumb-image")
        await wait_for(pilot, lambda: (image.region.width, image.region.height) == (16, 5))
        # 16 cells wide (the cap), a 7:4 picture: 5 rows of two half-cell pixels each
        assert (image.region.width, image.region.height) == (16, 5)
        (thumb,) = (m.game.dir.path / "thumbs").glob("r0001-draw.*.png")  # type: ignore[union-attr]
        assert thumb.name == "r0001-draw.16x10.png"
        from PIL import Image

        with Image.open(thumb) as im:
            assert im.size == (16, 10)
        original = (m.game.dir.path / "r0001-draw.png").read_bytes()  # type: ignore[union-attr]
        assert original == fake.image  # never re-encoded


async def test_history_mounts_a_bounded_window_and_pages_back(isolated_env: Path) -> None:
    runtime, _ = make_runtime(isolated_env, max_cards=6)
    app = make_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: m.game is not None and m.game.rounds_done >= 15)
        await pilot.press("enter")
        await wait_for(pilot, lambda: not m.running)
        h = m.history
        assert h.mounted <= 6 and len(h.query(RoundCard)) <= 6
        assert len(h.entries) >= 15 and h.hi == len(h.entries)
        assert h.max_scroll_y - h.scroll_y <= 1  # followed the newest
        lo = h.lo
        for _ in range(12):  # walk the selection back past the window's edge
            await pilot.press("up")
        await wait_for(pilot, lambda: h.lo < lo)
        assert h.lo < lo and h.mounted <= 6
        assert h.selected is not None and h.selected in range(h.lo, h.hi)
        await pilot.press("end")
        await wait_for(pilot, lambda: h.hi == len(h.entries) and h.selected is None)
        assert h.hi == len(h.entries) and h.selected is None and h.mounted <= 6


async def test_history_stops_following_when_scrolled_up(isolated_env: Path) -> None:
    runtime, fake = make_runtime(isolated_env, max_cards=30)
    fake.delay = 0.02
    app = make_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        await pilot.press("enter")
        h = m.history
        await wait_for(pilot, lambda: m.game is not None and h.max_scroll_y > 10)
        h.scroll_to(y=0, animate=False)
        # Older cards may page in above, the view kept on its card: the game plays on beside
        # the UI, so wait until that paging (and its scroll back to the card) is over.
        seen: list[float] = []

        def settled() -> bool:
            seen.append(h.scroll_y)
            return not h._busy and not h._programmatic and seen[-5:] == [h.scroll_y] * 5

        await wait_for(pilot, settled)
        assert not h.following
        top, card = h.scroll_y, app.screen.get_widget_at(*h.region.offset)[0]
        rounds = m.game.rounds_done
        await wait_for(pilot, lambda: m.game.rounds_done >= rounds + 3)
        assert h.scroll_y == top and not h.following  # the view stayed where the user put it
        assert app.screen.get_widget_at(*h.region.offset)[0] is card
        await pilot.press("enter")
        await wait_for(pilot, lambda: not m.running)
        await pilot.press("end")
        await wait_for(pilot, lambda: h.following and h.scroll_y >= h.max_scroll_y - 1)


async def test_keymap_from_config_rebinds(isolated_env: Path) -> None:
    runtime, _ = make_runtime(isolated_env, keymap={"step": "t"})
    app = make_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        m.history.focus()
        await pilot.press("s")
        await pilot.pause(0.1)
        assert m.game is None  # s is no longer bound
        await pilot.press("t")
        await wait_for(pilot, lambda: m.game is not None and bool(m.game.records))


async def test_past_games_list_opens_a_game(isolated_env: Path) -> None:
    runtime, _ = make_runtime(isolated_env)
    settings = Settings(drawer="fake:painter", guesser="fake:other", style="in crayon")
    older = runtime.store.new_game("an old boat", settings.__dict__)
    await Game(older, runtime.models(), settings).step()
    app = make_app(runtime)  # today's choice: fake:eye, the default style
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        m.history.focus()
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, PastGames) and bool(app.screen.games))
        await pilot.press("enter")
        await wait_for(pilot, lambda: m.game is not None and m.game.dir.path == older.path)
        assert m.controls.value("prompt") == "an old boat"
        # it continues with what it was played with, as --resume does
        assert m.controls.value("style") == "in crayon"
        assert m.settings.guesser == "fake:other" and m.game.settings.guesser == "fake:other"
        await wait_for(pilot, lambda: len(m.history.query(RoundCard)) == 1)
        await pilot.press("enter")
        await wait_for(pilot, lambda: m.game.rounds_done >= 1)
        described = [r.model for r in m.game.records if r.kind == "describe"]
        assert described[0] == "fake:other"


async def test_streamed_caption_grows_on_its_card_then_is_replaced(isolated_env: Path) -> None:
    runtime, fake = make_runtime(isolated_env)
    fake.talk_gate = Gate()
    app = make_app(runtime, guesser="fake:talker")
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("is saying" in t for t in card_texts(m.history)))
        (text,) = card_texts(m.history)
        assert "fake:talker is saying:" in text and "talker is [b]half…" in text  # plain text
        assert m.game is not None and len(m.game.records) == 1  # the half caption is not kept
        m.action_pause()
        fake.talk_gate.set()
        await wait_for(pilot, lambda: m.game.state == "paused" and not m.running)
        # The engine is paused before the UI has handled its last message: wait for that.
        await wait_for(pilot, lambda: m.history.round_entries()[0].describe is not None)
        (text,) = card_texts(m.history)
        assert "is saying" not in text and "talker is [b]half way there" in text
        assert m.game.records[-1].output == "talker is [b]half way there"


async def test_unwritable_data_dir_is_a_notice_not_a_crash(isolated_env: Path) -> None:
    runtime, fake = make_runtime(isolated_env)
    runtime.store.games_dir.parent.mkdir(parents=True, exist_ok=True)
    runtime.store.games_dir.write_text("not a folder")
    app = make_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: any(
                "Cannot create the game folder" in str(n.message) for n in app._notifications
            ),
        )
        assert m.game is None and not m.running and fake.draws == []
        notes = [str(n.message) for n in app._notifications]
        assert any("Cannot create the game folder" in n for n in notes), notes
    assert app.return_code in (0, None)


async def test_crash_report_never_lists_local_variables(isolated_env: Path) -> None:
    runtime, _ = make_runtime(isolated_env)
    app = make_app(runtime)
    app._close_messages_no_wait = lambda: None  # type: ignore[method-assign]  (not running)
    secret = "sk-SECRET-0123456789abcdef"

    def boom() -> None:
        key = secret  # a local, as the key dialog's callback has
        raise RuntimeError(f"failed with {len(key)} chars")

    try:
        boom()
    except RuntimeError:
        app._fatal_error()
    (report,) = app._exit_renderables
    rendered = "".join(seg.text for seg in report.segments)
    assert "failed with 26 chars" in rendered and secret not in rendered


async def test_an_80_column_terminal_still_shows_the_caption_beside_the_picture(
    isolated_env: Path,
) -> None:
    runtime, _ = make_runtime(isolated_env, thumbnail_width=48)
    app = make_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        m = main_screen(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: m.game is not None and m.game.rounds_done >= 1)
        m.action_pause()
        await wait_for(pilot, lambda: not m.running)
        card = m.history.query(RoundCard).first()
        thumb, text = card.query_one(".thumb"), card.query_one(".card-text")
        await wait_for(pilot, lambda: 0 < thumb.region.width < 48)
        assert thumb.region.width < 48  # the picture shrank to fit
        assert text.region.width >= 15 and text.region.right <= m.history.region.right
