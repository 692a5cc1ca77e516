"""What the doodle drawer understands: words for things, colours, sizes, counts, places.

The tables here are shared by both halves of the offline pair: the drawer parses text with
them, and the guesser only ever says words that are in them, so a caption can be drawn again
(with loss: that is the game).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

RGB = tuple[int, int, int]

# -- colours ------------------------------------------------------------------------------------

COLOURS: dict[str, RGB] = {
    "red": (220, 45, 45),
    "orange": (245, 140, 30),
    "yellow": (250, 215, 40),
    "green": (70, 175, 70),
    "dark green": (30, 100, 45),
    "blue": (45, 95, 215),
    "light blue": (140, 200, 240),
    "dark blue": (25, 35, 95),
    "turquoise": (40, 185, 180),
    "purple": (140, 70, 190),
    "pink": (245, 145, 185),
    "brown": (140, 90, 45),
    "beige": (225, 205, 155),
    "black": (30, 30, 30),
    "gray": (150, 150, 150),
    "white": (255, 255, 255),
}
"""The canonical colours, by the name the guesser uses for them."""

COLOUR_WORDS: dict[str, str] = {
    **{name: name for name in COLOURS},
    "grey": "gray",
    "silver": "gray",
    "crimson": "red",
    "scarlet": "red",
    "golden": "yellow",
    "gold": "yellow",
    "lime": "green",
    "violet": "purple",
    "lilac": "purple",
    "magenta": "pink",
    "rose": "pink",
    "navy": "dark blue",
    "cyan": "turquoise",
    "teal": "turquoise",
    "aqua": "turquoise",
    "tan": "beige",
    "cream": "beige",
    "sandy": "beige",
    "ginger": "orange",
    "sky blue": "light blue",
    "light grey": "gray",
    "dark grey": "gray",
    "dark gray": "gray",
    "light gray": "gray",
    "dark red": "red",
    "light green": "green",
    "olive": "dark green",
}
"""Every colour word (including two-word ones) → canonical colour name."""

# -- things -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ThingSpec:
    """How a kind of thing is drawn by default: colour, where it lives, how big, how wide."""

    colour: str
    zone: str
    """``sky`` (floats high), ``ground`` (stands on the horizon), ``water`` or ``free``."""
    size: float
    """Height as a fraction of the canvas at "medium" size."""
    aspect: float = 1.0
    """Width / height."""
    words: tuple[str, ...] = ()
    """Synonyms (singular; plurals are derived)."""


THINGS: dict[str, ThingSpec] = {
    # in the sky
    "sun": ThingSpec("yellow", "sky", 0.24, 1.0, ("sunshine",)),
    "moon": ThingSpec("yellow", "sky", 0.2, 1.0, ("crescent",)),
    "star": ThingSpec("yellow", "sky", 0.14, 1.0, ()),
    "cloud": ThingSpec("white", "sky", 0.14, 2.0, ()),
    "rainbow": ThingSpec("red", "sky", 0.3, 2.0, ()),
    "bird": ThingSpec("blue", "sky", 0.09, 1.4, ("seagull", "gull", "crow", "parrot", "eagle")),
    "plane": ThingSpec("gray", "sky", 0.12, 2.2, ("airplane", "aeroplane", "jet", "aircraft")),
    "balloon": ThingSpec("red", "sky", 0.22, 0.6, ("hot air balloon",)),
    "kite": ThingSpec("orange", "sky", 0.2, 0.7, ()),
    "rocket": ThingSpec("white", "sky", 0.28, 0.45, ("spaceship", "spacecraft", "missile")),
    "planet": ThingSpec("orange", "sky", 0.2, 1.5, ("saturn", "earth", "globe", "world")),
    "ufo": ThingSpec("gray", "sky", 0.12, 2.0, ("flying saucer", "saucer", "alien")),
    "butterfly": ThingSpec("purple", "sky", 0.1, 1.3, ("moth",)),
    "bee": ThingSpec("yellow", "sky", 0.07, 1.3, ("wasp", "insect", "bug")),
    "ghost": ThingSpec("white", "sky", 0.22, 0.75, ("spirit", "spook")),
    "dragon": ThingSpec("green", "sky", 0.26, 1.6, ("dinosaur", "monster")),
    # on the ground
    "tree": ThingSpec("green", "ground", 0.38, 0.7, ("oak", "bush", "forest tree")),
    "pine": ThingSpec("dark green", "ground", 0.4, 0.55, ("fir", "christmas tree", "spruce")),
    "palm": ThingSpec("green", "ground", 0.4, 0.7, ("palm tree",)),
    "flower": ThingSpec("pink", "ground", 0.18, 0.5, ("daisy", "tulip", "sunflower", "plant")),
    "cactus": ThingSpec("green", "ground", 0.26, 0.6, ()),
    "mushroom": ThingSpec("red", "ground", 0.14, 1.0, ("toadstool",)),
    "house": ThingSpec("red", "ground", 0.34, 1.0, ("home", "cottage", "hut", "cabin", "barn")),
    "castle": ThingSpec("gray", "ground", 0.42, 1.1, ("palace", "fortress", "fort")),
    "tower": ThingSpec("gray", "ground", 0.5, 0.35, ("lighthouse", "skyscraper", "building")),
    "mountain": ThingSpec("brown", "ground", 0.45, 1.6, ("hill", "volcano", "peak")),
    "tent": ThingSpec("orange", "ground", 0.2, 1.3, ("tipi", "teepee")),
    "car": ThingSpec("red", "ground", 0.14, 2.0, ("auto", "taxi", "jeep", "vehicle")),
    "bus": ThingSpec("yellow", "ground", 0.17, 2.4, ("truck", "lorry", "van")),
    "train": ThingSpec("blue", "ground", 0.16, 3.0, ("locomotive", "tram")),
    "bicycle": ThingSpec("blue", "ground", 0.14, 1.6, ("bike", "cycle", "tricycle")),
    "boat": ThingSpec("brown", "water", 0.2, 1.4, ("ship", "sailboat", "yacht", "canoe")),
    "fish": ThingSpec("orange", "water", 0.08, 1.7, ("goldfish", "shark", "whale", "dolphin")),
    "person": ThingSpec(
        "blue",
        "ground",
        0.26,
        0.5,
        (
            "man",
            "woman",
            "boy",
            "girl",
            "child",
            "kid",
            "baby",
            "king",
            "queen",
            "lady",
            "guy",
            "friend",
            "people",
            "human",
            "figure",
            "player",
            "farmer",
            "teacher",
            "doctor",
            "student",
            "family",
            "someone",
            "prince",
            "princess",
            "wizard",
            "pirate",
        ),
    ),
    "robot": ThingSpec("gray", "ground", 0.26, 0.65, ("android", "machine", "cyborg")),
    "snowman": ThingSpec("white", "ground", 0.28, 0.6, ()),
    "cat": ThingSpec("orange", "ground", 0.14, 1.0, ("kitten", "kitty", "tiger", "lion")),
    "dog": ThingSpec("brown", "ground", 0.14, 1.3, ("puppy", "doggy", "wolf", "fox")),
    "rabbit": ThingSpec("white", "ground", 0.14, 0.8, ("bunny", "hare", "mouse")),
    "horse": ThingSpec("brown", "ground", 0.22, 1.4, ("pony", "donkey", "unicorn", "cow")),
    "elephant": ThingSpec("gray", "ground", 0.24, 1.4, ("mammoth", "hippo")),
    "snake": ThingSpec("green", "ground", 0.08, 2.5, ("worm", "serpent")),
    "duck": ThingSpec("yellow", "water", 0.1, 1.2, ("chicken", "hen", "goose", "swan")),
    "heart": ThingSpec("red", "free", 0.2, 1.1, ("love",)),
    "ball": ThingSpec("red", "ground", 0.1, 1.0, ("football", "soccer ball", "marble")),
    "umbrella": ThingSpec("purple", "ground", 0.26, 1.1, ("parasol",)),
    "apple": ThingSpec("red", "ground", 0.1, 1.0, ("fruit", "cherry", "tomato", "peach")),
    "cake": ThingSpec("pink", "ground", 0.16, 1.2, ("birthday cake", "pie", "cupcake")),
    "cup": ThingSpec("white", "ground", 0.12, 1.0, ("mug", "teacup", "coffee", "tea")),
    "hat": ThingSpec("black", "free", 0.12, 1.3, ("cap", "helmet")),
    "crown": ThingSpec("yellow", "free", 0.12, 1.3, ("tiara",)),
    "chair": ThingSpec("brown", "ground", 0.2, 0.7, ("stool", "throne", "seat")),
    "table": ThingSpec("brown", "ground", 0.18, 1.6, ("desk", "bench")),
    "lamp": ThingSpec("yellow", "ground", 0.26, 0.5, ("light", "lantern", "candle", "torch")),
    "book": ThingSpec("blue", "free", 0.12, 1.3, ("books", "notebook", "letter", "paper")),
    "clock": ThingSpec("white", "free", 0.16, 1.0, ("watch", "time")),
    "key": ThingSpec("yellow", "free", 0.08, 2.2, ()),
    "guitar": ThingSpec("brown", "free", 0.26, 0.45, ("violin", "music")),
    "phone": ThingSpec("black", "free", 0.14, 0.55, ("smartphone", "mobile", "computer")),
    "fence": ThingSpec("brown", "ground", 0.12, 3.0, ("wall", "gate")),
    "bridge": ThingSpec("brown", "ground", 0.16, 3.0, ("arch",)),
    "ladder": ThingSpec("brown", "ground", 0.34, 0.4, ("stairs", "steps")),
    "road": ThingSpec("gray", "ground", 0.08, 6.0, ("street", "path", "track", "lane")),
    "river": ThingSpec("blue", "ground", 0.1, 6.0, ("stream", "creek", "canal", "water")),
    "pond": ThingSpec("blue", "ground", 0.08, 3.0, ("lake", "puddle", "pool")),
    "rock": ThingSpec("gray", "ground", 0.1, 1.5, ("stone", "boulder", "pebble")),
    # plain shapes: what the guesser sees, so its captions can be drawn again
    "circle": ThingSpec(
        "red", "free", 0.22, 1.0, ("ring", "disc", "disk", "dot", "spot", "wheel", "coin")
    ),
    "oval": ThingSpec("blue", "free", 0.2, 1.5, ("ellipse", "egg")),
    "square": ThingSpec(
        "blue", "free", 0.22, 1.0, ("box", "cube", "block", "tile", "crate", "window")
    ),
    "rectangle": ThingSpec(
        "green", "free", 0.18, 1.8, ("bar", "brick", "panel", "screen", "door", "flag")
    ),
    "triangle": ThingSpec("yellow", "free", 0.24, 1.1, ("pyramid", "cone", "wedge")),
    "diamond": ThingSpec("turquoise", "free", 0.22, 0.8, ("gem", "jewel", "crystal")),
    "line": ThingSpec("black", "free", 0.04, 8.0, ("stripe", "stick", "pole", "band", "strip")),
    "blob": ThingSpec(
        "purple", "free", 0.2, 1.2, ("shape", "thing", "object", "something", "splash", "patch")
    ),
    "cross": ThingSpec("red", "free", 0.18, 1.0, ("plus", "x")),
    "spiral": ThingSpec("black", "free", 0.2, 1.0, ("swirl", "whirl", "snail")),
    "zigzag": ThingSpec("black", "free", 0.12, 2.5, ("wave", "squiggle", "scribble", "lightning")),
}
"""Every drawable kind: more than 40 objects plus plain shapes."""

SHAPES = frozenset(
    {"circle", "oval", "square", "rectangle", "triangle", "diamond", "line", "blob", "cross"}
)

THING_WORDS: dict[str, str] = {}
for _kind, _spec in THINGS.items():
    THING_WORDS[_kind] = _kind
    for _w in _spec.words:
        THING_WORDS.setdefault(_w, _kind)

IRREGULAR_PLURALS: dict[str, str] = {
    "people": "person",
    "men": "man",
    "women": "woman",
    "children": "child",
    "kids": "kid",
    "mice": "mouse",
    "geese": "goose",
    "fish": "fish",
    "fishes": "fish",
    "sheep": "horse",
    "cacti": "cactus",
    "puppies": "puppy",
    "butterflies": "butterfly",
    "bunnies": "bunny",
    "ladies": "lady",
    "babies": "baby",
    "cherries": "cherry",
    "skies": "sky",
    "leaves": "tree",
    "wolves": "wolf",
    "knives": "key",
    "boxes": "box",
    "buses": "bus",
    "foxes": "fox",
    "lorries": "lorry",
    "daisies": "daisy",
    "strawberries": "cherry",
    "berries": "cherry",
    "bodies": "person",
    "families": "family",
    "ponies": "pony",
}

# -- sizes, counts, places ----------------------------------------------------------------------

SIZES: dict[str, float] = {
    "tiny": 0.4,
    "mini": 0.45,
    "little": 0.6,
    "small": 0.65,
    "medium": 1.0,
    "big": 1.4,
    "large": 1.4,
    "tall": 1.4,
    "long": 1.3,
    "fat": 1.3,
    "huge": 1.9,
    "giant": 1.9,
    "enormous": 2.0,
    "massive": 2.0,
    "gigantic": 2.1,
}
"""Size words → scale against the thing's medium size."""

