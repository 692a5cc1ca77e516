"""The app's drift bar, convergence marks and toggle, and the export key (current and past
games), through the pilot against in-test providers."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from textual.widgets import OptionList, Static

from telestrations.drift import similarity
from telestrations.game import Game, Settings
from telestrations.tui.screens.export import ExportDialog
from telestrations.tui.screens.games import PastGames
from telestrations.tui.widgets.cards import RoundCard
from telestrations.tui.widgets.drift import DriftBar

from .test_tui_support import main_screen, make_app, make_runtime, wait_for

SIZE = (120, 40)


def gifs(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.gif"))


async def test_until_converged_stops_and_every_place_shows_it(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The fake guesser says "eye saw picture N": the same content every round (k = 3).
    runtime, _fake = make_runtime(isolated_env)
    app = make_app(runtime)
    monkeypatch.chdir(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        bar = m.query_one(DriftBar)
        assert "no caption yet" in bar.summary() and "plays on if converged" in bar.summary()
        m.history.focus()
        await pilot.press("u")
        assert m.until_converged and "stops when converged" in bar.summary()
        m.query_one("#prompt").focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: m.game is not None and m.game.state == "stopped")
        await pilot.pause(0.1)
        assert m.game.rounds_done == 3
        assert m.game.reason == "converged: unchanged since round 1"
        assert "converged: unchanged since round 1" in str(m.status_line.render())
        first = similarity(m.game.dir.first_prompt, "eye saw picture 2")
        assert f"origin {first:.2f} · previous 1.00" in bar.summary()
        cards = [str(c.query_one(".card-text", Static).render()) for c in m.query(RoundCard)]
        assert "⟲ converged: unchanged since round 1" in cards[2]
        assert "⟲" not in cards[0] + cards[1] and "≈ first prompt" in cards[0]
        # the export key: a flipbook of the game just played, in the working folder
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportDialog))
        app.screen.query_one(OptionList).highlighted = 1  # gif
        await pilot.press("enter")
        await wait_for(pilot, lambda: gifs(tmp_path))
        with Image.open(gifs(tmp_path)[0]) as im:
            assert im.n_frames == 3
        await pilot.press("e")  # again: a new file beside it, never over it
        await wait_for(pilot, lambda: isinstance(app.screen, ExportDialog))
        app.screen.query_one(OptionList).highlighted = 1
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(gifs(tmp_path)) == 2)
        assert any(p.stem.endswith("-2") for p in gifs(tmp_path))


async def test_a_past_game_is_exported_from_the_list(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    runtime, _ = make_runtime(isolated_env)
    settings = Settings(drawer="fake:painter", guesser="fake:eye")
    older = runtime.store.new_game("an old boat", settings.__dict__)
    game = Game(older, runtime.models(), settings)
    for _ in range(4):
        await game.step()
    older.unlock()
    app = make_app(runtime)
    monkeypatch.chdir(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        m.history.focus()
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, PastGames) and bool(app.screen.games))
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportDialog))
        await pilot.press("enter")  # the first choice: the HTML booklet
        target = tmp_path / f"{older.name}.html"
        await wait_for(pilot, target.is_file)
        page = target.read_text()
        assert "an old boat" in page and page.count("data:image/webp;base64,") == 2
        assert isinstance(app.screen, PastGames)  # back in the list, nothing opened
        assert m.game is None
