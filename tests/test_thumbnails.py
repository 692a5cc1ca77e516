"""Thumbnails: made once per image and size (safely when two cards ask at once), exactly the
pixels the cells need, and line art that stays legible when shrunk."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFilter

from telestrations.providers.doodle.drawer import render
from telestrations.tui.images import thumbnail_size, usable_mode
from telestrations.tui.thumbnail import is_line_art, load_thumbnail, shrink, thumbnail_path

# What a history picture is at 80×24, 120×36 and 200×50 in half-cell pixels (cards.Room).
HALFCELL_SIZES = [(24, 24), (43, 44), (88, 88)]


def test_two_cards_making_the_same_thumbnail_at_once_both_get_it(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    for i in range(15):
        name = f"r{i:04d}-draw.png"
        Image.new("RGB", (640, 360), (i * 10, 100, 200)).save(tmp_path / name)
        start = threading.Barrier(2)

        def make(name: str = name, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                assert load_thumbnail(tmp_path, name, 96, 27).size == (96, 27)
            except BaseException as exc:  # collected: an assert in a thread would be lost
                errors.append(exc)

        threads = [threading.Thread(target=make) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert thumbnail_path(tmp_path, name, (96, 27)).is_file()
    assert errors == []
    assert not list((tmp_path / "thumbs").glob("*.tmp"))


def test_one_cached_thumbnail_per_size_shown(tmp_path: Path) -> None:
    Image.new("RGB", (1024, 1024), "navy").save(tmp_path / "r0001-draw.png")
    small = load_thumbnail(tmp_path, "r0001-draw.png", 24, 24)
    large = load_thumbnail(tmp_path, "r0001-draw.png", 88, 88)
    assert (small.size, large.size) == ((24, 24), (88, 88))
    names = sorted(p.name for p in (tmp_path / "thumbs").iterdir())
    assert names == ["r0001-draw.24x24.png", "r0001-draw.88x88.png"]
    # the cache answers the second time, even when the original is gone
    (tmp_path / "r0001-draw.png").unlink()
    assert load_thumbnail(tmp_path, "r0001-draw.png", 88, 88).size == (88, 88)


def test_pixels_match_the_cells_for_each_mode() -> None:
    assert thumbnail_size("halfcell", 43, 22) == (43, 44)  # two pixels per cell, stacked
    assert thumbnail_size("unicode", 43, 22) == (43, 22)
    w, h = thumbnail_size("sixel", 43, 22)
    assert w % 43 == 0 and h % 22 == 0 and w >= 43 and h >= 22


def _house(side: int = 1024, line: int = 2) -> Image.Image:
    """A black & white doodle of a house: thin lines on white paper."""
    im = Image.new("RGB", (side, side), "white")
    d = ImageDraw.Draw(im)
    s = side / 512
    d.rectangle((140 * s, 250 * s, 370 * s, 430 * s), outline="black", width=line)
    d.line([(120 * s, 250 * s), (255 * s, 120 * s), (390 * s, 250 * s)], fill="black", width=line)
    d.rectangle((230 * s, 340 * s, 280 * s, 430 * s), outline="black", width=line)
    d.rectangle((170 * s, 280 * s, 210 * s, 320 * s), outline="black", width=line)
    d.line([(0, 430 * s), (side, 430 * s)], fill="black", width=line)
    return im


def _ink_and_paper(original: Image.Image, size: tuple[int, int]) -> tuple[list[int], list[int]]:
    """Indices of thumbnail pixels a line passes through, and of those with no line within
    one pixel (paper that must stay light)."""
    ink = original.convert("L").point(lambda v: 255 if v < 128 else 0)
    covered = ink.resize(size, Image.Resampling.BOX)
    near = covered.point(lambda v: 255 if v else 0).filter(ImageFilter.MaxFilter(3))
    lines = [i for i, v in enumerate(covered.get_flattened_data()) if v > 0]
    paper = [i for i, v in enumerate(near.get_flattened_data()) if v == 0]
    return lines, paper


def _share(image: Image.Image, indices: list[int], test) -> float:  # type: ignore[no-untyped-def]
    grey = image.convert("L").get_flattened_data()
    return sum(1 for i in indices if test(grey[i])) / len(indices)


@pytest.mark.parametrize("size", HALFCELL_SIZES)
def test_thin_lines_stay_dark_where_they_are(tmp_path: Path, size: tuple[int, int]) -> None:
    house = _house()
    house.save(tmp_path / "r0001-draw.png")
    lines, paper = _ink_and_paper(house, size)
    thumb = load_thumbnail(tmp_path, "r0001-draw.png", *size)
    assert thumb.size == size
    assert _share(thumb, lines, lambda v: v < 128) >= 0.95  # the strokes are there
    assert _share(thumb, paper, lambda v: v > 200) >= 0.95  # and the paper stays paper
    # A plain area average fades the same strokes to grey: what the history used to show.
    plain = house.resize(size, Image.Resampling.LANCZOS)
    assert _share(plain, lines, lambda v: v < 128) < 0.1


def test_the_doodle_drawers_own_line_drawing_keeps_its_ink() -> None:
    data, _ = render("Illustrate in black & white doodle style: a house under a tree", 512, 512)
    with Image.open(io.BytesIO(data)) as im:
        drawing = im.convert("RGB")
    assert is_line_art(drawing)
    size = (43, 44)
    lines, _paper = _ink_and_paper(drawing, size)
    assert _share(shrink(drawing, size), lines, lambda v: v < 128) >= 0.9


def test_photographs_are_averaged_not_inked() -> None:
    """A dark or busy picture is not line art: no darkening, the plain average is right."""
    photo = Image.radial_gradient("L").convert("RGB").resize((512, 512))
    assert not is_line_art(photo)
    assert (
        shrink(photo, (40, 40)).tobytes()
        == photo.resize((40, 40), Image.Resampling.LANCZOS, reducing_gap=3.0).tobytes()
    )


def test_sixel_or_tgp_fall_back_to_halfcell_with_a_notice_where_they_cannot_work() -> None:
    no_tmux = {"TERM": "xterm-256color"}
    tmux = {"TERM": "tmux-256color", "TMUX": "/tmp/tmux-0/default,1,0"}
    # a terminal that answered for sixel: used as asked, except under tmux
    assert usable_mode("sixel", no_tmux, detected="sixel") == ("sixel", "")
    mode, notice = usable_mode("sixel", tmux, detected="sixel")
    assert mode == "halfcell" and "tmux" in notice and "not remembered" in notice
    # a terminal that did not answer for TGP
    mode, notice = usable_mode("tgp", no_tmux, detected="halfcell")
    assert mode == "halfcell" and "did not answer" in notice
    # auto: what the terminal has, half-cell under tmux; other modes as asked
    assert usable_mode("auto", no_tmux, detected="tgp") == ("tgp", "")
    assert usable_mode("auto", tmux, detected="sixel") == ("halfcell", "")
    assert usable_mode("unicode", tmux, detected="sixel") == ("unicode", "")
