"""RunPod's varied job and output shapes (PROTOCOLS.md 4.2, 4.4–4.6, pitfalls 13–14)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from telestrations.providers.runpod import SCHEMAS, find_image, job_error, worker_message

URL = "https://bucket.example/img.png?X-Amz-Signature=abc"
DATA = "data:image/png;base64,iVBORw0KGgo="


@pytest.mark.parametrize(
    ("output", "value", "seed", "cost"),
    [
        ([{"image": URL, "seed": 42}], URL, 42, None),  # stable-diffusion-v2 / sd-*
        ({"image_url": URL}, URL, None, None),  # kandinsky, old sdxl
        ({"images": [DATA], "image_url": DATA, "seed": 7}, DATA, 7, None),  # sdxl, no bucket
        ({"images": [URL, DATA]}, URL, None, None),
        ({"image_url": URL, "cost": 0.0025}, URL, None, 0.0025),  # public endpoints
        (URL, URL, None, None),
        ([URL], URL, None, None),
        ({"images": [{"image": DATA, "seed": 3}]}, DATA, 3, None),
        ({"result": {"image_url": URL}}, URL, None, None),
    ],
)
def test_find_image_reads_every_output_shape(
    output: Any, value: str, seed: Any, cost: float | None
) -> None:
    ref = find_image(output)
    assert ref is not None
    assert (ref.value, ref.seed, ref.cost) == (value, seed, cost)


@pytest.mark.parametrize("output", [None, {}, [], {"images": []}, {"status": "ok"}, ""])
def test_find_image_none_when_there_is_no_image(output: Any) -> None:
    assert find_image(output) is None


def test_worker_message_unwraps_every_error_shape() -> None:
    encoded = json.dumps({"error_type": "ValueError", "error_message": "bad seed"})
    assert worker_message(encoded) == "ValueError: bad seed"
    assert worker_message("plain words") == "plain words"
    assert worker_message(["a is a required input.", "b too"]) == "a is a required input.; b too"
    assert worker_message({"message": "oops"}) == "oops"
    assert worker_message('"just a JSON string"') == '"just a JSON string"'


@pytest.mark.parametrize(
    ("job", "kind"),
    [
        (
            {"status": "FAILED", "error": "Invalid parameter: size format must be width*height"},
            "bad_request",
        ),
        ({"status": "FAILED", "error": "NSFW content detected"}, "refused"),
        ({"status": "FAILED", "error": "CUDA error: device-side assert"}, "server"),
        ({"status": "TIMED_OUT"}, "timeout"),
        ({"status": "CANCELLED"}, "server"),
    ],
)
def test_job_error_kinds(job: dict[str, Any], kind: str) -> None:
    assert job_error({"id": "j1", **job}).kind == kind


def test_job_error_redacts_secrets() -> None:
    err = job_error(
        {"status": "FAILED", "error": "auth failed for key rp-secret-1"}, ("rp-secret-1",)
    )
    assert "rp-secret-1" not in str(err)


def test_kandinsky_uses_h_and_w_and_star_sizes_use_an_asterisk() -> None:
    k = SCHEMAS["kandinsky-v2"].build("x", {"width": 1792, "height": 1024})
    assert (k["w"], k["h"]) == (1792, 1024) and "width" not in k
    q = SCHEMAS["qwen-image"].build("x", {"width": 1328, "height": 1328})
    assert q["size"] == "1328*1328"
    z = SCHEMAS["z-image-turbo"].build("x", {"width": 1300, "height": 700})
    assert z["size"] == "1280*720"
    sd = SCHEMAS["stable-diffusion-v2"].build("x", {"width": 1792, "height": 100})
    assert (sd["width"], sd["height"]) == (768, 128)
    override = SCHEMAS["flux-schnell"].build("x", {"input": {"num_inference_steps": 8}})
    assert override["num_inference_steps"] == 8
