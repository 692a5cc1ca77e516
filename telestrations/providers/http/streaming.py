"""Streamed replies: server-sent events (OpenAI-style chat) and NDJSON (Ollama), decoded as
they arrive by one :class:`StreamWatcher`, so a caption can be shown while it is written."""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable
from typing import Any, Literal

from telestrations.text import clean_text

Framing = Literal["sse", "ndjson"]


class SseDecoder:
    """Server-sent events from text fed in pieces: ``(event, data)`` per dispatched event.

    Follows the WHATWG rules that matter here: CR, LF or CRLF end a line; ``:`` starts a
    comment (OpenRouter's keep-alives); several ``data:`` lines of one event join with LF; a
    blank line dispatches. :meth:`close` dispatches an event the body ended without a blank
    line after, since a finished HTTP body cannot grow any more.
    """

    def __init__(self) -> None:
        self._pending = ""
        self._event = ""
        self._data: list[str] = []

    def feed(self, text: str) -> list[tuple[str, str]]:
        buf = self._pending + text
        held = ""
        if buf.endswith("\r"):  # maybe half of a CRLF split across two pieces
            buf, held = buf[:-1], "\r"
        lines = buf.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self._pending = lines.pop() + held
        out: list[tuple[str, str]] = []
        for line in lines:
            self._line(line, out)
        return out

    def close(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        rest, self._pending = self._pending.rstrip("\r"), ""
        if rest:
            self._line(rest, out)
        self._line("", out)
        return out

    def _line(self, line: str, out: list[tuple[str, str]]) -> None:
        if not line:
            if self._data:
                out.append((self._event or "message", "\n".join(self._data)))
            self._event, self._data = "", []
            return
        if line.startswith(":"):
            return
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value


class StreamWatcher:
    """Follows a streamed reply as it arrives and reports the caption so far.

    Only for display: the finished body is parsed again by the provider, so an event this
    skips (or misreads) can never change the recorded caption. ``piece`` picks the new text
    out of one decoded event (``None`` when it has none).
    """

    def __init__(
        self,
        report: Callable[[str], None],
        piece: Callable[[Any], str | None],
        *,
        framing: Framing = "sse",
        limit: int = 2000,
    ) -> None:
        self.report = report
        self.piece = piece
        self.framing = framing
        self.limit = limit
        self._reset()

    def _reset(self) -> None:
        self._decode = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._sse = SseDecoder()
        self._pending = b""
        self._text: list[str] = []
        self._shown = ""

    def _events(self, chunk: bytes) -> list[str]:
        if self.framing == "sse":
            return [data for _event, data in self._sse.feed(self._decode.decode(chunk))]
        *lines, self._pending = (self._pending + chunk).split(b"\n")
        return [line.decode("utf-8", "replace") for line in lines]

    def __call__(self, chunk: bytes) -> None:
        if not chunk:  # a retry starts over
            self._reset()
            return
        for data in self._events(chunk):
            try:
                obj = json.loads(data)
            except ValueError:
                continue  # [DONE], or something the final parse will complain about
            piece = self.piece(obj)
            if isinstance(piece, str) and piece:
                self._text.append(piece)
        shown = clean_text("".join(self._text), self.limit)
        if shown and shown != self._shown:
            self._shown = shown
            self.report(shown)
