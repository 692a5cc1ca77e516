"""Making a history thumbnail from a saved picture: pixels and files only.

No Textual (nor Rich) here: :mod:`telestrations.tui.thumbnailer` runs these functions in a
child process, which imports this module and not the UI. A thumbnail is made for exactly the
pixels it is shown at (cached per size, never re-encoding the original); line drawings are
reduced so their strokes stay dark (:func:`shrink`).
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from PIL import Image as PILImage
from PIL import ImageChops

from telestrations.atomic import write_atomic
from telestrations.providers.pixels import decode_reduced

log = logging.getLogger(__name__)

THUMBS = "thumbs"
"""Folder inside a game folder where thumbnails are cached (never the originals)."""

RGB = tuple[int, int, int]


def thumbnail_path(game_path: Path, image_name: str, size: tuple[int, int]) -> Path:
    """``<game>/thumbs/<image stem>.<w>x<h>.png``: one cached thumbnail per size shown."""
    return game_path / THUMBS / f"{Path(image_name).stem}.{size[0]}x{size[1]}.png"


INK_WEIGHT = 0.65
"""How much of the darkest-pixel reduction goes into a line drawing's thumbnail."""
_INK_CURVE = [round(255 * (v / 255) ** 2) for v in range(256)] * 3
"""Gamma 2 on the darkest pixels: partly covered stroke pixels go dark, paper stays white."""


def is_line_art(image: PILImage.Image) -> bool:
    """Mostly light paper with some dark ink: a drawing whose strokes a plain average would
    fade to grey (photographs and dark pictures are not)."""
    hist = image.convert("L").histogram()
    total = max(1, sum(hist))
    light = sum(hist[200:]) / total
    dark = sum(hist[:120]) / total
    return light >= 0.5 and dark >= 0.001


def _darkest(image: PILImage.Image, size: tuple[int, int]) -> PILImage.Image:
    """Each output pixel is the darkest of the block it covers (a min pyramid), so a stroke
    darkens the cells it passes through and no others."""
    w, h = size
    levels = 0
    while image.width >= (2 << levels) * w and image.height >= (2 << levels) * h:
        levels += 1
    # Less than a halving first: a stroke of one pixel keeps at least half its ink.
    cur = image.resize((w << levels, h << levels), PILImage.Resampling.BOX)
    for _ in range(levels):
        # Each pixel becomes the darkest of itself and its left and upper neighbours; NEAREST
        # then picks the odd pixels, so every output is the minimum of exactly one 2×2 block.
        cur = ImageChops.darker(cur, ImageChops.offset(cur, 1, 0))
        cur = ImageChops.darker(cur, ImageChops.offset(cur, 0, 1))
        cur = cur.resize((cur.width // 2, cur.height // 2), PILImage.Resampling.NEAREST)
    return cur


def shrink(image: PILImage.Image, size: tuple[int, int]) -> PILImage.Image:
    """``image`` (RGB) reduced to exactly ``size``, keeping thin dark lines visible.

    A plain area average turns a 2-pixel stroke on white into light grey once a cell covers
    ten pixels; for line art the darkest pixel of each block is blended in, so the strokes
    stay dark while the paper stays white.
    """
    if image.size == size:
        return image
    average = image.resize(size, PILImage.Resampling.LANCZOS, reducing_gap=3.0)
    if not is_line_art(image):
        return average
    ink = _darkest(image, size).point(_INK_CURVE)  # a stroke half in a block: still ink
    return PILImage.blend(average, ink, INK_WEIGHT)


def _decode(source: Path, size: tuple[int, int]) -> PILImage.Image:
    """The original's pixels as RGB, reduced while decoding where the format allows."""
    # JPEG drafts, PNG strips: a huge picture never sits whole in memory. Twice the size
    # asked, so the line-art reduction still sees the thin strokes.
    return decode_reduced(source, (size[0] * 2, size[1] * 2)).convert("RGB")


def load_thumbnail(game_path: Path, image_name: str, width: int, height: int) -> PILImage.Image:
    """The thumbnail of exactly ``width``×``height`` pixels, cached per size.

    Blocking. The original is only read, never re-encoded.
    """
    size = (max(1, width), max(1, height))
    thumb = thumbnail_path(game_path, image_name, size)
    try:
        with PILImage.open(thumb) as im:
            if im.size == size:
                im.load()
                return im.convert("RGB")
    except (OSError, ValueError):
        pass
    small = shrink(_decode(game_path / image_name, size), size)
    try:
        thumb.parent.mkdir(exist_ok=True)
        buf = io.BytesIO()
        small.save(buf, "PNG", compress_level=1)
        # A temp name per write: two cards may make the same thumbnail at once. No fsync:
        # it is a cache, made again if a crash loses it.
        write_atomic(thumb, buf.getvalue(), sync=False)
    except OSError as exc:  # the cache is a convenience: show the picture anyway
        log.warning("could not cache thumbnail %s: %s", thumb, exc)
    return small


@dataclass(frozen=True)
class Cells:
    """A half-cell thumbnail as runs of equal cells: for each line of cells (two pixel rows),
    ``(count, upper pixel, lower pixel)`` from left to right. Small to send between
    processes; the UI turns each run into one segment."""

    width: int
    lines: list[list[tuple[int, RGB, RGB]]]


def cell_runs(image: PILImage.Image) -> Cells:
    """``image`` as half-block cells, equal neighbours merged into runs."""
    rgb = image.convert("RGB")
    width, height = rgb.size
    pixels = cast("tuple[RGB, ...]", rgb.get_flattened_data())  # RGB: three bands a pixel
    lines = []
    for y in range(0, height, 2):
        top = pixels[y * width : (y + 1) * width]
        bottom = pixels[(y + 1) * width : (y + 2) * width] if y + 1 < height else top
        runs = []
        start = 0
        for x in range(1, width + 1):
            if x < width and top[x] == top[start] and bottom[x] == bottom[start]:
                continue
            runs.append((x - start, top[start], bottom[start]))
            start = x
        lines.append(runs)
    return Cells(width, lines)


@dataclass(frozen=True)
class Pixels:
    """A thumbnail's raw RGB pixels (a few tens of KB), to rebuild as an image in the UI."""

    width: int
    height: int
    data: bytes

    def image(self) -> PILImage.Image:
        return PILImage.frombytes("RGB", (self.width, self.height), self.data)


def make(game_path: str, image_name: str, width: int, height: int, cells: bool) -> Cells | Pixels:
    """The thumbnail, as half-cell runs (``cells``) or pixels: what the UI needs of it and
    nothing more, since this runs in the child process and the result is sent back."""
    image = load_thumbnail(Path(game_path), image_name, width, height)
    if cells:
        return cell_runs(image)
    return Pixels(image.width, image.height, image.tobytes())
