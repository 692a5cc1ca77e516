"""Experiments in one command: many chains (one per prompt and model pair) played at once.

Each chain is a normal game (made and resumed through :mod:`telestrations.session`), so it can
be watched, resumed and exported like any other. The batch itself is a folder holding:

- ``manifest.json``: the plan (prompts, pairs, rounds, settings, limits) and each chain's game
  and status, replaced atomically whenever a chain starts or ends, and at the end;
- ``summary.csv``: one row per finished round (:data:`ROW_FIELDS`), appended as rounds finish
  and rebuilt from the games' journals when the batch resumes, so it ends with every round
  exactly once however often the batch was interrupted;
- ``chains.csv``: per chain, its half-life and first convergence round, written at the end.

Scheduling: at most ``concurrency`` provider calls are in flight across the whole batch (and at
most ``per_provider[name]`` for one provider); a free slot goes to the chain with the most turns
left, so chains finish together and the slots stay busy to the end. The budget covers the whole
batch: a turn is not started when the known spend, plus the price of the calls in flight, plus
its own price would pass it (a model of unknown price counts as free, and is reported).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import csv
import heapq
import io
import itertools
import json
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from telestrations import session
from telestrations.atomic import write_atomic
from telestrations.drift import chain_drift, first_convergence, half_life
from telestrations.game import CaptionReady, Event, Game, Limits, PictureReady, Settings
from telestrations.lock import GameLocked, take_lock
from telestrations.providers.base import Caption, Drawer, Guesser, Picture
from telestrations.runtime import Runtime
from telestrations.store import GameDir, slugify
from telestrations.text import clean, clean_text
from telestrations.turns import TurnRecord, next_turn, total_cost

__all__ = [
    "CHAINS",
    "CHAIN_FIELDS",
    "MANIFEST",
    "ROW_FIELDS",
    "SUMMARY",
    "Batch",
    "BatchError",
    "Chain",
    "Pair",
    "Plan",
    "find_batch",
    "read_prompts",
]

MANIFEST = "manifest.json"
OPEN_CHAINS = 256
"""Chains played at once (each holds its game's lock and journal open). Every chain of a
batch up to this size is in play from the start, so the gate's "most turns left first" evens
them all out and they end together. Opened in waves of ``2 × concurrency`` instead, the last
few chains opened when the others were done and ran alone: 100 chains × 10 rounds at 16
slots ended with 4 chains on 4 slots for ~2 s (wall/ideal 1.3 under load)."""
SUMMARY = "summary.csv"
CHAINS = "chains.csv"
ROW_FIELDS = (
    "chain",
    "prompt",
    "pair",
    "round",
    "to_origin",
    "to_previous",
    "caption_chars",
    "seconds",
    "cost",
    "game",
    "caption",
)
"""summary.csv: ``prompt`` is the prompt's number in the file (1-based), ``pair`` is
``DRAWER,GUESSER``, similarities are :func:`telestrations.drift.similarity` (0..1), ``seconds``
and ``cost`` are the round's draw plus describe (cost empty when either is unknown)."""
CHAIN_FIELDS = (
    "chain",
    "prompt",
    "pair",
    "status",
    "rounds",
    "half_life",
    "convergence_round",
    "convergence",
    "final_to_origin",
    "spent",
    "unknown_cost_turns",
    "game",
    "error",
)

ChainStatus = Literal["pending", "running", "done", "failed", "unfinished"]
PROMPT_LIMIT = 2000


class BatchError(Exception):
    """A batch that cannot be made or resumed: one line for the person."""


# -- the plan ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    """A drawer and a guesser played together."""

    drawer: str
    guesser: str

    @property
    def label(self) -> str:
        return f"{self.drawer},{self.guesser}"

    @classmethod
    def parse(cls, text: str) -> Pair:
        drawer, sep, guesser = text.partition(",")
        if not sep or not drawer.strip() or not guesser.strip() or "," in guesser:
            raise BatchError(f"a pair is DRAWER,GUESSER (got {clean_text(text, 200)!r})")
        return cls(drawer.strip(), guesser.strip())


def read_prompts(text: str) -> list[str]:
    """One prompt per line; blank lines and ``#`` comments skipped; each line cleaned like any
    untrusted text (no control characters or escapes reach a game, a terminal or the CSV)."""
    prompts = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        prompt = clean_text(line, PROMPT_LIMIT)
        if prompt:
            prompts.append(prompt)
    return prompts


@dataclass
class Chain:
    """One prompt played by one pair: a game of its own."""

    index: int
    """1-based, the ``chain`` column of the CSVs."""
    prompt_no: int
    prompt: str
    pair: Pair
    game: str = ""
    """The game's folder name, once made."""
    status: ChainStatus = "pending"
    error: str = ""
    _cells: tuple[tuple[str, str], tuple[str, str]] | None = field(
        default=None, repr=False, compare=False
    )

    @property
    def cells(self) -> tuple[str, str]:
        """The pair and game as CSV cells, cleaned once (not per row)."""
        key = (self.pair.label, self.game)
        if self._cells is None or self._cells[0] != key:
            self._cells = (key, (_cell(self.pair.label), _cell(self.game)))
        return self._cells[1]

    def to_json(self) -> dict[str, Any]:
        return {
            "chain": self.index,
            "prompt": self.prompt_no,
            "pair": self.pair.label,
            "game": self.game,
            "status": self.status,
            "error": self.error,
        }


@dataclass
class Plan:
    """What ``manifest.json`` holds: the experiment and where each chain stands."""

    name: str
    rounds: int
    prompts: list[str]
    pairs: list[Pair]
    settings: Settings
    concurrency: int = 4
    per_provider: dict[str, int] = field(default_factory=dict)
    budget: float | None = None
    source: str = ""
    """The prompts file the batch was made from (its name only)."""
    created: str = ""
    chains: list[Chain] = field(default_factory=list)
    state: str = "running"
    """running, finished, interrupted, stopped (budget), failed."""
    reason: str = ""
    calls: dict[str, float] = field(default_factory=dict)
    """The last run's provider calls: how many, seconds in them, the most at once, wall."""

    @classmethod
    def make(
        cls,
        name: str,
        prompts: Sequence[str],
        pairs: Sequence[Pair],
        rounds: int,
        settings: Settings,
        **options: Any,
    ) -> Plan:
        """A new plan: chains ordered prompt by prompt, each prompt through every pair."""
        plan = cls(name, rounds, list(prompts), list(pairs), settings, **options)
        plan.created = datetime.now(UTC).isoformat(timespec="seconds")
        index = itertools.count(1)
        plan.chains = [
            Chain(next(index), n, prompt, pair)
            for n, prompt in enumerate(prompts, 1)
            for pair in pairs
        ]
        return plan

    def to_json(self) -> dict[str, Any]:
        unfinished = [c.index for c in self.chains if c.status != "done"]
        return {
            "v": 1,
            "type": "batch",
            "name": self.name,
            "created": self.created,
            "source": self.source,
            "state": self.state,
            "reason": self.reason,
            "rounds": self.rounds,
            "prompts": self.prompts,
            "pairs": [{"drawer": p.drawer, "guesser": p.guesser} for p in self.pairs],
            "settings": {
                k: v
                for k, v in session.settings_dict(self.settings).items()
                if k not in ("drawer", "guesser", "pace")
            },
            "concurrency": self.concurrency,
            "per_provider": self.per_provider,
            "budget": self.budget,
            "unfinished": unfinished,
            "calls": self.calls,
            "chains": [c.to_json() for c in self.chains],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], base: Settings) -> Plan:
        """A plan read back (raises :class:`BatchError` for a manifest that is not one)."""
        try:
            pairs = [Pair(str(p["drawer"]), str(p["guesser"])) for p in data["pairs"]]
            prompts = [clean_text(str(p), PROMPT_LIMIT) for p in data["prompts"]]
            settings = Settings.from_saved(data.get("settings"), base)
            plan = cls(
                name=str(data["name"]),
                rounds=int(data["rounds"]),
                prompts=prompts,
                pairs=pairs,
                settings=settings,
                concurrency=int(data.get("concurrency") or 4),
                per_provider={str(k): int(v) for k, v in (data.get("per_provider") or {}).items()},
                budget=None if data.get("budget") is None else float(data["budget"]),
                source=str(data.get("source", "")),
                created=str(data.get("created", "")),
                state=str(data.get("state", "")),
                reason=str(data.get("reason", "")),
            )
            by_label = {p.label: p for p in pairs}
            for c in data["chains"]:
                n = int(c["prompt"])
                status = str(c.get("status", "pending"))
                plan.chains.append(
                    Chain(
                        int(c["chain"]),
                        n,
                        prompts[n - 1],
                        by_label[str(c["pair"])],
                        game=str(c.get("game") or ""),
                        status=status if status in ("done", "failed") else "unfinished",  # type: ignore[arg-type]
                        error=str(c.get("error") or ""),
                    )
                )
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise BatchError(f"the batch manifest is damaged ({type(exc).__name__})") from None
        return plan


