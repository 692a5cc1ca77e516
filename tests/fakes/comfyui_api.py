"""A protocol-faithful fake of ComfyUI's server (PROTOCOLS.md 6.1 and 10) on 127.0.0.1.

Like the real server: ``POST /prompt`` validates the API-format graph node by node (unknown
class → ``invalid_prompt``; no output node → ``prompt_no_outputs``; a checkpoint, sampler or
scheduler not installed → ``value_not_in_list`` under ``prompt_outputs_failed_validation``;
links checked for target and type) and answers 400 with ``{error, node_errors}``. A worker
thread runs one prompt at a time and reports it over ``/ws?clientId=``: ``status`` with
``sid`` on connect, ``execution_start``, ``execution_cached``, ``executing``, ``progress`` and
``progress_state`` per sampler step, a custom node's own event, binary preview frames,
``executed``, ``execution_success``, the final ``executing`` with ``node: null``;
``execution_error`` for out-of-memory or an injected failure; ``execution_interrupted`` after
``/interrupt``. It writes ``/history`` before the final message, caches identical graphs and
serves the PNG through ``/view``. Every route also answers under ``/api``. Optional ``auth``
(a full ``Authorization`` value) guards every route, the websocket included, as a reverse
proxy would.
"""

from __future__ import annotations

import hashlib
import io
import json
import queue
import select
import struct
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from PIL import Image, ImageDraw
from websockets.http11 import Request as WsRequest
from websockets.server import ServerProtocol

from tests.fakes.server import FakeAPI, Reply, Request, json_reply

CHECKPOINTS = ("v1-5-pruned-emaonly.safetensors", "sdxl/sd_xl_base_1.0.safetensors")
SAMPLERS = ("euler", "euler_ancestral", "dpmpp_2m", "ddim")
SCHEDULERS = (
    "simple",
    "sgm_uniform",
    "karras",
    "exponential",
    "ddim_uniform",
    "beta",
    "normal",
    "linear_quadratic",
    "kl_optimal",
)

# class → (required inputs: name → type, output types)
NODES: dict[str, tuple[dict[str, str], list[str]]] = {
    "CheckpointLoaderSimple": ({"ckpt_name": "ckpt"}, ["MODEL", "CLIP", "VAE"]),
    "CLIPTextEncode": ({"text": "STRING", "clip": "CLIP"}, ["CONDITIONING"]),
    "EmptyLatentImage": (
        {"width": "INT", "height": "INT", "batch_size": "INT"},
        ["LATENT"],
    ),
    "KSampler": (
        {
            "model": "MODEL",
            "seed": "INT",
            "steps": "INT",
            "cfg": "FLOAT",
            "sampler_name": "sampler",
            "scheduler": "scheduler",
            "positive": "CONDITIONING",
            "negative": "CONDITIONING",
            "latent_image": "LATENT",
            "denoise": "FLOAT",
        },
        ["LATENT"],
    ),
    "VAEDecode": ({"samples": "LATENT", "vae": "VAE"}, ["IMAGE"]),
    "VAEEncode": ({"pixels": "IMAGE", "vae": "VAE"}, ["LATENT"]),
    "LoadImage": ({"image": "input_file"}, ["IMAGE", "MASK"]),
    "SaveImage": ({"images": "IMAGE", "filename_prefix": "STRING"}, []),
    "PreviewImage": ({"images": "IMAGE"}, []),
    "LoraLoader": (
        {
            "model": "MODEL",
            "clip": "CLIP",
            "lora_name": "STRING",
            "strength_model": "FLOAT",
            "strength_clip": "FLOAT",
        },
        ["MODEL", "CLIP"],
    ),
}
OUTPUT_NODES = ("SaveImage", "PreviewImage")
LIMITS = {"seed": (0, 2**64 - 1), "steps": (1, 10000), "width": (16, 16384), "height": (16, 16384)}


def _err(kind: str, message: str, details: str, name: str) -> dict[str, Any]:
    return {
        "type": kind,
        "message": message,
        "details": details,
        "extra_info": {"input_name": name},
    }


