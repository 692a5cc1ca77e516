"""AUTOMATIC1111's stable-diffusion-webui (or Forge) as a drawer: local Stable Diffusion.

Talks to ``POST /sdapi/v1/txt2img`` (PROTOCOLS.md section 5). The API is off unless the web
UI was started with ``--api``; with ``--api-auth user:pass`` every route wants HTTP Basic
auth (the user under ``[providers.automatic1111]``, the password in the keys file). The model
``automatic1111:default`` draws with whatever checkpoint is loaded; every other model name is
a checkpoint, switched per call through ``override_settings``, and the installed ones are
discovered from ``GET /sdapi/v1/sd-models``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from telestrations.providers.base import (
    Availability,
    Drawer,
    ModelInfo,
    ModelKind,
    Picture,
    ProviderContext,
    ProviderError,
    report_progress,
)
from telestrations.providers.catalog import CatalogProvider
from telestrations.providers.http import (
    HttpClient,
    HttpFailure,
    auth_headers,
    b64,
    http_settings,
    picture_from_base64,
    shown_url,
    split_user,
)
from telestrations.providers.spec import HttpFields, KeySpec, ProviderSpec, setting
from telestrations.text import clean_text

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "http://127.0.0.1:7860"
DEFAULT_MODEL = "default"
CHECK_TIMEOUT = 5.0
PROGRESS_INTERVAL = 1.0
"""Seconds between ``/sdapi/v1/progress`` polls while a ``txt2img`` call runs."""
READ_TIMEOUT = 600.0
DRAW_DEADLINE = 900.0
"""A local web UI runs one job at a time, maybe behind someone's own: more room than cloud."""
"""Calls queue behind a global lock, so one can wait minutes for another (PROTOCOLS.md 5.4)."""
START_HINT = "start the web UI with --api (e.g. ./webui.sh --api), or fix base_url"
AUTH_HINT = (
    "set username under [providers.automatic1111] and the password with "
    "`telestrations keys set automatic1111`"
)

SENT = ("negative_prompt", "steps", "width", "height", "cfg_scale", "sampler_name", "seed")
"""Request fields every call sends: the setting (its default is declared in
:class:`A1111Settings`; steps 20 is the UI's, the API's own is 50), or the model option."""
OPTIONAL = ("scheduler", "distilled_cfg_scale", "restore_faces", "tiling", "subseed")
"""Fields sent only when configured (``scheduler`` is v1.9+, ``distilled_cfg_scale`` Forge)."""

PRESETS = (
    ModelInfo(
        "automatic1111",
        DEFAULT_MODEL,
        "drawer",
        label="AUTOMATIC1111 (loaded checkpoint)",
        price=0.0,
        note="whatever checkpoint the web UI has loaded; local, no per-call charge",
    ),
)


