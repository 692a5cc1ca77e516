"""The ComfyUI drawer against a protocol-faithful fake ComfyUI (HTTP + websocket) on 127.0.0.1."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

import telestrations.providers.comfyui.drawer
from telestrations.game import Game, Limits, Settings, TurnProgress
from telestrations.keys import KeyRing, KeyStore
from telestrations.providers.base import Progress, ProviderContext, ProviderError, progress_reports
from telestrations.providers.comfyui import ComfyUIProvider, default_workflow, provider
from telestrations.providers.doodle import provider as doodle_provider
from telestrations.providers.registry import Registry, declared_keys, provider_specs
from telestrations.runtime import RegistryModels
from telestrations.store import GameDir, Store
from tests.fakes.comfyui_api import CHECKPOINTS, FakeComfyUI
from tests.fakes.server import Reply, Request, free_port, json_reply

TEXT = "Illustrate in black & white doodle style: a lighthouse at night"
CKPT = CHECKPOINTS[0]
TOKEN = "comfy-SECRET-token-123"


@pytest.fixture
def fake() -> Iterator[FakeComfyUI]:
    api = FakeComfyUI().start()
    yield api
    api.stop()


def make(url: str, settings: dict[str, Any] | None = None, key: str | None = None) -> Any:
    return provider(
        ProviderContext(
            settings={"base_url": url, "poll_interval": 0.02, **(settings or {})},
            get_key=lambda name: key if name == "comfyui" else None,
        )
    )


@pytest.fixture
async def comfy(fake: FakeComfyUI) -> AsyncIterator[ComfyUIProvider]:
    p = make(fake.url)
    yield p
    await p.aclose()


async def draw(p: ComfyUIProvider, name: str = CKPT, text: str = TEXT) -> Any:
    model = p.model(name, "drawer")
    assert model is not None
    return await p.drawer(model).draw(text)


def prompts(fake: FakeComfyUI) -> list[dict[str, Any]]:
    return [r.json for r in fake.requests if r.method == "POST" and r.path == "/prompt"]


# -- a round ----------------------------------------------------------------------------------


async def test_a_round_with_the_built_in_workflow(
    fake: FakeComfyUI, comfy: ComfyUIProvider
) -> None:
    seen: list[Progress] = []
    with progress_reports(seen.append):
        pic = await draw(comfy)
    (body,) = prompts(fake)
    assert set(body) == {"prompt", "client_id"}
    seed = pic.extras["seed"]
    expected = default_workflow(
        CKPT,
        {
            "negative_prompt": "",
            "width": 512,
            "height": 512,
            "steps": 20,
            "cfg": 7.0,
            "sampler_name": "euler",
            "scheduler": "normal",
            "filename_prefix": "telestrations",
        },
    )
    expected["2"]["inputs"]["text"] = TEXT
    expected["5"]["inputs"]["seed"] = seed
    assert body["prompt"] == expected
    # The websocket was opened for the same client id, before the prompt ran.
    assert fake.ws_clients == [body["client_id"]]
    assert (pic.format, pic.width, pic.height, pic.cost) == ("png", 512, 512, 0.0)
    with Image.open(io.BytesIO(pic.data)) as im:
        assert im.getpixel((256, 256)) != (250, 250, 245)  # the drawn disc
    assert pic.extras["checkpoint"] == CKPT and pic.extras["workflow"] == "default"
    assert isinstance(pic.extras["prompt_id"], str) and 0 <= seed < 2**32
    steps = [(p.done, p.total) for p in seen if p.done is not None]
    assert steps == [(k, 20) for k in range(1, 21)]  # binary preview frames were skipped
    pid = pic.extras["prompt_id"]
    assert [r.path for r in fake.requests] == ["/prompt", f"/history/{pid}", "/view"]  # + /ws
    views = [r for r in fake.requests if r.path == "/view"]
    assert len(views) == 1 and views[0].query["type"] == ["output"]
    assert views[0].query["filename"][0].startswith("telestrations_")


async def test_every_call_gets_a_fresh_seed_so_the_cache_never_answers(
    fake: FakeComfyUI, comfy: ComfyUIProvider
) -> None:
    first, second = await draw(comfy), await draw(comfy)
    assert first.extras["seed"] != second.extras["seed"]
    cached = [e["data"]["nodes"] for e in fake.sent if e["type"] == "execution_cached"]
    assert cached == [[], []]
    assert "cached_nodes" not in second.extras
    # The fake does cache: the same graph again is answered from it, without a step.
    body = prompts(fake)[0]
    async with httpx.AsyncClient() as client:
        pid = (await client.post(f"{fake.url}/prompt", json=body)).json()["prompt_id"]
        for _ in range(200):
            if pid in fake.history:
                break
            await asyncio.sleep(0.01)
    cached = [e["data"]["nodes"] for e in fake.sent if e["type"] == "execution_cached"]
    assert cached[2] == list(body["prompt"])


async def test_settings_and_model_options_reach_the_graph(fake: FakeComfyUI) -> None:
    settings = {
        "steps": 8,
        "cfg": 4.5,
        "sampler_name": "dpmpp_2m",
        "scheduler": "karras",
        "negative_prompt": "blurry, text",
        "width": 640,
        "models": [
            {
                "name": "xl",
                "kind": "drawer",
                "options": {"checkpoint": CHECKPOINTS[1], "width": 768, "height": 768},
            }
        ],
    }
    p = make(fake.url, settings)
    try:
        pic = await draw(p, "xl")
    finally:
        await p.aclose()
    graph = prompts(fake)[0]["prompt"]
    assert graph["1"]["inputs"]["ckpt_name"] == CHECKPOINTS[1]
    assert graph["3"]["inputs"]["text"] == "blurry, text"
    assert graph["4"]["inputs"] == {"width": 768, "height": 768, "batch_size": 1}
    ks = graph["5"]["inputs"]
    assert (ks["steps"], ks["cfg"], ks["sampler_name"], ks["scheduler"]) == (
        8,
        4.5,
        "dpmpp_2m",
        "karras",
    )
    assert (pic.width, pic.height) == (768, 768)


# -- discovery and checks ---------------------------------------------------------------------


async def test_discovery_lists_checkpoints(fake: FakeComfyUI, comfy: ComfyUIProvider) -> None:
    found = await comfy.discover()
    assert [m.id for m in found] == [f"comfyui:{c}" for c in CHECKPOINTS]
    assert all(m.discovered and m.kind == "drawer" and m.price == 0.0 for m in found)
    assert f"comfyui:{CHECKPOINTS[1]}" in [m.id for m in comfy.models()]
    assert [r.path for r in fake.requests] == ["/models/checkpoints"]


@pytest.mark.parametrize("v3", [False, True])
async def test_discovery_through_object_info_in_both_shapes(v3: bool) -> None:
    api = FakeComfyUI(models_route=False, v3_combo=v3).start()
    p = make(api.url)
    try:
        assert [m.name for m in await p.discover()] == list(CHECKPOINTS)
        assert [r.path for r in api.requests] == [
            "/models/checkpoints",
            "/object_info/CheckpointLoaderSimple",
        ]
    finally:
        await p.aclose()
        api.stop()


async def test_check_names_a_missing_checkpoint(fake: FakeComfyUI, comfy: ComfyUIProvider) -> None:
    ok = await comfy.check(comfy.model(CKPT, "drawer"))  # type: ignore[arg-type]
    assert ok.ok
    bad = await comfy.check(comfy.model("dreamshaper_8.safetensors", "drawer"))  # type: ignore[arg-type]
    assert not bad.ok and bad.kind == "not_found"
    assert "dreamshaper_8.safetensors" in bad.reason and CKPT in bad.reason
    assert "models/checkpoints" in bad.hint


async def test_not_running_is_unreachable_with_a_start_hint() -> None:
    p = make(f"http://127.0.0.1:{free_port()}")
    try:
        avail = await p.check(p.model(CKPT, "drawer"))
        assert not avail.ok and avail.kind == "unreachable"
        assert "ComfyUI not reachable" in avail.reason and "main.py" in avail.hint
        with pytest.raises(ProviderError) as err:
            await draw(p)
        assert err.value.kind == "unreachable"
    finally:
        await p.aclose()


# -- errors -----------------------------------------------------------------------------------


async def test_missing_checkpoint_at_draw_time(fake: FakeComfyUI, comfy: ComfyUIProvider) -> None:
    with pytest.raises(ProviderError) as err:
        await draw(comfy, "gone.safetensors")
    assert err.value.kind == "not_found"
    assert err.value.message == "ComfyUI has no checkpoint 'gone.safetensors'"
    assert "models/checkpoints" in err.value.hint
    assert len(prompts(fake)) == 1  # a 400 is not retried


async def test_a_bad_sampler_names_the_node(fake: FakeComfyUI) -> None:
    p = make(fake.url, {"sampler_name": "euler_b"})
    try:
        with pytest.raises(ProviderError) as err:
            await draw(p)
    finally:
        await p.aclose()
    e = err.value
    assert e.kind == "bad_request" and e.status == 400
    assert e.message.startswith("ComfyUI rejected node 5 (KSampler): Value not in list")
    assert "sampler_name: 'euler_b' not in" in e.message and "\n" not in e.message
    assert "/object_info" in e.hint


async def test_out_of_memory_is_one_line_with_a_hint(fake: FakeComfyUI) -> None:
    p = make(fake.url, {"width": 2048, "height": 2048})
    try:
        with pytest.raises(ProviderError) as err:
            await draw(p)
    finally:
        await p.aclose()
    assert err.value.kind == "server"
    assert err.value.message == "ComfyUI ran out of GPU memory in node 5 (KSampler)"
    assert "--lowvram" in err.value.hint


async def test_an_execution_error_without_its_traceback(fake: FakeComfyUI) -> None:
    fake.fail_node = "VAEDecode"
    p = make(fake.url)
    try:
        with pytest.raises(ProviderError) as err:
            await draw(p)
    finally:
        await p.aclose()
    message = err.value.message
    assert message.startswith("ComfyUI failed in node 6 (VAEDecode): RuntimeError: mat1 and mat2")
    assert "execution.py" not in message and "File" not in message


async def test_execution_error_read_from_history_when_polling() -> None:
    api = FakeComfyUI(websocket=False, fail_node="VAEDecode").start()
    p = make(api.url)
    try:
        with pytest.raises(ProviderError) as err:
            await draw(p)
        assert "node 6 (VAEDecode)" in err.value.message
    finally:
        await p.aclose()
        api.stop()


# -- without the websocket ---------------------------------------------------------------------


@pytest.mark.parametrize("how", ["server", "setting"])
async def test_polling_history_when_there_is_no_websocket(how: str) -> None:
    api = FakeComfyUI(websocket=how != "server", step_delay=0.01).start()
    p = make(api.url, {"websocket": how != "setting"})
    seen: list[Progress] = []
    try:
        with progress_reports(seen.append):
            pic = await draw(p)
    finally:
        await p.aclose()
        api.stop()
    assert pic.width == 512 and api.ws_clients == []
    assert sum(r.path.startswith("/history/") for r in api.requests) >= 2
    assert all(p.done is None for p in seen)  # no step counter without the websocket
    assert any(p.note in ("running", "queued (1 ahead)", "queued (0 ahead)") for p in seen)


# -- stopping ---------------------------------------------------------------------------------


async def wait_for_progress(seen: list[Progress], n: int = 1) -> None:
    for _ in range(500):
        if sum(p.done is not None for p in seen) >= n:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("no progress arrived")


async def test_a_stop_interrupts_the_run_and_drops_it_from_the_queue() -> None:
    api = FakeComfyUI(step_delay=0.05).start()
    p = make(api.url)
    seen: list[Progress] = []
    try:
        with progress_reports(seen.append):
            task = asyncio.ensure_future(draw(p))
            await wait_for_progress(seen, 2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        pid = None
        for _ in range(200):  # the server finishes the run as interrupted
            pid = next(iter(api.history), None)
            if pid:
                break
            await asyncio.sleep(0.01)
        assert api.interrupts == [{"prompt_id": pid}] and api.deleted == [pid]
        status = api.history[pid]["status"]
        assert status["status_str"] == "error"
        assert status["messages"][-1][0] == "execution_interrupted"
        assert len([s for s in seen if s.done is not None]) < 20
    finally:
        await p.aclose()
        api.stop()


async def test_a_stop_while_queueing_cancels_the_run_once_its_id_arrives(
    fake: FakeComfyUI,
) -> None:
    fake.step_delay = 0.05
    queued = threading.Event()

    def slow_queue(req: Request) -> Reply:
        queued.set()
        time.sleep(0.3)  # the answer (and with it the prompt id) is still on its way
        return fake.handle(req)

    p = make(fake.url)
    try:
        task = asyncio.ensure_future(draw(p))
        for _ in range(200):
            if fake.ws_clients:
                break
            await asyncio.sleep(0.01)
        fake.script.append(slow_queue)
        assert await asyncio.to_thread(queued.wait, 10)  # the prompt is being queued
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(300):
            if fake.interrupts and fake.deleted:
                break
            await asyncio.sleep(0.01)
        pid = next(iter(fake.history), None) or fake.interrupts[0]["prompt_id"]
        assert fake.interrupts == [{"prompt_id": pid}] and fake.deleted == [pid]
    finally:
        await p.aclose()


@pytest.mark.parametrize("websocket", [True, False])
async def test_a_prompt_the_server_forgot_is_an_error(
    fake: FakeComfyUI, websocket: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        telestrations.providers.comfyui.drawer, "SILENCE", 0.05
    )  # no event for that long: ask around
    fake.script.append(json_reply(200, {"prompt_id": "ghost", "number": 1, "node_errors": {}}))
    p = make(fake.url, {"websocket": websocket})
    try:
        with pytest.raises(ProviderError) as err:
            await draw(p)
    finally:
        await p.aclose()
    assert err.value.kind == "server" and "no longer knows the prompt" in err.value.message
    assert sum(r.path == "/queue" for r in fake.requests) == 3


async def test_interrupted_from_elsewhere_is_an_error(fake: FakeComfyUI) -> None:
    fake.step_delay = 0.05
    p = make(fake.url)
    seen: list[Progress] = []
    try:
        with progress_reports(seen.append):
            task = asyncio.ensure_future(draw(p))
            await wait_for_progress(seen)
        async with httpx.AsyncClient() as client:
            await client.post(f"{fake.url}/interrupt", content=b"")  # ComfyUI's own button
        with pytest.raises(ProviderError) as err:
            await task
        assert err.value.kind == "server" and "interrupted" in err.value.message
    finally:
        await p.aclose()


async def test_the_deadline_interrupts_the_run() -> None:
    api = FakeComfyUI(step_delay=0.1).start()
    p = make(api.url, {"job_timeout": 0.4})
    try:
        with pytest.raises(ProviderError) as err:
            await draw(p)
        assert err.value.kind == "timeout" and "job_timeout" in err.value.hint
        assert len(api.interrupts) == 1 and api.deleted
    finally:
        await p.aclose()
        api.stop()


# -- auth behind a proxy ------------------------------------------------------------------------


async def test_bearer_token_on_every_request_including_ws_and_view() -> None:
    api = FakeComfyUI(auth=f"Bearer {TOKEN}").start()
    p = make(api.url, key=TOKEN)
    try:
        pic = await draw(p)
        assert pic.width == 512
        assert all(r.header("Authorization") == f"Bearer {TOKEN}" for r in api.requests)
        assert api.ws_headers[0]["Authorization"] == f"Bearer {TOKEN}"
        assert {r.path for r in api.requests} >= {"/prompt", "/view"}
    finally:
        await p.aclose()
    q = make(api.url, key="wrong-SECRET-token")
    try:
        with pytest.raises(ProviderError) as err:
            await draw(q)
        assert err.value.kind == "auth" and "keys set comfyui" in err.value.hint
        assert "wrong-SECRET-token" not in str(err.value)
    finally:
        await q.aclose()
        api.stop()


async def test_basic_auth_with_a_username() -> None:
    import base64

    expected = "Basic " + base64.b64encode(f"ada:{TOKEN}".encode()).decode()
    api = FakeComfyUI(auth=expected).start()
    p = make(api.url, {"username": "ada"}, key=TOKEN)
    try:
        assert (await draw(p)).width == 512
        assert api.ws_headers[0]["Authorization"] == expected
        nokey = make(api.url, {"username": "ada"})
        avail = nokey.availability(nokey.model(CKPT, "drawer"))
        assert not avail.ok and avail.kind == "auth"
        in_url = make(api.url.replace("http://", f"http://ada:{TOKEN}@"))  # user:pass@host
        try:
            assert (await draw(in_url)).width == 512
            assert api.ws_headers[-1]["Authorization"] == expected
        finally:
            await in_url.aclose()
    finally:
        await p.aclose()
        api.stop()


# -- user workflows ---------------------------------------------------------------------------


def user_graph() -> dict[str, Any]:
    """A workflow as ComfyUI's Save (API Format) writes it: other ids, a LoRA in between."""
    return {
        "10": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": CHECKPOINTS[1]}},
        "11": {
            "class_type": "LoraLoader",
            "inputs": {
                "model": ["10", 0],
                "clip": ["10", 1],
                "lora_name": "doodle.safetensors",
                "strength_model": 0.8,
                "strength_clip": 0.8,
            },
        },
        "20": {"class_type": "CLIPTextEncode", "inputs": {"text": "ugly", "clip": ["11", 1]}},
        "21": {"class_type": "CLIPTextEncode", "inputs": {"text": "a cat", "clip": ["11", 1]}},
        "30": {
            "class_type": "EmptyLatentImage",
            "inputs": {"width": 256, "height": 384, "batch_size": 1},
        },
        "40": {
            "class_type": "KSampler",
            "inputs": {
                "model": ["11", 0],
                "positive": ["21", 0],
                "negative": ["20", 0],
                "latent_image": ["30", 0],
                "seed": 1,
                "steps": 6,
                "cfg": 5.0,
                "sampler_name": "euler_ancestral",
                "scheduler": "karras",
                "denoise": 1.0,
            },
        },
        "50": {"class_type": "VAEDecode", "inputs": {"samples": ["40", 0], "vae": ["10", 2]}},
        "60": {"class_type": "PreviewImage", "inputs": {"images": ["50", 0]}},
    }


