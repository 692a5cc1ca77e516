"""Looking at pixels, and only pixels: colours, background, regions and their shapes.

The image is decoded with Pillow, flattened onto white, shrunk to at most ``GRID`` pixels a
side, and every pixel is given the name of its nearest palette colour. Regions are connected
components of that grid: the big ones touching the border are the background; everything
else (holes of outlines included, so a line drawing's shapes come out filled) are figures.
No metadata, text chunk or provider extra is ever read.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from PIL import Image

from telestrations.providers.doodle.lexicon import COLOURS
from telestrations.providers.pixels import decode_reduced

GRID = 128
"""The analysis grid's longest side, in cells."""
MIN_FIGURE = 0.004
"""Figures smaller than this fraction of the picture are specks, not things."""

_SHADES: dict[str, tuple[tuple[int, int, int], ...]] = {
    "white": ((238, 238, 238),),
    "gray": ((190, 190, 190), (115, 115, 120)),
    "black": ((0, 0, 0), (60, 60, 60)),
    "red": ((170, 30, 30), (240, 95, 85)),
    "orange": ((210, 110, 30), (250, 175, 95)),
    "yellow": ((240, 232, 130), (200, 180, 40)),
    "green": ((125, 205, 95), (100, 140, 60)),
    "dark green": ((40, 70, 40),),
    "blue": ((70, 120, 190), (30, 60, 160)),
    "light blue": ((185, 222, 246), (100, 170, 220)),
    "dark blue": ((18, 20, 60), (45, 55, 85)),
    "turquoise": ((100, 212, 202),),
    "purple": ((100, 50, 130), (180, 130, 210)),
    "pink": ((250, 195, 212), (220, 80, 150)),
    "brown": ((100, 65, 35), (180, 130, 90)),
    "beige": ((240, 226, 196), (200, 180, 140)),
}
"""Extra shades per name, so photographs and anti-aliased edges get sensible names."""

NAMES: tuple[str, ...] = tuple(COLOURS)
INK_NAMES = frozenset({"black", "gray"})


def _palette() -> tuple[Image.Image, list[int]]:
    flat: list[int] = []
    owner: list[int] = []
    for i, name in enumerate(NAMES):
        for rgb in (COLOURS[name], *_SHADES.get(name, ())):
            flat.extend(rgb)
            owner.append(i)
    pal = Image.new("P", (1, 1))
    # Pad by repeating the first entry so unused slots never win a nearest-colour match.
    pad = 256 - len(owner)
    pal.putpalette(flat + flat[:3] * pad)
    return pal, owner + [owner[0]] * pad


_PALETTE, _OWNER = _palette()


@dataclass
class Region:
    """A connected figure: its cells' bounding box, area, colours and shape measures."""

    area: int
    x0: int
    y0: int
    x1: int
    y1: int
    cx: float
    cy: float
    colours: Counter[str]
    rows: list[int] = field(default_factory=list)
    """Cells per row, top to bottom, over the bounding box."""

    @property
    def w(self) -> int:
        return self.x1 - self.x0 + 1

    @property
    def h(self) -> int:
        return self.y1 - self.y0 + 1

    @property
    def fill(self) -> float:
        return self.area / (self.w * self.h)

    def profile(self, t: float) -> float:
        """The region's width at relative height ``t`` (0 top, 1 bottom) over its box width."""
        i = min(len(self.rows) - 1, max(0, round(t * (len(self.rows) - 1))))
        near = self.rows[max(0, i - 1) : i + 2]
        return sum(near) / len(near) / self.w


@dataclass
class Looked:
    """Everything seen in a picture, in grid units."""

    width: int
    height: int
    names: Counter[str]
    brightness: float
    background: list[tuple[str, float, float]]
    """Background parts as (colour, share of picture, mean row 0..1), biggest first."""
    figures: list[Region]
    """Significant figures, biggest first."""
    fingerprint: bytes = b""
    """The colour-named grid as bytes: a digest of the pixels, for wording choices."""

    @property
    def cells(self) -> int:
        return self.width * self.height

    @property
    def line_art(self) -> bool:
        """Ink on paper: hardly any cell is a real colour (not white, gray, black, beige)."""
        plain = sum(self.names[n] for n in ("white", "gray", "black", "beige"))
        return plain > 0.97 * self.cells and self.names["white"] > 0.3 * self.cells


def decode(data: bytes) -> Image.Image:
    """The first frame as RGB on white, shrunk to the analysis grid.

    A big picture is reduced while it is decoded (JPEG at 1/8 scale, PNG a strip at a time),
    so looking at a 6000×6000 picture costs a few MB, not the 144 MB of its pixels.
    """
    frame = decode_reduced(data, (GRID * 2, GRID * 2))
    w, h = frame.size
    factor = max(1, math.ceil(max(w, h) / GRID))
    if frame.mode not in ("RGB", "L"):
        rgba = frame.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        frame = Image.alpha_composite(white, rgba)
    frame = frame.convert("RGB")
    if factor > 1:
        frame = frame.reduce(factor)
    return frame


