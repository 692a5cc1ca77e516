"""A thumbnail whose room changes while it is being put on screen still ends up showing it.

The pane measures its room once it is laid out, which on a slow machine can be while the first
thumbnail's worker is swapping the placeholder for the picture (textual-image widgets, which
take their picture when they are made); the new room cancels that worker. A room that gives
the same box (one row more, say) must not leave the box empty. Half-cell pictures are never
swapped: the picture widget is there from the start and takes its lines with a repaint.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import Static

from telestrations.tui.widgets.cards import CellPicture, Room, Thumb, ThumbSpec

from .test_tui_support import picture_in_place, png_bytes, settle

FIRST = Room(76, 30)
TALLER = Room(76, 31)
"""One row more: for this picture the same box as :data:`FIRST`."""


class OneThumb(App[None]):
    def __init__(self, spec: ThumbSpec) -> None:
        super().__init__()
        self.spec = spec

    def compose(self) -> ComposeResult:
        yield Thumb(0, self.spec, "001.png", FIRST)


async def test_a_new_room_while_the_picture_is_being_mounted_still_shows_it(
    tmp_path: Path,
) -> None:
    (tmp_path / "001.png").write_bytes(png_bytes("red", (480, 480)))
    spec = ThumbSpec(tmp_path, "unicode", 120)
    assert FIRST.fit(1.0) == TALLER.fit(1.0)
    app = OneThumb(spec)
    async with app.run_test(size=(120, 36)) as pilot:
        thumb = app.query_one(Thumb)
        placeholder = thumb.query_one(".thumb-placeholder", Static)
        deadline = time.monotonic() + 10
        while placeholder.display:  # until the worker starts removing it for the picture
            assert time.monotonic() < deadline, "the placeholder was never replaced"
            await asyncio.sleep(0)
        assert not thumb.query(".thumb-image")  # between removing the placeholder and mounting
        thumb.set_room(TALLER)  # cancels that worker where it waits
        await settle(pilot)
        assert picture_in_place(thumb)
        picture = thumb.query_one(".thumb-image")
        assert tuple(picture.size) == (thumb.box.cols, thumb.box.rows)


async def test_a_half_cell_picture_is_in_place_from_the_start_and_a_new_room_repaints_it(
    tmp_path: Path,
) -> None:
    (tmp_path / "001.png").write_bytes(png_bytes("red", (480, 480)))
    spec = ThumbSpec(tmp_path, "halfcell", 120)
    app = OneThumb(spec)
    async with app.run_test(size=(120, 36)) as pilot:
        thumb = app.query_one(Thumb)
        picture = thumb.query_one(CellPicture)  # before its lines exist: saying "loading…"
        assert not thumb.query(".thumb-placeholder")
        thumb.set_room(TALLER)  # while the first lines may still be being made
        await settle(pilot)
        assert picture_in_place(thumb)
        assert thumb.query_one(CellPicture) is picture  # never swapped for another widget
        assert len(picture.strips) == thumb.box.rows
        assert tuple(picture.size) == (thumb.box.cols, thumb.box.rows)
        smaller = Room(40, 16)
        thumb.set_room(smaller)
        await settle(pilot)
        assert thumb.query_one(CellPicture) is picture
        assert len(picture.strips) == thumb.box.rows == smaller.fit(1.0).rows
        assert tuple(picture.size) == (smaller.fit(1.0).cols, smaller.fit(1.0).rows)


async def test_rooms_in_a_burst_leave_no_thumbnail_work_never_started(tmp_path: Path) -> None:
    """A resize drag gives a card several rooms before its thumbnail worker runs: each new one
    cancels the last before it starts. That work must never have been made (Python prints
    "coroutine ... was never awaited" at exit for work made and dropped)."""
    import gc
    import warnings

    (tmp_path / "001.png").write_bytes(png_bytes("red", (480, 480)))
    spec = ThumbSpec(tmp_path, "halfcell", 120)
    app = OneThumb(spec)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with app.run_test(size=(120, 36)) as pilot:
            thumb = app.query_one(Thumb)
            for rows in range(20, 31):  # no await between: none of these workers started
                thumb.set_room(Room(76, rows))
            await settle(pilot)
            assert picture_in_place(thumb)
            assert len(thumb.query_one(CellPicture).strips) == thumb.box.rows
        gc.collect()
    assert not [w for w in caught if "never awaited" in str(w.message)]
