"""OpenAI images (drawer) and vision chat (guesser), and any OpenAI-compatible server.

The base URL includes the version prefix, as in the official SDK: ``OPENAI_BASE_URL``, else
``base_url`` under ``[providers.openai]``, else ``https://api.openai.com/v1``. Requests go to
``{base}/images/generations`` and ``{base}/chat/completions`` (PROTOCOLS.md sections 1–2).

Guessers stream by default (``"stream": true``: server-sent events, one ``chat.completion.chunk``
per ``data:`` line, ending ``data: [DONE]``), so the caption can be shown word by word through
:func:`~telestrations.providers.base.report_partial`. The stream is only watched for display;
the finished body is parsed again as a whole, and that parse decides the caption, refusals,
errors and cost. ``stream = false`` (provider setting or model option) asks for one JSON
object instead, and a server that answers a stream request with plain JSON is accepted.

Each image model family wants its own request shape (PROTOCOLS.md 7.3–7.4): GPT image models
reject ``response_format`` and always answer base64; DALL·E wants ``response_format`` to
answer base64 and takes ``style`` (3 only); other servers (LocalAI, ...) get the
DALL·E-era shape, and are asked again without ``response_format`` if they reject it. A
result URL is downloaded at once, since DALL·E's expire within the hour.
"""

from __future__ import annotations

import asyncio
import base64
import codecs
import io
import json
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from telestrations.providers.base import (
    Availability,
    Caption,
    Drawer,
    Guesser,
    ModelInfo,
    Picture,
    ProviderContext,
    ProviderError,
    report_partial,
)
from telestrations.providers.catalog import CatalogProvider
from telestrations.providers.http import (
    HttpClient,
    HttpFailure,
    HttpResult,
    HttpSettings,
    clean_text,
    decode_base64_text,
    error_code,
    error_message,
    generic_error,
    picture_from_bytes,
    redact,
    shown_url,
)
from telestrations.providers.pixels import decode_reduced

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
OFFICIAL_HOST = "api.openai.com"
KEY_HINT = "run `telestrations keys set openai` or set OPENAI_API_KEY"
BILLING_HINT = (
    "add credits or raise the monthly limit at "
    "https://platform.openai.com/settings/organization/billing"
)
VERIFY_HINT = (
    "verify the organization at https://platform.openai.com/settings/organization/general "
    "(access can take 15 minutes to arrive), or pick another drawer"
)
RETIRED_HINT = (
    "this model may be retired (dall-e-2/3 shut down 2026-05-12, gpt-image-1 on 2026-10-23); "
    "try openai:gpt-image-2 to draw (gpt-image-1-mini and gpt-image-1.5 end 2026-12-01), "
    "openai:gpt-5-mini or openai:gpt-4.1-mini to guess"
)
CHECK_TIMEOUT = 10.0
DEFAULT_MAX_TOKENS = 60
DEFAULT_DETAIL = "low"
SEND_FORMATS = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
"""What every vision server takes; anything else (gif) is sent as PNG (Ollama's /v1 rejects
GIF, PROTOCOLS.md 2.6)."""
RESEND_SIDE = 2048
"""A picture re-encoded to be sent is at most this wide and high (OpenAI's high detail)."""

Family = Literal["gpt-image", "dall-e-3", "dall-e-2", "compatible"]
FAMILIES: tuple[Family, ...] = ("gpt-image", "dall-e-3", "dall-e-2", "compatible")
TokenField = Literal["max_completion_tokens", "max_tokens"]
TOKEN_FIELDS: tuple[TokenField, ...] = ("max_completion_tokens", "max_tokens")

PROMPT_LIMITS: Mapping[str, int] = {"dall-e-2": 1000, "dall-e-3": 4000, "gpt-image": 32000}
"""Characters per prompt (PROTOCOLS.md 1.2); longer chains are cut, not rejected."""

SIZES: Mapping[str, tuple[str, ...]] = {
    "dall-e-2": ("256x256", "512x512", "1024x1024"),
    "dall-e-3": ("1024x1024", "1792x1024", "1024x1792"),
    "gpt-image": ("1024x1024", "1536x1024", "1024x1536", "auto"),
}

# -- prices ---------------------------------------------------------------------------------------

