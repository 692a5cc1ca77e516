"""Google Gemini (the Developer API, generativelanguage): image models draw, vision models guess.

PROTOCOLS.md 11. Requests go to ``{base_url}/v1beta/models/{model}:generateContent`` (the
drawer: ``responseModalities: ["IMAGE"]``, the picture comes back as inline base64) and
``:streamGenerateContent?alt=sse`` (the guesser: the caption arrives as server-sent events,
each a whole ``GenerateContentResponse`` holding the new parts). The key (``GEMINI_API_KEY``,
else ``GOOGLE_API_KEY``, else ``telestrations keys set gemini``) goes only in the
``x-goog-api-key`` header, never in the URL, exactly as the official SDK sends it (11.9).

Safety blocks arrive with HTTP 200 (``promptFeedback.blockReason``, or a finish reason such as
``IMAGE_SAFETY`` or ``NO_IMAGE``) and become "refused" errors, the game's refusal event. Parts
marked ``thought`` are the model's drafts and are skipped. ``GET /v1beta/models`` (every page)
is evidence that a model exists and supports ``generateContent``; a model missing from it is a
warning, not a refusal, since listings lag behind launches.
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
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from telestrations.providers.base import (
    Availability,
    Caption,
    Drawer,
    Guesser,
    ModelInfo,
    ModelKind,
    Picture,
    ProviderContext,
    ProviderError,
    report_partial,
)
from telestrations.providers.catalog import CatalogProvider
from telestrations.providers.http import (
    HttpClient,
    HttpFailure,
    HttpSettings,
    clean_text,
    decode_base64_image,
    picture_from_bytes,
)
from telestrations.providers.pixels import decode_reduced

log = logging.getLogger(__name__)

NAME = "gemini"
DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
API_VERSION = "v1beta"
"""The SDK now defaults to ``/v1``, which refuses some payloads it builds itself (11.9)."""
KEY_ENV_FALLBACK = "GOOGLE_API_KEY"
KEY_HINT = "run `telestrations keys set gemini`, or set GEMINI_API_KEY or GOOGLE_API_KEY"
CAPTION_LIMIT = 2000
RESEND_SIDE = 2048
SEND_FORMATS = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
PAGE_SIZE = 1000
MAX_PAGES = 50
LISTING_TTL = 60.0
"""Listing pages followed at most: bounded, and far more than the service has."""
ASPECT_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
ASPECT_RATIOS_WIDE = ("1:4", "4:1", "1:8", "8:1")
IMAGE_SIZES = ("1K", "2K", "4K")
THINKING_LEVELS = ("MINIMAL", "LOW", "MEDIUM", "HIGH")
MODEL_ID = re.compile(r"gemini-[a-z0-9][a-z0-9.-]{0,100}")
"""What a listed Gemini model id looks like; anything else in a listing is not offered."""

BLOCK_REASONS = {"SAFETY", "OTHER", "BLOCKLIST", "PROHIBITED_CONTENT", "IMAGE_SAFETY"}
REFUSAL_FINISHES = {
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
"""Finish reasons that mean "the model would not" (11.4); ``STOP`` is normal."""

# Per 1M tokens, USD: (input, text output, image output). PROTOCOLS.md 11.8, sourced from
# third parties quoting Google's pricing page (2026-10-07); models not listed stay unknown.
TOKEN_PRICES: Mapping[str, tuple[float, float, float]] = {
    "gemini-3-pro-image": (2.00, 12.00, 120.00),
    "gemini-3.1-flash-image": (0.50, 3.00, 60.00),
    "gemini-nano-banana-2.1": (1.50, 7.50, 30.00),
    "gemini-3.1-flash-lite-image": (0.25, 1.50, 30.00),
}


def _drawer(name: str, label: str, note: str, price: float | None = None) -> ModelInfo:
    return ModelInfo(NAME, name, "drawer", label=label, price=price, note=note)


def _guesser(name: str, label: str, note: str = "", retired: str = "") -> ModelInfo:
    return ModelInfo(NAME, name, "guesser", label=label, note=note, retired=retired)


# Image models active on 2026-11-30 (PROTOCOLS.md 11.2, Gemini API changelog and deprecation
# table as read on 2026-11-30). Left out: gemini-3.1-flash-image (deprecated 2026-10-06, maybe
# already shut down), gemini-2.5-flash-image (shut down 2026-10-02), the -preview image models
# (shut down 2026-06-25) and Imagen 4 (shut down 2026-08-17). Any other name still works.
# Vision models: PROTOCOLS.md 11.5 (docs page, 2026-11-30); their prices are not sourced.
PRESETS: tuple[ModelInfo, ...] = (
    _drawer(
        "gemini-nano-banana-2.1",
        "Nano Banana 2.1",
        "newest flash-tier image model (GA 2026-10-06); cost from tokens",
    ),
    _drawer(
        "gemini-3-pro-image",
        "Nano Banana Pro",
        "GA 2026-05-28; ≈ $0.134 per 1K image",
        price=0.134,
    ),
    _drawer(
        "gemini-3.1-flash-lite-image",
        "Nano Banana 2 Lite",
        "GA 2026-06-30; cost from tokens",
    ),
    _guesser("gemini-3.8-flash", "Gemini 3.8 Flash"),
    _guesser("gemini-3.6-flash", "Gemini 3.6 Flash"),
    _guesser("gemini-3.5-flash-lite", "Gemini 3.5 Flash-Lite"),
    _guesser("gemini-3.1-flash-lite", "Gemini 3.1 Flash-Lite", "shuts down 2027-05-07"),
    _guesser("gemini-3.1-pro-preview", "Gemini 3.1 Pro (preview)"),
)


# -- settings (one place, so they can become a declared schema) ---------------------------------


@dataclass(frozen=True)
class GeminiSettings:
    """``[providers.gemini]``: where the API is, and the request knobs models can override."""

    base_url: str = DEFAULT_BASE_URL
    aspect_ratio: str = "1:1"
    image_size: str = "1K"
    thinking_level: str = "LOW"
    """For the guesser: thinking spends the output budget (11.5), so keep it low."""
    max_output_tokens: int = 2048
    stream: bool = True
    check_timeout: float = 10.0

    @classmethod
    def read(cls, s: Mapping[str, Any]) -> GeminiSettings:
        """Validated settings; a bad value raises ValueError naming the key."""

        def choice(key: str, allowed: tuple[str, ...], default: str) -> str:
            value = s.get(key, default)
            if not isinstance(value, str) or value.upper() not in allowed:
                raise ValueError(f"providers.gemini.{key} must be one of {', '.join(allowed)}")
            return value.upper()

        ratio = s.get("aspect_ratio", "1:1")
        if not isinstance(ratio, str) or ratio not in ASPECT_RATIOS + ASPECT_RATIOS_WIDE:
            raise ValueError(
                "providers.gemini.aspect_ratio must be one of "
                + ", ".join(ASPECT_RATIOS + ASPECT_RATIOS_WIDE)
            )
        tokens = s.get("max_output_tokens", 2048)
        if not isinstance(tokens, int) or isinstance(tokens, bool) or tokens < 1:
            raise ValueError("providers.gemini.max_output_tokens must be a whole number above 0")
        stream = s.get("stream", True)
        if not isinstance(stream, bool):
            raise ValueError("providers.gemini.stream must be true or false")
        check = s.get("check_timeout", 10.0)
        if not isinstance(check, int | float) or isinstance(check, bool) or check <= 0:
            raise ValueError("providers.gemini.check_timeout must be a number above 0")
        base = str(s.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
        base = base.removesuffix(f"/{API_VERSION}")  # "scheme + host + port" (11.9), either way
        return cls(
            base_url=base or DEFAULT_BASE_URL,
            aspect_ratio=ratio,
            image_size=choice("image_size", IMAGE_SIZES, "1K"),
            thinking_level=choice("thinking_level", THINKING_LEVELS, "LOW"),
            max_output_tokens=tokens,
            stream=stream,
            check_timeout=float(check),
        )


# -- answers -------------------------------------------------------------------------------------


def _parts(response: Any) -> tuple[list[dict[str, Any]], str, str]:
    """The first candidate's parts, its finish reason and finish message."""
    cands = response.get("candidates") if isinstance(response, dict) else None
    cand = cands[0] if isinstance(cands, list) and cands and isinstance(cands[0], dict) else {}
    content = cand.get("content")
    if not isinstance(content, dict):
        content = {}
    parts = [p for p in content.get("parts") or () if isinstance(p, dict)]
    return parts, str(cand.get("finishReason") or ""), str(cand.get("finishMessage") or "")