SIZE_NAMES: tuple[tuple[float, str], ...] = (
    (0.5, "tiny"),
    (0.8, "small"),
    (1.2, ""),
    (1.7, "big"),
    (99.0, "huge"),
)
"""Scale → the word the guesser uses (the empty word is "medium", left unsaid)."""

COUNTS: dict[str, int] = {
    "a": 1,
    "an": 1,
    "one": 1,
    "single": 1,
    "lone": 1,
    "two": 2,
    "pair": 2,
    "couple": 2,
    "both": 2,
    "twin": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 6,
    "eight": 6,
    "nine": 6,
    "ten": 6,
    "dozen": 6,
    "few": 3,
    "several": 3,
    "some": 2,
    "many": 6,
    "lots": 6,
    "multiple": 4,
    "numerous": 6,
    "countless": 6,
}
MAX_COUNT = 6
"""The most copies of one thing drawn (a dozen becomes six: it is a doodle)."""

POSITIONS: dict[str, str] = {
    "left": "left",
    "right": "right",
    "top": "top",
    "upper": "top",
    "up": "top",
    "high": "top",
    "bottom": "bottom",
    "lower": "bottom",
    "low": "bottom",
    "down": "bottom",
    "centre": "centre",
    "center": "centre",
    "middle": "centre",
    "central": "centre",
}

