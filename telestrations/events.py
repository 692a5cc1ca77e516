"""What the engine tells its subscribers (the TUI turns them into messages, the headless
runner into lines): frozen dataclasses, one per thing that happened."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from telestrations.providers.base import Picture, Progress, ProviderError
from telestrations.turns import TurnKind, TurnRecord

__all__ = [
    "CaptionGrowing",
    "CaptionReady",
    "Event",
    "GameState",
    "PictureReady",
    "StateChanged",
    "Subscriber",
    "TurnFailed",
    "TurnProgress",
    "TurnStarted",
]

GameState = Literal["idle", "running", "paused", "stopped"]


@dataclass(frozen=True)
class TurnStarted:
    round: int
    kind: TurnKind
    model: str
    input: str
    started_at: float = field(default_factory=time.monotonic)
    """``time.monotonic()`` when the call began, for live elapsed-time displays."""


@dataclass(frozen=True)
class PictureReady:
    record: TurnRecord
    path: Path
    picture: Picture


@dataclass(frozen=True)
class CaptionGrowing:
    """A streaming guesser's caption so far (not journalled: only the finished turn is)."""

    round: int
    model: str
    text: str


@dataclass(frozen=True)
class TurnProgress:
    """How far the call in flight has got, when its service says (not journalled)."""

    round: int
    kind: TurnKind
    model: str
    progress: Progress


@dataclass(frozen=True)
class CaptionReady:
    record: TurnRecord


@dataclass(frozen=True)
class TurnFailed:
    record: TurnRecord
    error: ProviderError


@dataclass(frozen=True)
class StateChanged:
    state: GameState
    reason: str = ""


Event = (
    TurnStarted
    | PictureReady
    | CaptionGrowing
    | TurnProgress
    | CaptionReady
    | TurnFailed
    | StateChanged
)
Subscriber = Callable[[Event], None]
