"""Painters for the sky and for plants and places: the scenery a doodle is set in."""

from __future__ import annotations

import math

from telestrations.providers.doodle.painters.registry import painter
from telestrations.providers.doodle.pen import Pen


def _ring(
    n: int, r: float, r2: float | None = None, turn: float = -90
) -> list[tuple[float, float]]:
    """Points on a circle (or alternating between two radii: a star) around the box centre."""
    pts = []
    for k in range(n):
        rad = r if r2 is None or k % 2 == 0 else r2
        a = math.radians(turn + 360 * k / n)
        pts.append((0.5 + rad * math.cos(a), 0.5 + rad * math.sin(a)))
    return pts


# -- sky ----------------------------------------------------------------------------------------


@painter("sun")
def sun(p: Pen, c: str) -> None:
    for k in range(10):
        a = math.radians(18 + 36 * k)
        p.line(
            [
                (0.5 + 0.36 * math.cos(a), 0.5 + 0.36 * math.sin(a)),
                (0.5 + 0.49 * math.cos(a), 0.5 + 0.49 * math.sin(a)),
            ],
            c,
            1.6,
        )
    p.oval(0.2, 0.2, 0.8, 0.8, c)


@painter("moon")
def moon(p: Pen, c: str) -> None:
    pts = []
    for k in range(19):
        t = math.pi * k / 18
        pts.append((0.5 - 0.42 * math.sin(t), 0.5 - 0.45 * math.cos(t)))
    for k in range(18, -1, -1):
        t = math.pi * k / 18
        pts.append((0.5 - 0.12 * math.sin(t), 0.5 - 0.45 * math.cos(t)))
    p.poly(pts, c)


@painter("star")
def star(p: Pen, c: str) -> None:
    p.poly(_ring(10, 0.5, 0.21), c)


@painter("cloud")
def cloud(p: Pen, c: str) -> None:
    p.union([(0.0, 0.35, 0.45, 1.0), (0.22, 0.0, 0.72, 0.85), (0.5, 0.25, 1.0, 1.0)], c)


@painter("rainbow")
def rainbow(p: Pen, c: str) -> None:
    bands = ["red", "orange", "yellow", "green", "blue", "purple"]
    if c in bands:
        k = bands.index(c)
        bands = bands[k:] + bands[:k]
    x0, y0, x1, y1 = p.box
    w, h = x1 - x0, (y1 - y0) * 2
    step = w * 0.06
    for i, band in enumerate(bands):
        inset = i * step
        box = [x0 + inset, y0 + inset, x1 - inset, y0 + h - inset]
        if p.mode == "line":
            p.draw.arc(box, 180, 360, fill=(35, 35, 35), width=p.lw)
        else:
            p.draw.arc(box, 180, 360, fill=p.fill_of(band), width=int(step) + 1)


@painter("bird")
def bird(p: Pen, c: str) -> None:
    p.oval(0.05, 0.3, 0.8, 0.9, c)
    p.oval(0.55, 0.1, 0.95, 0.55, c)
    p.poly([(0.93, 0.3), (1.0, 0.38), (0.92, 0.42)], "orange")
    p.line([(0.2, 0.55), (0.45, 0.3), (0.55, 0.6)], None, 1.0)
    p.dot(0.8, 0.3, 0.035)


@painter("plane")
def plane(p: Pen, c: str) -> None:
    p.poly([(0.35, 0.5), (0.55, 0.05), (0.65, 0.05), (0.6, 0.5)], c)
    p.poly([(0.02, 0.35), (0.12, 0.1), (0.2, 0.4)], c)
    p.oval(0.0, 0.35, 1.0, 0.7, c)
    p.poly([(0.4, 0.55), (0.6, 0.55), (0.5, 0.98), (0.42, 0.98)], c)
    for k in range(4):
        p.dot(0.62 + 0.07 * k, 0.48, 0.018, "light blue")


@painter("balloon")
def balloon(p: Pen, c: str) -> None:
    p.line([(0.3, 0.6), (0.4, 0.85)], None, 0.7)
    p.line([(0.7, 0.6), (0.6, 0.85)], None, 0.7)
    p.rect(0.38, 0.84, 0.62, 1.0, "brown")
    p.oval(0.05, 0.0, 0.95, 0.7, c)


@painter("kite")
def kite(p: Pen, c: str) -> None:
    p.line([(0.5, 0.75), (0.4, 0.85), (0.55, 0.92), (0.45, 1.0)], None, 0.8)
    p.poly([(0.5, 0.0), (0.95, 0.3), (0.5, 0.75), (0.05, 0.3)], c)
    p.line([(0.5, 0.0), (0.5, 0.75)], None, 0.6)
    p.line([(0.05, 0.3), (0.95, 0.3)], None, 0.6)