RELATIONS: dict[str, str] = {
    "under": "below",
    "below": "below",
    "beneath": "below",
    "underneath": "below",
    "above": "above",
    "over": "above",
    "atop": "on",
    "on top of": "on",
    "on": "on",
    "onto": "on",
    "riding": "on",
    "beside": "beside",
    "next to": "beside",
    "near": "beside",
    "by": "beside",
    "with": "",
    "and": "",
    "behind": "beside",
    "in front of": "beside",
    "left of": "left of",
    "right of": "right of",
    "in": "in",
    "inside": "in",
    "into": "in",
    "holding": "beside",
    "chasing": "beside",
    "towards": "beside",
}
"""Words that relate the thing before them to the thing after them."""

WEAK_RELATIONS = frozenset({"on", "in", "by", "with", "and", ""})
"""Relations a following place word ("on the left", "in the sea") cancels."""

TIMES: dict[str, str] = {
    "night": "night",
    "nighttime": "night",
    "midnight": "night",
    "dark": "night",
    "darkness": "night",
    "evening": "sunset",
    "sunset": "sunset",
    "dusk": "sunset",
    "sundown": "sunset",
    "twilight": "sunset",
    "sunrise": "sunset",
    "dawn": "sunset",
    "day": "day",
    "daytime": "day",
    "morning": "day",
    "noon": "day",
    "afternoon": "day",
    "sunny": "day",
}

