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
import base64
import contextlib
import json
import logging
import random
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

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
    HttpSettings,
    clean_text,
    picture_from_bytes,
    redact,
    shown_url,
)

log = logging.getLogger(__name__)

NAME = "comfyui"
DEFAULT_BASE_URL = "http://127.0.0.1:8188"
START_HINT = "start ComfyUI (python main.py; port 8188 by default), or fix base_url"
AUTH_HINT = (
    "ComfyUI sits behind a proxy that wants credentials: `telestrations keys set comfyui` "
    "(a token, or the password with username under [providers.comfyui])"
)
CHECKPOINT_HINT = "put it in ComfyUI's models/checkpoints, or pick one `telestrations models` lists"
CANCEL_TIMEOUT = 5.0
LOST_AFTER = 3
"""Polls in a row that find the prompt nowhere (queue or history) before giving up."""
SILENCE = 10.0
"""Seconds without a websocket event after which ``/history`` is asked whether it is done."""
SAMPLERS = ("KSampler", "KSamplerAdvanced")
SIZE_NODES = ("EmptyLatentImage", "EmptySD3LatentImage", "EmptyHunyuanLatentVideo")
WS_MAX_FRAME = 64 * 1024 * 1024
"""Preview frames are binary images; they are read and ignored, so allow large ones."""


# -- settings (one place, so they can become a declared schema) ---------------------------------


@dataclass(frozen=True)
class Workflow:
    """A user's API-format workflow file and which nodes take the prompt, seed and size."""

    name: str
    file: str
    prompt_node: str = ""
    negative_node: str = ""
    seed_node: str = ""
    size_node: str = ""
    output_node: str = ""
    label: str = ""
    note: str = ""


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
    workflows: Mapping[str, Workflow] = field(default_factory=dict)

    @classmethod
    def read(cls, s: Mapping[str, Any]) -> ComfySettings:
        """From the config table; a wrong type raises ValueError naming the key."""

        def num(key: str, kind: type, default: Any) -> Any:
            value = s.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"providers.comfyui.{key} must be a number above 0")
            return kind(value)

        def text(key: str, default: str) -> str:
            value = s.get(key, default)
            if not isinstance(value, str):
                raise ValueError(f"providers.comfyui.{key} must be a string")
            return value

        def flag(key: str, default: bool) -> bool:
            value = s.get(key, default)
            if not isinstance(value, bool):
                raise ValueError(f"providers.comfyui.{key} must be true or false")
            return value

        flows: dict[str, Workflow] = {}
        table = s.get("workflows", {})
        if not isinstance(table, Mapping):
            raise ValueError("providers.comfyui.workflows must be a table of tables")
        for name, entry in table.items():
            if not isinstance(entry, Mapping) or not isinstance(entry.get("file"), str):
                raise ValueError(f'providers.comfyui.workflows.{name} needs file = "..."')
            known = set(WORKFLOW_KEYS)
            unknown = set(entry) - known
            if unknown:
                raise ValueError(
                    f"unknown key(s) in providers.comfyui.workflows.{name}: {sorted(unknown)}"
                )
            flows[str(name)] = Workflow(
                name=str(name), **{k: str(v) for k, v in entry.items() if k in known}
            )
        return cls(
            base_url=text("base_url", DEFAULT_BASE_URL).rstrip("/") or DEFAULT_BASE_URL,
            username=text("username", ""),
            steps=num("steps", int, 20),
            cfg=num("cfg", float, 7.0),
            sampler_name=text("sampler_name", "euler"),
            scheduler=text("scheduler", "normal"),
            width=num("width", int, 512),
            height=num("height", int, 512),
            negative_prompt=text("negative_prompt", ""),
            filename_prefix=text("filename_prefix", "telestrations"),
            job_timeout=num("job_timeout", float, 600.0),
            websocket=flag("websocket", True),
            poll_interval=num("poll_interval", float, 1.0),
            check_timeout=num("check_timeout", float, 5.0),
            workflows=flows,
        )


# -- workflows ----------------------------------------------------------------------------------


