"""Writes that fail half-way, then succeed: the journal stays loadable line by line, no
finished turn is lost or written twice, and a new game never appears half-made.

The fault layer sits at the OS boundary (``os.write``, ``os.fsync``, ``os.ftruncate``,
``os.open``): the store's own code runs unchanged. One test also fills a real tmpfs when
the machine lets us mount one, and falls back to the same faults injected when it does not.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from telestrations import cli
from telestrations.atomic import temp_name, write_atomic
from telestrations.game import Game, Limits, Settings
from telestrations.store import GameDir, GameNotFound, Store
from telestrations.turns import TurnRecord

from .test_game import Models

MODES = ("ok", "short", "fsync", "short-stuck")
"""What one append attempt meets: success; a short write then ENOSPC; every byte written
but fsync fails (EIO); a short write, ENOSPC, and the cut back fails too."""


def _path_of(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""


class Faults:
    """Makes writes to files whose path contains ``match`` (or ends with it: ``exact``) fail
    as planned, one plan entry per write attempt."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, match: str, exact: bool = False) -> None:
        self.match = match
        self.exact = exact
        self.plan: list[str] = []
        self.mode = "ok"
        self.tried = 0
        self.failed = 0
        self._real_write = os.write
        self._real_fsync = os.fsync
        self._real_truncate = os.ftruncate
        self._short_done = False
        monkeypatch.setattr(os, "write", self.write)
        monkeypatch.setattr(os, "fsync", self.fsync)
        monkeypatch.setattr(os, "ftruncate", self.ftruncate)

    def _ours(self, fd: int) -> bool:
        path = _path_of(fd)
        return path.endswith(self.match) if self.exact else self.match in path

    def write(self, fd: int, data: bytes | memoryview) -> int:
        if not self._ours(fd):
            return self._real_write(fd, data)
        if not self._short_done:  # a new attempt
            self.mode = self.plan.pop(0) if self.plan else "ok"
            self.tried += 1
            if self.mode != "ok":
                self.failed += 1
        if self.mode in ("short", "short-stuck"):
            if self._short_done:
                self._short_done = False
                raise OSError(errno.ENOSPC, "No space left on device")
            self._short_done = True
            half = max(1, len(data) // 2)
            return self._real_write(fd, bytes(data[:half]))
        return self._real_write(fd, data)

    def fsync(self, fd: int) -> None:
        if self._ours(fd) and self.mode == "fsync":
            self.mode = "ok"
            raise OSError(errno.EIO, "Input/output error")
        self._real_fsync(fd)

    def ftruncate(self, fd: int, length: int) -> None:
        if self._ours(fd) and self.mode == "short-stuck":
            self.mode = "ok"
            raise OSError(errno.EIO, "Input/output error")
        self._real_truncate(fd, length)


def turn(seq: int, caption: str = "") -> TurnRecord:
    rnd = (seq + 1) // 2
    kind = "draw" if seq % 2 else "describe"
    out = f"r{rnd:04d}-draw.png" if kind == "draw" else (caption or f"caption {seq} ✓ ünï")
    return TurnRecord(seq=seq, round=rnd, kind=kind, model="m", status="ok", input="x", output=out)  # type: ignore[arg-type]


def assert_clean(path: Path, seqs: list[int]) -> None:
    """Every line parses; the turns are exactly ``seqs``; nothing was ignored on load."""
    raw = (path / "journal.jsonl").read_bytes()
    assert raw.endswith(b"\n")
    for line in raw.splitlines():
        assert isinstance(json.loads(line), dict)
    game = GameDir.open(path)
    assert [r.seq for r in game.records] == seqs
    assert not [w for w in game.warnings if "line" in w], game.warnings


def test_every_sequence_of_failed_and_retried_appends_keeps_the_journal_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    faults = Faults(monkeypatch, "/journal.jsonl", exact=True)
    sequences = list(itertools.product(MODES, repeat=4))
    for n, seq_modes in enumerate(sequences):
        game = Store(tmp_path / str(n)).new_game("p", {})
        faults.plan = list(seq_modes)
        saved: list[int] = []
        for seq in (1, 2, 3):
            for _attempt in range(10):  # bounded: the plan runs out and writes succeed
                try:
                    game.append(turn(seq, "a long caption " * 40))
                except OSError:
                    continue
                saved.append(seq)
                break
        assert saved == [1, 2, 3], seq_modes
        assert_clean(game.path, [1, 2, 3])
    assert faults.failed > 500  # every sequence really failed where it said


def test_a_failed_append_that_could_not_be_cut_is_cut_by_the_next_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    game = Store(tmp_path).new_game("p", {})
    game.append(turn(1))
    with monkeypatch.context() as patch:
        faults = Faults(patch, "/journal.jsonl", exact=True)
        faults.plan = ["short-stuck"]
        with pytest.raises(OSError):
            game.append(turn(2))
    # "the process died": a new one opens the game
    again = GameDir.open(game.path)
    assert [r.seq for r in again.records] == [1]
    again.append(turn(2))
    assert_clean(game.path, [1, 2])


@contextlib.contextmanager
def small_disk(tmp_path: Path) -> Iterator[bool]:
    """A 64 KiB tmpfs at ``tmp_path/disk`` when mounting is allowed (root, as here and in CI);
    yields False (and leaves a plain folder) when it is not."""
    disk = tmp_path / "disk"
    disk.mkdir()
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)],
            capture_output=True,
            timeout=10,
        )
        mounted = done.returncode == 0
    except (OSError, subprocess.SubprocessError):
        mounted = False
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(disk)], capture_output=True, timeout=10)