def _blocked(response: Any, who: str) -> ProviderError | None:
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


_DATA_URI_IN_TEXT = re.compile(r"data:image/[a-z0-9.+-]+;base64,[A-Za-z0-9+/_=-]+", re.I)


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


def token_cost(name: str, usage: Any) -> float | None:
    """USD from ``usageMetadata`` and :data:`TOKEN_PRICES`; None when either is unknown."""
    prices = TOKEN_PRICES.get(name)
    if prices is None or not isinstance(usage, dict):
        return None
    price_in, price_text, price_image = prices
    details = usage.get("candidatesTokensDetails")
    if not isinstance(details, list):
        return None
    try:
        cost = int(usage.get("promptTokenCount", 0)) * price_in
        cost += int(usage.get("thoughtsTokenCount", 0)) * price_text  # billed as output
        for d in details:
            if not isinstance(d, dict):
                continue
            rate = price_image if d.get("modality") == "IMAGE" else price_text
            cost += int(d.get("tokenCount", 0)) * rate
    except (TypeError, ValueError):
        return None
    return cost / 1_000_000


def parse_events(body: bytes) -> list[Any]:
    """Every ``data:`` event of an SSE body as JSON; a JSON array (no ``alt=sse``) too."""
    text = body.decode("utf-8", "replace")
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        try:
            data = json.loads(stripped)
        except ValueError:
            data = None
        if data is not None:
            return data if isinstance(data, list) else [data]
    events: list[Any] = []
    lines: list[str] = []
    for line in [*text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), ""]:
        if line.startswith("data:"):
            lines.append(line[5:].removeprefix(" "))
        elif not line and lines:
            try:
                events.append(json.loads("\n".join(lines)))
            except ValueError:
                raise ProviderError(
                    "bad_response",
                    f"Gemini sent a stream event that is not JSON: {clean_text(lines[0], 120)}",
                ) from None
            lines = []
    return events


