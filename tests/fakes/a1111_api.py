"""A protocol-faithful fake of AUTOMATIC1111's web UI API (PROTOCOLS.md section 5).

Like the real server (FastAPI + pydantic v1): without ``--api`` every ``/sdapi`` route is a
404 ``{"detail": "Not Found"}``; with ``--api-auth`` a missing or wrong Basic header is a 401
with ``WWW-Authenticate: Basic``; fields are validated with pydantic's coercion (``"20"`` is
accepted as 20, ``"twenty"`` is a 422 with ``loc``/``msg``/``type``); unknown fields are
ignored; an unknown sampler is a 404 "Sampler not found"; an unknown checkpoint in
``override_settings`` silently falls back to the loaded one; too many pixels is a 500
``OutOfMemoryError`` in the ``{error, detail, body, errors}`` shape. Images are real PNGs of
the requested size, returned as bare base64 with ``info`` as a JSON string.
"""

from __future__ import annotations

import base64
import io
import json
import time
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageDraw

from tests.fakes.server import FakeAPI, Reply, Request, json_reply

SAMPLERS = ("Euler a", "Euler", "DPM++ 2M", "DPM++ SDE", "DDIM")


@dataclass(frozen=True)
class Checkpoint:
    title: str
    model_name: str
    hash: str

    def entry(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "model_name": self.model_name,
            "hash": self.hash,
            "sha256": self.hash * 6 + "0000",
            "filename": f"/sd/models/Stable-diffusion/{self.title.split(' [')[0]}",
            "config": None,
        }


CHECKPOINTS = (
    Checkpoint("v1-5-pruned-emaonly.safetensors [6ce0161689]", "v1-5-pruned-emaonly", "6ce0161689"),
    Checkpoint("sd_xl_base_1.0.safetensors [31e35c80fc]", "sd_xl_base_1.0", "31e35c80fc"),
)

# name → (pydantic type, default) for StableDiffusionProcessingTxt2Img (the fields we check).
FIELDS: dict[str, tuple[str, Any]] = {
    "prompt": ("str", ""),
    "negative_prompt": ("str", ""),
    "steps": ("int", 50),
    "width": ("int", 512),
    "height": ("int", 512),
    "cfg_scale": ("float", 7.0),
    "sampler_name": ("str", None),
    "scheduler": ("str", None),
    "seed": ("int", -1),
    "subseed": ("int", -1),
    "batch_size": ("int", 1),
    "n_iter": ("int", 1),
    "restore_faces": ("bool", None),
    "tiling": ("bool", None),
    "distilled_cfg_scale": ("float", 3.5),
    "override_settings": ("dict", {}),
    "send_images": ("bool", True),
    "save_images": ("bool", False),
}
# StableDiffusionImg2ImgProcessingAPI adds these (init_images: list of base64 / data URIs).
IMG2IMG_FIELDS: dict[str, tuple[str, Any]] = {
    "init_images": ("list", None),
    "denoising_strength": ("float", 0.75),
    "resize_mode": ("int", 0),
}
_ERRORS = {
    "int": ("value is not a valid integer", "type_error.integer"),
    "float": ("value is not a valid float", "type_error.float"),
    "str": ("str type expected", "type_error.str"),
    "bool": ("value could not be parsed to a boolean", "type_error.bool"),
    "dict": ("value is not a valid dict", "type_error.dict"),
    "list": ("value is not a valid list", "type_error.list"),
}


def coerce(kind: str, value: Any) -> Any:
    """Pydantic v1's lax coercion, or ValueError."""
    if value is None:
        return None
    if kind == "int":
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        raise ValueError
    if kind == "float":
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            return float(value)
        raise ValueError
    if kind == "str":
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return str(value)
        raise ValueError
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if value in (0, 1, "0", "1", "true", "false", "True", "False", "yes", "no"):
            return str(value).lower() in ("1", "true", "yes")
        raise ValueError
    if kind == "list":
        if isinstance(value, list):
            return value
        raise ValueError
    if isinstance(value, dict):
        return value
    raise ValueError


def unprocessable(loc: list[Any], kind: str) -> Reply:
    msg, type_ = _ERRORS[kind]
    return json_reply(422, {"detail": [{"loc": loc, "msg": msg, "type": type_}]})


