"""The doodle guesser: pixels → what a child might say about them, in one short sentence.

It names shapes with words the drawer knows (circle, square, triangle, house, tree, sun...),
colours from the shared palette, sizes, places and the background, so its caption can be
drawn again, with the loss that makes the chain drift.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import re
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from telestrations.providers.base import Caption, Picture, ProviderError
from telestrations.providers.doodle.vision import INK_NAMES, Looked, Region, look

DEFAULT_WORDS = 14
"""Word limit when the prompt gives none."""
_NUMBERS = {
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
}
_LIMIT = re.compile(
    r"(?:up to|at most|max(?:imum)?(?: of)?|no more than|fewer than|less than|under|within|in)"
    r"\s+(\d+|" + "|".join(_NUMBERS) + r")\s+words",
    re.IGNORECASE,
)
_COUNT_WORDS: dict[int, tuple[str, ...]] = {
    2: ("two", "two", "a pair of"),
    3: ("three", "three", "several", "a few"),
    4: ("four", "four", "several"),
    5: ("five", "many"),
}
"""How a group is counted: exactly, mostly, or roughly, as people do at a glance."""
SYNONYMS: dict[str, tuple[str, ...]] = {
    "circle": ("circle", "disc", "ring", "ball"),
    "square": ("square", "box", "block"),
    "rectangle": ("rectangle", "brick", "bar"),
    "triangle": ("triangle", "pyramid"),
    "diamond": ("diamond", "gem", "kite"),
    "house": ("house", "home", "cottage", "hut"),
    "tree": ("tree", "bush"),
    "blob": ("blob", "shape", "splash", "thing"),
    "zigzag": ("zigzag", "squiggle", "scribble"),
    "line": ("line", "stripe", "stick"),
    "oval": ("oval", "egg"),
    "dot": ("dot", "spot"),
    "next to": ("next to", "beside", "near", "by"),
    "above": ("above", "over"),
    "below": ("below", "under", "beneath"),
    "in the centre": ("in the centre", "in the middle"),
    "on grass": ("on grass", "in a field", "in a meadow"),
    "by the sea": ("by the sea", "at the beach", "on the ocean"),
    "in the snow": ("in the snow", "in winter"),
    "in the city": ("in the city", "in a town"),
    "in the desert": ("in the desert", "on sand"),
    "in a forest": ("in a forest", "in the woods"),
}
"""Ways to say the same thing, all in the drawer's lexicon. Which one is used is picked by a
hash of the pixels, as a sampling model would vary its wording: it keeps the chain moving
(a new wording is a new text, so a new doodle) without losing what was seen."""

SIZE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "small": ("small", "little"),
    "big": ("big", "large"),
    "huge": ("huge", "giant"),
}
"""Size words that mean the same to the drawer, picked like :data:`SYNONYMS`."""


def word_limit(*texts: str) -> int:
    """The "up to N words" the prompt asks for (first found), else :data:`DEFAULT_WORDS`."""
    for text in texts:
        m = _LIMIT.search(text or "")
        if m:
            raw = m.group(1).lower()
            n = _NUMBERS[raw] if raw in _NUMBERS else int(raw)
            return max(3, min(n, 60))
    return DEFAULT_WORDS


# -- naming what is seen ------------------------------------------------------------------------


def colour_of(region: Region, line_art: bool) -> str | None:
    """The region's colour; ``None`` for an outline in a line drawing; hatching reads black."""
    counts = region.colours
    total = sum(counts.values()) or 1
    ink = sum(counts[n] for n in INK_NAMES)
    if line_art:
        return "black" if ink > 0.5 * total else None
    paint = [(n, c) for n, c in counts.most_common() if n not in INK_NAMES]
    if ink > 0.6 * total or not paint:
        return "black" if counts["black"] >= counts["gray"] else "gray"
    return paint[0][0]


