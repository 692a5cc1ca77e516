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
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000
"""Allocations (minus deallocations) between collections of the youngest generation."""
MIDDLE_THRESHOLD = 3
"""Young collections between collections of the middle one, so that one walks at most about
30 000 objects (10-20 ms on a loaded machine; with Python's 10 it was 25-30 ms)."""


class QuietCollector:
    """Freezes what the app starts with and spaces out young collections; :meth:`stop`
    puts the thresholds back and unfreezes (a test process runs many apps)."""

    def __init__(self) -> None:
        self._saved: tuple[int, int, int] | None = None

    def start(self) -> None:
        if self._saved is not None:
            return
        self._saved = gc.get_threshold()
        gc.collect()  # nothing already garbage is frozen (it would never be freed)
        gc.freeze()
        gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, self._saved[2])

    def stop(self) -> None:
        if self._saved is None:
            return
        gc.set_threshold(*self._saved)
        self._saved = None
        gc.unfreeze()  # what died since is collected as usual from now on