class StreamWatcher:
    """Follows the caption as the events arrive, for display only (the whole body decides)."""

    def __init__(self, report: Callable[[str], None]) -> None:
        self.report = report
        self._reset()

    def _reset(self) -> None:
        self._decode = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""
        self._text: list[str] = []
        self._shown = ""

    def __call__(self, chunk: bytes) -> None:
        if not chunk:  # a retry starts over
            self._reset()
            return
        buf = (self._pending + self._decode.decode(chunk)).replace("\r\n", "\n")
        *lines, self._pending = buf.split("\n")
        for line in lines:
            if not line.startswith("data:"):
                continue
            try:
                event = json.loads(line[5:])
            except ValueError:
                continue
            self._text.append(text_of(_parts(event)[0]))
        shown = clean_text("".join(self._text), CAPTION_LIMIT)
        if shown and shown != self._shown:
            self._shown = shown
            self.report(shown)


def _inline_image(picture: Picture) -> dict[str, str]:
    """``{mimeType, data}``; a format Gemini does not take (GIF) is sent as PNG."""
    mime = SEND_FORMATS.get(picture.format)
    data = picture.data
    if mime is None:
        im = decode_reduced(data, (RESEND_SIDE, RESEND_SIDE))
        im.thumbnail((RESEND_SIDE, RESEND_SIDE))
        buf = io.BytesIO()
        im.convert("RGBA").save(buf, "PNG")
        data, mime = buf.getvalue(), "image/png"
    return {"mimeType": mime, "data": base64.b64encode(data).decode("ascii")}


