"""Ollama's native API as a guesser: llava, bakllava, moondream, or any pulled vision model.

Talks to ``POST /api/chat`` (PROTOCOLS.md section 3) on a local server or on a RunPod GPU pod
behind ``https://{pod}-11434.proxy.runpod.net``. Where Ollama lives, highest first:

1. ``OLLAMA_HOST`` in the environment, read exactly as Ollama reads it;
2. ``RUNPOD_ID`` in the environment (the original's switch to a pod);
3. ``host`` in ``[providers.ollama]``;
4. ``runpod_pod_id`` in ``[providers.ollama]``;
5. ``http://127.0.0.1:11434``.

Environment beats config, as everywhere in the app (DESIGN.md); an explicit host beats a pod id
at the same level because it is the more specific instruction.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from telestrations.providers.base import (
    Availability,
    Caption,
    Guesser,
    ModelInfo,
    Picture,
    ProviderContext,
    ProviderError,
    partials_wanted,
    report_partial,
)
from telestrations.providers.catalog import CatalogProvider
from telestrations.providers.http import (
    HttpClient,
    HttpFailure,
    HttpResult,
    StreamWatcher,
    auth_headers,
    b64,
    http_settings,
    shown_url,
)
from telestrations.providers.http.errors import OLLAMA_TEXT_RULES, translate_text
from telestrations.providers.ollama.host import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    Endpoint,
    choose_endpoint,
    parse_ollama_host,
    runpod_proxy_url,
)
from telestrations.providers.pixels import decode_reduced
from telestrations.providers.spec import HttpFields, KeySpec, ProviderSpec, setting
from telestrations.text import clean_text, redact

log = logging.getLogger(__name__)

DEFAULT_KEEP_ALIVE = "10m"
DEFAULT_NUM_PREDICT = 100
CHECK_TIMEOUT = 5.0
DESCRIBE_DEADLINE = 300.0
"""Loading a vision model cold on a CPU takes minutes before the first word."""
SEND_FORMATS = ("png", "jpeg")
"""Formats every Ollama runner decodes; anything else (webp, gif) is sent as PNG."""
RESEND_SIDE = 2048
"""A picture re-encoded to be sent is at most this wide and high (vision models see less)."""

_VISION_FAMILIES = ("clip", "mllama")


# -- models -------------------------------------------------------------------------------------


def _preset(name: str, label: str, note: str) -> ModelInfo:
    return ModelInfo("ollama", name, "guesser", label=label, note=note)


PRESETS: tuple[ModelInfo, ...] = (
    _preset("llava", "LLaVA", "the original's guesser; `ollama pull llava`"),
    _preset("bakllava", "BakLLaVA", "the original's Mistral-based LLaVA; `ollama pull bakllava`"),
    _preset("moondream", "moondream", "the original's tiny guesser; `ollama pull moondream`"),
    _preset("llama3.2-vision", "Llama 3.2 Vision", "11B; `ollama pull llama3.2-vision`"),
    _preset("qwen2.5vl", "Qwen2.5-VL", "strong captions; `ollama pull qwen2.5vl`"),
    _preset("gemma3", "Gemma 3", "4B and up see images; `ollama pull gemma3`"),
)


def same_model(wanted: str, listed: str) -> bool:
    """``llava`` means ``llava:latest``, as in Ollama itself."""

    def full(n: str) -> str:
        return n if ":" in n.rsplit("/", 1)[-1] else f"{n}:latest"

    return full(wanted) == full(listed)


def is_vision(show: Mapping[str, Any]) -> bool:
    """From an ``/api/show`` body: ``vision`` in capabilities, or old servers' hints."""
    caps = show.get("capabilities")
    if isinstance(caps, list):
        return "vision" in caps
    if show.get("projector_info"):
        return True
    details = show.get("details") or {}
    families = (details.get("families") or []) if isinstance(details, Mapping) else []
    return any(f in _VISION_FAMILIES for f in families if isinstance(f, str))


# -- replies ------------------------------------------------------------------------------------


def error_from_text(message: str, *, status: int | None = None) -> ProviderError:
    """An Ollama ``{"error": "..."}`` message as a :class:`ProviderError` (the words it is
    known by: :data:`~telestrations.providers.http.errors.OLLAMA_TEXT_RULES`)."""
    text = clean_text(message)
    known = translate_text(text, OLLAMA_TEXT_RULES, status=status)
    return known or ProviderError("server", f"Ollama: {text}", status=status)


def _content_of(line: Any) -> str | None:
    """The new text in one NDJSON chat line (``message.content``)."""
    message = line.get("message") if isinstance(line, dict) else None
    piece = message.get("content") if isinstance(message, dict) else None
    return piece if isinstance(piece, str) else None


