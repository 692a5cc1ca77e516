"""A wobbly pen: Pillow drawing in box-relative coordinates, with a hand-drawn jitter.

Painters describe a thing inside a unit box (``u``, ``v`` in 0..1); the pen maps that onto
the canvas, fills in colour (or leaves it white in line mode) and outlines with a slightly
shaky line, so every doodle looks hand-made but is the same for the same seed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from PIL import Image, ImageChops, ImageDraw

from telestrations.providers.doodle.lexicon import COLOURS, RGB

Point = tuple[float, float]
INK: RGB = (35, 35, 35)
PAPER: RGB = (255, 255, 255)
_HATCHED = frozenset({"black", "dark blue", "dark green", "brown", "purple", "blue", "red"})
"""In line mode, things of these colours are shaded with hatching (darker → denser)."""


def rgb(colour: str | RGB) -> RGB:
    """A colour name from the lexicon, or an RGB tuple, as RGB."""
    return COLOURS.get(colour, INK) if isinstance(colour, str) else colour


class Pen:
    """Draws onto one image; ``place()`` sets the box the next strokes are relative to."""

    def __init__(self, image: Image.Image, mode: str, rng: random.Random) -> None:
        self.image = image
        self.draw = ImageDraw.Draw(image)
        self.mode = mode
        self.rng = rng
        side = min(image.size)
        self.lw = max(1, round(side / (100 if mode == "line" else 120)))
        self.wobble = side / (260 if mode == "line" else 420)
        self.box = (0.0, 0.0, float(image.width), float(image.height))

    # -- coordinates --------------------------------------------------------------------------

    def place(self, x0: float, y0: float, x1: float, y1: float) -> None:
        self.box = (x0, y0, x1, y1)

    def at(self, u: float, v: float) -> Point:
        x0, y0, x1, y1 = self.box
        return (x0 + u * (x1 - x0), y0 + v * (y1 - y0))

    def scale(self) -> float:
        """The box's smaller side in pixels (for widths that should follow the thing's size)."""
        x0, y0, x1, y1 = self.box
        return min(x1 - x0, y1 - y0)

    def _shake(self, pts: Sequence[Point], closed: bool) -> list[Point]:
        """Subdivide long edges and nudge every point a little: the hand-drawn look."""
        out: list[Point] = []
        n = len(pts)
        step = max(6.0, self.wobble * 10)
        for i in range(n if closed else n - 1):
            (ax, ay), (bx, by) = pts[i], pts[(i + 1) % n]
            pieces = max(1, int(math.hypot(bx - ax, by - ay) / step))
            for k in range(pieces):
                t = k / pieces
                j = self.wobble if k else self.wobble * 0.5
                out.append(
                    (
                        ax + (bx - ax) * t + self.rng.uniform(-j, j),
                        ay + (by - ay) * t + self.rng.uniform(-j, j),
                    )
                )
        if not closed:
            out.append(pts[-1])
        return out

    # -- fills and lines ------------------------------------------------------------------------

    def fill_of(self, colour: str | RGB | None) -> RGB | None:
        if colour is None:
            return None
        return PAPER if self.mode == "line" else rgb(colour)

    def shape(self, pts: Sequence[Point], colour: str | RGB | None, outline: bool = True) -> None:
        """A closed polygon in canvas coordinates, filled and outlined."""
        if len(pts) < 3:
            return
        poly = self._shake(pts, closed=True)
        fill = self.fill_of(colour)
        self.draw.polygon(poly, fill=fill)
        if self.mode == "line" and isinstance(colour, str) and colour in _HATCHED:
            self._hatch(poly, dense=colour in ("black", "dark blue", "dark green"))
        if outline:
            self.draw.line([*poly, poly[0]], fill=INK, width=self.lw, joint="curve")

    def _hatch(self, poly: Sequence[Point], dense: bool) -> None:
        xs = [p[0] for p in poly]
        ys = [p[1] for p in poly]
        x0, y0 = int(min(xs)), int(min(ys))
        w, h = int(max(xs)) - x0 + 2, int(max(ys)) - y0 + 2
        if w < 4 or h < 4:
            return
        mask = Image.new("L", (w, h), 0)
        ImageDraw.Draw(mask).polygon([(x - x0, y - y0) for x, y in poly], fill=255)
        lines = Image.new("L", (w, h), 0)
        ld = ImageDraw.Draw(lines)
        gap = max(3, self.lw * (2 if dense else 3))
        for k in range(-h, w, gap):
            ld.line([(k, h), (k + h, 0)], fill=255, width=max(1, self.lw // 2))
        self.image.paste(INK, (x0, y0), ImageChops.multiply(mask, lines))

    def poly(self, uv: Sequence[Point], colour: str | RGB | None, outline: bool = True) -> None:
        """A polygon in box coordinates."""
        self.shape([self.at(u, v) for u, v in uv], colour, outline)

    def oval_points(
        self, u0: float, v0: float, u1: float, v1: float, start: float = 0, end: float = 360
    ) -> list[Point]:
        cx, cy = self.at((u0 + u1) / 2, (v0 + v1) / 2)
        (ax, ay), (bx, by) = self.at(u0, v0), self.at(u1, v1)
        rx, ry = abs(bx - ax) / 2, abs(by - ay) / 2
        n = max(12, min(48, int((rx + ry) / 3)))
        span = end - start
        full = span >= 360
        steps = n if full else max(2, int(n * abs(span) / 360))
        return [
            (
                cx + rx * math.cos(math.radians(start + span * k / steps)),
                cy + ry * math.sin(math.radians(start + span * k / steps)),
            )
            for k in range(steps if full else steps + 1)
        ]

    def oval(
        self,
        u0: float,
        v0: float,
        u1: float,
        v1: float,
        colour: str | RGB | None,
        outline: bool = True,
    ) -> None:
        self.shape(self.oval_points(u0, v0, u1, v1), colour, outline)

    def rect(self, u0: float, v0: float, u1: float, v1: float, colour: str | RGB | None) -> None:
        self.poly([(u0, v0), (u1, v0), (u1, v1), (u0, v1)], colour)

    def line(
        self, uv: Sequence[Point], colour: str | RGB | None = None, width: float = 1.0
    ) -> None:
        """An open stroke in box coordinates; coloured strokes stay ink in line mode."""
        pts = self._shake([self.at(u, v) for u, v in uv], closed=False)
        fill = INK if colour is None or self.mode == "line" else rgb(colour)
        self.draw.line(pts, fill=fill, width=max(1, round(self.lw * width)), joint="curve")

    def dot(self, u: float, v: float, r: float, colour: str | RGB = INK) -> None:
        """A small solid dot (eyes, stars, buttons): radius ``r`` in box units of the width."""
        x, y = self.at(u, v)
        x0, _, x1, _ = self.box
        rr = max(1.0, r * (x1 - x0))
        fill = INK if self.mode == "line" and colour != PAPER else rgb(colour)
        self.draw.ellipse([x - rr, y - rr, x + rr, y + rr], fill=fill)

    def union(self, ovals: Sequence[tuple[float, float, float, float]], colour: str) -> None:
        """Overlapping ovals drawn as one puffy outline (clouds, tree tops)."""
        for o in ovals:
            self.oval(*o, colour)
        fill = self.fill_of(colour)
        x0, y0, x1, y1 = self.box
        du = (self.lw * 1.2) / max(1.0, x1 - x0)
        dv = (self.lw * 1.2) / max(1.0, y1 - y0)
        for u0, v0, u1, v1 in ovals:
            pts = self.oval_points(u0 + du, v0 + dv, u1 - du, v1 - dv)
            self.draw.polygon(pts, fill=fill)