# -- the folder ----------------------------------------------------------------------------


def batches_dir(runtime: Runtime) -> Path:
    return runtime.data_dir / "batches"


def new_folder(runtime: Runtime, source: str, output: str | None) -> Path:
    """``-o DIR`` (made if missing, refused if it holds a batch) or a new folder under the
    data dir's ``batches/``, named by the time and the prompts file."""
    if output:
        path = Path(output).expanduser()
        if (path / MANIFEST).exists():
            raise BatchError(f"{clean_text(str(path), 0)} holds a batch; resume it with --resume")
        path.mkdir(parents=True, exist_ok=True)
        return path
    root = batches_dir(runtime)
    root.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).astimezone().strftime("%Y%m%d-%H%M%S")
    base = f"{stamp}-{slugify(Path(source).stem or 'batch', 30)}"
    for n in range(1, 1000):
        path = root / (base if n == 1 else f"{base}-{n}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise BatchError("cannot name a new batch folder")  # pragma: no cover


def find_batch(runtime: Runtime, ref: str) -> Path:
    """The batch ``ref`` names: a folder path, a name under ``batches/``, or ``last``."""
    root = batches_dir(runtime)
    candidates = []
    if ref == "last":
        found = (
            sorted(p for p in root.glob("*") if (p / MANIFEST).is_file()) if root.is_dir() else []
        )
        if found:
            candidates.append(found[-1])
    else:
        if "/" not in ref and ref not in (".", ".."):
            candidates.append(root / ref)
        candidates.append(Path(ref).expanduser())
    for path in candidates:
        if (path / MANIFEST).is_file():
            return path
    raise BatchError(f"no batch {clean_text(ref, 200)!r} (looked in {clean_text(str(root), 0)})")


def resume_name(runtime: Runtime, folder: Path) -> str:
    """What ``--resume`` needs to find ``folder`` again."""
    return folder.name if folder.parent == batches_dir(runtime) else str(folder)


def load_plan(folder: Path, base: Settings) -> Plan:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BatchError(f"cannot read the batch manifest: {clean_text(str(exc), 300)}") from None
    if not isinstance(data, Mapping) or data.get("type") != "batch":
        raise BatchError("the batch manifest is damaged (not a batch)")
    return Plan.from_json(data, base)


def _csv_text(rows: Iterable[Mapping[str, Any]], fields: Sequence[str], header: bool) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    if header:
        writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def _cell(text: str) -> str:
    """Untrusted text for a CSV cell: one clean line, and never a spreadsheet formula."""
    text = clean(text, oneline=True, limit=0)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def _round_records(
    records: Sequence[TurnRecord], rounds: int
) -> dict[int, tuple[TurnRecord, TurnRecord | None]]:
    """Round → (its describe, its draw): the last successful turn of each, as played."""
    draws: dict[int, TurnRecord] = {}
    out: dict[int, tuple[TurnRecord, TurnRecord | None]] = {}
    for r in records:
        if not r.ok or r.round > rounds:
            continue
        if r.kind == "draw":
            draws[r.round] = r
        else:
            out[r.round] = (r, draws.get(r.round))
    return out


def summary_row(chain: Chain, describe: TurnRecord, draw: TurnRecord | None) -> dict[str, Any]:
    """The summary.csv row of one finished round."""
    sim = describe.similarity or {}
    turns = [describe] if draw is None else [draw, describe]
    costs = [t.cost for t in turns]
    cost = (
        ""
        if draw is None or any(c is None for c in costs)
        else round(sum(c or 0.0 for c in costs), 6)
    )

    def fig(name: str) -> Any:
        value = sim.get(name)
        return "" if value is None else value

    pair, game = chain.cells
    return {
        "chain": chain.index,
        "prompt": chain.prompt_no,
        "pair": pair,
        "round": describe.round,
        "to_origin": fig("to_first_prompt"),
        "to_previous": fig("to_previous"),
        "caption_chars": len(clean(describe.output, oneline=True, limit=0)),
        "seconds": round(sum(t.duration for t in turns), 3),
        "cost": cost,
        "game": game,
        "caption": _cell(describe.output),
    }


def chain_row(chain: Chain, game_dir: GameDir | None, rounds: int) -> dict[str, Any]:
    """The chains.csv row: half-life and first convergence from the game's journal."""
    row: dict[str, Any] = {
        "chain": chain.index,
        "prompt": chain.prompt_no,
        "pair": _cell(chain.pair.label),
        "status": chain.status,
        "game": _cell(chain.game),
        "error": _cell(chain.error),
    }
    records = [r for r in game_dir.records if r.round <= rounds] if game_dir is not None else []
    drift = chain_drift(game_dir.first_prompt, records) if game_dir is not None else []
    conv = first_convergence(drift)
    spent, unknown = total_cost(records)
    row.update(
        rounds=len(drift),
        half_life=half_life([d.to_origin for d in drift]) or "",
        convergence_round="" if conv is None else conv.round,
        convergence="" if conv is None else conv.kind,
        final_to_origin=drift[-1].to_origin if drift else "",
        spent=round(spent, 6),
        unknown_cost_turns=unknown,
    )
    return row


# -- scheduling ----------------------------------------------------------------------------


class Gate:
    """A semaphore whose free slot goes to the waiter with the highest priority (ties: first
    come), so the longest chains are served first and all end together."""

    def __init__(self, slots: int) -> None:
        self.free = max(1, slots)
        self.in_use = 0
        self.peak = 0
        self.calls = 0
        self.held = 0.0
        """Seconds slots were held, summed over calls (busy share = held / slots / wall)."""
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    async def acquire(self, priority: int) -> None:
        if self.free > 0 and not self._waiting:
            self._take()
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (-priority, next(self._order), fut))
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():  # granted as we were cancelled: hand it on
                self.release()
            raise

    def _take(self) -> None:
        self.free -= 1
        self.in_use += 1
        self.peak = max(self.peak, self.in_use)

    def release(self) -> None:
        self.free += 1
        self.in_use -= 1
        while self._waiting and self.free > 0:
            _, _, fut = heapq.heappop(self._waiting)
            if not fut.done():
                self._take()
                fut.set_result(None)


