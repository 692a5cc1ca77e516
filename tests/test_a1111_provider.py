"""The AUTOMATIC1111/Forge drawer against a protocol-faithful fake web UI on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import io
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from PIL import Image

from telestrations.providers.automatic1111 import (
    A1111Provider,
    info_extras,
    progress_of,
    provider,
)
from telestrations.providers.base import (
    Progress,
    ProviderContext,
    ProviderError,
    progress_reports,
)
from telestrations.providers.registry import Registry
from tests.fakes.a1111_api import CHECKPOINTS, FakeA1111
from tests.fakes.server import free_port, json_reply

TEXT = "Illustrate in black & white doodle style: a lighthouse at night"
PASSWORD = "hunter2-SECRET-pw"


@pytest.fixture
def fake() -> Iterator[FakeA1111]:
    api = FakeA1111().start()
    yield api  # type: ignore[misc]
    api.stop()


def make(url: str, settings: dict[str, Any] | None = None, key: str | None = None) -> A1111Provider:
    return provider(
        ProviderContext(
            settings={"base_url": url, **(settings or {})},
            get_key=lambda name: key if name == "automatic1111" else None,
        )
    )


@pytest.fixture
async def a1111(fake: FakeA1111) -> AsyncIterator[A1111Provider]:
    p = make(fake.url)
    yield p
    await p.aclose()


def bodies(fake: FakeA1111) -> list[Any]:
    return [r.json for r in fake.requests if r.path == "/sdapi/v1/txt2img"]


async def test_a_round_with_the_loaded_checkpoint(fake: FakeA1111, a1111: A1111Provider) -> None:
    model = a1111.model("default", "drawer")
    assert model is not None and model.id == "automatic1111:default"
    pic = await a1111.drawer(model).draw(TEXT)
    assert bodies(fake) == [
        {
            "prompt": TEXT,
            "negative_prompt": "",
            "steps": 20,
            "width": 512,
            "height": 512,
            "cfg_scale": 7.0,
            "sampler_name": "Euler a",
            "seed": -1,
            "batch_size": 1,
            "n_iter": 1,
        }
    ]
    assert (pic.format, pic.width, pic.height, pic.cost) == ("png", 512, 512, 0.0)
    with Image.open(io.BytesIO(pic.data)) as im:
        assert im.getpixel((256, 256)) != (240, 240, 230)  # the drawn rectangle
    assert pic.extras["seed"] == 1234567
    assert pic.extras["checkpoint"] == "v1-5-pruned-emaonly"
    assert (pic.extras["steps"], pic.extras["sampler_name"]) == (20, "Euler a")
    assert "Seed: 1234567" in pic.extras["infotext"]
    assert fake.requests[0].header("Authorization") is None


async def test_settings_then_model_options(fake: FakeA1111) -> None:
    settings = {
        "steps": 12,
        "width": 640,
        "negative_prompt": "blurry",
        "scheduler": "Karras",
        "models": [
            {
                "name": "fast",
                "kind": "drawer",
                "options": {"steps": 4, "seed": 42, "cfg_scale": 2, "checkpoint": "sd_xl_base_1.0"},
            }
        ],
    }
    p = make(fake.url, settings)
    await p.drawer(p.model("default", "drawer")).draw(TEXT)  # type: ignore[arg-type]
    pic = await p.drawer(p.model("fast", "drawer")).draw(TEXT)  # type: ignore[arg-type]
    first, second = bodies(fake)
    assert (first["steps"], first["width"], first["negative_prompt"]) == (12, 640, "blurry")
    assert first["scheduler"] == "Karras" and "override_settings" not in first
    assert (second["steps"], second["seed"], second["cfg_scale"], second["width"]) == (
        4,
        42,
        2,
        640,
    )
    assert second["override_settings"] == {"sd_model_checkpoint": "sd_xl_base_1.0"}
    assert pic.extras["seed"] == 42 and pic.extras["checkpoint"] == "sd_xl_base_1.0"
    assert (pic.width, pic.height) == (640, 512)
    await p.aclose()


async def test_discovery_and_checkpoint_switch(fake: FakeA1111, a1111: A1111Provider) -> None:
    found = await a1111.discover()
    assert [m.name for m in found] == [c.model_name for c in CHECKPOINTS]
    assert all(m.discovered and m.kind == "drawer" and m.price == 0.0 for m in found)
    assert found[1].options == {"checkpoint": CHECKPOINTS[1].title}
    assert "automatic1111:sd_xl_base_1.0" in [m.id for m in a1111.models()]
    model = a1111.model("sd_xl_base_1.0", "drawer")
    assert model is not None and model.discovered
    pic = await a1111.drawer(model).draw(TEXT)
    assert bodies(fake)[0]["override_settings"] == {"sd_model_checkpoint": CHECKPOINTS[1].title}
    assert pic.extras["checkpoint"] == "sd_xl_base_1.0"
    assert (await a1111.check(model)).ok


async def test_checkpoint_by_hand_and_silent_fallback(
    fake: FakeA1111, a1111: A1111Provider, caplog: pytest.LogCaptureFixture
) -> None:
    model = a1111.model("dreamshaper_8", "drawer")  # not installed, typed by hand
    assert model is not None and model.options["checkpoint"] == "dreamshaper_8"
    avail = await a1111.check(model)
    assert not avail.ok and avail.kind == "not_found"
    with caplog.at_level(logging.WARNING):
        pic = await a1111.drawer(model).draw(TEXT)
    assert pic.extras["checkpoint"] == "v1-5-pruned-emaonly"  # A1111 fell back silently
    assert pic.extras["checkpoint_requested"] == "dreamshaper_8"
    assert "instead of dreamshaper_8" in caplog.text


async def test_basic_auth() -> None:
    fake = FakeA1111(auth=("painter", PASSWORD)).start()
    try:
        p = make(fake.url, {"username": "painter"}, key=PASSWORD)
        pic = await p.drawer(p.model("default", "drawer")).draw(TEXT)  # type: ignore[arg-type]
        assert pic.format == "png"
        expected = "Basic " + base64.b64encode(f"painter:{PASSWORD}".encode()).decode()
        assert fake.requests[-1].header("Authorization") == expected
        await p.aclose()
        # The --api-auth "user:pass" form stored whole in the keys file works too.
        whole = make(fake.url, key=f"painter:{PASSWORD}")
        assert (await whole.check(whole.model("default", "drawer"))).ok  # type: ignore[arg-type]
        await whole.aclose()
        # No password stored: not available, with the way to fix it.
        nopw = make(fake.url, {"username": "painter"})
        avail = nopw.availability(nopw.model("default", "drawer"))  # type: ignore[arg-type]
        assert not avail.ok and avail.kind == "auth" and "keys set automatic1111" in avail.hint
        # No credentials at all, then a wrong password: 401 → auth, never retried.
        for p in (make(fake.url), make(fake.url, {"username": "painter"}, key="wrong-password")):
            before = len(fake.requests)
            with pytest.raises(ProviderError) as info:
                await p.drawer(p.model("default", "drawer")).draw(TEXT)  # type: ignore[arg-type]
            assert info.value.kind == "auth" and info.value.status == 401
            assert "keys set automatic1111" in info.value.hint
            assert len(fake.requests) == before + 1
            assert PASSWORD not in str(info.value)
            await p.aclose()
    finally:
        fake.stop()


async def test_unreachable() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    p = make(url, {"check_timeout": 1})
    avail = await p.check(p.model("default", "drawer"))  # type: ignore[arg-type]
    assert not avail.ok and avail.kind == "unreachable"
    assert avail.reason == f"AUTOMATIC1111 not reachable at {url}" and "--api" in avail.hint
    with pytest.raises(ProviderError) as info:
        await p.drawer(p.model("default", "drawer")).draw(TEXT)  # type: ignore[arg-type]
    assert info.value.kind == "unreachable" and "--api" in info.value.hint
    await p.aclose()


async def test_web_ui_without_api() -> None:
    fake = FakeA1111(api=False).start()
    try:
        p = make(fake.url)
        avail = await p.check(p.model("default", "drawer"))  # type: ignore[arg-type]
        assert not avail.ok and "without its API" in avail.reason and "--api" in avail.hint
        with pytest.raises(ProviderError) as info:
            await p.drawer(p.model("default", "drawer")).draw(TEXT)  # type: ignore[arg-type]
        assert info.value.kind == "unreachable" and info.value.status == 404
        await p.aclose()
    finally:
        fake.stop()


async def test_validation_error_422(fake: FakeA1111) -> None:
    settings = {"models": [{"name": "odd", "kind": "drawer", "options": {"steps": "twenty"}}]}
    p = make(fake.url, settings)
    with pytest.raises(ProviderError) as info:
        await p.drawer(p.model("odd", "drawer")).draw(TEXT)  # type: ignore[arg-type]
    err = info.value
    assert err.kind == "bad_request" and err.status == 422
    assert "steps: value is not a valid integer" in err.message
    assert len(bodies(fake)) == 1
    await p.aclose()


async def test_unknown_sampler(fake: FakeA1111) -> None:
    p = make(fake.url, {"sampler_name": "Euler b"})
    with pytest.raises(ProviderError) as info:
        await p.drawer(p.model("default", "drawer")).draw(TEXT)  # type: ignore[arg-type]
    assert info.value.kind == "bad_request" and "Sampler not found" in info.value.message
    assert "samplers" in info.value.hint
    await p.aclose()


async def test_out_of_memory(fake: FakeA1111) -> None:
    p = make(fake.url, {"width": 2048, "height": 2048})
    with pytest.raises(ProviderError) as info:
        await p.drawer(p.model("default", "drawer")).draw(TEXT)  # type: ignore[arg-type]
    err = info.value
    assert err.kind == "server" and "out of GPU memory" in err.message
    assert "CUDA out of memory" in err.message and "--medvram" in err.hint
    assert len(bodies(fake)) == 2  # one retry by default (local: a retry costs GPU minutes)
    await p.aclose()


async def test_no_image_in_answer(fake: FakeA1111, a1111: A1111Provider) -> None:
    fake.script.append(json_reply(200, {"images": [], "parameters": {}, "info": "{}"}))
    with pytest.raises(ProviderError) as info:
        await a1111.drawer(a1111.model("default", "drawer")).draw(TEXT)  # type: ignore[arg-type]
    assert info.value.kind == "bad_response"


def test_info_is_a_json_string() -> None:
    assert info_extras('{"seed": 5, "sd_model_name": "m"}') == {"seed": 5, "checkpoint": "m"}
    assert info_extras("not json") == {} and info_extras(None) == {}
    assert info_extras({"seed": 7}) == {"seed": 7}


def test_registered_as_builtin() -> None:
    registry = Registry.load(lambda name: ProviderContext())
    prov, model = registry.resolve("automatic1111:default", "drawer")
    assert prov.name == "automatic1111" and model.price == 0.0
    prov, model = registry.resolve("openai:gpt-image-1-mini", "drawer")
    assert prov.name == "openai" and model.price == 0.005


async def test_progress_is_polled_beside_txt2img() -> None:
    api = FakeA1111(step_delay=0.03).start()
    p = make(api.url, {"steps": 12, "progress_interval": 0.05})
    seen: list[Progress] = []
    try:
        with progress_reports(seen.append):
            pic = await p.drawer(p.model("default", "drawer")).draw(TEXT)  # type: ignore[arg-type]
        polls = [r for r in api.requests if r.path == "/sdapi/v1/progress"]
        assert polls and all(r.query["skip_current_image"] == ["true"] for r in polls)
        steps = [(s.done, s.total) for s in seen]
        assert steps and all(total == 12 and 0 <= done <= 12 for done, total in steps)
        assert [d for d, _ in steps] == sorted(d for d, _ in steps)  # it only advances
        assert pic.width == 512
        # The poller stopped with the call: a poll already on its way may still land (the
        # server reads it late on a busy machine), none is sent after it.
        await asyncio.sleep(0.2)
        count = len(api.requests)
        await asyncio.sleep(0.3)  # six polls' worth at this interval
        assert len(api.requests) == count
    finally:
        await p.aclose()
        api.stop()


def test_progress_answers_read_field_by_field() -> None:
    idle = {"progress": 0.0, "eta_relative": 0.0, "state": {"job_count": 0, "sampling_steps": 0}}
    assert progress_of(idle) is None
    running = {
        "progress": 0.35,
        "eta_relative": 6.4,
        "state": {"job_count": 1, "sampling_step": 7, "sampling_steps": 20},
    }
    assert progress_of(running) == (7, 20, "about 6 s left")
    forge = {"progress": 0.5, "eta_relative": 0.2, "state": {"job_count": 1}}
    assert progress_of(forge) == (None, None, "50 %")
    assert progress_of([]) is None