def _fill(folder: Path) -> Path:
    """Fill the disk to the last byte; returns the filler to delete."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for _ in range(10_000):
            try:
                os.write(fd, b"x" * 4096)
            except OSError:
                break
        for _ in range(10_000):
            try:
                os.write(fd, b"x")
            except OSError:
                break
    finally:
        os.close(fd)
    return filler


def test_a_full_disk_then_freed_space_loses_no_turn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with small_disk(tmp_path) as real:
        store = Store(tmp_path / "disk")
        game = store.new_game("a red house", {})
        game.append(turn(1))
        big = "a caption that goes on " * 400  # ~9 KB: more than the disk has left
        if real:
            filler = _fill(tmp_path / "disk")
        else:
            faults = Faults(monkeypatch, "/journal.jsonl", exact=True)
            faults.plan = ["short", "short"]
        for _ in range(2):  # the disk is still full on the first retry
            with pytest.raises(OSError) as err:
                game.append(turn(2, big))
            assert err.value.errno == errno.ENOSPC
            assert_clean(game.path, [1])
        if real:
            filler.unlink()
        game.append(turn(2, big))
        game.append(turn(3))
        assert_clean(game.path, [1, 2, 3])
        assert GameDir.open(game.path).records[1].output == big


# -- through the engine -----------------------------------------------------------------------


async def resume_until_stopped(game: Game, tries: int) -> int:
    """Resume after each failed write, as a person would (each resume writes the kept turns
    first, then plays on), until the game has finished; how many times a write failed it."""
    failures = 0
    for _ in range(tries):
        game.start()
        await game.wait()
        if game.state == "stopped":
            break
        assert game.reason.startswith("cannot save the turn"), game.reason
        failures += 1
    return failures


@pytest.mark.parametrize("where", ["/journal.jsonl", "-draw.png", "games"])
async def test_the_engine_loses_and_repeats_nothing_across_failing_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    models = Models()
    game_dir = Store(tmp_path).new_game("a red house", {})
    game = Game(game_dir, models, Settings(drawer="d", guesser="g"), Limits(rounds=4))  # type: ignore[arg-type]
    faults = Faults(monkeypatch, where)
    faults.plan = ["short", "ok", "fsync", "short-stuck", "ok", "short", "short", "fsync"]
    failures = await resume_until_stopped(game, 40)
    assert game.state == "stopped" and game.reason == "finished round 4"
    assert failures >= 3
    assert_clean(game_dir.path, list(range(1, 9)))
    ok = [(r.round, r.kind) for r in GameDir.open(game_dir.path).records]
    assert ok == [(n // 2 + 1, "draw" if n % 2 == 0 else "describe") for n in range(8)]
    assert len(models.drawers["d"].texts) == 4  # a picture that failed to save is not redrawn
    assert len(models.guessers["g"].calls) == 4
    leftovers = [p.name for p in game_dir.path.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


# -- headless: a turn that cannot be saved ---------------------------------------------------


@pytest.mark.parametrize(
    "error", [errno.ENOSPC, errno.EROFS, errno.EACCES], ids=["full", "read-only", "denied"]
)
def test_a_headless_turn_that_cannot_be_saved_exits_1_and_says_it_was_not_kept(
    isolated_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    error: int,
) -> None:
    real_open = os.open

    def failing_open(path: str | os.PathLike[str], flags: int, *args: int, **kw: int) -> int:
        name = os.fspath(path)
        if "games" in name and "draw.png" in name and flags & os.O_CREAT:
            raise OSError(error, os.strerror(error), name)
        return real_open(path, flags, *args, **kw)

    with monkeypatch.context() as patch:  # only the OS boundary, and only for this run
        patch.setattr(os, "open", failing_open)
        code = cli.main(["run", "--prompt", "a red house", "--rounds", "2", "--no-check"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in err
    assert "was not kept" in err and "resuming will call doodle:doodle again" in err
    assert os.strerror(error) in err
    assert "continue with: telestrations run --resume" in out
    games = Store(isolated_env / "data").list()
    assert len(games) == 1 and games[0].turns == 0
    folder = games[0].path
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    assert cli.main(["run", "--resume", "last", "--rounds", "1", "--no-check", "-q"]) == 0
    assert [r.kind for r in GameDir.open(folder).records] == ["draw", "describe"]


# -- a new game is never half-made -----------------------------------------------------------


@pytest.mark.parametrize("fault", ["short", "fsync"])
def test_a_new_game_that_cannot_be_written_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    store = Store(tmp_path)
    faults = Faults(monkeypatch, "journal.jsonl")
    faults.plan = [fault]
    with pytest.raises(OSError):
        store.new_game("a red house", {})
    assert list(store.games_dir.iterdir()) == []
    assert store.list() == []
    with pytest.raises(GameNotFound):
        store.find("last")
    game = store.new_game("a red house", {})
    assert store.find("last") == game.path and store.list()[0].prompt == "a red house"


def test_half_made_and_hidden_folders_are_never_listed_or_resumed(tmp_path: Path) -> None:
    store = Store(tmp_path)
    good = store.new_game("a red house", {})
    later = "99991231-235959"
    (store.games_dir / f"{later}-empty").mkdir()  # a folder with an empty journal
    (store.games_dir / f"{later}-empty" / "journal.jsonl").write_bytes(b"")
    (store.games_dir / f"{later}-torn").mkdir()  # the header itself was torn
    (store.games_dir / f"{later}-torn" / "journal.jsonl").write_bytes(b'{"v":1,"type":"ga')
    hidden = store.games_dir / ".new-123-abcd"  # a creation killed before its rename
    hidden.mkdir()
    (hidden / "journal.jsonl").write_text(json.dumps({"type": "game", "prompt": "x"}) + "\n")
    assert [g.name for g in store.list()] == [good.name]
    assert store.find("last") == good.path
    with pytest.raises(GameNotFound):
        store.find(str(store.games_dir / f"{later}-empty"))
    assert cli.main(["run", "--data-dir", str(tmp_path), "--resume", "", "--no-check"]) == 2


def test_resume_with_an_empty_name_is_an_error_not_a_new_game(isolated_env: Path) -> None:
    for args in (["run", "--resume", "", "--no-check"], ["--resume", ""]):
        done = subprocess.run(
            [os.sys.executable, "-m", "telestrations", *args],  # type: ignore[attr-defined]
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2, done.stderr
        assert done.stderr.count("\n") == 1 and "empty name" in done.stderr
    assert not (isolated_env / "data" / "games").exists()


# -- temp files ------------------------------------------------------------------------------


def test_temp_names_are_unique_per_write_and_a_stale_one_is_harmless(tmp_path: Path) -> None:
    target = tmp_path / "r0001-draw.png"
    names = {temp_name(target) for _ in range(200)}
    assert len(names) == 200
    assert all(n.name.startswith(".r0001-draw.png.") and n.name.endswith(".tmp") for n in names)
    (tmp_path / f".{target.name}.tmp").write_bytes(b"stale")  # the old fixed name
    write_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".r0001-draw.png.tmp", target.name]


async def test_a_stop_while_a_save_fails_still_says_the_turn_was_not_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio
    import threading
    import time

    models = Models()
    game_dir = Store(tmp_path).new_game("a red house", {})
    game = Game(game_dir, models, Settings(drawer="d", guesser="g"), Limits())  # type: ignore[arg-type]
    began = threading.Event()
    real_fsync = os.fsync

    def slow_failing_fsync(fd: int) -> None:
        if "-draw.png" in _path_of(fd):
            began.set()
            time.sleep(0.3)
            raise OSError(errno.EIO, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", slow_failing_fsync)
    game.start()
    for _ in range(200):
        if began.is_set():
            break
        await asyncio.sleep(0.01)
    game.stop("stopped by you")
    game.stop("stopped by you")  # a stop and a worker cancel: two cancels
    await game.wait()
    assert game.state == "stopped" and game.records == []
    assert game.unsaved is not None and game.unsaved.kind == "draw"
    assert game.save_error.startswith("Input/output error")
    assert [p.name for p in game_dir.path.iterdir() if p.name.endswith(".tmp")] == []
