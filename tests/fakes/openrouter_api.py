"""A protocol-faithful fake of OpenRouter (PROTOCOLS.md 12): the Image API, chat completions
with image input, and the models list.

- ``POST /api/v1/images`` (12.2): ``model`` and ``prompt`` required, every other field checked
  against the documented set and values (``n`` 1–10, ``aspect_ratio``, ``resolution``,
  ``quality``, ``output_format``); answers ``{created, data: [{b64_json, media_type}], usage:
  {prompt_tokens, completion_tokens, total_tokens, cost}}`` with a real PNG.
- ``POST /api/v1/chat/completions`` (12.4): the OpenAI shape; the text part must come before
  the image, which must be a ``data:`` URI of a real image; ``stream`` answers SSE ending
  ``data: [DONE]``, the last chunk carrying ``usage`` (with ``cost``).
- ``GET /api/v1/models`` (12.5): only text-output models unless ``output_modalities`` says
  otherwise; ``offset``/``limit`` paging with ``total_count`` and ``links.next``.
- Errors in OpenRouter's shape ``{"error": {"code": <status>, "message", "metadata"?}}``: 401
  without the key, 402 when ``credits`` is 0, 403 moderation (with ``metadata.reasons``) for a
  forbidden word, 400 for an unknown model id, 429 scripted by tests.
Every request is recorded, headers included, so tests check attribution and auth exactly.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from tests.fakes.openai_api import make_image
from tests.fakes.server import FakeAPI, Reply, Request, json_reply

IMAGE_FIELDS = {
    "model", "prompt", "n", "resolution", "aspect_ratio", "size", "quality", "output_format",
    "background", "output_compression", "seed", "stream", "input_references", "provider",
}  # fmt: skip
ASPECTS = {"auto", "1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "4:5", "5:4", "1:4", "4:1"}
RESOLUTIONS = {"512", "1K", "2K", "4K"}
QUALITIES = {"auto", "low", "medium", "high"}
FORMATS = {"png", "jpeg", "webp", "svg"}
_DATA_URI = re.compile(r"^data:image/(png|jpeg|webp|gif);base64,(.+)$", re.S)


def or_error(status: int, message: str, **metadata: Any) -> Reply:
    """OpenRouter's error shape (12.1): the HTTP status repeated as ``code``."""
    err: dict[str, Any] = {"code": status, "message": message}
    if metadata:
        err["metadata"] = metadata
    return json_reply(status, {"error": err})


def model_entry(
    slug: str,
    inputs: list[str],
    outputs: list[str],
    pricing: dict[str, str],
    expiration: str | None = None,
) -> dict[str, Any]:
    return {
        "id": slug,
        "canonical_slug": slug,
        "name": slug.split("/", 1)[1].replace("-", " ").title(),
        "created": 1767000000,
        "context_length": 32768,
        "architecture": {
            "input_modalities": inputs,
            "output_modalities": outputs,
            "modality": f"{'+'.join(inputs)}->{'+'.join(outputs)}",
        },
        "pricing": pricing,
        "top_provider": {"context_length": 32768, "is_moderated": True},
        "supported_parameters": ["max_tokens", "temperature"],
        "expiration_date": expiration,
    }


DEFAULT_MODELS = [
    model_entry(
        "openai/gpt-image-2",
        ["text", "image"],
        ["image"],
        {"prompt": "0.000005", "completion": "0.00001", "image_output": "0.04"},
    ),
    model_entry("black-forest-labs/flux.2-pro", ["text"], ["image"], {"image_output": "0.03"}),
    model_entry(
        "google/gemini-3-pro-image",
        ["text", "image"],
        ["image", "text"],
        {"prompt": "0.000002", "completion": "0.000012"},
    ),
    model_entry(
        "openai/gpt-4o-mini",
        ["text", "image"],
        ["text"],
        {"prompt": "0.00000015", "completion": "0.0000006"},
        expiration="2027-01-14",
    ),
    model_entry(
        "qwen/qwen2.5-vl-72b",
        ["text", "image"],
        ["text"],
        {"prompt": "0.0000004", "completion": "0.0000004"},
    ),
    model_entry("meta/llama-text-only", ["text"], ["text"], {"prompt": "0", "completion": "0"}),
    model_entry(
        "old/retired-vision",
        ["text", "image"],
        ["text"],
        {"prompt": "0", "completion": "0"},
        expiration="2026-01-01",
    ),
]


