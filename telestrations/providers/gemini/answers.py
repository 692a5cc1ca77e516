"""Reading Gemini's answers (``GenerateContentResponse``, 11.4): parts, images, text,
refusals, and the streamed events; and the picture as the request carries it."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from telestrations.providers.base import Picture, ProviderError
from telestrations.providers.http import SseDecoder, StreamWatcher, b64, decode_base64_image
from telestrations.providers.pixels import decode_reduced
from telestrations.text import clean_text

CAPTION_LIMIT = 2000
RESEND_SIDE = 2048
SEND_FORMATS = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}

REFUSAL_FINISHES = frozenset(
    {
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
        "IMAGE_OTHER",
        "NO_IMAGE",
        "SAFETY",
        "PROHIBITED_CONTENT",
        "BLOCKLIST",
        "SPII",
        "RECITATION",
        "LANGUAGE",
        "OTHER",
    }
)
"""Finish reasons that mean "the model would not" (11.4); ``STOP`` is normal."""

_DATA_URI_IN_TEXT = re.compile(r"data:image/[a-z0-9.+-]+;base64,[A-Za-z0-9+/_=-]+", re.I)


def parts_of(response: Any) -> tuple[list[dict[str, Any]], str, str]:
    """The first candidate's parts, its finish reason and finish message."""
    cands = response.get("candidates") if isinstance(response, dict) else None
    cand = cands[0] if isinstance(cands, list) and cands and isinstance(cands[0], dict) else {}
    content = cand.get("content")
    if not isinstance(content, dict):
        content = {}
    parts = [p for p in content.get("parts") or () if isinstance(p, dict)]
    return parts, str(cand.get("finishReason") or ""), str(cand.get("finishMessage") or "")


def blocked(response: Any, who: str) -> ProviderError | None:
    """``promptFeedback.blockReason`` as a refusal, or None."""
    feedback = response.get("promptFeedback") if isinstance(response, dict) else None
    if not isinstance(feedback, dict) or not feedback.get("blockReason"):
        return None
    reason, said = feedback["blockReason"], feedback.get("blockReasonMessage")
    message = f"{who} blocked the prompt ({clean_text(str(reason), 40)})"
    if isinstance(said, str) and said.strip():
        message += f": {clean_text(said, 200)}"
    return ProviderError("refused", message)


def _inline(part: Mapping[str, Any]) -> Mapping[str, Any] | None:
    data = part.get("inlineData", part.get("inline_data"))
    return data if isinstance(data, dict) else None


def image_of(parts: list[dict[str, Any]]) -> bytes | None:
    """The last non-thought inline image; else a ``data:`` URI inside text (some proxies)."""
    for part in reversed(parts):
        if part.get("thought") is True:
            continue
        inline = _inline(part)
        if inline is not None and isinstance(inline.get("data"), str):
            return decode_base64_image(inline["data"])
    for part in reversed(parts):
        text = part.get("text")
        if part.get("thought") is not True and isinstance(text, str):
            match = _DATA_URI_IN_TEXT.search(text)
            if match:
                return decode_base64_image(match.group(0))
    return None


def text_of(parts: list[dict[str, Any]]) -> str:
    """The answer's text: every non-thought text part, joined."""
    return "".join(
        p["text"] for p in parts if p.get("thought") is not True and isinstance(p.get("text"), str)
    )


def parse_events(body: bytes) -> list[Any]:
    """Every event of an ``alt=sse`` body as JSON (a JSON array, sent without ``alt=sse``,
    too); an event that is not JSON is a ``bad_response``."""
    text = body.decode("utf-8", "replace")
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        try:
            data = json.loads(stripped)
        except ValueError:
            data = None
        if data is not None:
            return data if isinstance(data, list) else [data]
    decoder = SseDecoder()
    events: list[Any] = []
    for _event, data in decoder.feed(text) + decoder.close():
        try:
            events.append(json.loads(data))
        except ValueError:
            raise ProviderError(
                "bad_response",
                f"Gemini sent a stream event that is not JSON: {clean_text(data, 120)}",
            ) from None
    return events


def _event_text(event: Any) -> str:
    return text_of(parts_of(event)[0])


def caption_watcher(report: Callable[[str], None]) -> StreamWatcher:
    """Shows the caption while the events arrive; thoughts skipped (the whole body decides)."""
    return StreamWatcher(report, _event_text, framing="sse", limit=CAPTION_LIMIT)


def inline_image(picture: Picture) -> dict[str, str]:
    """``{mimeType, data}``; a format Gemini does not take (GIF) is sent as PNG."""
    mime = SEND_FORMATS.get(picture.format)
    data = picture.data
    if mime is None:
        im = decode_reduced(data, (RESEND_SIDE, RESEND_SIDE))
        im.thumbnail((RESEND_SIDE, RESEND_SIDE))
        buf = io.BytesIO()
        im.convert("RGBA").save(buf, "PNG")
        data, mime = buf.getvalue(), "image/png"
    return {"mimeType": mime, "data": b64.encode(data)}
