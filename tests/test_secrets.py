"""A secret never leaves the process (issue 7, part 1).

Hostile loopback servers for every built-in provider echo the key (and for URL passwords the
Basic token of ``user:password``) in every field of every answer and every failure path, and
a provider plugin raises with its key in the message. Every output is grepped for every
secret and its derived forms: journal, image names, stdout, stderr, ``--json``, export HTML,
logs. The count must be 0.
"""

from __future__ import annotations

import asyncio
import base64
import io
import itertools
import json
import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from telestrations.export import export_html
from telestrations.game import Event, Game, Settings
from telestrations.logs import setup_logging
from telestrations.providers.base import Availability, ModelInfo, ProviderError
from telestrations.providers.catalog import CatalogProvider
from telestrations.runtime import Runtime
from telestrations.store import GameDir
from telestrations.terminal import CleanStream
from telestrations.text import (
    _EDGE_TRIM,
    EDGE_PREFIX,
    Secrets,
    basic_auth,
    clean,
    redact,
    url_secrets,
)
from telestrations.turns import TurnError, TurnRecord, redact_record
from tests.fakes.a1111_api import FakeA1111
from tests.fakes.comfyui_api import FakeComfyUI
from tests.fakes.gemini_api import FakeGemini, bad_key, rate_limited
from tests.fakes.hostile import make_hostile
from tests.fakes.ollama_api import FakeOllama
from tests.fakes.openai_api import CHAT, DALLE, GPT_IMAGE, FakeOpenAI
from tests.fakes.runpod_api import FakeRunPod
from tests.fakes.server import Reply, json_reply

OPENAI_KEY = "sk-hostile-OPENAI-key-0123456789abcdef"
RUNPOD_KEY = "rp-hostile-RUNPOD-key-0123456789abcd"
A1111_USER, A1111_PASSWORD = "webui", "a1111-HOSTILE-pw-98765"
OLLAMA_USER, OLLAMA_PASSWORD = "alice", "ollama-HOSTILE/pw@4242"
PLUGIN_KEY = "plug-HOSTILE-key-13579bdf2468"
COMFY_KEY = "comfy-HOSTILE-token-24680ace1357"
GEMINI_KEY = "AIzaSy-HOSTILE-gemini-key-1357924680"
"""Given as GOOGLE_API_KEY, Gemini's fallback variable: a secret like the declared one."""
RAW = (OPENAI_KEY, RUNPOD_KEY, A1111_PASSWORD, OLLAMA_PASSWORD, PLUGIN_KEY, COMFY_KEY, GEMINI_KEY)
COMFY_CKPT = "v1-5-pruned-emaonly.safetensors"
COMFY_KEEP = {"prompt_id", "filename", "subfolder", "type", "status_str", "node", "node_id"}
"""What ComfyUI's protocol needs intact (ids, file names, states); every other string is
poisoned, the checkpoint listing and the history's messages included."""
GEMINI_KEEP = {"data", "mimeType", "finishReason", "role", "thought", "@type", "reason", "quotaId"}
GEMINI_KEEP |= {"retryDelay", "status", "code", "nextPageToken", "blockReason", "modality"}
"""What Gemini's protocol needs intact (image data, finish reasons, error details); captions,
messages and model names are poisoned."""
GEMINI_PAIR = ("gemini:gemini-nano-banana-2.1", "gemini:gemini-3.6-flash")


def needles() -> list[str]:
    """What a leak looks like: each secret raw, URL-encoded, base64, a 12-character piece from
    either end (a cut key), and the Basic tokens of the two ``user:password`` pairs."""
    out: list[str] = []
    for s in RAW:
        out += [s, quote(s, safe=""), base64.b64encode(s.encode()).decode(), s[:12], s[-12:]]
    out += [basic_auth(A1111_USER, A1111_PASSWORD), basic_auth(OLLAMA_USER, OLLAMA_PASSWORD)]
    return list(dict.fromkeys(out))


NEEDLES = needles()


@dataclass
class Grep:
    """Every output looked at, and every secret found in one."""

    outputs: int = 0
    found: list[str] = field(default_factory=list)

    def text(self, where: str, text: str) -> None:
        self.outputs += 1
        low = text
        for needle in NEEDLES:
            if needle in low:
                self.found.append(f"{where}: {needle!r} in …{_around(low, needle)}…")

    def tree(self, root: Path) -> None:
        for path in sorted(root.rglob("*")):
            self.text(f"name {path}", str(path.relative_to(root)))
            if path.is_file():
                self.text(str(path), path.read_bytes().decode("utf-8", "replace"))


