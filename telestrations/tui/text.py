"""Untrusted text (captions, error bodies, model names from config) made safe to display.

Model output is shown as plain text: never parsed as markup, with control characters and
terminal escape sequences removed, so a caption cannot restyle the UI, open links or move
the cursor.
"""

from __future__ import annotations

import re
import unicodedata

from textual.content import Content

_ESCAPES = re.compile(
    r"""
      \x1b\[[0-?]*[ -/]*[@-~]                 # CSI ... final byte
    | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?      # OSC ... BEL or ST
    | \x1b[PX^_][^\x1b]*(?:\x1b\\)?           # DCS, SOS, PM, APC ... ST
    | \x1b[ -/]*[0-~]                         # other ESC sequences
    | \x9b[0-?]*[ -/]*[@-~]                   # 8-bit CSI
    | \x1b                                    # a lone ESC
    """,
    re.VERBOSE,
)
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
_SPACES = re.compile(r"[ \t]+")


def clean(text: str, *, oneline: bool = False, limit: int = 2000) -> str:
    """``text`` without escape sequences, control characters or bidi overrides.

    Args:
        text: Untrusted text.
        oneline: Fold newlines and tabs into single spaces.
        limit: Cut to this many characters (an error body can be a whole HTML page).
    """
    text = _ESCAPES.sub("", text)
    out = []
    for ch in text:
        if ch in "\n\t":
            out.append(" " if oneline or ch == "\t" else ch)
        elif ch in _BIDI or unicodedata.category(ch) == "Cc":
            continue
        else:
            out.append(ch)
    result = "".join(out)
    if oneline:
        result = _SPACES.sub(" ", result).strip()
    if len(result) > limit:
        result = result[: limit - 1] + "…"
    return result


def plain(text: str, style: str = "", *, oneline: bool = False, limit: int = 2000) -> Content:
    """A :class:`~textual.content.Content` of cleaned ``text``: plain characters, never markup.

    ``style`` is ours (may use theme variables such as ``$accent``); ``text`` is never parsed.
    """
    return Content.styled(clean(text, oneline=oneline, limit=limit), style)
