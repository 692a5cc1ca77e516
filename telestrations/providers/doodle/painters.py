"""One small painter per kind of thing, each drawing inside the pen's current unit box.

A painter gets the pen (already placed on the thing's box) and the thing's main colour; other
parts use fixed colours (a door is brown, a beak orange). Kept as plain data-like functions so
adding a thing is adding a few lines here and a row in the lexicon.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from telestrations.providers.doodle.pen import Pen

Painter = Callable[[Pen, str], None]
PAINTERS: dict[str, Painter] = {}


def painter(*kinds: str) -> Callable[[Painter], Painter]:
    def register(fn: Painter) -> Painter:
        for kind in kinds:
            PAINTERS[kind] = fn
        return fn

    return register


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


# -- vehicles -----------------------------------------------------------------------------------


def _wheels(p: Pen, us: tuple[float, ...], v: float = 0.78, r: float = 0.1) -> None:
    x0, y0, x1, y1 = p.box
    rv = r * (x1 - x0) / max(1.0, y1 - y0)
    for u in us:
        p.oval(u - r, v - rv, u + r, v + rv, "black")
        p.oval(u - r / 3, v - rv / 3, u + r / 3, v + rv / 3, "gray")


@painter("car")
def car(p: Pen, c: str) -> None:
    p.poly([(0.25, 0.45), (0.35, 0.1), (0.7, 0.1), (0.8, 0.45)], "light blue")
    p.poly([(0.02, 0.45), (0.98, 0.45), (1.0, 0.8), (0.0, 0.8)], c)
    _wheels(p, (0.22, 0.78))


@painter("bus")
def bus(p: Pen, c: str) -> None:
    p.rect(0.0, 0.05, 1.0, 0.8, c)
    for k in range(5):
        u = 0.06 + k * 0.18
        p.rect(u, 0.15, u + 0.13, 0.4, "light blue")
    _wheels(p, (0.18, 0.82), 0.8, 0.08)


@painter("train")
def train(p: Pen, c: str) -> None:
    p.rect(0.0, 0.3, 0.35, 0.8, c)
    p.rect(0.38, 0.3, 0.68, 0.8, c)
    p.rect(0.72, 0.3, 1.0, 0.8, c)
    p.rect(0.78, 0.0, 0.86, 0.3, "black")
    for u in (0.05, 0.43, 0.77):
        p.rect(u, 0.4, u + 0.18, 0.55, "yellow")
    _wheels(p, (0.1, 0.26, 0.46, 0.6, 0.8, 0.93), 0.82, 0.05)


@painter("bicycle")
def bicycle(p: Pen, c: str) -> None:
    x0, y0, x1, y1 = p.box
    ry = 0.22 * (x1 - x0) / max(1.0, y1 - y0)
    for u in (0.22, 0.78):
        p.shape(p.oval_points(u - 0.22, 0.98 - 2 * ry, u + 0.22, 0.98), None)
    hub = 0.98 - ry
    p.line([(0.22, hub), (0.45, hub), (0.7, 0.35), (0.35, 0.35), (0.22, hub)], c, 1.5)
    p.line([(0.45, hub), (0.33, 0.2)], c, 1.5)
    p.line([(0.78, hub), (0.68, 0.15), (0.58, 0.12)], c, 1.5)
    p.line([(0.26, 0.2), (0.4, 0.2)], None, 2.0)


@painter("boat")
def boat(p: Pen, c: str) -> None:
    p.line([(0.5, 0.7), (0.5, 0.0)], "black", 1.2)
    p.poly([(0.52, 0.05), (0.52, 0.62), (0.92, 0.62)], "white")
    p.poly([(0.48, 0.12), (0.48, 0.62), (0.15, 0.62)], "red")
    p.poly([(0.0, 0.68), (1.0, 0.68), (0.82, 1.0), (0.18, 1.0)], c)


@painter("fish")
def fish(p: Pen, c: str) -> None:
    p.poly([(0.3, 0.5), (0.0, 0.1), (0.0, 0.9)], c)
    p.oval(0.15, 0.1, 1.0, 0.9, c)
    p.dot(0.8, 0.4, 0.04)
    p.line([(0.55, 0.25), (0.6, 0.5), (0.55, 0.75)], None, 0.7)


# -- people and animals -------------------------------------------------------------------------


@painter("person")
def person(p: Pen, c: str) -> None:
    p.line([(0.4, 0.65), (0.3, 1.0)], None, 1.6)
    p.line([(0.6, 0.65), (0.7, 1.0)], None, 1.6)
    p.line([(0.05, 0.3), (0.3, 0.35), (0.7, 0.35), (0.95, 0.3)], None, 1.6)
    p.poly([(0.5, 0.25), (0.78, 0.72), (0.22, 0.72)], c)
    p.oval(0.3, 0.0, 0.7, 0.22, "beige")
    p.dot(0.43, 0.1, 0.025)
    p.dot(0.57, 0.1, 0.025)


@painter("robot")
def robot(p: Pen, c: str) -> None:
    p.line([(0.5, 0.12), (0.5, 0.0)], None, 1.2)
    p.dot(0.5, 0.02, 0.04, "red")
    p.rect(0.2, 0.1, 0.8, 0.38, c)
    p.dot(0.38, 0.22, 0.05, "yellow")
    p.dot(0.62, 0.22, 0.05, "yellow")
    p.rect(0.0, 0.45, 0.12, 0.7, c)
    p.rect(0.88, 0.45, 1.0, 0.7, c)
    p.rect(0.28, 0.78, 0.42, 1.0, c)
    p.rect(0.58, 0.78, 0.72, 1.0, c)
    p.rect(0.12, 0.4, 0.88, 0.8, c)
    p.rect(0.35, 0.5, 0.65, 0.65, "light blue")


@painter("snowman")
def snowman(p: Pen, c: str) -> None:
    p.oval(0.05, 0.5, 0.95, 1.0, c)
    p.oval(0.18, 0.22, 0.82, 0.58, c)
    p.oval(0.3, 0.0, 0.7, 0.28, c)
    p.poly([(0.48, 0.14), (0.7, 0.17), (0.48, 0.18)], "orange")
    p.dot(0.43, 0.1, 0.025)
    p.dot(0.57, 0.1, 0.025)
    for v in (0.32, 0.42, 0.52):
        p.dot(0.5, v, 0.025)


def _legs(p: Pen, us: tuple[float, ...], top: float, colour: str) -> None:
    for u in us:
        p.rect(u, top, u + 0.08, 1.0, colour)


@painter("cat")
def cat(p: Pen, c: str) -> None:
    p.line([(0.15, 0.7), (0.02, 0.5), (0.08, 0.2)], c, 2.2)
    _legs(p, (0.2, 0.35, 0.55, 0.7), 0.75, c)
    p.oval(0.1, 0.45, 0.8, 0.88, c)
    p.poly([(0.56, 0.2), (0.62, 0.0), (0.72, 0.14)], c)
    p.poly([(0.84, 0.14), (0.92, 0.0), (0.96, 0.2)], c)
    p.oval(0.55, 0.1, 1.0, 0.5, c)
    p.dot(0.7, 0.27, 0.025)
    p.dot(0.86, 0.27, 0.025)
    p.line([(0.62, 0.38), (0.5, 0.35)], None, 0.5)
    p.line([(0.92, 0.38), (1.0, 0.35)], None, 0.5)


@painter("dog")
def dog(p: Pen, c: str) -> None:
    p.line([(0.12, 0.5), (0.0, 0.3)], c, 2.2)
    _legs(p, (0.15, 0.3, 0.55, 0.7), 0.7, c)
    p.oval(0.05, 0.4, 0.8, 0.85, c)
    p.oval(0.6, 0.05, 0.98, 0.45, c)
    p.oval(0.58, 0.05, 0.72, 0.45, "brown" if c != "brown" else "black")
    p.oval(0.88, 0.22, 1.0, 0.34, "black")
    p.dot(0.82, 0.18, 0.025)


@painter("rabbit")
def rabbit(p: Pen, c: str) -> None:
    p.oval(0.45, 0.0, 0.6, 0.45, c)
    p.oval(0.65, 0.0, 0.8, 0.45, c)
    p.oval(0.05, 0.5, 0.8, 1.0, c)
    p.oval(0.45, 0.3, 0.95, 0.7, c)
    p.dot(0.62, 0.45, 0.025)
    p.dot(0.78, 0.45, 0.025)
    p.oval(0.0, 0.65, 0.15, 0.8, "white")


@painter("horse")
def horse(p: Pen, c: str) -> None:
    p.line([(0.1, 0.4), (0.0, 0.7)], "black", 2.0)
    _legs(p, (0.12, 0.25, 0.6, 0.72), 0.6, c)
    p.oval(0.05, 0.3, 0.85, 0.72, c)
    p.poly([(0.65, 0.45), (0.75, 0.1), (0.9, 0.1), (0.85, 0.45)], c)
    p.poly([(0.75, 0.05), (1.0, 0.15), (1.0, 0.3), (0.78, 0.25)], c)
    p.dot(0.85, 0.13, 0.02)


@painter("elephant")
def elephant(p: Pen, c: str) -> None:
    _legs(p, (0.15, 0.3, 0.55, 0.7), 0.7, c)
    p.oval(0.05, 0.2, 0.8, 0.85, c)
    p.line([(0.92, 0.45), (0.97, 0.75), (0.9, 0.9)], c, 3.0)
    p.oval(0.62, 0.1, 1.0, 0.55, c)
    p.oval(0.58, 0.15, 0.8, 0.5, c)
    p.dot(0.88, 0.25, 0.02)


@painter("snake")
def snake(p: Pen, c: str) -> None:
    pts = [(0.05 + 0.85 * k / 12, 0.6 + 0.25 * math.sin(k * 0.9)) for k in range(13)]
    p.line(pts, c, 4.0)
    p.oval(0.82, 0.3, 1.0, 0.7, c)
    p.dot(0.93, 0.45, 0.015)


@painter("duck")
def duck(p: Pen, c: str) -> None:
    p.oval(0.0, 0.4, 0.8, 1.0, c)
    p.oval(0.5, 0.0, 0.9, 0.45, c)
    p.poly([(0.85, 0.2), (1.0, 0.27), (0.85, 0.32)], "orange")
    p.dot(0.76, 0.18, 0.025)
    p.line([(0.2, 0.65), (0.45, 0.72), (0.6, 0.6)], None, 0.8)


# -- objects ------------------------------------------------------------------------------------


@painter("heart")
def heart(p: Pen, c: str) -> None:
    pts = []
    for k in range(36):
        t = 2 * math.pi * k / 36
        x = 16 * math.sin(t) ** 3
        y = 13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t) - math.cos(4 * t)
        pts.append((0.5 + x / 34, 0.45 - y / 32))
    p.poly(pts, c)


@painter("ball")
def ball(p: Pen, c: str) -> None:
    p.oval(0.0, 0.0, 1.0, 1.0, c)
    p.line([(0.15, 0.3), (0.5, 0.45), (0.85, 0.3)], "white", 1.2)
    p.line([(0.15, 0.7), (0.5, 0.55), (0.85, 0.7)], "white", 1.2)


@painter("umbrella")
def umbrella(p: Pen, c: str) -> None:
    p.line([(0.5, 0.4), (0.5, 0.92), (0.42, 1.0), (0.35, 0.92)], None, 1.5)
    p.shape(p.oval_points(0.0, 0.0, 1.0, 0.9, 180, 360), c)
    p.line([(0.5, 0.0), (0.5, 0.45)], None, 0.7)


@painter("apple")
def apple(p: Pen, c: str) -> None:
    p.line([(0.5, 0.25), (0.55, 0.0)], "brown", 1.5)
    p.oval(0.55, 0.02, 0.85, 0.18, "green")
    p.union([(0.0, 0.18, 0.6, 1.0), (0.4, 0.18, 1.0, 1.0)], c)


@painter("cake")
def cake(p: Pen, c: str) -> None:
    for u in (0.3, 0.5, 0.7):
        p.rect(u - 0.03, 0.05, u + 0.03, 0.3, "white")
        p.dot(u, 0.03, 0.03, "orange")
    p.rect(0.05, 0.3, 0.95, 1.0, c)
    p.line([(0.05, 0.45), (0.3, 0.55), (0.5, 0.45), (0.7, 0.55), (0.95, 0.45)], "white", 1.5)


@painter("cup")
def cup(p: Pen, c: str) -> None:
    p.oval(0.6, 0.3, 1.0, 0.7, None)
    p.poly([(0.05, 0.2), (0.8, 0.2), (0.7, 1.0), (0.15, 1.0)], c)
    p.line([(0.3, 0.15), (0.25, 0.05), (0.32, 0.0)], None, 0.7)
    p.line([(0.5, 0.15), (0.45, 0.05), (0.52, 0.0)], None, 0.7)


@painter("hat")
def hat(p: Pen, c: str) -> None:
    p.oval(0.0, 0.7, 1.0, 1.0, c)
    p.rect(0.22, 0.0, 0.78, 0.85, c)
    p.rect(0.22, 0.6, 0.78, 0.72, "red")


@painter("crown")
def crown(p: Pen, c: str) -> None:
    p.poly(
        [(0.0, 1.0), (0.0, 0.1), (0.25, 0.5), (0.5, 0.0), (0.75, 0.5), (1.0, 0.1), (1.0, 1.0)], c
    )
    p.dot(0.5, 0.75, 0.06, "red")


@painter("chair")
def chair(p: Pen, c: str) -> None:
    p.rect(0.1, 0.0, 0.25, 1.0, c)
    p.rect(0.1, 0.5, 0.9, 0.62, c)
    p.rect(0.78, 0.62, 0.9, 1.0, c)


@painter("table")
def table(p: Pen, c: str) -> None:
    p.rect(0.05, 0.3, 0.15, 1.0, c)
    p.rect(0.85, 0.3, 0.95, 1.0, c)
    p.rect(0.0, 0.15, 1.0, 0.32, c)


@painter("lamp")
def lamp(p: Pen, c: str) -> None:
    p.rect(0.46, 0.3, 0.54, 0.95, "black")
    p.oval(0.2, 0.88, 0.8, 1.0, "black")
    p.poly([(0.3, 0.0), (0.7, 0.0), (0.95, 0.35), (0.05, 0.35)], c)


@painter("book")
def book(p: Pen, c: str) -> None:
    p.poly([(0.0, 0.1), (0.5, 0.2), (1.0, 0.1), (1.0, 0.9), (0.5, 1.0), (0.0, 0.9)], c)
    p.poly([(0.08, 0.12), (0.5, 0.22), (0.5, 0.9), (0.08, 0.82)], "white")
    p.poly([(0.92, 0.12), (0.5, 0.22), (0.5, 0.9), (0.92, 0.82)], "white")
    for v in (0.35, 0.5, 0.65):
        p.line([(0.15, v), (0.42, v + 0.05)], None, 0.5)
        p.line([(0.58, v + 0.05), (0.85, v)], None, 0.5)


@painter("clock")
def clock(p: Pen, c: str) -> None:
    p.oval(0.0, 0.0, 1.0, 1.0, c)
    for k in range(12):
        a = math.radians(30 * k)
        p.dot(0.5 + 0.4 * math.cos(a), 0.5 + 0.4 * math.sin(a), 0.02)
    p.line([(0.5, 0.5), (0.5, 0.18)], None, 1.5)
    p.line([(0.5, 0.5), (0.72, 0.6)], None, 1.5)


@painter("key")
def key(p: Pen, c: str) -> None:
    p.rect(0.3, 0.4, 1.0, 0.6, c)
    p.rect(0.75, 0.6, 0.82, 0.85, c)
    p.rect(0.88, 0.6, 0.95, 0.8, c)
    p.oval(0.0, 0.1, 0.4, 0.9, c)
    p.oval(0.12, 0.38, 0.28, 0.62, "white")


@painter("guitar")
def guitar(p: Pen, c: str) -> None:
    p.rect(0.43, 0.0, 0.57, 0.5, "black")
    p.union([(0.15, 0.35, 0.85, 0.65), (0.0, 0.5, 1.0, 1.0)], c)
    p.oval(0.38, 0.6, 0.62, 0.75, "black")


@painter("phone")
def phone(p: Pen, c: str) -> None:
    p.rect(0.0, 0.0, 1.0, 1.0, c)
    p.rect(0.1, 0.1, 0.9, 0.82, "light blue")
    p.dot(0.5, 0.91, 0.06, "gray")


@painter("fence")
def fence(p: Pen, c: str) -> None:
    p.rect(0.0, 0.3, 1.0, 0.42, c)
    p.rect(0.0, 0.65, 1.0, 0.77, c)
    for k in range(7):
        u = 0.02 + k * 0.155
        p.poly([(u, 0.15), (u + 0.03, 0.0), (u + 0.06, 0.15), (u + 0.06, 1.0), (u, 1.0)], c)


@painter("bridge")
def bridge(p: Pen, c: str) -> None:
    top = [(0.0, 0.2), (1.0, 0.2), (1.0, 1.0), (0.85, 1.0)]
    arch = p.oval_points(0.15, 0.5, 0.85, 1.5, 0, -180)
    p.shape([p.at(u, v) for u, v in top] + arch + [p.at(0.0, 1.0)], c)
    p.line([(0.0, 0.0), (1.0, 0.0)], None, 1.0)
    for u in (0.0, 0.25, 0.5, 0.75, 1.0):
        p.line([(u, 0.0), (u, 0.2)], None, 1.0)


@painter("ladder")
def ladder(p: Pen, c: str) -> None:
    p.rect(0.1, 0.0, 0.22, 1.0, c)
    p.rect(0.78, 0.0, 0.9, 1.0, c)
    for k in range(6):
        v = 0.08 + k * 0.16
        p.rect(0.22, v, 0.78, v + 0.05, c)


@painter("road")
def road(p: Pen, c: str) -> None:
    p.rect(0.0, 0.0, 1.0, 1.0, c)
    for k in range(6):
        u = 0.04 + k * 0.17
        p.rect(u, 0.42, u + 0.09, 0.58, "white")


@painter("river")
def river(p: Pen, c: str) -> None:
    top = [(k / 10, 0.2 + 0.15 * math.sin(k * 1.3)) for k in range(11)]
    bottom = [(k / 10, 0.8 + 0.15 * math.sin(k * 1.3 + 1)) for k in range(10, -1, -1)]
    p.poly(top + bottom, c)


@painter("pond")
def pond(p: Pen, c: str) -> None:
    p.oval(0.0, 0.0, 1.0, 1.0, c)
    p.line([(0.3, 0.4), (0.45, 0.35)], "white", 0.8)


@painter("rock")
def rock(p: Pen, c: str) -> None:
    p.poly([(0.0, 1.0), (0.1, 0.4), (0.35, 0.1), (0.7, 0.05), (0.95, 0.45), (1.0, 1.0)], c)


# -- plain shapes -------------------------------------------------------------------------------


@painter("circle")
def circle(p: Pen, c: str) -> None:
    p.oval(0.0, 0.0, 1.0, 1.0, c)


@painter("oval")
def oval(p: Pen, c: str) -> None:
    p.oval(0.0, 0.0, 1.0, 1.0, c)


@painter("square", "rectangle")
def square(p: Pen, c: str) -> None:
    p.rect(0.0, 0.0, 1.0, 1.0, c)


@painter("triangle")
def triangle(p: Pen, c: str) -> None:
    p.poly([(0.5, 0.0), (1.0, 1.0), (0.0, 1.0)], c)


@painter("diamond")
def diamond(p: Pen, c: str) -> None:
    p.poly([(0.5, 0.0), (1.0, 0.5), (0.5, 1.0), (0.0, 0.5)], c)


@painter("line")
def line(p: Pen, c: str) -> None:
    p.rect(0.0, 0.0, 1.0, 1.0, c)


@painter("cross")
def cross(p: Pen, c: str) -> None:
    a, b = 0.35, 0.65
    p.poly(
        [
            (a, 0),
            (b, 0),
            (b, a),
            (1, a),
            (1, b),
            (b, b),
            (b, 1),
            (a, 1),
            (a, b),
            (0, b),
            (0, a),
            (a, a),
        ],
        c,
    )


@painter("blob")
def blob(p: Pen, c: str) -> None:
    bumps = [p.rng.uniform(0.3, 0.5) for _ in range(7)]
    pts = []
    for k in range(28):
        t = 2 * math.pi * k / 28
        r = sum(bumps[j] * (1 + math.cos(t - 2 * math.pi * j / 7)) for j in range(7)) / 7
        pts.append((0.5 + min(0.5, r) * math.cos(t), 0.5 + min(0.5, r) * math.sin(t)))
    p.poly(pts, c)


@painter("spiral")
def spiral(p: Pen, c: str) -> None:
    pts = []
    for k in range(60):
        t = k * 0.3
        r = 0.48 * k / 60
        pts.append((0.5 + r * math.cos(t), 0.5 + r * math.sin(t)))
    p.line(pts, c, 2.0)


@painter("zigzag")
def zigzag(p: Pen, c: str) -> None:
    p.line([(k / 8, 0.1 if k % 2 else 0.9) for k in range(9)], c, 2.5)
