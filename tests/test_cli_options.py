"""Options mean what they say: each works before or after the subcommand, or is refused with
a message naming it; never silently ignored (the subcommand's defaults used to win)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from telestrations.cli import parse_args
from telestrations.store import GameDir

TIMEOUT = 60
COMMANDS = {"run", "draw", "describe", "models", "games", "export", "show", "keys"}


def tele(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "telestrations", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, **(env or {})},
    )


def placed(where: str, command: list[str], options: list[str]) -> list[str]:
    """``options`` before the subcommand or after it."""
    return [*options, *command] if where == "before" else [*command, *options]


def only_game(data: Path) -> GameDir:
    games = sorted((data / "games").iterdir())
    assert len(games) == 1, games
    return GameDir.open(games[0])


@pytest.mark.parametrize("where", ["before", "after"])
def test_data_dir_in_either_position(where: str, tmp_path: Path) -> None:
    data = tmp_path / f"data-{where}"
    out = tele(*placed(where, ["run"], ["--data-dir", str(data)]), "--rounds", "1", "-q")
    assert out.returncode == 0, out.stderr
    assert str(data) in out.stdout
    assert only_game(data).records
    out = tele(*placed(where, ["games"], ["--data-dir", str(data)]))
    assert out.returncode == 0 and only_game(data).name in out.stdout


@pytest.mark.parametrize("where", ["before", "after"])
def test_config_in_either_position(where: str, tmp_path: Path) -> None:
    data = tmp_path / "from-config"
    config = tmp_path / "chosen.toml"
    config.write_text(f'data_dir = "{data}"\n[game]\nprompt = "config prompt marker"\n')
    env = {"TELESTRATIONS_DATA_DIR": ""}  # else the environment outranks the config file
    out = tele(*placed(where, ["run"], ["--config", str(config)]), "--rounds", "1", env=env)
    assert out.returncode == 0, out.stderr
    game = only_game(data)
    assert game.first_prompt == "config prompt marker"
    out = tele(*placed(where, ["games"], ["--config", str(config)]), env=env)
    assert out.returncode == 0 and game.name in out.stdout
    out = tele(*placed(where, ["models", "--no-check"], ["--config", str(tmp_path / "nope.toml")]))
    assert out.returncode == 2 and "nope.toml" in out.stderr  # the file named is the one read


@pytest.mark.parametrize("where", ["before", "after", "none"])
def test_verbose_in_either_position(where: str) -> None:
    options = [] if where == "none" else ["-v"]
    out = tele(*placed(where, ["run"], options), "--rounds", "1", "-q")
    assert out.returncode == 0, out.stderr
    assert ("INFO telestrations: state: running" in out.stderr) == (where != "none")


def test_verbose_counts_in_both_positions_and_later_values_win() -> None:
    assert parse_args(["-v", "run", "-v"]).verbose == 2
    assert parse_args(["-vv", "models"]).verbose == 2
    assert parse_args(["models"]).verbose == 0
    args = parse_args(["--data-dir", "A", "run", "--data-dir", "B"])
    assert args.data_dir == "B"
    args = parse_args(["--data-dir", "A", "--config", "C", "export", "last"])
    assert (args.data_dir, args.config) == ("A", "C")
    assert parse_args(["draw", "x", "-o", "f.png"]).style == ""
    assert parse_args(["--style", "ink", "draw", "x", "-o", "f.png"]).style == "ink"
    assert parse_args(["--drawer", "a:b", "draw", "x", "-o", "f.png"]).drawer == "a:b"
    args = parse_args(["--guesser", "g:h", "--guesser-prompt", "P", "describe", "i.png"])
    assert (args.guesser, args.guesser_prompt, args.guesser_system) == ("g:h", "P", None)
    args = parse_args(["--prompt", "p", "--resume", "last", "run"])
    assert (args.prompt, args.resume, args.rounds) == ("p", "last", None)
    assert parse_args([]).command is None and parse_args(["--images", "sixel"]).images == "sixel"


@pytest.mark.parametrize("where", ["before", "after"])
def test_game_options_before_run(where: str, isolated_env: Path) -> None:
    options = [
        "--prompt",
        "a green boat",
        "--drawer",
        "doodle:doodle",
        "--guesser",
        "doodle:doodle",
        "--style",
        "in ink",
        "--guesser-system",
        "SYS",
        "--guesser-prompt",
        "What is it?",
    ]
    out = tele(*placed(where, ["run"], options), "--rounds", "1", "--json")
    assert out.returncode == 0, out.stderr
    turns = [json.loads(line) for line in out.stdout.splitlines()][:-1]
    assert turns[0]["input"] == "in ink: a green boat"
    assert turns[1]["system"] == "SYS" and turns[1]["input"] == "What is it?"
    game = only_game(isolated_env / "data")
    assert game.header["settings"]["style"] == "in ink"
    out = tele(*placed(where, ["run"], ["--resume", game.name]), "--rounds", "1", "-q")
    assert out.returncode == 0, out.stderr
    assert len(only_game(isolated_env / "data").records) == 4  # the same game, continued


@pytest.mark.parametrize(
    "argv",
    [
        ["draw", "hi", "-o", "x.png"],
        ["describe", "x.png"],
    ],
)
@pytest.mark.parametrize("where", ["before", "after"])
def test_model_options_of_draw_and_describe(where: str, argv: list[str], tmp_path: Path) -> None:
    flag = "--drawer" if argv[0] == "draw" else "--guesser"
    out = tele(*placed(where, argv[:1], [flag, "nope:thing"]), *argv[1:])
    assert out.returncode == 2
    assert "unknown provider 'nope'" in out.stderr  # the option given was the one used


def test_draw_style_before_the_subcommand(tmp_path: Path) -> None:
    plain, styled = tmp_path / "plain.png", tmp_path / "styled.png"
    assert tele("draw", "a red ball", "-o", str(plain)).returncode == 0
    assert (
        tele("--style", "", "draw", "a red ball", "-o", str(tmp_path / "same.png")).returncode == 0
    )
    assert (tmp_path / "same.png").read_bytes() == plain.read_bytes()
    out = tele("--style", "tiny blue night", "draw", "a red ball", "-o", str(styled))
    assert out.returncode == 0, out.stderr
    assert styled.read_bytes() != plain.read_bytes()  # the style reached the drawer


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["--images", "sixel", "models"], "--images"),
        (["--prompt", "x", "draw", "hi", "-o", "x.png"], "--prompt"),
        (["--prompt", "x", "models"], "--prompt"),
        (["--guesser", "doodle", "draw", "hi", "-o", "x.png"], "--guesser"),
        (["--drawer", "doodle", "describe", "x.png"], "--drawer"),
        (["--resume", "last", "games"], "--resume"),
        (["--style", "ink", "export", "last"], "--style"),
        (["-v", "keys", "list"], "-v/--verbose"),
        (["--config", "c.toml", "keys", "path"], "--config"),
        (["--data-dir", "d", "keys", "list"], "--data-dir"),
    ],
)
def test_an_option_the_subcommand_cannot_use_is_refused(argv: list[str], flag: str) -> None:
    out = tele(*argv)
    command = next(a for a in argv if a in COMMANDS)
    assert out.returncode == 2 and out.stdout == ""
    assert f"{flag} does not apply to `telestrations {command}`" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


def test_options_after_keys_are_refused_by_argparse() -> None:
    out = tele("keys", "list", "--data-dir", "d")
    assert out.returncode == 2 and "unrecognized arguments: --data-dir" in out.stderr


def test_a_tui_that_cannot_import_fails_loudly(tmp_path: Path) -> None:
    """A Textual that cannot be imported (missing, or too old for the UI) is an error with
    the reason, not the help text and exit status 0."""
    broken = tmp_path / "broken" / "textual"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text('raise ImportError("this textual is broken")\n')
    path = os.pathsep.join([str(broken.parent), os.environ.get("PYTHONPATH", "")])
    out = tele(env={"PYTHONPATH": path})
    assert out.returncode == 1, (out.stdout, out.stderr)
    assert "the terminal UI cannot start" in out.stderr and "this textual is broken" in out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""
    out = tele("models", "--no-check", env={"PYTHONPATH": path})  # headless still works
    assert out.returncode == 0 and "doodle:doodle" in out.stdout
