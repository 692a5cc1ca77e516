"""At most a few screen updates a second while a fast game plays.

At ``pace = 0`` against quick models a round takes a tenth of a second, and each one changes
the screen several times (a card mounted, scrolled into view, its picture, its caption): each
change was its own layout-and-repaint pass of the whole history, tens of milliseconds of the
interpreter that the game's thread then waits for. While the gate is on, updates are held
(``App`` batches, as ``batch_update`` does) and let through :data:`FrameGate.RATE` times a
second, so all the changes in between cost one pass. Keys and messages are still handled at
once, and a key, a click or the wheel opens a window at once (:meth:`FrameGate.input`), so
what they did is painted without waiting for the next period. Off as soon as turns are slow
or the game stops.
"""

from __future__ import annotations

import time

from textual.app import App
from textual.timer import Timer


class FrameGate:
    """Holds the app's screen updates between short open windows."""

    RATE = 2.5
    """Screen updates a second while on: each is a layout-and-repaint pass of 10-20 ms that
    the game's thread waits for (at 5, ~1.1 passes a round at pace 0 against 50 ms calls,
    29 ms of the app's own time a round; at 2.5, 0.7 and 25.6 ms: bench/round_overhead.py).
    Input does not wait for it (:meth:`input`)."""
    OPEN = 0.025
    """Seconds each window stays open at least: one update pass starts in it."""
    SETTLE = 0.06
    """Seconds a window may stay open longer while the update it let through asks for
    another layout or scroll (a card mounted, then scrolled into view): the screen is not held
    half-way between the two (a plain repaint, a spinner's tick, can wait)."""
    STEP = 0.01

    def __init__(self, app: App[object]) -> None:
        self.app = app
        self._held = False
        self._timer: Timer | None = None
        self._closer: Timer | None = None
        self._opened = 0.0

    @property
    def on(self) -> bool:
        return self._timer is not None

    def set(self, on: bool) -> None:
        if on and self._timer is None:
            self._timer = self.app.set_interval(1.0 / self.RATE, self._open, name="frame-gate")
            self._close()
        elif not on and self._timer is not None:
            self._timer.stop()
            self._timer = None
            if self._closer is not None:
                self._closer.stop()
                self._closer = None
            self._release()

    def input(self) -> None:
        """A key, a click or the wheel: paint what it did now, not at the next period."""
        if self._timer is not None and self._held:
            self._open()

    def _open(self) -> None:
        self._release()
        if self._closer is not None:
            self._closer.stop()
        self._opened = time.monotonic()
        self._closer = self.app.set_timer(self.OPEN, self._close, name="frame-gate-close")

    def _close(self) -> None:
        self._closer = None
        if self._held or self._timer is None:
            return
        if _pending(self.app) and time.monotonic() - self._opened < self.OPEN + self.SETTLE:
            self._closer = self.app.set_timer(self.STEP, self._close, name="frame-gate-close")
            return
        self._held = True
        self.app._begin_batch()

    def _release(self) -> None:
        if self._held:
            self._held = False
            self.app._end_batch()


def _pending(app: App[object]) -> bool:
    """The screen has a layout or scroll to make, or callbacks waiting for the one it made
    (which may ask for the next: the newest card scrolled into view)."""
    try:
        screen = app.screen
    except Exception:  # no screen (the app is ending)
        return False
    return bool(
        getattr(screen, "_layout_required", False)
        or getattr(screen, "_scroll_required", False)
        or getattr(screen, "_callbacks", None)
    )
