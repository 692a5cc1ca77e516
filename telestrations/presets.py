"""Guesser presets: named system + user prompt pairs that give the game its character.

Each preset still asks for a description of the picture (what is there, where, what colour),
because the caption is all the drawer gets next: a preset that stops describing ends the game.
Built-ins are data here; config adds user presets (``[presets.NAME]``), which may replace a
built-in of the same name. A :class:`~telestrations.rules.Settings` carries the preset's *name*
next to its texts, and :func:`label` keeps the two honest: texts edited by hand are "custom"
(name ``""``), so a journal never credits a preset with words it did not send.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from telestrations.rules import DEFAULT_GUESSER_PROMPT, DEFAULT_GUESSER_SYSTEM, Settings

__all__ = [
    "BUILTIN",
    "DEFAULT_PRESET",
    "NAME",
    "Preset",
    "UnknownPreset",
    "apply",
    "find",
    "label",
    "table",
]


@dataclass(frozen=True)
class Preset:
    name: str
    system: str
    prompt: str
    about: str = ""
    """One line for menus and ``--help``: what playing with it is like."""
    builtin: bool = True


class UnknownPreset(ValueError):
    """A preset name no table has; the message suggests the closest one."""


NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
"""What a preset name may be: it is typed on the command line and shown in one cell."""

DEFAULT_PRESET = "ten-words"

_BUILTIN = [
    Preset(
        "ten-words",
        DEFAULT_GUESSER_SYSTEM,
        DEFAULT_GUESSER_PROMPT,
        "the original game: up to ten words, fast drift",
    ),
    Preset(
        "faithful",
        "You are playing a picture-telephone game. The next player will redraw the picture from "
        "your words alone, without seeing it, so describe exactly what is drawn, not what it "
        "might mean.",
        "Describe this picture in one sentence of at most 30 words so it can be redrawn: the "
        "main subject, how many there are, their colours, what they are doing, where they are "
        "in the picture, and the setting. Do not mention the drawing style.",
        "a careful description meant to survive the redraw: slow drift",
    ),
    Preset(
        "funnier",
        "You are the funniest player at a picture-guessing party. You always say what is "
        "really in the picture, but you see the comic side of it.",
        "Describe this picture in one sentence of at most 20 words as a funny scene: keep the "
        "subject, its colours and the setting recognisable, and add one absurd, drawable twist.",
        "what is there, with one absurd twist each round",
    ),
    Preset(
        "scarier",
        "You are playing a picture-guessing game by a campfire at midnight, and every picture "
        "looks a little sinister to you.",
        "Describe this picture in one sentence of at most 20 words as a scene from a ghost "
        "story: keep what is drawn and where it is, and make the mood ominous in ways that "
        "can be drawn (shadows, night, fog, eyes).",
        "the same scene, a little more ominous each round",
    ),
    Preset(
        "opposite",
        "You are the contrarian in a picture-guessing game: you name what you see, then turn "
        "it into its opposite.",
        "Describe the opposite of this picture in one sentence of at most 20 words: day "
        "becomes night, big becomes small, happy becomes sad, one becomes many. Name concrete "
        "things that can be drawn.",
        "every caption flips the picture: day to night, big to small",
    ),
    Preset(
        "child",
        "You are a five-year-old playing a drawing game with your family. You use short, "
        "simple words and say what you see with confidence, even when you are not sure.",
        "What is in this picture? Say it like a five-year-old would, in one short sentence of "
        "at most 12 words.",
        "a five-year-old's guess: simple words, bold guesses",
    ),
]
BUILTIN: Mapping[str, Preset] = {p.name: p for p in _BUILTIN}


def table(user: Mapping[str, Preset] | None = None) -> dict[str, Preset]:
    """Built-ins, then the user's (a user preset of a built-in's name replaces it)."""
    return {**BUILTIN, **(user or {})}


def find(name: str, presets: Mapping[str, Preset] | None = None) -> Preset:
    """The preset ``name``, or :class:`UnknownPreset` with a did-you-mean and the list."""
    known = table() if presets is None else presets
    found = known.get(name)
    if found is not None:
        return found
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise UnknownPreset(f"unknown guesser preset {name!r}{hint} (presets: {', '.join(known)})")


def apply(settings: Settings, preset: Preset) -> Settings:
    """``settings`` with the guesser asked as ``preset`` asks."""
    return replace(
        settings, preset=preset.name, guesser_system=preset.system, guesser_prompt=preset.prompt
    )


def label(settings: Settings, presets: Mapping[str, Preset] | None = None) -> Settings:
    """``settings`` with ``preset`` naming the preset whose texts it holds: its own name if
    those texts still match, else the first preset that matches, else ``""`` (custom)."""
    known = table() if presets is None else presets

    def matches(p: Preset | None) -> bool:
        return (
            p is not None
            and p.system == settings.guesser_system
            and p.prompt == settings.guesser_prompt
        )

    if settings.preset and matches(known.get(settings.preset)):
        return settings
    name = next((p.name for p in known.values() if matches(p)), "")
    return settings if name == settings.preset else replace(settings, preset=name)