SETTINGS: dict[str, str] = {
    "sea": "sea",
    "ocean": "sea",
    "beach": "sea",
    "shore": "sea",
    "coast": "sea",
    "waves": "sea",
    "harbour": "sea",
    "harbor": "sea",
    "island": "sea",
    "forest": "forest",
    "woods": "forest",
    "jungle": "forest",
    "snow": "snow",
    "snowy": "snow",
    "winter": "snow",
    "ice": "snow",
    "icy": "snow",
    "arctic": "snow",
    "city": "city",
    "town": "city",
    "village": "city",
    "downtown": "city",
    "urban": "city",
    "space": "space",
    "galaxy": "space",
    "universe": "space",
    "cosmos": "space",
    "desert": "desert",
    "sand": "desert",
    "dunes": "desert",
    "field": "field",
    "meadow": "field",
    "grass": "field",
    "garden": "field",
    "park": "field",
    "farm": "field",
    "countryside": "field",
    "underwater": "underwater",
    "room": "room",
    "indoors": "room",
    "kitchen": "room",
    "bedroom": "room",
    "house interior": "room",
    "inside a room": "room",
}
"""Setting words → the background painted behind the things."""

SURFACES: dict[str, str] = {
    "background": "background",
    "backdrop": "background",
    "paper": "background",
    "page": "background",
    "canvas": "background",
    "sky": "sky",
    "ground": "ground",
    "floor": "ground",
    "grass": "ground",
    "field": "ground",
}
"""Words a colour can be given to that are not things: "on a blue background", "a pink sky"."""

