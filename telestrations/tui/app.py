"""The Textual app and :func:`run_app`, which ``telestrations`` (no subcommand) calls.

:mod:`telestrations.tui.images` imports textual-image at module level, before the app starts,
so it can still ask the terminal about graphics support and cell size.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.dom import DOMNode
from textual.filter import LineFilter
from textual.markup import escape
from textual.screen import Screen

from telestrations.config import unknown_keymap_ids
from telestrations.providers.base import ModelKind
from telestrations.runtime import Runtime
from telestrations.session import Choices, Launch, resolve, unsaved_note
from telestrations.state import UiState
from telestrations.tui import images as _images  # noqa: F401  (textual-image before the app)
from telestrations.tui import menus
from telestrations.tui.bindings import (
    HelpRow,
    declared,
    expand_keymap,
    palette_entries,
    rows_from,
)
from telestrations.tui.collector import QuietCollector, hold_during_screen_updates
from telestrations.tui.images import open_in_system_viewer, usable_mode
from telestrations.tui.later import Later
from telestrations.tui.paint_fixes import (
    fix_blank_container_lines,
    fix_first_scroll_repaint,
    fix_partial_renders,
    fix_scrollbar_render,
)
from telestrations.tui.screens.dialogs import ConfirmDialog, KeyDialog
from telestrations.tui.screens.export import ExportDialog
from telestrations.tui.screens.games import PastGames
from telestrations.tui.screens.help import HelpScreen
from telestrations.tui.screens.main import MainScreen
from telestrations.tui.screens.picker import ModelPicker
from telestrations.tui.screens.presets import PresetPicker
from telestrations.tui.screens.viewer import ImageViewer
from telestrations.tui.text import NoControlCodes, clean, plain_segments
from telestrations.tui.textual_fixes import fix_strip_divide_cycle, fix_styles_cache_leak
from telestrations.tui.thumbnailer import thumbnailer
from telestrations.tui.widgets.controls import ModelField
from telestrations.tui.widgets.history import History

log = logging.getLogger(__name__)


class TelestrationsApp(App[int]):
    """One main screen driving one game at a time."""

    CSS_PATH = "app.tcss"
    TITLE = "telestrations"
    BINDING_GROUP_TITLE = "App"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="quit", tooltip="Quit (the game stays on disk)"),
        Binding(
            "ctrl+q",
            "quit",
            "Quit",
            show=False,
            priority=True,
            id="quit-now",
            tooltip="Quit, from anywhere (even while typing)",
        ),
        Binding(
            "ctrl+p",
            "command_palette",
            "palette",  # as Textual names it in the footer
            show=False,
            priority=True,
            id="command-palette",
            tooltip="Command palette (every action by name)",
        ),
    ]

    def _fatal_error(self) -> None:
        """Textual's crash report lists every frame's local variables, and a frame may hold
        a key or a caption: report the traceback without them (and without any control
        character an exception's message carried)."""
        from rich.segment import Segments
        from rich.traceback import Traceback

        self.bell()
        report = Traceback(show_locals=False, width=None)
        segments = plain_segments(self.console.render(report, self.console.options))
        self._exit_renderables.append(Segments(segments))
        self._close_messages_no_wait()

    def __init__(self, runtime: Runtime, launch: Launch) -> None:
        fix_styles_cache_leak()
        fix_strip_divide_cycle()
        fix_partial_renders()
        fix_blank_container_lines()
        fix_first_scroll_repaint()
        fix_scrollbar_render()
        hold_during_screen_updates()
        super().__init__()
        self.runtime = runtime
        self.launch = launch
        self.main: MainScreen | None = None
        self._quitting = False
        self._no_control_codes = NoControlCodes()
        self._collector = QuietCollector()
        keymap = dict(runtime.config.keymap)
        if keymap:
            self.set_keymap(expand_keymap(keymap, (c.BINDINGS for c in binding_classes())))

    def get_line_filters(self) -> Sequence[LineFilter]:
        """Textual's filters, then one that keeps any control character some widget still
        let through (a toast, the palette, a label we missed) from reaching the terminal."""
        return [*super().get_line_filters(), self._no_control_codes]

    def on_mount(self) -> None:
        known = {b.id for cls in binding_classes() for b in declared(cls.BINDINGS) if b.id}
        unknown = sorted(set(self.runtime.config.keymap) - known)
        if unknown:
            self.notify(
                clean(
                    f"[keymap] in config.toml: no binding called {', '.join(unknown)}", oneline=True
                ),
                severity="warning",
                timeout=15,
                markup=False,
            )
        if self.launch.theme in self.available_themes:
            self.theme = self.launch.theme
        self.main = MainScreen(self.runtime, self.launch)
        self.push_screen(self.main)
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        # Once the first screen is up: no full collection walks what the app started with.
        self.call_after_refresh(self._collector.start)
        # The thumbnail processes start beside the first screen, not when the first card
        # waits for its picture (a process start is a fraction of a second).
        self.call_after_refresh(
            self.run_worker, thumbnailer().warm, thread=True, exit_on_error=False
        )

    async def on_event(self, event: events.Event) -> None:
        # Before the event is handled: while a fast game holds the screen (FrameGate), what a
        # key or the mouse does is painted at once, not at the gate's next period.
        if isinstance(event, events.InputEvent) and self.main is not None:
            frames = self.main.frames
            if frames is not None:
                frames.input()
        await super().on_event(event)

    def on_unmount(self) -> None:
        self._collector.stop()

    def _theme_changed(self, _theme: object) -> None:
        """A theme picked in the palette is remembered, like models and prompts."""
        if self.main is not None and self.main.is_attached:
            self.main.schedule_save()

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
            if self.main is not None:
                await self.main.control.close()  # the engine's loop and its connections too
            else:
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

    @property
    def unsaved_note(self) -> str | None:
        """What to say at exit when a finished turn could not be saved (it dies with us)."""
        game = self.main.game if self.main is not None else None
        return unsaved_note(game) if game is not None else None

    # -- helpers used by screens -----------------------------------------------------------

    def open_external(self, path: Path) -> None:
        """Open ``path`` in the system image viewer (in a thread), or say why it can't."""

        async def go() -> None:
            problem = await asyncio.to_thread(open_in_system_viewer, path)
            if problem is None:
                shown = clean(path.name, oneline=True, limit=120)
                self.notify(f"Opened {shown} in the system viewer.", markup=False)
            else:
                shown = clean(problem, oneline=True, limit=500)
                self.notify(shown, severity="warning", markup=False, timeout=8)

        self.run_worker(Later(go), group="open")

    def help_rows(self) -> list[HelpRow]:
        """Every described binding of every screen, keys as the keymap has them now."""
        keymap = self._keymap
        return [
            row
            for cls in binding_classes()
            for row in rows_from(cls.BINDING_GROUP_TITLE or cls.__name__, cls.BINDINGS, keymap)
        ]

    def action_show_help_screen(self) -> None:
        self.push_screen(HelpScreen(self.help_rows()))

    # -- command palette -------------------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The bindings of ``screen`` (and the app) by name, then one entry per model."""
        for entry in palette_entries(screen):  # keys come from config: never markup
            yield SystemCommand(escape(entry.title), escape(entry.help), entry.run)
        main = self.main
        if main is not None and screen is main:
            for provider in self.runtime.registry.providers.values():
                for model in provider.models():
                    shown = escape(clean(model.id, oneline=True, limit=80))  # not markup
                    use = f"Use {shown} as the {model.kind} from the next turn"
                    avail = provider.availability(model)
                    if not avail.ok:  # e.g. a plugin that failed: say why, as the menus do
                        use = f"unusable: {escape(clean(avail.reason, oneline=True, limit=120))}"
                    yield SystemCommand(
                        f"{model.kind}: {shown}",
                        use,
                        _chooser(main, model.kind, model.id),
                        discover=False,
                    )
            for preset in self.runtime.config.preset_table().values():
                shown = escape(clean(preset.name, oneline=True, limit=40))
                about = escape(clean(preset.about, oneline=True, limit=100))
                yield SystemCommand(
                    f"preset: {shown}",
                    f"Ask the guesser this way from the next turn{': ' if about else ''}{about}",
                    _preset_chooser(main, preset.name),
                    discover=False,
                )
        yield from super().get_system_commands(screen)


def binding_classes() -> list[type[DOMNode]]:
    """Every class that declares bindings, in help order (each titles its group): the help
    screen, the keymap check and the docs test read this list."""
    return [
        MainScreen,
        History,
        ModelField,
        TelestrationsApp,
        ImageViewer,
        ModelPicker,
        PresetPicker,
        PastGames,
        ExportDialog,
        KeyDialog,
        ConfirmDialog,
        HelpScreen,
    ]


def check_keymap(runtime: Runtime) -> None:
    """Raise :class:`ConfigError` for a ``[keymap]`` id no binding has."""
    known = {b.id for cls in binding_classes() for b in declared(cls.BINDINGS) if b.id}
    unknown_keymap_ids(runtime.config.path, runtime.config.keymap, known)


def _chooser(main: MainScreen, kind: ModelKind, model_id: str):  # type: ignore[no-untyped-def]
    def choose() -> None:
        main.choose_model(kind, model_id)

    return choose


def _preset_chooser(main: MainScreen, name: str):  # type: ignore[no-untyped-def]
    def choose() -> None:
        menus.choose_preset(main, name)

    return choose


# -- entry point ----------------------------------------------------------------------------


def launch_for(runtime: Runtime, choices: Choices, state: UiState) -> Launch:
    """The choices resolved for the TUI: as for any game, and with an image mode this
    terminal can show (a mode that failed is said once, and not remembered)."""
    return resolve(runtime, choices, state, usable=usable_mode)


def run_app(runtime: Runtime, launch: Launch) -> int:
    """Run the TUI, built from resolved choices (:func:`telestrations.session.resolve`),
    until the person quits; returns the exit status."""
    check_keymap(runtime)  # a bad [keymap] id is refused before the app takes the terminal
    app = TelestrationsApp(runtime, launch)
    try:
        code = app.run()
    finally:
        thumbnailer().close()  # before the interpreter waits for the threads that use them
    note = app.unsaved_note
    if note is not None:
        print(f"telestrations: {note}", file=sys.stderr)
    if app.game_path is not None:
        print(f"game kept in {clean(str(app.game_path), oneline=True, limit=0)}")
    return exit_status(app, code)


def exit_status(app: App[int], code: int | None) -> int:
    """The process's exit status: a crash (Textual printed its report and set a return code,
    while ``run`` returned None) is never 0."""
    if app.return_code:
        return app.return_code
    return int(code or 0)
