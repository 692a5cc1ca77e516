"""Hostile text in every place text enters; nothing of it may act on the terminal.

Escape sequences and control characters arrive through flags, the state file, a past game's
journal, model names a server lists, game folder names, captions and error bodies. The CLI
is run as a subprocess and the bytes it writes are checked; the TUI's screens are rendered
exactly as Textual would write them to the terminal and checked the same way. The terminal's
title in tmux is covered by ``test_e2e_hostile_tmux.py``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
import tomli_w
from rich.segment import ControlType, Segment
from textual import events
from textual.app import App
from textual.color import Color
from textual.content import Content
from textual.widgets import Input, Static

from telestrations.cli import build_parser
from telestrations.cli.commands import choices_from
from telestrations.providers.base import ModelInfo, ProviderContext
from telestrations.providers.registry import Registry
from telestrations.state import load_state, state_path
from telestrations.store import GameDir, Store
from telestrations.terminal import CleanStream, json_line, title_kept
from telestrations.tui.app import TelestrationsApp, launch_for
from telestrations.tui.screens.games import PastGames
from telestrations.tui.screens.picker import ModelPicker
from telestrations.tui.screens.viewer import ImageViewer
from telestrations.tui.text import NoControlCodes, PlainInput, one_line, plain_segments
from telestrations.tui.widgets.cards import ErrorCard, RoundCard
from telestrations.turns import TurnError, TurnRecord

from .fakes.ollama_api import FakeModel, FakeOllama
from .fakes.server import Reply, json_reply
from .test_tui_support import (
    FakeProvider,
    KeyedProvider,
    main_screen,
    make_app,
    make_runtime,
    palette_prompts,
    png_bytes,
    settle,
    wait_for,
)

OSC_TITLE = "\x1b]0;PWNED\x07"
HOSTILE = (
    f"a cat {OSC_TITLE}\x1b[2J\x1b[H on a mat\r\n"
    "second line\x9b31m red \x1bP+q544e\x1b\\ \x1b]8;;https://evil.example\x1b\\link"
    "\x1b]8;;\x1b\\ \u202eevil\u202c\x08\x7f end"
)
"""Retitle, clear the screen, home the cursor, 8-bit CSI, DCS query, hyperlink, bidi override,
backspace, DEL and a line break (no NUL: a command line cannot hold one)."""
CAPTION = f"{HOSTILE}\x00\x1b[?1049h\x1b[?25l"
"""What a hostile server answers: NUL, the alternate screen, a hidden cursor too."""
EVIL_MODEL = f"evil{OSC_TITLE}\x1b[2J"
SIZE = (120, 40)
TIMEOUT = 60

_DRAWN = re.compile(r"\x1b\[[0-9;]*[mH]")
"""What Textual itself writes while drawing a frame: colours (SGR) and cursor moves (CUP)."""


def controls_in(text: str, *, allowed: str = "\n") -> list[str]:
    """Every control character (C0, DEL, C1) and bidi override in ``text`` but ``allowed``."""
    return [
        ch
        for ch in text
        if ch not in allowed
        and (unicodedata.category(ch) == "Cc" or ch in "\u202a\u202b\u202c\u202d\u202e")
    ]


def assert_inert_output(data: bytes) -> None:
    """A subprocess's stdout or stderr: no ESC, BEL, C1 or any other control but newlines."""
    text = data.decode("utf-8")
    assert controls_in(text) == [], f"control characters reached the terminal: {text!r}"


def assert_inert_frame(frame: str) -> None:
    """A frame as Textual writes it: nothing but its own colours and cursor moves."""
    rest = _DRAWN.sub("", frame)
    assert controls_in(rest) == [], f"a frame carries control characters: {rest!r:.600}"
    assert "PWNED" not in frame and "\x1b]" not in frame and "\x1b[2J" not in frame


def frame(app: App[object]) -> str:
    """The current screen, every cell, exactly as the app would write it to the terminal."""
    update = app.screen._compositor.render_update(full=True)
    return update.render_segments(app.console)


# -- the CLI, as a subprocess -----------------------------------------------------------


def tele(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "telestrations", *args],
        capture_output=True,
        timeout=TIMEOUT,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def ollama() -> Iterator[FakeOllama]:
    """An Ollama that lists a hostile model name and answers with a hostile caption."""
    api = FakeOllama(
        [FakeModel("llava:latest", reply=lambda *_: CAPTION), FakeModel(f"{EVIL_MODEL}:latest")]
    ).start()
    yield api
    api.stop()


