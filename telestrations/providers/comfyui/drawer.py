"""One ComfyUI draw: queue the graph, follow it (websocket, else ``/history``), fetch the image."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeGuard

from telestrations.providers.base import ModelInfo, Picture, ProviderError, report_progress
from telestrations.providers.comfyui.errors import execution_error, interrupted, prompt_error
from telestrations.providers.comfyui.workflow import (
    default_workflow,
    from_picture,
    load_workflow,
    patch_workflow,
)
from telestrations.providers.http import Form, picture_from_bytes
from telestrations.text import redact

if TYPE_CHECKING:
    from telestrations.providers.comfyui import ComfyUIProvider

log = logging.getLogger(__name__)

LOST_AFTER = 3
"""Polls in a row that find the prompt nowhere (queue or history) before giving up."""
SILENCE = 10.0
"""Seconds without a websocket event after which ``/history`` is asked whether it is done."""


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
            async with self.provider.http.deadline("draw", self.provider.name):
                return await self._draw(text)
        except ProviderError as exc:  # text from the server: no secret leaves in it
            exc.message = redact(exc.message, self.provider.http.secrets)
            exc.args = (exc.message,)
            raise

    def reference_unsupported(self) -> str:
        """The built-in workflow can start from a picture; a user's workflow is run as is."""
        if self.model.options.get("workflow"):
            return "a custom ComfyUI workflow takes no picture (the built-in one does)"
        return ""

    async def draw_from(self, text: str, reference: Picture) -> Picture:
        """Memory play: upload the previous picture (``/upload/image``, multipart), then run
        the built-in graph with ``LoadImage`` → ``VAEEncode`` as its latent."""
        if self.reference_unsupported():
            raise ProviderError("bad_request", self.reference_unsupported())
        try:
            async with self.provider.http.deadline("draw", self.provider.name):
                name = await self._upload(reference)
                return await self._draw(text, reference=name)
        except ProviderError as exc:
            exc.message = redact(exc.message, self.provider.http.secrets)
            exc.args = (exc.message,)
            raise

    async def _upload(self, picture: Picture) -> str:
        """The picture in ComfyUI's input folder; the name LoadImage knows it by."""
        file = f"telestrations-{uuid.uuid4().hex[:12]}{picture.suffix}"
        form = Form(
            {"type": "input", "overwrite": "true"},
            [("image", (file, picture.data, f"image/{picture.format}"))],
        )
        answer = (await self.provider.call("POST", "/upload/image", form=form)).json()
        name = answer.get("name") if isinstance(answer, dict) else None
        if not isinstance(name, str) or not name:
            raise ProviderError("bad_response", "ComfyUI took the picture without naming it")
        sub = answer.get("subfolder")
        return f"{sub}/{name}" if isinstance(sub, str) and sub else name

    async def _draw(self, text: str, reference: str = "") -> Picture:
        p = self.provider
        graph, extras = await self.build(text)
        if reference:
            denoise = float(self._param("denoise"))
            graph = from_picture(graph, reference, denoise)
            extras.update(denoise=denoise, reference=reference)
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
                    async with asyncio.timeout(2.0):
                        await ws.close()
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
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for returns a frame that
                # arrives in the same loop pass as a stop's cancel, and the cancel is lost.
                async with asyncio.timeout(min(left, SILENCE)):
                    frame = await ws.recv()
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
                info = data.get("status")
                exec_info = info.get("exec_info") if isinstance(info, dict) else None
                left_in_queue = (
                    exec_info.get("queue_remaining") if isinstance(exec_info, dict) else None
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
                if _number(value) and _number(most) and most > 0:
                    started = True
                    run.report(int(value), int(most))
            elif kind == "progress_state":
                nodes = data.get("nodes")
                for state in nodes.values() if isinstance(nodes, dict) else []:
                    if isinstance(state, dict) and state.get("state") == "running":
                        value, most = state.get("value"), state.get("max")
                        if _number(value) and _number(most) and most > 1:
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


def _number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _item(entry: Any) -> bool:
    """A ``/queue`` entry: ``[number, prompt_id, prompt, extra_data, outputs]``."""
    return isinstance(entry, list) and len(entry) > 1 and isinstance(entry[0], int | float)


class _SocketLost(Exception):
    pass