_SQUARE, _WIDE = ("1024x1024",), ("1536x1024", "1024x1536")
_DALLE3_WIDE = ("1792x1024", "1024x1792")


def _gpt_image_prices(
    low: tuple[float, float], medium: tuple[float, float], high: tuple[float, float]
) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = {}
    for quality, (square, wide) in (("low", low), ("medium", medium), ("high", high)):
        out[(_SQUARE[0], quality)] = square
        for size in _WIDE:
            out[(size, quality)] = wide
    return out


IMAGE_PRICES: Mapping[str, Mapping[tuple[str, str], float]] = {
    "dall-e-2": {("256x256", ""): 0.016, ("512x512", ""): 0.018, ("1024x1024", ""): 0.020},
    "dall-e-3": {
        ("1024x1024", "standard"): 0.040,
        **{(s, "standard"): 0.080 for s in _DALLE3_WIDE},
        ("1024x1024", "hd"): 0.080,
        **{(s, "hd"): 0.120 for s in _DALLE3_WIDE},
    },
    "gpt-image-1": _gpt_image_prices((0.011, 0.016), (0.042, 0.063), (0.167, 0.25)),
    "gpt-image-1-mini": _gpt_image_prices((0.005, 0.006), (0.011, 0.015), (0.036, 0.052)),
}
"""USD per image by (size, quality) (PROTOCOLS.md 1.7); models not listed cost "unknown"."""

TOKEN_PRICES: Mapping[str, tuple[float, float]] = {
    "gpt-4-vision-preview": (10.00, 30.00),
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-5-mini": (0.25, 2.00),
}
"""USD per million (input, output) tokens: OpenAI list prices as quoted by third-party price
tables in 2026 (not in PROTOCOLS.md). A model's ``price_in``/``price_out`` options override."""


def image_price(name: str, size: str, quality: str) -> float | None:
    """USD for one image of ``name`` at ``size``/``quality``, or ``None`` when unknown."""
    table = IMAGE_PRICES.get(name)
    if table is None:
        return None
    return table.get((size, "" if name == "dall-e-2" else quality))


# -- presets --------------------------------------------------------------------------------------


def _drawer(
    name: str,
    options: Mapping[str, Any],
    *,
    note: str = "",
    retired: str = "",
    label: str = "",
) -> ModelInfo:
    size, quality = str(options.get("size", "")), str(options.get("quality", ""))
    return ModelInfo(
        "openai",
        name,
        "drawer",
        label=label,
        options=dict(options),
        price=image_price(name, size, quality),
        retired=retired,
        note=note,
    )


def _guesser(
    name: str, options: Mapping[str, Any] | None = None, *, note: str = "", retired: str = ""
) -> ModelInfo:
    opts = {"detail": DEFAULT_DETAIL, "max_tokens": DEFAULT_MAX_TOKENS, **(options or {})}
    return ModelInfo("openai", name, "guesser", options=opts, retired=retired, note=note)


_GPT_IMAGE = {"size": "1024x1024", "quality": "low", "output_format": "png"}

PRESETS: tuple[ModelInfo, ...] = (
    _drawer("gpt-image-2", _GPT_IMAGE, note="newest GPT image model; price not in our table"),
    _drawer("gpt-image-1.5", _GPT_IMAGE, note="deprecated: shuts down 2026-12-01"),
    _drawer("gpt-image-1-mini", _GPT_IMAGE, note="cheapest; deprecated: shuts down 2026-12-01"),
    _drawer(
        "gpt-image-1",
        _GPT_IMAGE,
        retired="shut down 2026-10-23",
        note="needs a verified organization",
    ),
    _drawer(
        "dall-e-3",
        {"size": "1024x1024", "quality": "standard", "style": "vivid"},
        retired="shut down 2026-05-12",
        note="the original's drawer; compatible servers may still serve it",
    ),
    _drawer("dall-e-2", {"size": "512x512"}, retired="shut down 2026-05-12"),
    _guesser("gpt-5-mini", {"max_tokens": 400, "reasoning_effort": "minimal"}, note="current"),
    _guesser("gpt-4.1-mini", note="shuts down 2027-01-14"),
    _guesser("gpt-4.1", note="shuts down 2027-01-14"),
    _guesser("gpt-4o-mini", note="cheap; shuts down 2027-01-14"),
    _guesser("gpt-4o", note="shuts down 2027-01-14"),
    _guesser(
        "gpt-4-vision-preview",
        {"token_field": "max_tokens"},
        retired="deprecated in 2024",
        note="the original's guesser",
    ),
)