def look(data: bytes) -> Looked:
    """Decode ``data`` and find its colours, background and figures."""
    small = decode(data)
    w, h = small.size
    q = small.quantize(palette=_PALETTE, dither=Image.Dither.NONE)
    grid = [_OWNER[i] for i in q.tobytes()]
    lum = small.convert("L")
    brightness = sum(lum.tobytes()) / (w * h)
    names = Counter(NAMES[i] for i in grid)

    # Same-colour regions (4-connected).
    label = [-1] * (w * h)
    comps: list[tuple[int, int, bool, float]] = []  # (colour, area, on border, mean row)
    for start in range(w * h):
        if label[start] >= 0:
            continue
        cid = len(comps)
        colour = grid[start]
        label[start] = cid
        stack = [start]
        area = 0
        border = False
        rows = 0
        while stack:
            p = stack.pop()
            area += 1
            y, x = divmod(p, w)
            rows += y
            if x == 0 or y == 0 or x == w - 1 or y == h - 1:
                border = True
            for q2 in (p - 1 if x else -1, p + 1 if x < w - 1 else -1, p - w, p + w):
                if 0 <= q2 < w * h and label[q2] < 0 and grid[q2] == colour:
                    label[q2] = cid
                    stack.append(q2)
        comps.append((colour, area, border, rows / area / max(1, h - 1)))

    total = w * h
    bg_ids = {i for i, (_, area, border, _) in enumerate(comps) if border and area >= 0.06 * total}
    if not bg_ids:
        on_border = [i for i, c in enumerate(comps) if c[2]]
        bg_ids = {max(on_border, key=lambda i: comps[i][1])} if on_border else set()
    merged: dict[str, list[float]] = {}
    for i in bg_ids:
        colour, area, _, row = comps[i]
        acc = merged.setdefault(NAMES[colour], [0.0, 0.0])
        acc[0] += area
        acc[1] += row * area
    background = sorted(
        ((name, a / total, r / a) for name, (a, r) in merged.items()),
        key=lambda b: -b[1],
    )

    figures = _figures(grid, label, bg_ids, w, h)
    return Looked(w, h, names, brightness, background, figures, bytes(grid))


def _figures(grid: list[int], label: list[int], bg_ids: set[int], w: int, h: int) -> list[Region]:
    """Everything that is not background, 8-connected, holes included, biggest first."""
    total = w * h
    seen = [label[i] in bg_ids for i in range(total)]
    found: list[Region] = []
    for start in range(total):
        if seen[start]:
            continue
        seen[start] = True
        stack = [start]
        cells: list[int] = []
        while stack:
            p = stack.pop()
            cells.append(p)
            y, x = divmod(p, w)
            for dy in (-1, 0, 1):
                yy = y + dy
                if yy < 0 or yy >= h:
                    continue
                for dx in (-1, 0, 1):
                    xx = x + dx
                    if 0 <= xx < w:
                        q = yy * w + xx
                        if not seen[q]:
                            seen[q] = True
                            stack.append(q)
        if len(cells) < max(2, MIN_FIGURE * total):
            continue
        ys = [c // w for c in cells]
        xs = [c % w for c in cells]
        y0, y1, x0, x1 = min(ys), max(ys), min(xs), max(xs)
        rows = [0] * (y1 - y0 + 1)
        for y in ys:
            rows[y - y0] += 1
        found.append(
            Region(
                area=len(cells),
                x0=x0,
                y0=y0,
                x1=x1,
                y1=y1,
                cx=sum(xs) / len(xs),
                cy=sum(ys) / len(ys),
                colours=_inner_colours(grid, cells, w, h),
                rows=rows,
            )
        )
    found.sort(key=lambda r: -r.area)
    return found


def _inner_colours(grid: list[int], cells: list[int], w: int, h: int) -> Counter[str]:
    """Colour counts over cells whose four neighbours share their colour.

    Edges blend a fill with its outline (red + black reads as brown), so only the insides
    of patches are counted; a region that is all edge (thin lines) counts every cell.
    """
    inner: Counter[str] = Counter()
    for c in cells:
        y, x = divmod(c, w)
        g = grid[c]
        if (
            0 < x < w - 1
            and 0 < y < h - 1
            and grid[c - 1] == g
            and grid[c + 1] == g
            and grid[c - w] == g
            and grid[c + w] == g
        ):
            inner[NAMES[g]] += 1
    if sum(inner.values()) < max(3, len(cells) // 8):
        inner = Counter(NAMES[grid[c]] for c in cells)
    return inner
