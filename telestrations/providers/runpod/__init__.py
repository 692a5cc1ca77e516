"""RunPod Serverless as a drawer: the original's worker endpoints and today's public ones.

A draw is ``POST {endpoint}/runsync?wait=...`` with ``{"input": ...}``. When the job comes
back unfinished (``IN_QUEUE``/``IN_PROGRESS``, PROTOCOLS.md pitfall 11) it polls
``{endpoint}/status/{id}`` with growing pauses until a terminal state or ``job_timeout``. When
the draw is cancelled (the person pressed stop) while a job is known, it asks RunPod to
``/cancel`` the job, best-effort, and re-raises the cancellation.

Each model names an endpoint (``endpoint``: an id under ``base_url``, or ``url``: a whole
endpoint URL such as the runpod-python local test server) and a **schema**: the table below
says which input fields a worker takes and how the size is spelled. Outputs vary too much to
trust a schema, so one tolerant extractor reads all of them (pitfall 13).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from telestrations.providers.base import (
    Availability,
    Drawer,
    ModelInfo,
    ProviderContext,
    ProviderError,
)
from telestrations.providers.catalog import CatalogProvider
from telestrations.providers.http import (
    HttpClient,
    HttpFailure,
    auth_headers,
    http_settings,
)
from telestrations.providers.runpod.drawer import (
    RunPodDrawer,
    Target,
    _unretired,
)
from telestrations.providers.runpod.jobs import (
    ImageRef,
    _is_loopback,
    find_image,
    job_error,
    job_progress,
    worker_message,
)
from telestrations.providers.runpod.workers import (
    CANCEL_TIMEOUT,
    DEADLINE_MARGIN,
    DEFAULT_BASE_URL,
    DEFAULT_JOB_TIMEOUT,
    DEFAULT_SYNC_WAIT,
    KEY_HINT,
    POLL_FIRST,
    POLL_MAX,
    PRESETS,
    SCHEMAS,
    Schema,
)
from telestrations.providers.spec import HttpFields, KeySpec, ProviderSpec, setting

log = logging.getLogger(__name__)

# -- the provider -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunPodSettings(HttpFields):
    """``[providers.runpod]``: RunPod Serverless jobs."""

    base_url: str = setting(DEFAULT_BASE_URL, "the serverless API")
    job_timeout: float = setting(DEFAULT_JOB_TIMEOUT, "seconds to wait for a queued job")
    sync_wait: float = setting(DEFAULT_SYNC_WAIT, "seconds /runsync may hold the request")
    poll_interval: float = setting(POLL_FIRST, "first pause between /status polls")
    poll_max: float = setting(POLL_MAX, "longest pause between /status polls")


class RunPodProvider(CatalogProvider):
    """RunPod Serverless endpoints as drawers."""

    SETTINGS = RunPodSettings
    conf: RunPodSettings

    name = "runpod"
    title = "RunPod"
    PRESETS = PRESETS

    def __init__(self, ctx: ProviderContext) -> None:
        super().__init__(ctx)
        conf = self.conf
        self.base_url = (conf.base_url or DEFAULT_BASE_URL).rstrip("/")
        self.key = ctx.get_key("runpod") or ""
        self.secrets: tuple[str, ...] = (self.key,) if self.key else ()
        self.job_timeout = conf.job_timeout
        self.sync_wait = conf.sync_wait
        self._pending: set[asyncio.Future[None]] = set()
        self.poll_first = conf.poll_interval
        self.poll_max = max(self.poll_first, conf.poll_max)
        # The turn's deadline leaves room after job_timeout for the download and checks.
        self._settings = http_settings(
            conf, base_url=self.base_url, draw_deadline=self.job_timeout + DEADLINE_MARGIN
        )
        self.read_timeout = self._settings.read_timeout
        self.max_pixels = self._settings.max_pixels
        self._clients: dict[tuple[str, bool], HttpClient] = {}
        self._models = [_unretired(m) for m in self._models]

    # -- models ----------------------------------------------------------------------------------
    def schema_of(self, model: ModelInfo) -> Schema:
        name = str(
            model.options.get("schema") or (model.name if model.name in SCHEMAS else "generic")
        )
        schema = SCHEMAS.get(name)
        if schema is None:
            raise ProviderError(
                "bad_request",
                f"unknown RunPod schema {name!r} for {model.id}",
                hint=f"use one of: {', '.join(SCHEMAS)}",
            )
        return schema

    def target(self, model: ModelInfo) -> Target:
        url = str(model.options.get("url") or "").rstrip("/")
        if url:
            local = _is_loopback(url)
            method = str(model.options.get("status_method") or ("POST" if local else "GET"))
            return Target(url, url, not local, method.upper())
        endpoint = str(model.options.get("endpoint") or model.name)
        method = str(model.options.get("status_method") or "GET")
        return Target(f"{self.base_url}/{endpoint}", endpoint, True, method.upper())

    def availability(self, model: ModelInfo) -> Availability:
        try:
            self.schema_of(model)
        except ProviderError as exc:
            return Availability.no(exc.message, exc.hint, "bad_request")
        if self.target(model).needs_key and not self.key:
            return Availability.no("no RunPod key", KEY_HINT, "auth")
        return Availability.yes()

    # -- http ------------------------------------------------------------------------------------
    def client_for(self, target: Target) -> HttpClient:
        """One client per (origin, with key): the key never goes to a local test server."""
        send_key = target.needs_key and bool(self.key)
        origin = urlsplit(target.base)
        ident = (f"{origin.scheme}://{origin.netloc}", send_key)
        client = self._clients.get(ident)
        if client is None:
            settings = replace(self._settings, base_url=ident[0])
            headers = auth_headers(self.key) if send_key and self.key else None
            client = HttpClient(
                "RunPod",
                settings,
                headers=headers,
                secrets=self.secrets,
                error_mapper=self._map_failure,
            )
            self._clients[ident] = client
        return client

    def _map_failure(self, failure: HttpFailure) -> ProviderError | None:
        body = failure.json
        if isinstance(body, dict) and body.get("status") in ("FAILED", "TIMED_OUT", "CANCELLED"):
            err = job_error(body, self.secrets)  # e.g. HTTP 400 + FAILED from public endpoints
            err.status = failure.status
            return err
        if failure.status == 401:
            return ProviderError(
                "auth", "RunPod rejected the API key (HTTP 401)", hint=KEY_HINT, status=401
            )
        if failure.status == 403:
            return ProviderError(
                "auth",
                f"RunPod refused access (HTTP 403): {failure.text}".rstrip(": "),
                hint="check the key's permissions and the account balance",
                status=403,
            )
        return None

    def drawer(self, model: ModelInfo) -> Drawer:
        return RunPodDrawer(self, self.usable(model))

    def keep(self, task: asyncio.Future[None]) -> None:
        """Hold a clean-up task (a late /cancel) until it ends; aclose() waits for it."""
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def aclose(self) -> None:
        if self._pending:  # late cancels first, briefly: they need the clients below
            await asyncio.wait(list(self._pending), timeout=CANCEL_TIMEOUT + 1.0)
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()


provider = ProviderSpec(
    "runpod",
    RunPodProvider,
    RunPodSettings,
    KeySpec("runpod", "RUNPOD_API_KEY"),
    order=3,
)
"""Entry point for the ``telestrations.providers`` group."""


__all__ = [
    "PRESETS",
    "SCHEMAS",
    "ImageRef",
    "RunPodDrawer",
    "RunPodProvider",
    "RunPodSettings",
    "Schema",
    "find_image",
    "job_error",
    "job_progress",
    "provider",
    "worker_message",
]
