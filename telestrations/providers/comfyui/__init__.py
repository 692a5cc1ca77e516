"""ComfyUI as a drawer: the local image server, with a built-in workflow or the user's own.

PROTOCOLS.md 6.1 and 10. A turn opens the websocket ``/ws?clientId=`` first (so no event is
missed), queues an API-format workflow through ``POST /prompt`` with the same ``client_id``,
reports the sampler's ``progress`` events as "step k/n", waits for the final ``executing``
with ``node: null``, reads ``/history/{id}`` and fetches the image through ``/view``. Where
the websocket is unavailable (a proxy that drops upgrades) it polls ``/history`` instead. A
stop or the deadline sends ``/interrupt`` with the prompt id and drops it from ``/queue``.

Model ids: ``comfyui:<checkpoint file>`` draws with the built-in text-to-image workflow
(CheckpointLoaderSimple → CLIPTextEncode ×2 → EmptyLatentImage → KSampler → VAEDecode →
SaveImage); ``comfyui:<NAME>`` draws with the workflow file named under
``[providers.comfyui.workflows.NAME]``. Every call gets a fresh seed: ComfyUI caches outputs
and would otherwise hand back the same picture for the same text.

Core ComfyUI has no auth; behind a reverse proxy a key (``telestrations keys set comfyui``)
goes out as ``Authorization: Bearer``, or as Basic with ``username`` set, on every request,
the websocket and ``/view`` included.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote, urlsplit

from telestrations.providers.base import (
    Availability,
    Drawer,
    ModelInfo,
    ModelKind,
    ProviderContext,
    ProviderError,
)
from telestrations.providers.catalog import CatalogProvider
from telestrations.providers.comfyui.drawer import ComfyDrawer
from telestrations.providers.comfyui.errors import CHECKPOINT_HINT, prompt_error
from telestrations.providers.comfyui.workflow import (
    Workflow,
    default_workflow,
    load_workflow,
    patch_workflow,
)
from telestrations.providers.http import (
    HttpClient,
    HttpFailure,
    auth_headers,
    http_settings,
    shown_url,
    split_user,
)
from telestrations.providers.spec import HttpFields, KeySpec, ProviderSpec, setting
from telestrations.text import clean_text, redact

__all__ = [
    "ComfyDrawer",
    "ComfySettings",
    "ComfyUIProvider",
    "Workflow",
    "default_workflow",
    "load_workflow",
    "patch_workflow",
    "provider",
]

log = logging.getLogger(__name__)

NAME = "comfyui"
DEFAULT_BASE_URL = "http://127.0.0.1:8188"
START_HINT = "start ComfyUI (python main.py; port 8188 by default), or fix base_url"
AUTH_HINT = (
    "ComfyUI sits behind a proxy that wants credentials: `telestrations keys set comfyui` "
    "(a token, or the password with username under [providers.comfyui])"
)
CANCEL_TIMEOUT = 5.0
WS_MAX_FRAME = 64 * 1024 * 1024
"""Preview frames are binary images; they are read and ignored, so allow large ones."""


# -- settings (one place, so they can become a declared schema) ---------------------------------


WORKFLOW_KEYS = (
    "file",
    "prompt_node",
    "negative_node",
    "seed_node",
    "size_node",
    "output_node",
    "label",
    "note",
)
"""What a ``[providers.comfyui.workflows.NAME]`` table may hold (the fields of Workflow)."""


@dataclass(frozen=True)
class ComfyTable(HttpFields):
    """``[providers.comfyui]`` as declared; :meth:`ComfySettings.read` adds range checks."""

    base_url: str = setting(DEFAULT_BASE_URL, "the ComfyUI server")
    username: str = setting("", "behind a proxy: HTTP Basic user (the key is the password)")
    job_timeout: float = setting(600.0, "seconds a whole draw may take before it is interrupted")
    websocket: bool = setting(True, "follow progress over /ws; false polls /history")
    poll_interval: float = setting(1.0, "seconds between /history polls")
    check_timeout: float = setting(5.0, "seconds the checkpoint-list check may take")
    steps: int = setting(20, "built-in workflow: sampling steps")
    cfg: float = setting(7.0, "built-in workflow: guidance scale")
    sampler_name: str = setting("euler", "one of ComfyUI's samplers")
    scheduler: str = setting("normal", "one of ComfyUI's schedulers")
    width: int = setting(512, "image width")
    height: int = setting(512, "image height")
    negative_prompt: str = setting("", "user workflows: patched in only when set")
    filename_prefix: str = setting("telestrations", "SaveImage's filename prefix")
    denoise: float = setting(
        0.6, "memory play (built-in workflow): how far a picture may move from the last (0..1)"
    )
    workflows: dict[str, dict[str, Any]] = field(
        default_factory=dict, metadata={"doc": "your own API-format workflows by name"}
    )


@dataclass(frozen=True)
class ComfySettings:
    """``[providers.comfyui]``: the server, the default workflow's knobs, and user workflows."""

    base_url: str = DEFAULT_BASE_URL
    username: str = ""
    steps: int = 20
    cfg: float = 7.0
    sampler_name: str = "euler"
    scheduler: str = "normal"
    width: int = 512
    height: int = 512
    negative_prompt: str = ""
    filename_prefix: str = "telestrations"
    job_timeout: float = 600.0
    """Seconds a whole draw (queue, run, download) may take before it is interrupted."""
    websocket: bool = True
    """False: follow the run by polling ``/history`` (for proxies that drop websockets)."""
    poll_interval: float = 1.0
    check_timeout: float = 5.0
    denoise: float = 0.6
    """Memory play: the share of noise the sampler adds to the previous picture (0..1)."""
    workflows: Mapping[str, Workflow] = field(default_factory=dict)

    @classmethod
    def read(cls, t: ComfyTable) -> ComfySettings:
        """From the validated table (types already checked against :class:`ComfyTable`):
        the ranges, and the workflow entries; a bad one raises ValueError naming the key."""
        for key in ("steps", "cfg", "width", "height", "job_timeout", "poll_interval"):
            if getattr(t, key) <= 0:
                raise ValueError(f"providers.comfyui.{key} must be a number above 0")
        if t.check_timeout <= 0:
            raise ValueError("providers.comfyui.check_timeout must be a number above 0")
        if not 0 < t.denoise <= 1:
            raise ValueError("providers.comfyui.denoise must be above 0 and at most 1")
        flows: dict[str, Workflow] = {}
        for name, entry in t.workflows.items():
            if not isinstance(entry, Mapping) or not isinstance(entry.get("file"), str):
                raise ValueError(f'providers.comfyui.workflows.{name} needs file = "..."')
            unknown = set(entry) - set(WORKFLOW_KEYS)
            if unknown:
                raise ValueError(
                    f"unknown key(s) in providers.comfyui.workflows.{name}: {sorted(unknown)}"
                )
            flows[str(name)] = Workflow(
                name=str(name), **{k: str(v) for k, v in entry.items() if k in WORKFLOW_KEYS}
            )
        same = {f.name: getattr(t, f.name) for f in fields(cls)} | {"workflows": flows}
        return cls(**same | {"base_url": t.base_url.rstrip("/") or DEFAULT_BASE_URL})