@painter("rocket")
def rocket(p: Pen, c: str) -> None:
    p.poly([(0.35, 0.85), (0.5, 1.0), (0.65, 0.85)], "orange")
    p.poly([(0.15, 0.85), (0.3, 0.55), (0.3, 0.85)], "red")
    p.poly([(0.85, 0.85), (0.7, 0.55), (0.7, 0.85)], "red")
    p.poly([(0.5, 0.0), (0.72, 0.25), (0.72, 0.85), (0.28, 0.85), (0.28, 0.25)], c)
    p.oval(0.38, 0.3, 0.62, 0.45, "light blue")


@painter("planet")
def planet(p: Pen, c: str) -> None:
    p.oval(0.2, 0.05, 0.8, 0.95, c)
    p.line([(0.0, 0.55), (0.25, 0.42), (0.75, 0.45), (1.0, 0.55), (0.5, 0.68), (0.0, 0.55)])


@painter("ufo")
def ufo(p: Pen, c: str) -> None:
    p.oval(0.3, 0.0, 0.7, 0.6, "light blue")
    p.oval(0.0, 0.35, 1.0, 0.85, c)
    for u in (0.2, 0.4, 0.6, 0.8):
        p.dot(u, 0.6, 0.025, "yellow")


@painter("butterfly")
def butterfly(p: Pen, c: str) -> None:
    p.oval(0.05, 0.0, 0.5, 0.55, c)
    p.oval(0.5, 0.0, 0.95, 0.55, c)
    p.oval(0.12, 0.45, 0.5, 0.95, c)
    p.oval(0.5, 0.45, 0.88, 0.95, c)
    p.oval(0.45, 0.1, 0.55, 0.9, "black")


@painter("bee")
def bee(p: Pen, c: str) -> None:
    p.oval(0.3, 0.0, 0.6, 0.45, "white")
    p.oval(0.0, 0.3, 0.9, 1.0, c)
    for u in (0.3, 0.5, 0.7):
        p.line([(u, 0.32), (u, 0.98)], "black", 1.5)
    p.dot(0.8, 0.55, 0.03)


@painter("ghost")
def ghost(p: Pen, c: str) -> None:
    pts = [
        (0.5 - 0.45 * math.cos(math.pi * k / 12), 0.45 - 0.43 * math.sin(math.pi * k / 12))
        for k in range(13)
    ]
    pts += [
        (0.95, 1.0),
        (0.8, 0.88),
        (0.65, 1.0),
        (0.5, 0.88),
        (0.35, 1.0),
        (0.2, 0.88),
        (0.05, 1.0),
    ]
    p.poly(pts, c)
    p.dot(0.38, 0.35, 0.05)
    p.dot(0.62, 0.35, 0.05)
    p.oval(0.42, 0.5, 0.58, 0.65, "black")


@painter("dragon")
def dragon(p: Pen, c: str) -> None:
    p.line([(0.2, 0.6), (0.05, 0.75), (0.0, 0.55)], c, 2.5)
    p.poly([(0.35, 0.45), (0.45, 0.0), (0.6, 0.45)], c)
    p.oval(0.1, 0.4, 0.75, 0.85, c)
    p.poly([(0.6, 0.5), (0.78, 0.2), (0.88, 0.3), (0.72, 0.6)], c)
    p.oval(0.72, 0.1, 1.0, 0.35, c)
    p.dot(0.88, 0.2, 0.02)
    p.line([(0.25, 0.8), (0.25, 1.0)], c, 2.0)
    p.line([(0.6, 0.8), (0.6, 1.0)], c, 2.0)


# -- plants and places --------------------------------------------------------------------------


@painter("tree")
def tree(p: Pen, c: str) -> None:
    p.rect(0.42, 0.55, 0.58, 1.0, "brown")
    p.union([(0.0, 0.15, 0.6, 0.7), (0.25, 0.0, 0.85, 0.55), (0.4, 0.2, 1.0, 0.72)], c)


@painter("pine")
def pine(p: Pen, c: str) -> None:
    p.rect(0.43, 0.82, 0.57, 1.0, "brown")
    for top, bottom, half in ((0.45, 0.85, 0.5), (0.22, 0.6, 0.4), (0.0, 0.38, 0.3)):
        p.poly([(0.5, top), (0.5 + half, bottom), (0.5 - half, bottom)], c)