@dataclass
class FakeA1111(FakeAPI):
    """The fake web UI. ``api=False`` is a web UI started without ``--api``."""

    api: bool = True
    auth: tuple[str, str] | None = None
    checkpoints: tuple[Checkpoint, ...] = CHECKPOINTS
    loaded: int = 0
    max_pixels: int = 1024 * 1024
    """More than this "runs out of GPU memory"."""
    next_seed: int = 1234567
    options_seen: list[dict[str, Any]] = field(default_factory=list)
    init_images_seen: list[bytes] = field(default_factory=list)
    """The decoded first ``init_images`` entry of each ``img2img`` call."""
    denoising_seen: list[float] = field(default_factory=list)
    step_delay: float = 0.0
    """Seconds per sampling step while ``txt2img`` runs (0: instant), so that
    ``/sdapi/v1/progress`` polled meanwhile sees the job advance."""

    def __post_init__(self) -> None:
        FakeAPI.__init__(self)
        self.job: dict[str, int] = {"job_count": 0, "sampling_step": 0, "sampling_steps": 0}

    def handle(self, req: Request) -> Reply:
        if req.path == "/" and req.method == "GET":
            return Reply(
                200, "<html><title>Stable Diffusion</title></html>", {"Content-Type": "text/html"}
            )
        if not self.api or not req.path.startswith("/sdapi/v1/"):
            return json_reply(404, {"detail": "Not Found"})
        if self.auth is not None:
            expected = "Basic " + base64.b64encode(":".join(self.auth).encode()).decode()
            if req.header("Authorization") != expected:
                return json_reply(
                    401,
                    {"detail": "Incorrect username or password"},
                    **{"WWW-Authenticate": "Basic"},
                )
        route = req.path.removeprefix("/sdapi/v1")
        if req.method == "GET" and route == "/sd-models":
            return json_reply(200, [c.entry() for c in self.checkpoints])
        if req.method == "GET" and route == "/samplers":
            return json_reply(200, [{"name": s, "aliases": [], "options": {}} for s in SAMPLERS])
        if req.method == "GET" and route == "/progress":
            return self.progress(req)
        if req.method == "GET" and route == "/options":
            return json_reply(200, {"sd_model_checkpoint": self.checkpoints[self.loaded].title})
        if req.method == "POST" and route == "/txt2img":
            return self.txt2img(req)
        if req.method == "POST" and route == "/img2img":
            return self.txt2img(req, img2img=True)
        if route in ("/sd-models", "/samplers", "/options", "/txt2img", "/img2img"):
            return json_reply(405, {"detail": "Method Not Allowed"})
        return json_reply(404, {"detail": "Not Found"})

    def _checkpoint(self, wanted: Any) -> Checkpoint:
        for c in self.checkpoints:
            if wanted in (c.title, c.model_name, c.hash, c.title.split(" [")[0]):
                return c
        return self.checkpoints[self.loaded]  # A1111 falls back to the loaded model

    def txt2img(self, req: Request, *, img2img: bool = False) -> Reply:
        try:
            raw = json.loads(req.body) if req.body else {}
        except ValueError as exc:
            return json_reply(
                422,
                {
                    "detail": [
                        {"loc": ["body", 0], "msg": str(exc), "type": "value_error.jsondecode"}
                    ]
                },
            )
        if not isinstance(raw, dict):
            return unprocessable(["body"], "dict")
        p: dict[str, Any] = {}
        fields = {**FIELDS, **IMG2IMG_FIELDS} if img2img else FIELDS
        for name, (kind, default) in fields.items():
            try:
                p[name] = coerce(kind, raw[name]) if name in raw else default
            except (ValueError, TypeError):
                return unprocessable(["body", name], kind)
        if img2img:  # modules/api/api.py img2imgapi: decode_base64_to_image each entry
            if p["init_images"] is None:
                return json_reply(404, {"detail": "Init image not found"})
            try:
                first = p["init_images"][0]
                data = base64.b64decode(first.split(",", 1)[-1], validate=True)
                Image.open(io.BytesIO(data)).verify()
            except Exception:
                return json_reply(
                    500, {"error": "HTTPException", "detail": "Invalid encoded image"}
                )
            self.init_images_seen.append(data)
            self.denoising_seen.append(p["denoising_strength"])
            p.pop("init_images")
        sampler = p["sampler_name"] or "Euler"
        if sampler not in SAMPLERS:
            return json_reply(404, {"detail": "Sampler not found"})
        if p["width"] * p["height"] > self.max_pixels:
            return json_reply(
                500,
                {
                    "error": "OutOfMemoryError",
                    "detail": "CUDA out of memory. Tried to allocate 20.00 GiB",
                    "body": "",
                    "errors": "",
                },
            )
        if self.step_delay:
            self.job.update(job_count=1, sampling_step=0, sampling_steps=p["steps"])
            for step in range(1, p["steps"] + 1):
                time.sleep(self.step_delay)
                self.job["sampling_step"] = step
            self.job.update(job_count=0, sampling_step=0, sampling_steps=0)
        checkpoint = self._checkpoint(p["override_settings"].get("sd_model_checkpoint"))
        self.options_seen.append(p["override_settings"])
        count = max(1, p["batch_size"]) * max(1, p["n_iter"])
        seed = p["seed"] if p["seed"] != -1 else self.next_seed
        self.next_seed += 1
        images = [self._image(p["prompt"], p["width"], p["height"], i) for i in range(count)]
        if count > 1:  # the grid comes first (return_grid)
            images.insert(0, self._image("grid", p["width"] * 2, p["height"], 0))
        infotext = (
            f"{p['prompt']}\nSteps: {p['steps']}, Sampler: {sampler}, CFG scale: "
            f"{p['cfg_scale']}, Seed: {seed}, Size: {p['width']}x{p['height']}, "
            f"Model hash: {checkpoint.hash}, Model: {checkpoint.model_name}"
        )
        info = {
            "prompt": p["prompt"],
            "negative_prompt": p["negative_prompt"],
            "seed": seed,
            "all_seeds": [seed + i for i in range(count)],
            "subseed": 987654,
            "width": p["width"],
            "height": p["height"],
            "sampler_name": sampler,
            "cfg_scale": p["cfg_scale"],
            "steps": p["steps"],
            "sd_model_name": checkpoint.model_name,
            "sd_model_hash": checkpoint.hash,
            "infotexts": [infotext] * count,
        }
        parameters = {k: v for k, v in p.items()}
        return json_reply(
            200,
            {
                "images": images if p["send_images"] else [],
                "parameters": parameters,
                "info": json.dumps(info),
            },
        )

    def progress(self, req: Request) -> Reply:
        """``ProgressResponse`` (modules/api/models.py): ``state`` is ``shared.state.dict()``."""
        job = dict(self.job)
        steps = job["sampling_steps"]
        fraction = job["sampling_step"] / steps if steps else 0.0
        skip = req.query.get("skip_current_image", ["false"])[0] == "true"
        return json_reply(
            200,
            {
                "progress": fraction,
                "eta_relative": (steps - job["sampling_step"]) * self.step_delay if steps else 0,
                "state": {
                    "skipped": False,
                    "interrupted": False,
                    "stopping_generation": False,
                    "job": "" if not job["job_count"] else "txt2img",
                    "job_count": job["job_count"],
                    "job_timestamp": "20261130171500",
                    "job_no": 0,
                    "sampling_step": job["sampling_step"],
                    "sampling_steps": steps,
                },
                "current_image": None if skip or not steps else "iVBORw0KGgo=",
                "textinfo": None,
                "current_task": None,
            },
        )

    @staticmethod
    def _image(prompt: str, width: int, height: int, index: int) -> str:
        im = Image.new("RGB", (width, height), (240, 240, 230))
        draw = ImageDraw.Draw(im)
        shade = (sum(prompt.encode()) + index * 40) % 200
        draw.rectangle(
            (width // 5, height // 5, 4 * width // 5, 4 * height // 5), fill=(shade, 90, 30)
        )
        buf = io.BytesIO()
        im.save(buf, "PNG")
        return base64.b64encode(buf.getvalue()).decode()
