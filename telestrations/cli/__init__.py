"""The ``telestrations`` command: the TUI by default, subcommands for headless work.

Errors a person can fix (bad config, unknown model, missing key) print one line and exit 2;
never a traceback. :mod:`.parser` is the grammar, :mod:`.run` the headless game,
:mod:`.commands` the one-shot commands; the use cases they share with the TUI live in
:mod:`telestrations.session`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from telestrations.alloc import keep_big_buffers
from telestrations.cli.batch import cmd_batch
from telestrations.cli.commands import (
    EXIT_FAILED,
    EXIT_PIPE,
    EXIT_USAGE,
    CliError,
    cmd_describe,
    cmd_draw,
    cmd_export,
    cmd_games,
    cmd_keys,
    cmd_models,
    cmd_show,
    cmd_tui,
    silence_stdout,
)
from telestrations.cli.parser import build_parser, parse_args
from telestrations.cli.run import cmd_run
from telestrations.config import ConfigError
from telestrations.keys import KeysError
from telestrations.logs import setup_logging
from telestrations.presets import UnknownPreset
from telestrations.runtime import Runtime
from telestrations.session import BadStart, Unusable
from telestrations.store import GameLocked, GameNotFound
from telestrations.terminal import clean_output
from telestrations.text import clean_text, redacting_excepthook

__all__ = [
    "EXIT_FAILED",
    "EXIT_PIPE",
    "EXIT_USAGE",
    "CliError",
    "build_parser",
    "main",
    "parse_args",
]


def main(argv: Sequence[str] | None = None) -> int:
    # Everything printed (ours, argparse's echo of a value, log records) goes through one
    # cleaner, which also redacts: text from outside never reaches the terminal as a control
    # sequence, and no key reaches it at all. The TUI writes through its own driver.
    sys.excepthook = redacting_excepthook  # a crash's traceback may quote a key
    keep_big_buffers()  # a round's multi-MB buffers are reused, not faulted in anew
    with clean_output():
        return _main(parse_args(argv))


def _main(args: argparse.Namespace) -> int:
    try:
        if args.command == "keys":
            code = cmd_keys(args)
            sys.stdout.flush()
            return code
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
            "batch": cmd_batch,
            "draw": cmd_draw,
            "describe": cmd_describe,
            "models": cmd_models,
            "games": cmd_games,
            "export": cmd_export,
            "show": cmd_show,
        }[args.command]
        code = handler(args, runtime)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's final flush
        return code
    except BrokenPipeError:
        # The reader of stdout went away (`telestrations models --json | head -1`): stop
        # quietly, as a shell expects of a process whose pipe closed.
        silence_stdout()
        return EXIT_PIPE
    except (
        ConfigError,
        KeysError,
        CliError,
        Unusable,
        BadStart,
        GameNotFound,
        GameLocked,
        UnknownPreset,
    ) as exc:
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
