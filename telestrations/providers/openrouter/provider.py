"""The OpenRouter provider: drawers through the Image API, guessers through chat completions,
models from the models list, errors as one line with a hint."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import httpx

from telestrations.providers.base import (
    Availability,
    Drawer,
    Guesser,
    ModelInfo,
    ModelKind,
    Picture,
    ProviderContext,
    ProviderError,
)
from telestrations.providers.http import (
    ErrorRule,
    HttpFailure,
    decode_base64_image,
    error_message,
    picture_from_bytes,
    translate,
)
from telestrations.providers.openai.chat import OpenAIGuesser
from telestrations.providers.openai.endpoint import listed_kinds, listed_models, shut_down
from telestrations.providers.openai.provider import OpenAIProvider
from telestrations.providers.openrouter.settings import (
    CREDITS_HINT,
    KEY_HINT,
    NAME,
    OpenRouterSettings,
)
from telestrations.text import clean_text, redact

PAGE_SIZE = 500
MAX_PAGES = 20
"""Listing pages followed at most: bounded, and more than OpenRouter has."""
LISTING_TTL = 60.0
"""Seconds one listing serves every model's check."""
DRAW_FIELDS = (
    "resolution", "size", "quality", "output_format", "background", "output_compression",
    "seed", "provider",
)  # fmt: skip
"""Image API fields a model's options may set (12.2); ``aspect_ratio`` is always sent."""
REFUSED_HINT = "a game event: edit the prompt or style and resume"


def _number(value: Any) -> float | None:
    """A price or cost: OpenRouter sends prices as strings, costs as numbers."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def usage_cost(data: Any) -> float | None:
    """USD from ``usage.cost``, the cost OpenRouter reports for a call; None when absent."""
    usage = data.get("usage") if isinstance(data, Mapping) else None
    return _number(usage.get("cost")) if isinstance(usage, Mapping) else None


def describe_entry(
    entry: Mapping[str, Any], kind: ModelKind
) -> tuple[str, float | None, dict[str, Any]]:
    """A note, a price per call and options from one ``/models`` entry's ``pricing``: USD per
    output image for drawers; per-token prices (as USD per million) for guessers."""
    pricing = entry.get("pricing") if isinstance(entry.get("pricing"), Mapping) else {}
    assert isinstance(pricing, Mapping)
    if kind == "drawer":
        per_image = _number(pricing.get("image_output"))
        note = f"${per_image:g}/image" if per_image else "cost as OpenRouter reports it"
        return note, per_image or None, {}
    options: dict[str, Any] = {}
    price_in, price_out = _number(pricing.get("prompt")), _number(pricing.get("completion"))
    if price_in is not None and price_out is not None:
        options = {"price_in": price_in * 1_000_000, "price_out": price_out * 1_000_000}
        return f"${price_in * 1e6:g}/M in, ${price_out * 1e6:g}/M out", None, options
    return "listed by OpenRouter", None, options


RULES: tuple[ErrorRule, ...] = (
    ErrorRule("auth", status=frozenset({401}), hint=KEY_HINT),
    ErrorRule(
        "quota", status=frozenset({402}), hint=CREDITS_HINT, message="out of credits: {said}"
    ),
    ErrorRule("refused", status=frozenset({403}), hint=REFUSED_HINT, message="moderation: {said}"),
    ErrorRule(
        "not_found",
        status=frozenset({400, 404}),
        words=("not a valid model", "no endpoints found"),
        hint="OpenRouter ids look like author/slug; see `telestrations models`",
    ),
    ErrorRule(
        "not_found",
        status=frozenset({404}),
        hint="OpenRouter ids look like author/slug; see `telestrations models`",
    ),
    ErrorRule("timeout", status=frozenset({408, 524}), hint="the model took too long; resume"),
    ErrorRule("bad_request", status=frozenset({413}), hint="the prompt or picture is too large"),
    ErrorRule("rate_limited", status=frozenset({429}), hint="wait a little and resume"),
    ErrorRule(
        "server",
        status=frozenset({502}),
        hint="the model's provider failed (failed drawings are not billed); resume to retry",
    ),
    ErrorRule(
        "server",
        status=frozenset({503, 529}),
        hint="no provider can serve this model right now; resume later or pick another",
    ),
)
"""What OpenRouter's ``{error: {code, message, metadata}}`` answers mean (12.1)."""


def map_failure(failure: HttpFailure) -> ProviderError | None:
    """The kind and hint by status; a moderation refusal names its reasons."""
    err = failure.json.get("error") if isinstance(failure.json, dict) else None
    meta = err.get("metadata") if isinstance(err, dict) else None
    reasons = meta.get("reasons") if isinstance(meta, dict) else None
    said = failure.text
    if isinstance(reasons, list) and reasons:
        said = f"{said} ({clean_text(', '.join(str(r) for r in reasons[:5]), 120)})"
    return translate(
        HttpFailure(failure.status, failure.headers, failure.body, failure.json, said), RULES
    )


