"""One card per round, read like the game's booklet, and one per failed turn.

A round card shows the picture, the text it was drawn from (the first prompt, then each
caption), what the guesser saw, and who did each with their time and cost. The picture takes
the room the history pane has (:class:`Room`); its thumbnail is made in a child process for
exactly the cells it is shown in (:mod:`telestrations.tui.thumbnailer`), and dropped when the
card is removed, so only mounted cards hold pixels. All model text goes through
:func:`telestrations.tui.text.plain`: never markup.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image as PILImage
from textual.app import ComposeResult
from textual.color import Color
from textual.containers import Horizontal
from textual.content import Content
from textual.filter import ANSIToTruecolor, LineFilter
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from telestrations.providers.base import ERROR_TITLES
from telestrations.tui.bindings import Key, hint
from telestrations.tui.images import cell_strips, image_class, picture_size, thumbnail_size
from telestrations.tui.later import Later
from telestrations.tui.text import NoControlCodes, plain
from telestrations.tui.textual_fixes import drop_render_caches
from telestrations.tui.thumbnail import Cells
from telestrations.tui.thumbnailer import thumbnailer
from telestrations.tui.widgets.drift import card_marks
from telestrations.turns import START_PICTURE_MODEL, TurnRecord, money

log = logging.getLogger(__name__)


@dataclass
class RoundEntry:
    """A round in the history: its draw, and its describe once the guesser has answered."""

    round: int
    draw: TurnRecord
    describe: TurnRecord | None = None
    partial: tuple[str, str] | None = None
    """(guesser model, caption so far) while a streaming guesser is answering; not on disk."""
    prompt: str = ""
    """The text this picture was drawn from (the first prompt, or the last round's caption),
    without the drawer's style."""

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
    """How thumbnails are drawn: where the game lives, which protocol, the widest picture."""

    game_path: Path
    mode: str = "halfcell"
    cells: int = 120
    """The widest a picture gets, in cells ([ui] thumbnail_width); the pane decides below it."""


TEXT_COLS = 32
"""Columns the text needs beside a picture; with less, it goes under the picture."""
TEXT_ROWS = 6
"""Rows the text of a round takes under a picture (model lines, prompt, caption)."""
CELL_RATIO = 2.0
"""A terminal cell is about twice as tall as it is wide."""


@dataclass(frozen=True)
class PictureBox:
    """Where a picture goes on a card: its size in cells, and whether the text is below it."""

    cols: int
    rows: int
    stacked: bool


@dataclass(frozen=True)
class Room:
    """The cells a card's content has in the history pane, and the cap on a picture's width."""

    cols: int
    rows: int
    max_cols: int = 120

    def fit(self, aspect: float = 1.0) -> PictureBox:
        """The largest box for a picture of ``aspect`` (width / height) so that the card still
        fits the pane: beside the text, or above it when that gives a clearly bigger picture
        (a narrow pane, a wide picture)."""
        per_row = max(0.1, aspect) * CELL_RATIO  # columns per row of this picture
        side = (min(self.max_cols, self.cols - 1 - TEXT_COLS), max(2, self.rows - 2))
        stack = (min(self.max_cols, self.cols), max(2, self.rows - 2 - TEXT_ROWS))

        def widest(caps: tuple[int, int]) -> int:
            return max(4, min(caps[0], int(caps[1] * per_row)))

        stacked = widest(stack) >= 1.25 * widest(side)
        caps = stack if stacked else side
        cols = widest(caps)
        rows = max(2, min(caps[1], round(cols / per_row)))
        return PictureBox(cols, rows, stacked)


def _seconds_cost(record: TurnRecord) -> str:
    parts = [f"{record.duration:.1f} s"]
    if record.cost is not None:
        parts.append(money(record.cost))
    return " · ".join(parts)


WAITING = {
    "paused": "paused · Enter resumes",
    "stopped": "stopped · Enter continues",
}
"""What a card whose caption has not come says, by game state (else: waiting for the guesser)."""


def round_text(entry: RoundEntry, state: str = "running") -> Content:
    """The booklet page beside a picture: who drew it from which text, who saw what in it."""
    parts: list[Content | str | tuple[str, str]] = [
        (f"Round {entry.round}\n", "bold $text-muted"),
        plain(entry.draw.model, "bold $accent", oneline=True, limit=80),
        (" drew  ", "bold"),
        (f"{_seconds_cost(entry.draw)}\n", "$text-muted"),
    ]
    if entry.draw.model == START_PICTURE_MODEL:  # round 0: nobody drew it
        parts = [
            (f"Round {entry.round}\n", "bold $text-muted"),
            ("the picture the game started from\n", "bold $accent"),
        ]
    elif entry.draw.memory and entry.draw.memory.get("used"):
        parts.append(("(from the previous picture)\n", "italic $text-muted"))
    if entry.prompt and entry.draw.model != START_PICTURE_MODEL:
        parts += [plain(f"“{entry.prompt}”", "italic", oneline=True, limit=1000), "\n"]
    revised = entry.draw.extras.get("revised_prompt")
    if isinstance(revised, str) and revised.strip():
        parts += [plain(f"(revised: {revised})", "italic $text-muted", oneline=True, limit=300)]
        parts.append("\n")
    describe = entry.describe
    if describe is None:
        if entry.partial is not None:
            model, so_far = entry.partial
            parts += [
                plain(model, "bold $secondary", oneline=True, limit=80),
                (" is saying:\n", "bold"),
                plain(so_far, "italic", oneline=True, limit=1000),
                ("…", "$text-muted"),
            ]
        else:
            waiting = WAITING.get(state, "waiting for the guesser…")
            parts.append((waiting, "italic $text-muted"))
        return Content.assemble(*parts)
    parts += [
        plain(describe.model, "bold $secondary", oneline=True, limit=80),
        (" saw  ", "bold"),
        (f"{_seconds_cost(describe)}\n", "$text-muted"),
        plain(f"“{describe.output}”", "bold", oneline=True, limit=1000),
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


class CellPicture(Static):
    """A picture in half-block cells, from lines made in a thread.

    It is in place from the start, saying "loading…" (or why the picture cannot be shown),
    and takes its lines with :meth:`show`: a repaint of the same box, never a layout of the
    screen. Textual's line filters that only copy segments are skipped for the picture
    (every cell is a true colour, the text only ``▀``), so the lines on screen are the ones
    made in the thread, not a copy of each per frame or per card.
    """

    DEFAULT_CSS = """
    CellPicture {
        color: $text-muted;
        content-align: center middle;
    }
    """

    def __init__(self, strips: list[Strip] | None = None, *, classes: str = "") -> None:
        super().__init__(plain("loading…"), classes=classes)
        self.strips: list[Strip] = strips or []

    def show(self, strips: list[Strip]) -> None:
        """Paint these lines instead of whatever was shown (same box: no layout)."""
        self.strips = strips
        self.refresh()

    def say(self, note: Content) -> None:
        """Show ``note`` instead of a picture (it could not be made)."""
        self.strips = []
        self.update(note, layout=False)

    def get_line_filters(self) -> Sequence[LineFilter]:
        filters = super().get_line_filters()
        if not self.strips:
            return filters
        return [f for f in filters if not isinstance(f, _COPY_ONLY_FILTERS)]

    def on_unmount(self) -> None:
        self.strips = []  # freed now, not by a full collection of the removed card
        drop_render_caches(self)

    def render_lines(self, crop: Region) -> list[Strip]:
        """The picture's lines as made, without Textual's styles cache: it would build each
        line again (22-50 rows, a new strip each) only to add nothing to it, since the box
        has no border, padding, tint or transparency (then it is used as usual)."""
        width, height = self.size
        if not self.strips or (width, height) != (self.strips[0].cell_length, len(self.strips)):
            return super().render_lines(crop)
        styles = self.styles
        if any(styles.gutter) or styles.tint.a or self.opacity != 1.0:
            return super().render_lines(crop)
        background = self.background_colors[1]
        filters = self.get_line_filters()
        lines = self.strips[crop.y : crop.bottom]
        if filters:
            lines = [_filtered(line, filters, background) for line in lines]
        if crop.column_span != (0, width):
            lines = [line.crop(*crop.column_span) for line in lines]
        return lines

    def render_line(self, y: int) -> Strip:
        if not self.strips:
            return super().render_line(y)
        if 0 <= y < len(self.strips):
            return self.strips[y].adjust_cell_length(self.size.width)
        return Strip.blank(self.size.width)


def _filtered(line: Strip, filters: Sequence[LineFilter], background: Color) -> Strip:
    for line_filter in filters:
        line = line.apply_filter(line_filter, background)
    return line


_COPY_ONLY_FILTERS = (ANSIToTruecolor, NoControlCodes)
"""Filters that leave a half-cell picture's segments as they are (true colours only, no
control characters) but would rebuild every segment of it to say so."""


class Thumb(Widget):
    """The picture's box: sized from the room and the picture's shape, filled in a thread."""

    @dataclass
    class Clicked(Message):
        """The thumbnail was clicked: open the viewer for this entry."""

        index: int

    @dataclass
    class Shaped(Message):
        """A picture's shape differs from the guess: later cards guess this one."""

        aspect: float

    def __init__(
        self,
        index: int,
        spec: ThumbSpec,
        image_name: str,
        room: Room,
        guess: float = 1.0,
        *,
        eager: bool = True,
    ) -> None:
        super().__init__(classes="thumb")
        self.wanted = eager
        """The picture is to be made (and remade for each new room). The history asks for it
        only once the card is on screen or about to be (:meth:`want`): in a fast game most
        cards scroll out of view before a frame shows them, and decoding a picture nobody
        sees costs the game's thread the GIL for tens of milliseconds."""
        self.index = index
        self.spec = spec
        self.image_name = image_name
        self.room = room
        self.aspect: float | None = None
        """Width / height, read from the file's header in the thread (``guess`` until then:
        the shape of the game's pictures so far, so a card does not change size later)."""
        self.guess = guess
        self.box = room.fit(guess)
        self.shown: tuple[int, int] | None = None
        """Pixel size of the thumbnail on screen."""
        self._size_to(self.box)

    def _size_to(self, box: PictureBox) -> None:
        self.box = box
        self.styles.width = box.cols
        self.styles.height = box.rows
        if not self.wanted:  # nothing shown in it yet: the empty picture takes the box now
            for picture in self.query(CellPicture):
                picture.styles.width, picture.styles.height = box.cols, box.rows
        if isinstance(self.parent, RoundCard):  # the text goes beside or under the picture
            self.parent.set_class(box.stacked, "-stacked")

    def compose(self) -> ComposeResult:
        if self.spec.mode == "halfcell":  # in place from the start: the lines come later
            picture = CellPicture(classes="thumb-image")
            picture.styles.width, picture.styles.height = self.box.cols, self.box.rows
            yield picture
        else:  # textual-image widgets take their picture when they are made
            yield Static("loading…", classes="thumb-placeholder")

    def on_mount(self) -> None:
        if self.wanted:
            self._reload()

    def want(self) -> None:
        """Make the picture now (once; a new room remakes it from then on)."""
        if not self.wanted:
            self.wanted = True
            if self.is_mounted:
                self._reload()

    def set_room(self, room: Room) -> None:
        """The pane changed size: a new box, and a thumbnail made for it (if wanted yet)."""
        self.room = room
        self._size_to(room.fit(self.guess if self.aspect is None else self.aspect))
        if self.wanted:
            self._reload()

    def _reload(self) -> None:
        # A picture that cannot be shown is a placeholder, never a crash of the app.
        # A new room cancels this worker, perhaps before it started: the work is made then.
        self.run_worker(Later(self._load), exclusive=True, group="thumb", exit_on_error=False)

    async def _load(self) -> None:
        path = self.spec.game_path / self.image_name
        try:
            if self.aspect is None:
                width, height = await asyncio.to_thread(picture_size, path)
                self.aspect = width / max(1, height)
                if abs(self.aspect - self.guess) > 0.01:
                    self.post_message(self.Shaped(self.aspect))
            box = self.room.fit(self.aspect)
            pixels = thumbnail_size(self.spec.mode, box.cols, box.rows)
            if pixels == self.shown and box == self.box:
                return
            picture = await self._make(pixels)
        except (OSError, ValueError) as exc:
            log.warning("thumbnail for %s failed: %s", self.image_name, exc)
            note = plain(f"(image unavailable: {exc})", "dim", oneline=True, limit=200)
            for placeholder in self.query(".thumb-placeholder").results(Static):
                placeholder.update(note)
            for cells in self.query(CellPicture):
                cells.say(note)
            return
        if not self.is_attached:  # the card was removed while the thread worked
            return
        if box != self.box:
            self._size_to(box)
        old = self.query(".thumb-image")
        if old:
            widget = old.first()
            widget.styles.width, widget.styles.height = box.cols, box.rows  # no-op if the same
            if isinstance(widget, CellPicture) and isinstance(picture, list):
                widget.show(picture)  # a repaint of its box: no layout, no remount
                self.shown = pixels
                return
        # ``shown`` only once the picture is in place: a new room cancels this worker at any
        # await below, and the next load must not then take a box left empty for done.
        self.shown = None
        if old:
            await old.remove()
            if not self.is_attached:
                return
        if isinstance(picture, list):
            widget = CellPicture(picture, classes="thumb-image")
        else:
            widget = image_class(self.spec.mode)(picture, classes="thumb-image")
        widget.styles.width, widget.styles.height = box.cols, box.rows
        await self.query(".thumb-placeholder").remove()
        if self.is_attached:
            await self.mount(widget)
            self.shown = pixels

    async def _make(self, pixels: tuple[int, int]) -> list[Strip] | PILImage.Image:
        """The thumbnail, made in a child process; for half-cell blocks, the lines that draw
        it (made in a thread: a photo-like picture is thousands of segments)."""
        made = await thumbnailer().make(
            self.spec.game_path, self.image_name, *pixels, cells=self.spec.mode == "halfcell"
        )
        if isinstance(made, Cells):
            return await asyncio.to_thread(cell_strips, made)
        return await asyncio.to_thread(made.image)  # a sixel thumbnail can be megabytes

    def on_click(self) -> None:
        self.post_message(self.Clicked(self.index))

    def on_unmount(self) -> None:
        drop_render_caches(self)


class RoundCard(Horizontal):
    """A round: the picture, and beside it (or under it, in a narrow pane) its booklet text."""

    def __init__(
        self,
        index: int,
        entry: RoundEntry,
        spec: ThumbSpec,
        room: Room,
        state: str = "running",
        guess: float = 1.0,
        *,
        eager: bool = True,
    ) -> None:
        super().__init__(classes="card round-card", id=f"card-{index}")
        self.eager = eager
        """Make the picture as soon as the card is mounted (else when :meth:`want_picture`)."""
        self.index = index
        self.entry = entry
        self.spec = spec
        self.room = room
        self.state = state
        self.guess = guess
        """The picture's width / height as far as is known before it is read."""
        # Not mounted yet: its styles are worked out when it is (an update now would apply
        # the stylesheet to it once more for nothing).
        self.set_class(room.fit(guess).stacked, "-stacked", update=False)

    def compose(self) -> ComposeResult:
        yield Thumb(
            self.index, self.spec, self.entry.image, self.room, self.guess, eager=self.eager
        )
        yield Static(self._text(), classes="card-text")

    def on_unmount(self) -> None:
        drop_render_caches(self)  # its blank lines, cut around the picture and the text

    def _text(self) -> Content:
        """The booklet text, and on the selected card of a finished round what it can do."""
        text = round_text(self.entry, self.state)
        if not self.has_class("-selected") or self.entry.describe is None:
            return text
        muted = "$text-muted"
        try:
            keys = hint(self, Key("branch", muted), (" branch from here", muted))
        except LookupError:  # shown outside the main screen: no such key
            return text
        return Content.assemble(text, "\n", keys)

    def refresh_entry(self) -> None:
        """Re-render the text (the caption arrived, or the card was selected)."""
        for text in self.query(".card-text").results(Static):  # none before compose
            relabel(text, self._text())

    def set_state(self, state: str) -> None:
        """The game's state changed: a card still waiting for its caption says so."""
        if state != self.state:
            self.state = state
            if self.entry.describe is None and self.entry.partial is None:
                self.refresh_entry()

    def on_resize(self) -> None:
        # Laid out (or moved to a new size): the history knows now whether it is in view.
        if not self.eager and self.parent is not None:
            sweep = getattr(self.parent, "sweep_soon", None)
            if callable(sweep):
                sweep()

    def want_picture(self) -> None:
        """The card is on screen (or about to be): its picture is made if it is not yet."""
        self.eager = True
        for thumb in self.query(Thumb):  # none before compose: it is made eager then
            thumb.want()

    @property
    def picture_wanted(self) -> bool:
        return self.eager

    def set_room(self, room: Room) -> None:
        if room != self.room:
            self.room = room
            for thumb in self.query(Thumb):  # none yet before compose: it gets self.room
                thumb.set_room(room)


def relabel(text: Static, content: Content) -> None:
    """Show ``content`` in ``text``, laid out again only if its height changed: a layout pass
    moves and repaints every card in view, and a caption often takes as many lines as what
    the card said while waiting for it."""
    rules: Any = text.styles  # a RulesMap by its get(), as Textual's own layout passes it
    width, height = text.content_size
    before = text.visual.get_height(rules, width) if width > 0 else -1
    text.update(content, layout=False)
    if width <= 0 or not before == height == text.visual.get_height(rules, width):
        text.refresh(layout=True)


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