class A1111Drawer:
    """One checkpoint (or the loaded one) drawing through ``txt2img``."""

    def __init__(self, provider: A1111Provider, model: ModelInfo) -> None:
        self.provider = provider
        self.model = model

    def request_body(self, text: str) -> dict[str, Any]:
        """The ``txt2img`` JSON: defaults, then provider settings, then model options."""
        conf, options = self.provider.conf, self.model.options
        body: dict[str, Any] = {"prompt": text}
        for key in SENT:
            body[key] = options.get(key, getattr(conf, key))
        for key in OPTIONAL:
            value = options.get(key, getattr(conf, key))
            if value is not None:
                body[key] = value
        body["batch_size"] = 1  # more would prepend a grid image (PROTOCOLS.md 5.2)
        body["n_iter"] = 1
        checkpoint = options.get("checkpoint")
        if checkpoint:
            body["override_settings"] = {"sd_model_checkpoint": str(checkpoint)}
        extra = options.get("extra")
        if isinstance(extra, Mapping):
            body.update(extra)
        return body

    async def draw(self, text: str) -> Picture:
        async with self.provider.http.deadline("draw", self.provider.name):
            return await self._draw(text)

    def reference_unsupported(self) -> str:
        """Every checkpoint can start from a picture (img2img)."""
        return ""

    async def draw_from(self, text: str, reference: Picture) -> Picture:
        """Memory play: ``img2img`` from the previous picture (PROTOCOLS.md 5.3): the same
        fields as txt2img, plus ``init_images`` (bare base64) and ``denoising_strength``."""
        options = self.model.options
        strength = options.get("denoising_strength", self.provider.conf.denoising_strength)
        extra = {
            "init_images": [b64.encode(reference.data)],
            "denoising_strength": strength,
        }
        async with self.provider.http.deadline("draw", self.provider.name):
            picture = await self._draw(text, "/sdapi/v1/img2img", extra)
        return replace(picture, extras={**picture.extras, "denoising_strength": strength})

    async def _draw(
        self, text: str, route: str = "/sdapi/v1/txt2img", extra: Mapping[str, Any] | None = None
    ) -> Picture:
        body = {**self.request_body(text), **(extra or {})}
        watch = asyncio.ensure_future(self.provider.watch_progress())
        try:
            result = await self.provider.call("POST", route, json=body)
        finally:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watch
        data = result.json()
        images = data.get("images") if isinstance(data, dict) else None
        if not isinstance(images, list) or not images or not isinstance(images[0], str):
            raise ProviderError(
                "bad_response",
                "AUTOMATIC1111 answered without an image",
                hint="send_images may be off, or an extension swallowed the result",
            )
        extras = info_extras(data.get("info"))
        wanted = body.get("override_settings", {}).get("sd_model_checkpoint")
        used = extras.get("checkpoint")
        if wanted and used and not _same_checkpoint(str(wanted), str(used)):
            log.warning("AUTOMATIC1111 drew with %s instead of %s", used, wanted)
            extras["checkpoint_requested"] = str(wanted)
        return await picture_from_base64(  # decoded and checked off the loop
            images[0],
            max_pixels=self.provider.http_settings.max_pixels,
            extras=extras,
            cost=self.model.price if self.model.price is not None else 0.0,
        )


def _same_checkpoint(wanted: str, used: str) -> bool:
    """A1111 matches a checkpoint by title, file name or model name; compare loosely."""
    stem = wanted.split(" [")[0].rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return used == wanted or used == stem or wanted.startswith(used)


def progress_of(data: Any) -> tuple[int | None, int | None, str] | None:
    """(step, steps, note) from a ``/sdapi/v1/progress`` answer; None while nothing runs
    (the web UI may be busy with another client's job: that shows as a queue note)."""
    if not isinstance(data, dict):
        return None
    raw = data.get("state")
    state: dict[str, Any] = raw if isinstance(raw, dict) else {}
    step, steps = state.get("sampling_step"), state.get("sampling_steps")
    if not state.get("job_count") and not steps:
        return None
    eta = data.get("eta_relative")
    note = f"about {eta:.0f} s left" if isinstance(eta, int | float) and eta >= 1 else ""
    if isinstance(step, int) and isinstance(steps, int) and steps > 0:
        return step, steps, note
    fraction = data.get("progress")
    if isinstance(fraction, int | float) and 0 < fraction <= 1:
        percent = f"{round(fraction * 100)} %"
        return None, None, f"{percent} · {note}" if note else percent
    return None, None, note


def info_extras(info: Any) -> dict[str, Any]:
    """Seed and model from ``info``, which is a JSON *string* (PROTOCOLS.md 5.2)."""
    if isinstance(info, str):
        try:
            info = json.loads(info)
        except ValueError:
            return {}
    if not isinstance(info, dict):
        return {}
    extras: dict[str, Any] = {}
    seed = info.get("seed")
    if isinstance(seed, int) and not isinstance(seed, bool):
        extras["seed"] = seed
    if isinstance(info.get("sd_model_name"), str):
        extras["checkpoint"] = info["sd_model_name"]
    for key in ("sampler_name", "steps", "cfg_scale", "width", "height"):
        if isinstance(info.get(key), int | float | str) and not isinstance(info.get(key), bool):
            extras[key] = info[key]
    texts = info.get("infotexts")
    if isinstance(texts, list) and texts and isinstance(texts[0], str):
        extras["infotext"] = clean_text(texts[0], 1000)
    return extras