def _around(text: str, needle: str) -> str:
    i = text.find(needle)
    return text[max(0, i - 40) : i + len(needle) + 20]


# -- the redactor itself ---------------------------------------------------------------------


def test_derived_forms_are_redacted() -> None:
    s = Secrets([OPENAI_KEY])
    s.add_url(f"http://{OLLAMA_USER}:{quote(OLLAMA_PASSWORD, safe='')}@127.0.0.1:1/x")
    b64 = base64.b64encode(OPENAI_KEY.encode()).decode()
    shown = s.redact(
        f"a {OPENAI_KEY} b {quote(OPENAI_KEY, safe='')} c {b64} d {b64.rstrip('=')} "
        f"e Basic {basic_auth(OLLAMA_USER, OLLAMA_PASSWORD)} f {OLLAMA_PASSWORD} "
        f"g {quote(OLLAMA_PASSWORD, safe='')} h {json.dumps(OLLAMA_PASSWORD)}"
    )
    assert shown == 'a *** b *** c *** d *** e Basic *** f *** g *** h "***"', shown
    assert OPENAI_KEY[:8] not in shown and "HOSTILE" not in shown


@pytest.mark.parametrize("cut", [EDGE_PREFIX, 12, len(OPENAI_KEY) - 1])
def test_a_cut_key_at_an_edge_is_still_a_key(cut: int) -> None:
    s = Secrets([OPENAI_KEY])
    head = OPENAI_KEY[:cut]
    tail = OPENAI_KEY[-cut:]
    assert s.redact(f"the key is {head}") == "the key is ***"
    assert s.redact(f"the key is {head}…") == "the key is ***…"
    assert s.redact(f"the key is {head}... and more") == "the key is ***... and more"
    assert s.redact(f"{tail} was the rest") == "*** was the rest"
    assert s.redact(f'{{"message": "{head}') == '{"message": "***'


def test_short_pieces_and_ordinary_text_are_kept() -> None:
    s = Secrets([OPENAI_KEY, "abc"])  # "abc": too short to be redacted anywhere
    short = OPENAI_KEY[: EDGE_PREFIX - 1]
    assert s.redact(f"prefix {short}") == f"prefix {short}"  # at most 7 characters shown
    assert s.redact(f"mid {OPENAI_KEY[:12]} text") == f"mid {OPENAI_KEY[:12]} text"  # no edge
    assert s.redact("a cat on a mat... abc.") == "a cat on a mat... abc."
    assert Secrets().redact(OPENAI_KEY) == OPENAI_KEY


def test_short_secrets_need_half_at_an_edge() -> None:
    s = Secrets(["pw-0123456"])  # 10 characters: 5 at an edge count
    assert s.redact("x pw-01") == "x ***"
    assert s.redact("x pw-0") == "x pw-0"


def test_bytes_and_json() -> None:
    s = Secrets([OPENAI_KEY])
    body = b'{"error": "' + OPENAI_KEY.encode() + b'"} \xff\xfe'
    assert OPENAI_KEY.encode() not in s.redact_bytes(body)
    assert s.redact_bytes(body).endswith(b"\xff\xfe")  # undecodable bytes kept as they were
    data = s.redact_json({OPENAI_KEY: [OPENAI_KEY, 1, None, {"x": f"k={OPENAI_KEY}"}]})
    assert OPENAI_KEY not in json.dumps(data) and data["***"][1:3] == [1, None]


def test_url_secrets_cover_userinfo_forms() -> None:
    found = url_secrets(f"{OLLAMA_USER}:{quote(OLLAMA_PASSWORD, safe='')}@gpu:11434")
    assert OLLAMA_PASSWORD in found and basic_auth(OLLAMA_USER, OLLAMA_PASSWORD) in found
    assert url_secrets("http://127.0.0.1:11434") == [] and url_secrets("no url") == []


def test_process_redactor_reaches_clean_redact_and_records() -> None:
    from telestrations.text import SECRETS

    SECRETS.add(OPENAI_KEY)
    assert OPENAI_KEY not in clean(f"caption {OPENAI_KEY}")
    assert OPENAI_KEY not in redact(f"x {OPENAI_KEY}", [])
    record = TurnRecord(
        1,
        1,
        "describe",
        f"m-{OPENAI_KEY}",
        "failed",
        "in",
        output=OPENAI_KEY,
        extras={"revised_prompt": OPENAI_KEY, OPENAI_KEY: [OPENAI_KEY]},
        error=TurnError("auth", f"bad {OPENAI_KEY}", f"hint {OPENAI_KEY}"),
    )
    assert OPENAI_KEY not in json.dumps(redact_record(record).to_json())
    out = io.StringIO()
    CleanStream(out).write(f"line {OPENAI_KEY}\n")  # what headless commands print through
    assert out.getvalue() == "line ***\n"


