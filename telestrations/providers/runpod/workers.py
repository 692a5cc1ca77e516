"""RunPod workers as data: the constants, each worker's input schema and the presets."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from telestrations.providers.base import (
    ModelInfo,
)

log = logging.getLogger(__name__)


if TYPE_CHECKING:
    pass

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
