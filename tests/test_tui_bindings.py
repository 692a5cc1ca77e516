"""Bindings are the single source of truth: a ``[keymap]`` change shows in the footer, the help
screen, the command palette and every hint, and the new key works, on every screen."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.binding import Binding
from textual.widgets import Button, Static
from textual.widgets._footer import FooterKey

from telestrations.config import ConfigError, parse_config
from telestrations.game import Game, Settings
from telestrations.tui.app import TelestrationsApp, binding_classes
from telestrations.tui.bindings import expand_keymap, key_display
from telestrations.tui.screens.dialogs import ConfirmDialog, KeyDialog
from telestrations.tui.screens.games import PastGames
from telestrations.tui.screens.help import HelpScreen
from telestrations.tui.screens.main import MainScreen
from telestrations.tui.screens.picker import ModelPicker
from telestrations.tui.screens.viewer import ImageViewer
from telestrations.tui.widgets.cards import ErrorCard
from telestrations.tui.widgets.controls import ModelField

from .test_tui_support import main_screen, make_app, make_runtime, wait_for

SIZE = (120, 40)

KEYMAP = {
    "pick-drawer": "ctrl+k",
    "start": "f5",
    "pause": "f6",
    "step": "t",
    "help": "f1",
    "command-palette": "ctrl+e",
    "picker.close": "ctrl+w",  # the filter field has ctrl+w too: the menu's close wins
    "games.open": "ctrl+o",
    "confirm.yes": "j",
    "key-dialog.cancel": "ctrl+x",
    "viewer.close": "c",
}


def text_of(app: TelestrationsApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def footer_keys(app: TelestrationsApp) -> dict[str, str]:
    return {k.description: k.key_display for k in app.screen.query(FooterKey)}


def test_every_binding_has_an_id_a_description_and_a_tooltip() -> None:
    seen: dict[str, str] = {}
    for cls in binding_classes():
        group = cls.BINDING_GROUP_TITLE
        assert group, cls
        for b in cls.BINDINGS:
            assert isinstance(b, Binding), (group, b)
            assert b.id and b.description and b.tooltip, (group, b)
            assert b.id not in seen, f"{b.id} in {group} and {seen[b.id]}"
            seen[b.id] = group
    assert len(seen) >= 35


def test_key_display() -> None:
    assert [key_display(k) for k in ("enter", "escape", "question_mark", "ctrl+k", "f5")] == [
        "Enter",
        "Esc",
        "?",
        "Ctrl+K",
        "F5",
    ]
    assert [key_display(k) for k in ("up", "end", "G", "pagedown", "slash")] == [
        "↑",
        "End",
        "G",
        "PgDn",
        "/",
    ]
    assert key_display("\x1b[31mx") == "x"  # a keymap value cannot reach the terminal raw


def test_moving_one_binding_keeps_the_others_on_its_key() -> None:
    """Textual drops every binding on a key when one of them is rebound."""
    expanded = expand_keymap({"start": "f5"}, [MainScreen.BINDINGS])
    assert expanded == {"start": "f5", "pause": "enter", "resume": "enter"}
    assert expand_keymap({"step": "t"}, [MainScreen.BINDINGS]) == {"step": "t"}


async def test_keymap_shows_on_the_main_screen_and_its_keys_work(isolated_env: Path) -> None:
    runtime, _ = make_runtime(isolated_env, keymap=KEYMAP)
    app = make_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        await pilot.pause()
        hint = text_of(app, "#controls-hint")
        assert "F5 start" in hint and "t one turn" in hint and "F1 all keys" in hint
        assert "Enter" not in hint and "s one turn" not in hint
        drawer = m.query_one("#drawer", ModelField)
        assert drawer.border_title == "Drawer  Ctrl+K"
        assert "type a first prompt, then F5" in str(m.status_line.render())
        await pilot.press("enter")  # in the prompt field: no longer starts
        await pilot.pause(0.1)
        assert m.game is None
        m.history.focus()  # the prompt field keeps ctrl+k (delete to the end) for itself
        await pilot.pause()
        keys = footer_keys(app)
        assert keys["Drawer"] == "^k" and keys["Start"] == "f5" and keys["Step"] == "t"

        commands = {c.title: c.help for c in app.get_system_commands(m)}
        assert commands["game: choose the drawer"] == "Drawer · key Ctrl+K"
        assert commands["game: start a game from the first prompt"] == "Start · key F5"

        await pilot.press("f5")
        await wait_for(pilot, lambda: m.game is not None and m.game.rounds_done >= 1)
        assert footer_keys(app)["Pause"] == "f6"
        await pilot.press("f6")
        await wait_for(pilot, lambda: m.game.state == "paused" and not m.running)
        assert footer_keys(app)["Resume"] == "⏎"  # resume stayed on Enter
        assert "Enter resumes" in str(m.status_line.render())
        rounds = m.game.rounds_done
        await pilot.press("enter")
        await wait_for(pilot, lambda: m.game.rounds_done > rounds)
        await pilot.press("f6")
        await wait_for(pilot, lambda: not m.running)

        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        help_text = text_of(app, "#help Static")
        assert "Ctrl+K" in help_text and "Choose the drawer" in help_text
        assert "command palette (Ctrl+E)" in help_text
        rows = {r.description: r.keys for r in app.help_rows()}
        assert rows["Choose the drawer"] == "Ctrl+K"
        assert rows["Start a game from the first prompt"] == "F5"
        assert rows["Resume (a failed turn is retried)"] == "Enter"
        assert rows["Close the viewer"] == "c"
        assert rows["Use this model"] == "Enter" and rows["Close the menu"] == "Ctrl+W"
        assert rows["Yes (in a question)"] == "j"
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is m)

        await pilot.press("ctrl+e")
        await wait_for(pilot, lambda: app.screen is not m)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is m)


async def test_keymap_shows_in_menus_dialogs_and_the_viewer(isolated_env: Path) -> None:
    runtime, _ = make_runtime(isolated_env, keymap=KEYMAP)
    settings = Settings(drawer="fake:painter", guesser="fake:eye")
    older = runtime.store.new_game("an old boat", settings.__dict__)
    await Game(older, runtime.models(), settings).step()
    app = make_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        m.history.focus()
        await pilot.press("d")
        await pilot.pause(0.1)
        assert app.screen is m  # d is no longer the drawer menu
        await pilot.press("ctrl+k")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPicker))
        title = text_of(app, "#picker-title")
        commands = {c.title: c.help for c in app.get_system_commands(app.screen)}
        assert commands["model menu: close the menu"] == "Close · key Ctrl+W"
        assert "Ctrl+W closes" in title and "Enter picks" in title and "↑↓" in title
        assert "Esc" not in title
        assert footer_keys(app).get("Close") is None  # the picker has no footer
        await pilot.press("ctrl+w")
        await wait_for(pilot, lambda: app.screen is m)

        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, PastGames) and bool(app.screen.games))
        assert "Ctrl+O opens" in text_of(app, "#games-title")
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: m.game is not None and m.game.dir.path == older.path)

        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, ImageViewer))
        assert footer_keys(app)["Close"] == "c"
        commands = {c.title: c.help for c in app.get_system_commands(app.screen)}
        assert commands["viewer: close the viewer"] == "Close · key c"
        assert commands["viewer: next image"] == "Next · key →, l"
        assert not any(t.startswith("game: ") for t in commands)  # the main screen's stay there
        await pilot.press("c")
        await wait_for(pilot, lambda: app.screen is m)

        await pilot.press("enter")  # resume the opened game, then ask for a new one
        await wait_for(pilot, lambda: m.running)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        labels = [str(b.label) for b in app.screen.query(Button)]
        assert labels == ["Yes (j)", "No (n)"]
        await pilot.press("j")
        await wait_for(pilot, lambda: m.game is None)

        m.ask_key("keyed:seer", runtime.availability("keyed:seer", "guesser")[1])
        await wait_for(pilot, lambda: bool(app.screen.query("#key-dialog-hint")))
        assert isinstance(app.screen, KeyDialog)
        hint = text_of(app, "#key-dialog-hint")
        assert "Enter saves · Ctrl+X cancels" in hint
        await pilot.press("enter")  # empty: the notice names the cancel key
        await wait_for(
            pilot, lambda: any("Ctrl+X cancels" in str(n.message) for n in app._notifications)
        )
        await pilot.press("ctrl+x")
        await wait_for(pilot, lambda: app.screen is m)


async def test_error_card_names_the_keys(isolated_env: Path) -> None:
    keymap = {"resume": "r", "pause": "enter", "pick-guesser": "ctrl+g"}
    runtime, _ = make_runtime(isolated_env, keymap=keymap)
    app = make_app(runtime, guesser="fake:broken")
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(m.history.query(ErrorCard)))
        await wait_for(pilot, lambda: m.game.state == "paused" and not m.running)
        text = str(m.history.query_one(ErrorCard).render())
        assert "r retries this turn · d / Ctrl+G change models" in text
        await pilot.press("r")
        await wait_for(pilot, lambda: m.game.rounds_done >= 1)


async def test_keymap_set_at_run_time_updates_the_hints(isolated_env: Path) -> None:
    runtime, _ = make_runtime(isolated_env)
    app = make_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        assert "s one turn" in text_of(app, "#controls-hint")
        app.update_keymap({"step": "ctrl+t", "pick-guesser": "f3"})
        await pilot.pause()
        assert "Ctrl+T one turn" in text_of(app, "#controls-hint")
        assert m.query_one("#guesser", ModelField).border_title == "Guesser  F3"


async def test_unknown_keymap_id_is_reported(isolated_env: Path) -> None:
    runtime, _ = make_runtime(isolated_env, keymap={"stpe": "t"})
    app = make_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        notes = [str(n.message) for n in app._notifications]
        assert any("no binding called stpe" in n for n in notes), notes


def test_keymap_values_are_checked_when_config_loads(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    assert parse_config({"keymap": {"step": "t", "start": "f5,ctrl+s"}}, path).keymap == {
        "step": "t",
        "start": "f5,ctrl+s",
    }
    for bad, word in ((5, "must be str"), ("", "must name keys"), ("t,", "must name keys")):
        with pytest.raises(ConfigError) as info:
            parse_config({"keymap": {"step": bad}}, path)
        message = str(info.value)
        assert str(path) in message and "[keymap] step" in message and word in message


async def test_history_paging_lines_name_the_keys(isolated_env: Path) -> None:
    runtime, fake = make_runtime(isolated_env, max_cards=4, keymap={"history.oldest": "ctrl+home"})
    fake.delay = 0
    settings = Settings(drawer="fake:painter", guesser="fake:eye")
    older = runtime.store.new_game("a long game", settings.__dict__)
    game = Game(older, runtime.models(), settings)
    for _ in range(14):
        await game.step()
    app = make_app(runtime, resume=older)
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        await wait_for(pilot, lambda: m.history.lo > 0)
        line = text_of(app, "#older")
        assert "scroll up for more, Ctrl+Home for the first round" in line
        m.history.focus()
        await pilot.press("ctrl+home")
        await wait_for(pilot, lambda: m.history.lo == 0)
