"""The game the main screen drives, the key dialog flow and the state file, kept apart from
the screen's widgets so that :class:`~telestrations.tui.screens.main.MainScreen` only lays
out and routes.

The engine plays on a loop of its own in a thread (:mod:`.engine_loop`), so the UI's layout
and repaint passes never hold up the next request; a Textual worker (exclusive, group
``game``) waits for it: pause lets the game end by itself after the turn in flight, resume
starts it again, stop cancels the worker, which cancels the game on its loop (the
cancellation reaches the provider's HTTP call) and waits for it to end. Engine events become
messages (:mod:`.messages`, posted thread-safely, in order) tagged with a serial, so late
events of a game no longer shown are dropped. The use cases
themselves (creating, opening, checking) are :mod:`telestrations.session`'s.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from textual.timer import Timer
from textual.worker import Worker, WorkerState

from telestrations import session
from telestrations.embeddings import Embedder, EmbeddingError, embedder_for
from telestrations.game import CaptionGrowing, Event, Game, Settings
from telestrations.keys import mask
from telestrations.providers.base import Availability, ModelKind
from telestrations.providers.listings import age_text
from telestrations.providers.registry import split_id
from telestrations.runtime import Runtime
from telestrations.state import UiState, save_state
from telestrations.store import GameDir, GameLocked
from telestrations.tui.engine_loop import EngineLoop
from telestrations.tui.later import Later
from telestrations.tui.messages import CaptionSoFar, Newest, TurnRecorded, to_message
from telestrations.tui.screens.dialogs import KeyDialog
from telestrations.tui.text import clean
from telestrations.tui.widgets.status import Status

if TYPE_CHECKING:
    from telestrations.tui.screens.main import MainScreen

log = logging.getLogger(__name__)

CHECK_TIMEOUT = 4.0
"""Seconds a background availability check or discovery may take before it is ignored."""


def _embedder(runtime: Runtime) -> Embedder | None:
    """The optional semantic drift measure of ``[game] embeddings`` (keeping, issue 11)."""
    try:
        return embedder_for(runtime.config.game.embeddings, os.environ, runtime.keyring.get)
    except EmbeddingError as exc:
        log.warning("no semantic drift measure: %s", exc)
        return None


Then = Callable[[], Awaitable[None] | None]


class Backlog:
    """Finished turns the engine has reported that the screen has not handled yet.

    The engine's thread adds one per turn, the screen takes it away once the card is up. On
    a busy machine a fast game (a local model, ``pace = 0``) can report turns faster than
    the screen handles them; unbounded, that queue grew without end, and a key (queued
    behind it on the screen) waited for all of it: 30 s and more in the tests under load.
    Past :attr:`HIGH` the engine waits before its next turn (:attr:`Game.behind`).
    """

    HIGH = 8
    """Turns (four rounds) the screen may be behind; a blocked UI still sees the game go on."""
    DEEP = 40
    """Messages the screen and its history may have queued: each card mounted queues a
    restyle of the history, and a fast game on a busy machine queued hundreds of them."""

    def __init__(self, queued: Callable[[], int] = lambda: 0) -> None:
        self._lock = threading.Lock()
        self._count = 0
        self._queued = queued

    def add(self) -> None:
        with self._lock:
            self._count += 1

    def done(self) -> None:
        with self._lock:
            self._count = max(0, self._count - 1)

    def behind(self) -> bool:
        """Read by the engine before each turn (:attr:`Game.behind`), on its thread."""
        if self._count > self.HIGH:
            return True
        try:
            return self._queued() > self.DEEP
        except Exception:  # a widget gone at the end of the app: the game need not wait
            return False


class GameControl:
    """One game at a time: its engine object, the worker playing it, the chosen settings."""

    def __init__(self, screen: MainScreen, runtime: Runtime, settings: Settings) -> None:
        self.screen = screen
        self.runtime = runtime
        self.settings = settings
        self.game: Game | None = None
        self.worker: Worker[object] | None = None
        self.engine = EngineLoop()
        """Where the game plays: a loop of its own, started with the first game."""
        self.serial = 0
        """Tags the messages of the game shown; bumped to drop a previous game's events."""
        self.resume_pending = False
        self._save_timer: Timer | None = None
        self.checks = session.Checks(runtime, timeout=CHECK_TIMEOUT)
        self.until_converged = runtime.config.game.limits().until_converged  # keeping
        self.embedder = _embedder(runtime)  # keeping

    @property
    def running(self) -> bool:
        """A game worker is alive (a turn may be in flight)."""
        return self.worker is not None and self.worker.state in (
            WorkerState.PENDING,
            WorkerState.RUNNING,
        )

    def primary(self) -> str:
        """What Enter does now: start, pause or resume."""
        if self.game is None:
            return "start"
        if self.running:
            if self.game.pause_requested and not self.resume_pending:
                return "resume"
            return "pause"
        return "resume"

    def apply(self, settings: Settings) -> None:
        """The next turn uses ``settings`` (replaced whole, read at the start of each turn)."""
        self.settings = settings
        if self.game is not None:
            self.game.settings = settings

    # -- the engine object ---------------------------------------------------------------

    def attach(self, game_dir: GameDir, *, same: bool = False) -> Game:
        """A game object on ``game_dir``; ``same``: it continues the current one (after a
        stop), so late events of the old object still count: they are journalled turns."""
        limits = replace(self.runtime.config.game.limits(), until_converged=self.until_converged)
        game = session.make_game(
            self.runtime, game_dir, self.settings, limits, embedder=self.embedder
        )
        if not same:
            self.serial += 1
        serial = self.serial
        screen = self.screen

        newest = Newest()
        backlog = Backlog(screen.queue_counter())

        def bridge(event: Event) -> None:  # engine event → message, on the screen's queue
            if isinstance(event, CaptionGrowing):
                if newest.put(event):  # else the message on its way shows this text
                    screen.post_message(CaptionSoFar(serial, event, newest.take))
                return
            message = to_message(serial, event)
            if isinstance(message, TurnRecorded):
                backlog.add()
                message.handled = backlog.done
            screen.post_message(message)

        game.subscribe(bridge)
        game.behind = backlog.behind
        self.game = game
        return game

    def release(self, keep: GameDir | None = None) -> None:
        """Let other processes play the game held here (unless it is ``keep``)."""
        if self.game is not None and self.game.dir is not keep:
            self.game.dir.unlock()

    def forget(self) -> None:
        """No game shown any more; its late events are dropped."""
        self.release()
        self.game = None
        self.serial += 1

    async def lock(self, game_dir: GameDir) -> bool:
        """Take ``game_dir`` for this process; False (with a notice) when another plays it."""
        if self.game is not None and self.game.dir.path == game_dir.path:
            self.game.dir.unlock()  # the same game read again: the new object takes the lock
        try:
            await asyncio.to_thread(game_dir.lock)
        except GameLocked as exc:
            self.screen.notify(
                clean(str(exc), oneline=True), title="Not opened", severity="error", markup=False
            )
            return False
        except OSError as exc:  # read-only media: nobody can write it, so show it anyway
            self.screen.notify(
                clean(f"{game_dir.name} is read-only here: {exc.strerror or exc}", oneline=True),
                severity="warning",
                markup=False,
            )
        return True

    async def open(self, game_dir: GameDir) -> bool:
        """Take ``game_dir`` with the models and prompts it was played with, paused (Enter
        continues from its next turn); False when another process plays it."""
        if not await self.lock(game_dir):
            return False
        self.release(keep=game_dir)
        self.apply(session.saved_settings(self.runtime, game_dir, self.settings))
        self.attach(game_dir).pause()  # idle → paused
        return True

    async def create(self, prompt: str, start_image: Path | None = None) -> GameDir | None:
        """A new game folder for ``prompt`` (in a thread), or one that starts from the picture
        ``start_image``; None, with a notice, if it fails."""
        try:
            if start_image is not None:
                game_dir = await asyncio.to_thread(
                    session.start_from_image, self.runtime, start_image, self.settings
                )
            else:
                game_dir = await asyncio.to_thread(
                    session.new_game, self.runtime, prompt, self.settings
                )
        except session.BadStart as exc:
            self.screen.notify(
                clean(str(exc), oneline=True), title="Not started", severity="error", markup=False
            )
            return None
        except OSError as exc:
            where = exc.filename or self.runtime.store.games_dir
            self.screen.notify(
                clean(f"Cannot create the game folder in {where}: {exc.strerror or exc}"),
                title="Not started",
                severity="error",
                timeout=15,
                markup=False,
            )
            return None
        self.release()
        self.attach(game_dir)
        return game_dir

    async def branch(self, round_no: int) -> GameDir | None:
        """A new game holding the current one's rounds up to ``round_no``, with the current
        choices, after the current game stops (in a thread); None, with a notice, if not."""
        game = self.game
        if game is None:
            return None
        await self.stop_and_wait()
        try:
            return await asyncio.to_thread(
                session.branch, self.runtime, game.dir, round_no, self.settings
            )
        except (session.BadStart, GameLocked, OSError) as exc:
            self.screen.notify(
                clean(str(exc), oneline=True), title="Not branched", severity="error", markup=False
            )
            return None

    # -- the worker ------------------------------------------------------------------------

    def run(self, *, step: bool = False) -> None:
        """Play (or play one turn of) the current game in the game worker."""
        assert self.game is not None
        if self.game.state == "stopped":  # a stopped engine cannot run again: reopen it
            self.attach(self.game.dir, same=True)
        game = self.game
        assert game is not None
        self.resume_pending = False
        self.worker = self.screen.run_worker(
            self.engine.run(game.step if step else game.run),
            name="step" if step else "game",
            group="game",
            exclusive=True,
            exit_on_error=False,
        )

    def pause(self) -> None:
        if self.game is not None:
            self.resume_pending = False
            self.game.pause()

    def stop(self) -> None:
        if self.game is not None and self.running:
            self.resume_pending = False
            self.game.stop("stopped by you")
            if self.worker is not None:
                self.worker.cancel()

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

    async def close(self) -> None:
        """After the last game: close every provider's connections (the engine loop's on
        that loop, as its provider clean-ups need), then end the engine's thread and let go of
        the game's lock (the kernel would at exit; an embedding process may live on)."""
        try:
            if self.engine.started:
                await self.engine.run(self.runtime.aclose)
            else:
                await self.runtime.aclose()
        finally:
            self.engine.close()
            self.release()

    def worker_ended(self, state: WorkerState) -> None:
        """After the game worker ended: continue if Resume was pressed while pausing."""
        if (
            state == WorkerState.SUCCESS
            and self.resume_pending
            and self.game is not None
            and self.game.state == "paused"
        ):
            self.run()
        self.resume_pending = False

    def toggle_converged(self) -> bool:
        """Stop (or not) when the chain converges or cycles; the new setting."""
        self.until_converged = not self.until_converged
        if self.game is not None:  # the engine reads its limits before every turn
            self.game.limits = replace(self.game.limits, until_converged=self.until_converged)
        return self.until_converged

    def status(self, idle: str, mark: str = "") -> Status:
        """What the status line shows; ``idle`` when no game is shown."""
        game = self.game
        if game is None:
            return Status(state="idle", reason=idle)
        spent, unknown = game.spent
        pending = self.resume_pending
        return Status(
            state="running" if pending and self.running else game.state,
            reason=game.reason,
            rounds=game.rounds_done,
            spent=spent,
            unknown_cost=unknown,
            folder=game.dir.name,
            pausing=game.pause_requested and not pending,
            mark=mark,  # keeping
        )

    # -- keys and checks -------------------------------------------------------------------

    def availability(self, model_id: str, kind: ModelKind) -> Availability:
        return self.checks.availability(model_id, kind)

    def key_needed(self) -> tuple[ModelKind, str, Availability] | None:
        return session.key_needed(self.runtime, self.settings)

    def shut_down(self) -> list[tuple[ModelKind, str, Availability]]:
        """The chosen models that are shut down, each with the line that names the
        replacement."""
        return session.shut_down(self.runtime, self.settings)

    def shut_down_line(self) -> tuple[ModelKind, str] | None:
        """The first shut-down choice as (kind, one line), or None."""
        for kind, model_id, avail in self.shut_down():
            return kind, session.cannot_use(kind, model_id, avail)
        return None

    def with_keys(self, then: Then) -> bool:
        """True when both models have their keys; else ask for one, then call ``then``."""
        needed = self.key_needed()
        if needed is None:
            return True
        _kind, model_id, avail = needed
        self.ask_key(model_id, avail, then=then)
        return False

    def ask_key(self, model_id: str, availability: Availability, then: Then | None = None) -> None:
        """Open the key dialog for ``model_id``'s provider; store the key, then call ``then``."""
        key_name = split_id(model_id)[0]
        screen = self.screen

        async def done(value: str | None) -> None:
            if value is None:
                screen.notify("No key stored.", markup=False)
                return
            try:
                await self.runtime.store_key(key_name, value)
            except Exception as exc:  # a bad keys file, a provider that fails to rebuild
                log.warning("storing the %s key failed: %s", key_name, type(exc).__name__)
                screen.notify(
                    f"Could not store the key: {clean(str(exc), oneline=True)}",
                    severity="error",
                    markup=False,
                )
                return
            shown = mask(value)
            del value  # no frame that can fail later holds the key (crash reports list locals)
            self.checks.checked.clear()
            screen.show_models()
            # The rebuilt provider may list its models only with a key (OpenRouter, Gemini).
            screen.run_worker(Later(self._rediscover), group="checks", exit_on_error=False)
            name = clean(key_name, oneline=True, limit=40)
            screen.notify(f"Stored the {name} key ({shown}).", markup=False)
            if then is not None:
                screen.call_later(then)

        store_path = self.runtime.keyring.store.path
        screen.app.push_screen(KeyDialog(key_name, model_id, availability.reason, store_path), done)

    async def _rediscover(self) -> None:
        await self.checks.discover()
        self.screen.show_models()

    def ask_key_after_auth_failure(self, model_id: str, kind: ModelKind) -> None:
        """A turn failed for its key: ask for it, if the model still has none."""
        _, avail = self.runtime.availability(model_id, kind)
        if not avail.ok and avail.error().kind == "auth":
            self.ask_key(model_id, avail)

    def provider_failures(self) -> list[str]:
        """One line per provider that could not start (shown when the app opens)."""
        return [
            f"provider {f.name} could not start: {f.error} (check [providers.{f.name}] in "
            "config.toml)"
            for f in self.runtime.registry.failures
        ]

    async def background_checks(self) -> list[str]:
        """The listings (cached while fresh, else fetched) and the chosen pair's checks, never
        blocking; the lines worth a notice (a chosen model missing from a listing)."""
        await self.checks.discover()
        found = await self.checks.check_chosen(self.settings)
        return [session.warning_line(k, m, a) for k, m, a in found if a.ok and a.warning]

    async def refresh_listings(self, kind: ModelKind) -> None:
        """Ask every service for its model list now (the menu's refresh key), then check the
        models of ``kind`` again."""
        await self.checks.discover(refresh=True)
        self.checks.checked.clear()
        await self.checks.check_all((kind,))

    def listing_summary(self) -> str:
        """One line: where each provider's models came from and how old the list is."""
        now = self.runtime.clock()
        parts = []
        for name, status in sorted(self.runtime.listing_status.items()):
            age = age_text(now - status.fetched_at)
            what = "offline, cached" if status.error else ("cached" if status.cached else "listed")
            parts.append(f"{name}: {what} {age}")
        return " · ".join(parts)

    # -- the state file --------------------------------------------------------------------

    def ui_state(self, prompt: str, images: str) -> UiState:
        s = self.settings
        return UiState(
            prompt=prompt,
            drawer=s.drawer,
            guesser=s.guesser,
            style=s.style,
            guesser_system=s.guesser_system,
            guesser_prompt=s.guesser_prompt,
            preset=s.preset,
            images=images,
            theme=self.screen.app.theme,
        )

    def schedule_save(self) -> None:
        """Remember the choices in the state file shortly (typing changes them per key)."""
        if self._save_timer is not None:
            self._save_timer.stop()
        self._save_timer = self.screen.set_timer(0.4, self._save_soon)

    def _save_soon(self) -> None:
        self._save_timer = None
        self.screen.run_worker(Later(self.screen.save_state), group="state", exclusive=True)

    async def save_state(self, state: UiState) -> None:
        """Write the state file (in a thread); a failure is logged, never fatal."""
        try:
            await asyncio.to_thread(save_state, self.runtime.state_file, state)
        except OSError as exc:
            log.warning("cannot save %s: %s", self.runtime.state_file, exc)
