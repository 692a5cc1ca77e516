"""One card per round (thumbnail, models, caption, seconds, cost) and one per failed turn.

All model text goes through :func:`telestrations.tui.text.plain`: plain characters, never
markup. A card loads its thumbnail in a thread when mounted and drops the pixels when it is
removed, so only mounted cards hold images.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

from telestrations.providers.base import ERROR_TITLES
from telestrations.tui.bindings import Key, hint
from telestrations.tui.images import image_class, load_thumbnail, thumbnail_pixels
from telestrations.tui.text import clean, plain
from telestrations.tui.widgets.drift import card_marks
from telestrations.turns import TurnRecord, money

log = logging.getLogger(__name__)


@dataclass
class RoundEntry:
    """A round in the history: its draw, and its describe once the guesser has answered."""

    round: int
    draw: TurnRecord
    describe: TurnRecord | None = None
    partial: tuple[str, str] | None = None
    """(guesser model, caption so far) while a streaming guesser is answering; not on disk."""

    @property
    def image(self) -> str:
        return self.draw.output


@dataclass
class ErrorEntry:
    """A failed turn, kept in the history where it happened."""

    record: TurnRecord


Entry = RoundEntry | ErrorEntry


@dataclass(frozen=True)
class ThumbSpec:
    """How thumbnails are drawn: where the game lives, which protocol, how many cells wide."""

    game_path: Path
    mode: str = "halfcell"
    cells: int = 48

    @property
    def rows(self) -> int:
        """A fixed 16:9 box (one cell is about twice as tall as wide), so cards never jump."""
        return max(3, round(self.cells * 9 / 32))

    @property
    def pixels(self) -> int:
        return thumbnail_pixels(self.mode, self.cells)


def _seconds_cost(record: TurnRecord) -> str:
    parts = [f"{record.duration:.1f} s"]
    if record.cost is not None:
        parts.append(money(record.cost))
    return " · ".join(parts)


def round_text(entry: RoundEntry) -> Content:
    """The text beside a thumbnail: who drew, who saw, what they saw, seconds and cost."""
    parts: list[Content | str | tuple[str, str]] = [
        (f"Round {entry.round}\n", "bold $text-muted"),
        plain(entry.draw.model, "bold $accent", oneline=True, limit=80),
        (" drew:\n", "bold"),
        (f"{_seconds_cost(entry.draw)}\n", "$text-muted"),
    ]
    revised = entry.draw.extras.get("revised_prompt")
    if isinstance(revised, str) and revised.strip():
        parts += [plain(f"(revised: {revised})", "italic $text-muted", oneline=True, limit=300)]
        parts.append("\n")
    parts.append("\n")
    describe = entry.describe
    if describe is None:
        if entry.partial is not None:
            model, so_far = entry.partial
            parts += [
                plain(model, "bold $secondary", oneline=True, limit=80),
                (" is saying:\n\n", "bold"),
                plain(so_far, "italic", oneline=True, limit=1000),
                ("…", "$text-muted"),
            ]
        else:
            parts.append(("waiting for the guesser…", "italic $text-muted"))
        return Content.assemble(*parts)
    parts += [
        plain(describe.model, "bold $secondary", oneline=True, limit=80),
        (" saw:\n", "bold"),
        (f"{_seconds_cost(describe)}\n", "$text-muted"),
        plain(describe.output, oneline=True, limit=1000),
    ]
    parts += card_marks(describe)  # keeping: similarity and convergence marks
    return Content.assemble(*parts)


def error_text(record: TurnRecord, keys: Content | None = None) -> Content:
    """A failed turn: what failed, the provider's message (plain text), the hint, and
    ``keys``: what to press next (the card adds it once it knows the keymap)."""
    err = record.error
    kind = err.kind if err else "internal"
    title = ERROR_TITLES.get(kind, kind)
    verb = "draw" if record.kind == "draw" else "describe"
    parts: list[Content | str | tuple[str, str]] = [
        (f"Round {record.round} · {verb} failed: {title}", "bold $error"),
        "  ",
        plain(record.model, "$text-muted", oneline=True, limit=80),
        (f"  {record.duration:.1f} s\n", "$text-muted"),
    ]
    if err and err.message:
        parts += [plain(err.message, limit=600), "\n"]
    if err and err.hint:
        parts += [("hint: ", "bold"), plain(err.hint, "italic", limit=300), "\n"]
    if keys is not None:
        parts.append(keys)
    return Content.assemble(*parts)


class Thumb(Widget):
    """A fixed-size box that loads its thumbnail off the event loop."""

    @dataclass
    class Clicked(Message):
        """The thumbnail was clicked: open the viewer for this entry."""

        index: int

    def __init__(self, index: int, spec: ThumbSpec, image_name: str) -> None:
        super().__init__(classes="thumb")
        self.index = index
        self.spec = spec
        self.image_name = image_name
        self.styles.width = spec.cells
        self.styles.height = spec.rows

    def compose(self) -> ComposeResult:
        yield Static("loading…", classes="thumb-placeholder")

    def on_mount(self) -> None:
        self.run_worker(self._load(), exclusive=True, group="thumb")

    async def _load(self) -> None:
        try:
            image = await asyncio.to_thread(
                load_thumbnail, self.spec.game_path, self.image_name, self.spec.pixels
            )
        except (OSError, ValueError) as exc:
            log.warning("thumbnail for %s failed: %s", self.image_name, exc)
            self.query_one(".thumb-placeholder", Static).update(
                plain(f"(image unavailable: {exc})", "dim", oneline=True, limit=200)
            )
            return
        widget = image_class(self.spec.mode)(image, classes="thumb-image")
        await self.query(".thumb-placeholder").remove()
        await self.mount(widget)

    def on_click(self) -> None:
        self.post_message(self.Clicked(self.index))


class RoundCard(Horizontal):
    """A round: thumbnail on the left, models and caption on the right."""

    def __init__(self, index: int, entry: RoundEntry, spec: ThumbSpec) -> None:
        super().__init__(classes="card round-card", id=f"card-{index}")
        self.index = index
        self.entry = entry
        self.spec = spec

    def compose(self) -> ComposeResult:
        yield Thumb(self.index, self.spec, self.entry.image)
        yield Static(round_text(self.entry), classes="card-text")

    def refresh_entry(self) -> None:
        """Re-render the text (the caption arrived)."""
        self.query_one(".card-text", Static).update(round_text(self.entry))


class ErrorCard(Static):
    """A failed turn, with the provider's message and the hint."""

    def __init__(self, index: int, entry: ErrorEntry) -> None:
        super().__init__(error_text(entry.record), classes="card error-card", id=f"card-{index}")
        self.index = index
        self.entry = entry

    def on_mount(self) -> None:
        muted = "$text-muted"
        keys = hint(
            self,
            Key("resume", muted),
            (" retries this turn · ", muted),
            Key("pick-drawer", muted),
            (" / ", muted),
            Key("pick-guesser", muted),
            (" change models", muted),
        )
        self.update(error_text(self.entry.record, keys))


def describe_entry(entry: Entry) -> str:
    """A one-line plain description of an entry (for logs and the viewer title)."""
    if isinstance(entry, ErrorEntry):
        return f"round {entry.record.round} failed"
    caption = clean(entry.describe.output, oneline=True, limit=120) if entry.describe else "…"
    return f"round {entry.round}: {caption}"
