"""Branching from a card, starting from a picture (``@path`` in the prompt field) and the
memory play toggle, through the pilot against in-test providers."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from PIL import Image, ImageDraw
from textual.widgets import Static

from telestrations.store import GameDir
from telestrations.tui.screens.dialogs import ConfirmDialog
from telestrations.tui.widgets.cards import RoundCard
from telestrations.turns import START_PICTURE_MODEL

from .test_tui_support import main_screen, make_app, make_runtime, settle, wait_for

SIZE = (120, 40)


async def test_branch_from_a_selected_card_opens_the_branch_paused(isolated_env: Path) -> None:
    runtime, fake = make_runtime(isolated_env)
    app = make_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        m.query_one("#prompt").focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: m.game is not None and m.game.rounds_done >= 3)
        parent = m.game.dir
        assert parent.locked
        # a game is running: the key asks first; "no" leaves it running
        m.history.focus()
        await pilot.press("up", "up", "b")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("n")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmDialog))
        assert m.game.dir is parent and m.running
        chosen = m.history.entries[m.history.selected]  # type: ignore[index]
        round_no = chosen.round
        selected = m.query_one(f"#card-{m.history.selected}", RoundCard)
        assert "b branch from here" in str(selected.query_one(".card-text", Static).render())
        others = [c for c in m.query(RoundCard) if c is not selected]
        assert not any("branch from here" in str(c.query_one(".card-text", Static).render())
                       for c in others)  # fmt: skip
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: m.game is not None and m.game.dir.path != parent.path)
        child = m.game.dir
        await wait_for(pilot, lambda: m.game.state == "paused")
        assert not m.running and child.locked
        assert m.game.rounds_done == round_no
        assert child.parent is not None and child.parent.round == round_no
        assert child.parent.game == parent.name
        assert not parent.locked  # the parent is let go (noted, then released)
        on_disk = GameDir.open(parent.path)
        assert [(b.game, b.round) for b in on_disk.branches] == [(child.name, round_no)]
        kept = [r.to_json() for r in on_disk.records if r.round <= round_no]
        assert [r.to_json() for r in child.records] == kept
        await settle(pilot)
        cards = list(m.query(RoundCard))
        assert len(cards) == round_no
        # Enter plays on from the next round, in the branch
        draws = len(fake.draws)
        await pilot.press("enter")
        await wait_for(pilot, lambda: m.game.rounds_done >= round_no + 1)
        await pilot.press("enter")  # pause
        await wait_for(pilot, lambda: not m.running)
        assert len(fake.draws) > draws
        again = GameDir.open(child.path)
        assert [r.round for r in again.records if r.ok and r.kind == "draw"][round_no] == (
            round_no + 1
        )
        assert GameDir.open(parent.path).records == on_disk.records  # the parent stays
        # paused, nothing selected: b branches the newest finished round without asking
        m.history.focus()
        await pilot.press("end")
        newest = again.records[-1].round if again.records[-1].kind == "describe" else None
        await pilot.press("b")
        await wait_for(pilot, lambda: m.game is not None and m.game.dir.path != child.path)
        assert not isinstance(app.screen, ConfirmDialog)
        grandchild = m.game.dir
        assert grandchild.parent is not None and grandchild.parent.game == child.name
        assert newest is None or grandchild.parent.round == newest
        assert GameDir.open(child.path).branches[0].game == grandchild.name
        await settle(pilot)  # the branch's history is shown before the app closes
        assert len(m.query(RoundCard)) == grandchild.parent.round


async def test_a_game_starts_from_a_picture_typed_as_at_path(
    isolated_env: Path, tmp_path: Path
) -> None:
    picture = tmp_path / "holiday photo.png"
    im = Image.new("RGB", (160, 120), "white")
    ImageDraw.Draw(im).rectangle((20, 20, 100, 100), fill="orange")
    buf = io.BytesIO()
    im.save(buf, "PNG")
    picture.write_bytes(buf.getvalue())
    runtime, fake = make_runtime(isolated_env)
    app = make_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        field = m.query_one("#prompt")
        field.focus()
        field.value = f"@{tmp_path / 'nothing.png'}"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert m.game is None and not runtime.store.list()  # refused, said why
        field.value = f"@{picture}"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await wait_for(pilot, lambda: m.game is not None and m.game.rounds_done >= 2)
        await pilot.press("enter")  # pause
        await wait_for(pilot, lambda: not m.running)
        records = m.game.records
        assert (records[0].round, records[0].kind, records[0].model) == (
            0,
            "draw",
            START_PICTURE_MODEL,
        )
        # the first call a model got was a describe, of the picture as given
        assert (records[1].round, records[1].kind) == (0, "describe")
        assert fake.describes and fake.draws  # then the chain went on
        assert records[2].input.endswith(records[1].output)
        assert m.game.dir.read_image(records[0].output) == picture.read_bytes()
        first, second = list(m.query(RoundCard))[:2]
        text = str(first.query_one(".card-text", Static).render())
        assert "Round 0" in text and "the picture the game started from" in text
        assert records[1].output in text  # what the guesser saw in it
        text = str(second.query_one(".card-text", Static).render())
        assert f"“{records[1].output}”" in text  # round 1 drew that caption (no style shown)


async def test_memory_toggle_reaches_the_next_drawing(isolated_env: Path) -> None:
    runtime, _fake = make_runtime(isolated_env)
    app = make_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        m.history.focus()
        assert not m.settings.memory
        await pilot.press("m")
        assert m.settings.memory
        m.query_one("#prompt").focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: m.game is not None and m.game.rounds_done >= 2)
        await pilot.press("enter")
        await wait_for(pilot, lambda: not m.running)
        draws = [r for r in m.game.records if r.kind == "draw"]
        # the fake painter takes no picture: it draws from text, and the journal says so
        assert draws[0].memory is None
        assert draws[1].memory is not None and draws[1].memory["used"] is False
        assert draws[1].memory["reference"] == draws[0].output
        m.history.focus()
        await pilot.press("m")
        assert not m.settings.memory
        await asyncio.sleep(0)
