"""A protocol-faithful fake of RunPod Serverless (PROTOCOLS.md section 4).

Production shape: ``/v2/{endpoint}/runsync|run|status/{id}|cancel/{id}|health`` behind a Bearer
key (a wrong key gets 401 with an empty body). Each endpoint id maps to a worker schema that
validates its input like the real worker (legacy workers answer 200 + FAILED with a list of
validator errors; public endpoints answer HTTP 400 + FAILED) and shapes its output like the
real worker: a list of ``{image, seed}`` with presigned URLs, an ``{images, image_url, seed}``
object with URLs or data URIs, or ``{image_url, cost}``. Image URLs point at a bucket served by
this same fake (or a separate :class:`FakeBucket`, to check no key leaks to a foreign host).

Jobs follow a scripted state machine: ``api.plan = ["IN_QUEUE", "IN_PROGRESS"]`` makes the
next job come back unfinished from runsync and advance one state per status poll.

``local=True`` imitates the runpod-python test server (``--rp_serve_api``): routes at the
root, ``POST /status/{id}``, no ``/cancel`` or ``/health``, no auth, ``test-`` job ids. The real
test server always finishes runsync inline; here a non-empty ``plan`` makes runsync answer
``IN_PROGRESS`` (as ``/run`` does) so the ``POST /status`` path can be exercised too.
"""

from __future__ import annotations

import base64
import io
import json
import re
import threading
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any

from PIL import Image

from tests.fakes.server import FakeAPI, Reply, Request, json_reply

TERMINAL = ("COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT")
SD_SIZES = (128, 256, 384, 448, 512, 576, 640, 704, 768)


@dataclass(frozen=True)
class WorkerSpec:
    """What one worker accepts and how it answers."""

    fields: frozenset[str]
    output: str
    """``sd`` (list of {image, seed}), ``sdxl``, ``kandinsky`` or ``public``."""
    required: frozenset[str] = frozenset({"prompt"})
    public: bool = False
    price_per_mp: float | None = None
    price: float | None = None


_SD = {"prompt", "negative_prompt", "width", "height", "num_outputs", "num_inference_steps"}
_SD |= {"guidance_scale", "scheduler", "prompt_strength", "seed"}
_FLUX = {"prompt", "negative_prompt", "width", "height", "num_inference_steps", "guidance"}
_FLUX |= {"seed", "image_format"}
_STAR = {"prompt", "negative_prompt", "size", "seed", "enable_safety_checker"}

WORKERS: dict[str, WorkerSpec] = {
    "stable-diffusion-v2": WorkerSpec(frozenset(_SD), "sd"),
    "sd-openjourney": WorkerSpec(frozenset(_SD | {"init_image", "mask"}), "sd"),
    "sd-anything-v4": WorkerSpec(frozenset(_SD | {"init_image", "mask"}), "sd"),
    "sdxl": WorkerSpec(
        frozenset(
            {"prompt", "negative_prompt", "width", "height", "seed", "scheduler", "num_images"}
            | {"num_inference_steps", "refiner_inference_steps", "guidance_scale", "strength"}
            | {"image_url", "high_noise_frac"}
        ),
        "sdxl",
    ),
    "kandinsky-v2": WorkerSpec(
        frozenset(
            {"prompt", "negative_prompt", "negative_prior_prompt", "negative_decoder_prompt"}
            | {"num_steps", "guidance_scale", "h", "w", "sampler", "prior_cf_scale"}
            | {"prior_steps", "num_images", "batch_size", "seed", "init_image", "strength"}
        ),
        "kandinsky",
    ),
    "black-forest-labs-flux-1-schnell": WorkerSpec(
        frozenset(_FLUX), "public", public=True, price_per_mp=0.0024
    ),
    "black-forest-labs-flux-1-dev": WorkerSpec(
        frozenset(_FLUX), "public", public=True, price_per_mp=0.02
    ),
    "qwen-image-t2i": WorkerSpec(frozenset(_STAR), "public", public=True, price=0.02),
    "z-image-turbo": WorkerSpec(
        frozenset(_STAR | {"image", "strength", "output_format"}),
        "public",
        public=True,
        price=0.005,
    ),
}