@painter("palm")
def palm(p: Pen, c: str) -> None:
    p.poly([(0.45, 1.0), (0.58, 1.0), (0.56, 0.25), (0.5, 0.25)], "brown")
    for dx in (-1, 1):
        p.poly([(0.53, 0.25), (0.53 + 0.45 * dx, 0.2), (0.53 + 0.47 * dx, 0.45)], c)
        p.poly([(0.53, 0.25), (0.53 + 0.3 * dx, 0.0), (0.53 + 0.4 * dx, 0.1)], c)


@painter("flower")
def flower(p: Pen, c: str) -> None:
    p.line([(0.5, 0.4), (0.48, 0.7), (0.5, 1.0)], "green", 1.5)
    p.poly([(0.5, 0.75), (0.75, 0.6), (0.7, 0.75)], "green")
    for k in range(6):
        a = math.radians(60 * k)
        cx, cy = 0.5 + 0.28 * math.cos(a), 0.25 + 0.14 * math.sin(a)
        p.oval(cx - 0.2, cy - 0.1, cx + 0.2, cy + 0.1, c)
    p.oval(0.36, 0.18, 0.64, 0.32, "yellow")


@painter("cactus")
def cactus(p: Pen, c: str) -> None:
    p.poly([(0.1, 0.25), (0.25, 0.25), (0.25, 0.5), (0.36, 0.5), (0.36, 0.62), (0.1, 0.62)], c)
    p.poly([(0.9, 0.15), (0.75, 0.15), (0.75, 0.42), (0.64, 0.42), (0.64, 0.54), (0.9, 0.54)], c)
    p.poly([(0.35, 0.1), (0.5, 0.0), (0.65, 0.1), (0.65, 1.0), (0.35, 1.0)], c)


@painter("mushroom")
def mushroom(p: Pen, c: str) -> None:
    p.rect(0.38, 0.45, 0.62, 1.0, "beige")
    p.shape(p.oval_points(0.0, 0.0, 1.0, 1.0, 180, 360), c)
    for u, v in ((0.3, 0.3), (0.55, 0.18), (0.72, 0.35)):
        p.dot(u, v, 0.04, "white")


@painter("house")
def house(p: Pen, c: str) -> None:
    p.rect(0.1, 0.45, 0.9, 1.0, c)
    p.poly([(0.0, 0.5), (0.5, 0.1), (1.0, 0.5)], "gray" if c not in ("gray", "white") else "red")
    p.rect(0.42, 0.68, 0.6, 1.0, "brown" if c != "brown" else "beige")
    p.rect(0.18, 0.58, 0.34, 0.74, "light blue")
    p.rect(0.68, 0.58, 0.84, 0.74, "light blue")


@painter("castle")
def castle(p: Pen, c: str) -> None:
    for u in (0.0, 0.72):
        p.rect(u, 0.15, u + 0.28, 1.0, c)
        p.poly([(u - 0.02, 0.16), (u + 0.14, 0.0), (u + 0.3, 0.16)], "red")
    wall = [(0.25, 1.0), (0.25, 0.3), (0.33, 0.3), (0.33, 0.38), (0.42, 0.38), (0.42, 0.3)]
    wall += [(0.58, 0.3), (0.58, 0.38), (0.67, 0.38), (0.67, 0.3), (0.75, 0.3), (0.75, 1.0)]
    p.poly(wall, c)
    p.shape(
        [*p.oval_points(0.4, 0.62, 0.6, 0.82, 180, 360), p.at(0.6, 1.0), p.at(0.4, 1.0)], "brown"
    )
    p.rect(0.1, 0.35, 0.18, 0.5, "black")
    p.rect(0.82, 0.35, 0.9, 0.5, "black")


@painter("tower")
def tower(p: Pen, c: str) -> None:
    p.rect(0.15, 0.15, 0.85, 1.0, c)
    p.poly([(0.05, 0.16), (0.5, 0.0), (0.95, 0.16)], "red")
    for v in (0.3, 0.5, 0.7):
        p.rect(0.4, v, 0.6, v + 0.08, "yellow")


@painter("mountain")
def mountain(p: Pen, c: str) -> None:
    p.poly([(0.35, 1.0), (0.72, 0.25), (1.0, 1.0)], c)
    p.poly([(0.0, 1.0), (0.4, 0.0), (0.8, 1.0)], c)
    p.poly([(0.3, 0.2), (0.4, 0.0), (0.5, 0.2), (0.44, 0.16), (0.4, 0.24), (0.35, 0.16)], "white")


@painter("tent")
def tent(p: Pen, c: str) -> None:
    p.poly([(0.0, 1.0), (0.5, 0.0), (1.0, 1.0)], c)
    p.poly([(0.38, 1.0), (0.5, 0.55), (0.62, 1.0)], "black")