class OpenRouterDrawer:
    """One image model through ``POST /images`` (12.2)."""

    def __init__(self, provider: OpenRouterProvider, model: ModelInfo) -> None:
        self.provider = provider
        self.model = model

    def request_body(self, text: str) -> dict[str, Any]:
        o, conf = self.model.options, self.provider.conf
        body: dict[str, Any] = {"model": self.model.name, "prompt": text, "n": 1}
        body["aspect_ratio"] = str(o.get("aspect_ratio", conf.aspect_ratio))
        defaults = {
            "resolution": conf.resolution,
            "quality": conf.quality,
            "output_format": conf.output_format,
        }
        for key in DRAW_FIELDS:
            value = o.get(key, defaults.get(key))
            if value not in (None, ""):
                body[key] = value
        extra = o.get("extra")
        if isinstance(extra, Mapping):
            body.update(extra)
        return body

    async def draw(self, text: str) -> Picture:
        async with self.provider.http.deadline("draw", self.provider.name):
            result = await self.provider.post("/images", self.request_body(text), self.model)
            return await self._picture(result.json(), result.headers)

    async def _picture(self, data: Any, headers: httpx.Headers) -> Picture:
        if isinstance(data, dict) and data.get("error"):  # failed after the 200 (12.1)
            raise self.provider.stream_error(data["error"], headers)
        items = data.get("data") if isinstance(data, dict) else None
        item = items[0] if isinstance(items, list) and items else None
        if not isinstance(item, dict):
            raise ProviderError("bad_response", f"{self.model.name} answered with no image")
        if isinstance(item.get("b64_json"), str) and item["b64_json"]:
            raw = await asyncio.to_thread(decode_base64_image, item["b64_json"])
        elif isinstance(item.get("url"), str) and item["url"]:
            raw = await self.provider.http.download(item["url"])
        else:
            raise ProviderError("bad_response", "the image has neither b64_json nor url")
        extras: dict[str, Any] = {"model": clean_text(self.model.name, 120)}
        if isinstance(item.get("media_type"), str):
            extras["media_type"] = clean_text(item["media_type"], 40)
        if isinstance(data.get("usage"), dict):
            extras["usage"] = data["usage"]
        cost = self.provider.cost_of(self.model, usage_cost(data))
        return await picture_from_bytes(
            raw, max_pixels=self.provider.http_settings.max_pixels, extras=extras, cost=cost
        )


class OpenRouterGuesser(OpenAIGuesser):
    """A vision model through chat completions (12.4); the cost OpenRouter reports wins."""

    def _token_cost(self, usage: Mapping[str, Any] | None) -> float | None:
        reported = _number(usage.get("cost")) if isinstance(usage, Mapping) else None
        return reported if reported is not None else super()._token_cost(usage)


PRESETS: tuple[ModelInfo, ...] = (
    # Ids from OpenRouter's docs and OpenAPI examples (PROTOCOLS.md 12.2, 12.5; 2026-08-22).
    # Hints so the menus offer OpenRouter (and ask for its key) before its list is read;
    # the list adds everything else it offers, with prices.
    ModelInfo(NAME, "openai/gpt-image-2", "drawer"),
    ModelInfo(NAME, "bytedance-seed/seedream-4.5", "drawer"),
    # OpenAI's gpt-4o-mini through OpenRouter; OpenAI shuts the model down on 2027-01-14
    # (PROTOCOLS.md 8.5), and OpenRouter's list then says so (expiration_date).
    ModelInfo(NAME, "openai/gpt-4o-mini", "guesser"),
)


