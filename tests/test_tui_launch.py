"""Where the app's first choices come from: flags, then a resumed game, state, config."""

from __future__ import annotations

from pathlib import Path

from telestrations.runtime import Runtime
from telestrations.session import Choices, Launch
from telestrations.state import UiState, load_state, save_state
from telestrations.tui.app import launch_for
from telestrations.tui.text import clean

from .test_tui_support import make_runtime


def _args(**kw: str) -> Choices:
    return Choices(**kw)


def launch_from(choices: Choices, runtime: Runtime, state: UiState) -> Launch:
    return launch_for(runtime, choices, state)


def test_fresh_machine_uses_config_defaults(isolated_env: Path) -> None:
    runtime, _ = make_runtime(isolated_env)
    launch = launch_from(_args(), runtime, load_state(runtime.state_file))
    assert launch.settings.drawer == "doodle:doodle" and launch.settings.guesser == "doodle:doodle"
    assert launch.settings.style == "Illustrate in black & white doodle style"
    assert launch.prompt == runtime.config.game.prompt
    assert launch.images == "halfcell" and launch.resume is None


def test_state_then_flags(isolated_env: Path) -> None:
    runtime, _ = make_runtime(isolated_env)
    save_state(
        runtime.state_file,
        UiState(prompt="a boat", drawer="fake:painter", guesser="fake:other", style=""),
    )
    state = load_state(runtime.state_file)
    launch = launch_from(_args(), runtime, state)
    assert (launch.prompt, launch.settings.guesser, launch.settings.style) == (
        "a boat",
        "fake:other",
        "",
    )
    launch = launch_from(_args(guesser="fake:eye", images="unicode"), runtime, state)
    assert launch.settings.guesser == "fake:eye" and launch.settings.drawer == "fake:painter"
    assert launch.images == "unicode" and launch.remember_images == "unicode"


def test_resume_takes_the_games_prompt_and_settings(isolated_env: Path) -> None:
    runtime, _ = make_runtime(isolated_env)
    game = runtime.store.new_game("a fox", {"drawer": "fake:painter", "guesser": "fake:other"})
    launch = launch_from(_args(resume=game.name), runtime, load_state(runtime.state_file))
    assert launch.resume is not None and launch.resume.path == game.path
    assert launch.prompt == "a fox" and launch.settings.guesser == "fake:other"


def test_clean_strips_escapes_and_controls() -> None:
    dirty = "a\x1b[31mred\x1b[0m \x1b]8;;https://x\x07link\x1b]8;;\x07 \u202eevil\x00 [b]x[/b]\tend"
    assert clean(dirty) == "ared link evil [b]x[/b] end"
    assert clean("one\ntwo", oneline=True) == "one two"
    assert clean("x" * 50, limit=10) == "x" * 9 + "…"


async def test_an_image_mode_this_terminal_cannot_show_falls_back_and_is_forgotten(
    isolated_env: Path,
) -> None:
    """Tests run without a terminal: nothing answers for sixel, so ``--images sixel`` falls
    back to half-cell blocks with a notice, the thumbnails are half-cell, and the state file
    keeps the earlier choice, not the failed one."""
    from telestrations.tui.app import TelestrationsApp
    from telestrations.tui.widgets.cards import RoundCard

    from .test_tui_support import main_screen, wait_for

    runtime, _ = make_runtime(isolated_env)
    save_state(runtime.state_file, UiState(drawer="fake:painter", guesser="fake:eye"))
    state = load_state(runtime.state_file)
    launch = launch_from(_args(images="sixel"), runtime, state)
    assert launch.images == "halfcell" and launch.remember_images == ""
    assert "Sixel" in launch.notice and "half-cell" in launch.notice
    app = TelestrationsApp(runtime, launch)
    async with app.run_test(size=(120, 36)) as pilot:
        m = main_screen(app)
        notes = [str(n.message) for n in app._notifications]
        assert any("Sixel thumbnails are not available" in n for n in notes), notes
        m.history.focus()
        await pilot.press("s")
        await wait_for(pilot, lambda: bool(m.history.query(".thumb-image")))
        image = m.history.query(RoundCard).first().query_one(".thumb-image")
        assert type(image).__name__ == "CellPicture"  # half-cell blocks
        await m.save_state()
    assert load_state(runtime.state_file).images == ""
    # an earlier choice that works is kept when a new one fails
    save_state(runtime.state_file, UiState(images="unicode"))
    launch = launch_from(_args(images="tgp"), runtime, load_state(runtime.state_file))
    assert launch.images == "halfcell" and launch.remember_images == "unicode"
