"""The installed command as a person or a script uses it: real subprocesses, real files."""

from __future__ import annotations

import argparse
import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from telestrations import __version__
from telestrations.cli.parser import build_parser
from telestrations.store import GameDir

TIMEOUT = 60


def tele(*args: str, stdin: str | None = None, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "telestrations", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=TIMEOUT,
        env={**os.environ, **(env or {})},
    )


def popen(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "telestrations", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_version_and_help() -> None:
    out = tele("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"telestrations {__version__}"
    out = tele("--help")
    assert out.returncode == 0
    for command in ("run", "draw", "describe", "models", "games", "keys"):
        assert command in out.stdout
    out = tele("run", "--help")
    for flag in (
        "--prompt",
        "--rounds",
        "--drawer",
        "--guesser",
        "--style",
        "--guesser-system",
        "--guesser-prompt",
        "--data-dir",
        "--resume",
        "--quiet",
        "--json",
    ):
        assert flag in out.stdout, flag


def test_headless_run_prints_turns_and_folder(isolated_env: Path) -> None:
    out = tele("run", "--prompt", "a red house under a yellow sun", "--rounds", "3")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    turn_lines = [line for line in lines if line.startswith("round")]
    assert len(turn_lines) == 6
    assert "draw" in turn_lines[0] and "doodle:doodle" in turn_lines[0]
    assert turn_lines[0].rstrip().endswith(".png")
    assert "describe" in turn_lines[1]
    assert lines[-1].startswith("game kept in ")
    folder = Path(lines[-1].removeprefix("game kept in "))
    assert folder.parent == isolated_env / "data" / "games"
    game = GameDir.open(folder)
    assert [r.kind for r in game.records] == ["draw", "describe"] * 3
    assert all((folder / r.output).is_file() for r in game.records if r.kind == "draw")


def test_json_output_one_object_per_turn(isolated_env: Path, tmp_path: Path) -> None:
    out = tele("run", "--prompt", "a cat", "--rounds", "2", "--json", "--data-dir", str(tmp_path))
    assert out.returncode == 0, out.stderr
    objs = [json.loads(line) for line in out.stdout.splitlines()]
    turns = [o for o in objs if o["type"] == "turn"]
    assert [(t["round"], t["kind"]) for t in turns] == [
        (1, "draw"),
        (1, "describe"),
        (2, "draw"),
        (2, "describe"),
    ]
    assert turns[0]["input"] == "Illustrate in black & white doodle style: a cat"
    assert objs[-1]["type"] == "end" and objs[-1]["rounds"] == 2
    assert Path(objs[-1]["folder"]).parent == tmp_path / "games"


def test_quiet_prints_only_the_end(isolated_env: Path) -> None:
    out = tele("run", "--prompt", "a dog", "--rounds", "1", "--quiet")
    assert out.returncode == 0, out.stderr
    (line,) = out.stdout.splitlines()  # exactly one line: the final summary
    folder = next((isolated_env / "data" / "games").iterdir())
    assert line == f"1 round · free · game kept in {folder}"


def test_unknown_model_fails_before_first_turn(isolated_env: Path) -> None:
    out = tele("run", "--prompt", "x", "--rounds", "1", "--drawer", "doodle:nope")
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert "doodle:nope" in out.stderr
    assert not (isolated_env / "data" / "games").exists()


def test_model_without_key_fails_with_the_fix(isolated_env: Path) -> None:
    out = tele("run", "--prompt", "x", "--rounds", "1", "--drawer", "openai:dall-e-3")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and out.stderr.count("\n") == 1
    assert "telestrations keys set openai" in out.stderr


def test_malformed_config_is_one_line(isolated_env: Path) -> None:
    cfg = isolated_env / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text("[game]\nrounds = = 2\n")
    out = tele("run", "--prompt", "x")
    assert out.returncode == 2
    assert out.stderr.startswith(f"telestrations: {cfg}: line 2, column ")
    assert "Traceback" not in out.stderr and out.stderr.count("\n") == 1


def test_sigint_stops_cleanly(isolated_env: Path) -> None:
    proc = popen("run", "--prompt", "a boat on the sea", "--rounds", "0")
    assert proc.stdout is not None
    seen = [proc.stdout.readline() for _ in range(4)]
    assert all(line.startswith("round") for line in seen)
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 130
    last = rest.splitlines()[-1]
    assert last.startswith("game kept in ")
    game = GameDir.open(Path(last.removeprefix("game kept in ")))
    assert game.warnings == [] and len(game.records) >= 4


def test_sigterm_exit_status(isolated_env: Path) -> None:
    proc = popen("run", "--prompt", "a tree", "--rounds", "0")
    assert proc.stdout is not None
    proc.stdout.readline()
    proc.send_signal(signal.SIGTERM)
    rest, _ = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 143
    assert rest.splitlines()[-1].startswith("game kept in ")


def test_kill_9_loses_nothing_printed_and_resume_continues(isolated_env: Path) -> None:
    proc = popen("run", "--prompt", "two cats under the moon", "--rounds", "0", "--json")
    assert proc.stdout is not None
    printed = [json.loads(proc.stdout.readline()) for _ in range(7)]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=TIMEOUT)
    folder = Path(printed[0]["folder"])
    game = GameDir.open(folder)
    on_disk = {(r.seq, r.round, r.kind, r.output) for r in game.records}
    for obj in printed:
        assert (obj["seq"], obj["round"], obj["kind"], obj["output"]) in on_disk
    before = len(game.records)
    out = tele("run", "--resume", folder.name, "--rounds", "2", "--json")
    assert out.returncode == 0, out.stderr
    game = GameDir.open(folder)
    ok = [(r.round, r.kind) for r in game.records if r.ok]
    # no gaps, no duplicates: (1, draw), (1, describe), (2, draw), ...
    expected = [(n // 2 + 1, "draw" if n % 2 == 0 else "describe") for n in range(len(ok))]
    assert ok == expected
    assert len(game.records) > before
    assert [r.seq for r in game.records] == list(range(1, len(game.records) + 1))


def test_resume_unknown_game(isolated_env: Path) -> None:
    out = tele("run", "--resume", "nothing")
    assert out.returncode == 2 and "no games yet" in out.stderr


def test_draw_and_describe_one_shot(isolated_env: Path, tmp_path: Path) -> None:
    image = tmp_path / "house.png"
    out = tele("draw", "a red house under a yellow sun", "-o", str(image))
    assert out.returncode == 0, out.stderr
    assert image.read_bytes().startswith(b"\x89PNG")
    out = tele("describe", str(image))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() and "\n" not in out.stdout.strip()
    out = tele("describe", str(tmp_path / "missing.png"))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    (tmp_path / "text.png").write_text("not an image")
    out = tele("describe", str(tmp_path / "text.png"))
    assert out.returncode == 2 and "not a PNG" in out.stderr


def test_models_lists_every_provider(isolated_env: Path) -> None:
    out = tele("models", "--no-check")
    assert out.returncode == 0, out.stderr
    ids = {line.split()[0] for line in out.stdout.splitlines() if line.strip()}
    assert {"doodle:doodle", "openai:gpt-image-2"} <= ids
    assert "openai:dall-e-3" not in ids  # shut down 2026-05-12: only with --all
    line = next(x for x in out.stdout.splitlines() if x.startswith("openai:gpt-image-2 "))
    assert " no " in line and "telestrations keys set openai" in line
    out = tele("models", "--no-check", "--all")
    line = next(x for x in out.stdout.splitlines() if x.startswith("openai:dall-e-3 "))
    assert "shut down 2026-05-12" in line and "replaced by openai:gpt-image-2.6-flare" in line
    data = json.loads(tele("models", "--no-check", "--json").stdout)
    doodle = [m for m in data if m["id"] == "doodle:doodle"]
    assert {m["kind"] for m in doodle} == {"drawer", "guesser"}
    assert all(m["available"] for m in doodle)


def test_keys_set_list_path_import_never_print_values(isolated_env: Path, tmp_path: Path) -> None:
    out = tele("keys", "path")
    assert out.stdout.strip() == str(isolated_env / "keys.json")
    out = tele("keys", "set", "openai", stdin="sk-secret-value-123\n")
    assert out.returncode == 0 and "sk-secret" not in out.stdout + out.stderr
    path = isolated_env / "keys.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    out = tele("keys", "list")
    assert "openai" in out.stdout and "sk-secret" not in out.stdout
    out = tele("keys", "list", env={"RUNPOD_API_KEY": "rp-env-secret"})
    assert "env RUNPOD_API_KEY" in out.stdout and "rp-env-secret" not in out.stdout
    orig = tmp_path / "api-keys.json"
    orig.write_text('{"OPENAI": "sk-a", "RUNPOD": "rp-b"}')
    out = tele("keys", "import", str(orig))
    assert "openai, runpod" in out.stdout and "sk-a" not in out.stdout
    assert json.loads(path.read_text()) == {"openai": "sk-a", "runpod": "rp-b"}
    # a stored key makes the model usable: preflight now passes for the quick check
    out = tele("models", "--no-check")
    line = next(x for x in out.stdout.splitlines() if x.startswith("openai:gpt-image-2 "))
    assert " ok " in line
    assert "sk-a" not in out.stdout


@pytest.mark.parametrize("argv", [["keys", "set"], ["run", "--rounds", "x"]])
def test_usage_errors_exit_2(argv: list[str]) -> None:
    assert tele(*argv).returncode == 2


def test_python_m_is_the_same_command() -> None:
    exe = Path(sys.executable).with_name("telestrations")
    if not exe.exists():  # run from a checkout without the console script
        pytest.fail("the console script `telestrations` is not installed beside python")
    a = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=TIMEOUT)
    assert a.stdout == tele("--version").stdout


def test_games_lists_past_games(isolated_env: Path) -> None:
    assert "no games yet" in tele("games").stdout
    tele("run", "--prompt", "a fish", "--rounds", "1", "--quiet")
    out = tele("games")
    assert "a fish" in out.stdout and " 1 round " in out.stdout


def test_export_html_is_one_escaped_file_with_its_images(
    isolated_env: Path, tmp_path: Path
) -> None:
    out = tele("run", "--prompt", "<script>alert(1)</script> a cat", "--rounds", "2", "--quiet")
    assert out.returncode == 0, out.stderr
    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / "exported.html"
    out = tele("export", "last", "-o", str(target))
    assert out.returncode == 0, out.stderr
    page = target.read_text()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
    assert page.count("class='round'") == 2
    assert page.count("src='data:image/webp;base64,") == 2
    assert list(target.parent.iterdir()) == [target]  # self-contained: nothing beside it
    again = tele("export", "last", "-o", str(target))
    assert again.returncode == 2 and "exists" in again.stderr and "--force" in again.stderr
    assert tele("export", "last", "-o", str(target), "--force").returncode == 0


def test_closed_stdout_stops_an_endless_game_quietly(isolated_env: Path) -> None:
    proc = popen("run", "--prompt", "a cat", "--rounds", "0", "--json")
    assert proc.stdout is not None and proc.stderr is not None
    first = json.loads(proc.stdout.readline())
    proc.stdout.close()  # like `| head -1`
    err = proc.stderr.read()
    assert proc.wait(timeout=TIMEOUT) == 141
    assert "Traceback" not in err and "output closed; game kept in" in err
    folder = Path(first["folder"])
    assert (folder / "journal.jsonl").is_file()


def test_keys_set_refuses_a_name_no_provider_uses(isolated_env: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "telestrations", "keys", "set", "opneai"],
        input="sk-typo\n",
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert out.returncode == 2 and "no provider named 'opneai'" in out.stderr
    assert "sk-typo" not in out.stdout + out.stderr


def test_path_problems_are_one_line_not_a_traceback(isolated_env: Path, tmp_path: Path) -> None:
    a_file = tmp_path / "afile"
    a_file.write_text("")
    draw = tele("draw", "a cat", "-o", str(tmp_path / "nodir" / "cat.png"))
    assert draw.returncode == 2 and "does not exist" in draw.stderr
    run = tele("run", "--rounds", "1", "--data-dir", str(a_file))
    assert run.returncode == 2 and "Not a directory" in run.stderr
    spend = tele("run", "--rounds", "1", "--spend-limit", "-1")
    assert spend.returncode == 2 and "--spend-limit" in spend.stderr
    for out in (draw, run, spend):
        assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


# -- a CLI that reads well (issue 9 part 7) ---------------------------------------------


def _parsers(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    found = [(path, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _parsers(sub, (*path, name))
    return found


def test_every_option_of_every_command_has_a_help_line() -> None:
    parsers = _parsers(build_parser())
    assert len(parsers) > 10  # the top level, its commands and the keys actions
    for path, parser in parsers:
        missing = [
            "/".join(a.option_strings) or a.dest
            for a in parser._actions
            if not isinstance(a, argparse._HelpAction) and not (a.help or "").strip()
        ]
        assert not missing, f"telestrations {' '.join(path)}: no help for {missing}"
        out = tele(*path, "--help")
        assert out.returncode == 0, out.stderr
        for action in parser._actions:
            for flag in action.option_strings:
                assert flag in out.stdout, (path, flag)


@pytest.mark.parametrize(
    ("argv", "suggestion"),
    [
        (["rn"], "did you mean 'run'?"),
        (["gmes"], "did you mean 'games'?"),
        (["keys", "lst"], "did you mean 'list'?"),
        (["export", "last", "-f", "htm"], "did you mean 'html'?"),
    ],
)
def test_mistyped_choice_gets_did_you_mean(argv: list[str], suggestion: str) -> None:
    out = tele(*argv)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.rstrip().endswith(suggestion), out.stderr
    assert "Traceback" not in out.stderr


def test_nothing_close_gets_no_suggestion() -> None:
    out = tele("zzzzzz")
    assert out.returncode == 2 and "invalid choice: 'zzzzzz'" in out.stderr
    assert "did you mean" not in out.stderr


def test_games_columns_line_up(isolated_env: Path) -> None:
    games = isolated_env / "data" / "games"
    for prompt, rounds in (("a fish", "1"), ("a much longer prompt about a whale", "2")):
        assert tele("run", "--prompt", prompt, "--rounds", rounds, "--quiet").returncode == 0
    # A paid game beside free ones: its cost column must not push the others out of line.
    (paid,) = [d for d in games.iterdir() if d.name.endswith("a-fish")]
    journal = paid / "journal.jsonl"
    lines = journal.read_text().splitlines()
    turn = json.loads(lines[1])
    assert turn["type"] == "turn"
    lines[1] = json.dumps({**turn, "cost": 0.04})
    journal.write_text("\n".join(lines) + "\n")
    out = tele("games")
    assert out.returncode == 0, out.stderr
    rows = out.stdout.splitlines()
    assert len(rows) == 2
    names = sorted(d.name for d in games.iterdir())
    assert len({len(n) for n in names}) == 2  # names of different lengths
    by_name = {row.split()[0]: row for row in rows}
    fish = by_name[paid.name]
    whale = next(row for name, row in by_name.items() if name != paid.name)
    assert "$0.04" in fish and "$" not in whale
    assert " 1 round " in fish and " 2 rounds " in whale
    # every column starts at the same offset on both rows
    assert fish.index("1 round") == whale.index("2 rounds")
    assert fish.index("a fish") == whale.index("a much longer prompt")


def test_plurals_read_right(isolated_env: Path) -> None:
    one = tele("run", "--prompt", "a cat", "--rounds", "1")
    assert one.returncode == 0, one.stderr
    assert "1 round in the game" in one.stdout and "1 rounds" not in one.stdout
    two = tele("run", "--prompt", "a cat", "--rounds", "2")
    assert "2 rounds in the game" in two.stdout
    listed = tele("games").stdout
    assert " 1 round " in listed and " 2 rounds " in listed and "1 rounds" not in listed


def test_export_onto_an_existing_path_says_what_to_do(isolated_env: Path, tmp_path: Path) -> None:
    assert tele("run", "--prompt", "a cat", "--rounds", "1", "--quiet").returncode == 0
    target = tmp_path / "there.md"
    target.write_text("mine")
    out = tele("export", "last", "-f", "md", "-o", str(target))
    assert out.returncode == 2 and out.stdout == ""
    (line,) = out.stderr.splitlines()
    assert str(target) in line and "exists" in line
    assert "another path" in line and "--force" in line
    assert target.read_text() == "mine"  # never overwritten by surprise


def _closed_pipe_run(*args: str) -> tuple[int, str]:
    """Run with stdout a pipe whose reader has already gone, like `| head -0`."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "telestrations", *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=TIMEOUT,
        )
    finally:
        os.close(write_end)
    return proc.returncode, proc.stderr


def test_every_command_exits_quietly_on_a_closed_pipe(isolated_env: Path, tmp_path: Path) -> None:
    assert tele("run", "--prompt", "a cat", "--rounds", "1", "--quiet").returncode == 0
    for argv in (
        ["models", "--json", "--no-check"],
        ["models", "--no-check"],
        ["games"],
        ["show", "last"],
        ["export", "last", "-f", "md", "-o", str(tmp_path / "x.md")],
        ["keys", "path"],
    ):
        code, err = _closed_pipe_run(*argv)
        assert code == 141, (argv, code, err)
        assert "Traceback" not in err and "Exception ignored" not in err, (argv, err)
