"""A picture on screen costs the event loop nothing but handing its lines out, and the cycle
collector does not walk what the app started with.

The longest stalls while a big picture arrived (``bench/loop_lag.py``) were Textual copying
every segment of a half-cell picture on each repaint (its true-colour filter) and full
collections walking every object of the process; these tests pin both.
"""

from __future__ import annotations

import gc
import io
import sys
from pathlib import Path

from PIL import Image
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip

from telestrations.tui.collector import MIDDLE_THRESHOLD, YOUNG_THRESHOLD
from telestrations.tui.textual_fixes import fix_strip_divide_cycle
from telestrations.tui.widgets.cards import CellPicture, RoundCard, Thumb

from .test_tui_support import (
    main_screen,
    make_app,
    make_runtime,
    picture_in_place,
    settle,
    wait_for,
)


def noisy_png(size: tuple[int, int] = (1792, 1024)) -> bytes:
    """A photo-like picture: almost no two neighbouring cells share a colour."""
    noise = Image.effect_noise(size, 64).convert("RGB")
    gradient = Image.linear_gradient("L").resize(size).convert("RGB")
    buf = io.BytesIO()
    Image.blend(noise, gradient, 0.5).save(buf, "PNG", compress_level=1)
    return buf.getvalue()


async def test_a_big_picture_is_made_once_and_repainted_without_copying_a_segment(
    isolated_env: Path,
) -> None:
    runtime, fake = make_runtime(isolated_env, thumbnail_width=120)
    fake.image = noisy_png()
    app = make_app(runtime)
    async with app.run_test(size=(200, 50)) as pilot:
        m = main_screen(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: m.game is not None and m.game.rounds_done >= 1)
        m.action_pause()
        await wait_for(pilot, lambda: not m.running)
        await settle(pilot)
        # A card in view: how many rounds were played before the pause depends on the
        # machine, and cards scrolled out of view make no picture.
        shown = [t for t in m.history.query(Thumb) if picture_in_place(t)]
        assert shown, "no thumbnail in place"
        picture = shown[0].query_one(CellPicture)
        lines = picture.strips
        width, height = picture.size
        assert len(lines) == height >= 30 and width >= 50  # a big picture at 200×50
        ours = {id(segment) for line in lines for segment in line}
        assert len(ours) > 10 * height  # photo-like: many segments a line
        for _ in range(2):  # the whole screen painted again, twice
            app.screen.refresh()
            picture.refresh()
            await pilot.pause()
            painted = picture.render_lines(Region(0, 0, width, height))  # the compositor's call
            assert picture.strips is lines  # the lines were not made again
            assert len(painted) == height
            assert all(line.cell_length == width for line in painted)
            shown = {id(segment) for line in painted for segment in line}
            assert shown == ours  # handed out as made: no filter rebuilt a segment
        assert "▀" in "".join(line.text for line in painted)


async def test_the_app_freezes_what_it_starts_with_and_puts_the_collector_back(
    isolated_env: Path,
) -> None:
    before = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    runtime, _fake = make_runtime(isolated_env)
    app = make_app(runtime)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: gc.get_freeze_count() > 0)
        assert gc.get_threshold() == (YOUNG_THRESHOLD, MIDDLE_THRESHOLD, before[2])
        frozen = gc.get_freeze_count()
        await pilot.press("enter")  # a game's objects are not frozen: they come and go
        await wait_for(pilot, lambda: main_screen(app).game is not None)
        assert gc.get_freeze_count() <= frozen  # fewer as frozen ones are freed; none added
    assert gc.get_freeze_count() == 0  # what the app held can be collected again
    assert gc.get_threshold() == before


def test_a_strip_shown_whole_is_freed_without_the_cycle_collector() -> None:
    fix_strip_divide_cycle()
    segment = Segment("▀" * 5, Style(color="red", bgcolor="blue"))
    alone = sys.getrefcount(segment)
    gc.disable()  # only reference counting may free it
    try:
        strip = Strip([segment], 5)
        assert [s.text for s in strip.divide([5])] == ["▀" * 5]  # what the compositor asks
        assert [s.text for s in strip.divide([2, 5])] == ["▀▀", "▀▀▀"]  # real cuts: as before
        del strip
        assert sys.getrefcount(segment) == alone
    finally:
        gc.enable()


async def test_a_removed_card_frees_its_picture_without_the_cycle_collector(
    isolated_env: Path,
) -> None:
    runtime, fake = make_runtime(isolated_env, thumbnail_width=120)
    fake.image = noisy_png((512, 512))
    app = make_app(runtime)
    async with app.run_test(size=(120, 36)) as pilot:
        m = main_screen(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: m.game is not None and m.game.rounds_done >= 1)
        m.action_pause()
        await wait_for(pilot, lambda: not m.running)
        await settle(pilot)
        card = m.history.query(RoundCard).last()  # in view (an older one may never have been)
        segment = card.query_one(CellPicture).strips[0]._segments[0]
        # In the picture's lines (handed to the compositor as they are: no copy on screen).
        assert sys.getrefcount(segment) >= 3
        gc.disable()
        try:
            await card.remove()
            del card
            await pilot.pause()
            assert sys.getrefcount(segment) == 2  # only ours (and getrefcount's argument)
        finally:
            gc.enable()