async def test_user_workflow_found_by_class(fake: FakeComfyUI, tmp_path: Path) -> None:
    path = tmp_path / "doodle_api.json"
    path.write_text(json.dumps(user_graph()))
    p = make(
        fake.url,
        {
            "negative_prompt": "photo, colour",
            "workflows": {"doodle": {"file": str(path), "label": "Doodle LoRA"}},
        },
    )
    try:
        model = p.model("doodle", "drawer")
        assert model is not None and model.options == {"workflow": "doodle"}
        assert "comfyui:doodle" in [m.id for m in p.models()]
        assert (await p.check(model)).ok
        pic = await p.drawer(model).draw(TEXT)
    finally:
        await p.aclose()
    graph = prompts(fake)[0]["prompt"]
    original = user_graph()
    assert graph["21"]["inputs"]["text"] == TEXT  # linked to the sampler's positive
    assert graph["20"]["inputs"]["text"] == "photo, colour"  # ... and negative
    assert graph["40"]["inputs"]["seed"] == pic.extras["seed"] != 1
    assert graph["30"] == original["30"]  # size not configured for it: the file's own
    for node in ("10", "11", "50", "60"):
        assert graph[node] == original[node]
    assert (pic.width, pic.height) == (256, 384)
    assert pic.extras["workflow"] == "doodle" and pic.extras["prompt_node"] == "21"
    view = next(r for r in fake.requests if r.path == "/view")
    assert view.query["type"] == ["temp"]  # a PreviewImage output


