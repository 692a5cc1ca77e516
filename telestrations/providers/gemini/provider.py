"""The Gemini provider: one image model draws, one vision model guesses, one listing tells
which models exist."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

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
    partials_wanted,
    report_partial,
)
from telestrations.providers.catalog import CatalogProvider
from telestrations.providers.gemini.answers import (
    CAPTION_LIMIT,
    REFUSAL_FINISHES,
    blocked,
    caption_watcher,
    image_of,
    inline_image,
    parse_events,
    parts_of,
    text_of,
)
from telestrations.providers.gemini.errors import map_failure, retry_hint, stream_error
from telestrations.providers.gemini.models import MODEL_ID, PRESETS, token_cost
from telestrations.providers.gemini.settings import (
    API_VERSION,
    KEY_HINT,
    NAME,
    GeminiSettings,
)
from telestrations.providers.http import HttpClient, auth_headers, http_settings
from telestrations.providers.http.images import picture_from_bytes
from telestrations.text import clean_text

log = logging.getLogger(__name__)

PAGE_SIZE = 1000
MAX_PAGES = 50
"""Listing pages followed at most: bounded, and far more than the service has."""
LISTING_TTL = 60.0
"""Seconds one listing serves every model's check (menus, ``telestrations models``)."""


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
            raise stream_error(data, 500)
        refused = blocked(data, who)
        if refused is not None:
            raise refused
        parts, finish, said = parts_of(data)
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
            image = await asyncio.to_thread(inline_image, picture)
            body = self.request_body(image, system, prompt)
            stream = bool(self.model.options.get("stream", self.provider.conf.stream))
            if not stream:
                return self._caption([await self.provider.generate(self.model, body)])
            result = await self.provider.http.request(
                "POST",
                self.provider.path(self.model, "streamGenerateContent"),
                params={"alt": "sse"},
                json=body,
                on_chunk=caption_watcher(report_partial) if partials_wanted() else None,
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
                raise stream_error(event, 500)
            refused = blocked(event, who)
            if refused is not None:
                raise refused
            parts, f, s = parts_of(event)
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


class GeminiProvider(CatalogProvider):
    """Google's Gemini API with an API key."""

    SETTINGS = GeminiSettings
    conf: GeminiSettings

    name = NAME
    title = "Gemini"
    PRESETS = PRESETS
    ACCEPTS_ANY_MODEL = frozenset({"drawer", "guesser"})

    def __init__(self, ctx: ProviderContext) -> None:
        super().__init__(ctx)
        self.base_url = self.conf.api_root
        # GEMINI_API_KEY, else GOOGLE_API_KEY (the KeySpec's fallback), else the keys file.
        self.key = (ctx.get_key(NAME) or "").strip()
        self.http_settings = http_settings(self.conf, base_url=f"{self.base_url}/{API_VERSION}")
        self.http = HttpClient(
            self.title,
            self.http_settings,
            headers=auth_headers(self.key, scheme="header", header="x-goog-api-key"),
            secrets=(self.key,),
            error_mapper=map_failure,
            retry_hint=retry_hint,
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
        return GeminiDrawer(self, self.usable(model))

    def guesser(self, model: ModelInfo) -> Guesser:
        return GeminiGuesser(self, self.usable(model))

    async def aclose(self) -> None:
        await self.http.aclose()
