"""Untrusted text (captions, error bodies, model names from config) made safe to display.

Model output is shown as plain text: never parsed as markup, with control characters and
terminal escape sequences removed, so a caption cannot restyle the UI, open links or move
the cursor. Text fields take one line of such text (:class:`PlainInput`), and
:class:`NoControlCodes`, a line filter on the whole app, is the last line of defence: no
character a terminal would act on leaves a rendered line, whichever widget drew it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from rich.segment import Segment
from textual import events
from textual.color import Color
from textual.content import Content
from textual.filter import LineFilter
from textual.widgets import Input

from telestrations.text import SECRETS, clean

__all__ = [
    "InOrderInput",
    "NoControlCodes",
    "PlainInput",
    "clean",
    "one_line",
    "plain",
    "plain_segments",
]


def plain(text: str, style: str = "", *, oneline: bool = False, limit: int = 2000) -> Content:
    """A :class:`~textual.content.Content` of cleaned ``text``: plain characters, never markup.

    ``style`` is ours (may use theme variables such as ``$accent``); ``text`` is never parsed.
    The same text is cleaned once (the status line shows the model and folder on every
    spinner tick, each card its captions on every change): ``Content`` is immutable, and the
    cache is keyed on the secrets known too, so a key added later is never served unredacted.
    """
    return _plain(text, style, oneline, limit, SECRETS.forms)


@functools.lru_cache(maxsize=1024)
def _plain(text: str, style: str, oneline: bool, limit: int, secrets: object) -> Content:
    return Content.styled(clean(text, oneline=oneline, limit=limit), style)


def one_line(text: str) -> str:
    """``text`` for a one-line field: each line break becomes a space (a pasted paragraph is
    kept whole), escape sequences and control characters go; spaces are kept as typed."""
    return clean(" ".join(text.splitlines()), limit=0)


class InOrderInput(Input):
    """An :class:`Input` whose own keys (Ctrl+U, Backspace, arrows…) act in the order typed.

    Textual runs a widget's non-priority bindings only once the key has bubbled from the
    widget up to the app, one message queue at a time, while the printable keys behind it are
    inserted straight from the widget's queue. Typed fast (a paste, tmux ``send-keys``, a
    loaded machine), Ctrl+U followed by a prompt deleted the prompt it came before. Here the
    field's own bindings run as its keys arrive, in order; other keys go on as before."""

    async def _on_key(self, event: events.Key) -> None:
        chain = self.screen._binding_chain  # the field's bindings with the user's keymap
        if chain and chain[0][0] is self:
            for binding in chain[0][1].key_to_bindings.get(event.key, ()):
                if not binding.priority and await self.app.run_action(binding.action, self):
                    event.stop()
                    event.prevent_default()
                    return
        await super()._on_key(event)


class PlainInput(InOrderInput):
    """An :class:`Input` whose value is always :func:`one_line` text, however it got there:
    the constructor (a prompt from ``--prompt``, the state file or a past game), code setting
    ``value``, typing or a paste. A newline would break the field's border, an escape sequence
    would reach the terminal as it is drawn."""

    def validate_value(self, value: str) -> str:
        return one_line(value)

    def replace(self, text: str, start: int, end: int) -> None:
        # Cleaned before Input places the cursor after it, so the cursor lands right.
        super().replace(one_line(text), start, end)

    def _on_paste(self, event: events.Paste) -> None:
        # Input keeps only the first line of a paste; a multi-line prompt is joined instead.
        event.prevent_default()  # not Input's handler too
        event.stop()
        if not event.text:
            return
        self.replace(event.text, *self.selection)


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""C0, DEL, C1 and bidi controls: all zero cells wide, so dropping them keeps the layout."""


class NoControlCodes(LineFilter):
    """Drops control characters (C0, C1, bidi) from the text of every rendered segment.

    They take no cells, so the line keeps its width. Segments marked as control (a sixel
    image's data) are Textual's own output and pass untouched.
    """

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        search = _CONTROL.search
        if not any(search(s.text) for s in segments if not s.control):
            return segments
        out = []
        for s in segments:
            if s.control or not search(s.text):
                out.append(s)
            elif text := _CONTROL.sub("", s.text):
                out.append(Segment(text, s.style))
        return out


def plain_segments(segments: Iterable[Segment]) -> list[Segment]:
    """Rich output printed outside Textual (the crash report): line breaks kept, every other
    control character dropped from the text; control segments (Rich's own) kept."""
    out = []
    for s in segments:
        if s.control or not _CONTROL.search(s.text):
            out.append(s)
        else:
            lines = [_CONTROL.sub("", part) for part in s.text.split("\n")]
            out.append(Segment("\n".join(lines), s.style))
    return out