@dataclass
class FakeOpenRouter(FakeAPI):
    """The fake. ``url + "/api/v1"`` is the base URL to give the provider."""

    key: str = "sk-or-v1-fake0123456789abcdef0123456789"
    models: list[dict[str, Any]] = field(default_factory=lambda: list(DEFAULT_MODELS))
    credits: float = 10.0
    forbidden: str = "forbidden"
    image_cost: float = 0.04
    chat_cost: float = 0.00012
    token_delay: float = 0.0

    def __post_init__(self) -> None:
        FakeAPI.__init__(self)

    # -- routing ---------------------------------------------------------------------------------
    def handle(self, req: Request) -> Reply:
        if not req.path.startswith("/api/v1/"):
            return Reply(
                404, "<html><title>Not Found</title></html>", {"Content-Type": "text/html"}
            )
        route = req.path.removeprefix("/api/v1")
        if req.method == "GET" and route == "/models":
            return self.list_models(req)
        if req.method != "POST" or route not in ("/images", "/chat/completions"):
            return or_error(404, f"Not Found: {req.method} {req.path}")
        header = req.header("Authorization") or ""
        if header.removeprefix("Bearer ").strip() != self.key:
            return or_error(401, "No auth credentials found" if not header else "User not found.")
        try:
            body = json.loads(req.body)
        except ValueError:
            return or_error(400, "Invalid JSON body")
        if not isinstance(body, dict):
            return or_error(400, "Invalid JSON body")
        if self.credits <= 0:
            return or_error(
                402,
                "Insufficient credits. This account never purchased credits. "
                "Make sure your key is on the correct account or org.",
            )
        if route == "/images":
            return self.images(body)
        return self.chat(body)

    def _entry(self, slug: str) -> dict[str, Any] | None:
        return next((m for m in self.models if m["id"] == slug), None)

    def list_models(self, req: Request) -> Reply:
        wanted = (req.query.get("output_modalities") or ["text"])[0]
        offset = int((req.query.get("offset") or ["0"])[0])
        limit = min(int((req.query.get("limit") or ["500"])[0]), 1000)
        chosen = [
            m
            for m in self.models
            if wanted == "all"
            or set(wanted.split(",")) & set(m["architecture"]["output_modalities"])
        ]
        page = chosen[offset : offset + limit]
        nxt = None
        if offset + limit < len(chosen):
            nxt = f"/api/v1/models?output_modalities={wanted}&offset={offset + limit}&limit={limit}"
        return json_reply(200, {"data": page, "total_count": len(chosen), "links": {"next": nxt}})

    # -- images ----------------------------------------------------------------------------------
    def images(self, body: dict[str, Any]) -> Reply:
        unknown = sorted(set(body) - IMAGE_FIELDS)
        if unknown:
            return or_error(400, f"Unrecognized key(s) in object: '{unknown[0]}'")
        model, prompt = body.get("model"), body.get("prompt")
        if not isinstance(model, str) or not model:
            return or_error(400, "model: Required")
        if not isinstance(prompt, str) or not prompt:
            return or_error(400, "prompt: Required")
        entry = self._entry(model)
        if entry is None or "image" not in entry["architecture"]["output_modalities"]:
            return or_error(400, f"{model} is not a valid model ID")
        n = body.get("n", 1)
        if not isinstance(n, int) or not 1 <= n <= 10:
            return or_error(400, "n: Number must be between 1 and 10")
        for key, allowed in (
            ("aspect_ratio", ASPECTS),
            ("resolution", RESOLUTIONS),
            ("quality", QUALITIES),
            ("output_format", FORMATS),
        ):
            if key in body and body[key] not in allowed:
                return or_error(400, f"{key}: Invalid enum value '{body[key]}'")
        if self.forbidden and self.forbidden in prompt.lower():
            return or_error(
                403,
                f"{model} requires moderation on OpenAI. Your input was flagged for "
                '"violence/graphic".',
                reasons=["violence/graphic"],
                flagged_input=prompt[:100],
                provider_name="OpenAI",
                model_slug=model,
            )
        w, h = {"16:9": (640, 360), "9:16": (360, 640)}.get(
            str(body.get("aspect_ratio")), (512, 512)
        )
        data = make_image(prompt, (w, h))
        prompt_tokens = len(prompt.split())
        return json_reply(
            200,
            {
                "created": int(time.time()),
                "data": [{"b64_json": base64.b64encode(data).decode(), "media_type": "image/png"}],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": 1056,
                    "total_tokens": prompt_tokens + 1056,
                    "cost": self.image_cost,
                },
            },
        )

    # -- chat ------------------------------------------------------------------------------------
    def chat(self, body: dict[str, Any]) -> Reply:
        model = body.get("model")
        entry = self._entry(model) if isinstance(model, str) else None
        if entry is None:
            return or_error(400, f"{model} is not a valid model ID")
        if "image" not in entry["architecture"]["input_modalities"]:
            return or_error(404, "No endpoints found that support image input")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return or_error(400, "messages: Required")
        texts: list[str] = []
        seen: tuple[str, int, int] | None = None
        for msg in messages:
            content = msg.get("content") if isinstance(msg, dict) else None
            if isinstance(content, str):
                texts.append(content)
                continue
            if not isinstance(content, list):
                return or_error(400, "messages: Invalid content")
            kinds = [p.get("type") for p in content if isinstance(p, dict)]
            if (
                "image_url" in kinds
                and "text" in kinds
                and kinds.index("text") > kinds.index("image_url")
            ):
                return or_error(400, "the fake wants the text part before the image (12.4)")
            for part in content:
                if part.get("type") == "text":
                    texts.append(str(part.get("text")))
                elif part.get("type") == "image_url":
                    match = _DATA_URI.match(str((part.get("image_url") or {}).get("url")))
                    if not match:
                        return or_error(400, "image_url: expected a data URI")
                    try:
                        raw = base64.b64decode(match.group(2), validate=True)
                        with Image.open(io.BytesIO(raw)) as im:
                            im.load()
                            seen = ((im.format or "").lower(), im.width, im.height)
                    except (binascii.Error, ValueError, OSError):
                        return or_error(400, "image_url: not an image")
        if seen is None:
            return or_error(400, "the fake expects an image")
        if self.forbidden and any(self.forbidden in t.lower() for t in texts):
            return or_error(403, "Input was flagged by moderation", reasons=["harassment"])
        words = f"A {seen[1]}x{seen[2]} {seen[0]} picture of a purple circle".split()
        usage = {
            "prompt_tokens": 90,
            "completion_tokens": len(words),
            "total_tokens": 90 + len(words),
            "cost": self.chat_cost,
        }
        head = {
            "id": f"gen-{uuid.uuid4().hex[:12]}",
            "provider": "OpenAI",
            "model": model,
            "created": int(time.time()),
        }
        if body.get("stream") is True:
            return self._stream(head, words, usage)
        message = {"role": "assistant", "content": " ".join(words), "refusal": None}
        return json_reply(
            200,
            {
                **head,
                "object": "chat.completion",
                "choices": [{"index": 0, "finish_reason": "stop", "message": message}],
                "usage": usage,
            },
        )

    def _stream(self, head: dict[str, Any], words: list[str], usage: dict[str, Any]) -> Reply:
        def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
            return json.dumps(
                {
                    **head,
                    "object": "chat.completion.chunk",
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                }
            )

        events = [chunk({"role": "assistant", "content": ""})]
        events += [chunk({"content": w if i == 0 else " " + w}) for i, w in enumerate(words)]
        events.append(chunk({}, "stop"))
        events.append(
            json.dumps({**head, "object": "chat.completion.chunk", "choices": [], "usage": usage})
        )
        events.append("[DONE]")
        return Reply(
            200,
            b"",
            {"Content-Type": "text/event-stream"},
            pieces=[b": OPENROUTER PROCESSING\n\n"] + [f"data: {e}\n\n".encode() for e in events],
            chunk_delay=self.token_delay,
        )
