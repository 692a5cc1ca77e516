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
import ipaddress
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from telestrations.providers.base import (
    Availability,
    Drawer,
    ModelInfo,
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
    decode_base64_image,
    http_settings,
    picture_from_bytes,
)
from telestrations.providers.spec import HttpFields, KeySpec, ProviderSpec, setting
from telestrations.text import clean_text, redact

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.runpod.ai/v2"
DEFAULT_JOB_TIMEOUT = 600.0
DEFAULT_SYNC_WAIT = 90.0
"""Seconds runsync may hold the request (RunPod's own default; ``?wait`` allows 1–300 s)."""
POLL_FIRST, POLL_MAX, POLL_GROWTH = 1.0, 5.0, 1.5
STATUS_TIMEOUT, CANCEL_TIMEOUT = 30.0, 5.0
DEADLINE_MARGIN = 120.0
"""Seconds the default ``draw_deadline`` adds to ``job_timeout``: download and checks."""
PENDING = frozenset({"IN_QUEUE", "IN_PROGRESS", "RUNNING"})
KEY_HINT = "run `telestrations keys set runpod` or set RUNPOD_API_KEY"
LEGACY_NOTE = "legacy quick-deploy worker; set endpoint to your own deployment of it"
LEGACY_RETIRED = "RunPod's quick-deploy endpoint, gone since 2025"


# -- schemas: what each worker takes ------------------------------------------------------------

SizeFit = Callable[[int, int], tuple[int, int]]


def snap_to(allowed: tuple[int, ...]) -> SizeFit:
    """Each side to the nearest allowed value (the SD 1.x/2.x workers' option list)."""

    def fit(w: int, h: int) -> tuple[int, int]:
        return (min(allowed, key=lambda a: abs(a - w)), min(allowed, key=lambda a: abs(a - h)))

    return fit


def multiple_of(step: int, low: int = 64, high: int = 4096) -> SizeFit:
    """Each side rounded to a multiple of ``step`` within ``[low, high]``."""

    def one(v: int) -> int:
        return max(low, min(high, round(v / step) * step))

    return lambda w, h: (one(w), one(h))


@dataclass(frozen=True)
class Schema:
    """How to build one worker's ``input``: fixed defaults plus where the size goes."""

    name: str
    defaults: Mapping[str, Any]
    size: tuple[int, int]
    fit: SizeFit
    size_keys: tuple[str, str] | None = ("width", "height")
    """Input keys for width and height (Kandinsky's ``w``/``h``); ``None`` with ``size_field``."""
    size_field: str = ""
    """A single ``"W*H"`` field (Qwen, Z-Image, WAN, Seedream)."""
    note: str = ""

    def build(self, text: str, options: Mapping[str, Any]) -> dict[str, Any]:
        """The ``input`` object: prompt, defaults, size, then the model's ``input`` overrides."""
        w, h = self.fit(
            int(options.get("width", self.size[0])), int(options.get("height", self.size[1]))
        )
        out: dict[str, Any] = {"prompt": text, **self.defaults}
        if self.size_field:
            out[self.size_field] = f"{w}*{h}"
        elif self.size_keys:
            out[self.size_keys[0]], out[self.size_keys[1]] = w, h
        extra = options.get("input", {})
        if isinstance(extra, Mapping):
            out.update(extra)
        return out


SD_SIZES = (128, 256, 384, 448, 512, 576, 640, 704, 768)
_SD_FAMILY = {"num_outputs": 1, "num_inference_steps": 50, "guidance_scale": 7.5}
_FLUX = {"guidance": 7.5, "seed": -1, "image_format": "jpeg"}
_STAR = ("512*512", "768*768", "1024*1024", "1280*1280", "1024*768", "768*1024", "1280*720")


def _nearest_listed(sizes: tuple[str, ...]) -> SizeFit:
    pairs = [tuple(int(v) for v in s.split("*")) for s in sizes]

    def fit(w: int, h: int) -> tuple[int, int]:
        best = min(pairs, key=lambda p: abs(p[0] - w) + abs(p[1] - h))
        return best[0], best[1]

    return fit