# -- hostile servers ---------------------------------------------------------------------------


@dataclass
class World:
    openai: FakeOpenAI
    ollama: FakeOllama
    runpod: FakeRunPod
    a1111: FakeA1111
    comfy: FakeComfyUI
    gemini: FakeGemini

    def config(self) -> str:
        return textwrap.dedent(
            f"""
            [providers.openai]
            max_retries = 0
            [providers.ollama]
            max_retries = 0
            [providers.runpod]
            base_url = "{self.runpod.url}/v2"
            poll_interval = 0.05
            max_retries = 0
            [[providers.runpod.models]]
            name = "sdxl"
            kind = "drawer"
            options = {{ endpoint = "ep-sdxl" }}
            [providers.automatic1111]
            base_url = "{self.a1111.url}"
            max_retries = 0
            [providers.comfyui]
            base_url = "{self.comfy.url}"
            max_retries = 0
            websocket = false
            poll_interval = 0.05
            [providers.gemini]
            base_url = "{self.gemini.url}"
            max_retries = 0
            """
        )

    def env(self, home: Path) -> dict[str, str]:
        host = self.ollama.url.replace(
            "http://", f"http://{OLLAMA_USER}:{quote(OLLAMA_PASSWORD, safe='')}@"
        )
        return {
            "TELESTRATIONS_CONFIG": str(home / "config.toml"),
            "TELESTRATIONS_DATA_DIR": str(home / "data"),
            "TELESTRATIONS_KEYS": str(home / "keys.json"),
            "OPENAI_API_KEY": OPENAI_KEY,
            "OPENAI_BASE_URL": f"{self.openai.url}/v1",
            "RUNPOD_API_KEY": RUNPOD_KEY,
            "AUTOMATIC1111_PASSWORD": f"{A1111_USER}:{A1111_PASSWORD}",
            "OLLAMA_HOST": host,
            "COMFYUI_API_KEY": COMFY_KEY,
            "GOOGLE_API_KEY": GEMINI_KEY,
        }

    def prepare(self, home: Path) -> dict[str, str]:
        home.mkdir(parents=True, exist_ok=True)
        (home / "config.toml").write_text(self.config())
        keys = home / "keys.json"
        keys.write_text(json.dumps({"hostileplug": PLUGIN_KEY}))
        keys.chmod(0o600)
        return self.env(home)

    def fakes(self) -> tuple[Any, ...]:
        return (self.openai, self.ollama, self.runpod, self.a1111, self.comfy, self.gemini)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    openai = FakeOpenAI(key=OPENAI_KEY, models=GPT_IMAGE + DALLE + CHAT)
    runpod = FakeRunPod(key=RUNPOD_KEY)
    runpod.endpoints["ep-sdxl"] = "sdxl"
    a1111 = FakeA1111(auth=(A1111_USER, A1111_PASSWORD))
    comfy = FakeComfyUI(auth=f"Bearer {COMFY_KEY}")
    w = World(openai, FakeOllama(), runpod, a1111, comfy, FakeGemini(key=GEMINI_KEY))
    keep_openai = {"b64_json", "url", "object", "role", "finish_reason", "type", "code"}
    make_hostile(openai, RAW, keep_openai)
    make_hostile(w.ollama, RAW, {"done", "done_reason", "role", "images"})
    make_hostile(runpod, RAW, {"id", "status", "image", "image_url", "images", "url"})
    make_hostile(w.a1111, RAW, {"images"})
    make_hostile(w.comfy, RAW, COMFY_KEEP)
    make_hostile(w.gemini, RAW, GEMINI_KEEP)
    for fake in w.fakes():
        fake.start()
    yield w
    for fake in w.fakes():
        fake.stop()


def straddling(cut: int, shape: str) -> list[Any]:
    """Error bodies longer than a cut length with a secret across the cut, in a few shapes."""
    bodies: list[Any] = []
    for secret in (OPENAI_KEY, RUNPOD_KEY, A1111_PASSWORD):
        for back in (3, 9, 17):
            text = "x" * (cut - back) + secret + " tail " * 50
            bodies.append({"error": {"message": text}} if shape == "openai" else text)
    return bodies


def sse(*events: str) -> Reply:
    pieces = [f"data: {e}\n\n".encode() for e in events]
    return Reply(200, b"", {"Content-Type": "text/event-stream"}, pieces=pieces)


