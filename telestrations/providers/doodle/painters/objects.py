"""Painters for everyday objects and plain shapes."""

from __future__ import annotations

import math

from telestrations.providers.doodle.painters.registry import painter
from telestrations.providers.doodle.pen import Pen

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