MULTIWORD: frozenset[str] = frozenset(
    w
    for w in (
        *COLOUR_WORDS,
        *THING_WORDS,
        *RELATIONS,
        *SETTINGS,
    )
    if " " in w
)
_MAX_PHRASE = max(len(w.split()) for w in MULTIWORD)

NUMBER_WORDS = {str(n): n for n in range(0, 100)}


# -- the style prefix ---------------------------------------------------------------------------

_STYLE_CUES = (
    "style",
    "illustrat",
    "draw",
    "paint",
    "sketch",
    "render",
    "doodle",
    "cartoon",
    "art",
    "monochrome",
    "black & white",
    "black and white",
    "pencil",
    "ink",
    "watercolo",
    "crayon",
    "pixel",
    "photo",
    "image",
    "picture",
)
_LINE_CUES = (
    "black & white",
    "black and white",
    "black-and-white",
    "b&w",
    "b/w",
    "monochrome",
    "pencil",
    "ink",
    "line",
    "outline",
    "sketch",
    "doodle",
    "grayscale",
    "greyscale",
    "charcoal",
)
_COLOUR_CUES = ("colour", "color", "vibrant", "vivid", "crayon", "watercolo", "paint")


@dataclass(frozen=True)
class Style:
    """How to paint: ``line`` (black lines on white) or ``colour`` (filled shapes)."""

    mode: str = "colour"
    text: str = ""
    """The style text as given (never drawn)."""


def split_style(text: str, default_mode: str = "colour") -> tuple[Style, str]:
    """Split the engine's ``"{style}: {prompt}"`` into a :class:`Style` and the scene text.

    Only a prefix before the first colon that reads like a style instruction is taken as one,
    so "Scene 2: a cat" stays scene text. Style words are never parsed as things to draw.
    """
    head, sep, tail = text.partition(":")
    low = head.lower()
    if not sep or not any(cue in low for cue in _STYLE_CUES) or len(head.split()) > 14:
        return Style(default_mode, ""), text
    if any(cue in low for cue in _COLOUR_CUES) and not any(
        c in low for c in ("black & white", "black and white", "monochrome", "b&w")
    ):
        mode = "colour"
    elif any(cue in low for cue in _LINE_CUES):
        mode = "line"
    else:
        mode = default_mode
    return Style(mode, head.strip()), tail


# -- the scene ----------------------------------------------------------------------------------


@dataclass
class Thing:
    """One thing the text asks for (possibly several copies of it)."""

    kind: str
    word: str
    colour: str | None = None
    scale: float = 1.0
    count: int = 1
    position: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Relation:
    """``things[a]`` is ``rel`` ``things[b]``: below, above, on, beside, left of, right of, in."""

    a: int
    rel: str
    b: int


@dataclass
class Scene:
    """Everything the drawer understood of a text."""

    things: list[Thing] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    time: str | None = None
    setting: str | None = None
    background: str | None = None
    sky: str | None = None
    ground: str | None = None
    unknown: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """A short, plain summary of what was understood (for ``Picture.extras``)."""
        parts = []
        for t in self.things:
            words = [str(t.count) if t.count > 1 else ""]
            size = size_word(t.scale)
            words += [size, t.colour or "", t.kind]
            if t.position:
                words.append("(" + " ".join(sorted(t.position)) + ")")
            parts.append(" ".join(w for w in words if w))
        for r in self.relations:
            parts.append(f"{self.things[r.a].kind} {r.rel} {self.things[r.b].kind}")
        for label, value in (
            ("time", self.time),
            ("setting", self.setting),
            ("background", self.background),
            ("sky", self.sky),
            ("ground", self.ground),
        ):
            if value:
                parts.append(f"{label}: {value}")
        return "; ".join(parts) if parts else "nothing recognised"


def size_word(scale: float) -> str:
    """The guesser's word for a scale (``""`` for medium)."""
    for limit, word in SIZE_NAMES:
        if scale < limit:
            return word
    return "huge"


_WORD = re.compile(r"[a-z]+|\d+")


def tokens(text: str) -> list[str]:
    """Lower-case words and numbers, with known multi-word phrases joined into one token."""
    raw = _WORD.findall(text.lower().replace("&", " and ").replace("-", " "))
    out: list[str] = []
    i = 0
    while i < len(raw):
        for n in range(_MAX_PHRASE, 1, -1):
            phrase = " ".join(raw[i : i + n])
            if phrase in MULTIWORD:
                out.append(phrase)
                i += n
                break
        else:
            out.append(raw[i])
            i += 1
    return out