def parse_reply(body: bytes) -> tuple[str, dict[str, Any]]:
    """The caption and final metrics from a chat reply: one JSON object or NDJSON lines.

    Every line is checked for ``{"error": ...}``, which Ollama sends with HTTP 200 when a
    stream fails midway (PROTOCOLS.md pitfall 9).
    """
    lines = [line for line in body.splitlines() if line.strip()]
    if not lines:
        raise ProviderError("bad_response", "Ollama sent an empty reply")
    text: list[str] = []
    final: dict[str, Any] | None = None
    obj: Any = None
    for line in lines:
        try:
            obj = json.loads(line)
        except ValueError:
            shown = clean_text(line.decode("utf-8", "replace"), 120)
            raise ProviderError(
                "bad_response", f"Ollama sent something that is not JSON: {shown}"
            ) from None
        if not isinstance(obj, dict):
            raise ProviderError("bad_response", "Ollama sent an unexpected JSON value")
        if "error" in obj:
            raise error_from_text(str(obj["error"]), status=200)
        message = obj.get("message")
        if isinstance(message, dict):
            text.append(str(message.get("content") or ""))
        elif isinstance(obj.get("response"), str):
            text.append(obj["response"])
        if obj.get("done"):
            final = obj
    if final is None:
        if len(lines) > 1:
            raise ProviderError("bad_response", "Ollama's reply stopped before it was done")
        final = obj  # one object without "done": a compatible server that leaves it out
    return "".join(text), final


def caption_extras(final: Mapping[str, Any]) -> dict[str, Any]:
    """What a caption keeps from Ollama's metrics (durations arrive in nanoseconds)."""
    extras: dict[str, Any] = {}
    for key in ("model", "done_reason", "eval_count", "prompt_eval_count"):
        if final.get(key) is not None:
            extras[key] = final[key]
    for key in ("total_duration", "load_duration", "eval_duration"):
        value = final.get(key)
        if isinstance(value, (int, float)):
            extras[key.replace("_duration", "_seconds")] = round(value / 1e9, 3)
    return extras


def _encode_image(picture: Picture) -> str:
    """Raw base64 (no ``data:`` prefix), re-encoded as PNG when Ollama might not decode it."""
    data = picture.data
    if picture.format in SEND_FORMATS and picture.b64 is not None:
        return picture.b64  # as the drawer sent it: no re-encoding
    if picture.format not in SEND_FORMATS:  # reduced while decoding, if it is huge
        im = decode_reduced(data, (RESEND_SIDE, RESEND_SIDE))
        im.thumbnail((RESEND_SIDE, RESEND_SIDE))
        buf = io.BytesIO()
        alpha = "A" in im.getbands() or "transparency" in im.info
        im.convert("RGBA" if alpha else "RGB").save(buf, "PNG")
        data = buf.getvalue()
    return b64.encode(data)


# -- the guesser and the provider ---------------------------------------------------------------


class OllamaGuesser:
    """One Ollama model answering ``describe`` through ``/api/chat``."""

    def __init__(self, provider: OllamaProvider, model: ModelInfo) -> None:
        self.provider = provider
        self.model = model

    def _option(self, key: str, default: Any = None) -> Any:
        if key in self.model.options:
            return self.model.options[key]
        value = getattr(self.provider.conf, key)  # a declared field: None means not set
        return default if value is None else value

    def request_body(self, image_b64: str, system: str, prompt: str) -> dict[str, Any]:
        """The ``/api/chat`` body (PROTOCOLS.md 3.3)."""
        options: dict[str, Any] = {}
        extra = self._option("options", {})
        if isinstance(extra, Mapping):
            options.update(extra)
        if self._option("temperature") is not None:
            options["temperature"] = float(self._option("temperature"))
        options["num_predict"] = int(self._option("num_predict", DEFAULT_NUM_PREDICT))
        messages: list[dict[str, Any]] = []
        if system:
            messages.append({"role": "system", "content": system})
        messages.append({"role": "user", "content": prompt, "images": [image_b64]})
        return {
            "model": self.model.name,
            "messages": messages,
            "stream": bool(self._option("stream", True)),
            "keep_alive": self._option("keep_alive", DEFAULT_KEEP_ALIVE),
            "options": options,
        }

    async def describe(self, picture: Picture, system: str, prompt: str) -> Caption:
        async with self.provider.http.deadline("describe", self.provider.name):
            return await self._describe(picture, system, prompt)

    async def _describe(self, picture: Picture, system: str, prompt: str) -> Caption:
        image_b64 = await asyncio.to_thread(_encode_image, picture)
        body = self.request_body(image_b64, system, prompt)
        streams = body["stream"] and partials_wanted()
        watch = StreamWatcher(report_partial, _content_of, framing="ndjson") if streams else None
        result = await self.provider.call("POST", "/api/chat", json=body, on_chunk=watch)
        text, final = await asyncio.to_thread(parse_reply, result.body)
        text = text.strip()
        if not text:
            reason = final.get("done_reason")
            raise ProviderError(
                "bad_response",
                f"{self.model.name} answered with no text"
                + (f" (done_reason {reason})" if reason else ""),
                hint="raise num_predict, or try another model",
            )
        return Caption(text, caption_extras(final), self.model.price)