SCHEMAS: dict[str, Schema] = {
    s.name: s
    for s in (
        Schema(
            "stable-diffusion-v2",
            {**_SD_FAMILY, "scheduler": "KLMS"},
            (512, 512),
            snap_to(SD_SIZES),
            note="list of {image, seed}",
        ),
        Schema(
            "sd-openjourney",
            {**_SD_FAMILY, "scheduler": "K-LMS"},
            (512, 512),
            snap_to(SD_SIZES),
            note="list of {image, seed}, presigned URLs",
        ),
        Schema(
            "sd-anything-v4",
            {**_SD_FAMILY, "scheduler": "K-LMS"},
            (512, 512),
            snap_to(SD_SIZES),
            note="list of {image, seed}, presigned URLs",
        ),
        Schema(
            "sdxl",
            {
                "num_inference_steps": 25,
                "refiner_inference_steps": 50,
                "guidance_scale": 7.5,
                "num_images": 1,
            },
            (1024, 1024),
            multiple_of(8, 256, 2048),
            note="{images, image_url, seed}: URLs or data URIs",
        ),
        Schema(
            "kandinsky-v2",
            {"num_steps": 100, "guidance_scale": 4, "num_images": 1, "seed": -1},
            (768, 768),
            multiple_of(64, 256, 2048),
            size_keys=("w", "h"),
            note="{image_url} or {images}; note h/w",
        ),
        Schema(
            "flux-schnell",
            {"num_inference_steps": 4, **_FLUX},
            (1024, 1024),
            multiple_of(64, 256, 1536),
            note="{image_url, cost}",
        ),
        Schema(
            "flux-dev",
            {"num_inference_steps": 28, **_FLUX},
            (1024, 1024),
            multiple_of(64, 256, 1536),
            note="{image_url, cost}",
        ),
        Schema(
            "qwen-image",
            {"negative_prompt": "", "seed": -1, "enable_safety_checker": True},
            (1024, 1024),
            multiple_of(16, 256, 1536),
            size_keys=None,
            size_field="size",
            note="{image_url, cost}; size as W*H",
        ),
        Schema(
            "z-image-turbo",
            {"seed": -1, "output_format": "png", "enable_safety_checker": True},
            (1024, 1024),
            _nearest_listed(_STAR),
            size_keys=None,
            size_field="size",
            note="{image_url, cost}; size as W*H",
        ),
        Schema("generic", {}, (1024, 1024), multiple_of(8), note="prompt, width, height"),
    )
}


# -- presets ------------------------------------------------------------------------------------


def _legacy(name: str, label: str) -> ModelInfo:
    return ModelInfo(
        "runpod",
        name,
        "drawer",
        label=label,
        options={"endpoint": name, "schema": name},
        retired=LEGACY_RETIRED,
        note=LEGACY_NOTE,
    )


def _public(
    name: str,
    endpoint: str,
    schema: str,
    label: str,
    price: float,
    note: str,
    **options: Any,
) -> ModelInfo:
    return ModelInfo(
        "runpod",
        name,
        "drawer",
        label=label,
        options={"endpoint": endpoint, "schema": schema, **options},
        price=price,
        note=note,
    )


PRESETS: tuple[ModelInfo, ...] = (
    _public(
        "flux-1-schnell",
        "black-forest-labs-flux-1-schnell",
        "flux-schnell",
        "FLUX.1 schnell",
        round(1024 * 1024 / 1e6 * 0.0024, 5),
        "public endpoint, $0.0024 per megapixel",
        price_per_mp=0.0024,
    ),
    _public(
        "flux-1-dev",
        "black-forest-labs-flux-1-dev",
        "flux-dev",
        "FLUX.1 dev",
        round(1024 * 1024 / 1e6 * 0.02, 5),
        "public endpoint, $0.02 per megapixel",
        price_per_mp=0.02,
    ),
    _public(
        "z-image-turbo",
        "z-image-turbo",
        "z-image-turbo",
        "Z-Image Turbo",
        0.005,
        "public endpoint, $0.005 per image",
    ),
    _public(
        "qwen-image",
        "qwen-image-t2i",
        "qwen-image",
        "Qwen Image",
        0.02,
        "public endpoint, $0.02 per image, good at lettering",
    ),
    _legacy("sdxl", "SDXL"),
    _legacy("sd-openjourney", "OpenJourney"),
    _legacy("sd-anything-v4", "Anything v4"),
    _legacy("stable-diffusion-v2", "Stable Diffusion v2"),
    _legacy("kandinsky-v2", "Kandinsky 2"),
)