def family_of(name: str, options: Mapping[str, Any], *, official: bool) -> Family:
    """The request shape for image model ``name`` (``options.family`` wins)."""
    chosen = options.get("family")
    if chosen:
        if chosen not in FAMILIES:
            raise ProviderError(
                "bad_request",
                f"unknown image family {chosen!r} for openai:{name}",
                hint=f"use one of: {', '.join(FAMILIES)}",
            )
        return chosen  # type: ignore[no-any-return]
    low = name.lower()
    if low.startswith(("gpt-image", "chatgpt-image")):
        return "gpt-image"
    if low.startswith("dall-e-3"):
        return "dall-e-3"
    if low.startswith("dall-e-2"):
        return "dall-e-2"
    # Every image model OpenAI still serves is a GPT image model; other servers copy the
    # older DALL·E-era API (LocalAI, ...).
    return "gpt-image" if official else "compatible"


# -- drawer ---------------------------------------------------------------------------------------


class OpenAIDrawer:
    """One image model: build the family's body, post it, decode or download the image."""

    def __init__(self, provider: OpenAIProvider, model: ModelInfo) -> None:
        self.provider = provider
        self.model = model
        self.family = family_of(model.name, model.options, official=provider.official)
        self._send_response_format = self.family in ("dall-e-3", "dall-e-2", "compatible")

    def request_body(self, text: str) -> dict[str, Any]:
        """The JSON for ``/images/generations`` (exact shapes in PROTOCOLS.md 1.2)."""
        o = self.model.options
        limit = int(o.get("prompt_limit", PROMPT_LIMITS.get(self.family, 32000)))
        body: dict[str, Any] = {"model": self.model.name, "prompt": text[:limit]}
        if self.family == "gpt-image":
            body["size"] = str(o.get("size", "1024x1024"))
            body["quality"] = str(o.get("quality", "low"))
            body["output_format"] = str(o.get("output_format", "png"))
            for key in ("background", "moderation", "output_compression"):
                if key in o:
                    body[key] = o[key]
        elif self.family == "dall-e-3":
            body["n"] = 1
            body["size"] = str(o.get("size", "1024x1024"))
            body["quality"] = str(o.get("quality", "standard"))
            body["style"] = str(o.get("style", "vivid"))
        elif self.family == "dall-e-2":
            body["n"] = 1
            body["size"] = str(o.get("size", "512x512"))
        else:
            body["n"] = 1
            if "size" in o:
                body["size"] = str(o["size"])
        if self._send_response_format:
            body["response_format"] = "b64_json"
        extra = o.get("extra")
        if isinstance(extra, Mapping):
            body.update(extra)
        return body

    async def draw(self, text: str) -> Picture:
        async with self.provider.http.deadline("draw", self.provider.name):
            return await self._draw(text)

    async def _draw(self, text: str) -> Picture:
        body = self.request_body(text)
        try:
            result = await self.provider.post("/images/generations", body, self.model)
        except ProviderError as exc:
            if self.family != "compatible" or not self._unknown_response_format(exc):
                raise
            # The shape was a guess (an unknown model on another server) and the server's
            # models are GPT-image-like: ask again without the field, and remember that.
            log.info("%s rejects response_format; asking again without it", self.model.id)
            self._send_response_format = False
            body.pop("response_format", None)
            result = await self.provider.post("/images/generations", body, self.model)
        data = result.json(lift="b64_json")
        return await self._picture(data, body, text)

    @staticmethod
    def _unknown_response_format(exc: ProviderError) -> bool:
        return (
            exc.status == 400
            and "response_format" in exc.message
            and any(w in exc.message.lower() for w in ("unknown", "unrecognized", "unsupported"))
        )

    async def _picture(self, data: Any, body: Mapping[str, Any], text: str) -> Picture:
        items = data.get("data") if isinstance(data, dict) else None
        item = items[0] if isinstance(items, list) and items else None
        if not isinstance(item, dict):
            raise ProviderError("bad_response", "the images answer has no image in `data`")
        b64: str | None = None
        if isinstance(item.get("b64_json"), str) and item["b64_json"]:
            raw, b64 = decode_base64_text(item["b64_json"])
        elif isinstance(item.get("url"), str) and item["url"]:
            raw = await self.provider.http.download(item["url"])
        else:
            raise ProviderError("bad_response", "the image has neither b64_json nor url")
        extras: dict[str, Any] = {"model": self.model.name}
        if isinstance(item.get("revised_prompt"), str):
            extras["revised_prompt"] = clean_text(item["revised_prompt"], 4000)
        for key in ("size", "quality", "output_format", "background", "usage"):
            if key in data and data[key] is not None:
                extras[key] = data[key]
        if len(str(body.get("prompt", ""))) < len(text):
            extras["prompt_truncated"] = True
        size = str(data.get("size") or body.get("size", ""))
        quality = str(data.get("quality") or body.get("quality", ""))
        cost = self.provider.cost_of(self.model, image_price(self.model.name, size, quality))
        return await picture_from_bytes(
            raw,
            max_pixels=self.provider.http_settings.max_pixels,
            extras=extras,
            cost=cost,
            b64=b64,
        )