def chat_chunk(**delta: Any) -> str:
    choice = {"index": 0, "delta": delta, "finish_reason": None}
    return json.dumps({"id": "c", "object": "chat.completion.chunk", "choices": [choice]})


def openai_attacks() -> list[tuple[str, Reply]]:
    """(turn kind, reply) for OpenAI images and chat: every failure path we can think of."""
    k = OPENAI_KEY
    attacks: list[tuple[str, Reply]] = [
        ("draw", json_reply(401, {"error": {"message": f"Incorrect API key {k}", "code": k}})),
        ("draw", json_reply(400, {"error": {"message": f"content_policy_violation {k}"}})),
        ("draw", json_reply(429, {"error": {"message": k, "code": "insufficient_quota"}})),
        ("draw", Reply(200, f"<html><title>login {k}</title>{k}</html>", {})),
        ("draw", Reply(200, '{"data": [{"b64_json": "' + k + '"}]}', {})),
        ("draw", json_reply(200, {"data": [{"url": f"http://127.0.0.1:9/{k}.png"}]})),
        ("describe", json_reply(200, {"choices": [{"message": {"refusal": f"no {k}"}}]})),
        ("describe", sse(chat_chunk(content="a cat "), f"not json {k}")),
        ("describe", sse(chat_chunk(content="a cat"), json.dumps({"error": {"message": k}}))),
        ("describe", sse(chat_chunk(refusal=f"I refuse {k}"), "[DONE]")),
        ("describe", sse(chat_chunk(content=f"cut mid-key {k[:20]}"))),
        ("describe", Reply(500, f"Internal error {k}", {})),
    ]
    for cut in (120, 300, 500, 2000):
        for body in straddling(cut, "openai")[:3]:
            attacks.append(("describe", json_reply(500, body)))
    return attacks


def ollama_attacks() -> list[Reply]:
    k = OLLAMA_PASSWORD
    stream_error = [
        json.dumps({"model": "llava", "message": {"content": "a "}, "done": False}) + "\n",
        json.dumps({"error": f"runner crashed {k}"}) + "\n",
    ]
    return [
        json_reply(404, {"error": f"model 'llava {k}' not found"}),
        json_reply(500, {"error": "x" * 290 + k}),
        Reply(
            200,
            b"",
            {"Content-Type": "application/x-ndjson"},
            pieces=[s.encode() for s in stream_error],
        ),
        Reply(
            200, b"", {"Content-Type": "application/x-ndjson"}, pieces=[f"garbage {k}\n".encode()]
        ),
        Reply(502, f"<html><title>Bad gateway {k}</title></html>", {}),
    ]


def runpod_attacks() -> list[Reply | None]:
    k = RUNPOD_KEY
    return [
        json_reply(400, {"id": "x", "status": "FAILED", "error": f"bad input {k}"}),
        json_reply(401, {"error": k}),
        json_reply(500, "y" * 495 + k),
        None,  # the next job FAILS with the key in its error (the fake's outcome hook)
    ]


def a1111_attacks() -> list[Reply]:
    pw = A1111_PASSWORD
    return [
        json_reply(500, {"error": "OutOfMemoryError", "detail": f"CUDA {pw}", "errors": pw}),
        json_reply(422, {"detail": [{"loc": ["body", pw], "msg": pw, "type": "value_error"}]}),
        Reply(200, f"not json {pw}", {}),
    ]


def comfy_attacks() -> list[Reply]:
    key = COMFY_KEY
    return [
        json_reply(500, {"error": {"type": "server_error", "message": f"boom {key}"}}),
        json_reply(400, {"error": {"type": "invalid_prompt", "message": key}, "node_errors": {}}),
        Reply(200, f"not json {key}", {}),
    ]


def gemini_attacks() -> list[tuple[str, Reply]]:
    """(turn kind, reply): Google's error shapes, an error object sent with 200 OK, broken
    and erroring streams, each with the key in it."""
    k = GEMINI_KEY
    event = {"error": {"code": 500, "message": f"boom {k}", "status": "INTERNAL"}}
    found = {"error": {"code": 404, "message": f"models/{k} is not found", "status": "NOT_FOUND"}}
    return [
        ("draw", bad_key()),
        ("draw", rate_limited("30s", per_day=True)),
        ("draw", json_reply(404, found)),
        ("draw", json_reply(200, {"error": {"code": 403, "message": k}})),
        ("draw", Reply(200, f"<html><title>{k}</title></html>", {})),
        ("describe", sse(json.dumps(event))),
        ("describe", sse(f"not json {k}")),
        ("describe", Reply(503, f"Service unavailable {k}", {})),
    ]


