"""``telestrations batch``: many chains at once (one per prompt and pair), with a progress line
on stderr, a summary CSV, and Ctrl-C / ``--resume`` that never repeat a finished round."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from telestrations import session
from telestrations.batch import (
    MANIFEST,
    SUMMARY,
    Batch,
    BatchError,
    Chain,
    Pair,
    Plan,
    find_batch,
    load_plan,
    new_folder,
    read_prompts,
    resume_name,
)
from telestrations.cli.commands import EXIT_FAILED, CliError, _warn, choices_from
from telestrations.runtime import Runtime
from telestrations.terminal import json_line
from telestrations.text import clean_text
from telestrations.turns import money, plural

DEFAULT_ROUNDS = 10
DEFAULT_CONCURRENCY = 4
TTY_EVERY = 0.1
"""Seconds between redraws of the progress line on a terminal."""
PLAIN_EVERY = 2.0
"""Seconds between progress lines when stderr is not a terminal (a log, a pipe)."""


def cmd_batch(args: argparse.Namespace, runtime: Runtime) -> int:
    try:
        folder, plan = _plan(args, runtime)
        return asyncio.run(_run(runtime, folder, plan, args))
    except BatchError as exc:
        raise CliError(str(exc)) from None


def _check(runtime: Runtime, plan: Plan, args: argparse.Namespace) -> None:
    """Every pair's models, once each, before anything is made or paid for."""
    for pair in dict.fromkeys(plan.pairs):
        settings = replace(plan.settings, drawer=pair.drawer, guesser=pair.guesser)
        session.preflight(runtime, settings, network=not args.no_check, warn=_warn)


def _plan(args: argparse.Namespace, runtime: Runtime) -> tuple[Path, Plan]:
    """A new plan from the prompts file and flags, or the manifest of ``--resume``."""
    per_provider = _per_provider(args.per_provider or [])
    if args.concurrency is not None and args.concurrency < 1:
        raise CliError("--concurrency must be 1 or more")
    if args.budget is not None and args.budget < 0:
        raise CliError("--budget must be 0 or more USD")
    base = session.base_settings(runtime)
    if args.resume is not None:
        given = [
            flag
            for flag, value in (
                ("PROMPTS", args.prompts),
                ("--rounds", args.rounds),
                ("--pair", args.pair),
                ("--drawer", args.drawer),
                ("--guesser", args.guesser),
                ("-o", args.output),
                ("--preset", getattr(args, "preset", None)),
                ("--memory", getattr(args, "memory", None) or None),
                ("--style", getattr(args, "style", None)),
                ("--guesser-system", getattr(args, "guesser_system", None)),
                ("--guesser-prompt", getattr(args, "guesser_prompt", None)),
            )
            if value is not None
        ]
        if given:
            raise CliError(
                f"{', '.join(given)} cannot be used with --resume (the batch has its own)"
            )
        folder = find_batch(runtime, args.resume)
        plan = load_plan(folder, base)
        if args.concurrency is not None:
            plan.concurrency = args.concurrency
        if args.per_provider:
            plan.per_provider = per_provider
        if args.budget is not None:
            plan.budget = args.budget or None
        _check(runtime, plan, args)
        return folder, plan
    if args.prompts is None:
        raise CliError("give a file of prompts (one per line), or --resume BATCH")
    pairs = [Pair.parse(p) for p in args.pair or []]
    source = Path(args.prompts).expanduser()
    try:
        text = sys.stdin.read() if args.prompts == "-" else source.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CliError(f"{clean_text(str(source), 0)} is not UTF-8 text") from None
    prompts = read_prompts(text)
    if not prompts:
        raise CliError("the prompts file has no prompt (blank lines and # comments are skipped)")
    rounds = DEFAULT_ROUNDS if args.rounds is None else args.rounds
    if rounds < 1:
        raise CliError("--rounds must be 1 or more")
    settings = choices_from(args).over(base, runtime.config.preset_table())
    if not pairs or args.drawer is not None or args.guesser is not None:
        pairs.insert(0, Pair(settings.drawer, settings.guesser))
    pairs = list(dict.fromkeys(pairs))
    if args.output and (Path(args.output).expanduser() / MANIFEST).exists():
        raise CliError(f"{clean_text(args.output, 0)} holds a batch; resume it with --resume")
    plan = Plan.make(
        "",
        prompts,
        pairs,
        rounds,
        settings,
        concurrency=args.concurrency or DEFAULT_CONCURRENCY,
        per_provider=per_provider,
        budget=args.budget or None,
        source=clean_text(source.name, 200),
    )
    _check(runtime, plan, args)
    folder = new_folder(runtime, source.name, args.output)
    plan.name = folder.name
    return folder, plan


def _per_provider(values: list[str]) -> dict[str, int]:
    out = {}
    for value in values:
        name, sep, n = value.partition("=")
        try:
            limit = int(n)
        except ValueError:
            limit = 0
        if not sep or not name.strip() or limit < 1:
            raise CliError(
                f"--per-provider is PROVIDER=N, N 1 or more (got {clean_text(value, 100)!r})"
            )
        out[name.strip()] = limit
    return out