async def test_user_workflow_with_named_nodes(fake: FakeComfyUI, tmp_path: Path) -> None:
    graph = user_graph()
    graph["40"]["inputs"]["positive"] = ["20", 0]  # names in config decide, not the links
    graph["40"]["inputs"]["negative"] = ["21", 0]
    path = tmp_path / "flow.json"
    path.write_text(json.dumps({"prompt": graph, "client_id": "x"}))  # a saved /prompt body
    flow = {"file": str(path), "prompt_node": "21", "seed_node": "40", "size_node": "30"}
    p = make(
        fake.url,
        {
            "workflows": {"named": flow},
            "models": [{"name": "named", "kind": "drawer", "options": {"width": 320}}],
        },
    )
    try:
        model = p.model("named", "drawer")
        assert model is not None and model.options["workflow"] == "named"
        pic = await p.drawer(model).draw(TEXT)
    finally:
        await p.aclose()
    sent = prompts(fake)[0]["prompt"]
    assert sent["21"]["inputs"]["text"] == TEXT and sent["20"]["inputs"]["text"] == "ugly"
    assert sent["30"]["inputs"]["width"] == 320
    assert (pic.width, pic.height) == (320, 512)


async def test_workflow_file_problems(fake: FakeComfyUI, tmp_path: Path) -> None:
    ui = tmp_path / "ui.json"
    ui.write_text(json.dumps({"last_node_id": 9, "nodes": [], "links": [], "version": 0.4}))
    unknown = tmp_path / "custom.json"
    graph = user_graph()
    graph["70"] = {"class_type": "IPAdapterApply", "inputs": {}}
    unknown.write_text(json.dumps(graph))
    flows = {
        "ui": {"file": str(ui)},
        "missing": {"file": str(tmp_path / "nope.json")},
        "custom": {"file": str(unknown)},
        "bad": {"file": str(unknown), "prompt_node": "99"},
    }
    p = make(fake.url, {"workflows": flows})
    try:
        errors = {}
        for name in flows:
            with pytest.raises(ProviderError) as err:
                await draw(p, name)
            errors[name] = err.value
        avail = await p.check(p.model("ui", "drawer"))  # type: ignore[arg-type]
    finally:
        await p.aclose()
    assert errors["ui"].kind == "bad_request" and "Save (API Format)" in errors["ui"].hint
    assert errors["missing"].kind == "not_found"
    assert errors["custom"].kind == "bad_request"
    assert "IPAdapterApply does not exist" in errors["custom"].message
    assert "custom node" in errors["custom"].hint
    assert "no node '99' (prompt_node)" in errors["bad"].message
    assert not avail.ok and "UI format" in avail.reason
    assert len(prompts(fake)) == 1  # only "custom" reached the server