def shape_of(r: Region) -> str:
    """A drawable word for the region's outline, from fill ratio, aspect and width profile."""
    if r.w <= 2 and r.h <= 2:
        return "dot"
    aspect = r.w / r.h
    if aspect > 3.5 or aspect < 1 / 3.5:
        return "line"
    fill = r.fill
    top, upper, mid, lower, bottom = (r.profile(t) for t in (0.08, 0.3, 0.5, 0.72, 0.92))
    if fill > 0.9:
        return "square" if 0.8 < aspect < 1.25 else "rectangle"
    if top < 0.6 and min(mid, lower, bottom) > 0.7 and abs(lower - bottom) < 0.15 and fill > 0.6:
        return "house"
    if upper > 0.6 and lower < 0.6 and bottom < min(0.3, mid / 2) and fill > 0.35 and r.h > 6:
        return "tree"
    if 0.65 <= fill <= 0.9 and top < 0.8 and bottom < 0.8 and mid > 0.85:
        return "circle" if 0.8 < aspect < 1.25 else "oval"
    if 0.35 <= fill <= 0.68:
        if top < 0.4 and bottom > 0.7 and mid < bottom:
            return "triangle"
        if top < 0.4 and bottom < 0.4 and mid > 0.75:
            return "diamond"
    if fill < 0.3:
        return "zigzag"
    return "blob"


def _interpret(shape: str, colour: str | None, r: Region, seen: Looked) -> str:
    """A guess at a thing, like a person would: a yellow circle up high is the sun."""
    high = r.cy < seen.height * 0.4
    flat = ("house", "line", "rectangle", "square", "triangle", "diamond", "tree", "zigzag")
    # Rays can make a sun's outline bumpy enough to pass for a tree top: up high, it is a sun.
    sunlike = shape not in flat or (shape == "tree" and 0.75 < r.w / r.h < 1.33)
    if sunlike and colour in ("yellow", "orange") and high:
        return "sun"
    if shape in ("blob", "oval") and colour in ("white", "gray") and high and r.w > r.h * 1.3:
        return "cloud"
    return shape


def _readings(shape: str, r: Region, seen: Looked) -> tuple[str, ...]:
    """Things a plain shape might be, given where it is (a child's guesses)."""
    high = r.cy < seen.height * 0.35
    low = r.cy > seen.height * 0.6
    aspect = r.w / r.h
    if shape in ("circle", "oval") and high:
        return ("sun", "moon", "balloon")
    if shape == "circle" and low:
        return ("ball", "wheel", "apple")
    if shape == "triangle":
        return ("mountain", "tent") if low or aspect > 1.2 else ("tent", "hat")
    if shape == "rectangle":
        return ("tower", "door") if aspect < 1 else ("car", "bus", "table")
    if shape == "square":
        return ("window", "cake", "robot")
    if shape == "blob":
        return ("cloud", "bush") if high else ("rock", "puddle", "cat")
    if shape == "zigzag":
        return ("snake", "lightning")
    if shape == "oval":
        return ("fish", "egg", "pond")
    return ()


def place_of(r: Region, seen: Looked) -> str:
    """Where the region sits: "at the top left" … "in the centre" … "at the bottom right"."""
    fx, fy = (r.cx + 0.5) / seen.width, (r.cy + 0.5) / seen.height
    col = "left" if fx < 0.36 else "right" if fx > 0.64 else ""
    row = "top" if fy < 0.36 else "bottom" if fy > 0.64 else ""
    if row and col:
        return f"at the {row} {col}"
    if row:
        return f"at the {row}"
    if col:
        return f"on the {col}"
    return "in the centre"


def relation(a: Region, b: Region) -> str:
    """How ``a`` stands to ``b``: above, below, left of, right of, or next to."""
    dx, dy = b.cx - a.cx, b.cy - a.cy
    if abs(dy) > abs(dx) * 0.8:
        return "above" if dy > 0 else "below"
    return "next to"


def setting_of(seen: Looked) -> str:
    """The background as a place: a sky over grass is a field, a dark sky is night."""
    bg = [b for b in seen.background if b[1] > 0.05]
    if not bg:
        return ""
    night = seen.brightness < 70
    if len(bg) >= 2:
        upper, lower = sorted(bg[:2], key=lambda b: b[2])
        if lower[2] - upper[2] > 0.2:
            ground = {
                "green": "on grass",
                "dark green": "in a forest",
                "blue": "by the sea",
                "turquoise": "by the sea",
                "white": "in the snow",
                "beige": "in the desert",
                "yellow": "in the desert",
                "gray": "in the city",
                "brown": "on brown ground",
            }.get(lower[0], f"on {lower[0]} ground")
            sky = upper[0]
            if sky in ("dark blue", "black") or night:
                return f"{ground} at night"
            if sky in ("orange", "pink", "red"):
                return f"{ground} at sunset"
            return ground
    name = bg[0][0]
    if name in ("dark blue", "black") and len(seen.figures) > 0 and night:
        return "at night"
    if name == "white":
        return "" if seen.line_art else "on white paper"
    return f"on a {name} background"