class ProgressLine:
    """The one-line progress bar on stderr: redrawn in place on a terminal, plain lines
    (at most one per :data:`PLAIN_EVERY` seconds) otherwise."""

    def __init__(self, batch: Batch, stream: TextIO) -> None:
        self.batch = batch
        # Our own text only (numbers, ASCII), so the raw stream may get the carriage return
        # the cleaning stream would drop.
        self.out: TextIO = getattr(stream, "inner", stream)
        self.tty = stream.isatty()
        self.last = 0.0
        self.shown = ""

    def text(self) -> str:
        p = self.batch.progress
        width = 24
        filled = int(width * p.done / p.total) if p.total else width
        bar = "#" * filled + "-" * (width - filled)
        eta = p.eta()
        left = "--:--" if eta is None else _clock(eta)
        cost = money(p.spent) if p.spent else "$0"
        if p.unknown:
            cost += f" (+{plural(p.unknown, 'turn')} of unknown cost)"
        failed = f" · {p.failed} failed" if p.failed else ""
        return (
            f"[{bar}] {p.done}/{p.total} rounds · {p.running} running{failed} · "
            f"ETA {left} · {cost} spent"
        )

    def update(self, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self.last < (TTY_EVERY if self.tty else PLAIN_EVERY):
            return
        line = self.text()
        if line == self.shown and not final:
            return
        self.last, self.shown = now, line
        if self.tty:
            self.out.write("\r" + line + "\x1b[K" + ("\n" if final else ""))
        else:
            self.out.write(line + "\n")
        self.out.flush()


def _clock(seconds: float) -> str:
    s = int(seconds + 0.5)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


async def _run(runtime: Runtime, folder: Path, plan: Plan, args: argparse.Namespace) -> int:
    out = sys.stdout

    def on_row(chain: Chain, row: Mapping[str, Any]) -> None:
        if args.json:
            out.write(json_line({"type": "round", **row}) + "\n")
            out.flush()

    progress: ProgressLine | None = None

    def on_change() -> None:
        if progress is not None:
            progress.update()

    batch = Batch(runtime, folder, plan, on_row=on_row, on_change=on_change)
    progress = ProgressLine(batch, sys.stderr)
    exit_code = 0
    loop = asyncio.get_running_loop()
    # Every call in flight has thread work (checking the picture that came, reading the one to
    # describe) and every finished turn a save (fsyncs): with the default pool (cores + 4)
    # they queue behind each other while the call holds its slot.
    pool = ThreadPoolExecutor(max(8, plan.concurrency + 4), thread_name_prefix="batch")
    loop.set_default_executor(pool)

    def on_signal(code: int) -> None:
        nonlocal exit_code
        exit_code = code
        batch.interrupt()

    for sig, code in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
        try:
            loop.add_signal_handler(sig, on_signal, code)
        except (NotImplementedError, RuntimeError):  # pragma: no cover (Windows)
            pass
    ticker = asyncio.ensure_future(_tick(progress))
    try:
        await batch.run()
    finally:
        ticker.cancel()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.remove_signal_handler(sig)
            except (NotImplementedError, RuntimeError):  # pragma: no cover
                pass
        await runtime.aclose()
    progress.update(final=True)
    return _report(runtime, batch, folder, exit_code, args)


async def _tick(progress: ProgressLine) -> None:
    """Keep the ETA moving while long turns run."""
    while True:
        await asyncio.sleep(TTY_EVERY if progress.tty else PLAIN_EVERY)
        progress.update()


def _report(
    runtime: Runtime, batch: Batch, folder: Path, exit_code: int, args: argparse.Namespace
) -> int:
    plan = batch.plan
    p = batch.progress
    name = clean_text(resume_name(runtime, folder), 0)
    err = sys.stderr
    for chain in plan.chains:
        if chain.status == "failed":
            pair = clean_text(chain.pair.label, 200)
            print(
                f"chain {chain.index} (prompt {chain.prompt_no}, {pair})"
                f" failed: {clean_text(chain.error, 500)}",
                file=err,
            )
    done = sum(c.status == "done" for c in plan.chains)
    failed = sum(c.status == "failed" for c in plan.chains)
    if exit_code == 0 and (failed or plan.state != "finished"):
        exit_code = EXIT_FAILED
    cost = money(p.spent) if p.spent else "$0"
    unknown = f" (+{plural(p.unknown, 'turn')} of unknown cost, not counted)" if p.unknown else ""
    if args.json:
        sys.stdout.write(
            json_line(
                {
                    "type": "end",
                    "state": plan.state,
                    "reason": plan.reason,
                    "folder": str(folder),
                    "chains": len(plan.chains),
                    "done": done,
                    "failed": failed,
                    "rounds": p.done,
                    "spent": round(p.spent, 6),
                    "unknown_cost_turns": p.unknown,
                }
            )
            + "\n"
        )
    else:
        print(
            f"{clean_text(plan.reason, 1000)} · {p.done}/{p.total} rounds · spent {cost}{unknown}"
        )
        print(f"summary: {clean_text(str(folder / SUMMARY), 0)}")
    sys.stdout.flush()
    if plan.state != "finished" or failed:
        what = "interrupted; " if plan.state == "interrupted" else ""
        more = " --budget USD" if batch.budget_hit else ""
        print(f"{what}resume with: telestrations batch --resume {name}{more}", file=err)
    return exit_code
