"""OpenAI-style chat streaming: the caption shown as it arrives, and the finished event
stream assembled into the one ``chat.completion`` shape the guesser parses."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from telestrations.providers.base import ProviderError
from telestrations.providers.http import HttpResult, SseDecoder, StreamWatcher
from telestrations.text import clean_text

CAPTION_LIMIT = 2000
STREAM_HINT = (
    "try again; if this server never ends its streams with `data: [DONE]`, "
    "set stream = false under [providers.openai]"
)


def _delta_of(chunk: Any) -> Mapping[str, Any] | None:
    """The first choice's ``delta`` of a ``chat.completion.chunk`` (``n`` is always 1)."""
    choices = chunk.get("choices") if isinstance(chunk, dict) else None
    if not isinstance(choices, list):
        return None
    for choice in choices:
        if isinstance(choice, dict) and choice.get("index", 0) == 0:
            delta = choice.get("delta")
            return delta if isinstance(delta, dict) else None
    return None


def _content_of(chunk: Any) -> str | None:
    delta = _delta_of(chunk)
    piece = delta.get("content") if delta is not None else None
    return piece if isinstance(piece, str) else None


def chat_watcher(report: Callable[[str], None]) -> StreamWatcher:
    """A watcher for a chat completion's event stream, reporting the caption so far."""
    return StreamWatcher(report, _content_of, framing="sse", limit=CAPTION_LIMIT)


def is_event_stream(result: HttpResult) -> bool:
    """Whether a chat answer is server-sent events rather than one JSON object."""
    ctype = result.headers.get("content-type", "").lower()
    if "text/event-stream" in ctype:
        return True
    if "json" in ctype:
        return False
    start = result.body.lstrip()[:6]
    return start.startswith((b"data:", b"event:", b":"))


def parse_stream(body: bytes, who: str) -> dict[str, Any]:
    """A streamed chat answer assembled into the non-streamed ``chat.completion`` shape.

    The caption is the concatenated ``delta.content``, a refusal the concatenated
    ``delta.refusal``; ``finish_reason`` and ``usage`` come from whichever chunk carries them.
    An error event comes back as ``{"error": ...}`` for the caller to map; a stream that stops
    before ``data: [DONE]`` is a ``bad_response``.
    """
    decoder = SseDecoder()
    events = decoder.feed(body.decode("utf-8", "replace")) + decoder.close()
    if not events:
        raise ProviderError("bad_response", f"{who} sent an empty answer stream", hint=STREAM_HINT)
    content: list[str] = []
    refusal: list[str] = []
    finish: Any = None
    usage: Any = None
    model: Any = None
    done = False
    for event, data in events:
        if data.strip() == "[DONE]":
            done = True
            break
        try:
            obj = json.loads(data)
        except ValueError:
            if event == "error":
                return {"error": {"message": data}}
            shown = clean_text(data, 120)
            raise ProviderError(
                "bad_response", f"{who} sent a stream event that is not JSON: {shown}"
            ) from None
        if not isinstance(obj, dict):
            raise ProviderError("bad_response", f"{who} sent an unexpected stream event")
        if obj.get("error") or obj.get("object") == "error" or event == "error":
            return {"error": obj.get("error") or obj}  # vLLM's older errors are flat
        model = obj.get("model") or model
        if isinstance(obj.get("usage"), dict):
            usage = obj["usage"]
        for choice in obj.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta: dict[str, Any] = choice["delta"] if isinstance(choice.get("delta"), dict) else {}
            if isinstance(delta.get("content"), str):
                content.append(delta["content"])
            if isinstance(delta.get("refusal"), str):
                refusal.append(delta["refusal"])
            finish = choice.get("finish_reason") or finish
    if not done:
        raise ProviderError(
            "bad_response",
            f"{who}'s answer stream stopped before it was complete (no `data: [DONE]`)",
            hint=STREAM_HINT,
        )
    message = {"role": "assistant", "content": "".join(content), "refusal": "".join(refusal)}
    return {
        "object": "chat.completion",
        "model": model,
        "choices": [{"index": 0, "finish_reason": finish, "message": message}],
        "usage": usage,
    }
