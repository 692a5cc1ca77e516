"""The history reads like the game's booklet, with pictures sized to the room the pane has.

Pilot tests at the three terminal sizes a person is likely to have: the picture's size in
cells, where the text goes, and that each card shows the text its picture was drawn from.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from textual.widget import Widget
from textual.widgets import Static

from telestrations.tui.widgets.cards import PictureBox, Room, RoundCard
from telestrations.tui.widgets.history import History

from .test_tui_support import (
    Gate,
    main_screen,
    make_app,
    make_runtime,
    png_bytes,
    settle,
    wait_for,
)

PROMPT = "a red house under a yellow sun"

# terminal size → (picture cols, rows, text under the picture)
SIZES = {
    (80, 24): (22, 11, True),  # one row less since the drift bar sits above the status
    (120, 36): (43, 22, False),
    (200, 50): (86, 43, False),
}


def _text(card: RoundCard) -> str:
    return str(card.query_one(".card-text", Static).render())


def _image(card: RoundCard) -> Widget:
    return card.query_one(".thumb-image")


async def _play(pilot, rounds: int) -> None:  # type: ignore[no-untyped-def]
    m = main_screen(pilot.app)
    await pilot.press("enter")
    await wait_for(pilot, lambda: m.game is not None and m.game.rounds_done >= rounds)
    m.action_pause()
    await wait_for(pilot, lambda: not m.running)
    await wait_for(pilot, lambda: bool(m.history.query(".thumb-image")))
    await settle(pilot)  # the pane's size settles, thumbnails for it are made


@pytest.mark.parametrize("size", list(SIZES), ids=lambda s: f"{s[0]}x{s[1]}")
async def test_pictures_take_the_room_and_cards_show_what_they_were_drawn_from(
    isolated_env: Path, size: tuple[int, int]
) -> None:
    cols, rows, stacked = SIZES[size]
    runtime, fake = make_runtime(isolated_env, thumbnail_width=120)
    fake.image = png_bytes("red", (1024, 1024))
    app = make_app(runtime, prompt=PROMPT)
    async with app.run_test(size=size) as pilot:
        await _play(pilot, 3)
        m = main_screen(app)
        history: History = m.history
        cards = list(history.query(RoundCard))
        newest = cards[-1]
        image = _image(newest)
        assert (image.region.width, image.region.height) == (cols, rows)
        thumb = newest.query_one(".thumb")
        text = newest.query_one(".card-text")
        pane = history.scrollable_content_region
        # the whole card fits the pane, and its text is inside it
        assert newest.region.height <= pane.height
        assert text.region.right <= pane.right
        if stacked:
            assert text.region.y >= thumb.region.bottom  # under the picture
        else:
            assert text.region.x >= thumb.region.right  # beside it
            assert text.region.width >= 30
        if size == (200, 50):
            assert image.region.width >= history.outer_size.width / 2
        # the booklet: each picture with the text it was drawn from, and what was seen in it
        seen = {e.round: e.describe for e in history.round_entries() if e.describe}
        captions = {rnd: record.output for rnd, record in seen.items()}
        for card in cards:
            shown = _text(card)
            rnd = card.entry.round
            drawn_from = PROMPT if rnd == 1 else captions[rnd - 1]
            assert f"“{drawn_from}”" in shown
            assert "Illustrate" not in shown  # the drawer's style is not the text drawn
            assert "fake:painter drew" in shown and "$0.01" in shown
            if rnd in captions:
                took = f"{seen[rnd].duration:.1f} s"
                assert f"fake:eye saw  {took}\n“{captions[rnd]}”" in shown


async def test_a_resized_terminal_remakes_pictures_for_the_new_room(isolated_env: Path) -> None:
    runtime, fake = make_runtime(isolated_env, thumbnail_width=120)
    fake.image = png_bytes("blue", (1024, 1024))
    app = make_app(runtime)
    async with app.run_test(size=(120, 36)) as pilot:
        await _play(pilot, 1)
        card = main_screen(app).history.query(RoundCard).last()
        assert (_image(card).region.width, _image(card).region.height) == (43, 22)
        await pilot.resize_terminal(200, 50)
        await wait_for(pilot, lambda: _image(card).region.size == (86, 43))
        history = main_screen(app).history
        await wait_for(pilot, lambda: history.scroll_y >= history.max_scroll_y - 1)
        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: _image(card).region.size == (22, 11))
        assert card.has_class("-stacked")
        thumbs = card.entry.draw.output.removesuffix(".png")
        game = main_screen(app).game
        assert game is not None
        made = sorted(p.name for p in (game.dir.path / "thumbs").glob(f"{thumbs}.*.png"))
        assert made == [f"{thumbs}.22x22.png", f"{thumbs}.43x44.png", f"{thumbs}.86x86.png"]


async def test_a_card_waiting_for_its_caption_says_paused_while_paused(
    isolated_env: Path,
) -> None:
    runtime, fake = make_runtime(isolated_env, thumbnail_width=120)
    fake.gate = Gate()
    app = make_app(runtime)
    async with app.run_test(size=(120, 36)) as pilot:
        m = main_screen(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: fake.draw_started.is_set())
        await pilot.press("enter")  # pause while the drawer works: its picture is kept
        fake.gate.set()
        await wait_for(pilot, lambda: m.game is not None and m.game.state == "paused")
        await wait_for(pilot, lambda: bool(m.history.query(RoundCard)) and not m.running)
        card = m.history.query(RoundCard).last()
        await wait_for(pilot, lambda: "paused" in _text(card))
        assert card.entry.describe is None and "waiting for the guesser" not in _text(card)
        # Resume: the guesser answers, and the next drawing waits at a new gate, so the card
        # stays mounted (while following, only ~3 pane heights of cards are kept).
        fake.gate = Gate()
        await pilot.press("enter")
        await wait_for(pilot, lambda: card.entry.describe is not None)
        await wait_for(pilot, lambda: "fake:eye saw" in _text(card))
        assert "paused" not in _text(card) and "fake:eye saw" in _text(card)


def test_a_wide_picture_goes_above_its_text_where_that_makes_it_bigger() -> None:
    room_120x36 = Room(76, 32, 120)  # the pane's cells at 120×36, less the card's border
    assert room_120x36.fit(1.0) == PictureBox(43, 22, stacked=False)
    assert room_120x36.fit(1792 / 1024) == PictureBox(76, 22, stacked=True)
    room_200x50 = Room(156, 46, 120)
    assert room_200x50.fit(1792 / 1024) == PictureBox(120, 34, stacked=False)  # the cap
    assert room_200x50.fit(1024 / 1792) == PictureBox(50, 44, stacked=False)
    for room in (room_120x36, room_200x50, Room(36, 20, 120)):
        for aspect in (0.5, 1.0, 1.75, 3.0):
            box = room.fit(aspect)
            text_rows = 6 if box.stacked else 0
            assert box.rows + text_rows <= room.rows - 2  # the card fits the pane
            assert box.cols <= room.cols - (0 if box.stacked else 33)


async def test_a_wide_picture_at_120x36_is_shown_above_its_text(isolated_env: Path) -> None:
    runtime, fake = make_runtime(isolated_env, thumbnail_width=120)
    fake.image = png_bytes("green", (1792, 1024))
    app = make_app(runtime)
    async with app.run_test(size=(120, 36)) as pilot:
        await _play(pilot, 1)
        card = main_screen(app).history.query(RoundCard).last()
        assert _image(card).region.size == (76, 22)
        assert card.has_class("-stacked")
        assert card.query_one(".card-text").region.y >= card.query_one(".thumb").region.bottom


async def test_cards_removed_while_their_thumbnail_is_made_do_not_crash(
    isolated_env: Path,
) -> None:
    """Fast rounds, big pictures, a small window of cards, then quitting mid-game: cards
    leave while their thread still makes the thumbnail; the picture is dropped, never
    mounted into a card that is gone (which failed the worker and crashed the app)."""
    from PIL import Image

    runtime, fake = make_runtime(isolated_env, thumbnail_width=120, max_cards=4)
    noisy = Image.effect_noise((1792, 1024), 60).convert("RGB")
    buf = io.BytesIO()
    noisy.save(buf, "PNG", compress_level=1)
    fake.image = buf.getvalue()
    fake.delay = 0.0
    for _ in range(3):
        app = make_app(runtime)
        async with app.run_test(size=(200, 50)) as pilot:
            m = main_screen(app)
            await pilot.press("enter")
            await wait_for(pilot, lambda m=m: m.game is not None and m.game.rounds_done >= 6, 60)
            await pilot.press("q")  # while rounds and thumbnails are still being made
            # Quitting stops the engine first: on a busy machine that outlasts the key's
            # press, and leaving this block then would tear the app down under the quit.
            await wait_for(pilot, lambda app=app: not app.is_running, 30)
        assert app._exception is None and app.return_code == 0


async def test_a_resumed_game_opens_on_its_newest_round_at_full_size(isolated_env: Path) -> None:
    """Cards are made before the pane has its size: when it gets one they grow, and the view
    still ends on the newest round."""
    from telestrations.game import Game, Settings

    runtime, fake = make_runtime(isolated_env, thumbnail_width=120)
    fake.image = png_bytes("red", (1024, 1024))
    settings = Settings(drawer="fake:painter", guesser="fake:eye")
    older = runtime.store.new_game(PROMPT, settings.__dict__)
    game = Game(older, runtime.models(), settings)
    for _ in range(6):
        await game.step()
    app = make_app(runtime, resume=older)
    async with app.run_test(size=(200, 50)) as pilot:
        history = main_screen(app).history
        await wait_for(pilot, lambda: len(history.query(".thumb-image")) == 3)
        await settle(pilot)
        assert [_image(c).region.size for c in history.query(RoundCard)] == [(86, 43)] * 3
        newest = history.query(RoundCard).last()
        assert history.scroll_y == history.max_scroll_y > 0
        assert history.scrollable_content_region.contains_region(newest.region)
