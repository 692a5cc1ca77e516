"""The RunPod drawer against a protocol-faithful fake RunPod Serverless on 127.0.0.1."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest

from telestrations.providers.base import (
    Progress,
    ProviderContext,
    ProviderError,
    progress_reports,
)
from telestrations.providers.runpod import RunPodProvider
from tests.fakes.runpod_api import FakeBucket, FakeRunPod
from tests.fakes.server import Reply

KEY = "rp-test-key"
TEXT = "Illustrate in black & white doodle style: a cat riding a bicycle"
FAST = {"poll_interval": 0.01, "poll_max": 0.05}


@pytest.fixture
def fake() -> Iterator[FakeRunPod]:
    api = FakeRunPod(key=KEY).start()
    yield api
    api.stop()


def make(
    fake: FakeRunPod | None, settings: dict[str, Any] | None = None, key: str | None = KEY
) -> RunPodProvider:
    base = {"base_url": f"{fake.url}/v2"} if fake is not None else {}
    return RunPodProvider(
        ProviderContext(
            settings={**base, **FAST, **(settings or {})},
            get_key=lambda name: key if name == "runpod" else None,
        )
    )


@pytest.fixture
async def runpod(fake: FakeRunPod) -> Any:
    p = make(fake)
    yield p
    await p.aclose()


async def draw(p: RunPodProvider, name: str, text: str = TEXT) -> Any:
    model = p.model(name, "drawer")
    assert model is not None, name
    return await p.drawer(model).draw(text)


# -- every schema plays a draw --------------------------------------------------------------------

SD_INPUT = {"num_outputs": 1, "num_inference_steps": 50, "guidance_scale": 7.5}

CASES = [
    (
        "stable-diffusion-v2",
        {"prompt": TEXT, **SD_INPUT, "scheduler": "KLMS", "width": 512, "height": 512},
        (512, 512, "png"),
    ),
    (
        "sd-openjourney",
        {"prompt": TEXT, **SD_INPUT, "scheduler": "K-LMS", "width": 512, "height": 512},
        (512, 512, "png"),
    ),
    (
        "sd-anything-v4",
        {"prompt": TEXT, **SD_INPUT, "scheduler": "K-LMS", "width": 512, "height": 512},
        (512, 512, "png"),
    ),
    (
        "sdxl",
        {
            "prompt": TEXT,
            "num_inference_steps": 25,
            "refiner_inference_steps": 50,
            "guidance_scale": 7.5,
            "num_images": 1,
            "width": 1024,
            "height": 1024,
        },
        (1024, 1024, "png"),
    ),
    (
        "kandinsky-v2",
        {
            "prompt": TEXT,
            "num_steps": 100,
            "guidance_scale": 4,
            "num_images": 1,
            "seed": -1,
            "w": 768,
            "h": 768,
        },
        (768, 768, "png"),
    ),
    (
        "flux-1-schnell",
        {
            "prompt": TEXT,
            "num_inference_steps": 4,
            "guidance": 7.5,
            "seed": -1,
            "image_format": "jpeg",
            "width": 1024,
            "height": 1024,
        },
        (1024, 1024, "jpeg"),
    ),
    (
        "qwen-image",
        {
            "prompt": TEXT,
            "negative_prompt": "",
            "seed": -1,
            "enable_safety_checker": True,
            "size": "1024*1024",
        },
        (1024, 1024, "png"),
    ),
]


@pytest.mark.parametrize(("name", "expected_input", "shape"), CASES)
async def test_each_schema_draws_with_its_exact_input(
    fake: FakeRunPod,
    runpod: RunPodProvider,
    name: str,
    expected_input: dict[str, Any],
    shape: tuple[int, int, str],
) -> None:
    pic = await draw(runpod, name)
    assert fake.inputs() == [expected_input]
    (req,) = fake.calls("runsync")
    assert req.method == "POST"
    assert req.header("Authorization") == f"Bearer {KEY}"
    assert req.query == {"wait": ["90000"]}
    assert (pic.width, pic.height, pic.format) == shape
    assert pic.extras["job_id"].startswith("sync-")
    assert pic.extras["execution_ms"] == 3391
    assert pic.extras["delay_ms"] == 824


async def test_public_endpoint_cost_comes_from_the_output(
    fake: FakeRunPod, runpod: RunPodProvider
) -> None:
    flux = await draw(runpod, "flux-1-schnell")
    assert flux.cost == pytest.approx(1024 * 1024 / 1e6 * 0.0024)
    qwen = await draw(runpod, "qwen-image")
    assert qwen.cost == 0.02
    legacy = await draw(runpod, "sdxl")
    assert legacy.cost is None  # billed per GPU-second: unknown, never 0


async def test_sd_list_output_carries_the_seed_and_a_presigned_url(
    fake: FakeRunPod, runpod: RunPodProvider
) -> None:
    pic = await draw(runpod, "stable-diffusion-v2")
    assert pic.extras["seed"] == 1234567
    (download,) = [r for r in fake.requests if r.path.startswith("/bucket/")]
    assert "X-Amz-Signature" in download.query


async def test_sdxl_data_uri_output(fake: FakeRunPod, runpod: RunPodProvider) -> None:
    fake.sdxl_bucket = False
    pic = await draw(runpod, "sdxl")
    assert (pic.width, pic.height, pic.format) == (1024, 1024, "png")
    assert not [r for r in fake.requests if r.path.startswith("/bucket/")]


async def test_image_host_never_gets_the_key(fake: FakeRunPod, runpod: RunPodProvider) -> None:
    bucket = FakeBucket().start()
    fake.bucket = bucket
    try:
        await draw(runpod, "flux-1-schnell")
        (download,) = bucket.requests
        assert download.header("Authorization") is None
    finally:
        bucket.stop()


async def test_size_options_are_fitted_to_the_worker(fake: FakeRunPod) -> None:
    p = make(
        fake,
        {
            "models": [
                {
                    "name": "flux-1-schnell",
                    "kind": "drawer",
                    "options": {"width": 1000, "height": 700},
                },
                {
                    "name": "stable-diffusion-v2",
                    "kind": "drawer",
                    "options": {"width": 500, "height": 380},
                },
                {
                    "name": "qwen-image",
                    "kind": "drawer",
                    "options": {"width": 1328, "height": 1328},
                },
            ]
        },
    )
    try:
        flux = await draw(p, "flux-1-schnell")
        sd = await draw(p, "stable-diffusion-v2")
        await draw(p, "qwen-image")
        inputs = fake.inputs()
        assert (inputs[0]["width"], inputs[0]["height"]) == (1024, 704)
        assert (inputs[1]["width"], inputs[1]["height"]) == (512, 384)
        assert inputs[2]["size"] == "1328*1328"
        assert (flux.width, flux.height) == (1024, 704)
        assert flux.cost == pytest.approx(1024 * 704 / 1e6 * 0.0024)
        assert (sd.width, sd.height) == (512, 384)
    finally:
        await p.aclose()


async def test_own_deployment_from_config(fake: FakeRunPod) -> None:
    fake.endpoints["abc123xyz"] = "sdxl"
    p = make(
        fake,
        {
            "models": [
                {
                    "name": "my-sdxl",
                    "kind": "drawer",
                    "options": {
                        "endpoint": "abc123xyz",
                        "schema": "sdxl",
                        "input": {"negative_prompt": "colour", "num_inference_steps": 30},
                    },
                    "price": 0.003,
                }
            ]
        },
    )
    try:
        pic = await draw(p, "my-sdxl")
        assert fake.calls("runsync")[0].path == "/v2/abc123xyz/runsync"
        sent = fake.inputs()[0]
        assert sent["negative_prompt"] == "colour" and sent["num_inference_steps"] == 30
        assert pic.cost == 0.003
        assert pic.extras["endpoint"] == "abc123xyz"
    finally:
        await p.aclose()


# -- the job lifecycle ----------------------------------------------------------------------------


async def test_unfinished_runsync_is_polled_to_completion(fake: FakeRunPod) -> None:
    fake.plan = ["IN_QUEUE", "IN_PROGRESS", "IN_PROGRESS"]
    runpod = make(fake, {"poll_interval": 0.04, "poll_max": 1.0})
    try:
        pic = await draw(runpod, "sdxl")
    finally:
        await runpod.aclose()
    assert pic.width == 1024
    polls = fake.calls("status")
    assert len(polls) == 3
    job_id = pic.extras["job_id"]
    assert all(r.method == "GET" and r.path == f"/v2/sdxl/status/{job_id}" for r in polls)
    assert all(r.header("Authorization") == f"Bearer {KEY}" for r in polls)
    # The pauses grow by half each time: 0.04, 0.06, 0.09 s. A poll is sent only after its
    # pause, so each gap is at least that pause however slow the machine; a gap compared with
    # the gap before (which load can stretch by far more than 0.02 s) was not.
    gaps = [b.at - a.at for a, b in itertools.pairwise(polls)]
    assert gaps[0] >= 0.06 - 0.001 and gaps[1] >= 0.09 - 0.001, gaps


async def test_failed_job_with_a_json_encoded_error(
    fake: FakeRunPod, runpod: RunPodProvider
) -> None:
    fake.plan = ["IN_QUEUE"]
    fake.outcome = {
        "status": "FAILED",
        "error": json.dumps(
            {
                "error_type": "<class 'torch.OutOfMemoryError'>",
                "error_message": "CUDA out of memory. Tried to allocate 2.00 GiB",
                "error_traceback": "Traceback (most recent call last): ...",
                "hostname": "abc-123",
                "worker_id": "oqk7ao1uomckye",
                "runpod_version": "1.7.9",
            }
        ),
    }
    with pytest.raises(ProviderError) as err:
        await draw(runpod, "sdxl")
    assert err.value.kind == "server"
    assert "CUDA out of memory. Tried to allocate 2.00 GiB" in err.value.message
    assert "Traceback" not in err.value.message


async def test_failed_job_arriving_as_http_400(fake: FakeRunPod) -> None:
    p = make(
        fake,
        {
            "models": [
                {"name": "flux-1-schnell", "kind": "drawer", "options": {"input": {"width": 1000}}}
            ]
        },
    )
    try:
        with pytest.raises(ProviderError) as err:
            await draw(p, "flux-1-schnell")
        assert err.value.kind == "bad_request"
        assert err.value.status == 400
        assert "width must be divisible by 64" in err.value.message
        assert len(fake.calls("runsync")) == 1  # a 400 is not retried
    finally:
        await p.aclose()


async def test_legacy_validator_errors_arrive_as_a_list(fake: FakeRunPod) -> None:
    p = make(
        fake,
        {
            "models": [
                {"name": "kandinsky-v2", "kind": "drawer", "options": {"input": {"width": 512}}}
            ]
        },
    )
    try:
        with pytest.raises(ProviderError) as err:
            await draw(p, "kandinsky-v2")
        assert err.value.kind == "bad_request"
        assert "width is not a valid input option" in err.value.message
    finally:
        await p.aclose()


async def test_timed_out_job(fake: FakeRunPod, runpod: RunPodProvider) -> None:
    fake.plan = ["IN_QUEUE", "IN_PROGRESS"]
    fake.outcome = {"status": "TIMED_OUT"}
    with pytest.raises(ProviderError) as err:
        await draw(runpod, "sdxl")
    assert err.value.kind == "timeout"
    assert "execution timeout" in err.value.message


async def test_expired_job_is_not_found(fake: FakeRunPod, runpod: RunPodProvider) -> None:
    fake.plan = ["IN_QUEUE"]
    fake.expire_jobs = True
    with pytest.raises(ProviderError) as err:
        await draw(runpod, "sdxl")
    assert err.value.kind == "not_found"
    assert "no longer knows this job" in err.value.message


async def test_cancelled_draw_cancels_the_job(fake: FakeRunPod, runpod: RunPodProvider) -> None:
    fake.plan = ["IN_QUEUE"] * 10_000
    task = asyncio.create_task(draw(runpod, "sdxl"))
    for _ in range(500):
        if len(fake.calls("status")) >= 2:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (job_id,) = fake.jobs
    assert fake.cancelled == [job_id]
    (cancel,) = fake.calls("cancel")
    assert cancel.method == "POST" and cancel.path == f"/v2/sdxl/cancel/{job_id}"
    assert cancel.header("Authorization") == f"Bearer {KEY}"
    assert fake.jobs[job_id].status == "CANCELLED"


async def test_job_timeout_gives_up_and_cancels(fake: FakeRunPod) -> None:
    fake.plan = ["IN_QUEUE"] * 10_000
    p = make(fake, {"job_timeout": 0.3})
    try:
        with pytest.raises(ProviderError) as err:
            await draw(p, "sdxl")
        assert err.value.kind == "timeout"
        assert "IN_QUEUE" in err.value.message
        assert len(fake.cancelled) == 1
    finally:
        await p.aclose()


# -- auth, limits, endpoints ---------------------------------------------------------------------


async def test_wrong_key_is_auth_with_a_hint(fake: FakeRunPod) -> None:
    p = make(fake, key="rp-wrong-key-987")
    try:
        with pytest.raises(ProviderError) as err:
            await draw(p, "flux-1-schnell")
        assert err.value.kind == "auth"
        assert "telestrations keys set runpod" in err.value.hint
        assert "rp-wrong-key-987" not in str(err.value)
        assert len(fake.calls("runsync")) == 1
    finally:
        await p.aclose()


async def test_no_key_is_unavailable() -> None:
    p = make(None, key=None)
    try:
        model = p.model("flux-1-schnell", "drawer")
        assert model is not None
        avail = p.availability(model)
        assert (avail.ok, avail.kind, avail.reason) == (False, "auth", "no RunPod key")
        assert "RUNPOD_API_KEY" in avail.hint
        with pytest.raises(ProviderError) as err:
            p.drawer(model)
        assert err.value.kind == "auth"
    finally:
        await p.aclose()


async def test_429_then_success(fake: FakeRunPod, runpod: RunPodProvider) -> None:
    fake.script.append(Reply(429, "", {"Content-Type": "text/plain"}))
    pic = await draw(runpod, "z-image-turbo")
    assert pic.cost == 0.005
    assert len(fake.calls("runsync")) == 2


async def test_retired_legacy_endpoint_explains_itself(fake: FakeRunPod) -> None:
    del fake.endpoints["sd-anything-v4"]
    p = make(fake)
    try:
        model = p.model("sd-anything-v4", "drawer")
        assert model is not None and model.retired
        with pytest.raises(ProviderError) as err:
            await p.drawer(model).draw(TEXT)
        assert err.value.kind == "not_found"
        assert "sd-anything-v4" in err.value.message
        assert "your own deployment" in err.value.hint
    finally:
        await p.aclose()


async def test_unknown_schema_is_unavailable(fake: FakeRunPod) -> None:
    p = make(
        fake,
        {
            "models": [
                {"name": "x", "kind": "drawer", "options": {"endpoint": "e", "schema": "dalle"}}
            ]
        },
    )
    try:
        model = p.model("x", "drawer")
        assert model is not None
        avail = p.availability(model)
        assert not avail.ok and "dalle" in avail.reason
    finally:
        await p.aclose()


# -- the runpod-python local test server -------------------------------------------------------


@pytest.fixture
def local() -> Iterator[FakeRunPod]:
    api = FakeRunPod(local=True, local_worker="sdxl").start()
    yield api
    api.stop()


def local_provider(local: FakeRunPod, key: str | None) -> RunPodProvider:
    return make(
        None,
        {
            "models": [
                {"name": "dev", "kind": "drawer", "options": {"url": local.url, "schema": "sdxl"}}
            ]
        },
        key=key,
    )


async def test_local_test_server_needs_no_key_and_gets_none(local: FakeRunPod) -> None:
    for key in (None, KEY):
        p = local_provider(local, key)
        try:
            model = p.model("dev", "drawer")
            assert model is not None and p.availability(model).ok
            pic = await p.drawer(model).draw(TEXT)
            assert pic.extras["job_id"].startswith("test-")
        finally:
            await p.aclose()
    assert [r.path for r in local.requests if r.method == "POST"] == ["/runsync", "/runsync"]
    assert all(r.header("Authorization") is None for r in local.requests)


async def test_local_test_server_status_is_a_post(local: FakeRunPod) -> None:
    local.plan = ["IN_PROGRESS"]
    p = local_provider(local, None)
    try:
        model = p.model("dev", "drawer")
        assert model is not None
        pic = await p.drawer(model).draw(TEXT)
        (status,) = local.calls("status")
        assert status.method == "POST" and status.path == f"/status/{pic.extras['job_id']}"
    finally:
        await p.aclose()


async def test_local_test_server_has_no_cancel(local: FakeRunPod) -> None:
    # A handler that never finishes: runsync and every status poll answer IN_PROGRESS.
    for _ in range(10_000):
        local.script.append(Reply(200, {"id": "test-1", "status": "IN_PROGRESS"}, {}))
    p = local_provider(local, None)
    try:
        model = p.model("dev", "drawer")
        assert model is not None
        task = asyncio.create_task(p.drawer(model).draw(TEXT))
        for _ in range(500):
            if len(local.calls("status")) >= 2:
                break
            await asyncio.sleep(0.01)
        local.script.clear()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        (cancel,) = local.calls("cancel")
        assert cancel.path == "/cancel/test-1"  # 404 from FastAPI, ignored
    finally:
        await p.aclose()


async def test_legacy_preset_pointed_at_your_endpoint_is_not_retired(fake: FakeRunPod) -> None:
    fake.endpoints["my1endpoint"] = "kandinsky-v2"
    p = make(
        fake,
        {
            "models": [
                {"name": "kandinsky-v2", "kind": "drawer", "options": {"endpoint": "my1endpoint"}}
            ]
        },
    )
    try:
        model = p.model("kandinsky-v2", "drawer")
        assert model is not None
        assert (model.retired, model.note) == ("", "your own deployment")
        assert model.options["schema"] == "kandinsky-v2"
        pic = await p.drawer(model).draw(TEXT)
        assert (pic.width, pic.height) == (768, 768)
        assert fake.calls("runsync")[0].path == "/v2/my1endpoint/runsync"
        untouched = p.model("sdxl", "drawer")
        assert untouched is not None and untouched.retired
    finally:
        await p.aclose()


async def test_stop_during_runsync_cancels_the_job_once_its_id_arrives(
    fake: FakeRunPod, runpod: RunPodProvider
) -> None:
    fake.plan = ["IN_PROGRESS"] * 10_000
    fake.sync_hold = 1.5  # runsync is still holding the request when the stop comes
    task = asyncio.create_task(draw(runpod, "sdxl"))
    for _ in range(300):
        if fake.jobs:
            break
        await asyncio.sleep(0.01)
    t0 = asyncio.get_running_loop().time()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # the stop itself is immediate, not held until runsync answers (1.5 s): half of that
    # leaves a loaded machine room either side (0.3 s against 0.6 s did not)
    assert asyncio.get_running_loop().time() - t0 < 0.75
    (job_id,) = fake.jobs
    for _ in range(300):
        if fake.cancelled:
            break
        await asyncio.sleep(0.01)
    assert fake.cancelled == [job_id] and fake.jobs[job_id].status == "CANCELLED"
    assert fake.calls("status") == []  # no polling after the stop


async def test_status_polls_report_progress(fake: FakeRunPod, runpod: RunPodProvider) -> None:
    fake.plan = ["IN_QUEUE", "IN_PROGRESS", "IN_PROGRESS"]
    fake.progress_updates.append("denoising \x1b[31mstep 3 of 20")  # the worker's progress_update
    seen: list[Progress] = []
    with progress_reports(seen.append):
        await draw(runpod, "sdxl")
    assert [(s.done, s.total) for s in seen] == [(None, None)] * 3
    assert [s.note for s in seen] == [
        "in the queue, waiting for a worker",
        "running on a worker (queued 2 s): denoising step 3 of 20",  # no escape code
        "running on a worker (queued 2 s)",
    ]