# -- the sentence -------------------------------------------------------------------------------


@dataclass
class _Part:
    """A piece of the sentence and how much it matters (lower goes first when words run out)."""

    key: str
    text: str
    priority: int


def _article(words: str) -> str:
    return ("an " if words[:1] in "aeiou" else "a ") + words


def _noun(shape: str, count: int) -> str:
    if count == 1:
        return shape
    irregular = {
        "cross": "crosses",
        "bush": "bushes",
        "box": "boxes",
        "splash": "splashes",
        "fish": "fish",
        "lightning": "lightning",
    }
    return irregular.get(shape, shape + "s")


@dataclass
class _Thing:
    region: Region
    colour: str | None
    shape: str
    """The word said for it (a synonym or a guess at what the shape is)."""
    size: str
    seen_as: str = ""
    """The shape or thing recognised, before any wording choice."""
    count: int = 1
    counted: str = ""
    """The words for :attr:`count` ("three", "several"...), when more than one."""

    def phrase(self, with_size: bool, with_colour: bool) -> str:
        words = [self.size if with_size else "", self.colour or "" if with_colour else ""]
        words.append(_noun(self.shape, self.count))
        text = " ".join(w for w in words if w)
        if self.count == 1:
            return _article(text)
        return (self.counted or _COUNT_WORDS.get(self.count, ("many",))[0]) + " " + text


def _things(seen: Looked) -> list[_Thing]:
    out: list[_Thing] = []
    for r in seen.figures[:8]:
        colour = colour_of(r, seen.line_art)
        shape = _interpret(shape_of(r), colour, r, seen)
        share = r.area / seen.cells
        size = (
            "tiny"
            if share < 0.01
            else "small"
            if share < 0.04
            else ""
            if share < 0.12
            else "big"
            if share < 0.3
            else "huge"
        )
        out.append(_Thing(r, colour, shape, size, shape))
    # Several alike (same shape and colour) are counted rather than listed.
    grouped: list[_Thing] = []
    for t in out:
        twin = next((g for g in grouped if (g.shape, g.colour) == (t.shape, t.colour)), None)
        if twin is not None and t.region.area > twin.region.area * 0.3:
            twin.count += 1
        elif twin is None:
            grouped.append(t)
    return grouped


def _pick(candidates: list[_Thing], rng: random.Random) -> _Thing:
    """One of ``candidates``, the bigger the likelier: what catches the eye first."""
    return rng.choices(candidates, weights=[t.region.area**2 for t in candidates])[0]


