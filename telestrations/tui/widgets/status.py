"""The status line: state, the turn in flight with a spinner and live seconds, rounds, spend,
and the game's folder.

A 0.1 s timer updates only this one-line widget while a turn runs; nothing else re-renders.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from textual.content import Content
from textual.widgets import Static

from telestrations.tui.bindings import key_for
from telestrations.tui.text import plain
from telestrations.turns import money

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

_STATE_STYLE = {
    "idle": "bold $text-muted",
    "running": "bold $success",
    "paused": "bold $warning",
    "stopped": "bold $error",
}


@dataclass(frozen=True)
class Turn:
    """The turn in flight, as the status line shows it."""

    round: int
    kind: str
    model: str
    started_at: float
    """``time.monotonic()`` when it started."""


@dataclass(frozen=True)
class Status:
    """Everything the status line shows, replaced whole on every change."""

    state: str = "idle"
    reason: str = ""
    rounds: int = 0
    spent: float = 0.0
    unknown_cost: int = 0
    folder: str = ""
    pausing: bool = False
    """A pause was asked for; the turn in flight is finishing."""


class StatusLine(Static):
    """One line at the bottom of the main screen."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.status = Status()
        self.turn: Turn | None = None
        self.progress = ""
        """What the service last said about the turn in flight ("step 7/20"), if anything."""
        self._frame = 0
        self._timer = None

    def on_mount(self) -> None:
        self._timer = self.set_interval(0.1, self._tick, pause=True)
        self._render_status()

    def set_status(self, status: Status) -> None:
        self.status = status
        self._render_status()

    def set_turn(self, turn: Turn | None) -> None:
        self.turn = turn
        self.progress = ""
        if self._timer is not None:
            if turn is None:
                self._timer.pause()
            else:
                self._timer.resume()
        self._render_status()

    def turn_done(self, round_no: int, kind: str) -> None:
        """A turn was recorded: it leaves the line, unless a later one is already shown (the
        describe starts while the drawing before it is being saved)."""
        t = self.turn
        if t is None or (t.round, t.kind) == (round_no, kind):
            self.set_turn(None)

    def set_progress(self, text: str) -> None:
        """Show how far the turn in flight has got; cleared when the next turn starts."""
        if self.turn is not None and text != self.progress:
            self.progress = text
            self._render_status()

    def _tick(self) -> None:
        self._frame = (self._frame + 1) % len(SPINNER)
        self._render_status()

    def render_content(self) -> Content:
        """The line as it should look now."""
        s = self.status
        state = "pausing" if s.pausing else s.state
        parts: list[Content | str | tuple[str, str]] = [
            (f" {state.upper()} ", f"reverse {_STATE_STYLE.get(s.state, 'bold')}"),
            " ",
        ]
        if self.turn is not None:
            t = self.turn
            verb = "drawing" if t.kind == "draw" else "looking"
            elapsed = max(0.0, time.monotonic() - t.started_at)
            parts += [
                (SPINNER[self._frame], "$accent"),
                f" round {t.round} · {verb} · ",
                plain(t.model, "bold", oneline=True, limit=60),
                f" {elapsed:4.1f} s",
            ]
            if self.progress:
                parts.append(plain(f" · {self.progress}", "$text-muted", oneline=True, limit=60))
        elif s.pausing:
            parts.append(("the turn in flight finishes, then the game pauses", "$text-muted"))
        elif s.reason and s.state != "running":
            reason = f"{key_for(self, 'resume')} resumes" if s.reason == s.state else s.reason
            parts.append(plain(reason, "$text-muted", oneline=True, limit=120))
        parts += [("  │  ", "$text-muted"), f"{s.rounds} round{'s' * (s.rounds != 1)}"]
        spend = "$0" if s.spent == 0 else money(s.spent)
        if s.unknown_cost:
            spend += f" (+{s.unknown_cost} unpriced)"
        parts += [("  │  ", "$text-muted"), spend]
        if s.folder:
            parts += [("  │  ", "$text-muted"), plain(s.folder, "$text-muted", oneline=True)]
        return Content.assemble(*parts)

    def _render_status(self) -> None:
        # One row, as wide as the screen (app.tcss): the text never changes the widget's
        # size, so a tick repaints this line only instead of laying out the whole screen.
        self.update(self.render_content(), layout=False)
