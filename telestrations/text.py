"""Untrusted text, in one place and without Textual: cleaning for terminals, redaction of secrets.

Every text that came from outside the program (captions, error bodies, model names a server
listed, prompts from flags, files or a past game's journal) is *cleaned* before a terminal
shows it: escape sequences, control characters and bidi overrides are removed so it cannot
retitle, blank or restyle anything. Every record that leaves the process (journal, stdout,
logs, UI, exports) is *redacted*: known secrets are replaced by ``***``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

MIN_SECRET = 4
"""Secrets shorter than this are not redacted: replacing every "ab" would shred the text."""

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
        limit: Cut to this many characters (an error body can be a whole HTML page); 0 = no cut.
    """
    text = _ESCAPES.sub("", text)
    out = []
    for ch in text:
        if ch in "\n\t":
            out.append(" " if oneline or ch == "\t" else ch)
        elif ch in _BIDI or unicodedata.category(ch) == "Cc":
            continue
        elif oneline and ch.isspace():
            out.append(" ")
        else:
            out.append(ch)
    result = "".join(out)
    if oneline:
        result = _SPACES.sub(" ", result).strip()
    if limit > 0 and len(result) > limit:
        result = result[: max(limit - 1, 0)].rstrip() + "…"
    return result


def clean_text(text: str, limit: int = 500) -> str:
    """One line of cleaned text, cut to ``limit`` characters (for messages and notes)."""
    return clean(text, oneline=True, limit=limit)


def _secret_forms(secrets: Iterable[str]) -> list[str]:
    out = {s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET}
    return sorted(out, key=len, reverse=True)  # longest first: a key that contains another


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (so also ``Bearer <secret>``) replaced by ``***``."""
    for secret in _secret_forms(secrets):
        text = text.replace(secret, "***")
    return text


def redact_bytes(data: bytes, secrets: Iterable[str]) -> bytes:
    for secret in _secret_forms(secrets):
        data = data.replace(secret.encode(), b"***")
    return data


def redact_json(value: Any, secrets: Iterable[str]) -> Any:
    """A JSON-like value with every string (keys included) redacted."""
    secrets = tuple(secrets)
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, list):
        return [redact_json(v, secrets) for v in value]
    if isinstance(value, dict):
        return {redact(str(k), secrets): redact_json(v, secrets) for k, v in value.items()}
    return value
