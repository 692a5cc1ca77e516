"""The OpenAI images drawer: one request shape per model family (PROTOCOLS.md 7.3–7.4)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from telestrations.providers.base import (
    ModelInfo,
    Picture,
    ProviderError,
)
from telestrations.providers.http import (
    Form,
    picture_from_base64,
    picture_from_bytes,
)
from telestrations.providers.openai.models import (
    PROMPT_LIMITS,
    TOP_QUALITIES,
    family_of,
    image_price,
    takes_top_quality,
    usage_cost,
)
from telestrations.text import clean_text

if TYPE_CHECKING:
    from telestrations.providers.openai.provider import OpenAIProvider

log = logging.getLogger(__name__)

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
            quality = str(o.get("quality", "low"))
            if quality in TOP_QUALITIES and not takes_top_quality(self.model.name):
                quality = "high"  # xhigh/max exist only for 2.5/2.6 (PROTOCOLS.md 8.3)
            body["quality"] = quality
            body["output_format"] = str(o.get("output_format", "png"))
            for key in ("background", "moderation", "output_compression", "complexity"):
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

    def reference_unsupported(self) -> str:
        """DALL-E 3 has no edits endpoint; GPT image models, DALL-E 2 and compatible servers
        take ``/images/edits``."""
        if self.family == "dall-e-3":
            return "DALL-E 3 has no image edits"
        return ""

    def edit_form(self, text: str, reference: Picture) -> Form:
        """The multipart body of ``/images/edits``: the generation fields that edits take
        (not ``style`` or ``moderation``), as text, and the previous picture as ``image[]``
        (GPT image models take several) or ``image`` (DALL-E 2 and older servers take one)."""
        body = self.request_body(text)
        for key in ("style", "moderation"):  # generation-only fields
            body.pop(key, None)
        fields = {
            k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items() if v is not None
        }
        name = "image[]" if self.family == "gpt-image" else "image"
        mime = f"image/{reference.format}"
        return Form(fields, [(name, (f"previous{reference.suffix}", reference.data, mime))])

    async def draw_from(self, text: str, reference: Picture) -> Picture:
        """Memory play: ``POST /images/edits`` with the previous picture."""
        async with self.provider.http.deadline("draw", self.provider.name):
            form = self.edit_form(text, reference)
            result = await self.provider.post_form("/images/edits", form, self.model)
            picture = await self._picture(result.json(), form.fields, text)
        return replace(picture, extras={**picture.extras, "edited": True})

    async def _draw(self, text: str) -> Picture:
        body = self.request_body(text)
        try:
            result = await self.provider.post("/images/generations", body, self.model)
        except ProviderError as exc:
            if exc.kind == "bad_request" and body.get("quality") in TOP_QUALITIES:
                # Some servers (proxies) reject xhigh/max: ask once more at high (8.3).
                log.info("%s rejects quality %s; asking at high", self.model.id, body["quality"])
                body["quality"] = "high"
                result = await self.provider.post("/images/generations", body, self.model)
                return await self._picture(result.json(), body, text)
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
        raw = b""
        if isinstance(item.get("b64_json"), str) and item["b64_json"]:
            b64 = item["b64_json"]  # decoded and checked in one worker thread, below
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
        # GPT image models bill by tokens: the answer's usage says what this call cost
        # (PROTOCOLS.md 8.4); the per-image table covers the older models.
        table = usage_cost(self.model.name, data.get("usage"))
        if table is None:
            table = image_price(self.model.name, size, quality)
        cost = self.provider.cost_of(self.model, table)
        max_pixels = self.provider.http_settings.max_pixels
        if b64 is not None:
            return await picture_from_base64(b64, max_pixels=max_pixels, extras=extras, cost=cost)
        return await picture_from_bytes(raw, max_pixels=max_pixels, extras=extras, cost=cost)
