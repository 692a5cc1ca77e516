"""Snapshots of the main screen after two doodle rounds (half-block thumbnails) at the three
terminal sizes a person is likely to have: the pictures take the room the pane has.

The game is played by the real doodle pair through the engine, its timings pinned and its
folder given a fixed name so the picture does not depend on the clock; the app then opens it
(as ``--resume`` does) and the screen is compared with the stored SVG.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from telestrations.game import Game, Settings
from telestrations.runtime import Runtime
from telestrations.store import GameDir
from telestrations.tui.app import TelestrationsApp
from telestrations.tui.screens.main import Launch

from .test_tui_support import settle


def _two_doodle_rounds(runtime: Runtime) -> GameDir:
    settings = Settings()  # doodle:doodle for both, the original's prompts
    game_dir = runtime.store.new_game("a red house under a yellow sun", settings.__dict__)

    async def play() -> None:
        game = Game(game_dir, runtime.models(), settings)
        for _ in range(4):
            record = await game.step()
            assert record.ok, record.error

    asyncio.run(play())
    fixed = game_dir.path.with_name("20260101-120000-a-red-house-under-a-yellow-sun")
    game_dir.path.rename(fixed)
    lines = []
    for line in (fixed / "journal.jsonl").read_text().splitlines():
        data = json.loads(line)
        if data["type"] == "turn":
            data["duration"] = 0.5 if data["kind"] == "draw" else 0.25
        lines.append(json.dumps(data))
    (fixed / "journal.jsonl").write_text("\n".join(lines) + "\n")
    return GameDir.open(fixed)


@pytest.mark.parametrize("size", [(80, 24), (120, 36), (200, 50)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_main_screen_after_two_doodle_rounds(  # type: ignore[no-untyped-def]
    snap_compare, isolated_env: Path, size: tuple[int, int]
) -> None:
    runtime = Runtime.load()
    game_dir = _two_doodle_rounds(runtime)
    app = TelestrationsApp(
        runtime, Launch(game_dir.first_prompt, Settings(), images="halfcell", resume=game_dir)
    )

    assert snap_compare(app, terminal_size=size, run_before=settle)