@dataclass(frozen=True)
class OllamaSettings(HttpFields):
    """``[providers.ollama]``: where Ollama lives and the chat options for every model."""

    host: str = setting("", "Ollama's URL (OLLAMA_HOST wins; default http://127.0.0.1:11434)")
    runpod_pod_id: str = setting("", "a RunPod GPU pod running Ollama (RUNPOD_ID wins)")
    check_timeout: float = setting(CHECK_TIMEOUT, "seconds the model-list checks may take")
    keep_alive: str | int | None = setting(None, "how long Ollama keeps the model loaded")
    num_predict: int | None = setting(None, "most tokens a reply may have")
    temperature: float | None = setting(None, "sampling temperature")
    stream: bool = setting(True, "stream the reply (shown word by word)")
    options: dict[str, Any] = field(
        default_factory=dict, metadata={"doc": "Ollama's own model options, sent as options"}
    )


NO_IMAGES = (
    "Ollama no longer generates images: the experimental engine was removed in v0.32.6 "
    "(2026-08); Ollama only guesses"
)
"""PROTOCOLS.md 9.1 and 9.6: current servers refuse image generation models."""


class OllamaProvider(CatalogProvider):
    """Any pulled Ollama model as a guesser; vision models are discovered via ``/api/show``."""

    SETTINGS = OllamaSettings
    conf: OllamaSettings

    name = "ollama"
    title = "Ollama"
    PRESETS = PRESETS
    ACCEPTS_ANY_MODEL = frozenset({"guesser"})

    def __init__(self, ctx: ProviderContext) -> None:
        super().__init__(ctx)
        self.endpoint = choose_endpoint(ctx.env, self.settings)
        key = ctx.get_key("ollama")
        self._secrets = (key,) if key else ()
        headers = auth_headers(key or "")
        self.http = HttpClient(
            "Ollama",
            http_settings(
                self.conf, base_url=self.endpoint.url, describe_deadline=DESCRIBE_DEADLINE
            ),
            headers=headers,
            secrets=self._secrets,
            error_mapper=self._map_failure,
        )
        self.check_timeout = self.conf.check_timeout

    # -- errors ----------------------------------------------------------------------------------
    def _map_failure(self, failure: HttpFailure) -> ProviderError | None:
        status = failure.status
        message = failure.text
        if isinstance(failure.json, dict) and isinstance(failure.json.get("error"), str):
            message = clean_text(redact(failure.json["error"], self._secrets))
        if status == 524:
            return ProviderError(
                "timeout",
                "the RunPod proxy gave up waiting for Ollama (HTTP 524)",
                hint="RunPod's proxy (Cloudflare) cuts requests at 100 s: preload the model or "
                "set stream = true under [providers.ollama] so bytes flow early",
                status=status,
            )
        if status in (401, 403):
            return ProviderError(
                "auth",
                f"the server in front of Ollama refused the request (HTTP {status})",
                hint="set its key with `telestrations keys set ollama` (or OLLAMA_API_KEY)",
                status=status,
            )
        if failure.json is None and self.endpoint.pod_id and status in (404, 502, 503):
            reason, hint = self.endpoint.not_running
            return ProviderError("unreachable", reason, hint=hint, status=status)
        if status == 503:
            return ProviderError(
                "server",
                f"Ollama is busy: {message}",
                hint="too many queued requests (OLLAMA_MAX_QUEUE); try again shortly",
                status=status,
                retryable=True,
            )
        if status in (400, 404, 500):
            err = error_from_text(message, status=status)
            if status == 400 and err.kind == "server":
                return ProviderError("bad_request", f"Ollama: {message}", status=status)
            return err
        return None

    async def call(self, method: str, path: str, **kw: Any) -> HttpResult:
        """One request; "nothing listening" and timeouts get Ollama-specific advice."""
        try:
            return await self.http.request(method, path, **kw)
        except ProviderError as exc:
            if exc.kind == "unreachable" and exc.status is None:
                reason, hint = self.endpoint.not_running
                raise ProviderError("unreachable", reason, hint=hint) from None
            if exc.kind == "timeout" and exc.status is None and "_deadline" not in exc.hint:
                exc.hint = (
                    "loading a model can take minutes; raise timeout under [providers.ollama]"
                )
                if self.endpoint.pod_id:
                    exc.hint += " (RunPod's proxy stops at 100 s: preload it or set stream = true)"
            raise

    # -- catalogue -------------------------------------------------------------------------------
    async def _tags(self) -> list[Mapping[str, Any]]:
        result = await self.call("GET", "/api/tags", retry=False, read_timeout=self.check_timeout)
        data = result.json()
        models = data.get("models") if isinstance(data, dict) else None
        if not isinstance(models, list):
            raise ProviderError(
                "bad_response", f"{shown_url(self.endpoint.url)}/api/tags is not Ollama's"
            )
        return [m for m in models if isinstance(m, dict) and isinstance(m.get("name"), str)]

    async def _show(self, name: str) -> Mapping[str, Any]:
        result = await self.call(
            "POST",
            "/api/show",
            json={"model": name},
            retry=False,
            read_timeout=self.check_timeout,
        )
        data = result.json()
        return data if isinstance(data, dict) else {}

    async def check(self, model: ModelInfo) -> Availability:
        try:
            tags = await self._tags()
        except ProviderError as exc:
            return Availability.no(exc.message, exc.hint, exc.kind)
        listed = next((t["name"] for t in tags if same_model(model.name, t["name"])), None)
        if listed is None:
            return Availability.no(
                f"model {model.name} is not pulled", f"run `ollama pull {model.name}`", "not_found"
            )
        try:
            show = await self._show(listed)
        except ProviderError as exc:
            return Availability.no(exc.message, exc.hint, exc.kind)
        if not is_vision(show):
            return Availability.no(
                f"{model.name} cannot see images",
                "pick a vision model (llava, moondream, llama3.2-vision, ...)",
                "bad_request",
            )
        return Availability.yes(f"pulled at {shown_url(self.endpoint.url)}")

    async def discover(self) -> list[ModelInfo]:
        """Pulled vision models, as guessers; other models are left out (they would only guess).
        Servers since v0.30 say each model's ``capabilities`` in ``/api/tags`` (PROTOCOLS.md
        8.7): then no ``/api/show`` is needed. An ``image`` model is listed as a drawer that
        cannot be used (current servers refuse to run it, 9.6); ``embedding`` is neither."""
        tags = await self._tags()
        gate = asyncio.Semaphore(4)

        async def show(tag: Mapping[str, Any]) -> Mapping[str, Any] | None:
            if isinstance(tag.get("capabilities"), list):
                return tag  # the listing says it already
            async with gate:
                try:
                    return await self._show(tag["name"])
                except ProviderError as exc:
                    log.debug("ollama show %s failed: %s", tag["name"], exc)
                    return None

        shows = await asyncio.gather(*(show(t) for t in tags))
        found = []
        for tag, info in zip(tags, shows, strict=True):
            if info is None:
                continue
            details = info.get("details") or tag.get("details") or {}
            size = details.get("parameter_size", "") if isinstance(details, Mapping) else ""
            name = tag["name"].removesuffix(":latest")
            caps = info.get("capabilities")
            if isinstance(caps, list) and "image" in caps and "vision" not in caps:
                found.append(
                    ModelInfo(
                        "ollama",
                        name,
                        "drawer",
                        note=" ".join(p for p in (str(size), "image model, pulled") if p),
                        discovered=True,
                    )
                )
                continue
            if not is_vision(info):
                continue
            found.append(
                ModelInfo(
                    "ollama",
                    name,
                    "guesser",
                    note=" ".join(p for p in (str(size), "vision model, pulled") if p),
                    price=self.ctx.prices.get(f"ollama:{name}"),
                    discovered=True,
                )
            )
        self.remember_discovered(found)
        return found

    def availability(self, model: ModelInfo) -> Availability:
        if model.kind == "drawer":  # only an image model found in the listing gets here
            return Availability.no(
                NO_IMAGES, "draw with comfyui, automatic1111 or another drawer", "not_found"
            )
        return Availability.yes()

    def guesser(self, model: ModelInfo) -> Guesser:
        return OllamaGuesser(self, model)

    async def aclose(self) -> None:
        await self.http.aclose()


provider = ProviderSpec(
    "ollama",
    OllamaProvider,
    OllamaSettings,
    KeySpec("ollama", "OLLAMA_API_KEY", "proxy key"),
    order=2,
)
"""Entry point for the ``telestrations.providers`` group."""


__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "PRESETS",
    "Endpoint",
    "OllamaGuesser",
    "OllamaProvider",
    "OllamaSettings",
    "choose_endpoint",
    "parse_ollama_host",
    "parse_reply",
    "provider",
    "runpod_proxy_url",
]
