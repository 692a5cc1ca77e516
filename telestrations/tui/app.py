"""The Textual app and :func:`run_app`, which ``telestrations`` (no subcommand) calls.

:mod:`telestrations.tui.images` imports textual-image at module level, before the app starts,
so it can still ask the terminal about graphics support and cell size.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.markup import escape
from textual.screen import Screen

from telestrations.game import Settings
from telestrations.providers.base import ModelKind
from telestrations.runtime import Runtime
from telestrations.state import UiState, load_state
from telestrations.store import GameDir
from telestrations.tui import images as _images  # noqa: F401  (textual-image before the app)
from telestrations.tui.images import open_in_system_viewer, usable_mode
from telestrations.tui.screens.help import HelpRow, HelpScreen, rows_from
from telestrations.tui.screens.main import Launch, MainScreen
from telestrations.tui.textual_fixes import fix_styles_cache_leak
from telestrations.tui.widgets.controls import ModelField
from telestrations.tui.widgets.history import History

log = logging.getLogger(__name__)


class TelestrationsApp(App[int]):
    """One main screen driving one game at a time."""

    CSS_PATH = "app.tcss"
    TITLE = "telestrations"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="quit", tooltip="Quit (the game stays on disk)"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="quit-now"),
    ]

    def _fatal_error(self) -> None:
        """Textual's crash report lists every frame's local variables, and a frame may hold
        a key or a caption: report the traceback without them."""
        from rich.segment import Segments
        from rich.traceback import Traceback

        self.bell()
        report = Traceback(show_locals=False, width=None)
        self._exit_renderables.append(Segments(self.console.render(report, self.console.options)))
        self._close_messages_no_wait()

    def __init__(self, runtime: Runtime, launch: Launch) -> None:
        fix_styles_cache_leak()
        super().__init__()
        self.runtime = runtime
        self.launch = launch
        self.main: MainScreen | None = None
        self._quitting = False

    def on_mount(self) -> None:
        if self.runtime.config.keymap:
            self.set_keymap(dict(self.runtime.config.keymap))
        self.main = MainScreen(self.runtime, self.launch)
        self.push_screen(self.main)

    # -- quitting --------------------------------------------------------------------------

    async def action_quit(self) -> None:
        """Cancel the turn in flight (the journal keeps every finished turn), save, exit."""
        if self._quitting:
            return
        self._quitting = True
        if self.main is not None:
            await self.main.stop_and_wait()
            await self.main.save_state()
        try:
            await self.runtime.aclose()
        except Exception:  # closing connections must not turn a quit into a crash
            log.debug("closing providers failed", exc_info=True)
        self.exit(0)

    @property
    def game_path(self) -> Path | None:
        """The folder of the game shown when the app ended, if any."""
        if self.main is not None and self.main.game is not None:
            return self.main.game.dir.path
        return None

    # -- helpers used by screens -----------------------------------------------------------

    def open_external(self, path: Path) -> None:
        """Open ``path`` in the system image viewer (in a thread), or say why it can't."""

        async def go() -> None:
            problem = await asyncio.to_thread(open_in_system_viewer, path)
            if problem is None:
                self.notify(f"Opened {path.name} in the system viewer.", markup=False)
            else:
                self.notify(problem, severity="warning", markup=False, timeout=8)

        self.run_worker(go(), group="open")

    def help_rows(self) -> list[HelpRow]:
        keymap = dict(self.runtime.config.keymap)
        return [
            *rows_from("Game", MainScreen.BINDINGS, keymap),  # type: ignore[arg-type]
            *rows_from("History", History.BINDINGS, keymap),  # type: ignore[arg-type]
            *rows_from("Model fields", ModelField.BINDINGS, keymap),  # type: ignore[arg-type]
            *rows_from("App", self.BINDINGS, keymap),  # type: ignore[arg-type]
            HelpRow("App", "Ctrl+P", "Command palette (every action by name)"),
            HelpRow("Viewer", "←, →", "Previous / next image"),
            HelpRow("Viewer", "o", "Open in the system viewer"),
            HelpRow("Viewer", "Esc, q, v", "Close the viewer"),
        ]

    def action_show_help_screen(self) -> None:
        self.push_screen(HelpScreen(self.help_rows()))

    # -- command palette -------------------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        main = self.main
        if main is not None and screen is main:
            run = main.run_action
            yield from (
                SystemCommand(
                    "game: start", "Start a game from the first prompt", lambda: run("start")
                ),
                SystemCommand(
                    "game: pause", "Pause after the turn in flight", lambda: run("pause")
                ),
                SystemCommand(
                    "game: resume", "Resume (retries a failed turn)", lambda: run("resume")
                ),
                SystemCommand("game: step one turn", "Play exactly one turn", lambda: run("step")),
                SystemCommand("game: stop", "Cancel the turn in flight", lambda: run("stop")),
                SystemCommand(
                    "game: new game", "Back to the first prompt", lambda: run("new_game")
                ),
                SystemCommand("game: past games", "Open a past game", lambda: run("past_games")),
                SystemCommand("model: choose drawer", "Drawer menu", lambda: run("pick('drawer')")),
                SystemCommand(
                    "model: choose guesser", "Guesser menu", lambda: run("pick('guesser')")
                ),
                SystemCommand(
                    "view: image viewer", "Selected or newest image, full size", lambda: run("view")
                ),
                SystemCommand(
                    "view: open in system viewer",
                    "Selected or newest image",
                    lambda: run("open_external"),
                ),
                SystemCommand(
                    "view: newest round",
                    "Jump to the newest round",
                    lambda: main.history.run_action("newest"),
                ),
                SystemCommand(
                    "view: first prompt", "Edit the first prompt", lambda: run("focus_prompt")
                ),
                SystemCommand("app: keys", "Every key binding", self.action_show_help_screen),
                SystemCommand("app: quit", "Quit; the game stays on disk", self.action_quit),
            )
            for provider in self.runtime.registry.providers.values():
                for model in provider.models():
                    shown = escape(model.id)  # ids come from config and servers: not markup
                    yield SystemCommand(
                        f"{model.kind}: {shown}",
                        f"Use {shown} as the {model.kind} from the next turn",
                        _chooser(main, model.kind, model.id),
                        discover=False,
                    )
        yield from super().get_system_commands(screen)


