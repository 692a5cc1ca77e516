"""A game read for export: every text redacted and cleaned, every picture read only from inside
the game folder, the drift figures of each round. The one place exports get their content from,
so no format can forget the redaction choke point."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telestrations.drift import Convergence, chain_drift, first_convergence, half_life
from telestrations.store import GameDir
from telestrations.text import clean, scrub_json
from telestrations.turns import (
    START_PICTURE_MODEL,
    TurnRecord,
    presets_used,
    redact_record,
    total_cost,
)

if TYPE_CHECKING:
    from PIL.Image import Image


@dataclass
class Page:
    """One round of the booklet: what was drawn, the drawing, the caption it got."""

    round: int
    prompt: str = ""
    """The text the drawer illustrated (without the style)."""
    drawer: str = ""
    image: str = ""
    """The picture's file name in the game folder (only read through :meth:`GameDir.read_image`)."""
    guesser: str = ""
    caption: str = ""
    to_origin: float | None = None
    to_previous: float | None = None
    converged: Convergence | None = None
    cost: float = 0.0
    failures: list[str] = field(default_factory=list)


@dataclass
class Booklet:
    game: GameDir
    name: str
    first_prompt: str
    created: str
    pages: list[Page]
    header: dict[str, Any]
    records: list[TurnRecord]
    spent: float
    unknown_cost: int
    half_life: int | None
    convergence: Convergence | None

    @property
    def drawers(self) -> list[str]:
        return sorted({p.drawer for p in self.pages if p.drawer})

    @property
    def guessers(self) -> list[str]:
        return sorted({p.guesser for p in self.pages if p.guesser})

    @property
    def presets(self) -> list[str]:
        """Guesser presets used, in order ("custom" for hand-written texts)."""
        return [clean(p, oneline=True, limit=40) for p in presets_used(self.records)]

    @property
    def drawings(self) -> list[Page]:
        """Pages with a drawing that can be read from the game folder."""
        return [p for p in self.pages if p.image and self.game.has_image(p.image)]

    def picture(self, page: Page, max_side: int) -> Image | None:
        """``page``'s drawing as RGB, no larger than ``max_side`` (None if unreadable)."""
        return load_picture(self.game, page.image, max_side)


def load(game: GameDir) -> Booklet:
    # A game written by an older version (or by hand) may hold a key: redact on the way out.
    records = [redact_record(r) for r in game.records]
    first = clean(game.first_prompt, oneline=True, limit=0)
    pages: dict[int, Page] = {}
    for r in records:
        page = pages.setdefault(r.round, Page(r.round))
        if r.cost is not None:
            page.cost += r.cost
        if not r.ok:
            err = r.error
            page.failures.append(
                clean(
                    f"{r.kind} with {r.model} failed: "
                    f"{err.kind if err else ''}: {err.message if err else ''}",
                    oneline=True,
                    limit=300,
                )
            )
        elif r.kind == "draw" and r.model == START_PICTURE_MODEL:
            page.image = r.output  # round 0: the picture the game started from, the origin
        elif r.kind == "draw":
            page.drawer, page.image = clean(r.model, oneline=True, limit=120), r.output
        else:
            page.guesser = clean(r.model, oneline=True, limit=120)
            page.caption = clean(r.output, oneline=True, limit=1000)
    drift = chain_drift(game.first_prompt, records)
    for d in drift:
        page = pages[d.round]
        page.to_origin, page.to_previous, page.converged = d.to_origin, d.to_previous, d.converged
    ordered = [pages[n] for n in sorted(pages)]
    previous = first
    for page in ordered:  # the text each round drew: the caption before it
        page.prompt = previous if page.round >= 1 else ""
        if page.caption:
            previous = page.caption
    spent, unknown = total_cost(records)
    header = scrub_json(dict(game.header))
    return Booklet(
        game=game,
        name=clean(game.name, oneline=True, limit=200),
        first_prompt=first,
        created=clean(str(header.get("created", "")), oneline=True, limit=60),
        pages=ordered,
        header=header,
        records=records,
        spent=spent,
        unknown_cost=unknown,
        half_life=half_life([d.to_origin for d in drift]),
        convergence=first_convergence(drift),
    )


def load_picture(game: GameDir, name: str, max_side: int) -> Image | None:
    """Decode a picture of the game, reduced while decoding where the format allows (JPEG)."""
    from PIL import Image as PILImage

    try:
        data = game.read_image(name)
        with PILImage.open(io.BytesIO(data)) as im:
            im.draft("RGB", (max_side, max_side))
            im.thumbnail((max_side, max_side))
            if im.mode in ("RGBA", "LA", "P", "PA"):
                rgba = im.convert("RGBA")
                flat = PILImage.new("RGB", rgba.size, "white")
                flat.paste(rgba, mask=rgba.getchannel("A"))
                return flat
            return im.convert("RGB")
    except (OSError, ValueError, PILImage.DecompressionBombError):
        return None