class Ticket:
    """A call's place: the batch's slot and its provider's, held from the start of the turn
    (so the journal's duration is the call's, not the wait for it) to the end of the provider
    call (so saving the turn does not keep the next call waiting). Released once."""

    def __init__(self, slots: Slots, own: asyncio.Semaphore | None) -> None:
        self.slots = slots
        self.own = own
        self.since = time.monotonic()
        self.done = False

    def release(self) -> None:
        if self.done:
            return
        self.done = True
        gate = self.slots.gate
        gate.calls += 1
        gate.held += time.monotonic() - self.since
        gate.release()
        if self.own is not None:
            self.own.release()


_TICKET: contextvars.ContextVar[Ticket | None] = contextvars.ContextVar(
    "batch_ticket", default=None
)
"""The ticket of the turn the running task plays: its provider call gives it back."""


class Slots:
    """At most ``concurrency`` calls in flight across the batch, ``per_provider[name]`` to one
    provider; the models' calls give their :class:`Ticket` back as soon as they return."""

    def __init__(self, runtime: Runtime, concurrency: int, per_provider: Mapping[str, int]) -> None:
        self.models = runtime.models()
        self.gate = Gate(concurrency)
        self.own = {name: asyncio.Semaphore(n) for name, n in per_provider.items() if n > 0}

    async def take(self, model_id: str, priority: int) -> Ticket:
        own = self.own.get(model_id.partition(":")[0])
        if own is not None:
            await own.acquire()
        try:
            await self.gate.acquire(priority)
        except BaseException:
            if own is not None:
                own.release()
            raise
        return Ticket(self, own)

    def drawer(self, model_id: str) -> Drawer:
        return _TicketDrawer(self.models.drawer(model_id))

    def guesser(self, model_id: str) -> Guesser:
        return _TicketGuesser(self.models.guesser(model_id))


