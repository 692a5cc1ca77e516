"""The use cases the CLI and the TUI share, written once and free of Textual and argparse.

Resolving what a game starts with (flags > a resumed game's header > state file > config),
the key check ("which model lacks its key"), the model checks (quick, and with the services
themselves) and the game lifecycle (open, start new, resume, branch). ``cli`` turns its
parsed arguments into :class:`Choices`; the TUI is built from the :class:`Launch` returned
by :func:`resolve`, never from the parser.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from telestrations.embeddings import Embedder
from telestrations.game import Game, Limits, Models, Settings
from telestrations.presets import Preset, UnknownPreset, apply, find, label
from telestrations.providers.base import Availability, ModelInfo, ModelKind
from telestrations.providers.listings import (
    Listing,
    ListingStatus,
    offered,
    source_of,
    state_of,
)
from telestrations.runtime import Runtime
from telestrations.state import UiState
from telestrations.store import Branch, GameDir, utc_now
from telestrations.text import clean_text
from telestrations.turns import START_PICTURE_MODEL, TurnRecord, rounds_done

log = logging.getLogger(__name__)

KINDS: tuple[ModelKind, ModelKind] = ("drawer", "guesser")
SETTING_NAMES = ("drawer", "guesser", "style", "guesser_system", "guesser_prompt")
"""The :class:`Settings` text fields a person can choose (the pace is the viewer's)."""

PASSING = ("timeout", "rate_limited", "server")
"""Check outcomes that warn rather than refuse: the service is busy or slow now, and the
turn itself will retry or say so."""


@dataclass(frozen=True)
class Choices:
    """What the person typed on the command line; ``None`` means "not given"."""

    prompt: str | None = None
    drawer: str | None = None
    guesser: str | None = None
    style: str | None = None
    guesser_system: str | None = None
    guesser_prompt: str | None = None
    resume: str | None = None
    images: str | None = None
    preset: str | None = None
    """A guesser preset name: its texts, under any ``guesser_system``/``guesser_prompt`` given."""
    branch_from: str | None = None
    """``GAME:ROUND`` (``--from``): a new game holding that game's rounds 1..ROUND."""
    start_image: str | None = None
    """A picture file (``--start-image``): the game's first turn describes it."""
    memory: bool | None = None
    """Memory play (``--memory``): the drawer also gets the previous picture."""

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> Choices:
        """From any mapping (e.g. ``vars(args)``): unknown names are ignored."""
        return cls(**{k: values.get(k) for k in cls.__dataclass_fields__})

    def over(self, base: Settings, presets: Mapping[str, Preset] | None = None) -> Settings:
        """``base`` with every setting the person gave, the preset (from ``presets``, default
        the built-ins) first; when the guesser texts were given, labelled with the preset they
        match. An unknown preset raises :class:`UnknownPreset` (a did-you-mean)."""
        if self.preset is not None:
            base = apply(base, find(self.preset, presets))
        given = {n: getattr(self, n) for n in SETTING_NAMES if getattr(self, n) is not None}
        if self.memory is not None:
            given["memory"] = self.memory
        settings = replace(base, **given)
        texts = self.guesser_system is not None or self.guesser_prompt is not None
        return label(settings, presets) if texts else settings


@dataclass(frozen=True)
class Launch:
    """The resolved choices a game (or the app) starts with."""

    prompt: str
    settings: Settings
    images: str = "halfcell"
    remember_images: str = ""
    """The ``images`` value to keep in the state file ("" = none chosen explicitly)."""
    resume: GameDir | None = None
    notice: str = ""
    """Said once the app is up (e.g. an image mode this terminal cannot show)."""
    theme: str = ""
    """The theme remembered in the state file ("" = Textual's default)."""
    parent: GameDir | None = None
    """``--from``: the game to branch (locked for us); :func:`branch` makes the new one."""
    parent_round: int = 0
    start_image: str = ""
    """``--start-image``: the picture file the new game starts from."""


def base_settings(runtime: Runtime, state: UiState | None = None) -> Settings:
    """Config defaults, overridden by the state file's remembered choices."""
    defaults = runtime.config.game.settings()
    if state is None:
        return defaults
    remembered: dict[str, Any] = {}
    for name in SETTING_NAMES:
        value = getattr(state, name)
        # drawer/guesser: "" means "not remembered"; the texts may be chosen empty
        if value is not None and (value or name not in KINDS):
            remembered[name] = value
    if state.preset is not None:
        remembered["preset"] = state.preset
    return label(replace(defaults, **remembered), runtime.config.preset_table())


def saved_settings(runtime: Runtime, game_dir: GameDir, base: Settings) -> Settings:
    """What a past game was last played with, over ``base``: its header's settings, then the
    guesser texts (and preset) of its last describe turn, since they may have changed mid-game.
    A resumed game keeps its preset unless the person overrides it."""
    settings = Settings.from_saved(game_dir.header.get("settings"), base)
    last = next(
        (r for r in reversed(game_dir.records) if r.ok and r.kind == "describe"),
        None,
    )
    if last is not None:
        settings = replace(
            settings, guesser_system=last.system, guesser_prompt=last.input, preset=last.preset
        )
    return label(settings, runtime.config.preset_table())


def resolve(
    runtime: Runtime,
    choices: Choices,
    state: UiState | None = None,
    *,
    pace: float | None = None,
    lock: Literal["must", "try"] = "try",
    usable: Callable[[str], tuple[str, str]] | None = None,
) -> Launch:
    """Flags first, then (for a resumed game) its header, then ``state``, then config.

    A resumed game is locked (one writer): a game another process plays raises
    :class:`GameLocked`; ``lock="try"`` lets read-only media through (shown, not played).
    ``usable`` maps the image mode asked for to one that works here, with a notice."""
    settings = base_settings(runtime, state)
    prompt = (state.prompt if state is not None else "") or runtime.config.game.prompt
    resume = parent = None
    parent_round = 0
    if choices.resume is not None:  # `--resume ""` is an error, not a new game
        resume = open_game(runtime, choices.resume, lock=lock)
        settings = saved_settings(runtime, resume, settings)
        prompt = resume.first_prompt
    elif choices.branch_from is not None:
        parent, parent_round = open_branch_point(runtime, choices.branch_from)
        settings = Settings.from_saved(parent.header.get("settings"), settings)
        prompt = parent.first_prompt
    presets = runtime.config.preset_table()
    try:
        settings = label(choices.over(settings, presets), presets)
    except UnknownPreset as exc:
        for held in (resume, parent):
            if held is not None:
                held.unlock()
        raise Unusable(str(exc)) from None
    settings = replace(settings, pace=runtime.config.ui.pace if pace is None else pace)
    if choices.prompt:
        prompt = choices.prompt
    state_images = state.images if state is not None else ""
    asked = choices.images or state_images or runtime.config.ui.images
    remember = choices.images or state_images
    images, notice = usable(asked) if usable is not None else (asked, "")
    if notice and remember == asked:  # a mode that failed is not remembered
        remember = "" if state_images == asked else state_images
    theme = state.theme if state is not None else ""
    start = choices.start_image or ""
    launch = Launch(prompt, settings, images, remember, resume, notice, theme)
    return replace(launch, parent=parent, parent_round=parent_round, start_image=start)


# -- games ---------------------------------------------------------------------------------


def open_game(runtime: Runtime, ref: str, *, lock: Literal["must", "try"] = "must") -> GameDir:
    """The past game ``ref`` names (name, path, unique part or 'last'), locked for us."""
    game_dir = GameDir.open(runtime.store.find(ref))
    try:
        game_dir.lock()  # another process playing it: GameLocked, one line naming it
    except OSError:
        if lock == "must":
            raise
    return game_dir


def settings_dict(settings: Settings) -> dict[str, Any]:
    """``settings`` as a game header keeps them."""
    return {k: getattr(settings, k) for k in Settings.__dataclass_fields__}


def new_game(runtime: Runtime, prompt: str, settings: Settings) -> GameDir:
    """A new game folder, created whole and locked for this process (blocking I/O)."""
    return runtime.store.new_game(prompt, settings_dict(settings), lock=True)


def make_game(
    runtime: Runtime,
    game_dir: GameDir,
    settings: Settings,
    limits: Limits | None = None,
    *,
    embedder: Embedder | None = None,
    models: Models | None = None,
) -> Game:
    """An engine on ``game_dir``: it continues (resumes) from the journal's next turn.
    ``models``: the runtime's, unless given (a batch's, which share concurrency limits)."""
    return Game(
        game_dir,
        runtime.models() if models is None else models,
        settings,
        runtime.config.game.limits() if limits is None else limits,
        price_of=runtime.price_of,
        embedder=embedder,
    )


def unsaved_note(game: Game) -> str | None:
    """What to say when the process ends holding a finished turn it could not save."""
    record = game.unsaved
    if record is None:
        return None
    what = "picture" if record.kind == "draw" else "caption"
    return (
        f"the round {record.round} {record.kind} finished but could not be saved: "
        f"{game.save_error}; the {what} was not kept, and resuming will call "
        f"{record.model} again"
    )


class BadStart(ValueError):
    """A branch point or a start picture that cannot be used: one line for the person."""


def branch_rounds(game_dir: GameDir) -> range:
    """The rounds a game can be branched at: those whose caption is kept (round 0, the start
    picture's caption, too)."""
    done = {r.round for r in game_dir.records if r.ok and r.kind == "describe"}
    low = 0 if 0 in done else 1
    return range(low, rounds_done(game_dir.records) + 1)


def open_branch_point(runtime: Runtime, ref: str) -> tuple[GameDir, int]:
    """``GAME:ROUND`` → the game (locked for us: the branch is noted in its journal) and the
    round; :class:`BadStart` for a malformed reference or a round it does not have."""
    name, sep, number = ref.rpartition(":")
    if not sep or not name or not number.strip().isdigit():
        raise BadStart(f"--from wants GAME:ROUND (e.g. last:3), not {clean_text(ref, 200)!r}")
    game_dir = GameDir.open(runtime.store.find(name))
    round_no = int(number)
    check_branch_round(game_dir, round_no)
    game_dir.lock()  # another process playing it: GameLocked, one line naming it
    return game_dir, round_no


def check_branch_round(game_dir: GameDir, round_no: int) -> None:
    """:class:`BadStart` unless ``game_dir`` has round ``round_no`` finished."""
    rounds = branch_rounds(game_dir)
    if round_no not in rounds:
        name = clean_text(game_dir.name, 200)
        have = (
            "no finished round yet"
            if not rounds
            else f"rounds {rounds.start}..{rounds.stop - 1}"
            if len(rounds) > 1
            else f"only round {rounds.start}"
        )
        raise BadStart(f"{name} has no round {round_no} to branch from ({have})")


def branch(
    runtime: Runtime, game_dir: GameDir, round_no: int, settings: Settings | None = None
) -> GameDir:
    """A new game holding ``game_dir``'s turns of rounds 1..``round_no`` (journal lines as
    they were, images copied), locked for us: playing it continues from the next turn, with
    ``settings`` (default: those the original was played with). Blocking I/O.

    The new game appears whole or not at all (written in a hidden folder, then renamed; its
    header names the parent and the round), and only then is a ``branch`` line appended to
    the parent's journal: a kill in between leaves a whole child whose header still names
    its parent (``games`` shows it), never a half-copied game."""
    check_branch_round(game_dir, round_no)
    if settings is None:
        base = runtime.config.game.settings()
        settings = Settings.from_saved(game_dir.header.get("settings"), base)
    records = [r for r in game_dir.records if r.round <= round_no]
    images: dict[str, bytes] = {}
    for record in records:
        for name in (record.image, record.output if record.kind == "draw" else ""):
            if name and name not in images and game_dir.has_image(name):
                images[name] = game_dir.read_image(name)
    extra: dict[str, Any] = {"parent": Branch(game_dir.name, round_no, utc_now()).to_json("game")}
    if game_dir.start_image:
        extra["start_image"] = game_dir.header["start_image"]
    took_lock = not game_dir.locked
    if took_lock:
        game_dir.lock()  # the parent's note needs its writer lock: GameLocked if it is played
    try:
        new = runtime.store.new_game(
            str(game_dir.header.get("prompt", "")),
            settings_dict(settings),
            lock=True,
            header=extra,
            records=records,
            images=images,
            slug=game_dir.name.split("-", 2)[-1] if game_dir.name.count("-") >= 2 else "",
        )
        try:
            game_dir.note_branch(new.name, round_no)
        except OSError as exc:  # the child is whole and names its parent: say so, go on
            log.warning("cannot note the branch in %s: %s", game_dir.name, exc)
    finally:
        if took_lock:
            game_dir.unlock()
    return new


def start_from_image(
    runtime: Runtime, path: Path, settings: Settings, *, max_bytes: int = 50 * 1024 * 1024
) -> GameDir:
    """A new game whose round 0 is the picture at ``path`` (copied in, checked as a drawer's
    picture would be): the first turn describes it, and its caption is the chain's origin.
    The journal's first record is that picture's ``draw`` (model ``start:picture``), written
    with the header before the game appears, so resume and branches see it. Blocking I/O."""
    from telestrations.providers.base import ProviderError
    from telestrations.providers.http.images import check_image
    from telestrations.providers.http.settings import HttpSettings

    shown = clean_text(str(path), 300)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise BadStart(f"{shown}: larger than {max_bytes / (1 << 20):g} MB")
        data = path.read_bytes()
    except OSError as exc:
        raise BadStart(f"{shown}: {exc.strerror or exc}") from None
    try:
        picture = check_image(
            data, max_pixels=HttpSettings(base_url="").max_pixels, max_bytes=max_bytes
        )
    except ProviderError as exc:
        raise BadStart(f"{shown}: {exc.message}") from None
    name = f"r0000-start{picture.suffix}"
    now = utc_now()
    record = TurnRecord(
        seq=1,
        round=0,
        kind="draw",
        model=START_PICTURE_MODEL,
        status="ok",
        input="",
        image=name,
        output=name,
        extras={
            "start_image": clean_text(path.name, 200),
            "size": f"{picture.width}x{picture.height}",
        },
        started=now,
        finished=now,
        cost=0.0,
    )
    return runtime.store.new_game(
        "",
        settings_dict(settings),
        lock=True,
        header={"start_image": {"file": name, "source": clean_text(path.name, 200)}},
        records=[record],
        images={name: data},
        slug=path.stem,
    )


# -- keys and models -----------------------------------------------------------------------


def cannot_use(kind: str, model_id: str, avail: Availability) -> str:
    """One clean line saying why a model cannot be used."""
    hint = f"; {avail.hint}" if avail.hint else ""
    return clean_text(f"cannot use {kind} {model_id}: {avail.reason}{hint}", 1000)


def warning_line(kind: str, model_id: str, avail: Availability) -> str:
    """One clean line for a usable model the service had something to say about."""
    hint = f"; {avail.hint}" if avail.hint else ""
    return clean_text(f"{kind} {model_id}: {avail.reason}{hint}", 1000)


def chosen(settings: Settings, kinds: Iterable[ModelKind] = KINDS) -> list[tuple[ModelKind, str]]:
    """(kind, model id) of the chosen models."""
    return [(kind, getattr(settings, kind)) for kind in kinds]


def quick_problems(
    runtime: Runtime, settings: Settings, kinds: Iterable[ModelKind] = KINDS
) -> list[tuple[ModelKind, str, Availability]]:
    """The chosen models that cannot be used, by the quick (no I/O) checks: id, key, setup."""
    found = []
    for kind, model_id in chosen(settings, kinds):
        _, avail = runtime.availability(model_id, kind)
        if not avail.ok:
            found.append((kind, model_id, avail))
    return found


def shut_down(
    runtime: Runtime, settings: Settings, kinds: Iterable[ModelKind] = KINDS
) -> list[tuple[ModelKind, str, Availability]]:
    """The chosen models past their shutdown date (a saved state or config default may name
    one): never used silently, each with the refusal that names its replacement."""
    found = []
    today = runtime.today()
    for kind, model_id in chosen(settings, kinds):
        model, avail = runtime.availability(model_id, kind)
        if model is not None and state_of(model, today) == "gone":
            found.append((kind, model_id, avail))
    return found


def key_needed(
    runtime: Runtime, settings: Settings, kinds: Iterable[ModelKind] = KINDS
) -> tuple[ModelKind, str, Availability] | None:
    """The first chosen model that lacks its key, if any."""
    for kind, model_id, avail in quick_problems(runtime, settings, kinds):
        if avail.error().kind == "auth":
            return kind, model_id, avail
    return None


@dataclass
class Checks:
    """The services' own answers about models, remembered for menus and pre-flight."""

    runtime: Runtime
    timeout: float = 4.0
    """Seconds one check or discovery may take before it is ignored."""
    strict: bool = False
    """A check that raised makes the model unusable (a listing), rather than being ignored
    (before a game, where a broken check must not block it)."""
    checked: dict[tuple[str, str], Availability] = field(default_factory=dict)

    def availability(self, model_id: str, kind: ModelKind) -> Availability:
        """The quick verdict, or the service's own when it was asked and the quick one passed."""
        _, quick = self.runtime.availability(model_id, kind)
        if not quick.ok:
            return quick
        return self.checked.get((kind, model_id), quick)

    def rows(
        self, kind: ModelKind, *, everything: bool = False
    ) -> list[tuple[str, ModelInfo, Availability]]:
        """(provider title, model, availability) of every model of ``kind`` the services
        offer today (shut-down ones too with ``everything``)."""
        rows = []
        today = self.runtime.today()
        for provider in self.runtime.registry.providers.values():
            for model in offered(provider.models(), today, everything=everything):
                if model.kind == kind:
                    avail = self.checked.get((kind, model.id)) or self.runtime.verdict(
                        provider, model
                    )
                    rows.append((provider.title, model, avail))
        return rows

    async def discover(self, *, refresh: bool = False) -> None:
        """Every provider's listing: the cached one while it is fresh (no network), else the
        service's, saved for next time; a service that does not answer leaves the cached
        one in use (``runtime.listing_status`` says so, with its age). ``refresh`` asks
        every service now, whatever the age."""
        runtime = self.runtime
        cache = runtime.listings

        async def one(provider: Any) -> None:
            name = getattr(provider, "name", "?")
            source = source_of(provider)
            cached = await asyncio.to_thread(cache.load, name, source)
            remember = getattr(provider, "remember_discovered", None)
            if cached is not None and not refresh and cache.fresh(cached):
                if remember is not None:
                    remember(cached.models)
                runtime.listing_status[name] = ListingStatus(cached.fetched_at, cached=True)
                return
            try:
                found = await asyncio.wait_for(provider.discover(), self.timeout)
            except Exception as exc:
                log.debug("discovery failed for %s: %s", name, exc)
                if cached is not None:
                    if remember is not None:
                        remember(cached.models)
                    why = clean_text(str(exc), 160) or type(exc).__name__
                    runtime.listing_status[name] = ListingStatus(
                        cached.fetched_at, cached=True, error=why
                    )
                return
            if remember is not None:
                remember(found)
            if not found and cached is None:
                return  # a provider that lists nothing (doodle) leaves no file behind
            listing = Listing(name, source, runtime.clock(), tuple(found))
            runtime.listing_status[name] = ListingStatus(listing.fetched_at, cached=False)
            try:
                await asyncio.to_thread(cache.save, listing)
            except OSError as exc:  # a cache: the listing is still used in this process
                log.warning("cannot save the %s model listing: %s", name, exc)

        await asyncio.gather(*(one(p) for p in runtime.registry.providers.values()))

    async def check(self, kind: ModelKind, model_id: str) -> Availability | None:
        """The service's answer for one model (remembered); None when it cannot be asked."""
        try:
            provider, model = self.runtime.registry.resolve(model_id, kind)
        except Exception:
            return None
        if not provider.availability(model).ok:
            return None
        try:
            avail = await asyncio.wait_for(provider.check(model), self.timeout)
        except TimeoutError:
            return None
        except Exception as exc:
            log.debug("check of %s failed: %s", model_id, exc)
            if not self.strict:
                return None
            avail = Availability.no(f"check failed: {exc}")
        if avail.ok:  # the check may have brought the service's shutdown date
            _, now = self.runtime.availability(model_id, kind)
            avail = avail if now.ok else now
        self.checked[(kind, model_id)] = avail
        return avail

    async def check_all(self, kinds: Iterable[ModelKind] = KINDS) -> None:
        """Every quick-usable model of ``kinds`` not asked yet, concurrently."""
        wanted = set(kinds)
        jobs = [
            self.check(model.kind, model.id)
            for provider in self.runtime.registry.providers.values()
            for model in provider.models()
            if model.kind in wanted
            and (model.kind, model.id) not in self.checked
            and self.runtime.verdict(provider, model).ok
        ]
        await asyncio.gather(*jobs)

    async def check_chosen(
        self, settings: Settings, kinds: Iterable[ModelKind] = KINDS
    ) -> list[tuple[ModelKind, str, Availability]]:
        """The chosen models' own checks, concurrently; only the failures and the warnings
        (usable, but worth a line: e.g. missing from the service's listing)."""
        pairs = list(dict.fromkeys(chosen(settings, kinds)))
        results = await asyncio.gather(*(self.check(kind, m) for kind, m in pairs))
        return [
            (k, m, a)
            for (k, m), a in zip(pairs, results, strict=True)
            if a and (not a.ok or a.warning)
        ]


class Unusable(Exception):
    """A chosen model cannot be used: one line for the person."""


def preflight(
    runtime: Runtime,
    settings: Settings,
    kinds: Iterable[ModelKind] = KINDS,
    *,
    network: bool = True,
    budget: float = 8.0,
    warn: Callable[[str], None] = lambda line: None,
) -> None:
    """Raise :class:`Unusable` before the first turn if a chosen model cannot be used: first
    the quick checks (known id, key), then (``network``) the services themselves, briefly, so
    a guesser that is not pulled or cannot see images is caught before a paid drawing. A busy
    or slow service is only a warning."""
    kinds = tuple(kinds)
    for kind, model_id, avail in quick_problems(runtime, settings, kinds):
        raise Unusable(cannot_use(kind, model_id, avail))
    if not network:
        return

    async def ask() -> list[tuple[ModelKind, str, Availability]]:
        try:
            return await asyncio.wait_for(
                Checks(runtime, timeout=budget).check_chosen(settings, kinds), budget
            )
        except TimeoutError:
            warn("the model checks took too long; starting anyway")
            return []
        finally:
            await runtime.aclose()  # the game runs in a loop of its own: no pooled connections

    for kind, model_id, avail in asyncio.run(ask()):
        if avail.ok:
            warn(warning_line(kind, model_id, avail))
        elif avail.kind in PASSING:
            warn(cannot_use(kind, model_id, avail))
        else:
            raise Unusable(cannot_use(kind, model_id, avail))
