"""A protocol-faithful fake of the Gemini Developer API (PROTOCOLS.md 11) on 127.0.0.1.

Like the real service: the key must come as ``x-goog-api-key`` (a wrong one gets 400
``INVALID_ARGUMENT`` with ``ErrorInfo.reason = API_KEY_INVALID``); ``GET /v1beta/models`` pages
with ``nextPageToken`` (at most ``page_cap`` a page, whatever ``pageSize`` asks) and names
models ``models/…``; ``:generateContent`` and ``:streamGenerateContent?alt=sse`` accept camelCase
and snake_case keys but reject unknown ones (``Invalid JSON payload received. Unknown name``);
an unknown model is 404 ``NOT_FOUND``. Image models answer a thought part (and, for Pro, a
thought draft image) before the final ``inlineData`` PNG, with ``usageMetadata`` split by
modality; vision models stream a thought part, then the caption in pieces, the last event
carrying ``finishReason`` and usage. Thinking spends ``maxOutputTokens``: a small cap ends
``MAX_TOKENS`` with no text. Prompts containing ``BLOCKME`` are blocked
(``promptFeedback.blockReason``), ``UNSAFE`` ends ``IMAGE_SAFETY`` with no image.

``slow_stream`` makes the stream route send its events ``slow_stream`` seconds apart on the raw
connection and record in ``dropped`` when the client hangs up mid-answer.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import time
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from PIL import Image, ImageDraw

from tests.fakes.server import FakeAPI, Reply, Request, json_reply

KEY = "AIzaSy-fake-GEMINI-key-0123456789abcdef"
IMAGE_MODELS = ("gemini-nano-banana-2.1", "gemini-3-pro-image", "gemini-3.1-flash-lite-image")
VISION_MODELS = ("gemini-3.8-flash", "gemini-3.6-flash", "gemini-3.5-flash-lite")
OTHER_MODELS = ("gemini-embedding-001", "text-embedding-004")
CAPTION = "A lighthouse drawn in thick black ink beside a wavy sea"
THOUGHT_TOKENS = 400
"""What "thinking" costs a vision answer: a ``maxOutputTokens`` below this leaves no text."""

_CONTENT_KEYS = {"role", "parts"}
_PART_KEYS = {"text", "inlineData", "inline_data", "thought", "thoughtSignature"}
_INLINE_KEYS = {"mimeType", "mime_type", "data"}
_TOP_KEYS = {
    "contents",
    "generationConfig",
    "generation_config",
    "systemInstruction",
    "system_instruction",
    "safetySettings",
    "safety_settings",
}
_CONFIG_KEYS = {
    "responseModalities",
    "response_modalities",
    "imageConfig",
    "image_config",
    "maxOutputTokens",
    "max_output_tokens",
    "thinkingConfig",
    "thinking_config",
    "candidateCount",
    "candidate_count",
}
_IMAGE_CONFIG_KEYS = {"aspectRatio", "aspect_ratio", "imageSize", "image_size"}
_THINKING_KEYS = {"thinkingLevel", "thinking_level", "thinkingBudget", "thinking_budget"}
RATIOS = {"1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"}


def error(code: int, status: str, message: str, details: list[Any] | None = None) -> Reply:
    """The ``{error: {code, message, status, details}}`` shape (11.7)."""
    body: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details is not None:
        body["details"] = details
    return json_reply(code, {"error": body})


def bad_key() -> Reply:
    return error(
        400,
        "INVALID_ARGUMENT",
        "API key not valid. Please pass a valid API key.",
        [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            },
            {
                "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                "locale": "en-US",
                "message": "API key not valid. Please pass a valid API key.",
            },
        ],
    )


def rate_limited(delay: str = "1s", per_day: bool = False) -> Reply:
    """429 ``RESOURCE_EXHAUSTED`` with QuotaFailure, Help and RetryInfo, as the service sends."""
    quota = (
        "GenerateRequestsPerDayPerProjectPerModel-FreeTier"
        if per_day
        else "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"
    )
    return error(
        429,
        "RESOURCE_EXHAUSTED",
        "You exceeded your current quota, please check your plan and billing details.",
        [
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                    {
                        "quotaMetric": "generativelanguage.googleapis.com/"
                        "generate_content_free_tier_requests",
                        "quotaId": quota,
                        "quotaDimensions": {"location": "global", "model": "gemini-3.6-flash"},
                        "quotaValue": "250" if per_day else "10",
                    }
                ],
            },
            {
                "@type": "type.googleapis.com/google.rpc.Help",
                "links": [
                    {
                        "description": "Learn more about Gemini API quotas",
                        "url": "https://ai.google.dev/gemini-api/docs/rate-limits",
                    }
                ],
            },
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay},
        ],
    )


def png(seed: str, size: tuple[int, int] = (96, 96)) -> bytes:
    digest = hashlib.sha256(seed.encode()).digest()
    im = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(im)
    draw.ellipse((10, 10, size[0] - 10, size[1] - 10), outline=tuple(digest[:3]), width=4)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def model_entry(name: str) -> dict[str, Any]:
    methods = (
        ["embedContent", "countTokens"]
        if "embedding" in name
        else ["generateContent", "countTokens", "createCachedContent", "batchGenerateContent"]
    )
    return {
        "name": f"models/{name}",
        "version": "001",
        "displayName": name.replace("-", " ").title(),
        "description": f"The {name} model.",
        "inputTokenLimit": 1048576,
        "outputTokenLimit": 65536,
        "supportedGenerationMethods": methods,
        "temperature": 1,
        "topP": 0.95,
        "topK": 64,
        "maxTemperature": 2,
        "thinking": True,
    }


class FakeGemini(FakeAPI):
    def __init__(self, key: str = KEY, page_cap: int = 2) -> None:
        super().__init__()
        self.key = key
        self.page_cap = page_cap
        self.models = [*OTHER_MODELS[:1], *VISION_MODELS, *IMAGE_MODELS, OTHER_MODELS[1]]
        self.images: list[bytes] = []
        """Every final image sent, in order."""
        self.slow_stream = 0.0
        self.dropped = False

    # -- routes ----------------------------------------------------------------------------------
    def handle(self, req: Request) -> Reply:
        if req.header("x-goog-api-key") != self.key or "key" in req.query:
            return bad_key()
        if req.method == "GET" and req.path == "/v1beta/models":
            return self.listing(req)
        if req.method == "POST" and req.path.startswith("/v1beta/models/"):
            name, _, method = req.path.removeprefix("/v1beta/models/").partition(":")
            if method not in ("generateContent", "streamGenerateContent"):
                return error(404, "NOT_FOUND", f"Method {method} not found.")
            if name not in self.models or "embedding" in name:
                return error(
                    404,
                    "NOT_FOUND",
                    f"models/{name} is not found for API version v1beta, or is not supported "
                    "for generateContent. Call ListModels to see the list of available models "
                    "and their supported methods.",
                )
            problem = self.validate(req.json)
            if problem:
                return error(400, "INVALID_ARGUMENT", problem)
            events = self.answer(name, req.json)
            if method == "generateContent":
                return json_reply(200, merge(events))
            if req.query.get("alt") != ["sse"]:  # without alt=sse: one JSON array
                return json_reply(200, events)
            pieces = [f"data: {json.dumps(e)}\r\n\r\n".encode() for e in events]
            return Reply(200, pieces=pieces, headers={"Content-Type": "text/event-stream"})
        return error(404, "NOT_FOUND", "Not found.")

    def listing(self, req: Request) -> Reply:
        size = min(int(req.query.get("pageSize", ["50"])[0]), self.page_cap)
        start = int(req.query.get("pageToken", ["0"])[0] or 0)
        page = self.models[start : start + size]
        body: dict[str, Any] = {"models": [model_entry(n) for n in page]}
        if start + size < len(self.models):
            body["nextPageToken"] = str(start + size)
        return json_reply(200, body)

    def validate(self, body: Any) -> str:
        """The real server's "Unknown name" check, for every object we send."""

        def unknown(obj: Any, allowed: set[str], where: str) -> str:
            if not isinstance(obj, dict):
                return f"Invalid value at '{where}': not an object"
            for key in obj:
                if key not in allowed:
                    return (
                        f"Invalid JSON payload received. Unknown name \"{key}\" at '{where}': "
                        "Cannot find field."
                    )
            return ""

        checks = [unknown(body, _TOP_KEYS, "")]
        contents = body.get("contents") if isinstance(body, dict) else None
        if not isinstance(contents, list) or not contents:
            return "* GenerateContentRequest.contents: contents is not specified"
        for content in contents:
            checks.append(unknown(content, _CONTENT_KEYS, "contents[0]"))
            for part in content.get("parts") or ():
                checks.append(unknown(part, _PART_KEYS, "contents[0].parts[0]"))
                inline = part.get("inlineData", part.get("inline_data"))
                if inline is not None:
                    checks.append(unknown(inline, _INLINE_KEYS, "contents[0].parts[0].inline_data"))
        config = body.get("generationConfig", body.get("generation_config", {}))
        checks.append(unknown(config, _CONFIG_KEYS, "generation_config"))
        image = config.get("imageConfig", config.get("image_config"))
        if image is not None:
            checks.append(unknown(image, _IMAGE_CONFIG_KEYS, "generation_config.image_config"))
            ratio = image.get("aspectRatio", image.get("aspect_ratio"))
            if ratio is not None and ratio not in RATIOS:
                checks.append(f"Unsupported aspect ratio: {ratio}")
        thinking = config.get("thinkingConfig", config.get("thinking_config"))
        if thinking is not None:
            checks.append(unknown(thinking, _THINKING_KEYS, "generation_config.thinking_config"))
        system = body.get("systemInstruction", body.get("system_instruction"))
        if system is not None:
            checks.append(unknown(system, _CONTENT_KEYS, "system_instruction"))
        return next((c for c in checks if c), "")

    # -- answers ---------------------------------------------------------------------------------
    def answer(self, name: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        parts = body["contents"][-1]["parts"]
        text = " ".join(p["text"] for p in parts if "text" in p)
        config = body.get("generationConfig", {})
        modalities = config.get("responseModalities", ["TEXT"])
        usage: dict[str, Any] = {
            "promptTokenCount": 12 + 258 * sum("inlineData" in p for p in parts)
        }
        if "BLOCKME" in text:
            return [
                {
                    "promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
                    "usageMetadata": {**usage, "totalTokenCount": usage["promptTokenCount"]},
                    "modelVersion": name,
                }
            ]
        if "IMAGE" in modalities:
            if "image" not in name and "banana" not in name:
                return [done(name, [], "NO_IMAGE", usage)]
            if "UNSAFE" in text:
                out = done(name, [], "IMAGE_SAFETY", usage)
                out["candidates"][0]["finishMessage"] = "The image was blocked for safety."
                return [out]
            final = png(f"{name}:{text}")
            self.images.append(final)
            draft = png("draft")
            out_parts: list[dict[str, Any]] = [{"text": "**Planning** the doodle", "thought": True}]
            if name == "gemini-3-pro-image":
                out_parts.append(
                    {"inlineData": {"mimeType": "image/png", "data": b64(draft)}, "thought": True}
                )
            if "TEXT" in modalities:
                out_parts.append({"text": "Here is your doodle."})
            out_parts.append(
                {
                    "inlineData": {"mimeType": "image/png", "data": b64(final)},
                    "thoughtSignature": "c2ln",
                }
            )
            usage.update(
                candidatesTokenCount=1290,
                thoughtsTokenCount=100,
                candidatesTokensDetails=[{"modality": "IMAGE", "tokenCount": 1290}],
            )
            return [done(name, out_parts, "STOP", usage)]
        # a vision answer, streamed: thinking first, then the caption in pieces
        has_image = any("inlineData" in p or "inline_data" in p for p in parts)
        caption = CAPTION if has_image else "I see no image."
        budget = int(config.get("maxOutputTokens", 8192))
        thought = {"text": "Looking at the strokes...", "thought": True}
        if budget <= THOUGHT_TOKENS:
            usage.update(
                thoughtsTokenCount=budget, totalTokenCount=usage["promptTokenCount"] + budget
            )
            return [chunk(name, [thought]), done(name, [], "MAX_TOKENS", usage)]
        words = caption.split(" ")
        thirds = [" ".join(words[:3]) + " ", " ".join(words[3:7]) + " ", " ".join(words[7:])]
        usage.update(candidatesTokenCount=14, thoughtsTokenCount=120)
        return [
            chunk(name, [thought]),
            chunk(name, [{"text": thirds[0]}]),
            chunk(name, [{"text": thirds[1]}]),
            done(name, [{"text": thirds[2]}], "STOP", usage),
        ]

    # -- a slow stream on the raw connection, to see a client hang up ---------------------------
    def takeover(self, handler: BaseHTTPRequestHandler) -> bool:
        parts = urlsplit(handler.path)
        if not self.slow_stream or not parts.path.endswith(":streamGenerateContent"):
            return False
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        req = Request(
            handler.command, parts.path, parse_qs(parts.query), dict(handler.headers), body
        )
        self.requests.append(req)
        name = parts.path.removeprefix("/v1beta/models/").partition(":")[0]
        events = self.answer(name, json.loads(body))
        try:
            handler.send_response(200)
            handler.send_header("Content-Type", "text/event-stream")
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            for _ in range(100):  # bounded: the whole answer, then the same again, slowly
                for event in events[:-1]:
                    piece = f"data: {json.dumps(event)}\r\n\r\n".encode()
                    handler.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                    handler.wfile.flush()
                    time.sleep(self.slow_stream)
        except (BrokenPipeError, ConnectionResetError):
            self.dropped = True
        handler.close_connection = True
        return True


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def chunk(name: str, parts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "candidates": [{"content": {"role": "model", "parts": parts}, "index": 0}],
        "modelVersion": name,
        "responseId": "fake-" + name,
    }


def done(
    name: str, parts: list[dict[str, Any]], finish: str, usage: dict[str, Any]
) -> dict[str, Any]:
    out = chunk(name, parts)
    out["candidates"][0]["finishReason"] = finish
    if not parts:
        out["candidates"][0]["content"] = {"role": "model"}
    usage.setdefault(
        "totalTokenCount",
        sum(
            int(usage.get(k, 0))
            for k in ("promptTokenCount", "candidatesTokenCount", "thoughtsTokenCount")
        ),
    )
    out["usageMetadata"] = usage
    return out


def merge(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The non-streamed answer: every event's parts in one candidate."""
    last = dict(events[-1])
    if "candidates" not in last:
        return last
    parts = [p for e in events for p in e["candidates"][0]["content"].get("parts", [])]
    cand = dict(last["candidates"][0])
    cand["content"] = {"role": "model", "parts": parts} if parts else {"role": "model"}
    last["candidates"] = [cand]
    return last