class HostilePlugin(CatalogProvider):
    """A provider plugin whose calls raise with its key in the message."""

    name = "hostileplug"
    title = "Hostile plugin"
    PRESETS = (
        ModelInfo("hostileplug", "pen", "drawer"),
        ModelInfo("hostileplug", "eye", "guesser"),
    )

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.key = ctx.get_key("hostileplug") or ""

    def availability(self, model: ModelInfo) -> Availability:
        if self.ctx.env.get("HOSTILE_BROKEN"):
            raise RuntimeError(f"availability blew up with {self.key}")
        return Availability.yes(f"ready with {self.key}")

    async def check(self, model: ModelInfo) -> Availability:
        return Availability.no(f"check says {self.key}", hint=f"use {self.key}", kind="auth")

    def drawer(self, model: ModelInfo) -> Any:
        key = self.key

        class Pen:
            async def draw(self, text: str) -> Any:
                raise RuntimeError(f"plugin failed, key={key}")

        return Pen()

    def guesser(self, model: ModelInfo) -> Any:
        key = self.key

        class Eye:
            async def describe(self, picture: Any, system: str, prompt: str) -> Any:
                raise ProviderError("auth", f"bad key {key}", hint=f"try {key[:20]}")

        return Eye()


def plugin_source() -> str:
    import inspect

    return (
        "from typing import Any\n"
        "from telestrations.providers.base import Availability, ModelInfo, ProviderError\n"
        "from telestrations.providers.catalog import CatalogProvider\n\n"
        + inspect.getsource(HostilePlugin)
        + "\n\ndef provider(ctx: Any) -> HostilePlugin:\n    return HostilePlugin(ctx)\n"
    )


def _restore_logging() -> None:
    """Undo setup_logging so later tests' caplog sees records again."""
    for name in ("telestrations", "httpx", "httpcore"):
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
            handler.close()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)


async def _play_attacks(world: World, home: Path, grep: Grep) -> int:
    """The in-process game: every attack on every provider, then an export."""
    env = {**os.environ, **world.prepare(home)}
    runtime = Runtime.load(env=env)
    plugin = HostilePlugin(runtime.registry._context_for("hostileplug"))  # type: ignore[misc]
    runtime.registry.providers["hostileplug"] = plugin
    log_file = home / "telestrations.log"
    setup_logging(2, secrets=runtime.keyring.secrets, log_file=log_file)
    game_dir = runtime.store.new_game("a red house", {})
    game = Game(game_dir, runtime.models(), Settings())
    events: list[Event] = []
    game.subscribe(events.append)
    played = 0

    async def turn(drawer: str, guesser: str, kind: str, fake: Any, reply: Reply | None) -> None:
        nonlocal played
        game.settings = replace(game.settings, drawer=drawer, guesser=guesser)
        if game.next().kind != kind:  # get to the turn we attack with a good one first
            await game.step()
        if reply is not None:
            fake.script.append(reply)
        await game.step()
        fake.script.clear()
        played += 1
        grep.text("game.reason", game.reason)

    try:
        oa = ("openai:dall-e-3", "openai:gpt-4o-mini")
        for _ in range(2):  # poisoned successes: caption, revised_prompt, model, ...
            await turn(*oa, "draw", world.openai, None)
            await turn(*oa, "describe", world.openai, None)
        for kind, reply in openai_attacks():
            await turn(*oa, kind, world.openai, reply)
        ol = ("doodle:doodle", "ollama:llava")
        await turn(*ol, "describe", world.ollama, None)
        for reply in ollama_attacks():
            await turn(*ol, "describe", world.ollama, reply)
        rp = ("runpod:sdxl", "ollama:llava")
        await turn(*rp, "draw", world.runpod, None)
        for rp_reply in runpod_attacks():
            if rp_reply is None:
                world.runpod.outcome = {"status": "FAILED", "error": f"worker died {RUNPOD_KEY}"}
            await turn(*rp, "draw", world.runpod, rp_reply)
        a1 = ("automatic1111:default", "ollama:llava")
        await turn(*a1, "draw", world.a1111, None)
        for reply in a1111_attacks():
            await turn(*a1, "draw", world.a1111, reply)
        cu = (f"comfyui:{COMFY_CKPT}", "ollama:llava")
        await turn(*cu, "draw", world.comfy, None)
        for reply in comfy_attacks():
            await turn(*cu, "draw", world.comfy, reply)
        for kind in ("draw", "describe"):
            await turn(*GEMINI_PAIR, kind, world.gemini, None)
        for kind, reply in gemini_attacks():
            await turn(*GEMINI_PAIR, kind, world.gemini, reply)
        for kind in ("draw", "describe"):
            await turn("hostileplug:pen", "hostileplug:eye", kind, world.openai, None)
        avail = [await p.check(m) for p in runtime.registry.providers.values() for m in p.models()]
        found = []
        for p in runtime.registry.providers.values():
            try:
                found.append(await p.discover())
            except ProviderError as exc:  # a listing a hostile reply broke
                grep.text("discover failure", clean(str(exc)))
        assert avail and found  # listings and checks were asked (shown only via clean())
        for a in avail:
            grep.text("availability", clean(f"{a.reason} {a.hint}"))
        for models in found:
            grep.text("discovered", clean(" ".join(m.id for m in models)))
    finally:
        await runtime.aclose()
        _restore_logging()
    for event in events:
        grep.text(f"event {type(event).__name__}", repr(event))
    export_html(GameDir.open(game_dir.path), home / "export")
    grep.tree(home / "export")
    grep.tree(game_dir.path)
    grep.text("log file", log_file.read_text())
    records = GameDir.open(game_dir.path).records
    assert sum(not r.ok for r in records) >= 25 and sum(r.ok for r in records) >= 8
    assert {r.error.kind for r in records if r.error} >= {"auth", "server", "bad_response"}
    comfy = [r for r in records if r.model.startswith("comfyui:")]
    assert any(r.ok for r in comfy) and sum(not r.ok for r in comfy) >= len(comfy_attacks())
    gemini = [r for r in records if r.model.startswith("gemini:")]
    assert sum(r.ok for r in gemini) >= 2 and sum(not r.ok for r in gemini) >= len(gemini_attacks())
    assert {r.error.kind for r in gemini if r.error} >= {"auth", "quota", "not_found", "server"}
    return played


