"""One small painter per kind of thing, each drawing inside the pen's current unit box.

A painter gets the pen (already placed on the thing's box) and the thing's main colour; other
parts use fixed colours (a door is brown, a beak orange). Kept as plain data-like functions so
adding a thing is adding a few lines in a themed module and a row in the lexicon.

The painters live in themed modules (scenery, figures, objects); importing this package
registers them all in :data:`PAINTERS`.
"""

from __future__ import annotations

from telestrations.providers.doodle.painters import figures, objects, scenery
from telestrations.providers.doodle.painters.registry import PAINTERS, Painter, painter

__all__ = ["PAINTERS", "Painter", "figures", "objects", "painter", "scenery"]
