"""The command line's grammar: every option, and where each may be given."""

from __future__ import annotations

import argparse
import difflib
import re
from collections.abc import Sequence
from typing import NoReturn

from telestrations import __version__
from telestrations.config import IMAGE_MODES
from telestrations.exports import FORMATS as EXPORT_FORMATS
from telestrations.keys import KNOWN

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
    p.add_argument(
        "--memory",
        action="store_true",
        default=d,
        help="memory play: the drawer also gets the previous picture (image edits, img2img)",
    )
    _add_preset(p, d)


def _add_preset(p: argparse.ArgumentParser, default: str | None) -> None:
    from telestrations.presets import BUILTIN

    p.add_argument(
        "--preset",
        metavar="NAME",
        default=default,
        help=f"guesser preset: {', '.join(BUILTIN)}, or a [presets.NAME] of config "
        "(--guesser-system/--guesser-prompt override its texts)",
    )


_INVALID_CHOICE = re.compile(r"invalid choice: '(?P<value>[^']*)'")


class Parser(argparse.ArgumentParser):
    """argparse with a suggestion for a mistyped choice (`telestrations rn` → 'run');
    Python 3.11's argparse has no ``suggest_on_error``. Subparsers are made of this class too."""

    def error(self, message: str) -> NoReturn:
        found = _INVALID_CHOICE.search(message)
        if found:
            choices = [str(c) for a in self._actions if a.choices is not None for c in a.choices]
            close = difflib.get_close_matches(found["value"], choices, n=1, cutoff=0.5)
            if close:
                message = f"{message}; did you mean '{close[0]}'?"
        super().error(message)


def _default_config() -> str:
    from telestrations.config import config_path

    try:
        return str(config_path())
    except Exception:  # never let --help fail
        return "the platform config dir"


def build_parser() -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = Parser(
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
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", help="none: the terminal UI; one of:"
    )

    _add_run(sub)
    _add_batch(sub)
    _add_one_shots(sub)
    _add_keys(sub)
    return parser