def thing_word(word: str) -> tuple[str, bool] | None:
    """``(kind, plural)`` for a word naming a thing, handling regular and irregular plurals."""
    if word in IRREGULAR_PLURALS:
        base = IRREGULAR_PLURALS[word]
        kind = THING_WORDS.get(base) or THING_WORDS.get(word)
        return (kind, base != word or word in ("fish",)) if kind else None
    if word in THING_WORDS:
        return THING_WORDS[word], False
    for suffix, repl in (("ies", "y"), ("ves", "f"), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) > len(suffix) + 1:
            base = word[: -len(suffix)] + repl
            if base in THING_WORDS:
                return THING_WORDS[base], True
    return None


def parse_scene(text: str) -> Scene:
    """Read a scene from plain text: things with colours, sizes, counts and places.

    Modifiers (colour, size, count) attach to the next thing named; place words after a thing
    attach to it ("a cat on the left"); relation words link the thing before to the thing
    after ("a red house under a yellow sun"). Unknown words are kept for the abstract doodle.
    """
    scene = Scene()
    colour: str | None = None
    scale: float | None = None
    count: int | None = None
    pending_rel: tuple[int, str] | None = None
    place: set[str] = set()
    toks = tokens(text)
    for i, tok in enumerate(toks):
        nxt = toks[i + 1] if i + 1 < len(toks) else ""
        if tok in ("left", "right") and nxt == "of" and scene.things:
            pending_rel = (len(scene.things) - 1, f"{tok} of")
            place.clear()
            continue
        if tok == "dark":
            if thing_word(nxt):
                colour = "black"
            else:
                scene.time = scene.time or "night"
            continue
        if tok in COLOUR_WORDS:
            colour = COLOUR_WORDS[tok]
            continue
        if tok in SIZES:
            scale = SIZES[tok]
            continue
        if tok in NUMBER_WORDS:
            count = NUMBER_WORDS[tok]
            continue
        if tok in COUNTS:
            count = COUNTS[tok]
            continue
        if tok in SURFACES and (colour or tok == "background"):
            target = SURFACES[tok]
            if colour:
                setattr(scene, target, colour)
            if tok in SETTINGS and scene.setting is None:
                scene.setting = SETTINGS[tok]
            colour = None
            continue
        if tok in TIMES:
            scene.time = scene.time or TIMES[tok]
            if pending_rel and pending_rel[1] in WEAK_RELATIONS:
                pending_rel = None
            continue
        if tok in SETTINGS:
            scene.setting = scene.setting or SETTINGS[tok]
            if pending_rel and pending_rel[1] in WEAK_RELATIONS:
                pending_rel = None
            if colour:
                scene.ground = colour
                colour = None
            continue
        found = thing_word(tok)
        if found:
            kind, plural = found
            n = count if count is not None else (2 + len(tok) % 2 if plural else 1)
            thing = Thing(
                kind,
                tok,
                colour,
                scale or 1.0,
                max(1, min(MAX_COUNT, n)),
                set(place),
            )
            scene.things.append(thing)
            idx = len(scene.things) - 1
            if pending_rel and pending_rel[1]:
                scene.relations.append(Relation(pending_rel[0], pending_rel[1], idx))
            pending_rel = None
            colour = scale = count = None
            place = set()
            continue
        if tok in POSITIONS:
            if pending_rel and pending_rel[1] in WEAK_RELATIONS:
                pending_rel = None
            if pending_rel is None and scene.things:
                scene.things[-1].position.add(POSITIONS[tok])
            else:
                place.add(POSITIONS[tok])
            continue
        if tok in RELATIONS:
            if scene.things:
                pending_rel = (len(scene.things) - 1, RELATIONS[tok])
            continue
        if len(tok) > 2 and tok not in _STOP:
            scene.unknown.append(tok)
    if colour and scene.things and scene.things[-1].colour is None:
        scene.things[-1].colour = colour
    return scene


_STOP = frozenset(
    """the and with this that there their they them its his her are was were has have had
    for from into onto out off over very some any all who what which where when while
    being been is of at to it as or but not just also then than too so such
    sitting standing flying running walking looking playing stands sits flies runs walks
    looks plays floating swimming holds smiling jumping shining happy sad cute funny scene
    picture image drawing doodle sketch shows showing illustration photo painting describe
    see seen something""".split()
)
