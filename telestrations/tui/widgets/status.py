"""The status line: state, the turn in flight with a spinner and live seconds, rounds, spend,
and the game's folder.

A 0.1 s timer updates only this one-line widget while a turn runs; nothing else re-renders.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from textual.color import Color
from textual.content import Content
from textual.timer import Timer
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

_BADGE_COLOR = {"running": "success", "paused": "warning", "stopped": "error"}
"""The theme variable behind each state's badge (idle keeps the muted reversed style)."""


def contrast(a: Color, b: Color) -> float:
    """WCAG contrast ratio of two colours (1 to 21; 4.5 reads as body text)."""

    def luminance(c: Color) -> float:
        def channel(v: int) -> float:
            x = v / 255
            return x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4

        return 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b)

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def readable_on(bg: Color) -> Color:
    """Black or white, whichever contrasts more with ``bg`` (never below 4.58)."""
    black, white = Color(0, 0, 0), Color(255, 255, 255)
    return black if contrast(black, bg) >= contrast(white, bg) else white


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
    mark: str = ""
    """The chain converged or cycled: how (keeping, issue 11)."""


class StatusLine(Static):
    """One line at the bottom of the main screen."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.status = Status()
        self.turn: Turn | None = None
        self.progress = ""
        """What the service last said about the turn in flight ("step 7/20"), if anything."""
        self._frame = 0
        self._timer: Timer | None = None

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
            (f" {state.upper()} ", self._badge_style(s.state)),
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
        if s.mark:
            parts += [("  │  ", "$text-muted"), plain(s.mark, "$warning", oneline=True, limit=60)]
        spend = "$0" if s.spent == 0 else money(s.spent)
        if s.unknown_cost:
            spend += f" (+{s.unknown_cost} unpriced)"
        parts += [("  │  ", "$text-muted"), spend]
        if s.folder:
            parts += [("  │  ", "$text-muted"), plain(s.folder, "$text-muted", oneline=True)]
        return Content.assemble(*parts)

    def _badge_style(self, state: str) -> str:
        """The state's colour as the badge's background, with black or white text, whichever
        reads better on it: a light theme's pale green or yellow with the panel's near-white
        text (``reverse``) was barely readable (contrast 1.3-1.5)."""
        variable = _BADGE_COLOR.get(state)
        try:
            bg = Color.parse(self.app.theme_variables[variable]) if variable else None
        except Exception:  # no app or an odd theme: the plain reversed style
            bg = None
        if bg is None:
            return f"reverse {_STATE_STYLE.get(state, 'bold')}"
        return f"bold {readable_on(bg).hex} on {bg.hex}"

    def _render_status(self) -> None:
        # One row, as wide as the screen (app.tcss): the text never changes the widget's
        # size, so a tick repaints this line only instead of laying out the whole screen.
        self.update(self.render_content(), layout=False)
