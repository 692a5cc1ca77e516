"""Where the app's first choices come from: flags, then a resumed game, state, config."""

from __future__ import annotations

from pathlib import Path

from telestrations.runtime import Runtime
from telestrations.session import Choices, Launch, resolve
from telestrations.state import UiState, load_state, save_state
from telestrations.tui.text import clean

from .test_tui_support import make_runtime


def _args(**kw: str) -> Choices:
    return Choices(**kw)


def launch_from(choices: Choices, runtime: Runtime, state: UiState) -> Launch:
    return resolve(runtime, choices, state)


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
