"""The first minute of a new user: typing replaces the default prompt, Help and Quit are named
from the first screen and stay in an 80-column footer, a past game is not opened over a running
one without asking, and a bad ``[keymap]`` or ``[ui]`` value is refused before the app starts."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from textual import events
from textual.widgets import Input, Static
from textual.widgets._footer import FooterKey

from telestrations.cli import main
from telestrations.config import ConfigError, parse_config
from telestrations.tui.screens.dialogs import ConfirmDialog
from telestrations.tui.screens.games import PastGames
from telestrations.tui.screens.main import MainScreen
from telestrations.tui.widgets.footer import PinnedFooter

from .test_tui_support import Gate, main_screen, make_app, make_runtime, wait_for

NARROW = (80, 24)


def visible_footer(app) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Description → key of the footer keys drawn inside the screen (not cut off)."""
    footer = app.screen.query_one(PinnedFooter)
    width = app.size.width
    out = {}
    for key in footer.query(FooterKey):
        region = key.region
        if region.width and region.x >= 0 and region.right <= width:
            out[key.description] = key.key_display
    return out


async def test_typing_on_the_first_screen_replaces_the_default_prompt(isolated_env: Path) -> None:
    runtime, _ = make_runtime(isolated_env)
    app = make_app(runtime, prompt="a red house under a yellow sun")
    async with app.run_test(size=NARROW) as pilot:
        m = main_screen(app)
        await pilot.pause()
        assert isinstance(app.focused, Input) and app.focused.id == "prompt"
        await pilot.press(*"a blue cat")
        await pilot.pause()
        assert m.controls.value("prompt") == "a blue cat"
        await pilot.press("enter")
        await wait_for(pilot, lambda: m.game is not None)
        assert m.game is not None and m.game.dir.first_prompt == "a blue cat"


async def test_keys_typed_in_one_burst_act_in_order(isolated_env: Path) -> None:
    """Ctrl+U, a prompt and editing keys arriving together (a paste, tmux send-keys, a loaded
    machine): the field's own keys must not run after the text typed behind them."""
    runtime, _ = make_runtime(isolated_env)
    app = make_app(runtime, prompt="a red house under a yellow sun")
    async with app.run_test(size=NARROW) as pilot:
        m = main_screen(app)
        await pilot.pause()
        assert isinstance(app.focused, Input) and app.focused.id == "prompt"
        typed = [("space", " ") if c == " " else (c, c) for c in "a green tree beside a blue lake"]
        burst = [("ctrl+u", None), *typed, ("left", None), ("left", None), ("backspace", None)]
        burst += [("ctrl+e", None), ("!", "!")]
        for key, char in burst:  # all queued before the app handles the first one
            app.post_message(events.Key(key, char))
        # Ctrl+U cleared the default first; Backspace took the "a" of "lake" (two keys left
        # of the end); Ctrl+E went back to the end for the "!"
        want = "a green tree beside a blue lke!"
        await wait_for(pilot, lambda: m.controls.value("prompt") == want)
        await pilot.pause()
        assert m.controls.value("prompt") == want


async def test_help_and_quit_are_named_from_the_first_screen_at_80_columns(
    isolated_env: Path,
) -> None:
    runtime, fake = make_runtime(isolated_env)
    fake.gate = Gate()
    app = make_app(runtime)
    async with app.run_test(size=NARROW) as pilot:
        m = main_screen(app)
        await pilot.pause(0.2)
        hint = str(m.query_one("#controls-hint", Static).render())
        assert "? keys" in hint and "q quit" in hint
        # The prompt field takes q and ?: the footer names the quit key that works while typing.
        await wait_for(pilot, lambda: bool(visible_footer(app)))  # drawn (slow under load)
        shown = visible_footer(app)
        assert shown.get("Quit") == "^q", shown
        await pilot.press("enter")  # start: the history has the focus, single keys work
        await wait_for(pilot, lambda: fake.draw_started.is_set())
        await wait_for(pilot, lambda: visible_footer(app).get("Quit") != "^q")  # refreshed
        shown = visible_footer(app)
        assert shown.get("Help") == "?" and shown.get("Quit") == "q", shown
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: not isinstance(app.screen, MainScreen))
        fake.gate.set()


async def test_opening_a_past_game_while_one_runs_asks_first(isolated_env: Path) -> None:
    runtime, fake = make_runtime(isolated_env)
    fake.gate = Gate()
    app = make_app(runtime)
    async with app.run_test(size=(120, 36)) as pilot:
        m = main_screen(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: fake.draw_started.is_set())
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("escape")  # no: the game goes on
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        assert m.running
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, PastGames))
        fake.gate.set()
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        assert m.running  # opening nothing stopped nothing


async def test_past_games_opens_at_once_when_nothing_runs(isolated_env: Path) -> None:
    runtime, _ = make_runtime(isolated_env)
    app = make_app(runtime)
    async with app.run_test(size=(120, 36)) as pilot:
        main_screen(app).history.focus()
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, PastGames))


@pytest.mark.parametrize(
    ("ui", "word"),
    [
        ({"thumbnail_width": 0}, "thumbnail_width must be from 8 to 300, not 0"),
        ({"thumbnail_width": 500}, "thumbnail_width must be from 8 to 300, not 500"),
        ({"max_cards": 0}, "max_cards must be from 4 to 1000, not 0"),
    ],
)
def test_out_of_range_ui_values_are_refused(tmp_path: Path, ui: dict, word: str) -> None:
    path = tmp_path / "config.toml"
    with pytest.raises(ConfigError) as info:
        parse_config({"ui": ui}, path)
    assert str(path) in str(info.value) and f"[ui] {word}" in str(info.value)
    assert parse_config({"ui": {"thumbnail_width": 8}}, path).ui.thumbnail_width == 8
    assert parse_config({"ui": {"thumbnail_width": 300}}, path).ui.thumbnail_width == 300