# -- errors --------------------------------------------------------------------------------------


def _details(data: Any) -> list[dict[str, Any]]:
    err = data.get("error") if isinstance(data, dict) else None
    details = err.get("details") if isinstance(err, dict) else None
    return [d for d in details or () if isinstance(d, dict)]


def retry_delay(data: Any) -> float | None:
    """``RetryInfo.retryDelay`` ("36s", "0.5s") in seconds, or None."""
    for d in _details(data):
        if str(d.get("@type", "")).endswith("google.rpc.RetryInfo"):
            match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)s\s*", str(d.get("retryDelay", "")))
            if match:
                return float(match.group(1))
    return None


def per_day_quota(data: Any) -> bool:
    """A ``QuotaFailure`` naming a per-day quota: no retry helps before tomorrow."""
    for d in _details(data):
        if str(d.get("@type", "")).endswith("google.rpc.QuotaFailure"):
            for v in d.get("violations") or ():
                if isinstance(v, dict) and "PerDay" in str(v.get("quotaId", "")):
                    return True
    return False


def _reasons(data: Any) -> set[str]:
    return {str(d.get("reason")) for d in _details(data) if d.get("reason")}


class GeminiHttp(HttpClient):
    """The shared client, plus Google's retry advice in the error body (11.7)."""

    def _retry_delay(self, failure: HttpFailure, attempt: int) -> float | None:
        if failure.status == 429:
            if per_day_quota(failure.json):
                return None
            wait = retry_delay(failure.json)
            if wait is not None:
                return None if wait > self.settings.retry_after_cap else wait
        return super()._retry_delay(failure, attempt)


# -- turns -------------------------------------------------------------------------------------


class GeminiDrawer:
    """One image model through ``generateContent`` with image output."""

    def __init__(self, provider: GeminiProvider, model: ModelInfo) -> None:
        self.provider = provider
        self.model = model

    def request_body(self, text: str) -> dict[str, Any]:
        o, conf = self.model.options, self.provider.conf
        image_config = {
            "aspectRatio": str(o.get("aspect_ratio", conf.aspect_ratio)),
            "imageSize": str(o.get("image_size", conf.image_size)),
        }
        config: dict[str, Any] = {"responseModalities": ["IMAGE"], "imageConfig": image_config}
        if o.get("thinking_level"):
            config["thinkingConfig"] = {"thinkingLevel": str(o["thinking_level"]).upper()}
        return {
            "contents": [{"role": "user", "parts": [{"text": text}]}],
            "generationConfig": config,
        }

    async def draw(self, text: str) -> Picture:
        async with self.provider.http.deadline("draw", NAME):
            data = await self.provider.generate(self.model, self.request_body(text))
            return await self._picture(data)

    async def _picture(self, data: Any) -> Picture:
        who = self.model.name
        if isinstance(data, dict) and isinstance(data.get("error"), dict):  # a gateway's 200
            raise self.provider.error_of(data, 500)
        blocked = _blocked(data, who)
        if blocked is not None:
            raise blocked
        parts, finish, said = _parts(data)
        image = await asyncio.to_thread(image_of, parts)
        if image is None:
            words = clean_text(said or text_of(parts), 200)
            reason = finish or "no image"
            if finish == "MAX_TOKENS":
                raise ProviderError(
                    "bad_response",
                    f"{who} stopped before the image was done (MAX_TOKENS)",
                    hint="lower thinking_level in this model's options",
                )
            if finish in REFUSAL_FINISHES or finish in ("STOP", ""):
                raise ProviderError(
                    "refused",
                    f"{who} made no image ({clean_text(reason, 40)})"
                    + (f": {words}" if words else ""),
                )
            raise ProviderError(
                "bad_response", f"{who} made no image (finish reason {clean_text(reason, 40)})"
            )
        usage = data.get("usageMetadata") if isinstance(data, dict) else None
        extras: dict[str, Any] = {"model": clean_text(str(data.get("modelVersion") or who), 80)}
        words = clean_text(text_of(parts), 500)
        if words:
            extras["text"] = words
        if finish:
            extras["finish_reason"] = clean_text(finish, 40)
        if isinstance(usage, dict):
            extras["usage"] = usage
        cost = token_cost(self.model.name, usage)
        if cost is None:
            cost = self.model.price
        return await picture_from_bytes(
            image, max_pixels=self.provider.http_settings.max_pixels, extras=extras, cost=cost
        )


