"""The async engine: turns, rounds, pause/resume/step/stop, limits and events.

Pure asyncio, no Textual and no httpx: the TUI (in a worker) and the headless runner drive the
same :class:`Game`. The drawer, guesser and prompts are read from :attr:`Game.settings` at the
start of every turn, so replacing the settings mid-game takes effect on the next turn.
"""

# ruff: noqa: F405  (Settings, Limits and the events come from rules.py and events.py)

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from telestrations import events, rules
from telestrations.drift import ChainIndex, Convergence, caption_drift, chain_convergence
from telestrations.embeddings import Embedder, EmbeddingError
from telestrations.events import *  # noqa: F403  (re-exported: callers import them from here)
from telestrations.memory import draw_remembering, load_reference, reference_name
from telestrations.providers.base import (
    Caption,
    Picture,
    Progress,
    ProviderError,
    checks_beside,
    partial_captions,
    progress_reports,
    sniff_format,
    uploads_after,
)
from telestrations.rules import *  # noqa: F403
from telestrations.store import GameDir, utc_now
from telestrations.text import SECRETS, Secrets, clean
from telestrations.turns import (
    NextTurn,
    TurnError,
    TurnRecord,
    money,
    next_turn,
    redact_record,
)

__all__ = ["Game", "GameError", "SaveFailed"]
__all__ += events.__all__
__all__ += rules.__all__

log = logging.getLogger(__name__)

Finish = Callable[[TurnRecord], Awaitable[TurnRecord]]
"""Completes a finished turn's record before it is written (a caption's drift)."""

Check = asyncio.Future[None]
"""The rest of a drawing's check, finishing beside the next request (``checks_beside``)."""


class SaveFailed(Exception):
    """A finished turn could not be written (disk full, folder gone). The result is kept in
    memory: resuming writes it before anything else, so a paid image is not asked for again."""

    def __init__(self, record: TurnRecord, error: OSError) -> None:
        where = f" ({error.filename})" if error.filename else ""
        self.why = f"{error.strerror or error}{where}"
        super().__init__(
            f"cannot save the turn: {self.why}; make room or fix the folder, then resume"
        )
        self.record = record


class GameError(RuntimeError):
    """A call that does not fit the game's state (e.g. ``step()`` while running)."""