def default_workflow(checkpoint: str, p: Mapping[str, Any]) -> dict[str, Any]:
    """The built-in text-to-image graph (PROTOCOLS.md 10.2) for any installed checkpoint."""
    return {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": checkpoint}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["1", 1]}},
        "3": {
            "class_type": "CLIPTextEncode",
            "inputs": {"text": str(p["negative_prompt"]), "clip": ["1", 1]},
        },
        "4": {
            "class_type": "EmptyLatentImage",
            "inputs": {"width": int(p["width"]), "height": int(p["height"]), "batch_size": 1},
        },
        "5": {
            "class_type": "KSampler",
            "inputs": {
                "model": ["1", 0],
                "positive": ["2", 0],
                "negative": ["3", 0],
                "latent_image": ["4", 0],
                "seed": 0,
                "steps": int(p["steps"]),
                "cfg": float(p["cfg"]),
                "sampler_name": str(p["sampler_name"]),
                "scheduler": str(p["scheduler"]),
                "denoise": 1.0,
            },
        },
        "6": {"class_type": "VAEDecode", "inputs": {"samples": ["5", 0], "vae": ["1", 2]}},
        "7": {
            "class_type": "SaveImage",
            "inputs": {"images": ["6", 0], "filename_prefix": str(p["filename_prefix"])},
        },
    }


