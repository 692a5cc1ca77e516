"""The one-shot commands (draw, describe, models, games, export, keys) and the TUI's start."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import io
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from telestrations import session
from telestrations.game import Settings
from telestrations.keys import KeyStore, keys_path
from telestrations.providers.base import Availability, Picture, ProviderError
from telestrations.providers.listings import age_text, offered, state_note, state_of
from telestrations.runtime import Runtime
from telestrations.state import load_state
from telestrations.store import GameDir, GameSummary
from telestrations.text import clean, clean_text
from telestrations.turns import money, plural

if TYPE_CHECKING:
    from telestrations.exports import ExportOptions

EXIT_USAGE = 2
EXIT_FAILED = 1
EXIT_PIPE = 141
"""The reader of stdout went away (as a shell reports a process killed by SIGPIPE)."""


class CliError(Exception):
    """One line for the user; exit status 2."""


def choices_from(args: argparse.Namespace) -> session.Choices:
    """What the person typed, for :func:`telestrations.session.resolve`."""
    return session.Choices.of(vars(args))


def _warn(line: str) -> None:
    print(f"warning: {line}", file=sys.stderr)


def silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def cmd_draw(args: argparse.Namespace, runtime: Runtime) -> int:
    settings = Settings(drawer=args.drawer or runtime.config.game.drawer, style=args.style)
    session.preflight(runtime, settings, ("drawer",), network=not args.no_check, warn=_warn)
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
    settings = choices_from(args).over(
        runtime.config.game.settings(), runtime.config.preset_table()
    )
    session.preflight(runtime, settings, ("guesser",), network=not args.no_check, warn=_warn)
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


async def _check_all(
    runtime: Runtime, budget: float, *, refresh: bool = False
) -> dict[str, Availability]:
    """The listings (cached while fresh, else asked, ``refresh``: asked now), then every
    model's own check, concurrently, within ``budget`` seconds."""
    checks = session.Checks(runtime, timeout=budget, strict=True)
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(checks.discover(refresh=refresh), timeout=budget / 2)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(checks.check_all(), timeout=budget / 2)
    finally:
        await runtime.aclose()
    return {f"{kind}:{model_id}": avail for (kind, model_id), avail in checks.checked.items()}


def listing_line(runtime: Runtime, name: str) -> str:
    """Where a provider's models came from: "listed just now", "cached, listed 3 h ago"."""
    status = runtime.listing_status.get(name)
    if status is None:
        return ""
    age = age_text(runtime.clock() - status.fetched_at)
    if not status.cached:
        return f"listed {age}"
    line = f"cached list from {age}"
    return f"{line} (the service did not answer: {status.error})" if status.error else line


def cmd_models(args: argparse.Namespace, runtime: Runtime) -> int:
    if args.refresh and args.no_check:
        raise CliError("--refresh asks the services; it cannot go with --no-check")
    checked: dict[str, Availability] = {}
    if not args.no_check:
        checked = asyncio.run(_check_all(runtime, budget=6.0, refresh=args.refresh))
    today = runtime.today()
    rows = []
    for provider in runtime.registry.providers.values():
        for model in offered(provider.models(), today, everything=args.all):
            avail = checked.get(f"{model.kind}:{model.id}") or runtime.verdict(provider, model)
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
                "shutdown": m.shutdown or None,
                "state": state_of(m, today),
                "successor": m.successor or None,
                "listing": listing_line(runtime, p.name),
            }
            for p, m, a in rows
        ]
        print(json.dumps(data, indent=2))  # ASCII: every other character is a \\u escape
        return 0
    width = max((len(clean_text(m.id, 80)) for _, m, _ in rows), default=10) + 2
    for _provider, model, avail in rows:
        status = "ok" if avail.ok else "no"
        why = avail.reason if not avail.ok or avail.warning else ""
        if avail.hint and not avail.ok:
            why += f" ({avail.hint})"
        extra = []
        dated = state_note(model, today)
        if dated:
            extra.append(dated)
            if model.successor:
                extra.append(f"replaced by {model.successor}")
        if model.price is not None:
            extra.append(f"${model.price:g}/call")
        if model.retired and not dated:
            extra.append(f"retired: {model.retired}")
        if model.note:
            extra.append(model.note)
        tail = clean_text("; ".join(x for x in (why, *extra) if x), 1000)
        print(f"{clean_text(model.id, 80):<{width}} {model.kind:<8} {status:<3} {tail}")
    for provider in runtime.registry.providers.values():
        line = listing_line(runtime, provider.name)
        if line:
            print(clean_text(f"{provider.name}: {line}", 1000))
    return 0  # a provider that failed to load is a row above: "PROVIDER:*  no  could not start"