# -- reading jobs -------------------------------------------------------------------------------


def worker_message(error: Any) -> str:
    """A FAILED job's ``error`` as one readable line.

    It may be a plain string, a JSON-encoded string from a Python exception in the worker
    (``error_message``/``error_type``), a list of validator errors, or an object.
    """
    if isinstance(error, str):
        try:
            decoded = json.loads(error)
        except ValueError:
            return error
        if isinstance(decoded, (dict, list)):
            return worker_message(decoded)
        return error
    if isinstance(error, list):
        return "; ".join(worker_message(e) for e in error)
    if isinstance(error, dict):
        for key in ("error_message", "message", "error", "detail"):
            if key in error:
                text = worker_message(error[key])
                kind = error.get("error_type")
                return f"{kind}: {text}" if isinstance(kind, str) and kind else text
        return json.dumps(error)[:500]
    return str(error)


_BAD_INPUT = ("invalid parameter", "unexpected input", "required input", "constraints", "must be")
_REFUSED = ("nsfw", "safety", "content policy", "inappropriate")


def job_error(job: Mapping[str, Any], secrets: tuple[str, ...] = ()) -> ProviderError:
    """The :class:`ProviderError` for a job that ended FAILED, TIMED_OUT or CANCELLED."""
    status = str(job.get("status", ""))
    job_id = str(job.get("id", ""))
    if status == "TIMED_OUT":
        return ProviderError(
            "timeout",
            f"RunPod job {job_id} ran past the endpoint's execution timeout",
            hint="raise the execution timeout in the endpoint's settings",
        )
    if status == "CANCELLED":
        return ProviderError("server", f"RunPod job {job_id} was cancelled on RunPod")
    text = clean_text(redact(worker_message(job.get("error", "")), secrets)) or "no reason given"
    lowered = text.lower()
    if any(word in lowered for word in _REFUSED):
        return ProviderError("refused", f"the worker refused: {text}")
    if any(word in lowered for word in _BAD_INPUT):
        return ProviderError(
            "bad_request",
            f"the worker rejected the input: {text}",
            hint="check this model's width, height, schema and input options",
        )
    return ProviderError(
        "server",
        f"the RunPod job failed: {text}",
        hint="the worker's own error: its logs are in the RunPod console (Serverless → logs); "
        "resuming the game tries again",
    )


@dataclass(frozen=True)
class ImageRef:
    """Where the image is (URL, data URI or bare base64) and what came with it."""

    value: str
    seed: Any = None
    cost: float | None = None


def find_image(output: Any) -> ImageRef | None:
    """The first image in any output shape RunPod workers produce (PROTOCOLS.md 4.4–4.6).

    A list of ``{image, seed}``; an object with ``image_url`` and/or ``images``
    (entries being strings or objects); a bare string; or any of those one level down
    (``{"output": ...}``, ``{"result": ...}``).
    """
    cost = None
    seed = None
    if isinstance(output, dict):
        if isinstance(output.get("cost"), (int, float)):
            cost = float(output["cost"])
        seed = output.get("seed")
    found = _first_image(output, 0)
    if found is None:
        return None
    value, entry_seed = found
    return ImageRef(value, entry_seed if entry_seed is not None else seed, cost)