class OpenRouterProvider(OpenAIProvider):
    """OpenRouter: one key for many drawers and guessers."""

    SETTINGS = OpenRouterSettings
    conf: OpenRouterSettings

    name = NAME
    title = "OpenRouter"
    PRESETS = PRESETS
    BASE_URL_ENV = None

    def __init__(self, ctx: ProviderContext) -> None:
        super().__init__(ctx)
        self.key_hint = KEY_HINT
        self._listed: tuple[float, list[Mapping[str, Any]]] | None = None
        self._listing_lock = asyncio.Lock()

    def extra_headers(self) -> dict[str, str]:
        """The optional app attribution (12.1), which never changes what a model does, then
        the ``headers`` setting."""
        headers = {}
        if self.conf.referer:
            headers["HTTP-Referer"] = self.conf.referer
        if self.conf.app_title:
            headers["X-OpenRouter-Title"] = self.conf.app_title
            headers["X-Title"] = self.conf.app_title
        return {**headers, **super().extra_headers()}

    def server_title(self) -> str:
        return "OpenRouter"

    # -- catalogue -------------------------------------------------------------------------------
    def models(self) -> list[ModelInfo]:
        """What the list says first (prices, dates), then the presets it did not list."""
        listed = {(m.kind, m.name) for m in self._discovered}
        return self._discovered + [m for m in self._models if (m.kind, m.name) not in listed]

    async def listing(self, *, fresh: bool = False) -> list[Mapping[str, Any]]:
        """Every model of ``GET /models?output_modalities=all`` (all pages), kept for
        :data:`LISTING_TTL` seconds so the checks of every model share one listing."""
        async with self._listing_lock:
            now = asyncio.get_running_loop().time()
            if not fresh and self._listed is not None and now - self._listed[0] < LISTING_TTL:
                return self._listed[1]
            out: list[Mapping[str, Any]] = []
            for page in range(MAX_PAGES):
                params = {
                    "output_modalities": "all",
                    "offset": page * PAGE_SIZE,
                    "limit": PAGE_SIZE,
                }
                data = await self.http.json(
                    "GET",
                    "/models",
                    params=params,
                    retry=False,
                    read_timeout=self.conf.check_timeout,
                )
                entries = data.get("data") if isinstance(data, dict) else None
                if not isinstance(entries, list):
                    raise ProviderError("bad_response", "OpenRouter's model list has no data")
                out += [e for e in entries if isinstance(e, dict)]
                total = data.get("total_count")
                more = isinstance(total, int) and len(out) < total
                links = data.get("links")
                if isinstance(links, dict) and links.get("next"):
                    more = more or not isinstance(total, int)
                if not entries or not more:
                    break
            self._listed = (now, out)
            return out

    async def discover(self) -> list[ModelInfo]:
        """Drawers are models with image output, guessers those that take images and answer
        text (12.5); prices from their ``pricing``; an expired one is left out. Without a
        key nothing is asked: a person who has not set OpenRouter up is not its visitor."""
        if not self.key:
            return []
        listed = await self.listing(fresh=True)
        # Hundreds of entries (up to 2000 take ~60 ms): off the event loop.
        found = await asyncio.to_thread(
            listed_models, NAME, listed, self._models, describe=describe_entry
        )
        self.remember_discovered(found)
        return found

    def availability(self, model: ModelInfo) -> Availability:
        if not self.key:
            return Availability.no("no OpenRouter key", KEY_HINT, "auth")
        return Availability.yes()

    async def check(self, model: ModelInfo) -> Availability:
        """The listing answers and holds the model with the right modalities; a model
        missing from it is only a warning (listings lag)."""
        quick = self.availability(model)
        if not quick.ok:
            return quick
        try:
            listed = await self.listing()
        except ProviderError as exc:
            return Availability.no(exc.message, exc.hint, exc.kind)
        entry = next((e for e in listed if e.get("id") == model.name), None)
        if entry is None:  # listings lag behind launches: evidence, not a gate
            return Availability.warn(
                f"{model.name!r} is not in OpenRouter's model list; it may still work",
                "if the call fails, check the id against `telestrations models`",
            )
        ends = shut_down(entry)
        if ends is not None and ends <= dt.date.today().isoformat():
            return Availability.no(
                f"OpenRouter retired {model.name!r} on {ends}",
                "pick a model from `telestrations models`",
                "not_found",
            )
        kinds = listed_kinds(entry)
        if model.kind not in kinds:
            said = f"only as a {kinds[0]}" if kinds else "as neither a drawer nor a guesser"
            return Availability.no(
                f"OpenRouter lists {model.name!r} {said}",
                "pick a model from `telestrations models`",
                "not_found",
            )
        return Availability.yes()

    # -- turns -----------------------------------------------------------------------------------
    def drawer(self, model: ModelInfo) -> Drawer:
        return OpenRouterDrawer(self, self.usable(model))

    def guesser(self, model: ModelInfo) -> Guesser:
        return OpenRouterGuesser(self, self.usable(model))

    # -- errors ----------------------------------------------------------------------------------
    def _map_failure(self, failure: HttpFailure) -> ProviderError | None:
        error = map_failure(failure)
        if error is not None and error.kind == "auth" and not self.key:
            error.message = f"OpenRouter needs a key: {failure.text or 'HTTP 401'}"
        return error

    def stream_error(self, err: Any, headers: httpx.Headers) -> ProviderError:
        """An error sent with 200 OK (12.1), mapped as the HTTP error its ``code`` names."""
        payload = {"error": err if isinstance(err, dict) else {"message": str(err)}}
        payload = json.loads(redact(json.dumps(payload), self.http.secrets))
        code = payload["error"].get("code")
        status = code if isinstance(code, int) and 400 <= code < 600 else 502
        said = clean_text(redact(error_message(payload) or "no message", self.http.secrets), 300)
        error = map_failure(HttpFailure(status, headers, b"", payload, said))
        if error is None:
            error = ProviderError("server", f"OpenRouter failed mid-answer: {said}", status=status)
        error.status = 200
        return error
