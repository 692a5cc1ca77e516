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
from typing import Any, Literal

from telestrations.embeddings import Embedder
from telestrations.game import Game, Limits, Settings
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
from telestrations.store import GameDir
from telestrations.text import clean_text

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
    resume = None
    if choices.resume is not None:  # `--resume ""` is an error, not a new game
        resume = open_game(runtime, choices.resume, lock=lock)
        settings = saved_settings(runtime, resume, settings)
        prompt = resume.first_prompt
    presets = runtime.config.preset_table()
    try:
        settings = label(choices.over(settings, presets), presets)
    except UnknownPreset as exc:
        if resume is not None:
            resume.unlock()
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
    return Launch(prompt, settings, images, remember, resume, notice, theme)


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
) -> Game:
    """An engine on ``game_dir``: it continues (resumes) from the journal's next turn."""
    return Game(
        game_dir,
        runtime.models(),
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


def branch(runtime: Runtime, game_dir: GameDir, round_no: int) -> GameDir:
    """A new game holding ``game_dir``'s turns of rounds 1..``round_no`` (journal lines as
    they were, images copied), locked for us: playing it continues from the next turn, with
    the settings the original was played with. Blocking I/O."""
    saved = Settings.from_saved(game_dir.header.get("settings"), runtime.config.game.settings())
    new = new_game(runtime, game_dir.first_prompt, saved)
    try:
        for record in game_dir.records:
            if record.round > round_no:
                continue
            if (
                record.image
                and game_dir.has_image(record.image)
                and not new.has_image(record.image)
            ):
                new.save_image(record.image, game_dir.read_image(record.image))
            new.append(record)
    except BaseException:
        new.unlock()
        raise
    return new


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
