"""The OpenAI vision chat guesser, for OpenAI and OpenAI-compatible servers."""

from __future__ import annotations

import asyncio
import io
import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from telestrations.providers.base import (
    Caption,
    ModelInfo,
    Picture,
    ProviderError,
    partials_wanted,
    report_partial,
)
from telestrations.providers.http import b64, rejects_field
from telestrations.providers.http.bodies import JsonSafe, Spliced
from telestrations.providers.openai.models import (
    DEFAULT_DETAIL,
    DEFAULT_MAX_TOKENS,
    RESEND_SIDE,
    SEND_FORMATS,
    TOKEN_PRICES,
    TokenField,
)
from telestrations.providers.openai.streaming import (
    CAPTION_LIMIT,
    chat_watcher,
    is_event_stream,
    parse_stream,
)
from telestrations.providers.pixels import decode_reduced
from telestrations.text import clean_text

if TYPE_CHECKING:
    from telestrations.providers.openai.provider import OpenAIProvider

log = logging.getLogger(__name__)

INLINE_STREAM = 8 * 1024
"""A streamed answer up to this size (a caption is 2-5 KB of events) is parsed on the loop,
~0.15 ms a 1.6 KB caption; a thread hop would cost more, on the round's critical path."""
_STREAM_FIELD = re.compile(r"\bstream(?:_options)?\b")


def _data_uri(picture: Picture) -> str | Spliced:
    """``data:image/<fmt>;base64,...``; formats not every server takes are sent as PNG."""
    mime = SEND_FORMATS.get(picture.format)
    if mime is not None and picture.b64 is not None:  # as the drawer sent it: no re-encoding
        if isinstance(picture.b64, JsonSafe):  # written into the body as is, not copied here
            return Spliced(JsonSafe(f"data:{mime};base64,"), picture.b64)
        return f"data:{mime};base64,{picture.b64}"
    data = picture.data
    if mime is None:  # reduced while decoding: a huge GIF never sits whole in RGBA
        im = decode_reduced(data, (RESEND_SIDE, RESEND_SIDE))
        im.thumbnail((RESEND_SIDE, RESEND_SIDE))
        buf = io.BytesIO()
        im.convert("RGBA").save(buf, "PNG")
        data, mime = buf.getvalue(), "image/png"
    return JsonSafe(f"data:{mime};base64,{b64.encode(data)}")


class OpenAIGuesser:
    """One vision chat model through ``/chat/completions``."""

    def __init__(self, provider: OpenAIProvider, model: ModelInfo) -> None:
        self.provider = provider
        self.model = model
        self.token_field: TokenField = provider.token_field_for(model)
        self.stream = provider.stream_for(model)

    def request_body(self, image_uri: str | Spliced, system: str, prompt: str) -> dict[str, Any]:
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
        if SEND_FORMATS.get(picture.format) is not None and picture.b64 is not None:
            uri = _data_uri(picture)  # no copy of the base64: no thread hop for it
        else:
            uri = await asyncio.to_thread(_data_uri, picture)
        body = self.request_body(uri, system, prompt)
        for attempt in range(3):  # at most one fix of the token field and one of streaming
            streams = body.get("stream") is True and partials_wanted()
            watch = chat_watcher(report_partial) if streams else None
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
        if is_event_stream(result) and len(result.body) <= INLINE_STREAM:
            data: Any = parse_stream(result.body, who)  # a caption's few KB: no thread hop
        elif is_event_stream(result):
            data = await asyncio.to_thread(parse_stream, result.body, who)
        else:  # not streamed, or a compatible server that ignores `stream`
            data = result.json()
        if isinstance(data, dict) and (data.get("error") or data.get("object") == "error"):
            # An error in the stream, or a gateway that reports one with 200 OK.
            raise self.provider.stream_error(data.get("error") or data, result.headers)
        return self._caption(data)

    def _stream_rejected(self, exc: ProviderError) -> bool:
        """A 400 that says the server does not know ``stream``/``stream_options``."""
        return rejects_field(exc, _STREAM_FIELD)

    def _other_token_field(self, exc: ProviderError) -> TokenField | None:
        """The other field name when the server rejected the one we sent (PROTOCOLS.md 2.3)."""
        if not rejects_field(exc, self.token_field):
            return None
        return (
            "max_tokens" if self.token_field == "max_completion_tokens" else "max_completion_tokens"
        )

    def _caption(self, data: Any) -> Caption:
        choices = data.get("choices") if isinstance(data, dict) else None
        choice = choices[0] if isinstance(choices, list) and choices else None
        if not isinstance(choice, dict):
            raise ProviderError("bad_response", "the chat answer has no choices")
        message: dict[str, Any] = (
            choice["message"] if isinstance(choice.get("message"), dict) else {}
        )
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