@dataclass(frozen=True)
class A1111Settings(HttpFields):
    """``[providers.automatic1111]``: the web UI and the txt2img fields for every model."""

    base_url: str = setting(DEFAULT_BASE_URL, "the web UI started with --api")
    username: str = setting("", "the --api-auth user (the password is the key)")
    check_timeout: float = setting(CHECK_TIMEOUT, "seconds the checkpoint-list check may take")
    progress_interval: float = setting(PROGRESS_INTERVAL, "seconds between progress polls")
    negative_prompt: str = setting("", "txt2img negative prompt")
    steps: int = setting(20, "sampling steps")
    width: int = setting(512, "image width")
    height: int = setting(512, "image height")
    cfg_scale: float = setting(7.0, "classifier-free guidance scale")
    sampler_name: str = setting("Euler a", "sampler")
    seed: int = setting(-1, "-1 = random")
    scheduler: str | None = setting(None, "web UI v1.9+; sent only when set")
    distilled_cfg_scale: float | None = setting(None, "Forge (Flux); sent only when set")
    restore_faces: bool | None = setting(None, "sent only when set")
    tiling: bool | None = setting(None, "sent only when set")
    subseed: int | None = setting(None, "sent only when set")
    denoising_strength: float = setting(
        0.6, "memory play (img2img): how far a picture may move from the previous one (0..1)"
    )


