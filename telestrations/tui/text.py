"""Untrusted text (captions, error bodies, model names from config) made safe to display.

Model output is shown as plain text: never parsed as markup, with control characters and
terminal escape sequences removed, so a caption cannot restyle the UI, open links or move
the cursor.
"""

from __future__ import annotations

from textual.content import Content

from telestrations.text import clean

__all__ = ["clean", "plain"]


def plain(text: str, style: str = "", *, oneline: bool = False, limit: int = 2000) -> Content:
    """A :class:`~textual.content.Content` of cleaned ``text``: plain characters, never markup.

    ``style`` is ours (may use theme variables such as ``$accent``); ``text`` is never parsed.
    """
    return Content.styled(clean(text, oneline=oneline, limit=limit), style)
