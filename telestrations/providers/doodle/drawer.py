"""The doodle drawer: text → scene → layout → a Pillow doodle → PNG bytes.

Deterministic by construction: every random choice comes from a generator seeded with a
SHA-256 of the text, and the PNG carries no timestamp, so the same text gives the same bytes.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import math
import random
from dataclasses import dataclass

from PIL import Image

from telestrations.providers.base import Picture
from telestrations.providers.doodle.details import embellish
from telestrations.providers.doodle.lexicon import (
    SHAPES,
    THINGS,
    Scene,
    Style,
    Thing,
    parse_scene,
    split_style,
)
from telestrations.providers.doodle.painters import PAINTERS
from telestrations.providers.doodle.pen import INK, Pen, rgb

HORIZON = 0.62
"""Where the ground starts, as a fraction of the height."""
MAX_ITEMS = 14
"""The most things painted in one picture (copies included), details not counted."""
MIN_BOX = 0.006
"""The smallest box a thing gets, as a share of the picture (big enough to be seen)."""
SPOTS = 16
"""Places tried for each detail; the one overlapping least with what is drawn wins."""


@dataclass
class Item:
    """One copy of a thing with its box on the canvas."""

    index: int
    kind: str
    colour: str
    x: float
    y: float
    w: float
    h: float
    zone: str

    @property
    def box(self) -> tuple[float, float, float, float]:
        return (self.x - self.w / 2, self.y - self.h / 2, self.x + self.w / 2, self.y + self.h / 2)


def seed_of(text: str) -> int:
    """A stable seed (unlike ``hash()``, which is salted per process)."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def _is_landscape(scene: Scene) -> bool:
    if scene.background and not scene.setting:
        return False
    if scene.setting or scene.time or scene.sky or scene.ground:
        return True
    return any(THINGS[t.kind].zone != "free" and t.kind not in SHAPES for t in scene.things)


# -- layout -------------------------------------------------------------------------------------


def layout(
    scene: Scene,
    width: int,
    height: int,
    rng: random.Random,
    details: list[Thing] | None = None,
) -> list[Item]:
    """Boxes for every copy of every thing: zones, explicit places, then relations; then
    the doodler's ``details``, each where it has the most room."""
    W, H = float(width), float(height)
    landscape = _is_landscape(scene)
    sea = scene.setting in ("sea", "underwater")
    groups: dict[str, list[Item]] = {"sky": [], "ground": [], "free": [], "water": []}
    items: list[Item] = []
    for idx, thing in enumerate(scene.things):
        spec = THINGS[thing.kind]
        zone = spec.zone
        if zone == "water":
            zone = "water" if sea else ("ground" if thing.kind != "fish" else "free")
        if not landscape and zone in ("sky", "ground"):
            zone = "free"
        if "top" in thing.position and zone == "ground":
            zone = "sky" if landscape else zone
        n = thing.count
        wobble = rng.uniform(0.8, 1.25)  # no two doodles of a thing are the same size
        shrink = 1.0 if n == 1 else (0.85 if n < 4 else 0.65)
        h = spec.size * thing.scale * shrink * wobble * H
        # Never so small that it is a speck: a doodler keeps even a tiny thing visible.
        h = max(h, math.sqrt(MIN_BOX / spec.aspect) * H)
        w = h * spec.aspect
        limit = 0.92 * W / (1 if n == 1 else min(n, 3))
        if w > limit:
            w, h = limit, h * limit / w
        if h > 0.9 * H:
            w, h = w * 0.9 * H / h, 0.9 * H
        colour = thing.colour or spec.colour
        for _ in range(n):
            if len(items) >= MAX_ITEMS:
                break
            item = Item(idx, thing.kind, colour, 0.0, 0.0, w, h, zone)
            items.append(item)
            groups[zone].append(item)
    _spread(groups, scene, W, H, landscape, rng)
    for rel in scene.relations:
        _relate(items, rel.a, rel.rel, rel.b, W, H)
    for it in items:
        it.x = min(max(it.x, it.w / 2 + 0.02 * W), W - it.w / 2 - 0.02 * W)
        it.y = min(max(it.y, it.h / 2 + 0.02 * H), H - it.h / 2 - 0.02 * H)
    for detail in details or ():
        items.append(_place_detail(detail, items, W, H, landscape, sea, rng))
    order = {"sky": 0, "free": 1, "water": 2, "ground": 3}
    items.sort(key=lambda it: (order[it.zone], it.y + it.h / 2))
    return items