def test_run_with_a_hostile_prompt_style_and_caption(ollama: FakeOllama) -> None:
    env = {"OLLAMA_HOST": ollama.url}
    args = ["run", "--prompt", HOSTILE, "--style", HOSTILE, "--rounds", "1", "--no-check"]
    out = tele(*args, "--guesser", "ollama:llava", env=env)
    assert out.returncode == 0, out.stderr
    assert_inert_output(out.stdout)
    assert_inert_output(out.stderr)
    lines = out.stdout.decode().splitlines()
    turns = [line for line in lines if line.startswith("round")]
    assert len(turns) == 2, lines  # the caption's line break did not make a third line
    assert "a cat" in turns[1] and "second line" in turns[1] and "end" in turns[1]


def test_run_json_keeps_hostile_text_exact_but_escaped(ollama: FakeOllama) -> None:
    env = {"OLLAMA_HOST": ollama.url}
    args = ["run", "--prompt", HOSTILE, "--rounds", "1", "--json", "--no-check"]
    out = tele(*args, "--guesser", "ollama:llava", "--style", "", env=env)
    assert out.returncode == 0, out.stderr
    assert_inert_output(out.stdout)
    records = [json.loads(line) for line in out.stdout.decode().splitlines()]
    assert records[0]["input"] == HOSTILE  # lossless: every character is a JSON escape
    assert records[1]["output"] == CAPTION
    assert records[-1]["type"] == "end"


def test_hostile_model_names_from_a_server_listing(ollama: FakeOllama) -> None:
    env = {"OLLAMA_HOST": ollama.url}
    out = tele("models", env=env)
    assert out.returncode == 0, out.stderr
    assert_inert_output(out.stdout)
    assert_inert_output(out.stderr)
    shown = [line for line in out.stdout.decode().splitlines() if line.startswith("ollama:evil")]
    assert len(shown) == 1, out.stdout  # listed, on one line
    out = tele("models", "--json", env=env)
    assert_inert_output(out.stdout)
    ids = [m["id"] for m in json.loads(out.stdout)]
    assert f"ollama:{EVIL_MODEL}" in ids  # exact in JSON


def test_run_with_a_hostile_model_name(ollama: FakeOllama) -> None:
    env = {"OLLAMA_HOST": ollama.url}
    out = tele(
        "run", "--prompt", "a cat", "--rounds", "1", "--guesser", f"ollama:{EVIL_MODEL}", env=env
    )
    assert_inert_output(out.stdout)
    assert_inert_output(out.stderr)
    out = tele("run", "--prompt", "a cat", "--guesser", f"ollama:nope{OSC_TITLE}", env=env)
    assert out.returncode == 2
    assert_inert_output(out.stderr)
    assert out.stderr.decode().count("\n") == 1  # one line: telestrations: cannot use ...


def test_describe_prints_a_hostile_caption_and_a_hostile_error_body(
    ollama: FakeOllama, tmp_path: Path
) -> None:
    image = tmp_path / "in.png"
    image.write_bytes(png_bytes())
    env = {"OLLAMA_HOST": ollama.url}
    out = tele("describe", str(image), "--guesser", "ollama:llava", "--no-check", env=env)
    assert out.returncode == 0, out.stderr
    assert_inert_output(out.stdout)
    assert "a cat" in out.stdout.decode() and "end" in out.stdout.decode()
    for reply in (
        json_reply(400, {"error": HOSTILE}),
        Reply(400, f"<html><title>{HOSTILE}</title></html>", {"Content-Type": "text/html"}),
    ):
        ollama.script.append(reply)
        out = tele("describe", str(image), "--guesser", "ollama:llava", "--no-check", env=env)
        assert out.returncode == 1, out.stdout
        assert_inert_output(out.stdout)
        assert_inert_output(out.stderr)
        assert out.stderr.decode().startswith("telestrations: ")


