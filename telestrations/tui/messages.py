"""Textual messages for game events: the engine's events, posted into the UI's message queue.

The engine calls its subscribers synchronously from the game worker; the subscriber only
posts one of these, so all UI work happens in the message handlers. Every turn a message
reports is already on disk (the engine journals before it emits).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from textual.message import Message

from telestrations.game import (
    CaptionGrowing,
    CaptionReady,
    Event,
    PictureReady,
    StateChanged,
    TurnFailed,
    TurnProgress,
    TurnStarted,
)
from telestrations.turns import TurnRecord


@dataclass
class GameMessage(Message):
    """Base: which game (by serial number) the event came from, to drop stale ones."""

    game_serial: int


@dataclass
class TurnBegan(GameMessage):
    """A provider call started."""

    event: TurnStarted


@dataclass
class TurnRecorded(GameMessage):
    """A turn finished, failed or succeeded, and is journalled."""

    record: TurnRecord
    image: Path | None = None
    """The image file, for a draw that succeeded."""
    handled: Callable[[], None] | None = None
    """Called once the screen has handled it (:class:`~telestrations.tui.game_control.Backlog`)."""


@dataclass
class CaptionSoFar(GameMessage):
    """A streaming guesser's caption so far, shown on its round's card until it finishes."""

    event: CaptionGrowing
    newest: Callable[[], CaptionGrowing | None] | None = None
    """Where the newest caption so far waits (:class:`Newest`), when the sender coalesces:
    the handler shows that one (``None``: an earlier message already showed it)."""

    def take(self) -> CaptionGrowing | None:
        return self.newest() if self.newest is not None else self.event


class Newest:
    """The newest partial caption not yet shown, between the engine's thread and the UI's.

    A caption's events often arrive in one read: each was a message, a card update and a
    repaint request on the UI's thread (competing with the engine for the interpreter) for
    words nobody could read in that time. :meth:`put` says whether a message is needed: only
    when none is on its way; the one on its way shows the newest text when it is handled.
    Messages keep their order, so the finished turn's message still comes after it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._event: CaptionGrowing | None = None

    def put(self, event: CaptionGrowing) -> bool:
        with self._lock:
            first = self._event is None
            self._event = event
            return first

    def take(self) -> CaptionGrowing | None:
        with self._lock:
            event, self._event = self._event, None
            return event


@dataclass
class TurnProgressed(GameMessage):
    """The service said how far the turn in flight has got ("step 7/20")."""

    event: TurnProgress


@dataclass
class GameStateChanged(GameMessage):
    """The game went idle, running, paused or stopped."""

    state: str
    reason: str


def to_message(serial: int, event: Event) -> GameMessage:
    """The message for one engine event."""
    if isinstance(event, TurnStarted):
        return TurnBegan(serial, event)
    if isinstance(event, PictureReady):
        return TurnRecorded(serial, event.record, image=event.path)
    if isinstance(event, CaptionGrowing):
        return CaptionSoFar(serial, event)
    if isinstance(event, TurnProgress):
        return TurnProgressed(serial, event)
    if isinstance(event, CaptionReady):
        return TurnRecorded(serial, event.record)
    if isinstance(event, TurnFailed):
        return TurnRecorded(serial, event.record)
    assert isinstance(event, StateChanged)
    return GameStateChanged(serial, event.state, event.reason)