def load_workflow(path: Path) -> dict[str, Any]:
    """An API-format workflow from a file (runs in a thread); a clear error for the UI format."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProviderError(
            "not_found", f"workflow file {str(path)!r} not found", hint="fix file = in config"
        ) from None
    except (OSError, ValueError) as exc:
        raise ProviderError(
            "bad_request",
            f"workflow file {str(path)!r} is not readable JSON: {clean_text(str(exc), 120)}",
            hint="export it from ComfyUI with Save (API Format)",
        ) from None
    if isinstance(data, dict) and isinstance(data.get("prompt"), dict):
        data = data["prompt"]  # a saved /prompt body
    if isinstance(data, dict) and "nodes" in data and "links" in data:
        raise ProviderError(
            "bad_request",
            f"workflow file {str(path)!r} is in ComfyUI's UI format, not the API format",
            hint="in ComfyUI use Workflow → Export (API), i.e. Save (API Format)",
        )
    if (
        not isinstance(data, dict)
        or not data
        or not all(isinstance(n, dict) and "class_type" in n for n in data.values())
    ):
        raise ProviderError(
            "bad_request",
            f"workflow file {str(path)!r} is not an API-format workflow",
            hint="export it from ComfyUI with Save (API Format)",
        )
    return data


def _link(value: Any) -> str | None:
    """The node id a ``["5", 0]`` link points at."""
    if isinstance(value, list) and len(value) == 2 and isinstance(value[1], int):
        return str(value[0])
    return None


def _text_node(graph: Mapping[str, Any], start: str | None, depth: int = 0) -> str | None:
    """Follow a conditioning link back to the node that holds the text (bounded)."""
    if start is None or start not in graph or depth > 8:
        return None
    inputs = graph[start].get("inputs", {})
    if isinstance(inputs.get("text"), str | list) or "text_g" in inputs:
        return start
    for key in ("conditioning", "conditioning_1", "positive", "conditioning_to"):
        found = _text_node(graph, _link(inputs.get(key)), depth + 1)
        if found:
            return found
    return None


def _node(graph: Mapping[str, Any], node: str, role: str, flow: str) -> dict[str, Any]:
    found = graph.get(node)
    if not isinstance(found, dict):
        raise ProviderError(
            "bad_request",
            f"workflow {flow!r} has no node {node!r} ({role})",
            hint=f"fix {role} under [providers.comfyui.workflows.{flow}]",
        )
    found.setdefault("inputs", {})
    return found


def _set_text(node: dict[str, Any], text: str) -> None:
    inputs = node["inputs"]
    if "text_g" in inputs or "text_l" in inputs:  # CLIPTextEncodeSDXL
        inputs["text_g"] = inputs["text_l"] = text
    elif "prompt" in inputs and "text" not in inputs:
        inputs["prompt"] = text
    else:
        inputs["text"] = text


def patch_workflow(
    graph: dict[str, Any],
    flow: Workflow,
    *,
    text: str,
    seed: int,
    negative: str | None,
    size: tuple[int, int] | None,
) -> dict[str, Any]:
    """Put the prompt, seed and (when asked) negative prompt and size into ``graph``.

    Nodes named in config win; otherwise they are found by class: the prompt is the text
    node linked to a sampler's ``positive``, the negative the one on its ``negative``.
    Returns what was patched, for the picture's extras.
    """
    samplers = [k for k, n in graph.items() if n.get("class_type") in SAMPLERS]
    prompt_id: str | None = flow.prompt_node
    negative_id: str | None = flow.negative_node
    if not prompt_id:
        for sid in samplers:
            prompt_id = _text_node(graph, _link(graph[sid].get("inputs", {}).get("positive")))
            if prompt_id:
                break
    if not prompt_id:
        encoders = [k for k, n in graph.items() if n.get("class_type") == "CLIPTextEncode"]
        if len(encoders) == 1:
            prompt_id = encoders[0]
    if not prompt_id:
        raise ProviderError(
            "bad_request",
            f"cannot tell which node of workflow {flow.name!r} takes the prompt",
            hint=f"set prompt_node under [providers.comfyui.workflows.{flow.name}]",
        )
    _set_text(_node(graph, prompt_id, "prompt_node", flow.name), text)
    done: dict[str, Any] = {"prompt_node": prompt_id}
    if negative is not None:
        if not negative_id:
            for sid in samplers:
                negative_id = _text_node(graph, _link(graph[sid].get("inputs", {}).get("negative")))
                if negative_id:
                    break
        if negative_id and negative_id != prompt_id:
            _set_text(_node(graph, negative_id, "negative_node", flow.name), negative)
    seeded = [flow.seed_node] if flow.seed_node else samplers
    for sid in seeded:
        inputs = _node(graph, sid, "seed_node", flow.name)["inputs"]
        key = "noise_seed" if "noise_seed" in inputs else "seed"
        inputs[key] = seed
    if seeded:
        done["seed"] = seed
    if size is not None:
        sized = (
            [flow.size_node]
            if flow.size_node
            else [k for k, n in graph.items() if n.get("class_type") in SIZE_NODES]
        )
        for nid in sized:
            inputs = _node(graph, nid, "size_node", flow.name)["inputs"]
            inputs["width"], inputs["height"] = size
    return done


# -- errors -------------------------------------------------------------------------------------


def _short(text: Any, limit: int = 200) -> str:
    """One line; a long ``not in [...]`` option list cut to its start."""
    value = clean_text(str(text or ""), 2000)
    if " not in [" in value and len(value) > limit:
        head, _, rest = value.partition(" not in [")
        value = f"{head} not in [{rest[:80]}…]"
    return clean_text(value, limit)


def prompt_error(data: Any) -> ProviderError | None:
    """A ``POST /prompt`` 400 (PROTOCOLS.md 10.4) as one line with a hint."""
    if not isinstance(data, dict):
        return None
    error = data.get("error")
    node_errors = data.get("node_errors")
    if isinstance(node_errors, dict) and node_errors:
        for node_id, entry in node_errors.items():
            if not isinstance(entry, dict):
                continue
            cls = str(entry.get("class_type") or "?")
            for err in entry.get("errors") or []:
                if not isinstance(err, dict):
                    continue
                details = str(err.get("details") or "")
                if err.get("type") == "value_not_in_list" and details.startswith("ckpt_name"):
                    wanted = details.split("'")[1] if details.count("'") >= 2 else details
                    return ProviderError(
                        "not_found",
                        f"ComfyUI has no checkpoint {_short(wanted, 120)!r}",
                        hint=CHECKPOINT_HINT,
                        status=400,
                    )
                said = _short(f"{err.get('message') or err.get('type')}: {details}")
                hint = "check the workflow's inputs (or the options for this model)"
                if err.get("type") == "value_not_in_list":
                    hint = "the value is not one this ComfyUI offers (see /object_info)"
                return ProviderError(
                    "bad_request",
                    f"ComfyUI rejected node {node_id} ({_short(cls, 60)}): {said}",
                    hint=hint,
                    status=400,
                )
    if isinstance(error, dict):
        kind = str(error.get("type") or "")
        message = _short(error.get("message") or kind)
        details = _short(error.get("details") or "", 160)
        said = f"{message}: {details}" if details and details not in message else message
        hint = {
            "invalid_prompt": "a node class is missing: install its custom node, or fix the "
            "workflow",
            "prompt_no_outputs": "the workflow needs a SaveImage or PreviewImage node",
            "no_prompt": "this is a bug in telestrations; please report it",
        }.get(kind, "check the workflow")
        return ProviderError("bad_request", f"ComfyUI: {said}", hint=hint, status=400)
    if isinstance(error, str) and error:
        return ProviderError("bad_request", f"ComfyUI: {_short(error)}", status=400)
    return None


def execution_error(data: Mapping[str, Any]) -> ProviderError:
    """A runtime ``execution_error`` (websocket or history): the node and exception, no
    traceback."""
    node = str(data.get("node_id") or "?")
    cls = _short(data.get("node_type") or "?", 60)
    exc_type = _short(data.get("exception_type") or "", 80)
    message = _short(data.get("exception_message") or "", 200)
    where = f"node {node} ({cls})"
    if "outofmemory" in exc_type.lower().replace(" ", "") or "out of memory" in message.lower():
        return ProviderError(
            "server",
            f"ComfyUI ran out of GPU memory in {where}",
            hint="lower width/height, or start ComfyUI with --lowvram",
        )
    said = f"{exc_type}: {message}" if exc_type and message else exc_type or message or "failed"
    return ProviderError(
        "server",
        f"ComfyUI failed in {where}: {said}",
        hint="the ComfyUI console has the traceback",
    )


def interrupted() -> ProviderError:
    return ProviderError(
        "server",
        "ComfyUI interrupted the run (someone pressed cancel, or another client interrupted)",
        hint="resume to draw again",
    )


# -- the drawer ---------------------------------------------------------------------------------


@dataclass
class Run:
    """One queued prompt as the websocket reports it."""

    prompt_id: str = ""
    finished: bool = False
    outputs: dict[str, Any] = field(default_factory=dict)
    cached: list[str] = field(default_factory=list)
    last: tuple[int | None, int | None, str] = (None, None, "")

    def report(self, done: int | None, total: int | None, note: str = "") -> None:
        if (done, total, note) != self.last:
            self.last = (done, total, note)
            report_progress(done, total, note)


class ComfyDrawer:
    """One checkpoint with the built-in workflow, or one user workflow."""

    def __init__(self, provider: ComfyUIProvider, model: ModelInfo) -> None:
        self.provider = provider
        self.model = model

    def _param(self, key: str) -> Any:
        return self.model.options.get(key, getattr(self.provider.conf, key))

    async def build(self, text: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The patched graph and what to record about it."""
        seed = random.randrange(2**32)  # fresh each call, or ComfyUI's cache answers
        opts = self.model.options
        flow_name = opts.get("workflow")
        if flow_name:
            flow = self.provider.conf.workflows.get(str(flow_name))
            if flow is None:
                raise ProviderError("not_found", f"no ComfyUI workflow {flow_name!r} in config")
            graph = await asyncio.to_thread(load_workflow, self.provider.path_of(flow))
            negative = opts.get("negative_prompt", self.provider.settings.get("negative_prompt"))
            size = None
            if "width" in opts or "height" in opts:
                size = (int(self._param("width")), int(self._param("height")))
            done = patch_workflow(
                graph,
                flow,
                text=text,
                seed=seed,
                negative=str(negative) if negative is not None else None,
                size=size,
            )
            extras: dict[str, Any] = {"workflow": flow.name, **done}
            return graph, extras
        checkpoint = str(opts.get("checkpoint") or self.model.name)
        params = {
            k: self._param(k)
            for k in (
                "negative_prompt",
                "width",
                "height",
                "steps",
                "cfg",
                "sampler_name",
                "scheduler",
                "filename_prefix",
            )
        }
        graph = default_workflow(checkpoint, params)
        graph["2"]["inputs"]["text"] = text
        graph["5"]["inputs"]["seed"] = seed
        extras = {
            "workflow": "default",
            "checkpoint": checkpoint,
            "seed": seed,
            "steps": params["steps"],
            "sampler_name": params["sampler_name"],
        }
        return graph, extras

    async def draw(self, text: str) -> Picture:
        try:
            return await self._draw(text)
        except ProviderError as exc:  # text from the server: no secret leaves in it
            exc.message = redact(exc.message, self.provider.http.secrets)
            exc.args = (exc.message,)
            raise

    async def _draw(self, text: str) -> Picture:
        p = self.provider
        graph, extras = await self.build(text)
        deadline = time.monotonic() + p.conf.job_timeout
        client_id = uuid.uuid4().hex
        run = Run()
        ws = await p.open_socket(client_id) if p.conf.websocket else None
        try:
            submit = asyncio.ensure_future(self._submit(graph, client_id))
            try:
                answer = await asyncio.shield(submit)
            except asyncio.CancelledError:
                # Stopped while queueing: the prompt id comes only with the answer. Cancel
                # the run once it is known, so a stop never leaves the GPU drawing.
                p.keep(asyncio.ensure_future(self._cancel_when_known(submit)))
                raise
            run.prompt_id = answer["prompt_id"]
            errors = prompt_error(answer) if answer.get("node_errors") else None
            if errors is not None:
                log.warning("ComfyUI queued the prompt despite: %s", errors)
            try:
                history = await self._follow(ws, run, deadline)
            except asyncio.CancelledError:
                await p.cancel(run.prompt_id)
                raise
            except ProviderError as exc:
                if exc.kind == "timeout":
                    await p.cancel(run.prompt_id)
                raise
        finally:
            if ws is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(ws.close(), 2.0)
        image = self._pick_image(graph, history.get("outputs") or run.outputs)
        data = await p.view(image)
        extras["prompt_id"] = run.prompt_id
        if run.cached:
            extras["cached_nodes"] = len(run.cached)
        return await picture_from_bytes(
            data,
            max_pixels=p.http_settings.max_pixels,
            extras=extras,
            cost=self.model.price if self.model.price is not None else 0.0,
        )

    async def _submit(self, graph: dict[str, Any], client_id: str) -> dict[str, Any]:
        result = await self.provider.call(
            "POST", "/prompt", json={"prompt": graph, "client_id": client_id}
        )
        answer = result.json()
        if not isinstance(answer, dict) or not isinstance(answer.get("prompt_id"), str):
            raise ProviderError("bad_response", "ComfyUI queued the prompt without an id")
        return answer

    async def _cancel_when_known(self, submit: asyncio.Future[dict[str, Any]]) -> None:
        try:
            answer = await submit
        except Exception as exc:  # it was never queued: nothing to cancel
            log.debug("ComfyUI submission ended with %s after a stop", exc)
            return
        await self.provider.cancel(answer["prompt_id"])

    async def _follow(self, ws: Any, run: Run, deadline: float) -> dict[str, Any]:
        """Wait for the run to end (websocket, else polling); its ``/history`` entry."""
        if ws is not None:
            try:
                await self._watch(ws, run, deadline)
            except _SocketLost as exc:
                log.info("ComfyUI websocket closed (%s); polling /history instead", exc)
        return await self._poll(run, deadline)

    async def _watch(self, ws: Any, run: Run, deadline: float) -> None:
        """Read events until our prompt's final ``executing`` (PROTOCOLS.md 10.5)."""
        from websockets.exceptions import ConnectionClosed

        started = False
        lost = 0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise self._timeout()
            try:
                frame = await asyncio.wait_for(ws.recv(), min(left, SILENCE))
            except TimeoutError:
                if time.monotonic() >= deadline:
                    raise self._timeout() from None
                # Quiet for a while: a proxy may be swallowing events; ask the history.
                if await self.provider.history(run.prompt_id) is not None:
                    run.finished = True
                    return
                lost = 0 if await self._queue_note(run) else lost + 1
                if lost >= LOST_AFTER:
                    raise self._lost() from None
                continue
            except ConnectionClosed as exc:
                raise _SocketLost(str(exc)) from None
            if isinstance(frame, bytes):
                continue  # previews
            try:
                event = json.loads(frame)
            except ValueError:
                continue
            if not isinstance(event, dict) or not isinstance(event.get("data"), dict):
                continue
            kind, data = event.get("type"), event["data"]
            pid = data.get("prompt_id")
            if kind == "status" and not started:
                info = data.get("status", {})
                left_in_queue = (
                    info.get("exec_info", {}).get("queue_remaining")
                    if isinstance(info, dict)
                    else None
                )
                if isinstance(left_in_queue, int) and left_in_queue > 1:
                    run.report(None, None, f"queued ({left_in_queue} in the queue)")
                continue
            if pid is not None and pid != run.prompt_id:
                continue
            if kind == "execution_start":
                started = True
                run.report(None, None, "started")
            elif kind == "execution_cached":
                nodes = data.get("nodes")
                run.cached = [str(n) for n in nodes] if isinstance(nodes, list) else []
            elif kind == "progress":
                value, most = data.get("value"), data.get("max")
                if isinstance(value, int) and isinstance(most, int) and most > 0:
                    started = True
                    run.report(value, most)
            elif kind == "progress_state":
                nodes = data.get("nodes")
                for state in nodes.values() if isinstance(nodes, dict) else []:
                    if isinstance(state, dict) and state.get("state") == "running":
                        value, most = state.get("value"), state.get("max")
                        if isinstance(value, int | float) and isinstance(most, int | float):
                            if most > 1:
                                run.report(int(value), int(most))
            elif kind == "executed":
                output = data.get("output")
                if isinstance(output, dict):
                    run.outputs[str(data.get("node"))] = output
            elif kind == "execution_error":
                raise execution_error(data)
            elif kind == "execution_interrupted":
                raise interrupted()
            elif kind == "executing" and data.get("node") is None and pid == run.prompt_id:
                run.finished = True
                return

    async def _poll(self, run: Run, deadline: float) -> dict[str, Any]:
        """``GET /history/{id}`` until the entry is complete (also right after the websocket
        said "done": the server writes the history just before that message)."""
        p = self.provider
        pause = 0.05 if run.finished else p.conf.poll_interval
        lost = 0
        while True:
            entry = await p.history(run.prompt_id)
            if entry is not None:
                raw = entry.get("status")
                status: dict[str, Any] = raw if isinstance(raw, dict) else {}
                if status.get("status_str") == "error":
                    for message in status.get("messages") or []:
                        if isinstance(message, list) and len(message) == 2:
                            what, data = message
                            if what == "execution_error" and isinstance(data, dict):
                                raise execution_error(data)
                            if what == "execution_interrupted":
                                raise interrupted()
                    raise ProviderError(
                        "server", "ComfyUI reports the run failed", hint="see its console"
                    )
                if status.get("completed", True) or entry.get("outputs"):
                    return entry
            elif not run.finished:
                lost = 0 if await self._queue_note(run) else lost + 1
                if lost >= LOST_AFTER:
                    raise self._lost()
            left = deadline - time.monotonic()
            if left <= 0:
                raise self._timeout()
            await asyncio.sleep(min(pause, left))
            pause = p.conf.poll_interval if run.finished else pause

    async def _queue_note(self, run: Run) -> bool:
        """Polling has no step counter; ``/queue`` at least says queued or running. False
        when the prompt is in neither list (it may just have finished: the caller asks the
        history again before giving up)."""
        try:
            queue = (await self.provider.call("GET", "/queue", retry=False)).json()
        except ProviderError:
            return True
        if not isinstance(queue, dict):
            return True
        running = [i for i in queue.get("queue_running") or [] if _item(i)]
        pending = [i for i in queue.get("queue_pending") or [] if _item(i)]
        if any(len(i) > 1 and i[1] == run.prompt_id for i in running):
            run.report(None, None, "running")
            return True
        ours = next((i for i in pending if len(i) > 1 and i[1] == run.prompt_id), None)
        if ours is None:
            return False
        # The pending list is ComfyUI's heap, not in order: count who comes first.
        ahead = len(running) + sum(1 for i in pending if i[0] < ours[0])
        run.report(None, None, f"queued ({ahead} ahead)")
        return True

    @staticmethod
    def _lost() -> ProviderError:
        return ProviderError(
            "server",
            "ComfyUI no longer knows the prompt (neither queued, running nor done)",
            hint="it may have restarted or its queue was cleared; resume to draw again",
        )

    def _timeout(self) -> ProviderError:
        return ProviderError(
            "timeout",
            f"ComfyUI did not finish within {self.provider.conf.job_timeout:g} s",
            hint="the queue may be long or the workflow slow; raise job_timeout under "
            "[providers.comfyui]",
        )

    def _pick_image(self, graph: Mapping[str, Any], outputs: Any) -> Mapping[str, Any]:
        """The first image of the configured output node, else of a SaveImage, else any."""
        if not isinstance(outputs, dict):
            outputs = {}
        flow = self.provider.conf.workflows.get(str(self.model.options.get("workflow", "")))
        order = [flow.output_node] if flow is not None and flow.output_node else []
        order += [k for k, n in graph.items() if n.get("class_type") == "SaveImage"]
        order += [str(k) for k in outputs]
        for node in order:
            out = outputs.get(node)
            images = out.get("images") if isinstance(out, dict) else None
            for image in images if isinstance(images, list) else []:
                if isinstance(image, dict) and isinstance(image.get("filename"), str):
                    return image
        raise ProviderError(
            "bad_response",
            "ComfyUI finished without an image",
            hint="the workflow needs a SaveImage (or PreviewImage) node fed by the decoder",
        )