def _give_back() -> None:
    ticket = _TICKET.get()
    if ticket is not None:
        ticket.release()


class _TicketDrawer:
    def __init__(self, inner: Drawer) -> None:
        self.inner = inner

    async def draw(self, text: str) -> Picture:
        try:
            return await self.inner.draw(text)
        finally:
            _give_back()


class _TicketGuesser:
    def __init__(self, inner: Guesser) -> None:
        self.inner = inner

    async def describe(self, picture: Picture, system: str, prompt: str) -> Caption:
        try:
            return await self.inner.describe(picture, system, prompt)
        finally:
            _give_back()


# -- the run -------------------------------------------------------------------------------


@dataclass
class Progress:
    """What the progress line shows."""

    total: int
    done: int = 0
    done_before: int = 0
    """Rounds already finished when this run began (a resumed batch)."""
    running: int = 0
    spent: float = 0.0
    unknown: int = 0
    failed: int = 0
    started: float = field(default_factory=time.monotonic)

    def eta(self) -> float | None:
        """Seconds left at this run's pace so far; None before the first round."""
        made = self.done - self.done_before
        if made <= 0:
            return None
        rate = made / max(time.monotonic() - self.started, 1e-6)
        return (self.total - self.done) / rate


RowHook = Callable[[Chain, Mapping[str, Any]], None]