# -- guesser --------------------------------------------------------------------------------------

CAPTION_LIMIT = 2000
STREAM_HINT = (
    "try again; if this server never ends its streams with `data: [DONE]`, "
    "set stream = false under [providers.openai]"
)
_REJECTS = ("unknown", "unsupported", "unrecognized", "not supported", "not allowed")
_STREAM_FIELD = re.compile(r"\bstream(?:_options)?\b")
_STREAM_ERROR_STATUS: Mapping[str, int] = {
    "invalid_api_key": 401,
    "authentication_error": 401,
    "permission_error": 403,
    "insufficient_quota": 429,
    "rate_limit_exceeded": 429,
    "rate_limit_error": 429,
    "model_not_found": 404,
    "not_found_error": 404,
    "content_filter": 400,
    "content_policy_violation": 400,
    "invalid_request_error": 400,
    "server_error": 500,
    "service_unavailable": 503,
}
"""The HTTP status an error *inside* a stream (sent after ``200 OK``) would have had, by its
``code`` or ``type``, so it is mapped exactly like the same error sent before streaming."""


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


class StreamWatcher:
    """Follows a chat completion's event stream as it arrives and reports the caption so far.

    Only for display: the finished body is parsed again by :func:`parse_stream`, so an event
    this skips (or misreads) can never change the recorded caption.
    """

    def __init__(self, report: Callable[[str], None]) -> None:
        self.report = report
        self._reset()

    def _reset(self) -> None:
        self._decode = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._sse = SseDecoder()
        self._text: list[str] = []
        self._shown = ""

    def __call__(self, chunk: bytes) -> None:
        if not chunk:  # a retry starts over
            self._reset()
            return
        for _event, data in self._sse.feed(self._decode.decode(chunk)):
            try:
                obj = json.loads(data)
            except ValueError:
                continue  # [DONE], or something parse_stream will complain about
            delta = _delta_of(obj)
            piece = delta.get("content") if delta is not None else None
            if isinstance(piece, str) and piece:
                self._text.append(piece)
        shown = clean_text("".join(self._text), CAPTION_LIMIT)
        if shown and shown != self._shown:
            self._shown = shown
            self.report(shown)


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
            delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else {}
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


def _data_uri(picture: Picture) -> str:
    """``data:image/<fmt>;base64,...``; formats not every server takes are sent as PNG."""
    mime = SEND_FORMATS.get(picture.format)
    if mime is not None and picture.b64 is not None:  # as the drawer sent it: no re-encoding
        return f"data:{mime};base64,{picture.b64}"
    data = picture.data
    if mime is None:  # reduced while decoding: a huge GIF never sits whole in RGBA
        im = decode_reduced(data, (RESEND_SIDE, RESEND_SIDE))
        im.thumbnail((RESEND_SIDE, RESEND_SIDE))
        buf = io.BytesIO()
        im.convert("RGBA").save(buf, "PNG")
        data, mime = buf.getvalue(), "image/png"
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


