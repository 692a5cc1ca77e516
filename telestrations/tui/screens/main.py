"""The main screen: controls, history and status, laid out, and the handlers that route keys
and engine messages to :class:`~telestrations.tui.game_control.GameControl`, which drives the
one game shown (worker, keys, checks, state file).

Every turn an engine message shows is already journalled. Settings changes replace
``game.settings`` whole, so the next turn uses them, and are remembered in the state file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Input
from textual.worker import Worker, WorkerState

from telestrations.game import Game, Settings
from telestrations.memory import memory_note
from telestrations.providers.base import Availability, ModelKind
from telestrations.runtime import Runtime
from telestrations.session import Launch
from telestrations.store import GameDir
from telestrations.tui import menus
from telestrations.tui.bindings import key_for
from telestrations.tui.frame_gate import FrameGate
from telestrations.tui.game_control import GameControl, Then
from telestrations.tui.later import Later
from telestrations.tui.messages import (
    CaptionSoFar,
    GameStateChanged,
    TurnBegan,
    TurnProgressed,
    TurnRecorded,
)
from telestrations.tui.screens.dialogs import ConfirmDialog
from telestrations.tui.screens.main_bindings import MAIN_BINDINGS
from telestrations.tui.text import clean
from telestrations.tui.widgets.cards import Thumb, ThumbSpec
from telestrations.tui.widgets.controls import Controls, ModelField
from telestrations.tui.widgets.drift import DriftBar
from telestrations.tui.widgets.footer import PinnedFooter
from telestrations.tui.widgets.history import History
from telestrations.tui.widgets.status import StatusLine, Turn

__all__ = ["Launch", "MainScreen"]

log = logging.getLogger(__name__)

_SETTING_FIELDS = {
    "style": "style",
    "guesser-system": "guesser_system",
    "guesser-prompt": "guesser_prompt",
}
"""Text field id → the :class:`Settings` field it edits."""


class MainScreen(Screen[None]):
    """Controls on the left, history on the right, status and footer below."""

    BINDING_GROUP_TITLE = "Game"
    BINDINGS: ClassVar[list[BindingType]] = MAIN_BINDINGS

    def __init__(self, runtime: Runtime, launch: Launch) -> None:
        super().__init__()
        self.runtime = runtime
        self.launch = launch
        self.images = launch.images
        self.control = GameControl(self, runtime, launch.settings)
        self.menu = menus.ModelMenu(self)
        self._bindings_signature: tuple[str, bool] | None = None
        self._memory_noted: set[str] = set()
        """Drawers already said to draw from text alone in memory play (said once each)."""
        self.frames: FrameGate | None = None
        """Holds screen updates to a few a second while turns come fast."""

    @property
    def game(self) -> Game | None:
        return self.control.game

    @property
    def settings(self) -> Settings:
        return self.control.settings

    @property
    def until_converged(self) -> bool:
        """The game stops when the chain converges or cycles (keeping, issue 11)."""
        return self.control.until_converged

    @property
    def running(self) -> bool:
        """A game worker is alive (a turn may be in flight)."""
        return self.control.running

    # -- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        cfg = self.runtime.config.ui
        spec = ThumbSpec(self.runtime.store.games_dir, self.images, cfg.thumbnail_width)
        with Horizontal(id="body"):
            yield Controls(self.launch.prompt, self.settings, id="controls")
            yield History(spec, cfg.max_cards, id="history")
        yield DriftBar(id="drift")  # keeping
        yield StatusLine(id="status")
        yield PinnedFooter()

    @property
    def controls(self) -> Controls:
        return self.query_one(Controls)

    @property
    def history(self) -> History:
        return self.query_one(History)

    @property
    def status_line(self) -> StatusLine:
        return self.query_one(StatusLine)

    @property
    def prompt_field(self) -> Input:
        return self.query_one("#prompt", Input)

    def _spec(self, folder: Path) -> ThumbSpec:
        return ThumbSpec(folder, self.images, self.runtime.config.ui.thumbnail_width)

    async def on_mount(self) -> None:
        self.show_models()
        menus.relabel(self, save=False)
        self.controls.show_memory(self.settings.memory)
        for line in self.control.provider_failures():
            self.notify(clean(line, oneline=True), severity="error", timeout=15, markup=False)
        if self.launch.notice:
            self.notify(clean(self.launch.notice), severity="warning", timeout=12, markup=False)
        gone = self.control.shut_down_line()  # a saved choice or default never used silently
        if gone is not None:
            self.notify(clean(gone[1], oneline=True), severity="warning", timeout=15, markup=False)
        if self.launch.resume is not None:
            await self.open_game(self.launch.resume)
        else:
            field = self.prompt_field
            field.focus()
            field.select_all()  # typing replaces the default prompt instead of appending
            self._update_status()
        self.run_worker(Later(self._background_checks), group="checks", exit_on_error=False)

    def on_unmount(self) -> None:
        self._frames(False)
        # The app ended some other way than quit (a crash, a test's end): the game's loop
        # still ends, keeping the turn being written.
        self.control.engine.close()

    FAST_TURN = 0.5
    """Seconds: turns quicker than this hold the screen to :attr:`FrameGate.RATE` updates a
    second (:mod:`..frame_gate`); a slower turn, a pause or a stop lets them through again."""

    def _frames(self, on: bool) -> None:
        if self.frames is None:
            if not on:
                return
            self.frames = FrameGate(self.app)
        self.frames.set(on)

    async def _background_checks(self) -> None:
        warnings = await self.control.background_checks()
        self.show_models()
        for line in warnings:
            self.notify(clean(line, oneline=True), severity="warning", timeout=12, markup=False)

    # -- settings --------------------------------------------------------------------------

    def show_models(self) -> None:
        for kind in ("drawer", "guesser"):
            model_id = getattr(self.settings, kind)
            self.controls.show_model(kind, model_id, self.control.availability(model_id, kind))

    def apply_settings(self, settings: Settings) -> None:
        """The next turn uses ``settings``; remembered in the state file shortly after."""
        self.control.apply(settings)
        self.control.schedule_save()

    @on(Input.Changed)
    def _field_changed(self, event: Input.Changed) -> None:
        field = event.input.id or ""
        if field in _SETTING_FIELDS:
            change: dict[str, Any] = {_SETTING_FIELDS[field]: event.value}
            self.apply_settings(replace(self.settings, **change))
            if field.startswith("guesser-"):
                menus.relabel(self)
        elif field == "prompt":
            self.control.schedule_save()

    def schedule_save(self) -> None:
        """Write the state file shortly (a theme picked in the palette, say)."""
        self.control.schedule_save()

    async def save_state(self) -> None:
        """Write the state file (in a thread); a failure is logged, never fatal."""
        state = self.control.ui_state(self.controls.value("prompt"), self.launch.remember_images)
        await self.control.save_state(state)

    # -- game lifecycle --------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("start", "pause", "resume"):
            return action == self.control.primary()
        if action == "stop":
            return True if self.running else None
        if action == "step":
            return None if self.running else True
        return True

    async def open_game(self, game_dir: GameDir) -> None:
        """Show a game from disk, paused and ready to continue (Enter) with the models and
        prompts it was played with (as ``--resume`` does); changing them still works.
        A game another process is playing is refused with a notice naming it."""
        if not await self.control.open(game_dir):
            return
        for field, name in _SETTING_FIELDS.items():
            self.controls.set_value(field, getattr(self.settings, name))
        self.controls.show_preset(self.settings.preset)
        self.controls.show_memory(self.settings.memory)
        self.control.schedule_save()
        self.show_models()
        records = list(game_dir.records)
        await self.history.reset(self._spec(game_dir.path), records, game_dir.first_prompt)
        await self._show_drift()  # keeping
        self.controls.set_value("prompt", game_dir.first_prompt)
        for warning in game_dir.warnings:
            self.notify(clean(warning, oneline=True), severity="warning", markup=False)
        self.history.focus()
        self._update_status()

    def _run(self, *, step: bool = False) -> None:
        self.control.run(step=step)
        self._update_status()

    async def _start_new(self, prompt: str) -> bool:
        picture = menus.start_picture(prompt)
        if picture is not None:
            return await self._start_from_picture(picture)
        game_dir = await self.control.create(prompt)
        if game_dir is None:
            return False
        await self.history.reset(self._spec(game_dir.path), first_prompt=prompt)
        await self._show_drift()  # keeping
        self.history.focus()
        self.control.schedule_save()
        return True

    def action_start(self) -> None:
        # Enter is a priority binding: it can overtake keys still queued for the prompt field
        # (fast typing, a paste). Queue the start behind them, so the whole prompt is read.
        self.prompt_field.call_later(self._start_from_prompt)

    async def _start_from_prompt(self) -> None:
        if self.game is not None or self.running:
            return
        prompt = self.controls.value("prompt").strip()
        if not prompt:
            self.notify(
                f"Type a first prompt, then press {key_for(self, 'start')}.",
                severity="warning",
                markup=False,
            )
            self.prompt_field.focus()
            return
        gone = self.control.shut_down_line()
        if gone is not None:  # refuse, rather than pay for a call that cannot work
            self.notify(clean(gone[1], oneline=True), severity="error", markup=False)
            self.action_pick(gone[0])
            return
        if not self.control.with_keys(self._start_from_prompt):
            return
        if await self._start_new(prompt):
            self._run()

    async def _start_from_picture(self, path: Path) -> bool:
        """A game whose first turn describes the picture at ``path`` (``@path`` typed as the
        first prompt); the picture is checked and copied into the game first."""
        game_dir = await self.control.create("", start_image=path)
        if game_dir is None:
            return False
        records = list(game_dir.records)
        await self.history.reset(self._spec(game_dir.path), records, game_dir.first_prompt)
        await self._show_drift()  # keeping
        self.history.focus()
        self.control.schedule_save()
        return True

    def action_pause(self) -> None:
        if self.game is None:
            return
        self.control.pause()
        self._update_status()

    def action_resume(self) -> None:
        if self.game is None:
            return
        if self.running:  # pausing: the turn in flight finishes, then the game goes on
            self.control.resume_pending = True
            self._update_status()
            return
        if not self.control.with_keys(self.action_resume):
            return
        if isinstance(self.focused, Input):
            self.history.focus()
        self._run()

    async def action_step(self) -> None:
        if self.running:
            self.notify("A turn is already running.", severity="warning")
            return
        if not self.control.with_keys(self.action_step):
            return
        if self.game is None:
            prompt = self.controls.value("prompt").strip()
            if not prompt:
                self.notify("Type a first prompt first.", severity="warning")
                return
            if not await self._start_new(prompt):
                return
        self._run(step=True)

    def action_stop(self) -> None:
        if self.running:
            self.control.stop()
            self._update_status()

    async def stop_and_wait(self) -> None:
        """Cancel the turn in flight and wait until the worker has ended."""
        await self.control.stop_and_wait()

    def action_new_game(self) -> None:
        async def go(confirmed: bool | None = True) -> None:
            if not confirmed:
                return
            await self.control.stop_and_wait()
            self.control.forget()
            await self.history.reset(self._spec(self.runtime.store.games_dir))
            self.status_line.set_turn(None)
            await self._show_drift()  # keeping
            self._update_status()
            field = self.prompt_field
            field.focus()
            field.select_all()

        if self.running:
            self.app.push_screen(
                ConfirmDialog("A game is running. Stop it and start a new one?"), go
            )
        else:
            self.run_worker(Later(go), group="flow")

    # -- models ----------------------------------------------------------------------------

    def action_pick_preset(self) -> None:
        menus.pick_preset(self)

    def action_pick(self, kind: ModelKind) -> None:
        self.menu.open(kind)

    def choose_model(self, kind: ModelKind, model_id: str) -> None:
        """Use ``model_id`` from the next turn; ask for its key if it has none."""
        self.menu.choose(kind, model_id)

    def ask_key(self, model_id: str, availability: Availability, then: Then | None = None) -> None:
        """Ask for the key ``model_id`` lacks, then call ``then`` (the control's dialog flow)."""
        self.control.ask_key(model_id, availability, then=then)

    @on(ModelField.Open)
    def _open_picker(self, event: ModelField.Open) -> None:
        self.action_pick(event.kind)

    # -- engine events ---------------------------------------------------------------------

    def on_turn_began(self, message: TurnBegan) -> None:
        if message.game_serial != self.control.serial:
            return
        e = message.event
        self.status_line.set_turn(Turn(e.round, e.kind, e.model, e.started_at))

    def on_turn_progressed(self, message: TurnProgressed) -> None:
        if message.game_serial != self.control.serial:
            return
        self.status_line.set_progress(message.event.progress.text)

    def on_caption_so_far(self, message: CaptionSoFar) -> None:
        if message.game_serial != self.control.serial:
            return
        e = message.take()
        if e is not None:
            self.history.show_partial(e.round, e.model, e.text)

    def queue_counter(self) -> Callable[[], int]:
        """How many messages this screen and its history have not handled yet, as a function
        the engine's thread may call: the widgets are found here, on the UI's thread (no DOM
        query from the other one), and the count is a snapshot, good enough to hold the game
        back while the screen is behind."""
        history = self.history

        def queued() -> int:
            return self.message_queue_size + history.message_queue_size

        return queued

    async def on_turn_recorded(self, message: TurnRecorded) -> None:
        try:
            await self._turn_recorded(message)
        finally:
            if message.handled is not None:
                message.handled()  # the engine may play on (game_control.Backlog)

    async def _turn_recorded(self, message: TurnRecorded) -> None:
        if message.game_serial != self.control.serial:
            return
        record = message.record
        self._frames(self.running and record.ok and record.duration < self.FAST_TURN)
        self.status_line.turn_done(record.round, record.kind)
        await self.history.add(record)
        note = memory_note(record, self._memory_noted)
        if note:
            self.notify(note, severity="warning", markup=False)
        if record.ok and record.kind == "describe" and not self.drift_bar.add(record):
            await self._show_drift()  # keeping: the whole chain, when one caption will not do
        self._update_status()
        if not record.ok and record.error is not None and record.error.kind == "auth":
            kind: ModelKind = "drawer" if record.kind == "draw" else "guesser"
            self.control.ask_key_after_auth_failure(record.model, kind)

    def on_game_state_changed(self, message: GameStateChanged) -> None:
        if message.game_serial != self.control.serial:
            return
        if message.state != "running":
            self._frames(False)
            self.status_line.set_turn(None)
        self._update_status()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is not self.control.worker:
            return
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            log.error("game worker failed: %r", error)
            self.notify(
                f"The game stopped: {clean(str(error), oneline=True, limit=200)}",
                severity="error",
                markup=False,
            )
        if event.state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            self._frames(False)
            self.status_line.set_turn(None)
            self.call_later(self._catch_up)
            self.control.worker_ended(event.state)
        self._update_status()

    async def _catch_up(self) -> None:
        """Show any journalled turn the history lacks (its event was lost to a stop)."""
        if self.game is None:
            return
        for record in list(self.game.records):
            if not self.history.has(record):
                await self.history.add(record)
        self._update_status()

    def _update_status(self) -> None:
        idle = f"type a first prompt, then {key_for(self, 'start')}"
        status = self.control.status(idle, mark=self._drift_mark())
        self.status_line.set_status(status)
        self.history.set_state(status.state)
        # The footer recomposes on refresh_bindings: only do it when a binding changed.
        signature = (self.control.primary(), self.running)
        if signature != self._bindings_signature:
            self._bindings_signature = signature
            self.refresh_bindings()

    # -- view ------------------------------------------------------------------------------

    def action_view(self, index: int | None = None) -> None:
        menus.view_image(self, index)

    def on_thumb_clicked(self, message: Thumb.Clicked) -> None:
        self.action_view(message.index)

    def action_open_external(self) -> None:
        menus.open_external(self)

    def action_past_games(self) -> None:
        menus.past_games(self, ask_first=self.running)

    def action_focus_prompt(self) -> None:
        self.prompt_field.focus()

    def action_leave_field(self) -> None:
        if isinstance(self.focused, Input):
            self.history.focus()

    def action_help(self) -> None:
        self.app.action_show_help_screen()  # type: ignore[attr-defined]

    # -- keeping (issue 11): drift, convergence, export ------------------------------------

    @property
    def drift_bar(self) -> DriftBar:
        return self.query_one(DriftBar)

    async def _show_drift(self) -> None:
        bar = self.drift_bar
        bar.set_until_converged(self.control.until_converged)
        game = self.game
        await bar.show_chain(game.dir.first_prompt if game else "", game.records if game else [])

    def _drift_mark(self) -> str:
        conv = self.drift_bar.convergence
        return "" if conv is None else conv.describe()

    def action_toggle_converged(self) -> None:
        menus.toggle_converged(self)

    def action_export(self) -> None:
        menus.export_current(self)

    def action_branch(self) -> None:
        menus.branch_here(self)

    def action_toggle_memory(self) -> None:
        menus.toggle_memory(self)

    def export_game(self, path: Path) -> None:
        """Export the game in ``path`` in a format the person picks (see :mod:`..menus`)."""
        menus.export_game(self, path)