def hostile_game(store: Store, folder_suffix: str = "") -> GameDir:
    """A past game whose journal holds hostile text everywhere: prompt, settings, model
    names, a caption, a revised prompt and an error message (as a server could send them)."""
    settings = {
        "drawer": "fake:painter",
        "guesser": "fake:eye",
        "style": HOSTILE,
        "guesser_system": HOSTILE,
        "guesser_prompt": HOSTILE,
    }
    game = store.new_game(HOSTILE, settings)
    if folder_suffix:
        renamed = game.path.with_name(game.path.name + folder_suffix)
        game.path.rename(renamed)
        game = GameDir.open(renamed)
    for rnd in (1, 2):
        name = f"{rnd:03d}-draw.png"
        game.save_image(name, png_bytes())
        extras = {"revised_prompt": HOSTILE}
        seq = len(game.records) + 1
        game.append(
            TurnRecord(
                seq,
                rnd,
                "draw",
                f"fake:{EVIL_MODEL}",
                "ok",
                HOSTILE,
                output=name,
                image=name,
                extras=extras,
                duration=0.1,
            )
        )
    game.append(
        TurnRecord(
            3,
            1,
            "describe",
            f"fake:{EVIL_MODEL}",
            "ok",
            HOSTILE,
            image="001-draw.png",
            output=CAPTION,
            duration=0.1,
        )
    )
    game.append(
        TurnRecord(
            4,
            2,
            "describe",
            "fake:eye",
            "failed",
            HOSTILE,
            image="002-draw.png",
            error=TurnError("server", HOSTILE, HOSTILE),
            duration=0.1,
        )
    )
    return GameDir.open(game.path)


def test_games_lists_hostile_prompts_and_folder_names(isolated_env: Path) -> None:
    store = Store(isolated_env / "data")
    hostile_game(store, folder_suffix=f"-{OSC_TITLE}\x1b[2J\nx")
    hostile_game(store)
    out = tele("games")
    assert out.returncode == 0, out.stderr
    assert_inert_output(out.stdout)
    assert_inert_output(out.stderr)
    lines = out.stdout.decode().splitlines()
    assert len(lines) == 2 and all("a cat" in line for line in lines), lines
    out = tele("export", "last", "-o", str(isolated_env / "out"))
    assert out.returncode == 0, out.stderr
    assert_inert_output(out.stdout)


def test_run_resumes_a_hostile_journal(isolated_env: Path) -> None:
    hostile_game(Store(isolated_env / "data"))
    doodles = ["--drawer", "doodle:doodle", "--guesser", "doodle:doodle"]
    out = tele("run", "--resume", "last", "--rounds", "1", *doodles)
    assert out.returncode == 0, out.stderr
    assert_inert_output(out.stdout)
    assert_inert_output(out.stderr)
    out = tele("run", "--resume", "last", "--rounds", "1", "--json", *doodles)
    assert out.returncode == 0, out.stderr
    assert_inert_output(out.stdout)
    records = [json.loads(line) for line in out.stdout.decode().splitlines()]
    assert records[0]["kind"] == "draw" and HOSTILE in records[0]["input"]  # the style, exact


def test_argument_errors_echo_hostile_values_harmlessly(isolated_env: Path) -> None:
    for args in (
        ["--images", HOSTILE],
        ["run", "--rounds", HOSTILE],
        ["run", "--resume", HOSTILE],
        ["export", HOSTILE],
        ["show", HOSTILE],
        ["batch", HOSTILE],
        ["batch", "--resume", HOSTILE],
        ["batch", "prompts.txt", "--pair", HOSTILE],
        ["describe", HOSTILE],
        ["keys", "delete", HOSTILE],
        ["keys", "set", HOSTILE],
        ["draw", HOSTILE, "-o", str(isolated_env / f"{OSC_TITLE}x" / "a.png")],
        ["--data-dir", f"/proc/{OSC_TITLE}/x", "games"],
    ):
        out = tele(*args)
        assert_inert_output(out.stdout)
        assert_inert_output(out.stderr)
        assert out.stderr.strip() or out.stdout.strip(), args


def test_clean_stream_and_json_line_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    stream = CleanStream(sys.stdout)
    stream.write(HOSTILE[:12])  # a sequence cut between two writes is harmless too
    stream.write(HOSTILE[12:] + "\n")
    stream.flush()
    out = capsys.readouterr().out
    assert controls_in(out) == [] and "a cat" in out and out.endswith("end\n")
    line = json_line({"x": HOSTILE})
    assert controls_in(line) == [] and json.loads(line) == {"x": HOSTILE}