class OpenAIGuesser:
    """One vision chat model through ``/chat/completions``."""

    def __init__(self, provider: OpenAIProvider, model: ModelInfo) -> None:
        self.provider = provider
        self.model = model
        self.token_field: TokenField = provider.token_field_for(model)
        self.stream = provider.stream_for(model)

    def request_body(self, image_uri: str, system: str, prompt: str) -> dict[str, Any]:
        """The JSON for ``/chat/completions`` (PROTOCOLS.md 2.2)."""
        o = self.model.options
        image: dict[str, Any] = {"url": image_uri}
        detail = o.get("detail", DEFAULT_DETAIL)
        if detail:
            image["detail"] = str(detail)
        messages: list[dict[str, Any]] = []
        if system:
            messages.append({"role": "system", "content": system})
        messages.append(
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": prompt},
                    {"type": "image_url", "image_url": image},
                ],
            }
        )
        body: dict[str, Any] = {"model": self.model.name, "messages": messages}
        max_tokens = o.get("max_tokens", DEFAULT_MAX_TOKENS)
        if max_tokens:
            body[self.token_field] = int(max_tokens)
        for key in ("temperature", "reasoning_effort"):
            if key in o:
                body[key] = o[key]
        if self.stream:
            body["stream"] = True
            if self.provider.official:
                # Without it OpenAI's stream carries no usage, so no cost; older compatible
                # servers reject the field, and usage is rarely priced there.
                body["stream_options"] = {"include_usage": True}
        extra = o.get("extra")
        if isinstance(extra, Mapping):
            body.update(extra)
            if body.get("stream") is not True and "stream_options" not in extra:
                body.pop("stream_options", None)  # OpenAI: only allowed with stream
        return body

    async def describe(self, picture: Picture, system: str, prompt: str) -> Caption:
        async with self.provider.http.deadline("describe", self.provider.name):
            return await self._describe(picture, system, prompt)

    async def _describe(self, picture: Picture, system: str, prompt: str) -> Caption:
        uri = await asyncio.to_thread(_data_uri, picture)
        body = self.request_body(uri, system, prompt)
        for attempt in range(3):  # at most one fix of the token field and one of streaming
            watch = StreamWatcher(report_partial) if body.get("stream") is True else None
            try:
                result = await self.provider.post(
                    "/chat/completions", body, self.model, on_chunk=watch
                )
                break
            except ProviderError as exc:
                if attempt == 2:
                    raise
                other = self._other_token_field(exc)
                if other is not None:
                    log.info(
                        "%s rejects %s; asking again with %s",
                        self.model.id,
                        self.token_field,
                        other,
                    )
                    body[other] = body.pop(self.token_field)
                    self.token_field = other
                elif "stream" in body and self._stream_rejected(exc):
                    log.info("%s cannot stream; asking again without it", self.model.id)
                    body.pop("stream", None)
                    body.pop("stream_options", None)
                    self.stream = False
                else:
                    raise
        who = self.provider.http.title
        if is_event_stream(result):
            data: Any = await asyncio.to_thread(parse_stream, result.body, who)
        else:  # not streamed, or a compatible server that ignores `stream`
            data = result.json()
        if isinstance(data, dict) and (data.get("error") or data.get("object") == "error"):
            # An error in the stream, or a gateway that reports one with 200 OK.
            raise self.provider.stream_error(data.get("error") or data, result.headers)
        return self._caption(data)

    def _stream_rejected(self, exc: ProviderError) -> bool:
        """A 400 that says the server does not know ``stream``/``stream_options``."""
        if exc.status != 400 or not _STREAM_FIELD.search(exc.message):
            return False
        return any(w in exc.message.lower() for w in _REJECTS)

    def _other_token_field(self, exc: ProviderError) -> TokenField | None:
        """The other field name when the server rejected the one we sent (PROTOCOLS.md 2.3)."""
        if exc.status != 400 or self.token_field not in exc.message:
            return None
        low = exc.message.lower()
        if not any(w in low for w in ("unknown", "unsupported", "unrecognized", "not supported")):
            return None
        return (
            "max_tokens" if self.token_field == "max_completion_tokens" else "max_completion_tokens"
        )

    def _caption(self, data: Any) -> Caption:
        choices = data.get("choices") if isinstance(data, dict) else None
        choice = choices[0] if isinstance(choices, list) and choices else None
        if not isinstance(choice, dict):
            raise ProviderError("bad_response", "the chat answer has no choices")
        message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
        finish = choice.get("finish_reason")
        if finish is None and isinstance(choice.get("finish_details"), dict):
            finish = choice["finish_details"].get("type")  # gpt-4-vision-preview
        refusal = message.get("refusal")
        if isinstance(refusal, str) and refusal.strip():
            raise ProviderError("refused", f"the guesser refused: {clean_text(refusal, 300)}")
        content = message.get("content")
        if isinstance(content, list):  # some compatible servers answer in parts
            content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        text = clean_text(content if isinstance(content, str) else "", CAPTION_LIMIT)
        if not text:
            if finish == "length":
                raise ProviderError(
                    "bad_response",
                    f"{self.model.name} used its whole token budget without answering",
                    hint="raise max_tokens in this model's options (reasoning models think first)",
                )
            if finish == "content_filter":
                raise ProviderError("refused", "the guesser's answer was filtered")
            raise ProviderError("refused", f"{self.model.name} gave no description")
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else None
        extras: dict[str, Any] = {"model": str(data.get("model") or self.model.name)}
        if finish:
            extras["finish_reason"] = str(finish)
        if usage:
            extras["usage"] = usage
        return Caption(text, extras, self.provider.cost_of(self.model, self._token_cost(usage)))

    def _token_cost(self, usage: Mapping[str, Any] | None) -> float | None:
        o = self.model.options
        table = TOKEN_PRICES.get(self.model.name)
        price_in = o.get("price_in", table[0] if table else None)
        price_out = o.get("price_out", table[1] if table else None)
        if usage is None or price_in is None or price_out is None:
            return None
        try:
            tokens_in = int(usage.get("prompt_tokens", 0))
            tokens_out = int(usage.get("completion_tokens", 0))
        except (TypeError, ValueError):
            return None
        return (tokens_in * float(price_in) + tokens_out * float(price_out)) / 1_000_000