def _spread(
    groups: dict[str, list[Item]],
    scene: Scene,
    W: float,
    H: float,
    landscape: bool,
    rng: random.Random,
) -> None:
    """Spread each zone's items across the width; explicit places override the spread."""
    horizon = HORIZON * H if landscape else H
    for zone, members in groups.items():
        free = [it for it in members if not _placed_x(scene.things[it.index].position)]
        slots = list(range(len(free)))
        rng.shuffle(slots)
        for k, it in zip(slots, free, strict=True):
            slot = (k + 0.5) / len(free)
            it.x = W * (0.08 + 0.84 * slot + rng.uniform(-0.06, 0.06))
        for it in members:
            pos = scene.things[it.index].position
            if "left" in pos:
                it.x = W * rng.uniform(0.18, 0.26)
            elif "right" in pos:
                it.x = W * rng.uniform(0.74, 0.82)
            elif "centre" in pos and not ({"top", "bottom"} & pos):
                it.x = W * 0.5
            if zone == "sky":
                it.y = H * rng.uniform(0.14, 0.26) if landscape else H * 0.25
            elif zone == "ground":
                depth = rng.uniform(0.06, 0.3) * (H - horizon)
                it.y = horizon + depth - it.h / 2 + (0.04 * H if it.h < 0.15 * H else 0)
            elif zone == "water":
                if it.kind in ("boat", "duck"):
                    it.y = horizon - it.h * 0.3 + rng.uniform(0, 0.05) * H
                else:
                    it.y = rng.uniform(horizon + 0.1 * (H - horizon), H * 0.9)
            else:
                it.y = H * (0.4 if landscape else 0.5) + rng.uniform(-0.05, 0.05) * H
            if "top" in pos:
                it.y = min(it.y, H * 0.22)
            elif "bottom" in pos:
                it.y = H * 0.96 - it.h / 2
            if "centre" in pos and not ({"left", "right"} & pos) and zone == "free":
                it.y = H * 0.5


def _place_detail(
    thing: Thing,
    items: list[Item],
    W: float,
    H: float,
    landscape: bool,
    sea: bool,
    rng: random.Random,
) -> Item:
    """A detail goes where it overlaps least with what is already drawn, in its zone, so it
    reads as a thing of its own."""
    spec = THINGS[thing.kind]
    h = spec.size * thing.scale * H
    w = h * spec.aspect
    if w > 0.5 * W:
        w, h = 0.5 * W, h * 0.5 * W / w
    zone = spec.zone
    if zone == "water":
        zone = "water" if sea else ("ground" if thing.kind != "fish" else "free")
    if not landscape and zone in ("sky", "ground"):
        zone = "free"
    horizon = HORIZON * H
    m = 0.03 * H
    if zone == "sky":
        band = (m + h / 2, horizon - h / 2 - m)
    elif zone == "ground":
        band = (horizon + 0.1 * (H - horizon) - h / 2, H - m - h / 2)
    elif zone == "water":
        band = (horizon + 0.1 * (H - horizon) + h / 2, H - m - h / 2)
    else:
        band = (m + h / 2, H - m - h / 2)
    lo, hi = band if band[0] <= band[1] else (band[0], band[0])
    pad = 0.03 * W

    def clash(spot: tuple[float, float]) -> float:
        """Overlap with everything drawn so far, each box widened by ``pad``."""
        x, y = spot
        return sum(
            max(0.0, min(x + w / 2 + pad, b[2]) - max(x - w / 2 - pad, b[0]))
            * max(0.0, min(y + h / 2 + pad, b[3]) - max(y - h / 2 - pad, b[1]))
            for b in (it.box for it in items)
        )

    spots = [(rng.uniform(pad + w / 2, W - pad - w / 2), rng.uniform(lo, hi)) for _ in range(SPOTS)]
    x, y = min(spots, key=clash)
    return Item(-1, thing.kind, thing.colour or spec.colour, x, y, w, h, zone)


def _placed_x(pos: set[str]) -> bool:
    return bool({"left", "right"} & pos) or pos == {"centre"}


