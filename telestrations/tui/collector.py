"""How the app sets Python's cycle collector so that it does not freeze the screen.

A full (generation 2) collection walks every container object the process holds, all on the
event loop's thread (or holding the GIL from a worker's): with Textual's widgets, caches and
strips that is 60-160 thousand objects and 40-270 ms on a loaded two-core machine, which
``bench/loop_lag.py`` measured as the longest stalls while pictures arrived (six of them in
20 rounds). Two changes, both undone when the app stops:

* once the first screen is up, everything alive is collected once and then frozen
  (:func:`gc.freeze`): modules, classes, the stylesheet and the main screen live as long as
  the app, and no later collection walks them again;
* the youngest generation is collected every 10 000 allocations instead of 700: a screen
  update makes and drops thousands of strips, and a collection in the middle of one promotes
  the ones still in use to older generations, which is what made full collections come round
  so often. A young collection of 10 000 objects takes a few milliseconds; the middle
  generation is collected every 3 of them instead of 10, so it stays small too.

With both (and Textual's strip cycle fixed, :mod:`telestrations.tui.textual_fixes`), 40
rounds of ``bench/loop_lag.py`` ran without a full collection; the longest collection was a
middle one of about 20 ms of CPU.

A screen update makes and drops thousands of strips, so the collections that fall due come
mostly in the middle of one: a young or middle collection (2-11 ms) on top of a layout pass
(10-15 ms) made the longest stalls. While the app runs, a screen update holds the collector
(:meth:`QuietCollector.held`, wrapped around Textual's update pass by
:func:`hold_during_screen_updates`), and a collection that fell due during it runs in a
callback of its own straight after: the same work, but keys, timers and the next update get
their turn between the two.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from textual.screen import Screen

YOUNG_THRESHOLD = 3_000
"""Allocations (minus deallocations) between collections of the youngest generation: at
10 000 a middle collection walked up to ~30 000 objects (7-13 ms, one callback on its own
that a layout pass next to it made a 20-25 ms stall); at 3 000 it takes 2-3 ms, and a young
one about 1 ms (``bench/loop_lag.py``)."""
MIDDLE_THRESHOLD = 3
"""Young collections between collections of the middle one (Python's 10 made it walk three
times as much)."""


_running: QuietCollector | None = None
"""The collector of the app that runs (screen updates hold it)."""


class QuietCollector:
    """Freezes what the app starts with and spaces out young collections; :meth:`stop`
    puts the thresholds back and unfreezes (a test process runs many apps)."""

    def __init__(self) -> None:
        self._saved: tuple[int, int, int] | None = None
        self.deferred = 0
        """Collections that fell due during a screen update and ran right after it."""

    @contextmanager
    def held(self) -> Iterator[None]:
        """No collection inside this block; one that falls due in it runs in a callback of its
        own right after (only while started, and only if the collector is on)."""
        if self._saved is None or not gc.isenabled():
            yield
            return
        gc.disable()
        try:
            yield
        finally:
            if gc.get_count()[0] > YOUNG_THRESHOLD:
                try:
                    # A timer, not call_soon: timers and keys that fell due during the update
                    # run first (expired timers run in the order they were due).
                    asyncio.get_running_loop().call_later(0, self._collect_due)
                except RuntimeError:  # no loop: let the collector start it itself
                    gc.enable()
            else:
                gc.enable()

    def _collect_due(self) -> None:
        """The collection Python would have made: the youngest generation, and the middle one
        when its turn has come (the oldest is left to Python, once enabled again)."""
        self.deferred += 1
        try:
            if self._saved is not None:
                gc.collect(1 if gc.get_count()[1] > gc.get_threshold()[1] else 0)
        finally:
            gc.enable()

    def start(self) -> None:
        global _running
        if self._saved is not None:
            return
        _running = self
        self._saved = gc.get_threshold()
        gc.collect()  # nothing already garbage is frozen (it would never be freed)
        gc.freeze()
        gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, self._saved[2])

    def stop(self) -> None:
        global _running
        if self._saved is None:
            return
        if _running is self:
            _running = None
        gc.set_threshold(*self._saved)
        self._saved = None
        gc.unfreeze()  # what died since is collected as usual from now on


def hold_during_screen_updates() -> bool:
    """Wrap Textual's screen update pass (``Screen._on_timer_update``: layout, compositor,
    output) in the running app's :meth:`QuietCollector.held`; ``True`` if patched now."""
    update: Callable[[Screen[Any]], None] | None = Screen.__dict__.get("_on_timer_update")
    if update is None or getattr(update, "_collector_held", False):
        return False

    def _on_timer_update(self: Screen[Any]) -> None:
        collector = _running
        if collector is None:
            update(self)
            return
        with collector.held():
            update(self)

    _on_timer_update.__doc__ = update.__doc__
    _on_timer_update._collector_held = True  # type: ignore[attr-defined]
    Screen._on_timer_update = _on_timer_update  # type: ignore[method-assign]
    return True
