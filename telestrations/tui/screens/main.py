"""The main screen: controls, history and status, and the one game it drives.

The engine runs in a Textual worker (exclusive, group ``game``): pause lets the worker end by
itself after the turn in flight, resume starts it again, stop cancels it (the cancellation
reaches the provider's HTTP call). Engine events become messages (:mod:`..messages`); every
turn they show is already journalled. Settings changes replace ``game.settings`` whole, so the
next turn uses them, and are remembered in the state file.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Input
from textual.worker import Worker, WorkerState

from telestrations.game import Game, Settings
from telestrations.keys import mask
from telestrations.providers.base import Availability, ModelKind
from telestrations.providers.registry import split_id
from telestrations.runtime import Runtime
from telestrations.state import UiState, save_state
from telestrations.store import GameDir, GameLocked
from telestrations.tui.bindings import key_for
from telestrations.tui.messages import (
    CaptionSoFar,
    GameStateChanged,
    TurnBegan,
    TurnProgressed,
    TurnRecorded,
    to_message,
)
from telestrations.tui.screens.dialogs import ConfirmDialog, KeyDialog
from telestrations.tui.screens.games import PastGames
from telestrations.tui.screens.picker import ModelPicker, PickerRow
from telestrations.tui.screens.viewer import ImageViewer
from telestrations.tui.text import clean
from telestrations.tui.widgets.cards import Thumb, ThumbSpec
from telestrations.tui.widgets.controls import Controls, ModelField
from telestrations.tui.widgets.history import History
from telestrations.tui.widgets.status import Status, StatusLine, Turn

log = logging.getLogger(__name__)

CHECK_TIMEOUT = 4.0
"""Seconds a background availability check or discovery may take before it is ignored."""

_SETTING_FIELDS = {
    "style": "style",
    "guesser-system": "guesser_system",
    "guesser-prompt": "guesser_prompt",
}
"""Text field id → the :class:`Settings` field it edits."""


@dataclass(frozen=True)
class Launch:
    """What the app starts with (command line, then state file, then config)."""

    prompt: str
    settings: Settings
    images: str = "halfcell"
    remember_images: str = ""
    """The ``images`` value to keep in the state file ("" = none chosen explicitly)."""
    resume: GameDir | None = None


class MainScreen(Screen[None]):
    """Controls on the left, history on the right, status and footer below."""

    BINDING_GROUP_TITLE = "Game"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "enter",
            "start",
            "Start",
            priority=True,
            id="start",
            tooltip="Start a game from the first prompt",
        ),
        Binding(
            "enter",
            "pause",
            "Pause",
            priority=True,
            id="pause",
            tooltip="Pause after the turn in flight",
        ),
        Binding(
            "enter",
            "resume",
            "Resume",
            priority=True,
            id="resume",
            tooltip="Resume (a failed turn is retried)",
        ),
        Binding("s", "step", "Step", id="step", tooltip="Play exactly one turn"),
        Binding("x", "stop", "Stop", id="stop", tooltip="Cancel the turn in flight and stop"),
        Binding("n", "new_game", "New", id="new-game", tooltip="New game (first prompt)"),
        Binding("d", "pick('drawer')", "Drawer", id="pick-drawer", tooltip="Choose the drawer"),
        Binding("g", "pick('guesser')", "Guesser", id="pick-guesser", tooltip="Choose the guesser"),
        Binding(
            "v",
            "view",
            "View",
            id="view-image",
            tooltip="View the selected (or newest) image full size",
        ),
        Binding(
            "o",
            "open_external",
            "Open",
            show=False,
            id="open-image",
            tooltip="Open the selected (or newest) image in the system viewer",
        ),
        Binding(
            "p", "past_games", "Games", show=False, id="past-games", tooltip="Open a past game"
        ),
        Binding(
            "slash",
            "focus_prompt",
            "Prompt",
            show=False,
            id="focus-prompt",
            tooltip="Edit the first prompt",
        ),
        Binding(
            "escape",
            "leave_field",
            "Leave field",
            show=False,
            id="leave-field",
            tooltip="Leave a text field (single-key bindings work again)",
        ),
        Binding("question_mark", "help", "Help", id="help", tooltip="Every key"),
    ]

    def __init__(self, runtime: Runtime, launch: Launch) -> None:
        super().__init__()
        self.runtime = runtime
        self.launch = launch
        self.settings = launch.settings
        self.images = launch.images
        self.game: Game | None = None
        self.worker: Worker[object] | None = None
        self.serial = 0
        self._resume_pending = False
        self._checked: dict[tuple[str, str], Availability] = {}
        self._save_timer = None
        self._picker: ModelPicker | None = None
        self._bindings_signature: tuple[str, bool] | None = None

    # -- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        cfg = self.runtime.config.ui
        spec = ThumbSpec(self.runtime.store.games_dir, self.images, cfg.thumbnail_width)
        with Horizontal(id="body"):
            yield Controls(self.launch.prompt, self.settings, id="controls")
            yield History(spec, cfg.max_cards, id="history")
        yield StatusLine(id="status")
        yield Footer()

    @property
    def controls(self) -> Controls:
        return self.query_one(Controls)

    @property
    def history(self) -> History:
        return self.query_one(History)

    @property
    def status_line(self) -> StatusLine:
        return self.query_one(StatusLine)

    async def on_mount(self) -> None:
        self._show_models()
        for failure in self.runtime.registry.failures:
            self.notify(
                clean(
                    f"provider {failure.name} could not start: {failure.error} "
                    f"(check [providers.{failure.name}] in config.toml)",
                    oneline=True,
                ),
                severity="error",
                timeout=15,
                markup=False,
            )
        if self.launch.resume is not None:
            await self.open_game(self.launch.resume)
        else:
            self.query_one("#prompt", Input).focus()
            self._update_status()
        self.run_worker(self._background_checks(), group="checks", exit_on_error=False)

    # -- settings --------------------------------------------------------------------------

    def _show_models(self) -> None:
        for kind in ("drawer", "guesser"):
            model_id = getattr(self.settings, kind)
            self.controls.show_model(kind, model_id, self._availability(model_id, kind))

    def _availability(self, model_id: str, kind: ModelKind) -> Availability:
        _, quick = self.runtime.availability(model_id, kind)
        if not quick.ok:
            return quick
        return self._checked.get((kind, model_id), quick)

    def _apply_settings(self, settings: Settings) -> None:
        """The next turn uses ``settings``; remembered in the state file shortly after."""
        self.settings = settings
        if self.game is not None:
            self.game.settings = settings  # replaced whole, read at the start of each turn
        self._schedule_save()

    @on(Input.Changed)
    def _field_changed(self, event: Input.Changed) -> None:
        field = event.input.id or ""
        if field in _SETTING_FIELDS:
            self._apply_settings(replace(self.settings, **{_SETTING_FIELDS[field]: event.value}))
        elif field == "prompt":
            self._schedule_save()

    def ui_state(self) -> UiState:
        return UiState(
            prompt=self.controls.value("prompt"),
            drawer=self.settings.drawer,
            guesser=self.settings.guesser,
            style=self.settings.style,
            guesser_system=self.settings.guesser_system,
            guesser_prompt=self.settings.guesser_prompt,
            images=self.launch.remember_images,
        )

    def _schedule_save(self) -> None:
        if self._save_timer is not None:
            self._save_timer.stop()
        self._save_timer = self.set_timer(0.4, self._save_soon)

    def _save_soon(self) -> None:
        self._save_timer = None
        self.run_worker(self.save_state(), group="state", exclusive=True)

    async def save_state(self) -> None:
        """Write the state file (in a thread); a failure is logged, never fatal."""
        state = self.ui_state()
        try:
            await asyncio.to_thread(save_state, self.runtime.state_file, state)
        except OSError as exc:
            log.warning("cannot save %s: %s", self.runtime.state_file, exc)

    # -- game lifecycle --------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """A game worker is alive (a turn may be in flight)."""
        return self.worker is not None and self.worker.state in (
            WorkerState.PENDING,
            WorkerState.RUNNING,
        )

    def _primary(self) -> str:
        """What Enter does now: start, pause or resume."""
        if self.game is None:
            return "start"
        if self.running:
            if self.game.pause_requested and not self._resume_pending:
                return "resume"
            return "pause"
        return "resume"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("start", "pause", "resume"):
            return action == self._primary()
        if action == "stop":
            return True if self.running else None
        if action == "step":
            return None if self.running else True
        return True

    def _new_game_object(self, game_dir: GameDir, *, same: bool = False) -> Game:
        """A game object on ``game_dir``; ``same``: it continues the current one (after a
        stop), so late events of the old object still count: they are journalled turns."""
        game = Game(
            game_dir,
            self.runtime.models(),
            self.settings,
            self.runtime.config.game.limits(),
            price_of=self.runtime.price_of,
        )
        if not same:
            self.serial += 1
        serial = self.serial
        game.subscribe(lambda event: self.post_message(to_message(serial, event)))
        self.game = game
        return game

    def _release(self, keep: GameDir | None = None) -> None:
        """Let other processes play the game this screen held (unless it is ``keep``)."""
        if self.game is not None and self.game.dir is not keep:
            self.game.dir.unlock()

    async def open_game(self, game_dir: GameDir) -> None:
        """Show a game from disk, paused and ready to continue (Enter) with the models and
        prompts it was played with (as ``--resume`` does); changing them still works.
        A game another process is playing is refused with a notice naming it."""
        if self.game is not None and self.game.dir.path == game_dir.path:
            self.game.dir.unlock()  # the same game read again: this object takes the lock
        try:
            await asyncio.to_thread(game_dir.lock)
        except GameLocked as exc:
            self.notify(
                clean(str(exc), oneline=True), title="Not opened", severity="error", markup=False
            )
            return
        except OSError as exc:  # read-only media: nobody can write it, so show it anyway
            self.notify(
                clean(f"{game_dir.name} is read-only here: {exc.strerror or exc}", oneline=True),
                severity="warning",
                markup=False,
            )
        self._release(keep=game_dir)
        settings = Settings.from_saved(game_dir.header.get("settings"), self.settings)
        for field, name in _SETTING_FIELDS.items():
            self.controls.set_value(field, getattr(settings, name))
        self._apply_settings(settings)
        self._show_models()
        game = self._new_game_object(game_dir)
        game.pause()  # idle → paused: Enter continues from the next turn
        spec = ThumbSpec(game_dir.path, self.images, self.runtime.config.ui.thumbnail_width)
        await self.history.reset(spec, list(game_dir.records))
        self.controls.set_value("prompt", game_dir.first_prompt)
        for warning in game_dir.warnings:
            self.notify(clean(warning, oneline=True), severity="warning", markup=False)
        self.history.focus()
        self._update_status()

    def _run(self, *, step: bool = False) -> None:
        assert self.game is not None
        if self.game.state == "stopped":  # a stopped engine cannot run again: reopen it
            self._new_game_object(self.game.dir, same=True)
        game = self.game
        assert game is not None
        self._resume_pending = False
        self.worker = self.run_worker(
            game.step() if step else game.run(),
            name="step" if step else "game",
            group="game",
            exclusive=True,
            exit_on_error=False,
        )
        self._update_status()

    def _key_needed(self) -> tuple[str, Availability] | None:
        for kind in ("drawer", "guesser"):
            model_id = getattr(self.settings, kind)
            _, avail = self.runtime.availability(model_id, kind)  # type: ignore[arg-type]
            if not avail.ok and avail.error().kind == "auth":
                return model_id, avail
        return None

    def _with_keys(self, then: Callable[[], Awaitable[None] | None]) -> bool:
        """True when both models have their keys; else ask for one, then call ``then``."""
        needed = self._key_needed()
        if needed is None:
            return True
        self.ask_key(*needed, then=then)
        return False

    def ask_key(
        self,
        model_id: str,
        availability: Availability,
        then: Callable[[], Awaitable[None] | None] | None = None,
    ) -> None:
        """Open the key dialog for ``model_id``'s provider; store the key, then call ``then``."""
        key_name = split_id(model_id)[0]

        async def done(value: str | None) -> None:
            if value is None:
                self.notify("No key stored.", markup=False)
                return
            try:
                await self.runtime.store_key(key_name, value)
            except Exception as exc:  # a bad keys file, a provider that fails to rebuild
                log.warning("storing the %s key failed: %s", key_name, type(exc).__name__)
                self.notify(
                    f"Could not store the key: {clean(str(exc), oneline=True)}",
                    severity="error",
                    markup=False,
                )
                return
            shown = mask(value)
            del value  # no frame that can fail later holds the key (crash reports list locals)
            self._checked.clear()
            self._show_models()
            name = clean(key_name, oneline=True, limit=40)
            self.notify(f"Stored the {name} key ({shown}).", markup=False)
            if then is not None:
                self.call_later(then)

        self.app.push_screen(
            KeyDialog(key_name, model_id, availability.reason, self.runtime.keyring.store.path),
            done,
        )

    def action_start(self) -> None:
        # Enter is a priority binding: it can overtake keys still queued for the prompt field
        # (fast typing, a paste). Queue the start behind them, so the whole prompt is read.
        self.query_one("#prompt", Input).call_later(self._start_from_prompt)

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
            self.query_one("#prompt", Input).focus()
            return
        if not self._with_keys(self._start_from_prompt):
            return
        if await self._start_new(prompt):
            self._run()

    async def _start_new(self, prompt: str) -> bool:
        settings = {k: getattr(self.settings, k) for k in Settings.__dataclass_fields__}
        try:
            game_dir = await asyncio.to_thread(
                self.runtime.store.new_game, prompt, settings, lock=True
            )
        except OSError as exc:
            where = exc.filename or self.runtime.store.games_dir
            self.notify(
                clean(f"Cannot create the game folder in {where}: {exc.strerror or exc}"),
                title="Not started",
                severity="error",
                timeout=15,
                markup=False,
            )
            return False
        self._release()
        self._new_game_object(game_dir)
        spec = ThumbSpec(game_dir.path, self.images, self.runtime.config.ui.thumbnail_width)
        await self.history.reset(spec)
        self.history.focus()
        self._schedule_save()
        return True

    def action_pause(self) -> None:
        if self.game is None:
            return
        self._resume_pending = False
        self.game.pause()
        self._update_status()

    def action_resume(self) -> None:
        if self.game is None:
            return
        if self.running:  # pausing: the turn in flight finishes, then the game goes on
            self._resume_pending = True
            self._update_status()
            return
        if not self._with_keys(self.action_resume):
            return
        if isinstance(self.focused, Input):
            self.history.focus()
        self._run()

    async def action_step(self) -> None:
        if self.running:
            self.notify("A turn is already running.", severity="warning")
            return
        if not self._with_keys(self.action_step):
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
        if self.game is not None and self.running:
            self._resume_pending = False
            self.game.stop("stopped by you")
            if self.worker is not None:
                self.worker.cancel()
            self._update_status()

    async def stop_and_wait(self) -> None:
        """Cancel the turn in flight and wait until the worker has ended."""
        worker = self.worker
        if self.game is not None and self.running:
            self.game.stop("quit")
        if worker is not None and worker.state in (WorkerState.PENDING, WorkerState.RUNNING):
            worker.cancel()
            try:
                await worker.wait()
            except Exception:  # WorkerCancelled / WorkerFailed: the outcome is on disk already
                pass

    def action_new_game(self) -> None:
        async def go(confirmed: bool | None = True) -> None:
            if not confirmed:
                return
            await self.stop_and_wait()
            self._release()
            self.game = None
            self.serial += 1  # drop late events from the old game
            await self.history.reset(
                ThumbSpec(
                    self.runtime.store.games_dir,
                    self.images,
                    self.runtime.config.ui.thumbnail_width,
                )
            )
            self.status_line.set_turn(None)
            self._update_status()
            field = self.query_one("#prompt", Input)
            field.focus()
            field.select_all()

        if self.running:
            self.app.push_screen(
                ConfirmDialog("A game is running. Stop it and start a new one?"), go
            )
        else:
            self.run_worker(go(), group="flow")

    def action_pick(self, kind: ModelKind) -> None:
        current = getattr(self.settings, kind)
        picker = ModelPicker(kind, current, self._picker_rows(kind))
        self._picker = picker

        def chosen(model_id: str | None) -> None:
            self._picker = None
            if model_id:
                self.choose_model(kind, model_id)

        self.app.push_screen(picker, chosen)
        self.run_worker(self._check_kind(kind), group="checks-picker", exit_on_error=False)

    def choose_model(self, kind: ModelKind, model_id: str) -> None:
        """Use ``model_id`` from the next turn; ask for its key if it has none."""
        if model_id == getattr(self.settings, kind):
            return
        self._apply_settings(replace(self.settings, **{kind: model_id}))
        avail = self._availability(model_id, kind)
        self.controls.show_model(kind, model_id, avail)
        shown = clean(model_id, oneline=True, limit=80)
        self.notify(f"{kind.capitalize()}: {shown} (from the next turn)", markup=False)
        if not avail.ok and avail.error().kind == "auth":
            self.ask_key(model_id, avail, then=self._show_models)

    def _picker_rows(self, kind: ModelKind) -> list[PickerRow]:
        rows = []
        for provider in self.runtime.registry.providers.values():
            for model in provider.models():
                if model.kind == kind:
                    avail = self._checked.get((kind, model.id)) or provider.availability(model)
                    rows.append(PickerRow(provider.title, model, avail))
        return rows

    # -- background checks -----------------------------------------------------------------

    async def _background_checks(self) -> None:
        """Discover models (e.g. pulled in Ollama) and check the chosen pair, never blocking."""

        async def discover(provider: object) -> None:
            try:
                found = await asyncio.wait_for(provider.discover(), CHECK_TIMEOUT)  # type: ignore[attr-defined]
                remember = getattr(provider, "remember_discovered", None)
                if remember is not None and found:
                    remember(found)
            except Exception as exc:
                log.debug("discovery failed for %s: %s", getattr(provider, "name", "?"), exc)

        await asyncio.gather(*(discover(p) for p in self.runtime.registry.providers.values()))
        await asyncio.gather(
            *(self._check(kind, getattr(self.settings, kind)) for kind in ("drawer", "guesser"))
        )
        self._show_models()

    async def _check_kind(self, kind: ModelKind) -> None:
        jobs = []
        for provider in self.runtime.registry.providers.values():
            for model in provider.models():
                if model.kind == kind and (kind, model.id) not in self._checked:
                    if provider.availability(model).ok:
                        jobs.append(self._check(kind, model.id))
        await asyncio.gather(*jobs)
        if self._picker is not None and self._picker.kind == kind and self._picker.is_attached:
            self._picker.update_rows(self._picker_rows(kind))

    async def _check(self, kind: ModelKind, model_id: str) -> None:
        try:
            provider, model = self.runtime.registry.resolve(model_id, kind)
        except Exception:
            return
        if not provider.availability(model).ok:
            return
        try:
            self._checked[(kind, model_id)] = await asyncio.wait_for(
                provider.check(model), CHECK_TIMEOUT
            )
        except Exception as exc:
            log.debug("check of %s failed: %s", model_id, exc)

    # -- engine events ---------------------------------------------------------------------

    def on_turn_began(self, message: TurnBegan) -> None:
        if message.game_serial != self.serial:
            return
        e = message.event
        self.status_line.set_turn(Turn(e.round, e.kind, e.model, e.started_at))

    def on_turn_progressed(self, message: TurnProgressed) -> None:
        if message.game_serial != self.serial:
            return
        self.status_line.set_progress(message.event.progress.text)

    def on_caption_so_far(self, message: CaptionSoFar) -> None:
        if message.game_serial != self.serial:
            return
        e = message.event
        self.history.show_partial(e.round, e.model, e.text)

    async def on_turn_recorded(self, message: TurnRecorded) -> None:
        if message.game_serial != self.serial:
            return
        record = message.record
        self.status_line.turn_done(record.round, record.kind)
        await self.history.add(record)
        self._update_status()
        if not record.ok and record.error is not None and record.error.kind == "auth":
            kind: ModelKind = "drawer" if record.kind == "draw" else "guesser"
            _, avail = self.runtime.availability(record.model, kind)
            if not avail.ok and avail.error().kind == "auth":
                self.ask_key(record.model, avail)

    def on_game_state_changed(self, message: GameStateChanged) -> None:
        if message.game_serial != self.serial:
            return
        if message.state != "running":
            self.status_line.set_turn(None)
        self._update_status()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is not self.worker:
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
            self.status_line.set_turn(None)
            self.call_later(self._catch_up)
            if (
                event.state == WorkerState.SUCCESS
                and self._resume_pending
                and self.game is not None
                and self.game.state == "paused"
            ):
                self._run()
            self._resume_pending = False
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
        game = self.game
        if game is None:
            status = Status(
                state="idle", reason=f"type a first prompt, then {key_for(self, 'start')}"
            )
        else:
            spent, unknown = game.spent
            state = game.state
            if self._resume_pending and self.running:
                state = "running"
            status = Status(
                state=state,
                reason=game.reason,
                rounds=game.rounds_done,
                spent=spent,
                unknown_cost=unknown,
                folder=game.dir.name,
                pausing=game.pause_requested and not self._resume_pending,
            )
        self.status_line.set_status(status)
        # The footer recomposes on refresh_bindings: only do it when a binding changed.
        signature = (self._primary(), self.running)
        if signature != self._bindings_signature:
            self._bindings_signature = signature
            self.refresh_bindings()

    # -- view ------------------------------------------------------------------------------

    def action_view(self, index: int | None = None) -> None:
        if self.game is None:
            self.notify("No image yet.", markup=False)
            return
        rounds = self.history.round_entries()
        if index is not None:
            entry = self.history.entries[index]
        else:
            entry = self.history.image_entry()
        if entry is None or entry not in rounds:
            self.notify("No image yet.", markup=False)
            return
        # The viewer uses the best protocol the terminal has (half-block or unicode without one).
        viewer = ImageViewer(self.game.dir.path, rounds, rounds.index(entry), "auto")
        self.app.push_screen(viewer)

    def on_thumb_clicked(self, message: Thumb.Clicked) -> None:
        self.action_view(message.index)

    def action_open_external(self) -> None:
        entry = self.history.image_entry() if self.game is not None else None
        if entry is None or self.game is None:
            self.notify("No image yet.", markup=False)
            return
        self.app.open_external(self.game.dir.path / entry.image)  # type: ignore[attr-defined]

    def action_past_games(self) -> None:
        async def chosen(path: Path | None) -> None:
            if path is None:
                return
            await self.stop_and_wait()
            try:
                game_dir = await asyncio.to_thread(GameDir.open, path)
            except (OSError, LookupError) as exc:
                self.notify(clean(str(exc), oneline=True), severity="error", markup=False)
                return
            await self.open_game(game_dir)

        self.app.push_screen(PastGames(self.runtime.store), chosen)

    def action_focus_prompt(self) -> None:
        self.query_one("#prompt", Input).focus()

    def action_leave_field(self) -> None:
        if isinstance(self.focused, Input):
            self.history.focus()

    def action_help(self) -> None:
        self.app.action_show_help_screen()  # type: ignore[attr-defined]

    @on(ModelField.Open)
    def _open_picker(self, event: ModelField.Open) -> None:
        self.action_pick(event.kind)