def _item(entry: Any) -> bool:
    """A ``/queue`` entry: ``[number, prompt_id, prompt, extra_data, outputs]``."""
    return isinstance(entry, list) and len(entry) > 1 and isinstance(entry[0], int | float)


class _SocketLost(Exception):
    pass


# -- the provider -------------------------------------------------------------------------------


class ComfyUIProvider(CatalogProvider):
    """A ComfyUI server: its checkpoints with the built-in workflow, plus named workflows."""

    name = NAME
    title = "ComfyUI"
    ACCEPTS_ANY_MODEL = frozenset({"drawer"})

    def __init__(self, ctx: ProviderContext) -> None:
        super().__init__(ctx)
        self.conf = ComfySettings.read(self.settings)
        self.base_url = self.conf.base_url
        key = ctx.get_key(NAME) or ""
        user = self.conf.username
        if not user and ":" in key:  # "user:password" stored whole
            user, key = key.split(":", 1)
        self.username, self._key = user, key
        headers: dict[str, str] = {}
        parts = urlsplit(self.base_url)
        if user and key:
            token = base64.b64encode(f"{user}:{key}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        elif key:
            headers["Authorization"] = f"Bearer {key}"
        elif parts.username is not None:  # http://user:pass@host, for the websocket too
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        self._ws_headers = dict(headers)
        self.http_settings = HttpSettings.from_settings(
            self.settings, base_url=self.base_url, read_timeout=60.0, max_retries=1
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
        avail = self.availability(model)
        if not avail.ok:
            raise avail.error()
        return ComfyDrawer(self, model)

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
        try:
            from websockets.asyncio.client import connect
        except ImportError:  # pragma: no cover - a dependency; polling still works
            return None
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


def provider(ctx: ProviderContext) -> ComfyUIProvider:
    """Entry point for the ``telestrations.providers`` group."""
    return ComfyUIProvider(ctx)