def _first_image(value: Any, depth: int) -> tuple[str, Any] | None:
    if depth > 3:
        return None
    if isinstance(value, str):
        return (value, None) if value.strip() else None
    if isinstance(value, list):
        for item in value:
            found = _first_image(item, depth + 1)
            if found is not None:
                return found
        return None
    if isinstance(value, dict):
        for key in ("image_url", "image", "images", "url", "output", "result", "data"):
            if key in value:
                found = _first_image(value[key], depth + 1)
                if found is not None:
                    return found[0], found[1] if found[1] is not None else value.get("seed")
    return None


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def job_progress(job: Mapping[str, Any]) -> str:
    """A short note for an unfinished job: queued, or running (with the worker's own
    ``progress_update`` text, which the status route returns as ``output`` meanwhile)."""
    status = str(job.get("status", ""))
    if status == "IN_QUEUE":
        return "in the queue, waiting for a worker"
    note = "running on a worker"
    delay = job.get("delayTime")
    if isinstance(delay, int | float) and not isinstance(delay, bool) and delay >= 1000:
        note += f" (queued {delay / 1000:.0f} s)"
    said = job.get("output")
    if isinstance(said, str) and said.strip():
        note += f": {clean_text(said, 60)}"
    return note


# -- the drawer ---------------------------------------------------------------------------------


@dataclass
class Target:
    """One model's endpoint: the URL prefix for runsync/status/cancel, and how to talk to it."""

    base: str
    label: str
    needs_key: bool
    status_method: str


