"""The ``telestrations`` command: the TUI by default, subcommands for headless work.

Errors a person can fix (bad config, unknown model, missing key) print one line and exit 2;
never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import io
import json
import logging
import os
import signal
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from telestrations import __version__
from telestrations.config import IMAGE_MODES, ConfigError
from telestrations.embeddings import Embedder, EmbeddingError, embedder_for
from telestrations.exports import FORMATS as EXPORT_FORMATS
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
from telestrations.keys import KNOWN, KeysError, KeyStore, keys_path
from telestrations.logs import setup_logging
from telestrations.providers.base import Availability, ModelInfo, Picture, ProviderError
from telestrations.runtime import Runtime
from telestrations.store import GameDir, GameLocked, GameNotFound
from telestrations.terminal import clean_output, json_line
from telestrations.text import clean, clean_text, redacting_excepthook
from telestrations.turns import TurnRecord, money, next_turn, plural

EXIT_USAGE = 2
EXIT_FAILED = 1
EXIT_PIPE = 141
"""The reader of stdout went away (as a shell reports a process killed by SIGPIPE)."""

log = logging.getLogger("telestrations")


class CliError(Exception):
    """One line for the user; exit status 2."""


# -- argument parsing ---------------------------------------------------------------------------


# Options accepted both before and after the subcommand. The subcommand's copies default to
# SUPPRESS, so a value given before the subcommand is not overwritten by the copy's default
# (`telestrations --data-dir X run` uses X); given in both places, the later one wins, except
# -v, which counts in both.
_SUB = argparse.SUPPRESS


def _add_common(p: argparse.ArgumentParser, *, sub: bool = False) -> None:
    p.add_argument(
        "--config",
        metavar="FILE",
        default=_SUB if sub else None,
        help="config.toml to read (env TELESTRATIONS_CONFIG)",
    )
    p.add_argument(
        "--data-dir",
        metavar="DIR",
        default=_SUB if sub else None,
        help="where games are kept (env TELESTRATIONS_DATA_DIR)",
    )
    p.add_argument(
        "-v",
        "--verbose",
        action="count",
        dest="verbose_after" if sub else "verbose",
        default=_SUB if sub else 0,
        help="log more (to stderr); -vv for debug",
    )


def _add_no_check(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--no-check",
        action="store_true",
        help="start without first asking the chosen models' services whether they can be used",
    )


def _add_game_options(p: argparse.ArgumentParser, *, sub: bool = False) -> None:
    d = _SUB if sub else None
    p.add_argument(
        "--prompt", default=d, help="the first prompt (what the drawer illustrates first)"
    )
    p.add_argument("--drawer", metavar="ID", default=d, help="drawer model id, e.g. doodle:doodle")
    p.add_argument("--guesser", metavar="ID", default=d, help="guesser model id, e.g. ollama:llava")
    p.add_argument(
        "--style",
        default=d,
        help='drawer style; the drawer gets "{style}: {prompt}" ("" = none)',
    )
    p.add_argument("--guesser-system", metavar="TEXT", default=d, help="guesser system prompt")
    p.add_argument("--guesser-prompt", metavar="TEXT", default=d, help="what the guesser is asked")


def _default_config() -> str:
    from telestrations.config import config_path

    try:
        return str(config_path())
    except Exception:  # never let --help fail
        return "the platform config dir"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="telestrations",
        description=(
            "A text-to-image model and a vision model play an endless game of Telestrations. "
            "With no subcommand, the terminal UI starts (offline doodle models by default)."
        ),
        epilog=(
            "Run `telestrations COMMAND --help` for a command's options. "
            f"Config: {_default_config()} (or TELESTRATIONS_CONFIG / --config); "
            "see config.example.toml."
        ),
    )
    parser.add_argument("--version", action="version", version=f"telestrations {__version__}")
    _add_common(parser)
    _add_game_options(parser)
    parser.add_argument("--resume", metavar="GAME", help="open a past game (name, path or 'last')")
    parser.add_argument(
        "--images", choices=IMAGE_MODES, help="how history thumbnails are drawn (default halfcell)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="play a game headless, one line per turn",
        description="Play a game without the UI. Ctrl-C stops cleanly; the game stays on disk.",
    )
    _add_common(run, sub=True)
    _add_no_check(run)
    _add_game_options(run, sub=True)
    run.add_argument(
        "--rounds", type=int, default=None, help="rounds to play (0 = endless until Ctrl-C)"
    )
    run.add_argument("--spend-limit", type=float, metavar="USD", help="pause at this known spend")
    run.add_argument(
        "--resume", metavar="GAME", default=_SUB, help="continue a past game from its next turn"
    )
    run.add_argument(
        "--pace",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="make each turn take at least this long (default 0: as fast as the models go)",
    )
    # -- keeping (issue 11): convergence
    run.add_argument(
        "--until-converged",
        action="store_true",
        default=None,
        help="stop when the chain converges or cycles (see README, Drift)",
    )
    run.add_argument(
        "--converge-after",
        type=int,
        metavar="K",
        help="K near-identical captions in a row (or K rounds back) count as converged (3)",
    )
    run.add_argument(
        "--embeddings",
        metavar="ollama:MODEL|openai:MODEL",
        help="also measure drift with this embeddings model (see README, Drift)",
    )
    out = run.add_mutually_exclusive_group()
    out.add_argument("--quiet", "-q", action="store_true", help="print only the final line")
    out.add_argument("--json", action="store_true", help="one JSON object per turn on stdout")

    draw = sub.add_parser("draw", help="draw one picture and write it to a file")
    _add_common(draw, sub=True)
    _add_no_check(draw)
    draw.add_argument("text", help="what to draw (sent as is unless --style is given)")
    draw.add_argument("--drawer", metavar="ID", default=_SUB)
    draw.add_argument("--style", default=_SUB, help='prepend "{style}: " to the text')
    draw.add_argument("-o", "--output", required=True, metavar="FILE", help="image file to write")

    describe = sub.add_parser("describe", help="describe one image file and print the caption")
    _add_common(describe, sub=True)
    _add_no_check(describe)
    describe.add_argument("image", help="a PNG, JPEG, WebP or GIF file")
    describe.add_argument("--guesser", metavar="ID", default=_SUB)
    describe.add_argument("--guesser-system", metavar="TEXT", default=_SUB)
    describe.add_argument("--guesser-prompt", metavar="TEXT", default=_SUB)

    models = sub.add_parser("models", help="list every model, its kind and whether it works now")
    _add_common(models, sub=True)
    models.add_argument(
        "--no-check", action="store_true", help="skip network checks (keys and settings only)"
    )
    models.add_argument("--json", action="store_true", help="JSON output")

    games = sub.add_parser("games", help="list past games")
    _add_common(games, sub=True)

    # -- keeping (issue 11): export formats and `show`
    export = sub.add_parser(
        "export", help="export a game: HTML booklet, GIF/WebP flipbook, contact sheet, md, jsonl"
    )
    _add_common(export, sub=True)
    export.add_argument("game", help="game name, path, unique part of the name, or 'last'")
    export.add_argument("--format", "-f", choices=EXPORT_FORMATS, default="html")
    export.add_argument(
        "-o", "--output", metavar="PATH", help="file to write (default ./<game name>.<ext>)"
    )
    export.add_argument("--force", action="store_true", help="replace PATH if it exists")
    export.add_argument(
        "--size", type=int, default=0, metavar="PX", help="picture size in pixels (0 = default)"
    )
    export.add_argument(
        "--frame-ms", type=int, default=1500, metavar="MS", help="flipbook time per frame"
    )
    export.add_argument(
        "--columns", type=int, default=0, metavar="N", help="contact sheet columns (0 = auto)"
    )
    show = sub.add_parser("show", help="print a game's rounds with their drift figures")
    _add_common(show, sub=True)
    show.add_argument("game", help="game name, path, unique part of the name, or 'last'")

    keys = sub.add_parser("keys", help="manage API keys (stored owner-only, never printed)")
    ksub = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    kset = ksub.add_parser("set", help="store a key, read from a prompt or stdin (never argv)")
    kset.add_argument("name", help=f"key name: {', '.join(KNOWN)}")
    ksub.add_parser("list", help="names of stored keys and where each comes from")
    ksub.add_parser("path", help="print the keys file path")
    kimp = ksub.add_parser("import", help="import the original's api-keys.json")
    kimp.add_argument("file")
    kdel = ksub.add_parser("delete", help="remove a stored key")
    kdel.add_argument("name")
    return parser


# -- entry point ----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse, so that every option means what it says wherever it is given: an option before
    the subcommand counts for it, and one that the subcommand does not take is refused."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.verbose += vars(args).pop("verbose_after", 0)
    _refuse_misplaced(parser, args)
    if args.command == "draw" and args.style is None:
        args.style = ""
    return args


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _refuse_misplaced(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Exit 2 naming an option given before a subcommand that has no use for it (e.g.
    `telestrations --images sixel models`), rather than ignoring it silently."""
    if args.command is None:
        return
    subs = _subcommands(parser)

    def takes(sub: argparse.ArgumentParser, dest: str) -> bool:
        dests = {a.dest for a in sub._actions}
        return dest in dests or (dest == "verbose" and "verbose_after" in dests)

    for action in parser._actions:
        if not action.option_strings or action.dest in ("help", "version"):
            continue
        if getattr(args, action.dest, None) == action.default:
            continue  # not given
        if takes(subs[args.command], action.dest):
            continue
        flag = "/".join(action.option_strings)
        users = [
            "the terminal UI",
            *(f"`{n}`" for n, sub in subs.items() if takes(sub, action.dest)),
        ]
        parser.error(
            f"{flag} does not apply to `telestrations {args.command}` "
            f"(it is an option of {', '.join(users)})"
        )