@pytest.mark.parametrize(
    ("table", "word"),
    [
        ('stpe = "t"', "[keymap] stpe: no binding has this id"),
        ("step = 5", "[keymap] step must be str"),
        ("step = []", "[keymap] step must be str"),
        ("[ui]\nthumbnail_width = 500", "[ui] thumbnail_width must be from 8 to 300"),
    ],
)
def test_the_app_refuses_a_bad_config_before_it_starts(
    isolated_env: Path, capsys: pytest.CaptureFixture[str], table: str, word: str
) -> None:
    config = isolated_env / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    header = "" if table.startswith("[") else "[keymap]\n"
    config.write_text(header + table + "\n")
    assert sys.stdin is not None
    assert main([]) == 2  # before the app takes the terminal (it would hang on a pipe)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(config) in err[0] and word in err[0], err


async def test_the_help_screen_fits_80_by_24(isolated_env: Path) -> None:
    from textual.containers import VerticalScroll

    from telestrations.tui.screens.help import HelpScreen

    runtime, _ = make_runtime(isolated_env)
    app = make_app(runtime)
    async with app.run_test(size=NARROW) as pilot:
        main_screen(app).history.focus()
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.pause(0.2)
        box = app.screen.query_one("#help", VerticalScroll)
        assert app.screen.region.contains_region(box.region)
        text = app.screen.query_one("#help Static", Static)
        lines = str(text.render()).splitlines()
        assert len(lines) > box.size.height  # more rows than room: it scrolls, so none is lost
        width = text.content_region.width
        assert all(len(line) <= width for line in lines), (width, max(lines, key=len))
        for row in app.help_rows():
            assert any(row.description in line for line in lines), row
        box.scroll_end(animate=False)
        await pilot.pause(0.1)
        assert box.scroll_y == box.max_scroll_y > 0


async def test_a_theme_picked_is_remembered_at_the_next_start(isolated_env: Path) -> None:
    from telestrations.session import Choices
    from telestrations.state import load_state
    from telestrations.tui.app import TelestrationsApp, launch_for

    runtime, _ = make_runtime(isolated_env)
    app = make_app(runtime)
    async with app.run_test(size=NARROW) as pilot:
        assert app.theme != "textual-light"
        app.theme = "textual-light"  # what the palette's "Change theme" does
        await wait_for(pilot, lambda: load_state(runtime.state_file).theme == "textual-light")
    launch = launch_for(runtime, Choices(), load_state(runtime.state_file))
    assert launch.theme == "textual-light"
    again = TelestrationsApp(runtime, launch)
    async with again.run_test(size=NARROW) as pilot:
        await pilot.pause()
        assert again.theme == "textual-light"


@pytest.mark.parametrize("theme", ["textual-light", "catppuccin-latte", "textual-dark", "nord"])
async def test_the_status_badge_is_readable_in_light_and_dark_themes(
    isolated_env: Path, theme: str
) -> None:
    from textual.color import Color

    from telestrations.tui.widgets.status import Status, contrast

    runtime, _ = make_runtime(isolated_env)
    app = make_app(runtime)
    async with app.run_test(size=(120, 36)) as pilot:
        app.theme = theme
        line = main_screen(app).status_line
        for state in ("idle", "running", "paused", "stopped"):
            line.set_status(Status(state=state))
            await pilot.pause()
            badge = next(seg for seg in line.render_line(0) if seg.text.strip())
            assert badge.text.strip() == state.upper()
            style = badge.style
            assert style is not None and style.color is not None and style.bgcolor is not None
            fg, bg = Color.from_rich_color(style.color), Color.from_rich_color(style.bgcolor)
            assert contrast(fg, bg) >= 4.5, (theme, state, fg.hex, bg.hex)


async def test_the_model_menu_keeps_the_highlighted_row_in_view_at_80_by_24(
    isolated_env: Path,
) -> None:
    from textual.widgets import OptionList

    from telestrations.providers.base import ModelInfo
    from telestrations.providers.registry import Registry
    from telestrations.tui.screens.picker import ModelPicker

    from .test_tui_support import FakeProvider

    class Many(FakeProvider):
        """Forty drawers, every other one with a note long enough to wrap in the detail."""

        name = "many"
        title = "Many"
        PRESETS = tuple(
            ModelInfo("many", f"model-{i:02d}", "drawer", note="a long note " * 8 * (i % 2))
            for i in range(40)
        )

    runtime, _ = make_runtime(isolated_env, registry=Registry([FakeProvider(), Many()]))
    app = make_app(runtime)
    async with app.run_test(size=NARROW) as pilot:
        main_screen(app).history.focus()
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPicker))
        options = app.screen.query_one("#picker-options", OptionList)
        await pilot.pause()
        assert options.size.height < 10  # far fewer rows than models: it has to scroll

        def in_view() -> bool:
            line = options._index_to_line[options.highlighted]  # type: ignore[index]
            top = round(options.scroll_y)
            return top <= line < top + options.size.height

        async def press(*keys: str) -> None:
            for key in keys:
                await pilot.press(key)
                await pilot.pause()
                assert in_view(), (key, options.highlighted, options.scroll_y, options.size)

        await press(*["down"] * 40)
        assert options.highlighted_option is not None
        assert options.highlighted_option.id == "many:model-39"  # the last row, in view
        await press(*["pageup"] * 2, *["pagedown"] * 2, *["up"] * 9)