def _relate(items: list[Item], a: int, rel: str, b: int, W: float, H: float) -> None:
    """Move thing ``a``'s copies (or ``b``'s) so that the relation holds."""
    mine = [it for it in items if it.index == a]
    other = [it for it in items if it.index == b]
    if not mine or not other or a == b:
        return
    A, B = mine[0], other[0]
    gap = 0.03 * H
    dx = dy = 0.0
    if rel in ("below", "above"):
        top, bottom = (B, A) if rel == "below" else (A, B)
        # The upper thing moves over the lower one; then push apart vertically.
        if top is B:
            for it in other:
                it.x += A.x - B.x
        else:
            dx = B.x - A.x
        need = (top.y + top.h / 2 + gap) - (bottom.y - bottom.h / 2)
        if need > 0:
            if top is B:
                for it in other:
                    it.y -= need
            else:
                dy = -need
    elif rel == "on":
        dx = B.x - A.x
        dy = (B.y - B.h / 2 + A.h * 0.1) - (A.y + A.h / 2)
    elif rel == "in":
        for it in mine:
            it.w, it.h = it.w * 0.5, it.h * 0.5
        dx, dy = B.x - A.x, B.y - A.y
    elif rel in ("beside", "left of", "right of"):
        side = -1.0 if rel == "left of" else 1.0
        if rel == "beside" and B.x > W * 0.6:
            side = -1.0
        dx = B.x + side * (B.w / 2 + A.w / 2 + gap) - A.x
        if A.zone == B.zone:
            dy = (B.y + B.h / 2) - (A.y + A.h / 2)
    for it in mine:
        it.x += dx
        it.y += dy


# -- backgrounds --------------------------------------------------------------------------------


def _sky_and_ground(scene: Scene) -> tuple[str, str]:
    time, setting = scene.time, scene.setting
    sky = {"night": "dark blue", "sunset": "orange"}.get(time or "", "light blue")
    ground = {
        "sea": "blue",
        "snow": "white",
        "city": "gray",
        "desert": "beige",
        "forest": "dark green",
        "room": "brown",
    }.get(setting or "", "green")
    if setting == "snow" and time is None:
        sky = "light blue"
    if setting == "room":
        sky = "beige"
    if time == "night" and ground == "green":
        ground = "dark green"
    return scene.sky or sky, scene.ground or ground


def paint_background(pen: Pen, scene: Scene, landscape: bool, items: list[Item]) -> None:
    img, rng = pen.image, pen.rng
    W, H = img.size
    horizon = round(HORIZON * H)
    line = pen.mode == "line"
    if not line:
        if scene.background and not scene.setting:
            pen.draw.rectangle([0, 0, W, H], fill=rgb(scene.background))
            return
        if scene.setting == "space":
            pen.draw.rectangle([0, 0, W, H], fill=rgb("black"))
        elif scene.setting == "underwater":
            pen.draw.rectangle([0, 0, W, H], fill=rgb("blue"))
        elif landscape:
            sky, ground = _sky_and_ground(scene)
            pen.draw.rectangle([0, 0, W, horizon], fill=rgb(sky))
            if scene.time == "sunset" and not scene.sky:
                pen.draw.rectangle([0, int(horizon * 0.7), W, horizon], fill=rgb("pink"))
            pen.draw.rectangle([0, horizon, W, H], fill=rgb(ground))
        else:
            pen.draw.rectangle([0, 0, W, H], fill=rgb(scene.background or "white"))
    # Little marks that say where we are, in both modes.
    if scene.time == "night" or scene.setting == "space":
        for _ in range(14 if scene.setting == "space" else 9):
            x, y = rng.uniform(0.03, 0.97) * W, rng.uniform(0.03, 0.5) * H
            r = max(1.0, W / 220)
            pen.draw.ellipse([x - r, y - r, x + r, y + r], fill=INK if line else rgb("white"))
    if scene.setting == "snow":
        for _ in range(16):
            x, y = rng.uniform(0.03, 0.97) * W, rng.uniform(0.03, 0.97) * H
            r = max(1.0, W / 200)
            fill = INK if line else (235, 240, 250)
            pen.draw.ellipse([x - r, y - r, x + r, y + r], fill=fill)
    if scene.setting == "underwater":
        for _ in range(8):
            x, y = rng.uniform(0.05, 0.95) * W, rng.uniform(0.05, 0.95) * H
            r = W / 70
            pen.draw.ellipse([x - r, y - r, x + r, y + r], outline=INK if line else rgb("white"))
    if not landscape or scene.setting in ("space", "underwater"):
        return
    if scene.setting == "sea":
        for k in range(6):
            y = horizon + (k + 0.5) * (H - horizon) / 6
            for j in range(5):
                x = (j + (k % 2) * 0.5) * W / 5 + rng.uniform(-4, 4)
                box = [x, y - H / 60, x + W / 14, y + H / 60]
                pen.draw.arc(box, 200, 340, fill=INK if line else rgb("light blue"), width=pen.lw)
    if scene.setting in ("city", "forest") and not line:
        step = W / 7
        for k in range(8):
            x = k * step + rng.uniform(-step / 4, step / 4)
            if scene.setting == "city":
                top = horizon - rng.uniform(0.1, 0.25) * H
                pen.draw.rectangle([x, top, x + step * 0.7, horizon], fill=(110, 110, 120))
            else:
                top = horizon - rng.uniform(0.08, 0.16) * H
                tri = [(x, horizon), (x + step * 0.4, top), (x + step * 0.8, horizon)]
                pen.draw.polygon(tri, fill=rgb("dark green"))
    if line:
        # A broken horizon, only where no grounded thing stands, so things stay separate.
        busy = [
            (it.x - it.w / 2 - W * 0.04, it.x + it.w / 2 + W * 0.04)
            for it in items
            if it.zone in ("ground", "water")
        ]
        x = 0.0
        while x < W:
            x2 = x + W / 12
            if not any(a < x2 and x < b for a, b in busy) and scene.setting != "sea":
                y = horizon + rng.uniform(-3, 3)
                pen.draw.line([(x + W / 80, y), (x2 - W / 80, y)], fill=INK, width=pen.lw)
            x = x2