class Game:
    """One chain of turns, journalled to a :class:`~telestrations.store.GameDir`."""

    def __init__(
        self,
        game_dir: GameDir,
        models: Models,
        settings: Settings | None = None,
        limits: Limits | None = None,
        *,
        price_of: PriceLookup | None = None,
        secrets: Secrets | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.dir = game_dir
        self.secrets = SECRETS if secrets is None else secrets
        """Taken out of every record, event and reason before anyone sees it (text.py)."""
        self.models = models
        self.settings = settings or Settings()
        self.limits = limits or Limits()
        self.price_of = price_of
        self.embedder = embedder
        """Optional semantic drift measure (:mod:`telestrations.embeddings`)."""
        self.state: GameState = "idle"
        self.reason = ""
        self.current: TurnStarted | None = None
        """The turn in flight, if any."""
        self._subscribers: list[Subscriber] = []
        self._no_partials: set[Subscriber] = set()
        self._pause_requested = False
        self._stopping = False
        self._runner: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        """The loop the game plays on: :meth:`pause` and :meth:`stop` may come from another
        thread (the TUI plays on a loop of its own), and reach it through this."""
        self._busy = False
        self._wake = asyncio.Event()
        self.behind: Callable[[], bool] | None = None
        """Asked before each turn: a front end that shows every turn says here that it is
        far behind (the TUI on a busy machine), and the game waits for it, so what it has not
        handled yet stays bounded and a key is not queued behind hundreds of turns."""
        self._unsaved: tuple[TurnRecord, Picture | None, Event] | None = None
        self._unreadable: set[str] = set()
        """Pictures that failed to load for a describe: their rounds are drawn again."""
        self._chain = ChainIndex()
        """The captions so far, indexed for the cycle check of the next one (a long game would
        otherwise compare every caption with every earlier one)."""
        self._chain_lock = threading.Lock()  # measured in a thread, one caption at a time
        self._follow: tuple[TurnRecord, Picture | None, Event] | None = None
        """A turn finished while the one before it failed to save: written after it."""
        self._pending: tuple[TurnRecord, Picture | None, asyncio.Task[None]] | None = None
        """A finished turn whose write runs beside the next turn's call: that request goes
        out at once, and its record is written (and its event sent) only after this one is
        on disk and announced (:meth:`_settle`)."""
        self.save_error = ""
        """Why the turn in :attr:`unsaved` could not be written."""
        self._drawn: tuple[str, Picture] | None = None
        """The last picture this game drew, by file name: a describe after a step (a batch
        plays turn by turn) sends it from memory instead of reading it back in a thread."""
        self._checking: tuple[str, Check] | None = None
        """The drawing (by file name) whose check is finishing beside the describe turn: that
        turn's upload waits for it before its last bytes."""
        self._refused: tuple[Check, TurnRecord] | None = None
        """A drawing whose late check failed, as it was kept instead: a failed draw."""

    # -- observation -----------------------------------------------------------------------

    @property
    def records(self) -> list[TurnRecord]:
        return self.dir.records

    @property
    def rounds_done(self) -> int:
        return self.dir.rounds_done

    @property
    def spent(self) -> tuple[float, int]:
        """Known USD spent, and the number of finished turns whose cost is unknown."""
        return self.dir.spent

    @property
    def pause_requested(self) -> bool:
        """True between :meth:`pause` and the end of the turn in flight."""
        return self._pause_requested and self.state == "running"

    def next(self) -> NextTurn:
        """The next turn; a round whose picture is missing, outside the folder or unreadable
        is drawn again instead of failing to be described forever."""
        nxt = next_turn(self.dir.first_prompt, self._known())
        pending = self._pending
        if pending is not None and pending[1] is not None and nxt.image == pending[0].output:
            return nxt  # being written: described from memory
        if (
            nxt.kind == "describe"
            and nxt.round >= 1  # round 0 is a start picture: nothing to draw it from
            and (nxt.image in self._unreadable or not self.dir.has_image(nxt.image))
        ):
            return NextTurn(nxt.round, "draw", nxt.text)
        return nxt

    def _known(self) -> list[TurnRecord]:
        """The journal, plus the drawn turn being written beside the next call."""
        if self._pending is None:
            return self.records
        return [*self.records, self._pending[0]]

    @property
    def unsaved(self) -> TurnRecord | None:
        """A finished turn that could not be written (held in memory until a resume)."""
        return self._unsaved[0] if self._unsaved is not None else None

    def subscribe(self, fn: Subscriber, *, partials: bool = True) -> Callable[[], None]:
        """Call ``fn`` with every event; returns a function that unsubscribes.

        ``partials=False``: not the caption as it streams (:class:`CaptionGrowing`). When no
        subscriber wants it, a streaming guesser is not even watched (a front end that prints
        finished turns only saves parsing every event, ~1 ms a caption, on the critical path).
        """
        self._subscribers.append(fn)
        if not partials:
            self._no_partials.add(fn)

        def unsubscribe() -> None:
            if fn in self._subscribers:
                self._subscribers.remove(fn)
            if fn not in self._subscribers:
                self._no_partials.discard(fn)

        return unsubscribe

    @property
    def _partials_wanted(self) -> bool:
        return any(fn not in self._no_partials for fn in self._subscribers)

    def _emit(self, event: Event) -> None:
        partial = isinstance(event, CaptionGrowing)
        for fn in list(self._subscribers):
            if partial and fn in self._no_partials:
                continue
            try:
                fn(event)
            except Exception:  # a broken subscriber must not break the game
                log.exception("event subscriber failed on %s", type(event).__name__)

    def _set_state(self, state: GameState, reason: str = "") -> None:
        reason = self.secrets.redact(reason)
        if state == self.state and reason == self.reason:
            return
        self.state, self.reason = state, reason
        self._emit(StateChanged(state, reason))

    # -- control ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Play turns until paused, stopped, a limit or a failure. Safe to call again to resume.

        Cancelling the task that runs this (``stop()``, a Textual worker's cancel) cancels
        the provider call in flight; nothing half-done is recorded.
        """
        if self.state == "stopped":
            raise GameError("the game is stopped; start a new one or resume it from disk")
        if self._busy:
            raise GameError("the game is already running")
        self._runner = asyncio.current_task()
        self._loop = asyncio.get_running_loop()
        self._pause_requested = False
        self._busy = True
        try:
            self._set_state("running")
            while True:
                await self._wait_for_front_end()
                self._heed_stop()
                if self._pause_requested:
                    await self._settle()
                    self._set_state("paused", "paused")
                    return
                halt = self._limit_reached()
                if halt is not None:
                    await self._settle()
                    state, reason = halt
                    self._set_state(state, reason)
                    return
                record = await self._play_turn()
                self._heed_stop()
                if not record.ok:
                    assert record.error is not None
                    self._set_state("paused", f"{record.error.kind}: {record.error.message}")
                    return
                if self.settings.pace > 0:
                    await self._settle()  # a watcher follows it: show the picture at once
                await self._pace(record.duration)
        except SaveFailed as exc:
            self._set_state("paused", str(exc))
        except asyncio.CancelledError:
            reason = self.reason if self.state == "stopped" else "stopped"
            await self._settle_quietly()  # the turn being written is kept and shown first
            self._set_state("stopped", reason)
            raise
        except Exception as exc:  # a bug: never leave the game claiming to run
            log.exception("the game loop failed")
            await self._settle_quietly()
            self._set_state("paused", f"internal error: {type(exc).__name__}: {exc}")
        finally:
            self._busy = False
            self._runner = None
            self.current = None

    BEHIND_POLL = 0.01

    async def _wait_for_front_end(self) -> None:
        """While the front end is behind (:attr:`behind`): the turn being written is settled
        first, then nothing is played until it has caught up or a pause is asked for."""
        if self.behind is None or not self.behind():
            return
        await self._settle()
        # Polled: the front end catches up on its own thread, and this runs only while it
        # is behind.
        while self.behind() and not self._pause_requested:  # noqa: ASYNC110
            await asyncio.sleep(self.BEHIND_POLL)

    async def _pace(self, took: float) -> None:
        """Wait out the rest of ``settings.pace`` after a turn; a pause ends the wait at once."""
        rest = self.settings.pace - took
        if rest <= 0 or self._pause_requested or self._limit_reached() is not None:
            return
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), rest)

    def start(self) -> asyncio.Task[None]:
        """Run in a task of its own (headless use); ``await game.wait()`` for it."""
        task = asyncio.ensure_future(self.run())
        self._runner = task
        self._loop = task.get_loop()
        return task

    resume = start

    async def wait(self) -> None:
        """Wait for a task made by :meth:`start` to end (pause, stop, limit or failure)."""
        task = self._runner
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def pause(self) -> None:
        """Pause after the turn in flight (its result is kept); immediate when idle."""
        if self.state == "running":
            self._pause_requested = True
            self._on_loop(self._wake.set)
        elif self.state == "idle":
            self._set_state("paused", "paused")

    def stop(self, reason: str = "stopped") -> None:
        """Cancel the turn in flight (nothing half-done is kept) and end the game."""
        runner = self._runner
        self._pause_requested = False
        self._stopping = True
        self._set_state("stopped", reason)
        if runner is not None and not runner.done():
            self._on_loop(runner.cancel)

    def _on_loop(self, fn: Callable[[], object]) -> None:
        """Call ``fn`` now when on the game's loop, else have that loop call it (asyncio
        objects are not thread-safe)."""
        loop = self._loop
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if loop is None or loop is here or loop.is_closed():
            fn()
            return
        try:
            loop.call_soon_threadsafe(fn)
        except RuntimeError:  # closed meanwhile: nothing is waiting there any more
            pass

    def _heed_stop(self) -> None:
        """End the turn loop as a cancel would once ``stop()`` was called, even if the cancel
        never arrived: a provider can swallow it (on Python 3.11 ``asyncio.wait_for`` returns
        the answer when it and the cancel land in one loop pass), and the game then played on
        while saying "stopped"."""
        if self._stopping:
            raise asyncio.CancelledError

    async def step(self) -> TurnRecord:
        """Play exactly one turn (from idle or paused), then stay paused."""
        if self.state == "stopped":
            raise GameError("the game is stopped")
        if self._busy:
            raise GameError("a turn is already running")
        self._busy = True
        self._runner = asyncio.current_task()
        self._loop = asyncio.get_running_loop()
        try:
            self._set_state("running", "one step")
            record = await self._play_turn()
            self._heed_stop()
            await self._settle()
            kept = self.records
            if kept and kept[-1].seq == record.seq:
                record = kept[-1]  # as written: a caption's drift is measured beside the call
        except SaveFailed as exc:
            self._set_state("paused", str(exc))
            return exc.record
        except asyncio.CancelledError:
            reason = self.reason if self.state == "stopped" else "stopped"
            await self._settle_quietly()  # the turn being written is kept and shown first
            self._set_state("stopped", reason)
            raise
        finally:
            self._busy = False
            self._runner = None
            self.current = None
        if record.ok:
            self._set_state("paused", "stepped one turn")
        else:
            assert record.error is not None
            self._set_state("paused", f"{record.error.kind}: {record.error.message}")
        return record

    # -- limits ----------------------------------------------------------------------------

    def _limit_reached(self) -> tuple[GameState, str] | None:
        lim = self.limits
        nxt = self.next()
        if lim.rounds and nxt.kind == "draw" and nxt.round > lim.rounds:
            return "stopped", f"finished round {lim.rounds}"
        if lim.until_converged and nxt.kind == "draw":
            conv = self.convergence
            if conv is not None:
                return "stopped", conv.describe()
        if lim.spend is not None:
            spent, _ = self.dir.spent
            if self._pending is not None:  # a drawing being written beside this check
                spent += self._pending[0].cost or 0.0
            model = self.settings.drawer if nxt.kind == "draw" else self.settings.guesser
            price = self.price_of(model) if self.price_of else None
            if spent + (price or 0.0) > lim.spend + 1e-9 or spent >= lim.spend > 0:
                shown = money(spent) if spent else "$0"
                return "paused", f"spending cap {money(lim.spend)} reached (spent {shown})"
        return None

    @property
    def convergence(self) -> Convergence | None:
        """What the newest caption says about convergence, as journalled with it (a caption
        still being written beside the next call counts)."""
        return chain_convergence(self._known(), self.dir.first_prompt, self.limits.converge_after)

    def _drift(
        self, records: list[TurnRecord], round_no: int, caption: str
    ) -> tuple[dict[str, float], Convergence | None]:
        """Similarities and convergence of round ``round_no``'s caption (run in a thread: a
        long chain compares it with every earlier caption)."""
        with self._chain_lock:
            return caption_drift(
                records,
                self.dir.first_prompt,
                round_no,
                caption,
                self.limits.converge_after,
                self._chain,
            )

    # -- one turn --------------------------------------------------------------------------

    async def _play_turn(self) -> TurnRecord:
        if self._unsaved is not None:  # a finished turn that could not be written: retry that
            record, unsaved, event = self._unsaved
            await self._keep(record, unsaved, event)
            if self._follow is not None:  # the turn that finished while it failed, after it
                record, unsaved, event = self._follow
                self._follow = None
                await self._keep(record, unsaved, event)
            return record
        nxt = self.next()
        s = self.settings  # read once, at the start of the turn
        if nxt.kind == "draw":
            model, text, system = s.drawer, s.drawer_text(nxt.text), ""
        else:
            model, text, system = s.guesser, s.guesser_prompt, s.guesser_system
        started = utc_now()
        event = TurnStarted(nxt.round, nxt.kind, model, self.secrets.redact(text))
        self.current = event
        self._emit(event)
        t0 = time.monotonic()
        base = TurnRecord(
            seq=len(self._known()) + 1,
            round=nxt.round,
            kind=nxt.kind,
            model=model,
            status="ok",
            input=text,
            system=system,
            preset=s.preset if nxt.kind == "describe" else "",
            image=nxt.image,
            started=started,
        )
        picture: Picture | None = None
        caption: Caption | None = None
        memo: dict[str, Any] | None = None
        check: Check | None = None
        gate: Check | None = None

        def progressed(p: Progress, rnd: int = nxt.round, who: str = model) -> None:
            self._emit(TurnProgress(rnd, nxt.kind, who, p))

        try:
            if nxt.kind == "draw" and s.memory:
                name = reference_name(self._known())  # the last caption may be being written
                ref = await asyncio.to_thread(load_reference, self.dir, name) if name else None
                with progress_reports(progressed):
                    drawer = self.models.drawer(model)
                    picture, memo = await draw_remembering(drawer, text, ref, name)
            elif nxt.kind == "draw":
                # With no pace the describe follows at once: the drawing's check may finish
                # beside its upload (which waits for it), not before the request is made.
                later = checks_beside() if s.pace <= 0 else contextlib.nullcontext(None)
                with progress_reports(progressed), later as deferred:
                    picture = await self.models.drawer(model).draw(text)
                check = deferred.outcome() if deferred is not None else None
            else:
                pending = self._pending
                if (
                    pending is not None
                    and pending[1] is not None
                    and pending[0].output == nxt.image
                ):
                    source = pending[1]  # just drawn: no need to read it back
                elif self._drawn is not None and self._drawn[0] == nxt.image:
                    source = self._drawn[1]  # drawn here and kept: the same bytes as on disk
                else:
                    source = await asyncio.to_thread(self._load_picture, nxt.image, nxt.round)

                def growing(so_far: str, rnd: int = nxt.round, who: str = model) -> None:
                    self._emit(CaptionGrowing(rnd, who, self.secrets.redact(so_far)))

                listening = (
                    partial_captions(growing) if self._partials_wanted else contextlib.nullcontext()
                )
                checking = self._checking
                gate = checking[1] if checking is not None and checking[0] == nxt.image else None
                with listening, progress_reports(progressed), uploads_after(gate):
                    caption = await self.models.guesser(model).describe(source, system, text)
                refused = await self._refused_drawing(gate)
                if refused is not None:  # the caption of a broken picture is not kept
                    return refused
        except ProviderError as exc:
            refused = await self._refused_drawing(gate)
            if refused is not None:  # the upload was held back and dropped: not its fault
                return refused
            return await self._fail(base, exc, t0)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug or an unmapped failure: record it, never crash
            log.exception("turn %s %s failed", nxt.round, nxt.kind)
            err = ProviderError("internal", f"{type(exc).__name__}: {exc}", hint="see the log")
            if isinstance(exc, (LookupError, ValueError)) and "unknown" in str(exc):
                err = ProviderError("not_found", str(exc), hint="see `telestrations models`")
            return await self._fail(base, err, t0)
        duration = round(time.monotonic() - t0, 3)
        finished = utc_now()
        if picture is not None:
            picture = replace(picture, extras=self.secrets.redact_json(dict(picture.extras)))
            name = f"r{nxt.round:04d}-draw{picture.suffix}"
            self._drawn = (name, picture)
            self._checking = (name, check) if check is not None else None
            record = self._redacted(
                base,
                image=name,
                output=name,
                extras=dict(picture.extras),
                finished=finished,
                duration=duration,
                cost=picture.cost,
                memory=memo,
            )
            await self._keep_later(
                record,
                picture,
                PictureReady(record, self.dir.image_path(name), picture),
                check=check,
            )
        else:
            assert caption is not None
            text_out = self.secrets.redact(caption.text).strip()
            known = list(self._known())  # a snapshot: a write beside this call may append
            record = self._redacted(
                base,
                output=text_out,
                extras=dict(caption.extras),
                finished=finished,
                duration=duration,
                cost=caption.cost,
            )
            measure = functools.partial(self._measured, known, nxt.round, nxt.text)
            if self.limits.until_converged:  # the next turn depends on it: measure first
                record = await measure(record)
                await self._keep_later(record, None, CaptionReady(record))
            else:  # beside the next request, before the caption is written or shown
                await self._keep_later(record, None, CaptionReady(record), measure)
        return record

    async def _measured(
        self, known: list[TurnRecord], round_no: int, drawn: str, record: TurnRecord
    ) -> TurnRecord:
        """``record`` with its drift (and embedding similarities, if set) and convergence."""
        sims, conv = await asyncio.to_thread(self._drift, known, round_no, record.output)
        if self.embedder is not None and round_no >= 1:  # round 0 is the origin itself
            sims.update(await self._semantic(drawn, record.output))
        converged = None if conv is None else conv.to_json()
        return self._redacted(record, similarity=sims, converged=converged)

    async def _semantic(self, drawn: str, caption: str) -> dict[str, float]:
        """Embedding similarities of ``caption`` to the first prompt and to the text drawn
        (the previous caption); a failing service costs the figures, never the turn."""
        assert self.embedder is not None
        try:
            return await self.embedder.similarities(self.dir.first_prompt, drawn, caption)
        except EmbeddingError as exc:
            log.warning("embeddings with %s failed: %s", self.embedder.name, exc)
            return {}

    def _load_picture(self, name: str, round_no: int) -> Picture:
        """The picture to describe, read only from inside the game folder; a missing or
        unreadable one is a failed turn that says so, and its round is drawn again."""
        from PIL import Image  # lazily: only describe turns need Pillow here

        try:
            data = self.dir.read_image(name)
            fmt = sniff_format(data) or "png"
            with Image.open(io.BytesIO(data)) as im:
                width, height = im.size
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            self._unreadable.add(name)
            what = "is missing" if isinstance(exc, FileNotFoundError) else "cannot be read"
            raise ProviderError(
                "not_found",
                f"the picture of round {round_no} ({clean(name, oneline=True, limit=80)}) {what}",
                hint=f"resume to draw round {round_no} again",
            ) from None
        return Picture(data, fmt, width, height)

    def _redacted(self, base: TurnRecord, **changes: object) -> TurnRecord:
        """The finished record with every secret taken out: the one choke point between a
        provider's answer and the journal, the events, stdout, the UI and exports."""
        return redact_record(replace(base, **changes), self.secrets)  # type: ignore[arg-type]

    async def _fail(self, base: TurnRecord, exc: ProviderError, t0: float) -> TurnRecord:
        base = replace(base, finished=utc_now(), duration=round(time.monotonic() - t0, 3))
        record = self._failed(base, exc)
        await self._keep(record, None, TurnFailed(record, exc))
        return record

    def _failed(self, record: TurnRecord, exc: ProviderError) -> TurnRecord:
        """``record`` as a failed turn with ``exc``'s reason (redacted, in place too, since
        the event carries it): nothing it produced is kept, and its cost is not known."""
        exc.message, exc.hint = self.secrets.redact(exc.message), self.secrets.redact(exc.hint)
        exc.args = (exc.message,)
        return self._redacted(
            record,
            status="failed",
            image="" if record.kind == "draw" else record.image,
            output="",
            extras={},
            cost=None,
            memory=None,
            error=TurnError(exc.kind, exc.message, exc.hint),
        )

    async def _checked(
        self, record: TurnRecord, picture: Picture | None, event: Event, check: Check
    ) -> tuple[TurnRecord, Picture | None, Event]:
        """The drawing to keep once its late check is done: as it is, or (the check failed)
        as the failed draw it then was, with no picture."""
        failure = await self._verdict(check)
        if failure is None:
            return record, picture, event
        record = self._failed(record, failure)
        self._refused = (check, record)
        self._drawn = self._checking = None
        return record, None, TurnFailed(record, failure)

    async def _verdict(self, check: Check) -> ProviderError | None:
        """What a drawing's late check found (``None``: it passed). Waited for to the end
        even when cancelled: a stop lets the turn being kept finish, and that needs it."""
        while not check.done():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.shield(check)
        if check.cancelled():
            return ProviderError("internal", "the picture's check was cancelled")
        exc = check.exception()
        if exc is None:
            return None
        if isinstance(exc, ProviderError):
            return exc
        log.error("checking a picture failed", exc_info=exc)
        return ProviderError("internal", f"checking the picture failed: {type(exc).__name__}")

    async def _refused_drawing(self, gate: Check | None) -> TurnRecord | None:
        """The drawing described under ``gate``, as kept, if its late check failed: the
        describe turn then ends with it (nothing of its own is kept)."""
        if gate is None or (gate.done() and not gate.cancelled() and gate.exception() is None):
            return None  # it passed: its write may still be running beside this turn
        await self._settle()  # the drawing is kept (or refused) first
        refused = self._refused
        if refused is None or refused[0] is not gate:
            return None
        self._refused = None
        return refused[1]

    async def _settle(self) -> None:
        """Wait for the drawn turn being written (its event is sent once it is on disk);
        :class:`SaveFailed` if it could not be. Runs to the end even when cancelled."""
        pending = self._pending
        if pending is None:
            return
        task = pending[2]
        cancelled = False
        while not task.done():
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                cancelled = True
            except Exception:
                break
        self._pending = None
        if cancelled:
            if not task.cancelled():
                task.exception()  # seen here; a failed write is kept as unsaved
            raise asyncio.CancelledError
        task.result()  # SaveFailed (already kept as unsaved) or an unexpected bug

    async def _settle_quietly(self) -> None:
        """:meth:`_settle` on the way out (stop, bug): a failed write is kept as unsaved."""
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await self._settle()

    async def _keep_later(
        self,
        record: TurnRecord,
        picture: Picture | None,
        event: Event,
        finish: Finish | None = None,
        *,
        check: Check | None = None,
    ) -> None:
        """Start writing the turn (after the one before it) and return: the next request
        need not wait for the disk. :meth:`_settle` waits for it before anything that depends
        on it being kept: the next record, a pause, a stop. ``finish`` completes the record
        first (a caption's drift), beside the next request too; a drawing is kept only once
        its ``check`` passed (else it is kept as the failed draw it was)."""
        try:
            await self._settle()
        except SaveFailed:
            if finish is not None:
                record = await self._finished(record, finish)
                event = CaptionReady(record)  # only a caption is finished later
            if check is not None:
                record, picture, event = await self._checked(record, picture, event, check)
            self._follow = (record, picture, event)
            raise
        keep = self._keep(record, picture, event, settled=True, finish=finish, check=check)
        task = asyncio.ensure_future(keep)
        self._pending = (record, picture, task)

    async def _finished(self, record: TurnRecord, finish: Finish) -> TurnRecord:
        """``finish(record)``; the record as it is if that fails (a figure is not worth a turn)."""
        try:
            return await finish(record)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("measuring turn %s failed; it is kept without", record.seq)
            return record

    async def _keep(
        self,
        record: TurnRecord,
        picture: Picture | None,
        event: Event,
        *,
        settled: bool = False,
        finish: Finish | None = None,
        check: Check | None = None,
    ) -> None:
        """Write the turn, then tell subscribers; a write that fails keeps it for resume.

        A stop that lands during the write still lets it finish; if it reached the journal,
        subscribers hear of it before the stop goes on, so the UI matches the journal."""
        if finish is not None:
            record = await self._finished(record, finish)
            event = CaptionReady(record)  # only a caption is finished later
        if check is not None:
            record, picture, event = await self._checked(record, picture, event, check)
        if not settled:
            try:
                await self._settle()  # the turn this one follows is on disk first
            except SaveFailed:
                self._follow = (record, picture, event)  # written right after it, on resume
                raise
        try:
            await self._commit(record, picture)
        except asyncio.CancelledError:
            if self.records and self.records[-1] is record:
                self._unsaved = None
                self._emit(event)
            else:  # the write failed as the stop came: say so, as for any failed save
                self._unsaved = (record, picture, event)
            raise
        except OSError as exc:
            log.error("saving turn %s failed: %s", record.seq, exc)
            self._unsaved = (record, picture, event)
            failure = SaveFailed(record, exc)
            self.save_error = failure.why
            raise failure from exc
        self._unsaved = None
        self._emit(event)

    async def _commit(self, record: TurnRecord, picture: Picture | None) -> None:
        """Image first, then the journal line; once begun it finishes even if cancelled
        (however many times: a stop and a worker cancel both land here)."""

        def write() -> None:
            if picture is not None:
                self.dir.save_image(record.output, picture.data)
            self.dir.append(record)

        task = asyncio.ensure_future(asyncio.to_thread(write))
        cancelled = False
        while True:
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                cancelled = True
                if not task.done():
                    continue  # the write goes on in its thread: wait for it
            except Exception:
                if not cancelled:
                    raise
            break
        if cancelled:
            error = None if task.cancelled() else task.exception()
            if isinstance(error, OSError):
                log.warning("a stop landed while turn %s failed to save: %s", record.seq, error)
                self.save_error = SaveFailed(record, error).why
            raise asyncio.CancelledError