def make_image(width: int, height: int, fmt: str = "PNG", seed: int = 0) -> bytes:
    """A real image of the requested size (capped, so tests stay fast)."""
    w, h = max(8, min(width, 2048)), max(8, min(height, 2048))
    im = Image.new("RGB", (w, h), ((seed * 53) % 256, 200, 90))
    buf = io.BytesIO()
    im.save(buf, fmt)
    return buf.getvalue()


@dataclass
class Job:
    id: str
    endpoint: str
    input: dict[str, Any]
    plan: deque[str]
    outcome: dict[str, Any]
    status: str = "IN_QUEUE"
    polls: int = 0


class FakeBucket(FakeAPI):
    """A stand-in for the S3 bucket / image CDN that serves generated images."""

    def __init__(self) -> None:
        super().__init__()
        self.objects: dict[str, tuple[bytes, str]] = {}

    def put(self, name: str, data: bytes, ctype: str) -> str:
        self.objects[name] = (data, ctype)
        return f"{self.url}/bucket/{name}?X-Amz-Expires=604800&X-Amz-Signature=abc123"

    def handle(self, req: Request) -> Reply:
        name = req.path.removeprefix("/bucket/")
        if req.method == "GET" and name in self.objects:
            data, ctype = self.objects[name]
            return Reply(200, data, {"Content-Type": ctype})
        return Reply(404, "<Error><Code>NoSuchKey</Code></Error>", {"Content-Type": "text/xml"})