# -- provider -------------------------------------------------------------------------------------


class OpenAIProvider(CatalogProvider):
    """OpenAI, or any server that speaks its images and chat APIs."""

    name = "openai"
    title = "OpenAI"
    PRESETS = PRESETS
    ACCEPTS_ANY_MODEL = frozenset({"drawer", "guesser"})

    def __init__(self, ctx: ProviderContext) -> None:
        super().__init__(ctx)
        s = self.settings
        self.base_url = str(
            ctx.env.get("OPENAI_BASE_URL") or s.get("base_url") or DEFAULT_BASE_URL
        ).rstrip("/")
        # ``compatible = false`` says "this URL is OpenAI itself" (a proxy or gateway in front
        # of it): a key is needed and today's API rules apply, as for api.openai.com.
        compatible = s.get("compatible")
        if compatible is not None and not isinstance(compatible, bool):
            raise ValueError("providers.openai.compatible must be true or false")
        host_is_openai = (urlsplit(self.base_url).hostname or "").lower() == OFFICIAL_HOST
        self.official = host_is_openai if compatible is None else not compatible
        self.key = ctx.get_key("openai") or ""
        field = s.get("token_field")
        if field is not None and field not in TOKEN_FIELDS:
            raise ValueError(f"providers.openai.token_field must be one of {TOKEN_FIELDS}")
        self.token_field: TokenField = field or (
            "max_completion_tokens" if self.official else "max_tokens"
        )
        stream = s.get("stream", True)
        if not isinstance(stream, bool):
            raise ValueError("providers.openai.stream must be true or false")
        self.stream = stream
        self.http_settings = HttpSettings.from_settings(s, base_url=self.base_url)
        headers: dict[str, str] = {}
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        if s.get("organization"):
            headers["OpenAI-Organization"] = str(s["organization"])
        if s.get("project"):
            headers["OpenAI-Project"] = str(s["project"])
        self.http = HttpClient(
            "OpenAI"
            if self.official
            else f"the OpenAI-compatible server at {shown_url(self.base_url)}",
            self.http_settings,
            headers=headers,
            secrets=(self.key,) if self.key else (),
            error_mapper=self._map_failure,
        )
        overridden = {m for m in ctx.prices}
        for entry in s.get("models", []):
            if isinstance(entry, Mapping) and entry.get("price") is not None:
                overridden.add(f"openai:{entry.get('name')}")
        self._price_overrides = frozenset(overridden)

    # -- catalogue -------------------------------------------------------------------------------
    def token_field_for(self, model: ModelInfo) -> TokenField:
        """The model's ``token_field`` option, else the provider's (settings or by server)."""
        chosen = model.options.get("token_field")
        if chosen is not None and chosen not in TOKEN_FIELDS:
            raise ProviderError(
                "bad_request",
                f"unknown token_field {chosen!r} for {model.id}",
                hint=f"use one of: {', '.join(TOKEN_FIELDS)}",
            )
        return chosen or self.token_field  # type: ignore[no-any-return]

    def stream_for(self, model: ModelInfo) -> bool:
        """The model's ``stream`` option, else the provider's (default: stream)."""
        chosen = model.options.get("stream", self.stream)
        if not isinstance(chosen, bool):
            raise ProviderError(
                "bad_request",
                f"stream must be true or false for {model.id}, not {chosen!r}",
                hint="fix this model's options in the config",
            )
        return chosen

    def cost_of(self, model: ModelInfo, table_price: float | None) -> float | None:
        """A config/[prices] override wins; else the table's price for what was asked."""
        if model.id in self._price_overrides and model.price is not None:
            return model.price
        return table_price if table_price is not None else model.price

    # -- availability ----------------------------------------------------------------------------
    def availability(self, model: ModelInfo) -> Availability:
        if not self.key and self.official:
            return Availability.no("no OpenAI key", KEY_HINT, "auth")
        if model.kind == "drawer":
            try:
                family_of(model.name, model.options, official=self.official)
            except ProviderError as exc:
                return Availability.no(exc.message, exc.hint, "bad_request")
        if model.retired and self.official:
            return Availability.yes(f"probably gone from OpenAI: {model.retired}")
        return Availability.yes()

    async def check(self, model: ModelInfo) -> Availability:
        """Ask ``GET /models``: the key works and the server lists the model."""
        quick = self.availability(model)
        if not quick.ok:
            return quick
        try:
            result = await self.http.request(
                "GET", "/models", retry=False, read_timeout=CHECK_TIMEOUT
            )
            data = result.json()
        except ProviderError as exc:
            if exc.kind == "not_found" and not self.official:
                return Availability.yes("the server does not list its models")
            return Availability.no(exc.message, exc.hint, exc.kind)
        listed = data.get("data") if isinstance(data, dict) else None
        if not isinstance(listed, list):
            return Availability.yes()
        ids = {str(m.get("id")) for m in listed if isinstance(m, dict)}
        if model.name in ids:
            return Availability.yes()
        if not self.official:  # many compatible servers list only some of what they serve
            shown = ", ".join(sorted(ids)[:8])
            return Availability.yes(f"not in the server's model list ({shown}); it may still work")
        return Availability.no(
            f"{self.http.title} does not offer {model.name!r}", RETIRED_HINT, "not_found"
        )

    # -- turns -----------------------------------------------------------------------------------
    def drawer(self, model: ModelInfo) -> Drawer:
        avail = self.availability(model)
        if not avail.ok:
            raise avail.error()
        return OpenAIDrawer(self, model)

    def guesser(self, model: ModelInfo) -> Guesser:
        avail = self.availability(model)
        if not avail.ok:
            raise avail.error()
        return OpenAIGuesser(self, model)

    async def post(
        self,
        path: str,
        body: Mapping[str, Any],
        model: ModelInfo,
        *,
        on_chunk: Callable[[bytes], None] | None = None,
    ) -> HttpResult:
        """POST with model-specific advice added to "not found"."""
        try:
            return await self.http.request("POST", path, json=dict(body), on_chunk=on_chunk)
        except ProviderError as exc:
            if exc.kind == "not_found" and model.retired:
                exc.hint = f"{model.id} was {model.retired}; " + RETIRED_HINT.split("; ", 1)[1]
            raise

    async def aclose(self) -> None:
        await self.http.aclose()

    # -- errors ----------------------------------------------------------------------------------
    def stream_error(self, err: Any, headers: httpx.Headers) -> ProviderError:
        """An error object sent after ``200 OK`` (inside a stream), mapped as if it had come
        with the status its ``code``/``type`` stands for; ``status`` stays the real 200."""
        payload = {"error": err if isinstance(err, dict) else {"message": str(err)}}
        payload = json.loads(redact(json.dumps(payload), self.http.secrets))
        inner = payload["error"]
        status = 500
        if isinstance(inner.get("code"), int) and 400 <= inner["code"] < 600:
            status = inner["code"]  # vLLM puts the status there
        else:
            for key in (error_code(payload), str(inner.get("type") or "")):
                if key in _STREAM_ERROR_STATUS:
                    status = _STREAM_ERROR_STATUS[key]
                    break
        said = error_message(payload) or "no message"
        text = clean_text(redact(said, self.http.secrets), 300)
        failure = HttpFailure(status, headers, b"", payload, text)
        error = self._map_failure(failure)
        if error is None:
            error = generic_error(self.http.title, failure)
            error.message = f"{self.http.title} broke off its answer: {text}"
        error.message = clean_text(redact(error.message, self.http.secrets), 500)
        error.hint = clean_text(redact(error.hint, self.http.secrets), 500)
        error.args = (error.message,)
        error.status = 200
        return error

    def _map_failure(self, failure: HttpFailure) -> ProviderError | None:
        """OpenAI's ``{error: {message, type, param, code}}`` cases (PROTOCOLS.md 1.4)."""
        status, code, text = failure.status, failure.code, failure.text
        err = failure.json.get("error") if isinstance(failure.json, dict) else None
        err_type = str(err.get("type") or "") if isinstance(err, dict) else ""
        param = str(err.get("param") or "") if isinstance(err, dict) else ""
        said = text or f"HTTP {status}"
        low = text.lower()
        if code in ("content_policy_violation", "moderation_blocked", "content_filter") or (
            status == 400 and ("safety system" in low or err_type == "image_generation_user_error")
        ):
            # The kind's title already says "refused by the content filter": the service's
            # own words follow it (the same codes come from the images and the chat route).
            return ProviderError(
                "refused",
                said,
                hint="a game event: edit the prompt or style and resume",
                status=status,
            )
        if status == 401:
            if self.key:  # one was sent and refused: a typo, a revoked or another org's key
                hint = (
                    f"check the key (revoked, mistyped or from another project?), then {KEY_HINT}"
                )
                what = "rejected the key"
            else:
                hint = f"this server wants a key: {KEY_HINT}"
                what = "needs a key"
            return ProviderError(
                "auth", f"{self.http.title} {what}: {said}", hint=hint, status=status
            )
        if status == 429 and (code == "insufficient_quota" or err_type == "insufficient_quota"):
            return ProviderError("quota", f"out of quota: {said}", hint=BILLING_HINT, status=status)
        if status == 404 and (code == "model_not_found" or "model" in low):
            return ProviderError(
                "not_found",
                said,
                hint=RETIRED_HINT
                if self.official
                else ("check the model name against the server's list (`GET /v1/models`)"),
                status=status,
            )
        if status == 403 and (code == "organization_must_be_verified" or "verified" in low):
            return ProviderError("auth", said, hint=VERIFY_HINT, status=status)
        if status == 403 and ("country" in low or code == "unsupported_country_region_territory"):
            return ProviderError(
                "auth", said, hint="OpenAI is not available from this region", status=status
            )
        if status == 400 and (param == "response_format" or "'response_format'" in text):
            return ProviderError(
                "bad_request",
                said,
                hint='this is a GPT image model: set options.family = "gpt-image" for it',
                status=status,
            )
        if status == 400 and ("max_tokens" in text or "max_completion_tokens" in text):
            return ProviderError(
                "bad_request",
                said,
                hint='set token_field = "max_tokens" or "max_completion_tokens" under '
                "[providers.openai]",
                status=status,
            )
        return None


def provider(ctx: ProviderContext) -> OpenAIProvider:
    """Entry point for the ``telestrations.providers`` group."""
    return OpenAIProvider(ctx)
