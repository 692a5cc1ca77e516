"""Named OpenAI-compatible endpoints: ``[providers.NAME] type = "openai"``, any number of them.

Each runs the OpenAI provider under its own name, so its model ids are ``NAME:model``, its key
is stored under NAME (``telestrations keys set NAME``) and read from its own environment
variable (``api_key_env``, default ``NAME_API_KEY``), and its extra ``headers`` go with every
request. It has no presets: its models are the ones config lists and the ones its own
``GET {base_url}/models`` lists (PROTOCOLS.md 2.6, 8.1). That listing rarely says what a model
does, so the kind comes from what it does say (OpenRouter-style ``architecture`` modalities,
Together-style ``type``) and else from the name; any other name still works as an id.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from telestrations.providers.base import ModelInfo, ModelKind, ProviderContext, ProviderError
from telestrations.providers.http import HttpFailure, shown_url
from telestrations.providers.openai.provider import OpenAIProvider
from telestrations.providers.openai.settings import OpenAISettings
from telestrations.providers.spec import InstanceFields, SettingError, instance_key_env, setting
from telestrations.text import clean_text

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")
LISTED_MAX = 2000
"""Models taken from one listing at most (bounded, whatever a server sends)."""
MODEL_NAME = re.compile(r"[\w.:/@+-]{1,200}")
"""A listed id we offer (a server's odd entry with spaces or controls is left out)."""

DRAWER_WORDS = (
    "image", "flux", "stable-diffusion", "stablediffusion", "sdxl", "sd3", "sd-", "dall-e",
    "diffusion", "kandinsky", "seedream", "playground", "hidream", "recraft", "ideogram",
    "imagen", "banana", "dreamshaper", "juggernaut",
)  # fmt: skip
"""Words in a model id that mean a text-to-image model, when the listing does not say."""
SKIP_WORDS = (
    "embed", "whisper", "tts", "rerank", "moderation", "transcribe", "audio", "realtime",
    "speech", "guard",
)  # fmt: skip
"""Words in a model id that mean neither a drawer nor a guesser."""
NOT_OURS_TYPES = ("embedding", "rerank", "moderation", "audio", "transcribe", "tts", "code")


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingError(
            "base_url",
            f"base_url must be an http(s) URL with a host, such as "
            f'"https://api.deepinfra.com/v1/openai", not {url!r}',
        )


@dataclass(frozen=True)
class EndpointSettings(OpenAISettings, InstanceFields):
    """``[providers.NAME] type = "openai"``: the OpenAI provider's settings, a base URL of
    its own (required), and where its key comes from."""

    base_url: str = setting("", "the server's URL with its version prefix (required)")

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.base_url.strip():
            raise SettingError(
                "base_url",
                'a named endpoint needs base_url, e.g. base_url = "http://localhost:1234/v1"',
            )
        _check_url(self.base_url.strip())
        if self.api_key_env and not ENV_NAME.fullmatch(self.api_key_env):
            raise SettingError(
                "api_key_env",
                f"api_key_env must be an environment variable name, not {self.api_key_env!r}",
            )


def _modalities(entry: Mapping[str, Any], which: str) -> set[str] | None:
    arch = entry.get("architecture")
    found = arch.get(which) if isinstance(arch, Mapping) else None
    return {str(m) for m in found} if isinstance(found, list) else None


def listed_kinds(entry: Mapping[str, Any]) -> tuple[ModelKind, ...]:
    """What one listed model can be in the game: from its declared modalities, else its
    ``type``, else its name (unknown chat-like names are offered as guessers)."""
    name = str(entry.get("id", "")).lower()
    inputs, outputs = (
        _modalities(entry, "input_modalities"),
        _modalities(entry, "output_modalities"),
    )
    if inputs is not None or outputs is not None:
        kinds: list[ModelKind] = []
        if "image" in (outputs or set()):
            kinds.append("drawer")
        if "image" in (inputs or set()) and "text" in (outputs or set()):
            kinds.append("guesser")
        return tuple(kinds)
    kind = str(entry.get("type") or "").lower()
    if kind == "image":
        return ("drawer",)
    if kind in NOT_OURS_TYPES or any(w in name for w in SKIP_WORDS):
        return ()
    if any(w in name for w in DRAWER_WORDS):
        return ("drawer",)
    return ("guesser",)


def shut_down(entry: Mapping[str, Any]) -> str | None:
    """``shutdown_date`` (OpenAI) or ``expiration_date`` (OpenRouter) when one is given."""
    for key in ("shutdown_date", "expiration_date"):
        value = entry.get(key)
        if isinstance(value, str) and value:
            try:
                return dt.date.fromisoformat(value[:10]).isoformat()
            except ValueError:
                continue
    return None


def listed_models(
    provider: str,
    entries: Iterable[Any],
    presets: Iterable[ModelInfo] = (),
    *,
    describe: Callable[[Mapping[str, Any], ModelKind], tuple[str, float | None, dict[str, Any]]]
    | None = None,
) -> list[ModelInfo]:
    """A ``/models`` listing as models of ``provider`` (discovered), each with the shutdown
    date the listing gives (menus and pre-flight hide or mark it, :mod:`..listings`).
    ``describe`` gives a note, a price and options for an entry (the service's own pricing
    fields, e.g. OpenRouter's)."""
    known = {(m.kind, m.name): m for m in presets}
    out: list[ModelInfo] = []
    for entry in list(entries)[:LISTED_MAX]:
        if not isinstance(entry, Mapping):
            continue
        name = entry.get("id")
        if not isinstance(name, str) or not MODEL_NAME.fullmatch(name):
            continue
        ends = shut_down(entry) or ""
        for kind in listed_kinds(entry):
            preset = known.get((kind, name))
            note, price, options = (
                describe(entry, kind) if describe else (f"listed by {provider}", None, {})
            )
            label = entry.get("name") if isinstance(entry.get("name"), str) else ""
            out.append(
                ModelInfo(
                    provider,
                    name,
                    kind,
                    label=preset.label if preset else clean_text(str(label), 80),
                    options={**options, **(preset.options if preset else {})},
                    price=preset.price if preset and preset.price is not None else price,
                    note=clean_text(
                        "; ".join(n for n in (preset.note if preset else "", note) if n), 200
                    ),
                    discovered=True,
                    shutdown=ends or (preset.shutdown if preset else ""),
                    successor=preset.successor if preset else "",
                )
            )
    return out


class OpenAIEndpoint(OpenAIProvider):
    """One named OpenAI-compatible endpoint (DeepInfra, Together, LM Studio, vLLM, ...)."""

    SETTINGS = EndpointSettings  # type: ignore[assignment]  # adds the instance fields
    conf: EndpointSettings
    PRESETS = ()
    BASE_URL_ENV = None

    def __init__(self, ctx: ProviderContext) -> None:
        super().__init__(ctx)
        self.title = self.name
        env = instance_key_env(self.name, ctx.settings)
        self.key_hint = f"run `telestrations keys set {self.name}` or set {env}"

    def server_title(self) -> str:
        return f"{self.name} ({shown_url(self.base_url)})"

    def _map_failure(self, failure: HttpFailure) -> ProviderError | None:
        """OpenAI's mapping, with advice that names this endpoint's table."""
        error = super()._map_failure(failure)
        if error is not None:
            error.hint = error.hint.replace("[providers.openai]", f"[providers.{self.name}]")
        return error

    def _listed_models(self, listed: list[Mapping[str, Any]]) -> list[ModelInfo]:
        """The endpoint's own ``GET {base_url}/models`` (read by :meth:`discover` and
        :meth:`check` alike), kinds from what each entry says (:func:`listed_kinds`)."""
        return listed_models(self.name, listed, self._models)

    async def discover(self) -> list[ModelInfo]:
        """:meth:`OpenAIProvider.discover`, with the listing read off the event loop: a
        gateway can list thousands of models."""
        found = await asyncio.to_thread(self._listed_models, await self.listing())
        self.remember_discovered(found)
        return found