class RunPodDrawer:
    """One RunPod model: runsync, poll while queued, download, verify."""

    def __init__(self, provider: RunPodProvider, model: ModelInfo) -> None:
        self.provider = provider
        self.model = model
        self.schema = provider.schema_of(model)
        self.target = provider.target(model)
        self.http = provider.client_for(self.target)

    def request_body(self, text: str) -> dict[str, Any]:
        return {"input": self.schema.build(text, self.model.options)}

    async def draw(self, text: str) -> Picture:
        # The turn's deadline bounds submission, polling and download; job_timeout (within
        # it by default) bounds the wait for a worker, with advice about queues.
        async with self.http.deadline("draw", self.provider.name):
            return await self._draw(text)

    async def _draw(self, text: str) -> Picture:
        p = self.provider
        deadline = time.monotonic() + p.job_timeout
        wait = max(1.0, min(300.0, float(self.model.options.get("sync_wait", p.sync_wait))))
        submit = asyncio.ensure_future(
            self._call(
                "POST",
                f"{self.target.base}/runsync",
                json=self.request_body(text),
                params={"wait": int(wait * 1000)},
                read_timeout=max(p.read_timeout, wait + 30.0),
                what="endpoint",
            )
        )
        try:
            job = await asyncio.shield(submit)
        except asyncio.CancelledError:
            # Stopped while runsync holds the request: the job id only comes with its answer.
            # Let that answer arrive in the background, then cancel the job, so a stop never
            # leaves a job running (and billed) on RunPod.
            p.keep(asyncio.ensure_future(self._cancel_when_known(submit)))
            raise
        job_id = str(job.get("id", ""))
        try:
            job = await self._until_done(job, job_id, deadline)
        except asyncio.CancelledError:
            if job_id:
                await self._cancel_quietly(job_id)
            raise
        return await self._picture(job)

    async def _call(self, method: str, url: str, *, what: str, **kw: Any) -> dict[str, Any]:
        try:
            result = await self.http.request(method, url, **kw)
        except ProviderError as exc:
            if exc.kind == "not_found" or exc.status == 404:
                raise self._not_found(what) from None
            raise
        data = result.json()
        if not isinstance(data, dict) or "status" not in data:
            raise ProviderError("bad_response", f"{self.target.label} did not answer with a job")
        return data

    def _not_found(self, what: str) -> ProviderError:
        if what == "job":
            return ProviderError(
                "not_found",
                f"RunPod no longer knows this job on {self.target.label}",
                hint="results expire (1 min after runsync, 30 min after run); draw again",
            )
        hint = "check the endpoint id in the RunPod console (Serverless → your endpoint)"
        if self.model.retired:
            hint = f"{LEGACY_NOTE} (options.endpoint in [[providers.runpod.models]])"
        return ProviderError(
            "not_found", f"RunPod endpoint {self.target.label} not found", hint=hint
        )

    async def _until_done(
        self, job: dict[str, Any], job_id: str, deadline: float
    ) -> dict[str, Any]:
        p = self.provider
        pause = p.poll_first
        while str(job.get("status")) in PENDING:
            report_progress(None, None, job_progress(job))
            if not job_id:
                raise ProviderError("bad_response", "RunPod returned an unfinished job with no id")
            left = deadline - time.monotonic()
            if left <= 0:
                await self._cancel_quietly(job_id)
                raise ProviderError(
                    "timeout",
                    f"RunPod job still {job.get('status')} after {p.job_timeout:g} s",
                    hint="no worker may be free (cold start or max workers reached); "
                    "raise job_timeout under [providers.runpod] or check the endpoint",
                )
            await asyncio.sleep(min(pause, left))
            pause = min(p.poll_max, pause * POLL_GROWTH)
            job = await self._call(
                self.target.status_method,
                f"{self.target.base}/status/{job_id}",
                read_timeout=STATUS_TIMEOUT,
                what="job",
            )
        if job.get("status") != "COMPLETED":
            raise job_error(job, p.secrets)
        return job

    async def _cancel_when_known(self, submit: asyncio.Future[dict[str, Any]]) -> None:
        try:
            job = await submit
        except Exception as exc:  # the submission failed: nothing to cancel
            log.debug("runpod submission ended with %s after a stop", exc)
            return
        job_id = str(job.get("id", ""))
        if job_id and str(job.get("status")) in PENDING:
            await self._cancel_quietly(job_id)

    async def _cancel_quietly(self, job_id: str) -> None:
        """Best effort, shielded from a second cancel; 404/405 mean "no /cancel here"."""

        async def cancel() -> None:
            try:
                await self.http.request(
                    "POST",
                    f"{self.target.base}/cancel/{job_id}",
                    retry=False,
                    read_timeout=CANCEL_TIMEOUT,
                    accept=lambda status: status < 500,
                )
            except Exception as exc:  # best effort: the stop must go on
                log.debug("runpod cancel %s failed: %s", job_id, exc)

        task = asyncio.ensure_future(cancel())
        try:  # a second cancel still propagates; the shielded request carries on
            await asyncio.wait_for(asyncio.shield(task), CANCEL_TIMEOUT + 1.0)
        except TimeoutError:
            pass

    async def _picture(self, job: Mapping[str, Any]) -> Picture:
        ref = find_image(job.get("output"))
        if ref is None:
            raise ProviderError(
                "bad_response",
                f"the RunPod job finished without an image ({self.schema.name})",
                hint="check the model's schema option",
            )
        value = ref.value.strip()
        if value.startswith(("http://", "https://")):
            data = await self.http.download(value)
        else:
            data = decode_base64_image(value)
        extras: dict[str, Any] = {"endpoint": self.target.label, "job_id": job.get("id")}
        for src, dst in (("delayTime", "delay_ms"), ("executionTime", "execution_ms")):
            if isinstance(job.get(src), (int, float)):
                extras[dst] = job[src]
        if ref.seed is not None:
            extras["seed"] = ref.seed
        if ref.cost is not None:
            extras["cost"] = ref.cost  # what RunPod billed, as opposed to our estimate
        picture = await picture_from_bytes(data, max_pixels=self.provider.max_pixels, extras=extras)
        return replace(picture, cost=self._cost(ref, picture))

    def _cost(self, ref: ImageRef, picture: Picture) -> float | None:
        if ref.cost is not None:
            return ref.cost
        if self.model.id in self.provider.ctx.prices:
            return self.model.price
        per_mp = self.model.options.get("price_per_mp")
        if isinstance(per_mp, (int, float)):
            return round(picture.width * picture.height / 1e6 * float(per_mp), 8)
        return self.model.price


def _unretired(model: ModelInfo) -> ModelInfo:
    """A legacy preset that config points at another endpoint is the user's own deployment."""
    legacy = model.retired == LEGACY_RETIRED
    moved = model.options.get("url") or model.options.get("endpoint", model.name) != model.name
    if not (legacy and moved):
        return model
    note = "" if model.note == LEGACY_NOTE else model.note
    return replace(model, retired="", note=note or "your own deployment")


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
        avail = self.availability(model)
        if not avail.ok:
            raise avail.error()
        return RunPodDrawer(self, model)

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