class A1111Provider(CatalogProvider):
    """AUTOMATIC1111 or Forge with ``--api``: the loaded checkpoint, or any installed one."""

    SETTINGS = A1111Settings
    conf: A1111Settings

    name = "automatic1111"
    title = "AUTOMATIC1111"
    PRESETS = PRESETS
    ACCEPTS_ANY_MODEL = frozenset({"drawer"})

    def __init__(self, ctx: ProviderContext) -> None:
        super().__init__(ctx)
        conf = self.conf
        self.base_url = (conf.base_url or DEFAULT_BASE_URL).rstrip("/")
        key = ctx.get_key("automatic1111") or ""
        user, key = split_user(key, conf.username)  # the --api-auth "user:pass" form, stored whole
        self.username, self._password = user, key
        self.http_settings = http_settings(
            conf,
            base_url=self.base_url,
            read_timeout=READ_TIMEOUT,
            max_retries=1,
            draw_deadline=DRAW_DEADLINE,
        )
        self.check_timeout = conf.check_timeout
        self.http = HttpClient(
            self.title,
            self.http_settings,
            headers=auth_headers(key, user=user) if user and key else None,
            secrets=(key,) if key else (),
            error_mapper=self._map_failure,
        )

    # -- models ----------------------------------------------------------------------------------
    def model(self, name: str, kind: ModelKind) -> ModelInfo | None:
        found = super().model(name, kind)
        if found is not None and found.name != DEFAULT_MODEL and "checkpoint" not in found.options:
            # A checkpoint named by hand (A1111 matches titles, file names and model names).
            return ModelInfo(
                found.provider,
                found.name,
                found.kind,
                label=found.label,
                options={**found.options, "checkpoint": found.name},
                price=found.price if found.price is not None else 0.0,
                retired=found.retired,
                note=found.note,
                discovered=found.discovered,
            )
        return found

    async def discover(self) -> list[ModelInfo]:
        """One drawer per installed checkpoint (``GET /sdapi/v1/sd-models``)."""
        result = await self.call(
            "GET", "/sdapi/v1/sd-models", retry=False, read_timeout=self.check_timeout
        )
        data = result.json()
        found = []
        for entry in data if isinstance(data, list) else []:
            if not isinstance(entry, dict) or not isinstance(entry.get("title"), str):
                continue
            title = entry["title"]
            name = str(entry.get("model_name") or title)
            found.append(
                ModelInfo(
                    self.name,
                    name,
                    "drawer",
                    label=name,
                    options={"checkpoint": title},
                    price=self.ctx.prices.get(f"{self.name}:{name}", 0.0),
                    note=clean_text(title, 120),
                    discovered=True,
                )
            )
        self.remember_discovered(found)
        return found

    # -- availability ----------------------------------------------------------------------------
    def availability(self, model: ModelInfo) -> Availability:
        if self.username and not self._password:
            return Availability.no(
                f"no AUTOMATIC1111 password for user {self.username!r}", AUTH_HINT, "auth"
            )
        return Availability.yes()

    async def check(self, model: ModelInfo) -> Availability:
        """Reachable, API on, credentials right, and the checkpoint installed."""
        quick = self.availability(model)
        if not quick.ok:
            return quick
        try:
            result = await self.call(
                "GET", "/sdapi/v1/sd-models", retry=False, read_timeout=self.check_timeout
            )
            data = result.json()
        except ProviderError as exc:
            return Availability.no(exc.message, exc.hint, exc.kind)
        wanted = model.options.get("checkpoint")
        if not wanted or not isinstance(data, list):
            return Availability.yes()
        names = set()
        for entry in data:
            if isinstance(entry, dict):
                names |= {str(entry.get(k)) for k in ("title", "model_name", "filename")}
        if str(wanted) in names:
            return Availability.yes()
        return Availability.no(
            f"AUTOMATIC1111 has no checkpoint {wanted!r}",
            "put it in models/Stable-diffusion, or pick one `telestrations models` lists",
            "not_found",
        )

    # -- turns -----------------------------------------------------------------------------------
    def drawer(self, model: ModelInfo) -> Drawer:
        return A1111Drawer(self, self.usable(model))

    async def call(self, method: str, path: str, **kw: Any) -> Any:
        """One request; "nothing listening" gets A1111's own advice."""
        try:
            return await self.http.request(method, path, **kw)
        except ProviderError as exc:
            if exc.kind == "unreachable" and exc.status is None:
                raise ProviderError(
                    "unreachable",
                    f"AUTOMATIC1111 not reachable at {shown_url(self.base_url)}",
                    hint=START_HINT,
                ) from None
            if exc.kind == "timeout" and not exc.status and "_deadline" not in exc.hint:
                exc.hint = (
                    "the web UI runs one job at a time and may be busy; raise read_timeout "
                    "under [providers.automatic1111]"
                )
            raise

    async def watch_progress(self) -> None:
        """Poll ``/sdapi/v1/progress`` beside a ``txt2img`` call and report the sampling step
        (PROTOCOLS.md 5.3); quietly ends where the route is missing or failing."""
        interval = self.conf.progress_interval
        last: tuple[int | None, int | None, str] | None = None
        while True:
            await asyncio.sleep(interval)
            try:
                data = await self.http.json(
                    "GET",
                    "/sdapi/v1/progress",
                    params={"skip_current_image": "true"},
                    retry=False,
                    read_timeout=self.check_timeout,
                )
            except ProviderError as exc:
                log.debug("AUTOMATIC1111 progress: %s", exc)
                if exc.status in (401, 403, 404, 405):
                    return
                continue
            report = progress_of(data)
            if report is not None and report != last:
                last = report
                report_progress(*report)

    async def aclose(self) -> None:
        await self.http.aclose()

    # -- errors ----------------------------------------------------------------------------------
    def _map_failure(self, failure: HttpFailure) -> ProviderError | None:
        """A1111's ``{error, detail, body, errors}`` and FastAPI's ``{detail}`` (PROTOCOLS 5.4)."""
        status, text = failure.status, failure.text
        body = failure.json if isinstance(failure.json, dict) else {}
        error = str(body.get("error") or "")
        if status == 401:
            return ProviderError(
                "auth",
                "AUTOMATIC1111 wants a user name and password (--api-auth)"
                if not self.username
                else f"AUTOMATIC1111 rejected the password for user {self.username!r}",
                hint=AUTH_HINT,
                status=status,
            )
        if "sampler not found" in text.lower():
            return ProviderError(
                "bad_request",
                f"AUTOMATIC1111: {text}",
                hint='set sampler_name to one from GET /sdapi/v1/samplers (e.g. "Euler a")',
                status=status,
            )
        if status == 404 and (body.get("detail") == "Not Found" or failure.json is None):
            return ProviderError(
                "unreachable",
                f"the web UI at {shown_url(self.base_url)} is running without its API",
                hint=START_HINT,
                status=status,
            )
        if status == 422:
            return ProviderError(
                "bad_request",
                f"AUTOMATIC1111 rejected the request: {text}",
                hint="check the options for this model (steps, width, height are numbers)",
                status=status,
            )
        if "OutOfMemory" in error or "out of memory" in text.lower():
            return ProviderError(
                "server",
                f"AUTOMATIC1111 ran out of GPU memory: {text}",
                hint="lower width/height, or start the web UI with --medvram or --lowvram",
                status=status,
            )
        if status >= 500:
            return ProviderError(
                "server",
                f"AUTOMATIC1111 failed: {text or f'HTTP {status}'}",
                hint="see the web UI's console for the traceback",
                status=status,
                retryable=True,
            )
        return None


provider = ProviderSpec(
    "automatic1111",
    A1111Provider,
    A1111Settings,
    KeySpec("automatic1111", "AUTOMATIC1111_PASSWORD", "password"),
    order=4,
)
"""Entry point for the ``telestrations.providers`` group."""
