"""One game, one writer (real processes), and a journal that names pictures it should not:
outside the folder (absolute, ``..``, a symlink leading out) or missing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from telestrations.export import export_html
from telestrations.game import Event, Game, Limits, Settings, TurnStarted
from telestrations.store import GameDir, GameLocked, Store

from .test_game import Models, png

TIMEOUT = 60
PLAY_SLOWLY = ["--rounds", "0", "--pace", "30", "--no-check", "--json"]


def tele(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "telestrations", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def test_a_second_process_is_refused_with_one_line_naming_the_first(isolated_env: Path) -> None:
    first = subprocess.Popen(
        [sys.executable, "-m", "telestrations", "run", "--prompt", "a boat", *PLAY_SLOWLY],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert first.stdout is not None
        folder = Path(json.loads(first.stdout.readline())["folder"])
        before = (folder / "journal.jsonl").read_bytes()
        for args in (
            ["run", "--resume", "last", "--rounds", "1", "--no-check"],
            ["run", "--resume", folder.name, "--rounds", "1", "--no-check"],
            ["--resume", str(folder)],  # the app refuses before it takes the terminal
        ):
            out = tele(*args)
            assert out.returncode == 2, (args, out.stderr)
            assert out.stderr == (
                f"telestrations: game {folder.name} is being played by "
                f"process {first.pid} (telestrations run)\n"
            )
            assert out.stdout == ""
        assert (folder / "journal.jsonl").read_bytes() == before  # no forked history
        # Reading needs no lock.
        assert tele("games").returncode == 0
        assert tele("export", "last", "-o", str(isolated_env / "export")).returncode == 0
        os.kill(first.pid, signal.SIGKILL)  # the kernel drops the lock with the process
        first.wait(timeout=TIMEOUT)
        out = tele("run", "--resume", "last", "--rounds", "1", "--no-check")
        assert out.returncode == 0, out.stderr
        records = GameDir.open(folder).records
        ok = [(r.round, r.kind) for r in records if r.ok]
        assert ok == [(n // 2 + 1, "draw" if n % 2 == 0 else "describe") for n in range(len(ok))]
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(timeout=TIMEOUT)


def test_the_lock_within_one_process(tmp_path: Path) -> None:
    store = Store(tmp_path)
    game = store.new_game("a cat", {}, lock=True)
    assert game.locked and not game.path.name.startswith(".")
    other = GameDir.open(game.path)
    with pytest.raises(GameLocked, match=f"process {os.getpid()}"):
        other.lock()
    game.unlock()
    other.lock()
    assert other.locked
    other.unlock()


# -- pictures outside the folder, or missing --------------------------------------------------


def _played(tmp_path: Path, rounds: int = 2) -> GameDir:
    """A real game on disk: ``rounds`` rounds plus the draw of the next one."""
    game_dir = Store(tmp_path / "data").new_game("a red house", {})
    game = Game(game_dir, Models(), Settings(drawer="d", guesser="g"), Limits())  # type: ignore[arg-type]
    import asyncio

    async def play() -> None:
        for _ in range(rounds * 2 + 1):
            await game.step()

    asyncio.run(play())
    return game_dir


def _rewrite_last_draw(game_dir: GameDir, name: str) -> None:
    lines = game_dir.journal.read_text().splitlines()
    last = json.loads(lines[-1])
    assert last["kind"] == "draw"
    last["output"] = last["image"] = name
    lines[-1] = json.dumps(last)
    game_dir.journal.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink", "missing"])
def test_a_picture_outside_the_folder_or_missing_is_never_read_and_is_drawn_again(
    tmp_path: Path, kind: str
) -> None:
    game_dir = _played(tmp_path)
    secret = tmp_path / "secret.png"
    secret.write_bytes(png("blue", (40, 40)))  # not the size the test drawer paints
    before = secret.read_bytes()
    last = game_dir.records[-1]
    if kind == "dotdot":
        _rewrite_last_draw(game_dir, "../../../secret.png")
    elif kind == "absolute":
        _rewrite_last_draw(game_dir, str(secret))
    elif kind == "symlink":
        (game_dir.path / last.output).unlink()
        (game_dir.path / last.output).symlink_to(secret)
    else:
        (game_dir.path / last.output).unlink()
    loaded = GameDir.open(game_dir.path)
    assert any("round 3" in w and "drawn again" in w for w in loaded.warnings), loaded.warnings
    if kind != "missing":
        assert any("outside the game folder" in w for w in loaded.warnings)
    assert all(not os.path.isabs(r.output) and ".." not in r.output for r in loaded.records)
    models = Models()
    game = Game(loaded, models, Settings(drawer="d", guesser="g"), Limits(rounds=3))  # type: ignore[arg-type]
    nxt = game.next()
    assert (nxt.round, nxt.kind) == (3, "draw")

    import asyncio

    async def play() -> None:
        game.start()
        await game.wait()

    asyncio.run(play())
    assert game.state == "stopped" and game.reason == "finished round 3"
    assert models.guessers["g"].calls and all(
        size != len(before) for _, _, size in models.guessers["g"].calls
    )
    assert secret.read_bytes() == before  # never written through a link either
    again = GameDir.open(game_dir.path)
    assert [(r.round, r.kind) for r in again.records if r.ok][-2:] == [(3, "draw"), (3, "describe")]
    out = export_html(again, tmp_path / "export")
    exported = [p.read_bytes() for p in out.parent.iterdir() if p.is_file()]
    assert before not in exported and not (tmp_path / "secret.png.1").exists()


def test_a_picture_that_vanishes_before_the_describe_is_a_clear_failure_then_redrawn(
    tmp_path: Path,
) -> None:
    import asyncio

    game_dir = _played(tmp_path, rounds=0)  # one draw, not described
    models = Models()
    game = Game(game_dir, models, Settings(drawer="d", guesser="g"), Limits(rounds=1))  # type: ignore[arg-type]

    def vanish(event: Event) -> None:
        # The picture goes after the engine chose the turn, before it reads the file.
        if isinstance(event, TurnStarted) and event.kind == "describe":
            (game.dir.path / "r0001-draw.png").unlink()

    game.subscribe(vanish)

    async def play() -> None:
        await game.step()

    asyncio.run(play())
    failed = game.records[-1]
    assert not failed.ok and failed.error is not None
    assert failed.error.message == "the picture of round 1 (r0001-draw.png) is missing"
    assert failed.error.hint == "resume to draw round 1 again"
    assert (game.next().round, game.next().kind) == (1, "draw")


def test_run_resume_redraws_a_missing_picture_without_a_traceback(isolated_env: Path) -> None:
    out = tele("run", "--prompt", "a red house", "--rounds", "1", "--no-check", "--json")
    assert out.returncode == 0, out.stderr
    folder = Path(json.loads(out.stdout.splitlines()[0])["folder"])
    # Cut the describe: the game now waits to describe round 1, whose picture is gone.
    lines = (folder / "journal.jsonl").read_text().splitlines()
    (folder / "journal.jsonl").write_text("\n".join(lines[:-1]) + "\n")
    (folder / "r0001-draw.png").unlink()
    out = tele("run", "--resume", "last", "--rounds", "1", "--no-check")
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    assert "the picture of round 1 is missing (r0001-draw.png); round 1 will be drawn again" in (
        out.stderr
    )
    records = GameDir.open(folder).records
    assert [(r.round, r.kind) for r in records] == [(1, "draw"), (1, "draw"), (1, "describe")]
    assert (folder / "r0001-draw.png").is_file()


def test_a_hostile_lock_file_cannot_reach_the_terminal(tmp_path: Path) -> None:
    game = Store(tmp_path).new_game("a cat", {}, lock=True)
    assert game._lock is not None
    game._lock.seek(0)
    game._lock.truncate()
    game._lock.write("\x1b]0;pwned\x07process 1 \x1b[31m(evil)\n\n" + "x" * 1000)
    game._lock.flush()
    with pytest.raises(GameLocked) as err:
        GameDir.open(game.path).lock()
    message = str(err.value)
    assert "\x1b" not in message and "\x07" not in message and "\n" not in message
    assert message.startswith(f"game {game.name} is being played by process 1 (evil)")
    assert len(message) < 200
