"""JSON bodies with a megabyte string in them (a base64 image), without scanning it.

A 1.5 MB image travels as one base64 string: ``json.dumps`` escape-scans it going out and
``json.loads`` scans it coming in, ~5-6 ms each on the event loop per turn. Base64 never
needs escaping, so going out it is checked in one C pass and spliced into the encoded text;
coming in it is cut out of the body before parsing and put back after. Both give exactly
what the plain ``json`` calls would.
"""

from __future__ import annotations

import json as jsonlib
import random
import re
from collections.abc import Mapping
from typing import Any

SPLICE_MIN = 64 * 1024
"""Strings shorter than this go through ``json`` as usual."""


class JsonSafe(str):
    """Text already known to need no JSON escaping (base64 that a strict decode accepted, a
    data URI made of it): :func:`json_body` splices it in without scanning 1-2 MB for quotes
    and control characters (~2 ms). Only make one from such text."""

    __slots__ = ()


class Spliced:
    """A JSON string made of escape-free pieces (a data URI: its short prefix and a picture's
    base64) that :func:`json_body` writes into the body one after the other: joining them
    first would copy 2 MB twice more (~0.1-0.3 ms each, on the round's critical path)."""

    __slots__ = ("pieces",)

    def __init__(self, *pieces: JsonSafe) -> None:
        if not all(isinstance(p, JsonSafe) for p in pieces):
            raise TypeError("Spliced takes JsonSafe pieces only")
        self.pieces = pieces

    def __str__(self) -> str:
        return "".join(self.pieces)

    def __eq__(self, other: object) -> bool:
        return str(self) == (str(other) if isinstance(other, Spliced | str) else other)

    def __hash__(self) -> int:
        return hash(str(self))


_NEEDS_ESCAPE = bytes(range(32)) + b'"\\'
_COLON_QUOTE = re.compile(rb'\s*:\s*"')


def json_body(value: Any) -> bytes:
    """``value`` as compact JSON, byte for byte as httpx's ``json=`` would send it, with
    every big escape-free string spliced in as it is instead of escape-scanned."""
    big: list[tuple[bytes, ...]] = []
    marker = f"\u2063splice-{random.getrandbits(64):016x}-"

    def swap(v: Any) -> Any:
        if isinstance(v, Spliced):
            big.append(tuple(p.encode("ascii") for p in v.pieces))
            return f"{marker}{len(big) - 1}"
        if isinstance(v, str) and len(v) >= SPLICE_MIN and v.isascii():
            raw = v.encode("ascii")
            if isinstance(v, JsonSafe) or len(raw.translate(None, _NEEDS_ESCAPE)) == len(raw):
                big.append((raw,))
                return f"{marker}{len(big) - 1}"
            return v
        if isinstance(v, Mapping):
            return {k: swap(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [swap(x) for x in v]
        return v

    swapped = swap(value)
    text = jsonlib.dumps(swapped, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    out = text.encode("utf-8")
    if not big:
        return out
    parts: list[bytes] = []  # joined once: each big string is copied once, not per replace
    for i, raw in enumerate(big):  # json.dumps keeps the order they were swapped in
        head, found, out = out.partition(f'"{marker}{i}"'.encode())
        if not found:  # cannot happen; never send a body with a marker in it
            return jsonlib.dumps(plain(value), ensure_ascii=False, separators=(",", ":")).encode()
        parts += [head, b'"', *raw, b'"']
    parts.append(out)
    return b"".join(parts)


def plain(value: Any) -> Any:
    """``value`` with every :class:`Spliced` made a plain string (for ``json.dumps``)."""
    if isinstance(value, Spliced):
        return str(value)
    if isinstance(value, Mapping):
        return {k: plain(x) for k, x in value.items()}
    if isinstance(value, list | tuple):
        return [plain(x) for x in value]
    return value


def loads_lifted(body: bytes, key: str) -> Any:
    """``json.loads(body)``, with the first big, escape-free string under ``key`` cut out
    before parsing and put back after (the same result, without scanning it)."""
    name = b'"' + key.encode() + b'"'
    at = body.find(name)
    colon = _COLON_QUOTE.match(body, at + len(name)) if at >= 0 else None
    if colon is None:
        return jsonlib.loads(body)
    start = colon.end()
    end = body.find(b'"', start)
    if end - start < SPLICE_MIN or body.find(b"\\", start, end) >= 0:
        return jsonlib.loads(body)
    try:
        value = str(memoryview(body)[start:end], "ascii")  # one copy, not a slice and a copy
    except UnicodeDecodeError:
        return jsonlib.loads(body)
    data = jsonlib.loads(body[:start] + body[end:])

    def put(node: Any) -> bool:  # the first empty ``key`` in document order is the cut one
        if isinstance(node, dict):
            for k, v in node.items():
                if k == key and v == "":
                    node[k] = value
                    return True
                if put(v):
                    return True
        elif isinstance(node, list):
            return any(put(v) for v in node)
        return False

    return data if put(data) else jsonlib.loads(body)