def main(argv: Sequence[str] | None = None) -> int:
    # Everything printed (ours, argparse's echo of a value, log records) goes through one
    # cleaner, which also redacts: text from outside never reaches the terminal as a control
    # sequence, and no key reaches it at all. The TUI writes through its own driver.
    sys.excepthook = redacting_excepthook  # a crash's traceback may quote a key
    with clean_output():
        return _main(parse_args(argv))


def _main(args: argparse.Namespace) -> int:
    try:
        if args.command == "keys":
            return cmd_keys(args)
        runtime = Runtime.load(
            config_file=Path(args.config).expanduser() if args.config else None,
            data_dir_flag=args.data_dir,
        )
        setup_logging(
            args.verbose,
            secrets=runtime.keyring.secrets,
            log_file=runtime.data_dir / "telestrations.log" if args.command is None else None,
        )
        if args.command is None:
            return cmd_tui(args, runtime)
        handler = {
            "run": cmd_run,
            "draw": cmd_draw,
            "describe": cmd_describe,
            "models": cmd_models,
            "games": cmd_games,
            "export": cmd_export,
            "show": cmd_show,
        }[args.command]
        return handler(args, runtime)
    except (ConfigError, KeysError, CliError, GameNotFound, GameLocked) as exc:
        print(f"telestrations: {clean_text(str(exc), 1000)}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # a path the user gave (or a data dir) that cannot be used
        where = f"{exc.filename}: " if exc.filename else ""
        print(
            f"telestrations: {clean_text(f'{where}{exc.strerror or exc}', 1000)}", file=sys.stderr
        )
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def _settings_from(args: argparse.Namespace, base: Settings) -> Settings:
    changes: dict[str, Any] = {}
    for field_name, attr in [
        ("drawer", "drawer"),
        ("guesser", "guesser"),
        ("style", "style"),
        ("guesser_system", "guesser_system"),
        ("guesser_prompt", "guesser_prompt"),
    ]:
        value = getattr(args, attr, None)
        if value is not None:
            changes[field_name] = value
    return replace(base, **changes)


def _preflight(
    runtime: Runtime,
    settings: Settings,
    kinds: Sequence[str] = ("drawer", "guesser"),
    *,
    network: bool = True,
) -> None:
    """Fail before the first turn, with one line, if a chosen model cannot be used: first the
    quick checks (known id, key), then (``network``) ask the services themselves, briefly, so
    a guesser that is not pulled or cannot see images is caught before a paid drawing."""
    chosen: list[tuple[str, str]] = []
    for kind in kinds:
        model_id = settings.drawer if kind == "drawer" else settings.guesser
        _, avail = runtime.availability(model_id, kind)  # type: ignore[arg-type]
        if not avail.ok:
            raise CliError(_cannot_use(kind, model_id, avail))
        chosen.append((kind, model_id))
    if network:
        for kind, model_id, avail in asyncio.run(_check_chosen(runtime, chosen)):
            if avail.kind in _PASSING:  # busy or slow now: the turn itself will retry or say
                print(f"warning: {_cannot_use(kind, model_id, avail)}", file=sys.stderr)
            else:
                raise CliError(_cannot_use(kind, model_id, avail))


_PASSING = ("timeout", "rate_limited", "server")
PREFLIGHT_SECONDS = 8.0


def _cannot_use(kind: str, model_id: str, avail: Availability) -> str:
    hint = f"; {avail.hint}" if avail.hint else ""
    return clean_text(f"cannot use {kind} {model_id}: {avail.reason}{hint}", 1000)


async def _check_chosen(
    runtime: Runtime, chosen: list[tuple[str, str]]
) -> list[tuple[str, str, Availability]]:
    """The chosen models' own checks, concurrently, within a few seconds; only failures."""

    async def one(kind: str, model_id: str) -> tuple[str, str, Availability]:
        provider, model = runtime.registry.resolve(model_id, kind)  # type: ignore[arg-type]
        try:
            return kind, model_id, await provider.check(model)
        except Exception as exc:  # a broken check must not block a game
            log.debug("check of %s failed", model_id, exc_info=True)
            return kind, model_id, Availability.yes(f"check failed: {exc}")

    try:
        results = await asyncio.wait_for(
            asyncio.gather(*(one(k, m) for k, m in dict.fromkeys(chosen))), PREFLIGHT_SECONDS
        )
    except TimeoutError:
        print("warning: the model checks took too long; starting anyway", file=sys.stderr)
        results = []
    finally:
        await runtime.aclose()  # the game runs in a loop of its own: no pooled connections
    return [r for r in results if not r[2].ok]


# -- run --------------------------------------------------------------------------------


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
    if args.resume is not None:  # `--resume ""` is an error, not a new game
        game_dir = GameDir.open(runtime.store.find(args.resume))
        game_dir.lock()  # one writer: a second `run` or app gets one line naming the first
        held.append(game_dir)
        for warning in game_dir.warnings:
            print(f"warning: {clean_text(warning, 1000)}", file=sys.stderr)
        saved = game_dir.header.get("settings", {})
        base = Settings.from_saved(saved, defaults.settings())
        if args.prompt:
            raise CliError("--prompt cannot be used with --resume (the game has its prompt)")
    else:
        game_dir = None
        base = defaults.settings()
    if args.pace < 0:
        raise CliError("--pace must be 0 or more seconds")
    settings = replace(_settings_from(args, base), pace=args.pace)
    _preflight(runtime, settings, network=not args.no_check)
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
    if game_dir is None:
        prompt = args.prompt if args.prompt is not None else defaults.prompt
        if not prompt.strip():
            raise CliError("the first prompt is empty; give one with --prompt")
        game_dir = runtime.store.new_game(prompt, _settings_dict(settings), lock=True)
        held.append(game_dir)
    return asyncio.run(_run_game(runtime, game_dir, settings, rounds, spend, args))


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _settings_dict(settings: Settings) -> dict[str, str]:
    return {k: getattr(settings, k) for k in Settings.__dataclass_fields__}


async def _run_game(
    runtime: Runtime,
    game_dir: GameDir,
    settings: Settings,
    rounds: int,
    spend: float | None,
    args: argparse.Namespace,
) -> int:
    start_round = next_turn(game_dir.first_prompt, game_dir.records).round
    total = start_round - 1 + rounds if rounds else 0
    game = Game(
        game_dir,
        runtime.models(),
        settings,
        _limits(runtime, args, total, spend),
        price_of=runtime.price_of,
        embedder=args.embedder,
    )
    out = sys.stdout
    exit_code = 0

    def on_event(event: Event) -> None:
        nonlocal exit_code
        record = None
        if isinstance(event, (PictureReady, CaptionReady, TurnFailed)):
            record = event.record
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
                _silence_stdout()
                game.stop("output closed")
        if isinstance(event, StateChanged):
            log.info("state: %s %s", event.state, event.reason)
        if isinstance(event, TurnProgress):
            log.info("round %d %s: %s", event.round, event.model, event.progress.text)

    game.subscribe(on_event)
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
    spent, unknown = game.spent
    if exit_code == 0 and game.state == "paused" and game.records and not game.records[-1].ok:
        exit_code = EXIT_FAILED
    unsaved = game.unsaved
    if unsaved is not None:
        # The process ends here, and the finished result with it: say so plainly.
        if exit_code in (0, EXIT_PIPE):
            exit_code = EXIT_FAILED
        what = "picture" if unsaved.kind == "draw" else "caption"
        print(
            f"telestrations: the round {unsaved.round} {unsaved.kind} finished but could not "
            f"be saved: {game.save_error}; the {what} was not kept, and resuming will call "
            f"{unsaved.model} again",
            file=sys.stderr,
        )
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
    else:
        cost = f", spent {money(spent)}" if spent else ""
        cost += f" (+{unknown} turns of unknown cost)" if unknown else ""
        total = game.rounds_done
        reason = clean_text(game.reason, 1000)
        out.write(f"{reason} · {total} round{'s' * (total != 1)} in the game{cost}\n")
        if exit_code == EXIT_FAILED or (exit_code == 0 and game.state == "paused"):
            out.write(f"continue with: telestrations run --resume {clean_text(game_dir.name, 0)}\n")
        out.write(f"game kept in {folder}\n")
    out.flush()
    return exit_code


# -- one-shot commands ------------------------------------------------------------------------


def cmd_draw(args: argparse.Namespace, runtime: Runtime) -> int:
    settings = Settings(drawer=args.drawer or runtime.config.game.drawer, style=args.style)
    _preflight(runtime, settings, ("drawer",), network=not args.no_check)
    output = Path(args.output).expanduser()
    _check_writable(output)  # before the (maybe paid) drawing, not after
    text = settings.drawer_text(args.text)

    async def go() -> Picture:
        try:
            return await runtime.models().drawer(settings.drawer).draw(text)
        finally:
            await runtime.aclose()

    try:
        picture = asyncio.run(go())
    except ProviderError as exc:
        print(
            f"telestrations: {clean_text(f'{settings.drawer} failed: {exc}', 1000)}",
            file=sys.stderr,
        )
        return EXIT_FAILED
    output.write_bytes(picture.data)  # as received, never re-encoded
    note = ""
    if output.suffix.lower() not in (picture.suffix, ".jpeg" if picture.format == "jpeg" else ""):
        note = f" (note: the data is {picture.format}, the name says {output.suffix or 'nothing'})"
    written = f"wrote {output} ({picture.format} {picture.width}×{picture.height}){note}"
    print(clean_text(written, 0))
    revised = picture.extras.get("revised_prompt")
    if revised:
        print(f"revised prompt: {clean_text(str(revised), 2000)}")
    return 0


def _check_writable(output: Path) -> None:
    folder = output.parent
    if output.is_dir():
        raise CliError(f"{output} is a folder; give a file name, e.g. {output / 'drawing.png'}")
    if not folder.is_dir():
        raise CliError(f"{folder} does not exist (create it, or write somewhere else)")
    if not os.access(folder, os.W_OK):
        raise CliError(f"{folder} is not writable")


def _read_picture(path: Path) -> Picture:
    from PIL import Image, UnidentifiedImageError

    from telestrations.providers.base import sniff_format

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CliError(f"{path}: {exc.strerror or exc}") from None
    fmt = sniff_format(data)
    if fmt is None:
        raise CliError(f"{path}: not a PNG, JPEG, WebP or GIF image")
    try:
        with Image.open(io.BytesIO(data)) as im:
            width, height = im.size
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise CliError(f"{path}: cannot read the image ({exc})") from None
    return Picture(data, fmt, width, height)


def cmd_describe(args: argparse.Namespace, runtime: Runtime) -> int:
    defaults = runtime.config.game.settings()
    settings = _settings_from(args, defaults)
    _preflight(runtime, settings, ("guesser",), network=not args.no_check)
    picture = _read_picture(Path(args.image).expanduser())

    async def go() -> str:
        try:
            guesser = runtime.models().guesser(settings.guesser)
            caption = await guesser.describe(
                picture, settings.guesser_system, settings.guesser_prompt
            )
            return caption.text
        finally:
            await runtime.aclose()

    try:
        print(clean(asyncio.run(go()), limit=0).strip())
    except ProviderError as exc:
        print(
            f"telestrations: {clean_text(f'{settings.guesser} failed: {exc}', 1000)}",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return 0


# -- models, games, keys ------------------------------------------------------------


async def _check_all(runtime: Runtime, budget: float) -> dict[str, Availability]:
    """Discovery and slow checks for every model, concurrently, within ``budget`` seconds."""
    results: dict[str, Availability] = {}

    async def discover(provider: Any) -> None:
        try:
            found = await provider.discover()
            if hasattr(provider, "remember_discovered"):
                provider.remember_discovered(found)
        except Exception as exc:
            log.debug("discovery failed for %s: %s", provider.name, exc)

    async def check(provider: Any, model: ModelInfo) -> None:
        try:
            results[f"{model.kind}:{model.id}"] = await provider.check(model)
        except Exception as exc:
            results[f"{model.kind}:{model.id}"] = Availability.no(f"check failed: {exc}")

    providers = list(runtime.registry.providers.values())
    try:
        await asyncio.wait_for(
            asyncio.gather(*(discover(p) for p in providers)), timeout=budget / 2
        )
    except TimeoutError:
        pass
    jobs = [check(p, m) for p in providers for m in p.models() if provider_quick_ok(p, m)]
    try:
        await asyncio.wait_for(asyncio.gather(*jobs), timeout=budget / 2)
    except TimeoutError:
        pass
    await runtime.aclose()
    return results


def provider_quick_ok(provider: Any, model: ModelInfo) -> bool:
    return bool(provider.availability(model).ok)


def cmd_models(args: argparse.Namespace, runtime: Runtime) -> int:
    checked: dict[str, Availability] = {}
    if not args.no_check:
        checked = asyncio.run(_check_all(runtime, budget=6.0))
    rows = []
    for provider in runtime.registry.providers.values():
        for model in provider.models():
            avail = checked.get(f"{model.kind}:{model.id}") or provider.availability(model)
            rows.append((provider, model, avail))
    if args.json:
        data = [
            {
                "id": m.id,
                "provider": p.title,
                "kind": m.kind,
                "available": a.ok,
                "reason": a.reason,
                "hint": a.hint,
                "price": m.price,
                "retired": m.retired,
                "note": m.note,
            }
            for p, m, a in rows
        ]
        print(json.dumps(data, indent=2))  # ASCII: every other character is a \\u escape
        return 0
    width = max((len(clean_text(m.id, 80)) for _, m, _ in rows), default=10) + 2
    for _provider, model, avail in rows:
        status = "ok" if avail.ok else "no"
        why = avail.reason if not avail.ok else ""
        if avail.hint and not avail.ok:
            why += f" ({avail.hint})"
        extra = []
        if model.price is not None:
            extra.append(f"${model.price:g}/call")
        if model.retired:
            extra.append(f"retired: {model.retired}")
        if model.note:
            extra.append(model.note)
        tail = clean_text("; ".join(x for x in (why, *extra) if x), 1000)
        print(f"{clean_text(model.id, 80):<{width}} {model.kind:<8} {status:<3} {tail}")
    return 0  # a provider that failed to load is a row above: "PROVIDER:*  no  could not start"


def cmd_games(args: argparse.Namespace, runtime: Runtime) -> int:
    games = runtime.store.list()
    if not games:
        print(f"no games yet in {clean_text(str(runtime.store.games_dir), 0)}")
        return 0
    for g in games:
        cost = f"  {money(g.spent)}" if g.spent else ""
        failed = f"  {plural(g.failed, 'failed attempt')}" if g.failed else ""
        name, prompt = clean_text(g.name, 200), clean_text(g.prompt, 60)
        print(f"{name}  {plural(g.rounds, 'round'):>10}{cost}{failed}  {prompt}")
    return 0


def cmd_export(args: argparse.Namespace, runtime: Runtime) -> int:
    from telestrations.exports import ExportError, ExportOptions, default_path, export_game

    game = GameDir.open(runtime.store.find(args.game))
    out = Path(args.output).expanduser() if args.output else default_path(game, args.format)
    if out.is_dir():
        out = default_path(game, args.format, out)
    opts = ExportOptions(size=args.size, frame_ms=args.frame_ms, columns=args.columns)
    try:
        written = export_game(game, args.format, out, force=args.force, options=opts)
    except ExportError as exc:
        raise CliError(str(exc)) from None
    print(f"exported {clean_text(str(written), 0)}")
    return 0


def cmd_show(args: argparse.Namespace, runtime: Runtime) -> int:
    from telestrations.show import show_lines

    game = GameDir.open(runtime.store.find(args.game))
    try:
        for line in show_lines(game):
            print(line)
        sys.stdout.flush()
    except BrokenPipeError:  # `telestrations show GAME | head`
        _silence_stdout()
        return EXIT_PIPE
    return 0


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


def cmd_keys(args: argparse.Namespace) -> int:
    from telestrations.keys import KeyRing, key_names, normalise

    store = KeyStore(keys_path())
    action = args.keys_command
    if action == "path":
        print(clean_text(str(store.path), 0))
        return 0
    if action == "list":
        sources = KeyRing(store).sources()
        if not sources:
            where = clean_text(str(store.path), 0)
            print(f"no keys (store one with `telestrations keys set openai`; file: {where})")
        for src in sources:
            print(f"{clean_text(src.name, 80):<14} {clean_text(src.source, 500)}")
        return 0
    allowed = key_names()
    if action == "import":
        names, skipped = store.import_file(Path(args.file).expanduser(), allowed)
        shown = clean_text(f"imported {', '.join(names) or 'nothing'} into {store.path}", 0)
        print(shown)
        for why in skipped:
            print(f"skipped {clean_text(str(why), 500)}", file=sys.stderr)
        return 0
    if action == "delete":
        found = store.delete(args.name)
        said = f"deleted {normalise(args.name)}" if found else f"no key named {args.name}"
        print(clean_text(said, 500))
        return 0 if found else EXIT_FAILED
    # set: from a hidden prompt on a terminal, else one line of stdin; never from argv
    name = normalise(args.name)
    if name not in allowed:
        raise CliError(f"no provider named {args.name!r} takes a key (names: {', '.join(allowed)})")
    if sys.stdin.isatty():
        value = getpass.getpass(f"{name} key (input hidden): ")
    else:
        value = sys.stdin.readline()
    store.set(name, value)
    print(clean_text(f"stored {name} key in {store.path}", 0))
    return 0


def cmd_tui(args: argparse.Namespace, runtime: Runtime) -> int:
    try:
        from telestrations.tui.app import run_app
    except ImportError as exc:  # e.g. a Textual too old or missing: say so, never exit 0
        print(
            f"telestrations: the terminal UI cannot start ({type(exc).__name__}: {exc}); "
            "the headless commands still work (see `telestrations --help`)",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return run_app(args, runtime)
