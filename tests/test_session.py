"""The session layer both front ends use: choices resolved once, the key and model checks.

The checks that ask a service ask a protocol-faithful Ollama on 127.0.0.1 (tests/fakes)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from telestrations import session
from telestrations.game import Settings
from telestrations.runtime import Runtime
from telestrations.session import Checks, Choices, Unusable, resolve
from telestrations.state import UiState
from telestrations.store import GameDir
from telestrations.turns import TurnRecord
from tests.fakes.ollama_api import FakeModel, FakeOllama
from tests.fakes.server import Reply, json_reply

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"
    b"\x00\x00\x00\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01"
    b"\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82"
)

CONFIG = """
[game]
prompt = "config prompt"
drawer = "doodle:doodle"
guesser = "doodle:doodle"
style = "config style"
guesser_prompt = "config question"

[ui]
images = "unicode"
pace = 1.5
"""


@pytest.fixture
def fake() -> Iterator[FakeOllama]:
    api = FakeOllama(
        [
            FakeModel("llava:latest"),
            FakeModel("minicpm-v:8b"),
            FakeModel(
                "llama3.2:3b", families=["llama"], capabilities=["completion"], projector=False
            ),
        ]
    ).start()
    yield api
    api.stop()


def runtime_for(home: Path, **env: str) -> Runtime:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(CONFIG, "utf-8")
    return Runtime.load(env={**os.environ, **env})


def test_precedence_flags_over_state_over_config(isolated_env: Path) -> None:
    runtime = runtime_for(isolated_env)
    launch = resolve(runtime, Choices())
    assert launch.prompt == "config prompt" and launch.settings.style == "config style"
    assert (launch.images, launch.remember_images, launch.settings.pace) == ("unicode", "", 1.5)

    state = UiState(prompt="state prompt", guesser="doodle:other", style="", images="halfcell")
    launch = resolve(runtime, Choices(), state)
    assert (launch.prompt, launch.settings.guesser) == ("state prompt", "doodle:other")
    assert launch.settings.style == ""  # an empty style remembered is a choice, not "unset"
    assert launch.settings.drawer == "doodle:doodle"  # "" in the state: not remembered
    assert launch.settings.guesser_prompt == "config question"
    assert (launch.images, launch.remember_images) == ("halfcell", "halfcell")

    flags = Choices(prompt="flag prompt", guesser="doodle:flag", images="sixel", style="ink")
    launch = resolve(runtime, flags, state, pace=0.0)
    assert (launch.prompt, launch.settings.guesser, launch.settings.style) == (
        "flag prompt",
        "doodle:flag",
        "ink",
    )
    assert (launch.images, launch.remember_images, launch.settings.pace) == ("sixel", "sixel", 0)


def test_a_resumed_game_sits_between_flags_and_state(isolated_env: Path) -> None:
    runtime = runtime_for(isolated_env)
    game = runtime.store.new_game("a fox", {"guesser": "doodle:saved", "style": "saved style"})
    state = UiState(prompt="state prompt", guesser="doodle:state", style="state style")
    launch = resolve(runtime, Choices(resume=game.name, style="flag style"), state)
    assert launch.resume is not None and launch.resume.path == game.path
    assert launch.resume.locked  # one writer: this process holds it now
    assert launch.prompt == "a fox"  # the game's own, not the state's
    assert launch.settings.guesser == "doodle:saved" and launch.settings.style == "flag style"
    launch.resume.unlock()


def test_choices_from_any_mapping_ignore_other_names() -> None:
    choices = Choices.of({"drawer": "a:b", "rounds": 3, "command": "run"})
    assert choices == Choices(drawer="a:b")
    base = Settings(drawer="x:y", guesser="g:h", style="s")
    assert choices.over(base) == Settings(drawer="a:b", guesser="g:h", style="s")


def test_key_needed_names_the_model_without_its_key(isolated_env: Path) -> None:
    settings = Settings(drawer="openai:gpt-image-1", guesser="doodle:doodle")
    needed = session.key_needed(runtime_for(isolated_env), settings)
    assert needed is not None
    kind, model_id, avail = needed
    assert (kind, model_id, avail.error().kind) == ("drawer", "openai:gpt-image-1", "auth")
    keyed = runtime_for(isolated_env, OPENAI_API_KEY="sk-test-" + "k" * 40)
    assert session.key_needed(keyed, settings) is None


def test_preflight_quick_refuses_an_unknown_model_in_one_line(isolated_env: Path) -> None:
    runtime = runtime_for(isolated_env)
    with pytest.raises(Unusable) as caught:
        session.preflight(runtime, Settings(drawer="nope:thing"), ("drawer",), network=False)
    assert str(caught.value).startswith("cannot use drawer nope:thing: ")
    assert "\n" not in str(caught.value)


def test_preflight_asks_the_service(isolated_env: Path, fake: FakeOllama) -> None:
    runtime = runtime_for(isolated_env, OLLAMA_HOST=fake.url)
    warnings: list[str] = []
    ok = Settings(guesser="ollama:llava")
    session.preflight(runtime, ok, ("guesser",), warn=warnings.append)
    assert warnings == []
    for model, why in (("llama3.2:3b", "cannot see images"), ("moondream", "is not pulled")):
        with pytest.raises(Unusable, match=why):
            session.preflight(runtime, Settings(guesser=f"ollama:{model}"), ("guesser",))
    # a busy service (503, still after retries) only warns: the turn itself will retry
    fake.script.extend([fake_busy()] * 20)
    session.preflight(runtime, ok, ("guesser",), warn=warnings.append)
    assert len(warnings) == 1 and "cannot use guesser ollama:llava" in warnings[0]


def fake_busy() -> Reply:
    return json_reply(503, {"error": "server busy"})


def test_checks_discover_and_remember(isolated_env: Path, fake: FakeOllama) -> None:
    runtime = runtime_for(isolated_env, OLLAMA_HOST=fake.url)
    checks = Checks(runtime, timeout=5.0)

    async def go() -> None:
        try:
            await checks.discover()
            await checks.check_all(("guesser",))
        finally:
            await runtime.aclose()

    asyncio.run(go())
    rows = {model.id: avail for _title, model, avail in checks.rows("guesser")}
    assert rows["ollama:llava"].ok
    assert any("minicpm-v" in model_id for model_id in rows)  # discovered: pulled, can see
    assert not rows["ollama:moondream"].ok and "not pulled" in rows["ollama:moondream"].reason
    assert checks.availability("ollama:llava", "guesser").ok
    assert ("guesser", "ollama:llava") in checks.checked
    assert not any(k[0] == "drawer" for k in checks.checked)  # only the kind asked for


def test_branch_keeps_the_rounds_up_to_the_one_chosen(isolated_env: Path) -> None:
    runtime = runtime_for(isolated_env)
    original = runtime.store.new_game("a fox", {"guesser": "doodle:saved"}, lock=True)
    for n in (1, 2):
        image = f"round-{n}.png"
        original.save_image(image, PNG)
        original.append(
            TurnRecord(2 * n - 1, n, "draw", "doodle:doodle", "ok", "x", output=image, image=image)
        )
        original.append(
            TurnRecord(
                2 * n, n, "describe", "doodle:saved", "ok", "?", image=image, output=f"caption {n}"
            )
        )
    original.unlock()
    copy = session.branch(runtime, original, 1)
    assert copy.path != original.path and copy.locked
    assert [(r.round, r.kind) for r in copy.records] == [(1, "draw"), (1, "describe")]
    assert copy.read_image("round-1.png") == PNG and not copy.has_image("round-2.png")
    reopened = GameDir.open(copy.path)  # on disk, not only in memory
    assert [r.output for r in reopened.records] == ["round-1.png", "caption 1"]
    assert reopened.first_prompt == "a fox"
    assert session.make_game(runtime, copy, resolve(runtime, Choices()).settings).rounds_done == 1
    copy.unlock()


def test_cli_run_refuses_what_the_session_cannot_start(
    isolated_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from telestrations import cli

    runtime = runtime_for(isolated_env)
    assert cli.main(["run", "--prompt", "", "--no-check"]) == 2
    assert "the first prompt is empty" in capsys.readouterr().err
    game = runtime.store.new_game("a fox", {})
    assert cli.main(["run", "--resume", game.name, "--prompt", "a cat", "--no-check"]) == 2
    assert "--prompt cannot be used with --resume" in capsys.readouterr().err
    again = GameDir.open(game.path)
    again.lock()  # refused, and the lock it took is given back: GameLocked otherwise
    again.unlock()
    assert cli.main(["run", "--guesser", "nope:x", "--no-check"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("telestrations: cannot use guesser nope:x: ") and err.count("\n") == 1
    assert [g.name for g in runtime.store.list()] == [game.name]  # none made by a refusal
