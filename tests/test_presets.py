"""Guesser presets (issue 11 part 5): the texts a preset names reach a real (loopback) guesser,
the journal records the preset and its exact texts per describe turn, config adds presets and
refuses bad ones, a resumed game keeps its preset, and `show`/exports mention it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from telestrations.cli import main
from telestrations.config import ConfigError, parse_config
from telestrations.presets import BUILTIN, DEFAULT_PRESET, UnknownPreset, find, label
from telestrations.rules import Settings
from telestrations.session import Choices
from tests.fakes.ollama_api import FakeModel, FakeOllama, SeenImage

from .test_tui_support import make_app, make_runtime, wait_for


@pytest.fixture
def ollama() -> Iterator[tuple[FakeOllama, list[tuple[str, str]]]]:
    """A loopback Ollama whose llava answers with a drawable caption and remembers what the
    request asked (system text, user prompt)."""
    seen: list[tuple[str, str]] = []

    def reply(system: str, prompt: str, images: list[SeenImage]) -> str:
        seen.append((system, prompt))
        assert images, "the picture reached the guesser"
        return "a blue boat on a green sea"

    api = FakeOllama([FakeModel("llava:latest", reply=reply)]).start()
    yield api, seen
    api.stop()


def _run(
    home: Path, monkeypatch: pytest.MonkeyPatch, api: FakeOllama, *args: str
) -> tuple[int, str]:
    monkeypatch.setenv("OLLAMA_HOST", api.url)
    code = main(["run", "--no-check", "-q", "--guesser", "ollama:llava", *args])
    return code, ""


def _describes(home: Path) -> list[dict[str, Any]]:
    games = sorted((home / "data" / "games").iterdir())
    lines = [json.loads(x) for x in (games[-1] / "journal.jsonl").read_text().splitlines()]
    return [x for x in lines if x.get("type") == "turn" and x["kind"] == "describe"]


def test_every_builtin_preset_still_asks_for_a_description() -> None:
    assert set(BUILTIN) == {"faithful", "ten-words", "funnier", "scarier", "opposite", "child"}
    assert BUILTIN[DEFAULT_PRESET].prompt == Settings().guesser_prompt  # the original's
    for p in BUILTIN.values():
        assert p.system.strip() and p.prompt.strip() and p.about
        # the caption is all the drawer gets: each prompt asks about *this picture*
        assert "picture" in p.prompt.lower() or "image" in p.prompt.lower()


def test_preset_texts_reach_a_loopback_guesser_and_the_journal(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch, ollama: Any
) -> None:
    api, seen = ollama
    code, _ = _run(isolated_env, monkeypatch, api, "--rounds", "2", "--preset", "scarier")
    assert code == 0
    scarier = BUILTIN["scarier"]
    assert seen == [(scarier.system, scarier.prompt)] * 2  # what the HTTP request carried
    chat = [r for r in api.requests if r.path == "/api/chat"]
    assert chat and chat[0].json["messages"][0] == {"role": "system", "content": scarier.system}
    describes = _describes(isolated_env)
    assert [(d["preset"], d["system"], d["input"]) for d in describes] == [
        ("scarier", scarier.system, scarier.prompt)
    ] * 2


def test_without_a_preset_the_original_texts_are_journalled_as_ten_words(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch, ollama: Any
) -> None:
    api, seen = ollama
    assert _run(isolated_env, monkeypatch, api, "--rounds", "1")[0] == 0  # no config, no state
    (d,) = _describes(isolated_env)
    assert d["preset"] == "ten-words" and seen == [(d["system"], d["input"])]
    assert d["input"] == "Describe what happens in this image in up to 10 words"


def test_guesser_prompt_over_a_preset_is_custom_in_the_journal(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch, ollama: Any
) -> None:
    api, seen = ollama
    args = ("--rounds", "1", "--preset", "funnier", "--guesser-prompt", "What is this?")
    assert _run(isolated_env, monkeypatch, api, *args)[0] == 0
    assert seen == [(BUILTIN["funnier"].system, "What is this?")]
    (d,) = _describes(isolated_env)
    assert d["preset"] == "" and d["input"] == "What is this?"


def test_a_resumed_game_keeps_its_preset_unless_overridden(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch, ollama: Any
) -> None:
    api, seen = ollama
    assert _run(isolated_env, monkeypatch, api, "--rounds", "1", "--preset", "child")[0] == 0
    assert _run(isolated_env, monkeypatch, api, "--rounds", "1", "--resume", "last")[0] == 0
    args = ("--rounds", "1", "--resume", "last", "--preset", "opposite")
    assert _run(isolated_env, monkeypatch, api, *args)[0] == 0
    assert [d["preset"] for d in _describes(isolated_env)] == ["child", "child", "opposite"]
    assert seen[1] == (BUILTIN["child"].system, BUILTIN["child"].prompt)


def test_user_preset_from_config_is_used_and_recorded(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch, ollama: Any
) -> None:
    api, seen = ollama
    isolated_env.mkdir(parents=True, exist_ok=True)
    (isolated_env / "config.toml").write_text(
        '[game]\npreset = "haiku"\n\n'
        '[presets.haiku]\nsystem = "You are a poet."\n'
        'prompt = "Describe this picture as a haiku."\nabout = "five, seven, five"\n'
    )
    assert _run(isolated_env, monkeypatch, api, "--rounds", "1")[0] == 0
    assert seen == [("You are a poet.", "Describe this picture as a haiku.")]
    (d,) = _describes(isolated_env)
    assert d["preset"] == "haiku"


@pytest.mark.parametrize(
    ("toml", "says"),
    [
        ('[game]\npreset = "scarrier"\n', "did you mean 'scarier'"),
        ('[game]\npreset = "child"\nguesser_prompt = "x"\n', "both preset and guesser_prompt"),
        ('[presets.mine]\nsystem = "s"\n', "[presets.mine] needs prompt"),
        ('[presets.mine]\nprompt = "p"\nsytem = "s"\n', "unknown key 'sytem'"),
        ("[presets.mine]\nprompt = 3\n", "prompt must be str"),
        ('[presets."two words"]\nprompt = "p"\n', "a preset name is letters"),
        ("presets = 1\n", "presets must be a table"),
    ],
)
def test_config_preset_errors_name_the_problem(toml: str, says: str, tmp_path: Path) -> None:
    import tomllib

    with pytest.raises(ConfigError) as err:
        parse_config(tomllib.loads(toml), tmp_path / "config.toml", specs={})
    assert says in str(err.value) and "config.toml" in str(err.value)


def test_config_game_texts_are_labelled_with_the_preset_they_match(tmp_path: Path) -> None:
    import tomllib

    path = tmp_path / "config.toml"
    cfg = parse_config({}, path, specs={})
    assert cfg.game.settings().preset == DEFAULT_PRESET
    custom = parse_config(tomllib.loads('[game]\nguesser_prompt = "Say it"\n'), path, specs={})
    assert custom.game.settings().preset == ""
    mine = tomllib.loads('[game]\npreset = "faithful"\n[presets.faithful]\nprompt = "Mine"\n')
    replaced = parse_config(mine, path, specs={})  # a user preset replaces a built-in
    assert replaced.game.settings().guesser_prompt == "Mine"


def test_unknown_preset_on_the_command_line_is_one_line_with_a_suggestion(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["run", "--no-check", "--rounds", "1", "--preset", "chld"]) == 2
    err = capsys.readouterr().err
    assert "unknown guesser preset 'chld'; did you mean 'child'?" in err
    assert len(err.strip().splitlines()) == 1
    with pytest.raises(UnknownPreset):
        find("nope")


def test_choices_and_label() -> None:
    s = Choices(preset="opposite").over(Settings())
    assert (s.preset, s.guesser_prompt) == ("opposite", BUILTIN["opposite"].prompt)
    assert Choices(guesser_system="Other").over(s).preset == ""  # edited: custom
    assert label(Settings()).preset == DEFAULT_PRESET


def test_describe_command_takes_a_preset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ollama: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    api, seen = ollama
    monkeypatch.setenv("OLLAMA_HOST", api.url)
    image = tmp_path / "p.png"
    Image.new("RGB", (32, 32), "blue").save(image)
    args = ["describe", str(image), "--guesser", "ollama:llava", "--preset", "child"]
    assert main([*args, "--no-check"]) == 0
    assert seen == [(BUILTIN["child"].system, BUILTIN["child"].prompt)]
    assert "blue boat" in capsys.readouterr().out


def test_show_and_exports_mention_the_preset(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch, ollama: Any
) -> None:
    api, _ = ollama
    assert _run(isolated_env, monkeypatch, api, "--rounds", "1", "--preset", "faithful")[0] == 0
    env = _env(isolated_env)
    show = subprocess.run(
        [sys.executable, "-m", "telestrations", "show", "last"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "guesser preset: faithful" in show.stdout
    for fmt in ("md", "html"):
        out = subprocess.run(
            [sys.executable, "-m", "telestrations", "export", "last", "-f", fmt, "-o", "-"],
            env=env,
            capture_output=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        assert b"guesser preset: faithful" in out.stdout


def _env(home: Path) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("TELESTRATIONS_")}
    env["TELESTRATIONS_CONFIG"] = str(home / "config.toml")
    env["TELESTRATIONS_DATA_DIR"] = str(home / "data")
    env["TELESTRATIONS_KEYS"] = str(home / "keys.json")
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    return env


async def test_tui_preset_menu_picks_a_preset_for_the_next_turn(isolated_env: Path) -> None:
    from textual.widgets import Input

    from telestrations.tui.screens.presets import PresetPicker

    runtime, fake = make_runtime(isolated_env)
    app = make_app(runtime)
    async with app.run_test(size=(120, 40)) as pilot:
        m = app.screen
        system = m.query_one("#guesser-system", Input)
        assert "ten-words" in str(system.border_subtitle)  # visible on the first screen
        palette = [str(c.title) for c in app.get_system_commands(m)]
        assert {f"preset: {name}" for name in BUILTIN} <= set(palette)
        await pilot.press("escape", "t")  # leave the prompt field, open the menu
        await wait_for(pilot, lambda: isinstance(app.screen, PresetPicker))
        names = list(BUILTIN)
        steps = names.index("scarier") - names.index("ten-words")
        await pilot.press(*(["down"] * steps), "enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, PresetPicker))
        assert m.settings.preset == "scarier"  # type: ignore[attr-defined]
        assert system.value == BUILTIN["scarier"].system
        assert m.query_one("#guesser-prompt", Input).value == BUILTIN["scarier"].prompt
        assert "scarier" in str(system.border_subtitle)
        # One round, one turn at a time: the second step only once the first has ended (a
        # step while a turn runs is refused, and on a slow machine the draw may still run).
        await pilot.press("s")
        await wait_for(pilot, lambda: m.game is not None and not m.running and m.game.records)  # type: ignore[attr-defined]
        await pilot.press("s")
        await wait_for(pilot, lambda: len(fake.describes) == 1)
        await wait_for(pilot, lambda: any(r.kind == "describe" for r in m.game.records))  # type: ignore[attr-defined]
        describe = next(r for r in m.game.records if r.kind == "describe")  # type: ignore[attr-defined]
        assert describe.preset == "scarier" and describe.input == BUILTIN["scarier"].prompt
        assert fake.describes[0][1:] == (BUILTIN["scarier"].system, BUILTIN["scarier"].prompt)
        # editing a text by hand makes it custom
        system.focus()
        await pilot.press("end", "x")
        await wait_for(pilot, lambda: m.settings.preset == "")  # type: ignore[attr-defined]
        assert "custom" in str(system.border_subtitle)


async def test_tui_opens_a_past_game_with_the_preset_it_was_played_with(
    isolated_env: Path,
) -> None:
    from textual.widgets import Input

    from telestrations.game import Game
    from telestrations.presets import apply
    from telestrations.session import resolve
    from telestrations.state import UiState
    from telestrations.tui.app import TelestrationsApp

    runtime, _fake = make_runtime(isolated_env)
    settings = apply(Settings(drawer="fake:painter", guesser="fake:eye"), BUILTIN["child"])
    game_dir = runtime.store.new_game("a cat", {"drawer": "fake:painter"})
    game = Game(game_dir, runtime.models(), settings)
    for _ in range(2):
        assert (await game.step()).ok
    game_dir.unlock()
    # as `telestrations --resume GAME` does; the state file remembers another preset
    launch = resolve(runtime, Choices(resume=str(game_dir.path)), UiState(preset="funnier"))
    app = TelestrationsApp(runtime, launch)
    async with app.run_test(size=(120, 40)) as pilot:
        m = app.screen
        await wait_for(pilot, lambda: m.settings.preset == "child")  # type: ignore[attr-defined]
        system = m.query_one("#guesser-system", Input)
        assert system.value == BUILTIN["child"].system
        assert "child" in str(system.border_subtitle)