def _chooser(main: MainScreen, kind: ModelKind, model_id: str):  # type: ignore[no-untyped-def]
    def choose() -> None:
        main.choose_model(kind, model_id)

    return choose


# -- entry point ----------------------------------------------------------------------------


def launch_from(args: argparse.Namespace, runtime: Runtime, state: UiState) -> Launch:
    """Command line first, then (for a resumed game) its header, then the state file, then
    config defaults."""
    defaults = runtime.config.game
    resume = None
    base = Settings(
        drawer=state.drawer or defaults.drawer,
        guesser=state.guesser or defaults.guesser,
        style=defaults.style if state.style is None else state.style,
        guesser_system=(
            defaults.guesser_system if state.guesser_system is None else state.guesser_system
        ),
        guesser_prompt=(
            defaults.guesser_prompt if state.guesser_prompt is None else state.guesser_prompt
        ),
    )
    prompt = state.prompt or defaults.prompt
    if getattr(args, "resume", None):
        resume = GameDir.open(runtime.store.find(args.resume))
        base = Settings.from_saved(resume.header.get("settings"), base)
        prompt = resume.first_prompt
    changes = {
        name: getattr(args, name)
        for name in ("drawer", "guesser", "style", "guesser_system", "guesser_prompt")
        if getattr(args, name, None) is not None
    }
    settings = Settings(**{**base.__dict__, **changes, "pace": runtime.config.ui.pace})
    if getattr(args, "prompt", None):
        prompt = args.prompt
    images_flag = getattr(args, "images", None)
    asked = images_flag or state.images or runtime.config.ui.images
    images, notice = usable_mode(asked)
    remember = images_flag or state.images
    if notice and remember == asked:  # a mode that failed is not remembered
        remember = "" if state.images == asked else state.images
    return Launch(
        prompt=prompt,
        settings=settings,
        images=images,
        remember_images=remember,
        resume=resume,
        notice=notice,
    )


def run_app(args: argparse.Namespace, runtime: Runtime) -> int:
    """Run the TUI until the person quits; returns the exit status."""
    state = load_state(runtime.state_file)
    app = TelestrationsApp(runtime, launch_from(args, runtime, state))
    code = app.run()
    if app.game_path is not None:
        print(f"game kept in {app.game_path}")
    return int(code or 0)
