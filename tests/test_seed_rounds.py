"""Every model row of the original plays a full round through the installed command.

The real path end to end: `telestrations run` in a subprocess, configured only by a
config.toml and environment variables as README says, talking over 127.0.0.1 to the
protocol-faithful servers in tests/fakes. One round = a draw journalled with its image, then
a describe of that image journalled with its caption.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.ollama_api import FakeOllama
from tests.fakes.openai_api import CHAT, DALLE, GPT_IMAGE, FakeOpenAI
from tests.fakes.runpod_api import FakeRunPod

OPENAI_KEY = "sk-seed-0123456789abcdefghij"
RUNPOD_KEY = "rp-seed-key-0123456789"
LEGACY = ("sd-openjourney", "sd-anything-v4", "stable-diffusion-v2", "sdxl", "kandinsky-v2")


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[FakeOpenAI, FakeRunPod, FakeOllama]]:
    openai = FakeOpenAI(key=OPENAI_KEY, models=GPT_IMAGE + DALLE + CHAT).start()
    runpod = FakeRunPod(key=RUNPOD_KEY).start()
    for name in LEGACY:  # the user's own deployments of the original's workers
        runpod.endpoints[f"ep-{name}"] = name
    ollama = FakeOllama().start()
    yield openai, runpod, ollama
    for api in (openai, runpod, ollama):
        api.stop()


def config_for(runpod: FakeRunPod) -> str:
    models = "\n".join(
        f'[[providers.runpod.models]]\nname = "{name}"\nkind = "drawer"\n'
        f'options = {{ endpoint = "ep-{name}" }}\n'
        for name in LEGACY
    )
    return f'[providers.runpod]\nbase_url = "{runpod.url}/v2"\npoll_interval = 0.05\n\n{models}'


def play_round(home: Path, servers: tuple[FakeOpenAI, FakeRunPod, FakeOllama], *ids: str):  # type: ignore[no-untyped-def]
    openai, runpod, ollama = servers
    config = home / "config.toml"
    config.write_text(config_for(runpod))
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "RUNPOD_", "OLLAMA_", "TELESTRATIONS_"))
    }
    env |= {
        "TELESTRATIONS_CONFIG": str(config),
        "TELESTRATIONS_DATA_DIR": str(home / "data"),
        "TELESTRATIONS_KEYS": str(home / "keys.json"),
        "OPENAI_API_KEY": OPENAI_KEY,
        "OPENAI_BASE_URL": f"{openai.url}/v1",
        "RUNPOD_API_KEY": RUNPOD_KEY,
        "OLLAMA_HOST": ollama.url,
    }
    drawer, guesser = ids
    cmd = [sys.executable, "-m", "telestrations", "run", "--json", "--rounds", "1"]
    cmd += ["--prompt", "a red house under a yellow sun", "--drawer", drawer, "--guesser", guesser]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr + out.stdout
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    turns = [line for line in lines if line.get("type") == "turn"]
    folder = Path(lines[-1]["folder"])
    journal = (folder / "journal.jsonl").read_text()
    for key in (OPENAI_KEY, RUNPOD_KEY):
        assert key not in out.stdout + out.stderr + journal
    return turns, folder


ROWS = [
    ("openai:gpt-image-2.6-flare", "openai:gpt-6.1-terra"),  # today's OpenAI pair
    ("openai:dall-e-3", "openai:gpt-4-vision-preview"),  # the original's, on a server with them
    *[(f"runpod:{name}", "ollama:llava") for name in LEGACY],
    ("doodle:doodle", "ollama:bakllava"),
    ("doodle:doodle", "ollama:moondream"),
]


@pytest.mark.parametrize(("drawer", "guesser"), ROWS)
def test_seed_row_plays_a_full_round(
    tmp_path: Path,
    servers: tuple[FakeOpenAI, FakeRunPod, FakeOllama],
    drawer: str,
    guesser: str,
) -> None:
    turns, folder = play_round(tmp_path, servers, drawer, guesser)
    assert [(t["round"], t["kind"], t["model"], t["status"]) for t in turns] == [
        (1, "draw", drawer, "ok"),
        (1, "describe", guesser, "ok"),
    ]
    draw, describe = turns
    image = folder / draw["output"]
    assert image.is_file() and image.stat().st_size > 100
    assert describe["image"] == draw["output"] and describe["output"].strip()
    if drawer == "openai:dall-e-3":
        assert draw["cost"] == pytest.approx(0.04)  # the price table's standard 1024x1024
    if drawer == "openai:gpt-image-2.6-flare":  # priced by the answer's usage tokens (8.4)
        text = "Illustrate in black & white doodle style: a red house under a yellow sun"
        words = len(text.split())
        assert draw["cost"] == pytest.approx((words * 5.00 + 272 * 30.00) / 1e6)


def run_cli(home: Path, servers: tuple[FakeOpenAI, FakeRunPod, FakeOllama], *args: str):  # type: ignore[no-untyped-def]
    _openai, runpod, ollama = servers
    config = home / "config.toml"
    config.write_text(config_for(runpod))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OLLAMA_", "TELESTRATIONS_"))}
    env |= {
        "TELESTRATIONS_CONFIG": str(config),
        "TELESTRATIONS_DATA_DIR": str(home / "data"),
        "TELESTRATIONS_KEYS": str(home / "keys.json"),
        "OLLAMA_HOST": ollama.url,
    }
    cmd = [sys.executable, "-m", "telestrations", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("guesser", "said"),
    [
        ("ollama:llama3.2:3b", "cannot see images"),  # text-only: it would invent captions
        ("ollama:llava:34b", "is not pulled"),
    ],
)
def test_unusable_guesser_stops_run_before_the_first_paid_turn(
    tmp_path: Path, servers: tuple[FakeOpenAI, FakeRunPod, FakeOllama], guesser: str, said: str
) -> None:
    out = run_cli(tmp_path, servers, "run", "--rounds", "1", "--guesser", guesser)
    assert out.returncode == 2, out.stderr
    assert f"cannot use guesser {guesser}: " in out.stderr and said in out.stderr
    assert not (tmp_path / "data" / "games").exists()  # nothing drawn, nothing kept
    # --no-check skips the services' own checks: the turn itself then fails (and says why)
    out = run_cli(tmp_path, servers, "run", "--rounds", "1", "--guesser", guesser, "--no-check")
    assert out.returncode in (0, 1) and "Traceback" not in out.stderr
