"""The image viewer: one full image with the best protocol the terminal supports.

The image is fitted to the screen in a thread first, so the widget only ever scales a
screen-sized picture, never the 1792×1024 original, on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import Worker
from textual_image._terminal import get_cell_size

from telestrations.tui.images import image_class, load_scaled
from telestrations.tui.text import plain
from telestrations.tui.widgets.cards import RoundEntry

log = logging.getLogger(__name__)


class ImageViewer(Screen[None]):
    """Full-screen view of one round's image; ←/→ move between rounds."""

    BINDING_GROUP_TITLE = "Viewer"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape,q,v", "app.pop_screen", "Close", id="viewer.close", tooltip="Close the viewer"
        ),
        Binding("left,h", "move(-1)", "Previous", id="viewer.previous", tooltip="Previous image"),
        Binding("right,l", "move(1)", "Next", id="viewer.next", tooltip="Next image"),
        Binding(
            "o",
            "open_external",
            "System viewer",
            id="viewer.open",
            tooltip="Open the image in the system viewer",
        ),
    ]

    def __init__(self, game_path: Path, rounds: list[RoundEntry], index: int, mode: str) -> None:
        super().__init__()
        self.game_path = game_path
        self.rounds = rounds
        self.index = index
        self.mode = mode
        """``auto`` picks the best protocol; tests pin ``halfcell``."""

    def compose(self) -> ComposeResult:
        with Vertical(id="viewer"):
            yield Static("", id="viewer-title")
            with Container(id="viewer-frame"):
                yield Static("loading…", id="viewer-placeholder")
            yield Static("", id="viewer-caption")
        yield Footer()

    @property
    def entry(self) -> RoundEntry:
        return self.rounds[self.index]

    @property
    def path(self) -> Path:
        return self.game_path / self.entry.image

    def on_mount(self) -> None:
        self._show()

    def _show(self) -> None:
        e = self.entry
        self.query_one("#viewer-title", Static).update(
            Content.assemble(
                (f"Round {e.round} of {len(self.rounds)}  ", "bold"),
                plain(e.draw.model, "bold $accent", oneline=True, limit=80),
                " drew  ",
                plain(str(self.path), "$text-muted", oneline=True),
            )
        )
        caption: list[Content | str | tuple[str, str]] = []
        if e.describe is not None:
            caption = [
                plain(e.describe.model, "bold $secondary", oneline=True, limit=80),
                " saw: ",
                plain(e.describe.output, oneline=True, limit=1000),
            ]
        self.query_one("#viewer-caption", Static).update(Content.assemble(*caption))
        # After a refresh, so the frame has its size and the image is fitted to it.
        self.call_after_refresh(self._start_load)

    def _start_load(self) -> Worker[None] | None:
        if not self.is_attached:  # closed before the first refresh
            return None
        # A partial, not a coroutine object: a worker that never starts leaves nothing unawaited.
        return self.run_worker(partial(self._load, self.path), exclusive=True, group="viewer")

    def on_resize(self) -> None:
        self.call_after_refresh(self._start_load)

    async def _load(self, path: Path) -> None:
        frame = self.query_one("#viewer-frame")
        cols, rows = max(10, frame.size.width), max(5, frame.size.height)
        cell = get_cell_size()
        if self.mode in ("halfcell", "unicode"):
            max_w, max_h = cols * 2, rows * 4
        else:
            max_w, max_h = cols * max(1, cell.width), rows * max(1, cell.height)
        try:
            image = await asyncio.to_thread(load_scaled, path, max_w, max_h)
        except (OSError, ValueError) as exc:
            log.warning("viewer: cannot load %s: %s", path, exc)
            self._placeholder(f"cannot show {path.name}: {exc}")
            return
        await frame.remove_children()
        await frame.mount(image_class(self.mode)(image, id="viewer-image"))

    def _placeholder(self, text: str) -> None:
        frame = self.query_one("#viewer-frame")
        frame.remove_children()
        frame.mount(Static(plain(text), id="viewer-placeholder"))

    def action_move(self, delta: int) -> None:
        target = max(0, min(len(self.rounds) - 1, self.index + delta))
        if target != self.index:
            self.index = target
            self._show()

    def action_open_external(self) -> None:
        self.app.open_external(self.path)  # type: ignore[attr-defined]