def caption_for(
    seen: Looked, limit: int, rng: random.Random | None = None
) -> tuple[str, dict[str, object]]:
    """One sentence of at most ``limit`` words, and what it was built from.

    ``rng`` (seeded from the pixels) plays the part of a sampling model's temperature: it
    picks among equally good wordings, which of the lesser figures are mentioned and which
    details give way when words run out. The biggest figure leads, unless another is nearly
    as big; the others are mentioned with odds that grow with their size.
    """
    rng = rng or random.Random(0)

    def say(phrase: str) -> str:
        for key, options in SYNONYMS.items():
            if phrase == key or phrase.startswith(key + " "):
                return rng.choice(options) + phrase[len(key) :]
        return phrase

    things = _things(seen)
    for t in things:
        readings = _readings(t.shape, t.region, seen)
        if readings and rng.random() < 0.35:
            t.shape = rng.choice(readings)
        else:
            t.shape = say(t.shape)
        t.size = rng.choice(SIZE_SYNONYMS.get(t.size, (t.size,)))
        if t.count > 1:
            t.counted = rng.choice(_COUNT_WORDS.get(t.count, ("many",)))
    if len(things) > 1 and things[1].region.area >= 0.7 * things[0].region.area:
        if rng.random() < 0.5:
            things[0], things[1] = things[1], things[0]
    # The lead; then the next, the bigger the likelier; then any one of the others.
    rest = things[1:6]
    mentioned = things[:1]
    if rest:
        mentioned.append(_pick(rest, rng))
        rest.remove(mentioned[-1])
    if rest:
        mentioned.append(rng.choice(rest))
    things = mentioned + [t for t in things if t not in mentioned]
    setting = say(setting_of(seen))
    parts: list[_Part] = []
    if not things:
        bg = seen.background[0][0] if seen.background else "white"
        if setting and len(seen.background) > 1:
            text = f"an empty landscape {setting}"
        else:
            text = f"an empty {bg} picture"
        parts.append(_Part("subject", text, 100))
    else:
        first = things[0]
        parts.append(_Part("size1", first.size, 40))
        parts.append(_Part("colour1", first.colour or "", 80))
        parts.append(_Part("subject", "", 100))
        if first.count == 1:
            parts.append(_Part("place1", say(place_of(first.region, seen)), 50))
        if len(mentioned) > 1:
            second = things[1]
            parts.append(_Part("rel", say(relation(first.region, second.region)), 70))
            parts.append(_Part("size2", second.size, 30))
            parts.append(_Part("colour2", second.colour or "", 60))
            parts.append(_Part("object", "", 70))
        if len(mentioned) > 2:
            parts.append(_Part("third", rng.choice(("and", "with")), rng.choice((45, 58, 66, 75))))
            parts.append(_Part("colour3", things[2].colour or "", 35))
            parts.append(_Part("size3", things[2].size, 20))
        if setting:
            parts.append(_Part("setting", setting, 55))
    texts = {p.key: p.text for p in parts}

    def build(keep: set[str]) -> str:
        if not things:
            return parts[0].text
        first = things[0]
        words = [first.phrase("size1" in keep, "colour1" in keep)]
        if "place1" in keep:
            words.append(texts["place1"])
        if "object" in keep:
            words.append(texts["rel"])
            words.append(things[1].phrase("size2" in keep, "colour2" in keep))
        if "third" in keep:
            words.append(texts["third"])
            words.append(things[2].phrase("size3" in keep, "colour3" in keep))
        if "setting" in keep:
            words.append(setting)
        return " ".join(words)

    keep = {p.key for p in parts if p.text or p.key in ("subject", "object")}
    text = build(keep)
    dropped: list[_Part] = []
    for part in sorted(parts, key=lambda p: p.priority):
        if len(text.split()) <= limit:
            break
        if part.key in ("subject",) or part.key not in keep:
            continue
        keep.discard(part.key)
        dropped.append(part)
        text = build(keep)
    # Words freed by a long part may leave room for a shorter one dropped before it.
    for part in sorted(dropped, key=lambda p: -p.priority):
        if len(build(keep | {part.key}).split()) <= limit:
            keep.add(part.key)
            text = build(keep)
    words = text.split()[:limit]
    sentence = " ".join(words)
    sentence = sentence[:1].upper() + sentence[1:]
    extras: dict[str, object] = {
        "colours": [n for n, _ in seen.names.most_common(4)],
        "background": [b[0] for b in seen.background],
        "brightness": round(seen.brightness),
        "regions": [
            {
                "shape": t.seen_as,
                "word": t.shape,
                "colour": t.colour,
                "size": t.size,
                "count": t.count,
                "place": place_of(t.region, seen),
            }
            for t in things[:4]
        ],
        "word_limit": limit,
    }
    return sentence, extras


def describe_bytes(
    data: bytes, system: str = "", prompt: str = ""
) -> tuple[str, dict[str, object]]:
    """The whole guess, synchronously (run it in a thread)."""
    try:
        seen = look(data)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ProviderError(
            "bad_request", f"the doodle guesser cannot read this image ({type(exc).__name__})"
        ) from exc
    grid_hash = hashlib.sha256(seen.fingerprint).digest()
    rng = random.Random(int.from_bytes(grid_hash[:8], "big"))
    return caption_for(seen, word_limit(prompt, system), rng)


class DoodleGuesser:
    """The offline guesser: a :class:`~telestrations.providers.base.Guesser`."""

    async def describe(self, picture: Picture, system: str, prompt: str) -> Caption:
        text, extras = await asyncio.to_thread(describe_bytes, picture.data, system, prompt)
        return Caption(text=text, extras=extras, cost=0.0)
