"""``telestrations run``: a game played headless, one line (or JSON object) per turn."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from dataclasses import replace
from pathlib import Path

from telestrations import session
from telestrations.cli.commands import (
    EXIT_FAILED,
    EXIT_PIPE,
    CliError,
    _warn,
    choices_from,
    silence_stdout,
)
from telestrations.embeddings import Embedder, EmbeddingError, embedder_for
from telestrations.game import (
    CaptionReady,
    Event,
    Game,
    Limits,
    PictureReady,
    Settings,
    StateChanged,
    TurnFailed,
    TurnProgress,
)
from telestrations.memory import memory_note
from telestrations.runtime import Runtime
from telestrations.store import GameDir
from telestrations.terminal import json_line
from telestrations.text import clean_text
from telestrations.turns import TurnRecord, money, next_turn, plural

log = logging.getLogger("telestrations")


def _turn_line(record: TurnRecord) -> str:
    """One line per turn, whatever the model or the server said (newlines folded)."""
    model = clean_text(record.model, 80)
    head = f"round {record.round:>3}  {record.kind:<8}  {model:<24} {record.duration:6.2f}s  "
    if not record.ok and record.error is not None:
        hint = f" ({record.error.hint})" if record.error.hint else ""
        return head + clean_text(f"FAILED {record.error.kind}: {record.error.message}{hint}", 1000)
    cost = f"  {money(record.cost)}" if record.cost else ""
    return head + clean_text(record.output, 2000) + cost


def cmd_run(args: argparse.Namespace, runtime: Runtime) -> int:
    held: list[GameDir] = []
    try:
        return _cmd_run(args, runtime, held)
    finally:
        for game_dir in held:  # the process may go on (tests, embedding): let others play
            game_dir.unlock()


def _cmd_run(args: argparse.Namespace, runtime: Runtime, held: list[GameDir]) -> int:
    defaults = runtime.config.game
    launch = session.resolve(runtime, choices_from(args), pace=args.pace, lock="must")
    game_dir = launch.resume
    if game_dir is not None:
        held.append(game_dir)
        for warning in game_dir.warnings:
            print(f"warning: {clean_text(warning, 1000)}", file=sys.stderr)
        if args.prompt:
            raise CliError("--prompt cannot be used with --resume (the game has its prompt)")
        if args.branch_from or args.start_image:
            flag = "--from" if args.branch_from else "--start-image"
            raise CliError(f"{flag} cannot be used with --resume (it starts a new game)")
    if launch.parent is not None:
        held.append(launch.parent)
        if args.prompt:
            raise CliError("--prompt cannot be used with --from (the branch keeps its rounds)")
    if args.start_image and args.prompt:
        raise CliError("--prompt cannot be used with --start-image (the picture is the start)")
    if args.pace < 0:
        raise CliError("--pace must be 0 or more seconds")
    settings = launch.settings
    session.preflight(runtime, settings, network=not args.no_check, warn=_warn)
    rounds = defaults.rounds if args.rounds is None else args.rounds
    if rounds < 0:
        raise CliError("--rounds must be 0 (endless) or more")
    if args.converge_after is not None and args.converge_after < 2:
        raise CliError("--converge-after must be 2 or more")
    args.embedder = _embedder(runtime, args)
    if args.spend_limit is not None and args.spend_limit < 0:
        raise CliError("--spend-limit must be 0 (no cap) or more USD")
    if args.spend_limit is not None:
        spend = args.spend_limit if args.spend_limit > 0 else None
    else:
        spend = defaults.limits().spend
    if game_dir is None and launch.parent is not None:
        game_dir = session.branch(runtime, launch.parent, launch.parent_round, settings)
        held.append(game_dir)
        launch.parent.unlock()  # noted: others may play the parent again
        print(
            f"branched {clean_text(launch.parent.name, 200)} at round {launch.parent_round}"
            f" into {clean_text(game_dir.name, 200)}",
            file=sys.stderr,
        )
    elif game_dir is None and launch.start_image:
        game_dir = session.start_from_image(
            runtime, Path(launch.start_image).expanduser(), settings
        )
        held.append(game_dir)
    if game_dir is None:
        prompt = args.prompt if args.prompt is not None else launch.prompt
        if not prompt.strip():
            raise CliError("the first prompt is empty; give one with --prompt")
        game_dir = session.new_game(runtime, prompt, settings)
        held.append(game_dir)
    return asyncio.run(_run_game(runtime, game_dir, settings, rounds, spend, args))


async def _run_game(
    runtime: Runtime,
    game_dir: GameDir,
    settings: Settings,
    rounds: int,
    spend: float | None,
    args: argparse.Namespace,
) -> int:
    # a game started from a picture begins with its round 0 describe: --rounds counts from 1
    start_round = max(1, next_turn(game_dir.first_prompt, game_dir.records).round)
    total = start_round - 1 + rounds if rounds else 0
    limits = _limits(runtime, args, total, spend)
    game = session.make_game(runtime, game_dir, settings, limits, embedder=args.embedder)
    out = sys.stdout
    exit_code = 0
    noted: set[str] = set()

    def on_event(event: Event) -> None:
        nonlocal exit_code
        record = None
        if isinstance(event, (PictureReady, CaptionReady, TurnFailed)):
            record = event.record
        if record is not None and (note := memory_note(record, noted)):
            print(f"note: {note}", file=sys.stderr)
        if record is not None and not args.quiet and exit_code != EXIT_PIPE:
            try:
                if args.json:
                    data = record.to_json()
                    data["folder"] = str(game_dir.path)
                    out.write(json_line(data) + "\n")
                else:
                    out.write(_turn_line(record) + "\n")
                out.flush()
            except BrokenPipeError:
                # The reader went away (`| head`): stop rather than play on unseen.
                exit_code = EXIT_PIPE
                silence_stdout()
                game.stop("output closed")
        if isinstance(event, StateChanged):
            log.info("state: %s %s", event.state, event.reason)
        if isinstance(event, TurnProgress):
            log.info("round %d %s: %s", event.round, event.model, event.progress.text)

    game.subscribe(on_event, partials=False)  # prints finished turns only
    loop = asyncio.get_running_loop()

    def on_signal(code: int, name: str) -> None:
        nonlocal exit_code
        exit_code = code
        game.stop(f"interrupted ({name})")

    for sig, code in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
        try:
            loop.add_signal_handler(sig, on_signal, code, sig.name)
        except (NotImplementedError, RuntimeError):  # pragma: no cover (Windows)
            pass
    try:
        game.start()
        await game.wait()
    finally:
        await runtime.aclose()
    return _report_end(game, exit_code, args)


def _report_end(game: Game, exit_code: int, args: argparse.Namespace) -> int:
    """The final line (or JSON object), and the exit status the game ended with."""
    game_dir = game.dir
    spent, unknown = game.spent
    if exit_code == 0 and game.state == "paused" and game.records and not game.records[-1].ok:
        exit_code = EXIT_FAILED
    note = session.unsaved_note(game)
    if note is not None:
        # The process ends here, and the finished result with it: say so plainly.
        if exit_code in (0, EXIT_PIPE):
            exit_code = EXIT_FAILED
        print(f"telestrations: {note}", file=sys.stderr)
    out = sys.stdout
    summary = {
        "type": "end",
        "folder": str(game_dir.path),
        "state": game.state,
        "reason": game.reason,
        "rounds": game.rounds_done,
        "spent": round(spent, 6),
        "unknown_cost_turns": unknown,
    }
    folder = clean_text(str(game_dir.path), 0)
    if exit_code == EXIT_PIPE:
        print(f"telestrations: output closed; game kept in {folder}", file=sys.stderr)
        return exit_code
    if args.json:
        out.write(json_line(summary) + "\n")
    elif args.quiet:  # one line a script can keep: rounds, spend, where
        cost = money(spent) + (f" (+{plural(unknown, 'turn')} of unknown cost)" if unknown else "")
        out.write(f"{plural(game.rounds_done, 'round')} · {cost} · game kept in {folder}\n")
    else:
        cost = f", spent {money(spent)}" if spent else ""
        cost += f" (+{plural(unknown, 'turn')} of unknown cost)" if unknown else ""
        reason = clean_text(game.reason, 1000)
        out.write(f"{reason} · {plural(game.rounds_done, 'round')} in the game{cost}\n")
        if exit_code == EXIT_FAILED or (exit_code == 0 and game.state == "paused"):
            out.write(f"continue with: telestrations run --resume {clean_text(game_dir.name, 0)}\n")
        out.write(f"game kept in {folder}\n")
    out.flush()
    return exit_code


def _embedder(runtime: Runtime, args: argparse.Namespace) -> Embedder | None:
    spec = args.embeddings if args.embeddings is not None else runtime.config.game.embeddings
    try:
        return embedder_for(spec, os.environ, runtime.keyring.get)
    except EmbeddingError as exc:
        raise CliError(str(exc)) from None


def _limits(runtime: Runtime, args: argparse.Namespace, total: int, spend: float | None) -> Limits:
    """Rounds, spend and convergence: flags over config."""
    base = runtime.config.game.limits()
    k = base.converge_after if args.converge_after is None else args.converge_after
    until = base.until_converged if args.until_converged is None else args.until_converged
    return replace(base, rounds=total, spend=spend, until_converged=until, converge_after=k)
