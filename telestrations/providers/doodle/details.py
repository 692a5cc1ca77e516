"""A doodler's flourishes: small details nobody asked for, picked from the text's own seed.

Someone drawing "a house" adds a cloud, a bird or a flower without thinking; the next
guesser may well mention them, and that is most of what keeps a chain from settling into
the same caption forever. The details suit the place (a cactus in the desert, a star at
night, a lamp in a room) and are sized to be seen as a small thing of their own. Every
choice is made with the drawer's generator, seeded from the text, so the same text still
gives the same picture.
"""

from __future__ import annotations

import math
import random

from telestrations.providers.doodle.lexicon import THINGS, Scene, Thing

DETAILS: dict[str, tuple[str, ...]] = {
    "field": (
        "cloud",
        "bird",
        "flower",
        "tree",
        "butterfly",
        "rock",
        "fence",
        "sun",
        "mushroom",
        "kite",
        "balloon",
        "rabbit",
        "pond",
        "bee",
    ),
    "night": ("moon", "star", "cloud", "tree", "rock", "fence", "lamp", "ghost", "cat"),
    "sea": ("bird", "cloud", "boat", "fish", "sun", "duck", "rock"),
    "snow": ("snowman", "pine", "cloud", "bird", "rabbit", "star", "rock"),
    "city": ("car", "lamp", "cloud", "bird", "bus", "bicycle", "tower", "dog"),
    "forest": ("mushroom", "rabbit", "bird", "flower", "rock", "tree", "butterfly", "cloud"),
    "desert": ("cactus", "sun", "rock", "snake", "cloud", "palm"),
    "space": ("star", "planet", "rocket", "ufo", "moon"),
    "underwater": ("fish", "rock", "star", "fish"),
    "room": ("lamp", "clock", "cup", "book", "chair", "ball", "cat"),
    "paper": (
        "star",
        "heart",
        "circle",
        "triangle",
        "square",
        "diamond",
        "blob",
        "cloud",
        "ball",
        "flower",
        "bird",
        "apple",
        "zigzag",
        "spiral",
    ),
}
"""What a doodler adds, by where the picture is set."""

PAPER_COLOURS = ("red", "blue", "green", "yellow", "purple", "orange", "pink", "turquoise")
"""Colours for a detail on a plain page (its own default colour otherwise)."""

AREA = (0.007, 0.02)
"""A detail's box as a share of the picture: big enough to be seen, small beside the subject."""


def place_of(scene: Scene, landscape: bool) -> str:
    """Which list of :data:`DETAILS` suits the scene."""
    if scene.setting in ("space", "underwater", "room", "sea", "snow", "city", "forest", "desert"):
        return scene.setting
    if scene.time == "night":
        return "night"
    return "field" if landscape else "paper"


def embellish(scene: Scene, landscape: bool, rng: random.Random) -> list[Thing]:
    """The details to add to ``scene``: none to two, fewer when it is already busy."""
    copies = sum(t.count for t in scene.things)
    if copies <= 1:
        n = rng.choice((1, 2))
    elif copies <= 4:
        n = rng.choice((1, 1, 2))
    elif copies <= 8:
        n = rng.choice((0, 1, 1))
    else:
        n = 0
    where = place_of(scene, landscape)
    present = {t.kind for t in scene.things}
    choices = [k for k in DETAILS[where] if k not in present]
    out: list[Thing] = []
    for _ in range(n):
        if not choices:
            break
        kind = rng.choice(choices)
        choices = [k for k in choices if k != kind]
        spec = THINGS[kind]
        # Scale so that the detail's box covers a share of the picture within AREA.
        height = math.sqrt(rng.uniform(*AREA) / spec.aspect)
        colour = rng.choice(PAPER_COLOURS) if where == "paper" else None
        out.append(Thing(kind, "", colour, height / spec.size))
    return out
