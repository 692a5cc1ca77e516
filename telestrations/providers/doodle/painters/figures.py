"""Painters for vehicles, people and animals: the figures a doodle is about."""

from __future__ import annotations

import math

from telestrations.providers.doodle.painters.registry import painter
from telestrations.providers.doodle.pen import Pen

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
