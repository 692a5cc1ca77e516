"""The UI matches the journal (a stop that lands while a finished turn is being written), a
game another process plays is refused, and a journal naming a picture outside its folder is a
notice and a redraw, not a read outside the folder."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from pathlib import Path

import pytest

from telestrations.store import GameDir
from telestrations.tui.screens.games import PastGames
from telestrations.tui.widgets.cards import ErrorCard, RoundCard
from telestrations.turns import TurnRecord

from .test_tui_app import SIZE, journal
from .test_tui_support import main_screen, make_app, make_runtime, wait_for


@pytest.fixture
def slow_journal_fsync(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """fsync of the journal takes 0.6 s (a slow disk), and says when it began. This slows the
    OS call, not our code: the store's real write path runs unchanged."""
    began = threading.Event()
    real = os.fsync

    def fsync(fd: int) -> None:
        try:
            name = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            name = ""
        if name.endswith("journal.jsonl") and not began.is_set():
            began.set()
            time.sleep(0.6)
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return began


async def test_a_stop_during_the_write_still_shows_the_turn(
    isolated_env: Path, slow_journal_fsync: threading.Event
) -> None:
    runtime, fake = make_runtime(isolated_env)
    app = make_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        m.history.focus()
        await pilot.press("s")  # one step: the draw
        await wait_for(pilot, slow_journal_fsync.is_set)
        await pilot.press("x")  # the stop lands while the finished draw is being written
        await wait_for(pilot, lambda: not m.running)
        assert m.game is not None
        # the UI catches up with the journal (a card for each journalled turn, and no more)
        await wait_for(
            pilot, lambda: len(m.history.query(RoundCard)) == len(journal(m.game.dir.path))
        )
        on_disk = journal(m.game.dir.path)
        shown = len(m.history.query(RoundCard))
        # Either it is on disk and shown, or it is neither: never on disk but missing.
        assert [r["kind"] for r in on_disk] == ["draw"]
        assert shown == 1
        await pilot.press("s")  # the describe of that round
        await wait_for(pilot, lambda: len(journal(m.game.dir.path)) == 2 and not m.running)
        await wait_for(pilot, lambda: m.history.round_entries()[0].describe is not None)
        assert journal(m.game.dir.path)[1]["status"] == "ok"
        assert not m.history.query(ErrorCard)  # a successful describe is not "failed"
        entry = m.history.round_entries()[0]
        assert entry.describe is not None and entry.describe.output
        assert len(fake.draws) == 1


async def test_the_history_never_shows_a_journalled_turn_twice(isolated_env: Path) -> None:
    runtime, _fake = make_runtime(isolated_env)
    app = make_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        m.history.focus()
        await pilot.press("s")
        await wait_for(pilot, lambda: m.game is not None and m.game.records and not m.running)
        record = m.game.records[0]
        await m.history.add(record)  # a late duplicate event
        await m._catch_up()
        assert len(m.history.entries) == 1 and len(m.history.query(RoundCard)) == 1


async def test_a_game_another_process_plays_is_refused_with_a_notice(isolated_env: Path) -> None:
    runtime, _ = make_runtime(isolated_env)
    older = runtime.store.new_game("an old boat", {})
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLD_LOCK, str(older.path), stdout=asyncio.subprocess.PIPE
    )
    try:
        assert holder.stdout is not None
        line = await asyncio.wait_for(holder.stdout.readline(), 30)
        assert line.strip() == b"locked"
        app = make_app(runtime)
        async with app.run_test(size=SIZE) as pilot:
            m = main_screen(app)
            m.history.focus()
            await pilot.press("p")
            await wait_for(
                pilot, lambda: isinstance(app.screen, PastGames) and bool(app.screen.games)
            )
            await pilot.press("enter")
            await wait_for(pilot, lambda: bool(app._notifications))
            notes = [str(n.message) for n in app._notifications]
            assert f"game {older.name} is being played by process {holder.pid}" in notes[-1]
            assert m.game is None  # refused: not opened, nothing written
        assert [r for r in GameDir.open(older.path).records] == []
    finally:
        holder.kill()
        await asyncio.wait_for(holder.wait(), 30)