class GeminiGuesser:
    """One vision model: system instruction at the top, text before the inline image."""

    def __init__(self, provider: GeminiProvider, model: ModelInfo) -> None:
        self.provider = provider
        self.model = model

    def request_body(self, image: Mapping[str, str], system: str, prompt: str) -> dict[str, Any]:
        o, conf = self.model.options, self.provider.conf
        body: dict[str, Any] = {}
        if system.strip():
            body["systemInstruction"] = {"parts": [{"text": system}]}
        body["contents"] = [
            {"role": "user", "parts": [{"text": prompt}, {"inlineData": dict(image)}]}
        ]
        config: dict[str, Any] = {
            "maxOutputTokens": int(o.get("max_output_tokens", conf.max_output_tokens))
        }
        level = str(o.get("thinking_level", conf.thinking_level)).upper()
        if level:
            config["thinkingConfig"] = {"thinkingLevel": level}
        body["generationConfig"] = config
        return body

    async def describe(self, picture: Picture, system: str, prompt: str) -> Caption:
        async with self.provider.http.deadline("describe", NAME):
            image = await asyncio.to_thread(_inline_image, picture)
            body = self.request_body(image, system, prompt)
            stream = bool(self.model.options.get("stream", self.provider.conf.stream))
            if not stream:
                return self._caption([await self.provider.generate(self.model, body)])
            result = await self.provider.http.request(
                "POST",
                self.provider.path(self.model, "streamGenerateContent"),
                params={"alt": "sse"},
                json=body,
                on_chunk=StreamWatcher(report_partial),
            )
            events = await asyncio.to_thread(parse_events, result.body)
            return self._caption(events)

    def _caption(self, events: list[Any]) -> Caption:
        who = self.model.name
        if not events:
            raise ProviderError("bad_response", f"{who} sent an empty answer stream")
        texts: list[str] = []
        finish, said, usage, version = "", "", None, ""
        for event in events:
            if not isinstance(event, dict):
                continue
            if isinstance(event.get("error"), dict):  # an error after 200 OK
                raise self.provider.error_of(event, 500)
            blocked = _blocked(event, who)
            if blocked is not None:
                raise blocked
            parts, f, s = _parts(event)
            texts.append(text_of(parts))
            finish, said = f or finish, s or said
            usage = event.get("usageMetadata") or usage
            version = str(event.get("modelVersion") or version)
        text = clean_text("".join(texts), CAPTION_LIMIT)
        if not text:
            if finish == "MAX_TOKENS":
                raise ProviderError(
                    "bad_response",
                    f"{who} spent its whole output budget thinking and said nothing",
                    hint="raise max_output_tokens or lower thinking_level under [providers.gemini]",
                )
            if finish in REFUSAL_FINISHES:
                raise ProviderError(
                    "refused",
                    f"{who} would not describe the picture ({clean_text(finish, 40)})"
                    + (f": {clean_text(said, 200)}" if said else ""),
                )
            raise ProviderError("refused", f"{who} gave no description")
        extras: dict[str, Any] = {"model": clean_text(version or who, 80)}
        if finish:
            extras["finish_reason"] = clean_text(finish, 40)
        if isinstance(usage, dict):
            extras["usage"] = usage
        return Caption(text, extras, self.model.price)