class Batch:
    """Plays a :class:`Plan` in ``folder``; :meth:`run` returns when every chain has ended, the
    budget is reached, every chain failed, or :meth:`interrupt` was called."""

    def __init__(
        self,
        runtime: Runtime,
        folder: Path,
        plan: Plan,
        *,
        on_row: RowHook | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.runtime = runtime
        self.folder = folder
        self.plan = plan
        self.on_row = on_row
        self.on_change = on_change
        self.progress = Progress(total=len(plan.chains) * plan.rounds)
        self.slots: Slots | None = None
        self._reserved = 0.0
        self._manifest_lock: asyncio.Lock | None = None
        self._manifest_asked = 0
        self._manifest_saved = 0
        self._csv: io.TextIOWrapper | None = None
        self._written: set[tuple[int, int]] = set()
        self._dirs: dict[int, GameDir] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stop_reason = ""
        self._interrupted = False
        self._ok_turns = 0
        self.budget_hit = False

    # -- files ---------------------------------------------------------------------------

    async def save_manifest(self) -> None:
        """Return once the manifest as it stands now is on disk, replaced atomically. Writes
        are serialised (an older snapshot never lands after a newer one) and grouped: every
        caller waiting while one is written is covered by the next single write."""
        if self._manifest_lock is None:
            self._manifest_lock = asyncio.Lock()
        self._manifest_asked += 1
        asked = self._manifest_asked
        async with self._manifest_lock:
            if self._manifest_saved >= asked:
                return
            covers = self._manifest_asked
            data = (json.dumps(self.plan.to_json(), ensure_ascii=False, indent=1) + "\n").encode()
            write = asyncio.ensure_future(
                asyncio.to_thread(write_atomic, self.folder / MANIFEST, data)
            )
            cancelled = False
            while not write.done():  # a stop waits for the write: no older copy lands later
                try:
                    await asyncio.shield(write)
                except asyncio.CancelledError:
                    cancelled = True
            if cancelled:
                raise asyncio.CancelledError
            write.result()
            self._manifest_saved = covers

    def _rebuild_summary(self) -> None:
        """summary.csv from the games' journals (blocking): every finished round once."""
        rows = []
        for chain in self.plan.chains:
            game_dir = self._dirs.get(chain.index)
            if game_dir is None:
                continue
            for rnd, (describe, draw) in sorted(
                _round_records(game_dir.records, self.plan.rounds).items()
            ):
                rows.append(summary_row(chain, describe, draw))
                self._written.add((chain.index, rnd))
        write_atomic(self.folder / SUMMARY, _csv_text(rows, ROW_FIELDS, header=True).encode())
        self._csv = (self.folder / SUMMARY).open("a", encoding="utf-8", newline="")

    def _append_row(self, chain: Chain, describe: TurnRecord, draw: TurnRecord | None) -> None:
        """One finished round into summary.csv (once: a resumed or caught-up round is not
        written again)."""
        key = (chain.index, describe.round)
        if key in self._written or describe.round > self.plan.rounds:
            return
        self._written.add(key)
        row = summary_row(chain, describe, draw)
        if self._csv is not None:
            self._csv.write(_csv_text([row], ROW_FIELDS, header=False))
            self._csv.flush()
        self.progress.done += 1
        if self.on_row is not None:
            self.on_row(chain, row)
        self._changed()

    def _catch_up(self) -> None:
        """Rounds on disk whose row was not appended (a stop landed as one was saved)."""
        for chain in self.plan.chains:
            game_dir = self._dirs.get(chain.index)
            if game_dir is None:
                continue
            for _, (describe, draw) in sorted(
                _round_records(game_dir.records, self.plan.rounds).items()
            ):
                self._append_row(chain, describe, draw)

    def _write_chains(self) -> None:
        rows = [chain_row(c, self._dirs.get(c.index), self.plan.rounds) for c in self.plan.chains]
        write_atomic(self.folder / CHAINS, _csv_text(rows, CHAIN_FIELDS, header=True).encode())

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    # -- control -------------------------------------------------------------------------

    def interrupt(self) -> None:
        """Ctrl-C: cancel every call in flight; finished turns are on disk already."""
        self._interrupted = True
        self._cancel_all()

    def _cancel_all(self) -> None:
        for task in self._tasks:
            task.cancel()

    def _halt(self, reason: str) -> None:
        """Stop starting turns (budget, every chain failing); calls in flight are cancelled."""
        if not self._stop_reason:
            self._stop_reason = reason
        self._cancel_all()

    async def run(self) -> Plan:
        """Play every unfinished chain; the batch folder is locked meanwhile (one runner)."""
        try:
            held = await asyncio.to_thread(take_lock, self.folder)
        except GameLocked as exc:
            raise BatchError(str(exc).replace("game ", "batch ", 1)) from None
        try:
            return await self._run()
        finally:
            held.close()

    async def _run(self) -> Plan:
        plan = self.plan
        self.slots = Slots(self.runtime, plan.concurrency, plan.per_provider)
        await asyncio.to_thread(self._open_existing)
        await asyncio.to_thread(self._rebuild_summary)
        self.progress.done = self.progress.done_before = len(self._written)
        for game_dir in self._dirs.values():
            spent, unknown = total_cost(game_dir.records)
            self.progress.spent += spent
            self.progress.unknown += unknown
        plan.state, plan.reason = "running", ""
        for chain in plan.chains:
            if chain.status != "done":
                chain.status, chain.error = "pending", ""
        await self.save_manifest()
        todo = [c for c in plan.chains if c.status != "done"]
        opened = asyncio.Semaphore(max(OPEN_CHAINS, 2 * plan.concurrency))
        self._tasks = [asyncio.ensure_future(self._chain(c, opened)) for c in todo]
        if self._interrupted:  # Ctrl-C before the chains began
            self._cancel_all()
        try:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        finally:
            for game_dir in self._dirs.values():
                game_dir.unlock()
            self._catch_up()
            if self._csv is not None:
                with contextlib.suppress(OSError):
                    self._csv.flush()
                    os.fsync(self._csv.fileno())
                self._csv.close()
                self._csv = None
            for chain in plan.chains:
                if chain.status in ("pending", "running"):
                    chain.status = "unfinished"
            self._conclude()
            gate = self.slots.gate
            plan.calls = {
                "calls": gate.calls,
                "seconds": round(gate.held, 3),
                "peak": gate.peak,
                "wall": round(time.monotonic() - self.progress.started, 3),
            }
            await asyncio.to_thread(self._write_chains)
            await self.save_manifest()
            self._changed()
        return plan

    def _conclude(self) -> None:
        plan = self.plan
        failed = [c for c in plan.chains if c.status == "failed"]
        done = [c for c in plan.chains if c.status == "done"]
        if self._interrupted and len(done) < len(plan.chains):
            plan.state, plan.reason = "interrupted", "interrupted"
        elif self._stop_reason:
            plan.state = "stopped" if self.budget_hit else "failed"
            plan.reason = self._stop_reason
        elif failed and not done:
            plan.state, plan.reason = "failed", f"every chain failed: {failed[-1].error}"
        else:
            plan.state = "finished"
            plan.reason = f"{len(done)} of {len(plan.chains)} chains finished" + (
                f", {len(failed)} failed" if failed else ""
            )

    def _open_existing(self) -> None:
        """Read the games of chains begun in an earlier run (blocking I/O); each is locked
        only while its chain plays, so a big batch never holds every game open."""
        for chain in self.plan.chains:
            if chain.game:
                try:
                    self._dirs[chain.index] = GameDir.open(self.runtime.store.find(chain.game))
                except (OSError, LookupError) as exc:
                    raise BatchError(
                        f"chain {chain.index}: its game {clean_text(chain.game, 200)} "
                        f"cannot be read ({clean_text(str(exc), 300)})"
                    ) from None

    # -- one chain -----------------------------------------------------------------------

    def _settings(self, chain: Chain) -> Settings:
        return replace(
            self.plan.settings, drawer=chain.pair.drawer, guesser=chain.pair.guesser, pace=0.0
        )

    async def _chain(self, chain: Chain, opened: asyncio.Semaphore) -> None:
        try:
            async with opened:
                await self._play(chain)
        except asyncio.CancelledError:
            if chain.status in ("pending", "running"):
                chain.status = "unfinished"
        except Exception as exc:  # a bug or a folder that cannot be written: this chain only
            chain.status, chain.error = "failed", clean_text(f"{type(exc).__name__}: {exc}", 500)
            self._chain_failed()
        finally:
            game_dir = self._dirs.get(chain.index)
            if game_dir is not None and chain.status != "running":
                game_dir.unlock()  # let go early: a big batch must not hold every game open

    async def _play(self, chain: Chain) -> None:
        settings = self._settings(chain)
        if chain.game:  # begun in an earlier run: read again, now as its one writer
            game_dir = await asyncio.to_thread(session.open_game, self.runtime, chain.game)
        else:
            game_dir = await asyncio.to_thread(
                session.new_game, self.runtime, chain.prompt, settings
            )
            chain.game = game_dir.name
        self._dirs[chain.index] = game_dir
        chain.status = "running"
        self.progress.running += 1
        self._changed()
        await self.save_manifest()
        assert self.slots is not None
        game = session.make_game(self.runtime, game_dir, settings, Limits(), models=self.slots)
        game.subscribe(lambda event: self._on_event(chain, game, event), partials=False)
        try:
            await self._turns(chain, game, settings)
        finally:
            self.progress.running -= 1
        game_dir.unlock()
        self._changed()
        await self.save_manifest()

    async def _turns(self, chain: Chain, game: Game, settings: Settings) -> None:
        rounds = self.plan.rounds
        while True:
            nxt = next_turn(game.dir.first_prompt, game.records)
            if nxt.kind == "draw" and nxt.round > rounds:
                chain.status = "done"
                return
            model = settings.drawer if nxt.kind == "draw" else settings.guesser
            price = self.runtime.price_of(model) or 0.0
            budget = self.plan.budget
            if budget is not None and self.progress.spent + self._reserved + price > budget + 1e-9:
                chain.status = "unfinished"
                self.budget_hit = True
                self._halt(f"budget ${budget:g} reached (spent ${self.progress.spent:.4f})")
                return
            left = 2 * (rounds - nxt.round) + (2 if nxt.kind == "draw" else 1)
            self._reserved += price
            try:
                assert self.slots is not None
                ticket = await self.slots.take(model, left)
                token = _TICKET.set(ticket)
                try:
                    record = await game.step()
                finally:
                    ticket.release()  # the call gave it back, unless the turn made none
                    _TICKET.reset(token)
            finally:
                self._reserved -= price
            if game.unsaved is not None:
                chain.status, chain.error = "failed", clean_text(game.reason, 500)
                self._chain_failed()
                return
            if not record.ok:
                err = record.error
                what = f"{err.kind}: {err.message}" if err is not None else "failed"
                chain.status, chain.error = (
                    "failed",
                    clean_text(f"round {record.round} {record.kind}: {what}", 500),
                )
                self._chain_failed()
                return
            self._ok_turns += 1

    def _chain_failed(self) -> None:
        """One chain failing is reported; the batch stops only when nothing succeeds at all."""
        self.progress.failed += 1
        self._changed()
        failed = [c for c in self.plan.chains if c.status == "failed"]
        todo = [c for c in self.plan.chains if c.status != "done"]
        if self._ok_turns == 0 and len(failed) >= min(3, len(todo)):
            self._halt(f"every chain failed: {failed[-1].error}")

    def _on_event(self, chain: Chain, game: Game, event: Event) -> None:
        """Every kept turn (even one saved as a stop landed): spend, and the round's row."""
        if isinstance(event, (PictureReady, CaptionReady)):
            record = event.record
            if record.cost is None:
                self.progress.unknown += 1
            else:
                self.progress.spent += record.cost
            if isinstance(event, CaptionReady):
                draws = [
                    r for r in game.records if r.ok and r.kind == "draw" and r.round == record.round
                ]
                self._append_row(chain, record, draws[-1] if draws else None)
            self._changed()
