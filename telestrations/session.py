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
from telestrations.game import Game, Limits, Models, Settings
from telestrations.providers.base import Availability, ModelInfo, ModelKind
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

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> Choices:
        """From any mapping (e.g. ``vars(args)``): unknown names are ignored."""
        return cls(**{k: values.get(k) for k in cls.__dataclass_fields__})

    def over(self, base: Settings) -> Settings:
        """``base`` with every setting the person gave."""
        given = {n: getattr(self, n) for n in SETTING_NAMES if getattr(self, n) is not None}
        return replace(base, **given)


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
    return replace(defaults, **remembered)


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
        settings = Settings.from_saved(resume.header.get("settings"), settings)
        prompt = resume.first_prompt
    settings = choices.over(settings)
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

    def rows(self, kind: ModelKind) -> list[tuple[str, ModelInfo, Availability]]:
        """(provider title, model, availability) of every model of ``kind``."""
        rows = []
        for provider in self.runtime.registry.providers.values():
            for model in provider.models():
                if model.kind == kind:
                    avail = self.checked.get((kind, model.id)) or provider.availability(model)
                    rows.append((provider.title, model, avail))
        return rows

    async def discover(self) -> None:
        """Ask every provider for models found at run time (e.g. pulled into Ollama)."""

        async def one(provider: Any) -> None:
            try:
                found = await asyncio.wait_for(provider.discover(), self.timeout)
                remember = getattr(provider, "remember_discovered", None)
                if remember is not None and found:
                    remember(found)
            except Exception as exc:
                log.debug("discovery failed for %s: %s", getattr(provider, "name", "?"), exc)

        await asyncio.gather(*(one(p) for p in self.runtime.registry.providers.values()))

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
            and provider.availability(model).ok
        ]
        await asyncio.gather(*jobs)

    async def check_chosen(
        self, settings: Settings, kinds: Iterable[ModelKind] = KINDS
    ) -> list[tuple[ModelKind, str, Availability]]:
        """The chosen models' own checks, concurrently; only the failures."""
        pairs = list(dict.fromkeys(chosen(settings, kinds)))
        results = await asyncio.gather(*(self.check(kind, m) for kind, m in pairs))
        return [(k, m, a) for (k, m), a in zip(pairs, results, strict=True) if a and not a.ok]


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
        if avail.kind in PASSING:
            warn(cannot_use(kind, model_id, avail))
        else:
            raise Unusable(cannot_use(kind, model_id, avail))