@dataclass
class Job:
    prompt_id: str
    number: int
    graph: dict[str, Any]
    client_id: str | None
    interrupted: bool = False


@dataclass
class FakeComfyUI(FakeAPI):
    checkpoints: tuple[str, ...] = CHECKPOINTS
    step_delay: float = 0.0
    websocket: bool = True
    """False: ``/ws`` is a 404, as behind a proxy that drops upgrades."""
    models_route: bool = True
    """False: no ``/models/checkpoints`` (404 with an empty body), only ``/object_info``."""
    v3_combo: bool = False
    """``/object_info`` describes the checkpoint list in the V3 ``["COMBO", {options}]`` shape."""
    auth: str | None = None
    max_pixels: int = 1024 * 1024
    """More pixels than this "runs out of GPU memory" in the sampler."""
    fail_node: str | None = None
    """Class whose execution raises (an execution_error with a traceback)."""
    previews: bool = True
    preview_bytes: int = 64
    """Size of each binary preview frame's image part (real ones are JPEGs of some KB)."""
    history: dict[str, Any] = field(default_factory=dict)
    files: dict[tuple[str, str, str], bytes] = field(default_factory=dict)
    interrupts: list[Any] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    ws_clients: list[str] = field(default_factory=list)
    ws_headers: list[dict[str, str]] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    """Every text event sent, as JSON, for assertions."""
    uploads: list[tuple[dict[str, str], str, str, bytes]] = field(default_factory=list)
    """Each ``/upload/image`` as (fields, file name, content type, bytes)."""

    def __post_init__(self) -> None:
        FakeAPI.__init__(self)
        self.pending: list[Job] = []
        self.running: Job | None = None
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.sockets: dict[str, list[queue.Queue[Any]]] = {}
        self.counter = 0
        self.number = 0
        self.cache: dict[str, dict[str, Any]] = {}
        self._stop = threading.Event()

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> FakeComfyUI:
        super().start()
        threading.Thread(target=self._worker, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.wake.set()
        super().stop()

    # -- websocket -------------------------------------------------------------------------
    def takeover(self, handler: BaseHTTPRequestHandler) -> bool:
        parts = urlsplit(handler.path)
        if parts.path not in ("/ws", "/api/ws") or not self.websocket:
            return False
        headers = dict(handler.headers)
        self.ws_headers.append(headers)
        if self.auth is not None and handler.headers.get("Authorization") != self.auth:
            handler.send_response(401)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return True
        client_id = parse_qs(parts.query).get("clientId", [""])[0] or uuid.uuid4().hex
        protocol = ServerProtocol()
        # http.server has read the request already: hand the same bytes to the protocol.
        lines = [f"GET {handler.path} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers.items()]
        protocol.receive_data(("\r\n".join(lines) + "\r\n\r\n").encode())
        (request,) = protocol.events_received()
        assert isinstance(request, WsRequest)
        response = protocol.accept(request)
        protocol.send_response(response)
        sock = handler.connection
        sock.sendall(b"".join(protocol.data_to_send()))
        if response.status_code != 101:
            handler.close_connection = True
            return True
        outbox: queue.Queue[Any] = queue.Queue()
        with self.lock:
            self.sockets.setdefault(client_id, []).append(outbox)
            self.ws_clients.append(client_id)
            remaining = len(self.pending) + (self.running is not None)
        outbox.put(
            {
                "type": "status",
                "data": {"status": {"exec_info": {"queue_remaining": remaining}}, "sid": client_id},
            }
        )
        try:
            self._pump(sock, protocol, outbox)
        finally:
            with self.lock:
                self.sockets[client_id].remove(outbox)
            handler.close_connection = True
        return True

    def _pump(self, sock: Any, protocol: ServerProtocol, outbox: queue.Queue[Any]) -> None:
        """Send queued events; read the client's frames (close, pings) until it goes."""
        while not self._stop.is_set():
            while True:
                try:
                    item = outbox.get_nowait()
                except queue.Empty:
                    break
                if isinstance(item, bytes):
                    protocol.send_binary(item)
                else:
                    protocol.send_text(json.dumps(item).encode())
            readable, _, _ = select.select([sock], [], [], 0.01)
            if readable:
                try:
                    data = sock.recv(65536)
                except OSError:
                    return
                if data:
                    protocol.receive_data(data)
                else:
                    protocol.receive_eof()
                protocol.events_received()
            out = protocol.data_to_send()
            try:
                for chunk in out:
                    if chunk:
                        sock.sendall(chunk)
            except OSError:
                return
            if protocol.close_expected() or b"" in out or protocol.state.name == "CLOSED":
                return

    def send(self, client_id: str | None, event: dict[str, Any] | bytes) -> None:
        """To one client (``client_id``) or, with None, to every socket (as ``status``)."""
        if isinstance(event, dict):
            self.sent.append(event)
        with self.lock:
            targets = (
                [q for qs in self.sockets.values() for q in qs]
                if client_id is None
                else list(self.sockets.get(client_id, []))
            )
        for q in targets:
            q.put(event)

    # -- HTTP ------------------------------------------------------------------------------
    def handle(self, req: Request) -> Reply:
        if self.auth is not None and req.header("Authorization") != self.auth:
            return Reply(401, "401: Unauthorized", {"WWW-Authenticate": 'Basic realm="comfy"'})
        path = req.path.removeprefix("/api") if req.path.startswith("/api/") else req.path
        if req.method == "GET" and path == "/system_stats":
            return json_reply(
                200,
                {
                    "system": {
                        "os": "posix",
                        "ram_total": 2**35,
                        "ram_free": 2**34,
                        "comfyui_version": "0.3.64",
                        "python_version": "3.12.3",
                        "pytorch_version": "2.8.0+cu128",
                        "embedded_python": False,
                        "argv": ["main.py"],
                    },
                    "devices": [
                        {
                            "name": "cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync",
                            "type": "cuda",
                            "index": 0,
                            "vram_total": 25386352640,
                            "vram_free": 24000000000,
                            "torch_vram_total": 0,
                            "torch_vram_free": 0,
                        }
                    ],
                },
            )
        if req.method == "GET" and path == "/models":
            return json_reply(200, ["checkpoints", "loras", "vae"] if self.models_route else [])
        if req.method == "GET" and path.startswith("/models/"):
            if path == "/models/checkpoints" and self.models_route:
                return json_reply(200, list(self.checkpoints))
            return Reply(404, b"")
        if req.method == "GET" and path.startswith("/object_info"):
            return self.object_info(path.removeprefix("/object_info").strip("/"))
        if req.method == "POST" and path == "/prompt":
            return self.prompt(req)
        if req.method == "GET" and path.startswith("/history/"):
            pid = path.removeprefix("/history/")
            with self.lock:
                entry = self.history.get(pid)
            return json_reply(200, {pid: entry} if entry is not None else {})
        if req.method == "GET" and path == "/queue":
            with self.lock:
                running = [self._queue_item(self.running)] if self.running else []
                pending = [self._queue_item(j) for j in self.pending]
            return json_reply(200, {"queue_running": running, "queue_pending": pending})
        if req.method == "POST" and path == "/queue":
            body = req.json or {}
            with self.lock:
                if body.get("clear"):
                    self.pending.clear()
                for pid in body.get("delete", []):
                    self.deleted.append(pid)
                    self.pending = [j for j in self.pending if j.prompt_id != pid]
            return Reply(200, b"")
        if req.method == "POST" and path == "/interrupt":
            body = req.json if req.body else None
            self.interrupts.append(body)
            pid = body.get("prompt_id") if isinstance(body, dict) else None
            with self.lock:
                if self.running is not None and pid in (None, self.running.prompt_id):
                    self.running.interrupted = True
            return Reply(200, b"")
        if req.method == "GET" and path == "/view":
            return self.view(req)
        if req.method == "POST" and path == "/upload/image":
            return self.upload(req)
        return Reply(404, b"404: Not Found", {"Content-Type": "text/plain"})

    def upload(self, req: Request) -> Reply:
        """server.py ``upload_image``: multipart ``image`` (+ ``type``, ``subfolder``,
        ``overwrite``); a name taken and no overwrite gets `` (1)`` added; answers
        ``{name, subfolder, type}``; no ``image`` part is a bare 400."""
        from tests.fakes.openai_api import parse_multipart

        parsed = parse_multipart(req.header("Content-Type") or "", req.body)
        if parsed is None:
            return Reply(400, b"")
        fields, files = parsed
        image = next((f for f in files if f[0] == "image"), None)
        if image is None:
            return Reply(400, b"")
        _, filename, mime, data = image
        kind = fields.get("type", "input")
        sub = fields.get("subfolder", "")
        name = filename
        if fields.get("overwrite", "").lower() not in ("true", "1"):
            n = 1
            while (kind, sub, name) in self.files:
                stem, dot, ext = filename.rpartition(".")
                name = f"{stem} ({n}){dot}{ext}"
                n += 1
        self.uploads.append((fields, filename, mime, data))
        self.files[(kind, sub, name)] = data
        return json_reply(200, {"name": name, "subfolder": sub, "type": kind})

    def _size_of(self, graph: dict[str, Any], latent_id: str) -> tuple[int, int]:
        """The latent's size: an empty latent's own, or the encoded picture's."""
        node = graph[latent_id]
        if node["class_type"] == "VAEEncode":
            loader = graph[str(node["inputs"]["pixels"][0])]["inputs"]["image"]
            sub, _, name = str(loader).rpartition("/")
            with Image.open(io.BytesIO(self.files[("input", sub, name)])) as im:
                return im.size
        return node["inputs"]["width"], node["inputs"]["height"]

    @staticmethod
    def _queue_item(job: Job) -> list[Any]:
        return [job.number, job.prompt_id, job.graph, {"client_id": job.client_id}, ["7"]]

    def object_info(self, cls: str) -> Reply:
        if cls != "CheckpointLoaderSimple":
            return json_reply(200, {})
        names = list(self.checkpoints)
        combo: list[Any] = (
            ["COMBO", {"options": names, "tooltip": "The checkpoint to load."}]
            if self.v3_combo
            else [names, {"tooltip": "The name of the checkpoint (model) to load."}]
        )
        return json_reply(
            200,
            {
                "CheckpointLoaderSimple": {
                    "input": {"required": {"ckpt_name": combo}},
                    "input_order": {"required": ["ckpt_name"]},
                    "output": ["MODEL", "CLIP", "VAE"],
                    "output_is_list": [False, False, False],
                    "output_name": ["MODEL", "CLIP", "VAE"],
                    "name": "CheckpointLoaderSimple",
                    "display_name": "Load Checkpoint",
                    "category": "loaders",
                    "output_node": False,
                }
            },
        )

    def view(self, req: Request) -> Reply:
        q = {k: v[0] for k, v in req.query.items()}
        name, sub, kind = q.get("filename", ""), q.get("subfolder", ""), q.get("type", "output")
        if not name or ".." in name or name.startswith("/") or ".." in sub:
            return Reply(400, b"")
        data = self.files.get((kind, sub, name))
        if data is None:
            return Reply(404, b"")
        return Reply(200, data, {"Content-Type": "image/png"})

    # -- validation (execution.py: validate_prompt / validate_inputs) -------------------------
    def prompt(self, req: Request) -> Reply:
        try:
            body = req.json
        except ValueError:
            return Reply(400, b"")
        if not isinstance(body, dict) or "prompt" not in body:
            return json_reply(
                400,
                {
                    "error": {
                        "type": "no_prompt",
                        "message": "No prompt provided",
                        "details": "No prompt provided",
                        "extra_info": {},
                    },
                    "node_errors": {},
                },
            )
        graph, client_id = body["prompt"], body.get("client_id")
        assert set(body) <= {"prompt", "client_id", "prompt_id", "extra_data", "front", "number"}
        assert client_id is None or isinstance(client_id, str)
        problem = self.validate(graph)
        if problem is not None:
            return json_reply(400, problem)
        with self.lock:
            self.number += 1
            job = Job(str(body.get("prompt_id") or uuid.uuid4()), self.number, graph, client_id)
            self.pending.append(job)
        self.send(None, self._status())
        self.wake.set()
        return json_reply(
            200, {"prompt_id": job.prompt_id, "number": job.number, "node_errors": {}}
        )

    def validate(self, graph: Any) -> dict[str, Any] | None:
        def top(kind: str, message: str, details: str = "") -> dict[str, Any]:
            return {
                "error": {"type": kind, "message": message, "details": details, "extra_info": {}},
                "node_errors": {},
            }

        if not isinstance(graph, dict):
            return top("invalid_prompt", "Prompt is not a dict")
        for nid, node in graph.items():
            if not isinstance(node, dict) or "class_type" not in node:
                return top(
                    "invalid_prompt",
                    "Cannot execute because a node is missing the class_type property.",
                    f"Node ID '#{nid}'",
                )
            if node["class_type"] not in NODES:
                return top(
                    "invalid_prompt",
                    f"Cannot execute because node {node['class_type']} does not exist.",
                    f"Node ID '#{nid}'",
                )
        outputs = [k for k, n in graph.items() if n["class_type"] in OUTPUT_NODES]
        if not outputs:
            return top("prompt_no_outputs", "Prompt has no outputs")
        node_errors: dict[str, Any] = {}
        for nid, node in graph.items():
            errors = self._validate_node(graph, node)
            if errors:
                node_errors[nid] = {
                    "errors": errors,
                    "dependent_outputs": outputs,
                    "class_type": node["class_type"],
                }
        if node_errors:
            return {
                "error": {
                    "type": "prompt_outputs_failed_validation",
                    "message": "Prompt outputs failed validation",
                    "details": "",
                    "extra_info": {},
                },
                "node_errors": node_errors,
            }
        return None

    def _validate_node(self, graph: dict[str, Any], node: dict[str, Any]) -> list[dict[str, Any]]:
        spec, _ = NODES[node["class_type"]]
        inputs = node.get("inputs", {})
        errors = []
        for name, kind in spec.items():
            if name not in inputs:
                errors.append(
                    _err("required_input_missing", "Required input is missing", name, name)
                )
                continue
            value = inputs[name]
            if isinstance(value, list):
                if len(value) != 2 or str(value[0]) not in graph:
                    errors.append(
                        _err(
                            "bad_linked_input",
                            "Bad linked input, must be a length-2 list of [node_id, slot_index]",
                            f"{name}, {value}",
                            name,
                        )
                    )
                    continue
                source = graph[str(value[0])]["class_type"]
                outs = NODES[source][1]
                if not isinstance(value[1], int) or value[1] >= len(outs) or outs[value[1]] != kind:
                    got = (
                        outs[value[1]]
                        if isinstance(value[1], int) and value[1] < len(outs)
                        else "?"
                    )
                    errors.append(
                        _err(
                            "return_type_mismatch",
                            "Return type mismatch between linked nodes",
                            f"{name}, received_type({got}) mismatch input_type({kind})",
                            name,
                        )
                    )
                continue
            inputs_list = [
                f"{sub}/{name}" if sub else name
                for (kind_, sub, name) in self.files
                if kind_ == "input"
            ]
            options = {
                "input_file": inputs_list,
                "ckpt": self.checkpoints,
                "sampler": SAMPLERS,
                "scheduler": SCHEDULERS,
            }.get(kind)
            if options is not None and value not in options:
                errors.append(
                    _err(
                        "value_not_in_list",
                        "Value not in list",
                        f"{name}: '{value}' not in {list(options)}",
                        name,
                    )
                )
            elif kind == "INT" and (not isinstance(value, int) or isinstance(value, bool)):
                errors.append(
                    _err(
                        "invalid_input_type",
                        "Failed to convert an input value to a INT value",
                        f"{name}, {value}",
                        name,
                    )
                )
            elif kind == "FLOAT" and not isinstance(value, int | float):
                errors.append(
                    _err(
                        "invalid_input_type",
                        "Failed to convert an input value to a FLOAT value",
                        f"{name}, {value}",
                        name,
                    )
                )
            elif kind == "STRING" and not isinstance(value, str):
                errors.append(
                    _err(
                        "invalid_input_type",
                        "Failed to convert an input value to a STRING value",
                        f"{name}, {value}",
                        name,
                    )
                )
            elif name in LIMITS and isinstance(value, int):
                low, high = LIMITS[name]
                if value < low:
                    errors.append(
                        _err(
                            "value_smaller_than_min",
                            f"Value {value} smaller than min of {low}",
                            f"{name}",
                            name,
                        )
                    )
                if value > high:
                    errors.append(
                        _err(
                            "value_bigger_than_max",
                            f"Value {value} bigger than max of {high}",
                            f"{name}",
                            name,
                        )
                    )
        return errors

    # -- execution (main.py prompt_worker, execution.py) -----------------------------------
    def _status(self) -> dict[str, Any]:
        with self.lock:
            remaining = len(self.pending) + (self.running is not None)
        return {"type": "status", "data": {"status": {"exec_info": {"queue_remaining": remaining}}}}

    def _worker(self) -> None:
        while not self._stop.is_set():
            with self.lock:
                job = self.pending.pop(0) if self.pending else None
                self.running = job
            if job is None:
                self.wake.wait(0.05)
                self.wake.clear()
                continue
            try:
                self._execute(job)
            finally:
                with self.lock:
                    self.running = None
                self.send(None, self._status())

    def _execute(self, job: Job) -> None:
        pid, cid, graph = job.prompt_id, job.client_id, job.graph
        messages: list[Any] = []

        def emit(kind: str, data: dict[str, Any]) -> None:
            if kind in (
                "execution_start",
                "execution_cached",
                "execution_success",
                "execution_error",
                "execution_interrupted",
            ):
                messages.append([kind, data])
            if cid is not None:  # without client_id most events reach nobody
                self.send(cid, {"type": kind, "data": data})

        now = lambda: int(time.time() * 1000)  # noqa: E731
        emit("execution_start", {"prompt_id": pid, "timestamp": now()})
        key = hashlib.sha256(json.dumps(graph, sort_keys=True).encode()).hexdigest()
        cached = self.cache.get(key)
        emit(
            "execution_cached",
            {"nodes": list(graph) if cached else [], "prompt_id": pid, "timestamp": now()},
        )
        outputs: dict[str, Any] = {}
        status = "success"
        if cached is not None:
            outputs = cached
        else:
            executed: list[str] = []
            for nid, node in graph.items():
                emit("executing", {"node": nid, "display_node": nid, "prompt_id": pid})
                failure = self._run_node(job, graph, nid, node, emit, outputs)
                if failure is not None:
                    kind, data = failure
                    emit(
                        kind,
                        {
                            "prompt_id": pid,
                            "node_id": nid,
                            "node_type": node["class_type"],
                            "executed": executed,
                            "timestamp": now(),
                            **data,
                        },
                    )
                    status = "error"
                    break
                executed.append(nid)
            if status == "success":
                self.cache[key] = outputs
        if status == "success":
            emit("execution_success", {"prompt_id": pid, "timestamp": now()})
        with self.lock:
            self.history[pid] = {
                "prompt": [job.number, pid, graph, {"client_id": cid}, list(outputs)],
                "outputs": outputs if status == "success" else {},
                "status": {
                    "status_str": status,
                    "completed": status == "success",
                    "messages": messages,
                },
                "meta": {k: {"node_id": k, "display_node": k} for k in outputs},
            }
        if cid is not None:
            self.send(cid, {"type": "executing", "data": {"node": None, "prompt_id": pid}})

    def _run_node(
        self,
        job: Job,
        graph: dict[str, Any],
        nid: str,
        node: dict[str, Any],
        emit: Any,
        outputs: dict[str, Any],
    ) -> tuple[str, dict[str, Any]] | None:
        cls, inputs = node["class_type"], node["inputs"]
        if cls == self.fail_node:
            return "execution_error", {
                "exception_message": "mat1 and mat2 shapes cannot be multiplied "
                "(77x2048 and 768x320)",
                "exception_type": "RuntimeError",
                "traceback": ['  File "/ComfyUI/execution.py", line 496, in execute\n'],
                "current_inputs": {},
                "current_outputs": {},
            }
        if cls == "KSampler":
            width, height = self._size_of(graph, str(inputs["latent_image"][0]))
            if width * height > self.max_pixels:
                return "execution_error", {
                    "exception_message": "Allocation on device 0 would exceed allowed memory.",
                    "exception_type": "torch.OutOfMemoryError",
                    "traceback": ["..."],
                    "current_inputs": {},
                    "current_outputs": {},
                }
            steps = inputs["steps"]
            for step in range(1, steps + 1):
                if job.interrupted:
                    return "execution_interrupted", {}
                time.sleep(self.step_delay)
                emit(
                    "progress",
                    {"value": step, "max": steps, "prompt_id": job.prompt_id, "node": nid},
                )
                emit(  # newer servers send both
                    "progress_state",
                    {
                        "prompt_id": job.prompt_id,
                        "nodes": {
                            nid: {
                                "value": step,
                                "max": steps,
                                "state": "running",
                                "node_id": nid,
                                "prompt_id": job.prompt_id,
                                "display_node_id": nid,
                                "parent_node_id": None,
                                "real_node_id": nid,
                            }
                        },
                    },
                )
                # A custom node's own event (e.g. a system monitor): clients ignore it.
                if job.client_id is not None:
                    self.send(job.client_id, {"type": "crystools.monitor", "data": {"cpu": 1.5}})
                if self.previews and job.client_id is not None and step % 5 == 0:
                    self.send(
                        job.client_id,
                        struct.pack(">II", 1, 1) + b"\xff\xd8\xff" + b"0" * self.preview_bytes,
                    )
            if job.interrupted:
                return "execution_interrupted", {}
        if cls in OUTPUT_NODES:
            width, height, text, seed = self._picture_of(graph)
            self.counter += 1
            temp = cls == "PreviewImage"
            prefix = "ComfyUI_temp_abcde" if temp else str(inputs.get("filename_prefix", "ComfyUI"))
            name = f"{prefix}_{self.counter:05d}_.png"
            kind = "temp" if temp else "output"
            self.files[(kind, "", name)] = self._png(width, height, text, seed)
            out = {"images": [{"filename": name, "subfolder": "", "type": kind}]}
            outputs[nid] = out
            emit(
                "executed",
                {"node": nid, "display_node": nid, "output": out, "prompt_id": job.prompt_id},
            )
        return None

    def _picture_of(self, graph: dict[str, Any]) -> tuple[int, int, str, int]:
        sampler = next(n for n in graph.values() if n["class_type"] == "KSampler")["inputs"]
        width, height = self._size_of(graph, str(sampler["latent_image"][0]))
        text = graph[str(sampler["positive"][0])]["inputs"].get("text", "")
        return width, height, str(text), int(sampler["seed"])

    @staticmethod
    def _png(width: int, height: int, text: str, seed: int) -> bytes:
        im = Image.new("RGB", (width, height), (250, 250, 245))
        shade = int(hashlib.sha256(f"{text}|{seed}".encode()).hexdigest()[:2], 16)
        ImageDraw.Draw(im).ellipse(
            (width // 4, height // 4, 3 * width // 4, 3 * height // 4), fill=(shade, 40, 90)
        )
        buf = io.BytesIO()
        im.save(buf, "PNG")
        return buf.getvalue()