def test_title_kept_pushes_and_pops_only_on_a_terminal(tmp_path: Path) -> None:
    written = tmp_path / "out"
    with open(written, "w") as fh:
        with title_kept(fh):
            fh.write("probe")
    assert written.read_text() == "probe"  # not a terminal: nothing added

    class Tty:
        def __init__(self) -> None:
            self.parts: list[str] = []

        def isatty(self) -> bool:
            return True

        def write(self, s: str) -> int:
            self.parts.append(s)
            return len(s)

        def flush(self) -> None:
            pass

    tty = Tty()
    with pytest.raises(RuntimeError), title_kept(tty):  # type: ignore[arg-type]
        tty.write("\x1b_Gprobe\x1b\\")
        raise RuntimeError("the probe failed")
    assert tty.parts == ["\x1b[22;0t", "\x1b_Gprobe\x1b\\", "\x1b[23;0t"]


def test_cli_module_has_every_command_in_the_hostile_tests() -> None:
    """The argument-error test above covers each subcommand that takes free text."""
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == {
        *("run", "batch", "draw", "describe", "models", "games", "export", "show", "keys")
    }


# -- the TUI, through the pilot ---------------------------------------------------------


class EvilProvider(FakeProvider):
    """The fake provider, plus models whose ids a hostile server could have listed."""

    PRESETS = (
        *FakeProvider.PRESETS,
        ModelInfo("fake", EVIL_MODEL, "guesser", note=HOSTILE, label=HOSTILE),
        ModelInfo("fake", f"draw{OSC_TITLE}", "drawer", note=HOSTILE),
    )


def evil_runtime(home: Path):  # type: ignore[no-untyped-def]
    fake = EvilProvider()
    runtime, _ = make_runtime(home, registry=Registry([fake]))
    keyed = KeyedProvider(ProviderContext(get_key=runtime.keyring.get), fake)
    runtime.registry.providers[keyed.name] = keyed
    return runtime, fake


def field_values(app: TelestrationsApp) -> dict[str, str]:
    return {f.id or "": f.value for f in app.screen.query(Input)}


async def test_hostile_launch_values_fill_one_line_fields(isolated_env: Path) -> None:
    runtime, _ = evil_runtime(isolated_env)
    state_file = state_path(runtime.data_dir)
    state_file.parent.mkdir(parents=True, exist_ok=True)
    hostile_state = {"prompt": HOSTILE, "style": HOSTILE, "guesser_system": HOSTILE}
    state_file.write_bytes(tomli_w.dumps(hostile_state).encode())
    args = build_parser().parse_args(["--guesser-prompt", HOSTILE])
    launch = launch_for(runtime, choices_from(args), load_state(state_file))
    assert launch.prompt == HOSTILE  # read as it was written
    app = TelestrationsApp(runtime, launch)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: field_values(app).get("prompt") == one_line(HOSTILE))
        values = field_values(app)
        for name in ("prompt", "style", "guesser-system", "guesser-prompt"):
            assert values[name] == one_line(HOSTILE), name
            assert "a cat" in values[name] and "second line" in values[name]
        assert_inert_frame(frame(app))
        for field in app.screen.query(Input):
            assert field.outer_size.height == 3  # the border is whole: one line inside


async def test_multi_line_paste_is_joined_not_cut(isolated_env: Path) -> None:
    runtime, _ = make_runtime(isolated_env)
    app = make_app(runtime, prompt="")
    async with app.run_test(size=SIZE) as pilot:
        field = app.screen.query_one("#prompt", Input)
        assert isinstance(field, PlainInput)
        field.focus()
        field.post_message(events.Paste("a red house\r\nunder a yellow sun\n\nby the sea\n"))
        await wait_for(pilot, lambda: field.value.endswith("by the sea"))
        assert field.value == "a red house under a yellow sun  by the sea"
        assert field.cursor_position == len(field.value)
        field.post_message(events.Paste(f" and {OSC_TITLE}a dog"))
        await wait_for(pilot, lambda: "a dog" in field.value)
        assert field.value.endswith("by the sea and a dog")
        await pilot.press("space", "x")  # typing still keeps spaces as typed
        assert field.value.endswith("a dog x")
        await pilot.press("enter")
        m = main_screen(app)
        await wait_for(pilot, lambda: m.game is not None)
        assert m.game.dir.first_prompt == field.value  # what was shown is what was started
        assert_inert_frame(frame(app))


