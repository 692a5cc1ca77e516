"""The game's rules as data: what the next turn uses (:class:`Settings`) and when the game
stops by itself (:class:`Limits`), plus what the engine needs from the registry. No I/O, so the
CLI, the TUI and the session layer can build them without the engine."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from telestrations.drift import DEFAULT_K
from telestrations.providers.base import Drawer, Guesser

__all__ = [
    "DEFAULT_GUESSER_PROMPT",
    "DEFAULT_GUESSER_SYSTEM",
    "DEFAULT_MODEL",
    "DEFAULT_STYLE",
    "Limits",
    "Models",
    "PriceLookup",
    "Settings",
]

DEFAULT_STYLE = "Illustrate in black & white doodle style"
DEFAULT_GUESSER_SYSTEM = "You are playing a doodle guessing game"
DEFAULT_GUESSER_PROMPT = "Describe what happens in this image in up to 10 words"
DEFAULT_MODEL = "doodle:doodle"


@dataclass(frozen=True)
class Settings:
    """What the next turn uses. Replace it whole (``dataclasses.replace``) to change it."""

    drawer: str = DEFAULT_MODEL
    guesser: str = DEFAULT_MODEL
    style: str = DEFAULT_STYLE
    guesser_system: str = DEFAULT_GUESSER_SYSTEM
    guesser_prompt: str = DEFAULT_GUESSER_PROMPT
    pace: float = 0.0
    """Seconds each turn takes at least, so a watcher can follow fast models (0 = no wait)."""
    preset: str = ""
    """The guesser preset whose texts ``guesser_system``/``guesser_prompt`` hold ("" = custom
    texts); :func:`telestrations.presets.label` keeps it true. Journalled per describe turn."""
    memory: bool = False
    """Memory play: a draw also gets the previous picture as a reference (image edits,
    img2img) where the drawer can take one, so pictures morph instead of jumping."""

    @classmethod
    def from_saved(cls, saved: object, base: Settings | None = None) -> Settings:
        """``base`` updated with the text fields of a game header's ``settings`` table (the
        pace is the viewer's choice, not the game's, so it is not taken from disk)."""
        base = base or cls()
        if not isinstance(saved, Mapping):
            return base
        text = {"drawer", "guesser", "style", "guesser_system", "guesser_prompt", "preset"}
        # Any: mypy checks ``**`` against every field's type; these keys are all ``str`` fields.
        known: dict[str, Any] = {k: str(v) for k, v in saved.items() if k in text and v is not None}
        if isinstance(saved.get("memory"), bool):
            known["memory"] = saved["memory"]
        return replace(base, **known)

    def drawer_text(self, prompt: str) -> str:
        """The drawer's input: ``"{style}: {prompt}"`` when a style is set (as the original)."""
        style = self.style.strip()
        return f"{style}: {prompt}" if style else prompt


@dataclass(frozen=True)
class Limits:
    """When the game stops or pauses by itself."""

    rounds: int = 0
    """Stop after this many rounds in total (0 = endless)."""
    spend: float | None = None
    """Pause before a turn would take known spend past this many USD."""
    until_converged: bool = False
    """Stop when the chain converges or cycles (:func:`telestrations.drift.convergence`); it
    is detected and journalled either way."""
    converge_after: int = DEFAULT_K
    """``k``: near-identical captions in a row, or rounds back for a cycle."""


class Models(Protocol):
    """What the engine needs from the provider registry."""

    def drawer(self, model_id: str) -> Drawer: ...

    def guesser(self, model_id: str) -> Guesser: ...


PriceLookup = Callable[[str], "float | None"]