# -- the whole picture --------------------------------------------------------------------------


def _abstract(scene: Scene, rng: random.Random) -> None:
    """Nothing recognised: doodle a few shapes chosen by the text itself."""
    kinds = ["blob", "spiral", "zigzag", "circle", "triangle", "star", "heart", "cloud"]
    colours = ["red", "blue", "green", "yellow", "purple", "orange", "pink", "turquoise"]
    for _ in range(rng.randint(1, 3)):
        thing = Thing(rng.choice(kinds), "", rng.choice(colours), rng.uniform(0.7, 1.5))
        thing.position = {rng.choice(["left", "right", "top", "bottom", "centre"])}
        scene.things.append(thing)


def render(
    text: str, width: int = 512, height: int = 512, default_mode: str = "colour"
) -> tuple[bytes, str]:
    """Draw ``text``; return the PNG bytes and a short summary of what was understood."""
    style, scene_text = split_style(text, default_mode)
    scene = parse_scene(scene_text)
    summary = scene.summary()
    rng = random.Random(seed_of(text))
    if not scene.things and not scene.setting and not scene.time:
        _abstract(scene, rng)
        summary = "nothing recognised: an abstract doodle"
    landscape = _is_landscape(scene)
    details = embellish(scene, landscape, rng)
    return _paint(scene, details, style, landscape, width, height, rng), summary


def _paint(
    scene: Scene,
    details: list[Thing],
    style: Style,
    landscape: bool,
    width: int,
    height: int,
    rng: random.Random,
) -> bytes:
    image = Image.new("RGB", (width, height), "white")
    pen = Pen(image, style.mode, rng)
    items = layout(scene, width, height, rng, details)
    paint_background(pen, scene, landscape, items)
    for it in items:
        pen.place(*it.box)
        PAINTERS[it.kind](pen, it.colour)
    out = image.convert("L") if style.mode == "line" else image
    buf = io.BytesIO()
    out.save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


class DoodleDrawer:
    """The offline drawer: a :class:`~telestrations.providers.base.Drawer`."""

    def __init__(self, width: int = 512, height: int = 512, default_mode: str = "colour") -> None:
        self.width = width
        self.height = height
        self.default_mode = default_mode

    async def draw(self, text: str) -> Picture:
        data, summary = await asyncio.to_thread(
            render, text, self.width, self.height, self.default_mode
        )
        return Picture(
            data=data,
            format="png",
            width=self.width,
            height=self.height,
            extras={"parsed": summary},
            cost=0.0,
        )
