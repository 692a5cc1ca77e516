"""The painter table: each painter module registers its functions here by kind."""

from __future__ import annotations

from collections.abc import Callable

from telestrations.providers.doodle.pen import Pen

Painter = Callable[[Pen, str], None]
PAINTERS: dict[str, Painter] = {}


def painter(*kinds: str) -> Callable[[Painter], Painter]:
    def register(fn: Painter) -> Painter:
        for kind in kinds:
            PAINTERS[kind] = fn
        return fn

    return register