# -- the provider --------------------------------------------------------------------------------


class GeminiProvider(CatalogProvider):
    """Google's Gemini API with an API key."""

    name = NAME
    title = "Gemini"
    PRESETS = PRESETS
    ACCEPTS_ANY_MODEL = frozenset({"drawer", "guesser"})

    def __init__(self, ctx: ProviderContext) -> None:
        super().__init__(ctx)
        self.conf = GeminiSettings.read(self.settings)
        self.base_url = self.conf.base_url
        self.key = ctx.get_key(NAME) or ctx.env.get(KEY_ENV_FALLBACK, "").strip()
        self.http_settings = HttpSettings.from_settings(
            self.settings, base_url=f"{self.base_url}/{API_VERSION}"
        )
        self.http = GeminiHttp(
            self.title,
            self.http_settings,
            headers={"x-goog-api-key": self.key} if self.key else {},
            secrets=(self.key,) if self.key else (),
            error_mapper=self._map_failure,
        )
        self._listed: tuple[float, list[dict[str, Any]]] | None = None
        self._listing_lock = asyncio.Lock()

    def path(self, model: ModelInfo, method: str) -> str:
        return f"/models/{quote(model.name.removeprefix('models/'), safe='.-_')}:{method}"

    async def generate(self, model: ModelInfo, body: Mapping[str, Any]) -> Any:
        """One non-streamed ``generateContent`` call, parsed."""
        return await self.http.json("POST", self.path(model, "generateContent"), json=dict(body))

    # -- catalogue -------------------------------------------------------------------------------
    async def listing(self, *, fresh: bool = False) -> list[dict[str, Any]]:
        """Every model of ``GET /v1beta/models``, kept for :data:`LISTING_TTL` seconds so the
        checks of every Gemini model (menus, ``telestrations models``) share one listing."""
        async with self._listing_lock:
            now = asyncio.get_running_loop().time()
            if not fresh and self._listed is not None and now - self._listed[0] < LISTING_TTL:
                return self._listed[1]
            models = await self._list_pages()
            self._listed = (now, models)
            return models

    async def _list_pages(self) -> list[dict[str, Any]]:
        """Following each ``nextPageToken``: a new model can sit on a later page (11.9)."""
        out: list[dict[str, Any]] = []
        token = ""
        for _ in range(MAX_PAGES):
            params: dict[str, Any] = {"pageSize": PAGE_SIZE}
            if token:
                params["pageToken"] = token
            data = await self.http.json(
                "GET",
                "/models",
                params=params,
                retry=False,
                read_timeout=self.conf.check_timeout,
            )
            if not isinstance(data, dict):
                raise ProviderError("bad_response", "Gemini's model list is not an object")
            out += [m for m in data.get("models") or () if isinstance(m, dict)]
            token = str(data.get("nextPageToken") or "")
            if not token:
                break
        return out

    @staticmethod
    def _id(entry: Mapping[str, Any]) -> str:
        return str(entry.get("name", "")).removeprefix("models/")

    @staticmethod
    def _generates(entry: Mapping[str, Any]) -> bool:
        return "generateContent" in (entry.get("supportedGenerationMethods") or ())

    async def discover(self) -> list[ModelInfo]:
        """Listed models that support generateContent: image ones as drawers, the rest of the
        Gemini family as guessers (the listing cannot say "image output", 11.6)."""
        if not self.key:
            return []
        found: list[ModelInfo] = []
        for entry in await self.listing(fresh=True):
            name = self._id(entry)
            if not MODEL_ID.fullmatch(name) or not self._generates(entry):
                continue
            if any(w in name for w in ("embedding", "tts", "audio", "live")):
                continue
            kind: ModelKind = "drawer" if ("image" in name or "banana" in name) else "guesser"
            label = clean_text(str(entry.get("displayName") or name), 80)
            preset = next((m for m in self._models if m.name == name and m.kind == kind), None)
            found.append(
                ModelInfo(
                    NAME,
                    clean_text(name, 120),
                    kind,
                    label=preset.label if preset else label,
                    price=preset.price if preset else self.ctx.prices.get(f"{NAME}:{name}"),
                    note=preset.note if preset else "listed by Gemini",
                    discovered=True,
                )
            )
        self.remember_discovered(found)
        return found

    def availability(self, model: ModelInfo) -> Availability:
        if not self.key:
            return Availability.no("no Gemini key", KEY_HINT, "auth")
        return Availability.yes()

    async def check(self, model: ModelInfo) -> Availability:
        """The key works (the listing answers) and the model is listed with generateContent;
        unlisted is only a warning."""
        quick = self.availability(model)
        if not quick.ok:
            return quick
        try:
            listed = await self.listing()
        except ProviderError as exc:
            return Availability.no(exc.message, exc.hint, exc.kind)
        entry = next((m for m in listed if self._id(m) == model.name), None)
        if entry is None:
            return Availability.yes(
                f"{model.name!r} is not in Gemini's model list; it may still work"
            )
        if not self._generates(entry):
            return Availability.no(
                f"Gemini lists {model.name!r} but not for generateContent",
                "pick a model from `telestrations models`",
                "not_found",
            )
        return Availability.yes()

    # -- turns -----------------------------------------------------------------------------------
    def drawer(self, model: ModelInfo) -> Drawer:
        avail = self.availability(model)
        if not avail.ok:
            raise avail.error()
        return GeminiDrawer(self, model)

    def guesser(self, model: ModelInfo) -> Guesser:
        avail = self.availability(model)
        if not avail.ok:
            raise avail.error()
        return GeminiGuesser(self, model)

    async def aclose(self) -> None:
        await self.http.aclose()

    # -- errors ----------------------------------------------------------------------------------
    def error_of(self, data: Any, status: int) -> ProviderError:
        """An error object sent inside a stream, mapped as if it had come as an HTTP error."""
        err = data.get("error") if isinstance(data, dict) else {}
        code = err.get("code") if isinstance(err, dict) else None
        status = code if isinstance(code, int) and 400 <= code < 600 else status
        message = clean_text(str(err.get("message", "")) if isinstance(err, dict) else "", 300)
        failure = HttpFailure(status, httpx.Headers(), b"", data, message)
        mapped = self._map_failure(failure)
        if mapped is not None:
            return mapped
        return ProviderError("server", f"Gemini failed mid-answer: {message}", status=status)

    def _map_failure(self, failure: HttpFailure) -> ProviderError | None:
        data, status, said = failure.json, failure.status, failure.text
        err = data.get("error") if isinstance(data, dict) else None
        canonical = str(err.get("status", "")) if isinstance(err, dict) else ""
        shown = f"Gemini answered HTTP {status}" + (f" {canonical}" if canonical else "")
        shown += f": {said}" if said else ""
        if "API_KEY_INVALID" in _reasons(data) or status == 401:
            return ProviderError("auth", shown, hint=KEY_HINT, status=status)
        if status == 403:
            return ProviderError(
                "auth",
                shown,
                hint="the key's project lacks access (enable the Generative Language API)",
                status=status,
            )
        if status == 404:
            return ProviderError(
                "not_found",
                shown,
                hint="the model may be shut down or misspelled; see `telestrations models`",
                status=status,
            )
        if status == 429:
            if per_day_quota(data):
                return ProviderError(
                    "quota",
                    shown,
                    hint="a per-day quota is used up: resume tomorrow, or raise the tier",
                    status=status,
                )
            return ProviderError(
                "rate_limited",
                shown,
                hint="wait a little and resume",
                status=status,
                retryable=True,
                retry_after=retry_delay(data),
            )
        return None


def provider(ctx: ProviderContext) -> GeminiProvider:
    """Entry point for the ``telestrations.providers`` group."""
    return GeminiProvider(ctx)


__all__ = [
    "GeminiDrawer",
    "GeminiGuesser",
    "GeminiProvider",
    "GeminiSettings",
    "provider",
]