async def test_a_hostile_past_game_opens_harmlessly(isolated_env: Path) -> None:
    runtime, _ = evil_runtime(isolated_env)
    game = hostile_game(runtime.store, folder_suffix=f"-{OSC_TITLE}")
    app = make_app(runtime, resume=game)
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        await wait_for(pilot, lambda: len(m.history.query(RoundCard)) == 2)
        await wait_for(pilot, lambda: len(m.history.query(ErrorCard)) == 1)
        await settle(pilot)  # thumbnails made (or their placeholders shown)
        assert field_values(app)["prompt"] == one_line(HOSTILE)
        assert_inert_frame(frame(app))
        await pilot.press("v")  # the viewer: title, caption, path
        await wait_for(pilot, lambda: isinstance(app.screen, ImageViewer))
        await wait_for(pilot, lambda: bool(app.screen.query("#viewer-image, #viewer-placeholder")))
        await pilot.pause()
        assert_inert_frame(frame(app))
        await pilot.press("escape")
        await pilot.press("p")  # past games: hostile folder name and prompt
        await wait_for(pilot, lambda: isinstance(app.screen, PastGames))
        await wait_for(pilot, lambda: bool(app.screen.games))  # type: ignore[attr-defined]
        await pilot.pause()  # the rows are drawn
        assert_inert_frame(frame(app))


async def test_hostile_model_names_in_pickers_palette_and_notices(isolated_env: Path) -> None:
    runtime, _ = evil_runtime(isolated_env)
    app = make_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        m = main_screen(app)
        m.history.focus()
        for key in ("g", "d"):
            await pilot.press(key)
            await wait_for(pilot, lambda: isinstance(app.screen, ModelPicker))
            picker = app.screen
            assert isinstance(picker, ModelPicker)
            for _ in picker.rows:  # every row highlighted in turn: the detail pane too
                await pilot.press("down")
                assert_inert_frame(frame(app))
            filter_field = picker.query_one("#picker-filter", Input)
            filter_field.post_message(events.Paste(f"ev{OSC_TITLE}"))
            await wait_for(pilot, lambda f=filter_field: bool(f.value))
            assert filter_field.value == "ev"
            assert_inert_frame(frame(app))
            await pilot.press("escape")
        notices = len(app._notifications)
        m.choose_model("guesser", f"fake:{EVIL_MODEL}")  # a notice names it
        await wait_for(pilot, lambda: len(app._notifications) > notices)
        await pilot.pause()  # and it is drawn
        assert_inert_frame(frame(app))
        await pilot.press("ctrl+p")
        await pilot.press(*"evil")
        await wait_for(pilot, lambda: bool(palette_prompts(app)))
        await pilot.pause()
        assert_inert_frame(frame(app))


async def test_the_line_filter_stops_what_a_widget_lets_through(isolated_env: Path) -> None:
    """The last line of defence: even text no call site cleaned never reaches the terminal."""
    runtime, _ = make_runtime(isolated_env)
    app = make_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        raw = Static(Content(HOSTILE), id="raw")
        await main_screen(app).mount(raw)
        app.notify(HOSTILE, markup=False)
        await wait_for(pilot, lambda: "second line" in frame(app))
        rendered = frame(app)
        assert "a cat" in rendered and "second line" in rendered
        assert controls_in(_DRAWN.sub("", rendered)) == []
    crash = plain_segments([Segment(f"{HOSTILE}\n"), Segment("\n")])
    assert "".join(s.text for s in crash).count("\n") == 3  # line breaks kept, nothing else
    assert controls_in("".join(s.text for s in crash)) == []
    sixel = Segment("\x1b7\x1bPq#0~\x1b\\\x1b8", control=[(ControlType.BELL,)])
    kept = NoControlCodes().apply([Segment(HOSTILE), sixel], Color(0, 0, 0))
    assert controls_in(kept[0].text) == [] and kept[0].text.startswith("a cat ]0;PWNED")
    assert kept[1] is sixel  # a segment Textual marked as control output passes untouched


async def test_a_crash_report_carries_no_control_codes(isolated_env: Path) -> None:
    runtime, _ = make_runtime(isolated_env)
    app = make_app(runtime)
    app._close_messages_no_wait = lambda: None  # type: ignore[method-assign]  (not running)
    try:
        raise RuntimeError(f"a provider said: {HOSTILE}")
    except RuntimeError:
        app._fatal_error()
    (report,) = app._exit_renderables
    rendered = "".join(seg.text for seg in report.segments)  # type: ignore[attr-defined]
    assert "a provider said: a cat" in rendered
    assert controls_in(rendered) == []