def test_bad_settings_name_the_key(fake: FakeComfyUI) -> None:
    with pytest.raises(ValueError, match=r"\[providers\.comfyui\] steps must be a whole number"):
        make(fake.url, {"steps": "many"})
    with pytest.raises(
        ValueError, match=r"\[providers\.comfyui\] unknown key 'stpes'; did you mean 'steps'"
    ):
        make(fake.url, {"stpes": 20})
    with pytest.raises(ValueError, match=r"websocket must be true or false"):
        make(fake.url, {"websocket": "no"})
    with pytest.raises(ValueError, match=r"workflows\.x"):
        make(fake.url, {"workflows": {"x": {"file": "a.json", "prompt": "1"}}})


# -- the engine, the registry, the command ---------------------------------------------------


async def test_progress_reaches_the_engines_subscribers(fake: FakeComfyUI, tmp_path: Path) -> None:
    registry = Registry([make(fake.url), doodle_provider(ProviderContext())])
    game_dir = Store(tmp_path).new_game("a lighthouse", {})
    game = Game(
        game_dir,
        RegistryModels(registry),
        Settings(drawer=f"comfyui:{CKPT}", guesser="doodle:doodle"),
        Limits(rounds=1),
    )
    events: list[Any] = []
    game.subscribe(events.append)
    game.start()
    await game.wait()
    await registry.aclose()
    assert game.state == "stopped" and [r.ok for r in game.records] == [True, True]
    progress = [e for e in events if isinstance(e, TurnProgress)]
    assert progress and all(e.round == 1 and e.kind == "draw" for e in progress)
    assert progress[-1].progress.text == "step 20/20"
    assert progress[-1].model == f"comfyui:{CKPT}"
    assert game.records[0].extras["seed"] == prompts(fake)[0]["prompt"]["5"]["inputs"]["seed"]