def _add_run(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    # -- keeping (issue 11): branching and starting from a picture
    start = run.add_mutually_exclusive_group()
    start.add_argument(
        "--from",
        dest="branch_from",
        metavar="GAME:ROUND",
        help="branch: a new game holding GAME's rounds 1..ROUND, played on from there",
    )
    start.add_argument(
        "--start-image",
        metavar="PATH",
        help="start from this picture: the guesser describes it first (round 0)",
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
    out.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="print one line at the end: rounds, spend, folder",
    )
    out.add_argument("--json", action="store_true", help="one JSON object per turn on stdout")


def _add_batch(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    batch = sub.add_parser(
        "batch",
        help="many chains at once from a file of prompts: games, a summary CSV, drift figures",
        description=(
            "Play one chain per prompt (and per pair) concurrently, each a normal game, with a "
            "progress line on stderr and a summary CSV. Ctrl-C stops cleanly; --resume finishes "
            "what is missing without repeating a finished round."
        ),
    )
    _add_common(batch, sub=True)
    _add_no_check(batch)
    batch.add_argument(
        "prompts", nargs="?", help="file of prompts, one per line (# comments; - = stdin)"
    )
    batch.add_argument("--rounds", type=int, help="rounds per chain (default 10)")
    batch.add_argument("--drawer", metavar="ID", default=_SUB, help="drawer of the first pair")
    batch.add_argument("--guesser", metavar="ID", default=_SUB, help="guesser of the first pair")
    batch.add_argument(
        "--pair",
        action="append",
        metavar="DRAWER,GUESSER",
        help="a model pair to play every prompt with (repeatable)",
    )
    batch.add_argument("--style", default=_SUB, help='drawer style ("" = none)')
    batch.add_argument(
        "--guesser-system", metavar="TEXT", default=_SUB, help="guesser system prompt"
    )
    batch.add_argument(
        "--guesser-prompt", metavar="TEXT", default=_SUB, help="what the guesser is asked"
    )
    _add_preset(batch, _SUB)
    batch.add_argument(
        "--memory",
        action="store_true",
        default=_SUB,
        help="memory play: the drawer also gets the previous picture (image edits, img2img)",
    )
    batch.add_argument(
        "--concurrency", type=int, metavar="K", help="model calls in flight at once (default 4)"
    )
    batch.add_argument(
        "--per-provider",
        action="append",
        metavar="NAME=N",
        help="at most N calls at once to provider NAME, e.g. openai=2 (repeatable)",
    )
    batch.add_argument(
        "--budget", type=float, metavar="USD", help="no new call past this spend for the batch"
    )
    batch.add_argument(
        "--resume", metavar="BATCH", default=_SUB, help="finish a batch (name, path or 'last')"
    )
    batch.add_argument(
        "-o", "--output", metavar="DIR", help="batch folder (default DATA_DIR/batches/NAME)"
    )
    batch.add_argument(
        "--json", action="store_true", help="one JSON object per finished round on stdout"
    )


def _add_one_shots(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    draw = sub.add_parser("draw", help="draw one picture and write it to a file")
    _add_common(draw, sub=True)
    _add_no_check(draw)
    draw.add_argument("text", help="what to draw (sent as is unless --style is given)")
    draw.add_argument(
        "--drawer", metavar="ID", default=_SUB, help="drawer model id, e.g. doodle:doodle"
    )
    draw.add_argument("--style", default=_SUB, help='prepend "{style}: " to the text')
    draw.add_argument("-o", "--output", required=True, metavar="FILE", help="image file to write")

    describe = sub.add_parser("describe", help="describe one image file and print the caption")
    _add_common(describe, sub=True)
    _add_no_check(describe)
    describe.add_argument("image", help="a PNG, JPEG, WebP or GIF file")
    describe.add_argument(
        "--guesser", metavar="ID", default=_SUB, help="guesser model id, e.g. ollama:llava"
    )
    describe.add_argument(
        "--guesser-system", metavar="TEXT", default=_SUB, help="guesser system prompt"
    )
    describe.add_argument(
        "--guesser-prompt", metavar="TEXT", default=_SUB, help="what the guesser is asked"
    )
    _add_preset(describe, _SUB)

    models = sub.add_parser("models", help="list every model, its kind and whether it works now")
    _add_common(models, sub=True)
    models.add_argument(
        "--no-check",
        action="store_true",
        help="skip network checks and use the cached model lists as they are",
    )
    models.add_argument(
        "--refresh",
        action="store_true",
        help="ask every service for its model list now, whatever the cache's age",
    )
    models.add_argument(
        "--all", action="store_true", help="also list models that are shut down (marked so)"
    )
    models.add_argument("--json", action="store_true", help="one JSON array on stdout")

    games = sub.add_parser("games", help="list past games")
    _add_common(games, sub=True)

    # -- keeping (issue 11): export formats and `show`
    export = sub.add_parser(
        "export", help="export a game: HTML booklet, GIF/WebP flipbook, contact sheet, md, jsonl"
    )
    _add_common(export, sub=True)
    export.add_argument("game", help="game name, path, unique part of the name, or 'last'")
    export.add_argument(
        "--format", "-f", choices=EXPORT_FORMATS, default="html", help="what to write (html)"
    )
    export.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="file or folder to write, or - for stdout (default ./<game name>.<ext>)",
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


def _add_keys(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = sub.add_parser("keys", help="manage API keys (stored owner-only, never printed)")
    ksub = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True, help="one of:")
    kset = ksub.add_parser("set", help="store a key, read from a prompt or stdin (never argv)")
    kset.add_argument(
        "name", help=f"key name: {', '.join(KNOWN)}, or a named endpoint's NAME from config"
    )
    ksub.add_parser("list", help="names of stored keys and where each comes from")
    ksub.add_parser("path", help="print the keys file path")
    kimp = ksub.add_parser("import", help="import the original's api-keys.json")
    kimp.add_argument("file", help="the api-keys.json to read")
    kdel = ksub.add_parser("delete", help="remove a stored key")
    kdel.add_argument("name", help="key name, as `telestrations keys list` shows it")


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