def test_hostile_servers_and_plugin_leak_nothing_in_process(world: World, tmp_path: Path) -> None:
    grep = Grep()
    played = asyncio.run(_play_attacks(world, tmp_path / "home", grep))
    assert played >= 30
    print(f"in-process: {played} turns, {grep.outputs} outputs grepped, {len(grep.found)} found")
    assert grep.found == []


# -- the installed command, end to end ------------------------------------------------------------


def _plugin_dir(root: Path) -> Path:
    plug = root / "plugin"
    dist = plug / "hostile_plugin-1.0.dist-info"
    dist.mkdir(parents=True)
    (plug / "hostile_plugin.py").write_text(plugin_source())
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: hostile-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[telestrations.providers]\nhostileplug = hostile_plugin:provider\n"
    )
    return plug


def test_hostile_servers_and_plugin_leak_nothing_from_the_command(
    world: World, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "RUNPOD_", "OLLAMA_", "TELESTRATIONS_", "AUTOMATIC"))
    }
    env |= world.prepare(home)
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([root, str(_plugin_dir(tmp_path))])
    grep = Grep()
    runs = 0

    def tele(*args: str, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        nonlocal runs
        cmd = [sys.executable, "-m", "telestrations", *args]
        out = subprocess.run(
            cmd, env={**env, **(extra or {})}, capture_output=True, text=True, timeout=90
        )
        runs += 1
        grep.text(f"stdout of {args}", out.stdout)
        grep.text(f"stderr of {args}", out.stderr)
        return out

    game = ["--no-check", "-vv", "--prompt", "a red house"]
    ok = tele(
        "run",
        "--json",
        "--rounds",
        "2",
        *game,
        "--drawer",
        "openai:dall-e-3",
        "--guesser",
        "openai:gpt-4o-mini",
    )
    assert ok.returncode == 0 and len(ok.stdout.splitlines()) == 5, ok.stderr
    turns = [json.loads(line) for line in ok.stdout.splitlines()[:4]]
    assert "***" in turns[1]["output"] and "***" in turns[0]["extras"]["revised_prompt"]
    tele("run", "--rounds", "1", *game, "--drawer", "runpod:sdxl", "--guesser", "ollama:llava")
    tele(
        "run",
        "--json",
        "--rounds",
        "1",
        *game,
        "--drawer",
        "automatic1111:default",
        "--guesser",
        "ollama:llava",
    )
    world.openai.script.append(json_reply(500, straddling(500, "openai")[1]))
    failed = tele("run", *game, "--drawer", "openai:gpt-image-1", "--guesser", "doodle")
    assert failed.returncode == 1 and "FAILED server" in failed.stdout
    world.openai.script.append(sse(chat_chunk(content="cat "), f"garbage {OPENAI_KEY}"))
    tele("run", "--resume", "last", "--no-check", "--guesser", "openai:gpt-4o-mini")
    plug = tele("run", *game, "--drawer", "hostileplug:pen", "--guesser", "hostileplug:eye")
    assert plug.returncode == 1 and "internal" in plug.stdout
    tele("run", "--json", *game, "--drawer", "doodle", "--guesser", "hostileplug:eye")
    drawn = tele(
        "draw",
        "--no-check",
        "-v",
        "a cat",
        "--drawer",
        "openai:dall-e-3",
        "-o",
        str(tmp_path / "cat.png"),
    )
    assert drawn.returncode == 0 and "revised prompt: " in drawn.stdout
    seen = tele(
        "describe", "--no-check", str(tmp_path / "cat.png"), "--guesser", "openai:gpt-4o-mini"
    )
    assert seen.returncode == 0 and "***" in seen.stdout
    tele("describe", "--no-check", str(tmp_path / "cat.png"), "--guesser", "ollama:moondream")
    tele("describe", "--no-check", str(tmp_path / "cat.png"), "--guesser", "hostileplug:eye")
    models = tele("models", "-vv")
    assert "hostileplug:pen" in models.stdout and "check says ***" in models.stdout
    tele("models", "--json")
    broken = tele("models", extra={"HOSTILE_BROKEN": "1"})  # a plugin raising in availability
    # a broken plugin is an unusable row now, not a crash; its reason is redacted
    assert broken.returncode == 0 and "availability blew up with ***" in broken.stdout
    tele("games")
    tele("export", "last", "-o", str(tmp_path / "export"))
    grep.tree(home / "data")  # keys.json and config.toml are inputs, not outputs
    grep.tree(tmp_path / "export")
    print(f"command: {runs} runs, {grep.outputs} outputs grepped, {len(grep.found)} found")
    assert grep.found == []


def test_a_long_piece_anywhere_is_a_key() -> None:
    s = Secrets([OPENAI_KEY])
    half = (len(OPENAI_KEY) + 1) // 2
    assert s.redact(f"a {OPENAI_KEY[:half]} b") == "a *** b"
    assert s.redact(f"a {OPENAI_KEY[-half:]} b {OPENAI_KEY[:-3]}!") == "a *** b ***!"
    assert s.redact(f"a {OPENAI_KEY[: half - 1]} b") == f"a {OPENAI_KEY[: half - 1]} b"


# -- the TUI ----------------------------------------------------------------------------------


async def test_the_tui_never_shows_a_key(isolated_env: Path) -> None:
    """Cards, partial captions, error cards, notifications and the status line all pass
    clean(), which redacts: a screenshot and the journal hold no secret."""
    from telestrations.providers.base import Caption, report_partial
    from telestrations.providers.registry import Registry
    from telestrations.text import SECRETS
    from tests.test_tui_support import FakeProvider, main_screen, make_app, make_runtime, wait_for

    class LeakyEye:
        calls = 0

        async def describe(self, picture: Any, system: str, prompt: str) -> Caption:
            LeakyEye.calls += 1
            report_partial(f"the key is {OPENAI_KEY[:20]}")
            if LeakyEye.calls == 1:
                raise ProviderError("auth", f"bad key {OPENAI_KEY}", hint=f"not {OPENAI_KEY}")
            return Caption(f"saw {OPENAI_KEY} and {base64.b64encode(OPENAI_KEY.encode())!r}")

    class Leaky(FakeProvider):
        def guesser(self, model: ModelInfo) -> Any:
            return LeakyEye()

    SECRETS.add(OPENAI_KEY)  # as Runtime.load does from the environment and the keys file
    runtime, _ = make_runtime(isolated_env, registry=Registry([Leaky()]))
    app = make_app(runtime)
    shots: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        m = main_screen(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: m.game is not None and m.game.state == "paused")
        shots.append(app.export_screenshot())
        await pilot.press("enter")  # resume after the failed turn
        await wait_for(pilot, lambda: m.game is not None and m.game.rounds_done >= 2)
        await pilot.press("enter")
        await wait_for(pilot, lambda: m.game.state == "paused" and not m.running)
        shots.append(app.export_screenshot())
        notes = " ".join(str(n.message) for n in app._notifications)
        journal = (m.game.dir.path / "journal.jsonl").read_text()
    grep = Grep()
    for i, shot in enumerate(shots):
        grep.text(f"screenshot {i}", shot)
    grep.text("notifications", notes)
    grep.text("journal", journal)
    assert "***" in journal and "bad key ***" in journal
    assert grep.found == []


# -- the short-text fast path and streamed captions -----------------------------------------------


def _cut_variants(secret: str) -> list[str]:
    """Texts holding a secret (or a piece of one) in every place the redactor looks."""
    texts = []
    for form in (secret, quote(secret, safe=""), base64.b64encode(secret.encode()).decode()):
        for k in range(1, len(form) + 1):
            head, tail = form[:k], form[-k:]
            texts += [f"a cat {head}", f"{tail} on a mat", f"x {head}… y", f"x …{tail} y"]
            texts += [f"mid {head} mid", f'{{"m": "{head}', f"{head}.", f"({tail}"]
    return [*texts, "", "a", "a cat on a mat", "sk-", "…", secret * 2]


@pytest.mark.parametrize("secret", [OPENAI_KEY, "pw-0123456", "abcd", "Bearer xyz-0123"])
def test_the_fast_path_agrees_with_the_full_search(secret: str) -> None:
    """A short text goes through a gram check first; the same text after a long filler (the
    full search, with an ellipsis so the edges are where they were) must end the same way."""
    s = Secrets([secret, OLLAMA_PASSWORD])
    filler = "~" * 5000  # longer than GRAM_SCAN: no fast path; "~" is in no form
    for text in _cut_variants(secret):
        if text[:1] and text[:1] in _EDGE_TRIM:
            continue  # its start edge is after what it starts with: not the filler's
        fast = s.redact(text)
        slow = s.redact(f"{filler}…{text}")
        assert slow.startswith(filler + "…") and fast == slow[len(filler) + 1 :], text
    assert s.redact("a small house with a tree under a round sun") == (
        "a small house with a tree under a round sun"
    )


async def test_a_key_split_across_streamed_chunks_never_shows(tmp_path: Path) -> None:
    """A guesser streams a caption with the key cut into pieces at every chunk boundary: no
    partial caption event, record or journal line holds the key or a long piece of it."""
    from telestrations.game import CaptionGrowing, Limits
    from telestrations.store import Store
    from tests.test_openai_provider import Models, make

    api = FakeOpenAI(key=OPENAI_KEY, models=GPT_IMAGE + CHAT).start()
    try:
        provider = make(api, key=OPENAI_KEY)  # the key is in the process's redactor now
        caption = f"a house and {OPENAI_KEY} under a sun and {OPENAI_KEY}"
        cuts = [0, 3, 9, 14, 20, 27, 33, 40, 44, 51, 57, 62, 70, len(caption)]
        head = {"id": "chatcmpl-x", "object": "chat.completion.chunk", "model": "gpt-4o-mini"}

        def event(delta: dict[str, Any], finish: str | None = None) -> bytes:
            choice = {"index": 0, "delta": delta, "finish_reason": finish}
            return f"data: {json.dumps({**head, 'choices': [choice]})}\n\n".encode()

        pieces = [event({"role": "assistant", "content": ""})]
        pieces += [event({"content": caption[a:b]}) for a, b in itertools.pairwise(cuts)]
        pieces += [event({}, "stop"), b"data: [DONE]\n\n"]
        api.script.append(api.handle)  # the drawing, as usual
        sse = {"Content-Type": "text/event-stream"}
        api.script.append(Reply(200, b"", sse, pieces=pieces, chunk_delay=0.01))

        game_dir = Store(tmp_path).new_game("a red house", {})
        settings = Settings(drawer="openai:gpt-image-1", guesser="openai:gpt-4o-mini", pace=0)
        game = Game(game_dir, Models(provider), settings, Limits(rounds=1))
        growing: list[str] = []
        game.subscribe(lambda e: growing.append(e.text) if isinstance(e, CaptionGrowing) else None)
        game.start()
        await game.wait()
        await provider.aclose()
    finally:
        api.stop()
    assert game.rounds_done == 1, game.reason
    assert len(growing) >= 6 and "a house and sk" in growing, growing  # chunk by chunk
    described = [r for r in game_dir.records if r.kind == "describe"]
    assert described and described[0].output.startswith("a house and ***")
    journal = game_dir.journal.read_text(encoding="utf-8")
    for where, text in [*(("partial", t) for t in growing), ("journal", journal)]:
        for needle in (OPENAI_KEY, OPENAI_KEY[:EDGE_PREFIX], OPENAI_KEY[-12:]):
            assert needle not in text, (where, text)