def cmd_games(args: argparse.Namespace, runtime: Runtime) -> int:
    games = runtime.store.list()
    if not games:
        print(f"no games yet in {clean_text(str(runtime.store.games_dir), 0)}")
        return 0
    rows = [
        (
            clean_text(g.name, 200),
            plural(g.rounds, "round"),
            money(g.spent) if g.spent else "",
            plural(g.failed, "failed attempt") if g.failed else "",
            clean_text(g.prompt, 60) + _links(g),
        )
        for g in games
    ]
    # Every column starts at the same offset on every row, whatever the names and costs.
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for name, rounds, cost, failed, prompt in rows:
        cells = [name.ljust(widths[0]), rounds.ljust(widths[1])]
        if widths[2]:  # a column only when some game has it
            cells.append(cost.ljust(widths[2]))
        if widths[3]:
            cells.append(failed.ljust(widths[3]))
        print("  ".join([*cells, prompt]))
    return 0


def _links(game: GameSummary) -> str:
    return f"  ({game.links})" if game.links else ""


def cmd_export(args: argparse.Namespace, runtime: Runtime) -> int:
    from telestrations.exports import ExportError, ExportOptions, default_path, export_game

    game = GameDir.open(runtime.store.find(args.game))
    opts = ExportOptions(size=args.size, frame_ms=args.frame_ms, columns=args.columns)
    if args.output == "-":
        return _export_stdout(game, args.format, opts)
    out = Path(args.output).expanduser() if args.output else default_path(game, args.format)
    if out.is_dir():
        out = default_path(game, args.format, out)
    try:
        written = export_game(game, args.format, out, force=args.force, options=opts)
    except ExportError as exc:
        raise CliError(str(exc)) from None
    print(f"exported {clean_text(str(written), 0)}")
    return 0


def _export_stdout(game: GameDir, fmt: str, opts: ExportOptions) -> int:
    """``-o -``: the export on stdout, byte for byte to a pipe or file; a picture format is
    refused on a terminal, and text shown on one goes through the output cleaner."""
    from telestrations.exports import BINARY, ExportError, export_bytes

    tty = sys.stdout.isatty()
    if tty and fmt in BINARY:
        raise CliError(
            f"not writing a {fmt} picture to the terminal; redirect stdout (> FILE, | program) "
            "or give -o FILE"
        )
    try:
        data = export_bytes(game, fmt, opts)
    except ExportError as exc:
        raise CliError(str(exc)) from None
    if tty:
        sys.stdout.write(data.decode("utf-8", "replace"))
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    return 0


def cmd_show(args: argparse.Namespace, runtime: Runtime) -> int:
    from telestrations.show import show_lines

    game = GameDir.open(runtime.store.find(args.game))
    try:
        for line in show_lines(game):
            print(line)
        sys.stdout.flush()
    except BrokenPipeError:  # `telestrations show GAME | head`
        silence_stdout()
        return EXIT_PIPE
    return 0


def _config_instances(args: argparse.Namespace) -> tuple[dict[str, tuple[str, ...]], str]:
    """The named endpoints config declares (key name → environment variables), and why they
    are unknown when the config cannot be read (``keys`` works without a valid config)."""
    from telestrations.config import ConfigError, load_config
    from telestrations.runtime import instance_keys

    config_file = getattr(args, "config", None)
    try:
        config = load_config(Path(config_file).expanduser() if config_file else None)
    except ConfigError as exc:
        return {}, str(exc)
    return instance_keys(config), ""


def cmd_keys(args: argparse.Namespace) -> int:
    from telestrations.keys import KeyRing, key_names, normalise

    store = KeyStore(keys_path())
    action = args.keys_command
    if action == "path":
        print(clean_text(str(store.path), 0))
        return 0
    instances, config_problem = _config_instances(args)
    if action == "list":
        sources = KeyRing(store, extra=instances).sources()
        if not sources:
            where = clean_text(str(store.path), 0)
            print(f"no keys (store one with `telestrations keys set openai`; file: {where})")
        for src in sources:
            print(f"{clean_text(src.name, 80):<14} {clean_text(src.source, 500)}")
        return 0
    allowed = key_names(instances)
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
        problem = f"; the config could not be read: {config_problem}" if config_problem else ""
        raise CliError(
            f"no provider named {args.name!r} takes a key (names: {', '.join(allowed)}){problem}"
        )
    if sys.stdin.isatty():
        value = getpass.getpass(f"{name} key (input hidden): ")
    else:
        value = sys.stdin.readline()
    store.set(name, value)
    print(clean_text(f"stored {name} key in {store.path}", 0))
    return 0


def cmd_tui(args: argparse.Namespace, runtime: Runtime) -> int:
    try:
        from telestrations.tui.app import launch_for, run_app
    except ImportError as exc:  # e.g. a Textual too old or missing: say so, never exit 0
        print(
            f"telestrations: the terminal UI cannot start ({type(exc).__name__}: {exc}); "
            "the headless commands still work (see `telestrations --help`)",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return run_app(runtime, launch_for(runtime, choices_from(args), load_state(runtime.state_file)))