def test_registered_as_a_builtin_with_its_key_variable() -> None:
    assert provider_specs()["comfyui"].build is ComfyUIProvider
    assert declared_keys()["comfyui"].env == "COMFYUI_API_KEY"
    ring = KeyRing(KeyStore(Path("/nonexistent/keys.json")), {"COMFYUI_API_KEY": "tok-123456"})
    assert ring.get("comfyui") == "tok-123456"
    registry = Registry.load(lambda name: ProviderContext())
    assert "comfyui" in registry.providers and not registry.failures
    _, model = registry.resolve(f"comfyui:{CKPT}", "drawer")
    assert model.options == {"checkpoint": CKPT}


def test_a_full_game_through_the_command(fake: FakeComfyUI, isolated_env: Path) -> None:
    isolated_env.mkdir(parents=True, exist_ok=True)
    (isolated_env / "config.toml").write_text(
        f'[providers.comfyui]\nbase_url = "{fake.url}"\nsteps = 5\n'
    )
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "telestrations",
            "run",
            "-v",
            "--rounds",
            "2",
            "--prompt",
            "a cat on a bicycle",
            "--drawer",
            f"comfyui:{CKPT}",
            "--guesser",
            "doodle:doodle",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
    )
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    draws = [r for r in lines if r.get("kind") == "draw"]
    assert len(draws) == 2 and all(r["status"] == "ok" for r in draws)
    assert draws[0]["extras"]["checkpoint"] == CKPT
    assert draws[0]["extras"]["seed"] != draws[1]["extras"]["seed"]
    assert lines[-1]["type"] == "end" and lines[-1]["rounds"] == 2
    game = GameDir.open(Path(lines[-1]["folder"]))
    assert [r.kind for r in game.records] == ["draw", "describe", "draw", "describe"]
    image = game.image_path(game.records[0].output).read_bytes()
    assert image == fake.files[("output", "", "telestrations_00001_.png")]
    assert "step 5/5" in out.stderr  # -v logs the progress
    texts = [b["prompt"]["2"]["inputs"]["text"] for b in prompts(fake)]
    assert texts[0] == "Illustrate in black & white doodle style: a cat on a bicycle"
    assert texts[1].endswith(lines[1]["output"])  # round 2 draws round 1's caption


async def test_the_status_line_shows_the_step(isolated_env: Path) -> None:
    from tests.test_tui_support import main_screen, make_app, make_runtime, wait_for

    api = FakeComfyUI(step_delay=0.05).start()
    registry = Registry([make(api.url), doodle_provider(ProviderContext())])
    runtime, _ = make_runtime(isolated_env, registry=registry)
    app = make_app(runtime, drawer=f"comfyui:{CKPT}", guesser="doodle:doodle")
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            m = main_screen(app)
            await pilot.press("enter")
            status = m.status_line

            def mid_draw() -> bool:
                return status.progress.startswith("step ") and status.progress != "step 20/20"

            await wait_for(pilot, mid_draw, 30.0)
            line = status.render_content().plain
            assert "drawing" in line and f"comfyui:{CKPT}" in line
            assert f"· {status.progress}" in line and "/20" in line
            assert m.game is not None
            m.game.stop()  # the draw in flight is cancelled: ComfyUI is told to interrupt
            await wait_for(pilot, lambda: not m.running, 30.0)
            assert "step " not in status.render_content().plain  # cleared with the turn
            await wait_for(pilot, lambda: bool(api.interrupts), 30.0)
    finally:
        await registry.aclose()
        api.stop()