class FakeRunPod(FakeAPI):
    """RunPod Serverless (or, with ``local=True``, the runpod-python local test server)."""

    def __init__(
        self,
        *,
        key: str = "rp-test-key",
        local: bool = False,
        local_worker: str = "sdxl",
        bucket: FakeBucket | None = None,
    ) -> None:
        super().__init__()
        self.key = key
        self.local = local
        self.local_worker = local_worker
        self.endpoints: dict[str, str] = {name: name for name in WORKERS}
        """Endpoint id → worker name; add your own deployments (``"abc123": "sdxl"``)."""
        self.jobs: dict[str, Job] = {}
        self.cancelled: list[str] = []
        self.plan: list[str] = []
        """States the next job reports before it finishes (consumed by the next job)."""
        self.outcome: dict[str, Any] | None = None
        """Next job's terminal state override, e.g. ``{"status": "FAILED", "error": "..."}``."""
        self.bucket = bucket
        self.sync_hold = 0.0
        """Seconds runsync keeps the request open before answering (inside its wait window)."""
        self.sdxl_bucket = True
        """False: sdxl answers with ``data:image/png;base64,...`` entries (no bucket configured)."""
        self.expire_jobs = False
        """True: status answers 404 "request does not exist" (the result was not retained)."""
        self.own_objects: dict[str, tuple[bytes, str]] = {}
        self.progress_updates: deque[Any] = deque()
        """What the worker's ``runpod.serverless.progress_update`` sent: each IN_PROGRESS status
        carries the next one as its ``output``, as the real status route does."""
        self._lock = threading.Lock()

    def inputs(self, op: str = "runsync") -> list[dict[str, Any]]:
        """The ``input`` objects sent to ``op`` so far, oldest first."""
        return [r.json["input"] for r in self.requests if r.path.endswith(f"/{op}")]

    def calls(self, op: str) -> list[Request]:
        """Requests whose path contains ``/{op}``, e.g. ``status`` or ``cancel``."""
        return [r for r in self.requests if f"/{op}" in r.path]

    # -- routing ---------------------------------------------------------------
    def handle(self, req: Request) -> Reply:
        if req.path.startswith("/bucket/"):
            data = self.own_objects.get(req.path.removeprefix("/bucket/"))
            if req.method == "GET" and data is not None:
                return Reply(200, data[0], {"Content-Type": data[1]})
            return Reply(404, "<Error><Code>NoSuchKey</Code></Error>", {"Content-Type": "text/xml"})
        if self.local:
            return self._local(req)
        m = re.fullmatch(
            r"/v2/([^/]+)/(runsync|run|status|cancel|health|stream)(?:/([^/]+))?", req.path
        )
        if m is None:
            return Reply(404, "404 page not found", {"Content-Type": "text/plain"})
        auth = req.header("Authorization") or ""
        if auth not in (f"Bearer {self.key}", self.key):
            return Reply(401, b"", {"Content-Type": "text/plain"})
        endpoint, op, job_id = m.groups()
        if endpoint not in self.endpoints:
            return Reply(404, "404 page not found", {"Content-Type": "text/plain"})
        if op in ("runsync", "run") and req.method == "POST" and job_id is None:
            return self._submit(req, endpoint, sync=op == "runsync")
        if op == "status" and req.method == "GET" and job_id:
            return self._status(endpoint, job_id)
        if op == "cancel" and req.method == "POST" and job_id:
            return self._cancel(endpoint, job_id)
        if op == "health" and req.method == "GET":
            return json_reply(
                200,
                {
                    "jobs": {"completed": 0, "failed": 0, "inProgress": 0, "inQueue": 0},
                    "workers": {"idle": 1, "running": 0},
                },
            )
        return Reply(405, "Method Not Allowed", {"Content-Type": "text/plain"})

    def _local(self, req: Request) -> Reply:
        """The FastAPI test server: no prefix, no auth, POST status, no cancel."""
        m = re.fullmatch(r"/(runsync|run|status|stream)(?:/([^/]+))?", req.path)
        if m is None:
            return json_reply(404, {"detail": "Not Found"})
        op, job_id = m.groups()
        if req.method != "POST":
            return json_reply(405, {"detail": "Method Not Allowed"})
        if op in ("runsync", "run") and job_id is None:
            return self._submit(req, "", sync=op == "runsync")
        if op == "status" and job_id:
            job = self.jobs.get(job_id)
            if job is None:
                return json_reply(
                    200, {"id": job_id, "status": "FAILED", "error": "Job ID not found"}
                )
            return json_reply(200, self._finish(job))
        return json_reply(404, {"detail": "Not Found"})

    # -- jobs ----------------------------------------------------------------------
    def _submit(self, req: Request, endpoint: str, *, sync: bool) -> Reply:
        try:
            body = json.loads(req.body or b"null")
        except ValueError:
            return json_reply(400, {"error": "invalid JSON body"})
        if not isinstance(body, dict) or not isinstance(body.get("input"), dict):
            return json_reply(400, {"error": "input is required"})
        worker = self.local_worker if self.local else self.endpoints[endpoint]
        spec = WORKERS[worker]
        prefix = "test-" if self.local else ("sync-" if sync else "")
        job_id = f"{prefix}{uuid.uuid4()}-u1"
        with self._lock:
            plan, self.plan = deque(self.plan), []
            outcome, self.outcome = self.outcome or {}, None
        job = Job(job_id, endpoint, body["input"], plan, outcome)
        self.jobs[job_id] = job
        problem = self._validate(spec, body["input"])
        if problem is not None:
            job.status = "FAILED"
            if spec.public:
                return json_reply(400, {"id": job_id, "status": "FAILED", "error": problem})
            job.outcome = {"status": "FAILED", "error": [problem]}
        if self.local:
            if not sync or job.plan:  # a plan stands in for a slow handler: finish on /status
                job.status = "IN_PROGRESS"
                return json_reply(200, {"id": job_id, "status": "IN_PROGRESS"})
            return json_reply(200, self._finish(job))
        if not sync:
            return json_reply(200, {"id": job_id, "status": "IN_QUEUE"})
        reply = json_reply(200, self._advance(job))
        reply.delay = self.sync_hold  # runsync holds the answer while the worker is busy
        return reply

    def _advance(self, job: Job) -> dict[str, Any]:
        """One step of the state machine: the next planned state, or the terminal one."""
        if job.status in TERMINAL:
            return self._terminal_body(job)
        if job.plan:
            job.status = job.plan.popleft()
            out: dict[str, Any] = {"id": job.id, "status": job.status}
            if job.status == "IN_PROGRESS":
                out |= {"delayTime": 2100, "workerId": "oqk7ao1uomckye"}
                if self.progress_updates:
                    out["output"] = self.progress_updates.popleft()
            return out
        return self._finish(job)

    def _status(self, endpoint: str, job_id: str) -> Reply:
        job = self.jobs.get(job_id)
        if job is None or job.endpoint != endpoint or self.expire_jobs:
            return json_reply(404, {"error": "request does not exist"})
        job.polls += 1
        return json_reply(200, self._advance(job))

    def _cancel(self, endpoint: str, job_id: str) -> Reply:
        job = self.jobs.get(job_id)
        if job is None or job.endpoint != endpoint:
            return json_reply(404, {"error": "request does not exist"})
        self.cancelled.append(job_id)
        if job.status not in TERMINAL:
            job.status = "CANCELLED"
        return json_reply(200, {"id": job_id, "status": job.status})

    def _finish(self, job: Job) -> dict[str, Any]:
        if job.status not in TERMINAL:
            job.status = str(job.outcome.get("status", "COMPLETED"))
        return self._terminal_body(job)

    def _terminal_body(self, job: Job) -> dict[str, Any]:
        base: dict[str, Any] = {"id": job.id, "status": job.status}
        if not self.local:
            base |= {"delayTime": 824, "executionTime": 3391, "workerId": "oqk7ao1uomckye"}
        if job.status == "COMPLETED":
            worker = self.local_worker if self.local else self.endpoints[job.endpoint]
            if "_output" not in job.outcome:
                job.outcome["_output"] = self._output(WORKERS[worker], job)
            return base | {"output": job.outcome["_output"]}
        if job.status == "FAILED":
            return base | {"error": job.outcome.get("error", "worker failed")}
        return base

    # -- workers ---------------------------------------------------------------------
    @staticmethod
    def _validate(spec: WorkerSpec, data: dict[str, Any]) -> str | None:
        for key in data:
            if key not in spec.fields:
                return f"Unexpected input. {key} is not a valid input option."
        for key in spec.required:
            if key not in data:
                return f"{key} is a required input."
        if spec.output == "sd":
            for key in ("width", "height"):
                if key in data and data[key] not in SD_SIZES:
                    return f"{key} does not meet the constraints."
        if "width" in spec.fields and spec.public:
            for key in ("width", "height"):
                value = data.get(key, 1024)
                if not isinstance(value, int) or value % 64:
                    return f"Invalid parameter: {key} must be divisible by 64"
                if not 256 <= value <= 1536:
                    return f"Invalid parameter: {key} must be between 256 and 1536"
        if "size" in spec.fields and not re.fullmatch(
            r"\d+\*\d+", str(data.get("size", "1024*1024"))
        ):
            return "Invalid parameter: size format must be width*height"
        return None

    def _store(self, name: str, data: bytes, ctype: str) -> str:
        if self.bucket is not None:
            return self.bucket.put(name, data, ctype)
        self.own_objects[name] = (data, ctype)
        return f"{self.url}/bucket/{name}?X-Amz-Expires=604800&X-Amz-Signature=abc123"

    def _output(self, spec: WorkerSpec, job: Job) -> Any:
        data = job.input
        seed = int(data.get("seed", -1))
        seed = 1234567 if seed < 0 else seed
        if spec.output == "kandinsky":
            w, h = int(data.get("w", 768)), int(data.get("h", 768))
        elif "size" in spec.fields:
            w, h = (int(v) for v in str(data.get("size", "1024*1024")).split("*"))
        else:
            default = 1024 if spec.output in ("sdxl", "public") else 512
            w, h = int(data.get("width", default)), int(data.get("height", default))
        fmt = str(data.get("image_format", data.get("output_format", "png"))).lower()
        pil_fmt, ctype, ext = (
            ("JPEG", "image/jpeg", "jpg") if fmt in ("jpg", "jpeg") else ("PNG", "image/png", "png")
        )
        image = make_image(w, h, pil_fmt, seed)
        name = f"{job.id}.{ext}"
        if spec.output == "sd":
            return [{"image": self._store(name, image, ctype), "seed": seed}]
        if spec.output == "sdxl":
            if self.sdxl_bucket:
                entry = self._store(name, image, ctype)
            else:
                entry = f"data:image/png;base64,{base64.b64encode(image).decode()}"
            return {"images": [entry], "image_url": entry, "seed": seed}
        if spec.output == "kandinsky":
            return {"image_url": self._store(name, image, ctype)}
        cost = (
            spec.price
            if spec.price is not None
            else round(w * h / 1e6 * (spec.price_per_mp or 0), 8)
        )
        return {"image_url": self._store(name, image, ctype), "cost": cost}