HOLD_LOCK = """
import sys, time
from pathlib import Path
from telestrations.store import GameDir
from telestrations.turns import TurnRecord
game = GameDir.open(Path(sys.argv[1]))
game.lock()
print("locked", flush=True)
time.sleep(60)
"""


async def test_a_picture_named_outside_the_folder_is_a_notice_and_the_round_is_drawn_again(
    isolated_env: Path,
) -> None:
    runtime, fake = make_runtime(isolated_env)
    game_dir = runtime.store.new_game("a red house", {})
    secret = isolated_env / "secret.png"
    secret.write_bytes(b"\x89PNG not yours")
    outside = "../../../secret.png"  # an edited or hostile journal
    game_dir.append(
        TurnRecord(
            seq=1,
            round=1,
            kind="draw",
            model="fake:painter",
            status="ok",
            input="a red house",
            image=outside,
            output=outside,
        )
    )
    app = make_app(runtime, resume=GameDir.open(game_dir.path))
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        await wait_for(pilot, lambda: m.game is not None)
        notes = " ".join(str(n.message) for n in app._notifications)
        assert "outside the game folder" in notes and "drawn again" in notes
        m.history.focus()
        await pilot.press("s")
        await wait_for(pilot, lambda: len(m.game.records) == 2 and not m.running)
        assert [(r.round, r.kind, r.ok) for r in m.game.records] == [
            (1, "draw", True),
            (1, "draw", True),
        ]
        assert m.game.records[1].output == "r0001-draw.png" and len(fake.draws) == 1
        assert not m.history.query(ErrorCard)
    assert secret.read_bytes() == b"\x89PNG not yours"


async def test_a_game_on_read_only_media_opens_with_a_warning(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime, _ = make_runtime(isolated_env)
    game_dir = runtime.store.new_game("an old boat", {})
    real_open = os.open

    def read_only(path: str | os.PathLike[str], flags: int, *args: int, **kw: int) -> int:
        if os.fspath(path).startswith(str(game_dir.path)) and flags & os.O_CREAT:
            raise OSError(30, "Read-only file system", os.fspath(path))  # EROFS
        return real_open(path, flags, *args, **kw)

    monkeypatch.setattr(os, "open", read_only)
    app = make_app(runtime, resume=GameDir.open(game_dir.path))
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        await wait_for(pilot, lambda: m.game is not None)
        notes = " ".join(str(n.message) for n in app._notifications)
        assert f"{game_dir.name} is read-only here: Read-only file system" in notes
        assert m.game.dir.path == game_dir.path and not m.game.dir.locked


async def test_a_turn_the_app_cannot_save_is_kept_for_resume_and_named_at_exit(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime, fake = make_runtime(isolated_env)
    real_open = os.open
    full = True

    def disk(path: str | os.PathLike[str], flags: int, *args: int, **kw: int) -> int:
        if full and "draw.png" in os.fspath(path) and flags & os.O_CREAT:
            raise OSError(28, "No space left on device", os.fspath(path))  # ENOSPC
        return real_open(path, flags, *args, **kw)

    monkeypatch.setattr(os, "open", disk)
    app = make_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        m.history.focus()
        await pilot.press("s")
        await wait_for(pilot, lambda: m.game is not None and not m.running and m.game.unsaved)
        assert m.game.reason.startswith("cannot save the turn: No space left on device")
        assert not m.history.query(RoundCard)  # not on disk, so not shown
        note = app.unsaved_note
        assert note is not None and "was not kept" in note
        assert "resuming will call fake:painter again" in note
        full = False  # room again: resuming writes the kept picture, no new drawing
        await pilot.press("s")
        await wait_for(pilot, lambda: not m.running and m.game.unsaved is None)
        await wait_for(pilot, lambda: len(m.history.query(RoundCard)) == 1)
        assert len(fake.draws) == 1 and app.unsaved_note is None
        assert [r["kind"] for r in journal(m.game.dir.path)] == ["draw"]
