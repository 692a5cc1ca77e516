"""The offline doodle pair: a Pillow drawer and a pixel-reading guesser, free and keyless.

The default drawer and guesser on a fresh machine (DESIGN.md, "The offline doodle pair"):
the drawer paints what it understands of a text; the guesser describes any picture from its
pixels alone; each handoff loses detail (and the drawer, like any doodler, adds a little of
its own), so the chain drifts like the real thing.
"""

from __future__ import annotations

from dataclasses import dataclass

from telestrations.providers.base import ModelInfo, ProviderError
from telestrations.providers.catalog import CatalogProvider
from telestrations.providers.doodle.drawer import DoodleDrawer
from telestrations.providers.doodle.guesser import DoodleGuesser
from telestrations.providers.spec import ModelEntries, ProviderSpec, setting

__all__ = ["DoodleDrawer", "DoodleGuesser", "DoodleProvider", "provider"]

DEFAULT_SIZE = 512
MAX_SIDE = 4096
"""Bigger canvases only cost time: a doodle does not need them."""


@dataclass(frozen=True)
class DoodleSettings(ModelEntries):
    """``[providers.doodle]``: the canvas; each can also be a model option."""

    size: int = setting(DEFAULT_SIZE, "canvas width and height in pixels (1-4096)")
    width: int | None = setting(None, "canvas width when it differs (default: size)")
    height: int | None = setting(None, "canvas height when it differs (default: size)")
    style_default: str = setting(
        "colour", '"colour" or "line", when the drawer\'s text has no style prefix'
    )


class DoodleProvider(CatalogProvider):
    """Offline, no key, no network: always available, always free."""

    SETTINGS = DoodleSettings
    conf: DoodleSettings

    name = "doodle"
    title = "Doodle (offline)"
    PRESETS = (
        ModelInfo("doodle", "doodle", "drawer", "Doodle", price=0.0, note="offline, no key"),
        ModelInfo("doodle", "doodle", "guesser", "Doodle", price=0.0, note="offline, no key"),
    )

    def _side(self, key: str, options: dict[str, object]) -> int:
        raw = options.get(key, getattr(self.conf, key))
        if raw is None:
            raw = options.get("size", self.conf.size)
        try:
            value: int = int(raw)  # type: ignore[call-overload]
        except (TypeError, ValueError) as exc:
            raise ProviderError(
                "bad_request", f"providers.doodle.{key} must be a whole number, not {raw!r}"
            ) from exc
        if not 1 <= value <= MAX_SIDE:
            raise ProviderError(
                "bad_request", f"providers.doodle.{key} must be between 1 and {MAX_SIDE}"
            )
        return value

    def drawer(self, model: ModelInfo) -> DoodleDrawer:
        if model.kind != "drawer":
            return super().drawer(model)  # type: ignore[return-value]
        options = dict(model.options)
        style = str(options.get("style_default", self.conf.style_default))
        mode = (
            "line" if style.lower() in ("line", "mono", "monochrome", "black & white") else "colour"
        )
        return DoodleDrawer(self._side("width", options), self._side("height", options), mode)

    def guesser(self, model: ModelInfo) -> DoodleGuesser:
        if model.kind != "guesser":
            return super().guesser(model)  # type: ignore[return-value]
        return DoodleGuesser()


provider = ProviderSpec("doodle", DoodleProvider, DoodleSettings, order=0)
"""The entry point registered under ``telestrations.providers`` as ``doodle``."""
