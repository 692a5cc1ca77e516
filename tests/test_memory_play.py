"""Memory play: the drawer is given the previous picture, through the real httpx stack, to
loopback fakes of OpenAI ``/v1/images/edits`` (multipart, parsed field by field) and
AUTOMATIC1111 ``/sdapi/v1/img2img`` (JSON), and the journal says what happened per turn."""

from __future__ import annotations

import asyncio
import base64
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from telestrations import session
from telestrations.game import Limits, Settings
from telestrations.providers.base import Picture, ProviderContext, ReferenceDrawer
from telestrations.providers.openai import OpenAIProvider
from telestrations.providers.openai import provider as openai_spec
from telestrations.runtime import Runtime
from telestrations.store import GameDir
from tests.fakes.a1111_api import FakeA1111
from tests.fakes.openai_api import CHAT, DALLE, GPT_IMAGE, FakeOpenAI

KEY = "sk-fake-0123456789abcdefghij"


def png(color: str, size: tuple[int, int] = (64, 64)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def openai_fake() -> Iterator[FakeOpenAI]:
    api = FakeOpenAI(key=KEY, models=GPT_IMAGE + DALLE + CHAT).start()
    yield api  # type: ignore[misc]
    api.stop()


@pytest.fixture
def a1111_fake() -> Iterator[FakeA1111]:
    api = FakeA1111().start()
    yield api  # type: ignore[misc]
    api.stop()


def openai_provider(fake: FakeOpenAI) -> OpenAIProvider:
    ctx = ProviderContext(
        settings={"base_url": fake.url + "/v1", "compatible": False},
        get_key=lambda name: KEY if name == "openai" else None,
    )
    built = openai_spec(ctx)
    assert isinstance(built, OpenAIProvider)
    return built


async def test_gpt_image_edit_sends_the_previous_picture_as_multipart(
    openai_fake: FakeOpenAI,
) -> None:
    p = openai_provider(openai_fake)
    try:
        model = p.model("gpt-image-1", "drawer")
        assert model is not None
        drawer = p.drawer(model)
        assert isinstance(drawer, ReferenceDrawer) and drawer.reference_unsupported() == ""
        previous = png("green")
        pic = await drawer.draw_from("a red house", Picture(previous, "png", 64, 64))
    finally:
        await p.aclose()
    [edit] = openai_fake.edits
    assert edit.fields == {
        "model": "gpt-image-1",
        "prompt": "a red house",
        "size": "1024x1024",
        "quality": "low",
        "output_format": "png",
    }
    assert [(f[0], f[1], f[2]) for f in edit.files] == [("image[]", "previous.png", "image/png")]
    assert edit.files[0][3] == previous  # the bytes of the picture, unchanged
    [req] = [r for r in openai_fake.requests if r.path == "/v1/images/edits"]
    assert (req.header("Content-Type") or "").startswith("multipart/form-data; boundary=")
    assert req.header("Authorization") == f"Bearer {KEY}"
    assert (pic.format, pic.width, pic.height) == ("png", 1024, 1024)
    assert pic.extras["edited"] is True and pic.cost is not None


async def test_dalle2_edit_takes_one_image_and_dalle3_says_it_cannot(
    openai_fake: FakeOpenAI,
) -> None:
    p = openai_provider(openai_fake)
    try:
        dalle2 = p.drawer(p.model("dall-e-2", "drawer"))  # type: ignore[arg-type]
        assert isinstance(dalle2, ReferenceDrawer)
        await dalle2.draw_from("a cat", Picture(png("blue"), "png", 64, 64))
        dalle3 = p.drawer(p.model("dall-e-3", "drawer"))  # type: ignore[arg-type]
        assert isinstance(dalle3, ReferenceDrawer)
        assert "DALL-E 3" in dalle3.reference_unsupported()
    finally:
        await p.aclose()
    [edit] = openai_fake.edits
    assert [f[0] for f in edit.files] == ["image"]
    assert edit.fields["model"] == "dall-e-2" and edit.fields["response_format"] == "b64_json"
    assert edit.fields["n"] == "1" and edit.fields["size"] == "512x512"


def runtime_with(home: Path, config: str, **env: str) -> Runtime:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(config, "utf-8")
    return Runtime.load(env={**os.environ, **env})


async def play(runtime: Runtime, game_dir: GameDir, settings: Settings, rounds: int) -> None:
    game = session.make_game(runtime, game_dir, settings, Limits(rounds=rounds))
    try:
        game.start()
        await game.wait()
    finally:
        await runtime.aclose()
    assert game.state == "stopped", game.reason


async def test_img2img_gets_each_previous_picture_and_the_journal_says_so(
    isolated_env: Path, a1111_fake: FakeA1111
) -> None:
    runtime = runtime_with(
        isolated_env, f'[providers.automatic1111]\nbase_url = "{a1111_fake.url}"\n'
    )
    settings = Settings(drawer="automatic1111:default", guesser="doodle:doodle", memory=True)
    game_dir = await asyncio.to_thread(session.new_game, runtime, "a lighthouse", settings)
    await play(runtime, game_dir, settings, 3)
    paths = [r.path for r in a1111_fake.requests if r.method == "POST"]
    assert paths == ["/sdapi/v1/txt2img", "/sdapi/v1/img2img", "/sdapi/v1/img2img"]
    img2img = [r.json for r in a1111_fake.requests if r.path == "/sdapi/v1/img2img"]
    for n, body in enumerate(img2img, start=1):  # round n+1 starts from round n's picture
        assert base64.b64decode(body["init_images"][0]) == game_dir.read_image(f"r{n:04d}-draw.png")
        assert body["denoising_strength"] == 0.6 and body["prompt"].endswith(
            next(r.output for r in game_dir.records if r.kind == "describe" and r.round == n)
        )
    assert a1111_fake.init_images_seen == [
        game_dir.read_image(f"r{n:04d}-draw.png") for n in (1, 2)
    ]
    reopened = GameDir.open(game_dir.path)
    draws = [r for r in reopened.records if r.kind == "draw"]
    assert [r.memory for r in draws] == [
        None,  # round 1 of a text game: nothing to remember yet
        {"reference": "r0001-draw.png", "used": True},
        {"reference": "r0002-draw.png", "used": True},
    ]
    assert draws[1].extras["denoising_strength"] == 0.6
    game_dir.unlock()


async def test_a_drawer_without_pictures_draws_from_text_and_says_why(
    isolated_env: Path, openai_fake: FakeOpenAI, capsys: pytest.CaptureFixture[str]
) -> None:
    from telestrations.memory import memory_note

    runtime = runtime_with(
        isolated_env,
        # A compatible server: OpenAI's own dall-e-3 shut down on 2026-05-12 (refused there).
        f'[providers.openai]\nbase_url = "{openai_fake.url}/v1"\ncompatible = true\n',
        OPENAI_API_KEY=KEY,
    )
    settings = Settings(drawer="openai:dall-e-3", guesser="doodle:doodle", memory=True)
    game_dir = await asyncio.to_thread(session.new_game, runtime, "a boat", settings)
    await play(runtime, game_dir, settings, 3)
    assert not openai_fake.edits
    assert len([r for r in openai_fake.requests if r.path == "/v1/images/generations"]) == 3
    draws = [r for r in game_dir.records if r.kind == "draw"]
    assert [bool(r.memory and r.memory["used"]) for r in draws] == [False, False, False]
    assert draws[2].memory == {
        "reference": "r0002-draw.png",
        "used": False,
        "why": "DALL-E 3 has no image edits",
    }
    noted: set[str] = set()
    notes = [memory_note(r, noted) for r in draws]
    assert notes[0] == "" and "DALL-E 3 has no image edits" in notes[1] and notes[2] == ""
    game_dir.unlock()


async def test_comfyui_uploads_the_previous_picture_and_encodes_it(
    isolated_env: Path,
) -> None:
    from tests.fakes.comfyui_api import CHECKPOINTS, FakeComfyUI

    fake = FakeComfyUI().start()
    try:
        runtime = runtime_with(
            isolated_env,
            f'[providers.comfyui]\nbase_url = "{fake.url}"\npoll_interval = 0.02\n',
        )
        drawer_id = f"comfyui:{CHECKPOINTS[0]}"
        settings = Settings(drawer=drawer_id, guesser="doodle:doodle", memory=True)
        game_dir = await asyncio.to_thread(session.new_game, runtime, "a windmill", settings)
        await play(runtime, game_dir, settings, 2)
    finally:
        fake.stop()
    # round 2's picture went up as multipart, then LoadImage → VAEEncode fed the sampler
    [(fields, filename, mime, data)] = fake.uploads
    assert fields == {"type": "input", "overwrite": "true"}
    assert filename.startswith("telestrations-") and filename.endswith(".png")
    assert mime == "image/png" and data == game_dir.read_image("r0001-draw.png")
    graphs = [r.json["prompt"] for r in fake.requests if r.path == "/prompt"]
    assert [g["4"]["class_type"] for g in graphs] == ["EmptyLatentImage", "VAEEncode"]
    second = graphs[1]
    assert second["8"] == {"class_type": "LoadImage", "inputs": {"image": filename}}
    assert second["4"]["inputs"] == {"pixels": ["8", 0], "vae": ["1", 2]}
    assert second["5"]["inputs"]["denoise"] == 0.6 and graphs[0]["5"]["inputs"]["denoise"] == 1.0
    draws = [r for r in game_dir.records if r.kind == "draw"]
    assert draws[1].memory == {"reference": "r0001-draw.png", "used": True}
    assert draws[1].extras["denoise"] == 0.6
    game_dir.unlock()