# -- the provider -------------------------------------------------------------------------------


class ComfyUIProvider(CatalogProvider):
    """A ComfyUI server: its checkpoints with the built-in workflow, plus named workflows."""

    SETTINGS = ComfyTable
    conf: ComfySettings

    name = NAME
    title = "ComfyUI"
    ACCEPTS_ANY_MODEL = frozenset({"drawer"})

    def __init__(self, ctx: ProviderContext) -> None:
        super().__init__(ctx)
        # the base class validated the table's types; ComfySettings adds ranges and workflows
        table = cast(ComfyTable, self.conf)
        self.conf = ComfySettings.read(table)
        self.base_url = self.conf.base_url
        key = ctx.get_key(NAME) or ""
        user, key = split_user(key, self.conf.username)  # "user:password" stored whole
        self.username, self._key = user, key
        # Basic with a user, Bearer without; else the URL's user:password, for the websocket too
        headers = auth_headers(key, user=user, base_url=self.base_url)
        self._ws_headers = dict(headers)
        self.http_settings = http_settings(
            table,
            base_url=self.base_url,
            read_timeout=60.0,
            max_retries=1,
            # the queue wait is bounded by job_timeout; the margin covers the fetch and checks
            draw_deadline=self.conf.job_timeout + 120.0,
        )
        self.http = HttpClient(
            self.title,
            self.http_settings,
            headers=headers,
            secrets=(key,) if key else (),
            error_mapper=self._map_failure,
        )
        for flow in self.conf.workflows.values():
            self._add_workflow(flow)
        self._tasks: set[asyncio.Future[Any]] = set()

    def _add_workflow(self, flow: Workflow) -> None:
        """``comfyui:NAME`` for a workflow; a ``[[models]]`` entry of that name adds options."""
        given = next((m for m in self._models if m.name == flow.name), None)
        model = ModelInfo(
            NAME,
            flow.name,
            "drawer",
            label=(given.label if given else "") or flow.label or f"{flow.name} (workflow)",
            options={**(given.options if given else {}), "workflow": flow.name},
            price=given.price if given and given.price is not None else 0.0,
            note=(given.note if given else "") or flow.note or f"workflow {Path(flow.file).name}",
        )
        self._models = [m for m in self._models if m.name != flow.name] + [self._priced(model)]

    def path_of(self, flow: Workflow) -> Path:
        return Path(flow.file).expanduser()

    # -- models ----------------------------------------------------------------------------------
    def model(self, name: str, kind: ModelKind) -> ModelInfo | None:
        found = super().model(name, kind)
        if found is None or "workflow" in found.options or "checkpoint" in found.options:
            return found
        return ModelInfo(  # a checkpoint named by hand or discovered
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

    async def checkpoints(self) -> list[str]:
        """Installed checkpoints: ``/models/checkpoints``, else ``/object_info`` (10.3)."""
        timeout = self.conf.check_timeout
        try:
            data = await self.http.json(
                "GET", "/models/checkpoints", retry=False, read_timeout=timeout
            )
        except ProviderError as exc:
            if exc.status != 404:
                raise self._reachable(exc) from None
            data = None
        if isinstance(data, list):
            return [str(n) for n in data if isinstance(n, str)]
        try:
            info = await self.http.json(
                "GET", "/object_info/CheckpointLoaderSimple", retry=False, read_timeout=timeout
            )
        except ProviderError as exc:
            raise self._reachable(exc) from None
        spec = (
            info.get("CheckpointLoaderSimple", {}).get("input", {}).get("required", {})
            if isinstance(info, dict)
            else {}
        )
        combo = spec.get("ckpt_name") if isinstance(spec, dict) else None
        names: Any = []
        if isinstance(combo, list) and combo:
            if isinstance(combo[0], list):  # [[names], {...}]
                names = combo[0]
            elif combo[0] == "COMBO" and len(combo) > 1 and isinstance(combo[1], dict):
                names = combo[1].get("options", [])  # V3 schema
        return [str(n) for n in names if isinstance(n, str)]

    async def discover(self) -> list[ModelInfo]:
        """One drawer per installed checkpoint, with the built-in workflow."""
        found = [
            ModelInfo(
                NAME,
                name,
                "drawer",
                label=name,
                options={"checkpoint": name},
                price=self.ctx.prices.get(f"{NAME}:{name}", 0.0),
                note="built-in text-to-image workflow",
                discovered=True,
            )
            for name in await self.checkpoints()
        ]
        self.remember_discovered(found)
        return found

    # -- availability ----------------------------------------------------------------------------
    def availability(self, model: ModelInfo) -> Availability:
        if self.username and not self._key:
            return Availability.no(
                f"no ComfyUI password for user {self.username!r}", AUTH_HINT, "auth"
            )
        return Availability.yes()

    async def check(self, model: ModelInfo) -> Availability:
        """Reachable (``/system_stats``), the checkpoint installed, the workflow readable."""
        quick = self.availability(model)
        if not quick.ok:
            return quick
        try:
            flow = self.conf.workflows.get(str(model.options.get("workflow", "")))
            if flow is not None:
                await asyncio.to_thread(load_workflow, self.path_of(flow))
                await self.call(
                    "GET", "/system_stats", retry=False, read_timeout=self.conf.check_timeout
                )
                return Availability.yes()
            names = await self.checkpoints()
        except ProviderError as exc:
            return Availability.no(exc.message, exc.hint, exc.kind)
        wanted = str(model.options.get("checkpoint") or model.name)
        if wanted in names or wanted.replace("\\", "/") in {n.replace("\\", "/") for n in names}:
            return Availability.yes()
        shown = ", ".join(names[:5]) + (", …" if len(names) > 5 else "") or "none"
        return Availability.no(
            f"ComfyUI has no checkpoint {wanted!r} (installed: {shown})",
            CHECKPOINT_HINT,
            "not_found",
        )

    # -- turns -----------------------------------------------------------------------------------
    def drawer(self, model: ModelInfo) -> Drawer:
        return ComfyDrawer(self, self.usable(model))

    def _reachable(self, exc: ProviderError) -> ProviderError:
        if exc.kind == "unreachable" and exc.status is None:
            return ProviderError(
                "unreachable",
                f"ComfyUI not reachable at {shown_url(self.base_url)}",
                hint=START_HINT,
            )
        return exc

    async def call(self, method: str, path: str, **kw: Any) -> Any:
        try:
            return await self.http.request(method, path, **kw)
        except ProviderError as exc:
            raise self._reachable(exc) from None

    async def history(self, prompt_id: str) -> dict[str, Any] | None:
        """The prompt's ``/history`` entry, or None while it is pending."""
        data = (await self.call("GET", f"/history/{quote(prompt_id, safe='')}")).json()
        entry = data.get(prompt_id) if isinstance(data, dict) else None
        return entry if isinstance(entry, dict) else None

    async def view(self, image: Mapping[str, Any]) -> bytes:
        params = {
            "filename": str(image.get("filename", "")),
            "subfolder": str(image.get("subfolder") or ""),
            "type": str(image.get("type") or "output"),
        }
        try:
            return (await self.call("GET", "/view", params=params)).body  # type: ignore[no-any-return]
        except ProviderError as exc:
            if exc.status in (400, 403, 404):
                raise ProviderError(
                    "bad_response",
                    f"ComfyUI could not serve the image {clean_text(params['filename'], 80)!r} "
                    f"(HTTP {exc.status})",
                    hint="a PreviewImage file is wiped when ComfyUI restarts; draw again",
                    status=exc.status,
                ) from None
            raise

    async def open_socket(self, client_id: str) -> Any:
        """The websocket for ``client_id``, or None (then the run is followed by polling)."""
        try:  # imported in a thread: the first import takes ~25 ms, too long for the loop
            module = await asyncio.to_thread(importlib.import_module, "websockets.asyncio.client")
        except ImportError:  # pragma: no cover - a dependency; polling still works
            return None
        connect = module.connect
        parts = urlsplit(self.base_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        host = parts.netloc.rpartition("@")[2]
        url = f"{scheme}://{host}{parts.path.rstrip('/')}/ws?clientId={client_id}"
        local = (parts.hostname or "") in ("127.0.0.1", "localhost", "::1")
        try:
            return await connect(
                url,
                additional_headers=self._ws_headers,
                open_timeout=self.http_settings.connect_timeout,
                max_size=WS_MAX_FRAME,
                compression=None,
                proxy=None if local else True,
                close_timeout=2.0,
            )
        except Exception as exc:  # refused, 404 from a proxy, TLS...: polling still works
            log.info(
                "ComfyUI websocket unavailable (%s); polling /history",
                redact(clean_text(f"{type(exc).__name__}: {exc}", 200), self.http.secrets),
            )
            return None

    def keep(self, task: asyncio.Future[Any]) -> None:
        """Hold a background task (a cancel after a stop) until it ends."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def cancel(self, prompt_id: str) -> None:
        """``/interrupt`` it if running, drop it from ``/queue`` if pending; best effort,
        finishes even when the turn is cancelled again."""

        async def both() -> None:
            for path, body in (
                ("/interrupt", {"prompt_id": prompt_id}),
                ("/queue", {"delete": [prompt_id]}),
            ):
                try:
                    await self.http.request(
                        "POST",
                        path,
                        json=body,
                        retry=False,
                        read_timeout=CANCEL_TIMEOUT,
                        accept=lambda status: status < 500,
                    )
                except Exception as exc:
                    log.debug("ComfyUI %s failed: %s", path, exc)

        task = asyncio.ensure_future(both())
        self.keep(task)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), 2 * CANCEL_TIMEOUT + 1.0)

    async def aclose(self) -> None:
        await self.http.aclose()

    # -- errors ----------------------------------------------------------------------------------
    def _map_failure(self, failure: HttpFailure) -> ProviderError | None:
        if failure.status in (401, 403):
            return ProviderError(
                "auth",
                f"ComfyUI (or its proxy) refused the credentials (HTTP {failure.status})"
                if self._key or self.username
                else f"ComfyUI's proxy wants credentials (HTTP {failure.status})",
                hint=AUTH_HINT,
                status=failure.status,
            )
        if failure.status == 400:
            return prompt_error(failure.json)
        if failure.status >= 500:
            return ProviderError(
                "server",
                f"ComfyUI failed: {failure.text or f'HTTP {failure.status}'}",
                hint="the ComfyUI console has the traceback",
                status=failure.status,
                retryable=True,
            )
        return None


provider = ProviderSpec(
    NAME,
    ComfyUIProvider,
    ComfyTable,
    KeySpec(NAME, "COMFYUI_API_KEY"),
    order=5,
)
"""Entry point for the ``telestrations.providers`` group."""
