"""The OpenAI provider: settings, clients, model checks and error translation."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import httpx

from telestrations.providers.base import (
    Availability,
    Drawer,
    Guesser,
    ModelInfo,
    ModelKind,
    ProviderContext,
    ProviderError,
)
from telestrations.providers.catalog import CatalogProvider
from telestrations.providers.http import (
    CODE_STATUS,
    ErrorRule,
    Form,
    HttpClient,
    HttpFailure,
    HttpResult,
    auth_headers,
    error_code,
    error_message,
    generic_error,
    http_settings,
    shown_url,
    translate,
)
from telestrations.providers.openai.chat import OpenAIGuesser
from telestrations.providers.openai.images import OpenAIDrawer
from telestrations.providers.openai.models import (
    BILLING_HINT,
    CHECK_TIMEOUT,
    DEFAULT_BASE_URL,
    KEY_HINT,
    NOT_LISTED,
    OFFICIAL_HOST,
    PRESETS,
    RETIRED_HINT,
    TOKEN_FIELDS,
    VERIFY_HINT,
    TokenField,
    family_of,
    kind_by_name,
    size_problem,
)
from telestrations.providers.openai.settings import OpenAISettings
from telestrations.text import clean_text, header_secrets, redact

log = logging.getLogger(__name__)

# -- provider -------------------------------------------------------------------------------------


class OpenAIProvider(CatalogProvider):
    """OpenAI, or any server that speaks its images and chat APIs."""

    SETTINGS = OpenAISettings
    conf: OpenAISettings

    name = "openai"
    title = "OpenAI"
    PRESETS = PRESETS
    ACCEPTS_ANY_MODEL = frozenset({"drawer", "guesser"})

    BASE_URL_ENV: str | None = "OPENAI_BASE_URL"
    """The environment variable that overrides ``base_url`` (none for named endpoints)."""

    def __init__(self, ctx: ProviderContext) -> None:
        super().__init__(ctx)
        conf = self.conf
        env_url = ctx.env.get(self.BASE_URL_ENV) if self.BASE_URL_ENV else None
        self.base_url = str(env_url or conf.base_url or DEFAULT_BASE_URL).rstrip("/")
        # ``compatible = false`` says "this URL is OpenAI itself" (a proxy or gateway in front
        # of it): a key is needed and today's API rules apply, as for api.openai.com.
        compatible = conf.compatible
        host_is_openai = (urlsplit(self.base_url).hostname or "").lower() == OFFICIAL_HOST
        self.official = host_is_openai if compatible is None else not compatible
        if not self.official:  # the presets' shutdown dates are OpenAI's, not this server's
            self._models = [replace(m, shutdown="", successor="") for m in self._models]
        self.key = ctx.get_key(self.name) or ""  # a named endpoint's key is stored under NAME
        self.key_hint = KEY_HINT
        self.token_field: TokenField = conf.token_field or (
            "max_completion_tokens" if self.official else "max_tokens"
        )
        self.stream = conf.stream
        self.http_settings = http_settings(conf, base_url=self.base_url)
        headers = auth_headers(self.key or "")
        if conf.organization:
            headers["OpenAI-Organization"] = conf.organization
        if conf.project:
            headers["OpenAI-Project"] = conf.project
        extra = self.extra_headers()
        headers.update(extra)  # the user's extra headers (e.g. attribution) win
        self.http = HttpClient(
            self.server_title(),
            self.http_settings,
            headers=headers,
            secrets=((self.key,) if self.key else ()) + tuple(header_secrets(extra)),
            error_mapper=self._map_failure,
        )
        overridden = {m for m in ctx.prices}
        for entry in conf.models:
            if isinstance(entry, Mapping) and entry.get("price") is not None:
                overridden.add(f"{self.name}:{entry.get('name')}")
        self._price_overrides = frozenset(overridden)

    def extra_headers(self) -> dict[str, str]:
        """Headers sent besides auth: the ``headers`` setting."""
        return dict(self.conf.headers)

    def server_title(self) -> str:
        """Who answers, as messages name it."""
        if self.official:
            return "OpenAI"
        return f"the OpenAI-compatible server at {shown_url(self.base_url)}"

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
        return chosen or self.token_field

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
            return Availability.no("no OpenAI key", self.key_hint, "auth")
        if model.kind == "drawer":
            try:
                family_of(model.name, model.options, official=self.official)
            except ProviderError as exc:
                return Availability.no(exc.message, exc.hint, "bad_request")
            bad_size = size_problem(model.name, str(model.options.get("size", "")))
            if bad_size:
                return Availability.no(
                    f"{model.id}: {bad_size}", "fix this model's size option", "bad_request"
                )
        if model.retired and self.official:
            return Availability.yes(f"probably gone from OpenAI: {model.retired}")
        return Availability.yes()

    async def listing(self) -> list[Mapping[str, Any]]:
        """``GET /models`` (PROTOCOLS.md 8.1): one call, no paging, every model the key sees,
        with ``shutdown_date`` where the server sends it."""
        result = await self.http.request("GET", "/models", retry=False, read_timeout=CHECK_TIMEOUT)
        data = result.json()
        listed = data.get("data") if isinstance(data, dict) else None
        if not isinstance(listed, list):
            raise ProviderError("bad_response", f"{self.http.title}'s model list has no `data`")
        return [m for m in listed if isinstance(m, dict) and isinstance(m.get("id"), str)]

    async def discover(self) -> list[ModelInfo]:
        """The listed models with their shutdown dates. The listing says nothing of what a
        model does, so a known model keeps its preset's kind, an unknown one named like an
        image model is a drawer, and (on another server, whose list is what it serves) any
        other unknown one a guesser; on OpenAI other unknown ids (embeddings, audio) are left
        out."""
        if self.official and not self.key:  # no call that can only say 401; a cache stays
            raise ProviderError("auth", "no OpenAI key", hint=self.key_hint)
        found = self._listed_models(await self.listing())
        self.remember_discovered(found)
        return found

    def _listed_models(self, listed: list[Mapping[str, Any]]) -> list[ModelInfo]:
        found: list[ModelInfo] = []
        for entry in listed:
            name = str(entry["id"])
            shutdown = entry.get("shutdown_date")
            day = str(shutdown)[:10] if isinstance(shutdown, str) else ""
            kinds: list[ModelKind] = [m.kind for m in self._models if m.name == name]
            if not kinds:
                guessed = kind_by_name(name) or (None if self.official else "guesser")
                kinds = [guessed] if guessed else []
            for kind in kinds:
                found.append(
                    ModelInfo(
                        self.name,
                        name,
                        kind,
                        price=self.ctx.prices.get(f"{self.name}:{name}"),
                        note="listed by the server",
                        discovered=True,
                        shutdown=day,
                    )
                )
        return found

    async def check(self, model: ModelInfo) -> Availability:
        """Ask ``GET /models``: the key works, and what the server lists about the model. A
        listed shutdown date that has passed refuses it; a model missing from the list is a
        warning only (listings lag: OpenAI's did not show new image models that already
        worked on their launch day, PROTOCOLS.md 8.1)."""
        quick = self.availability(model)
        if not quick.ok:
            return quick
        try:
            listed = await self.listing()
        except ProviderError as exc:
            if exc.kind in ("not_found", "bad_response") and not self.official:
                return Availability.yes("the server does not list its models")
            return Availability.no(exc.message, exc.hint, exc.kind)
        self.remember_discovered(self._listed_models(listed))  # its shutdown date, if any
        ids = {str(m["id"]) for m in listed}
        if model.name in ids:
            return Availability.yes()
        if not self.official:  # many compatible servers list only some of what they serve
            shown = ", ".join(sorted(clean_text(i, 60) for i in ids)[:8])
            return Availability.warn(f"not in the server's model list ({shown}); it may still work")
        return Availability.warn(
            f"{self.http.title}: {NOT_LISTED}",
            "if the call fails, the model is retired or not available to this key",
        )

    # -- turns -----------------------------------------------------------------------------------
    def drawer(self, model: ModelInfo) -> Drawer:
        return OpenAIDrawer(self, self.usable(model))

    def guesser(self, model: ModelInfo) -> Guesser:
        return OpenAIGuesser(self, self.usable(model))

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

    async def post_form(self, path: str, form: Form, model: ModelInfo) -> HttpResult:
        """POST ``multipart/form-data`` (image edits), with the same advice as :meth:`post`."""
        try:
            return await self.http.request("POST", path, form=form)
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
                if key in CODE_STATUS:
                    status = CODE_STATUS[key]
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
        """OpenAI's ``{error: {message, type, param, code}}`` cases (PROTOCOLS.md 1.4): a 401
        depends on whether a key was sent; the rest is :func:`error_rules`."""
        if failure.status == 401 and not ERROR_RULES[0].matches(failure):
            said = failure.text or "HTTP 401"
            if self.key:  # one was sent and refused: a typo, a revoked or another org's key
                hint = (
                    "check the key (revoked, mistyped or from another project?), "
                    f"then {self.key_hint}"
                )
                what = "rejected the key"
            else:
                hint = f"this server wants a key: {self.key_hint}"
                what = "needs a key"
            return ProviderError(
                "auth", f"{self.http.title} {what}: {said}", hint=hint, status=failure.status
            )
        return translate(failure, ERROR_RULES if self.official else COMPATIBLE_RULES)


def _rules(not_found_hint: str, not_found_message: str = "{said}") -> tuple[ErrorRule, ...]:
    """What OpenAI's errors mean, in order; only the 404 hint differs for other servers."""
    refused = "a game event: edit the prompt or style and resume"
    return (
        # The kind's title already says "refused by the content filter": the service's own
        # words follow it (the same codes come from the images and the chat route).
        ErrorRule(
            "refused",
            codes=frozenset({"content_policy_violation", "moderation_blocked", "content_filter"}),
            hint=refused,
        ),
        ErrorRule(
            "refused",
            status=frozenset({400}),
            codes=frozenset({"image_generation_user_error"}),
            words=("safety system",),
            hint=refused,
        ),
        ErrorRule(
            "quota",
            status=frozenset({429}),
            codes=frozenset({"insufficient_quota"}),
            hint=BILLING_HINT,
            message="out of quota: {said}",
        ),
        ErrorRule(
            "not_found",
            status=frozenset({404}),
            codes=frozenset({"model_not_found"}),
            words=("model",),
            hint=not_found_hint,
            message=not_found_message,
        ),
        ErrorRule(
            "auth",
            status=frozenset({403}),
            codes=frozenset({"organization_must_be_verified"}),
            words=("verified",),
            hint=VERIFY_HINT,
        ),
        ErrorRule(
            "auth",
            status=frozenset({403}),
            codes=frozenset({"unsupported_country_region_territory"}),
            words=("country",),
            hint="OpenAI is not available from this region",
        ),
        ErrorRule(
            "bad_request",
            status=frozenset({400}),
            param="response_format",
            hint='this is a GPT image model: set options.family = "gpt-image" for it',
        ),
        ErrorRule(
            "bad_request",
            status=frozenset({400}),
            words=("max_tokens", "max_completion_tokens"),
            hint='set token_field = "max_tokens" or "max_completion_tokens" under '
            "[providers.openai]",
        ),
    )


ERROR_RULES = _rules(
    "pick another model (see `telestrations models --refresh`); " + RETIRED_HINT.split("; ", 1)[1],
    "model retired or not available to this key: {said}",
)
COMPATIBLE_RULES = _rules("check the model name against the server's list (`GET /v1/models`)")
