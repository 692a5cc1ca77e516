"""Finds providers through the ``telestrations.providers`` entry-point group and resolves ids.

The built-in providers are declared in pyproject.toml under that same group, which is the
single source of providers (the package is always installed, ``pip install -e .`` in a
checkout). Each entry point names a :class:`~telestrations.providers.spec.ProviderSpec`: the
provider's key, settings schema and menu position, read without building the provider.

Every provider reaches the rest of the app through :class:`SafeProvider`, and one that could
not be built is replaced by a :class:`BrokenProvider`: a plugin whose code raises shows its
models (or itself) as unusable with the reason, and never takes the app down with it.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

import httpx

from telestrations.providers.base import (
    Availability,
    Drawer,
    Guesser,
    ModelInfo,
    ModelKind,
    Provider,
    ProviderContext,
    ProviderError,
    ProviderFactory,
)
from telestrations.providers.spec import KeySpec, ProviderSpec, spec_of
from telestrations.text import clean_text, redact

log = logging.getLogger(__name__)

GROUP = "telestrations.providers"


class UnknownModel(ValueError):
    """A model id that no provider knows; the message says what would work."""


@dataclass(frozen=True)
class LoadFailure:
    """A provider that could not be loaded or built: shown in ``telestrations models``."""

    name: str
    error: str


Secrets = Callable[[], Iterable[str]]
"""Every key value known, for redacting a plugin's error text."""

KINDS: tuple[ModelKind, ModelKind] = ("drawer", "guesser")

FAULTS = (Exception, SystemExit)
"""What a provider's code may raise that is caught as its bug (a plugin calling ``sys.exit``
included); cancellation and Ctrl-C still pass."""

PLACEHOLDER = "*"
"""The model name that stands for every model of a provider that cannot list them."""
STANDS_IN = "the provider's code failed, so its models are not known"


def describe_error(exc: BaseException, secrets: Secrets = lambda: ()) -> str:
    """One clean line for a provider's exception: its text is untrusted and may hold a key."""
    try:
        known = list(secrets())
    except Exception:  # e.g. a malformed keys file: that has its own message elsewhere
        known = []
    try:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    except Exception:  # an exception whose __str__ raises
        text = type(exc).__name__
    return clean_text(redact(text, known), 300)


def discover_factories(
    secrets: Secrets = lambda: (),
) -> tuple[dict[str, ProviderFactory], list[LoadFailure]]:
    """Every provider factory registered in the entry-point group (built-ins included)."""
    factories: dict[str, ProviderFactory] = {}
    failures: list[LoadFailure] = []
    for ep in entry_points(group=GROUP):
        try:
            factory = ep.load()
            if not callable(factory):
                raise TypeError(f"{ep.value} is a {type(factory).__name__}, not a factory")
            factories[ep.name] = factory
        except FAULTS as exc:  # a broken plugin must not break the app
            log.debug("loading provider %s failed", ep.name, exc_info=True)
            failures.append(LoadFailure(ep.name, describe_error(exc, secrets)))
    return factories, failures


def provider_specs() -> dict[str, ProviderSpec]:
    """The declarations of every provider that loads, by name (plain factories have none)."""
    factories, _ = discover_factories()
    return {name: spec for name, f in factories.items() if (spec := spec_of(f)) is not None}


def declared_keys() -> dict[str, KeySpec]:
    """Every key a provider declares, by key name: what ``keys set`` accepts and where the
    environment variable of each is read."""
    return {s.key.name: s.key for s in provider_specs().values() if s.key is not None}


def menu_order(name: str, factory: object) -> tuple[int, str]:
    """Built-ins in their declared order, then plugins by name."""
    spec = spec_of(factory)
    return (spec.order if spec is not None else 100, name)


def _text_attr(obj: object, attr: str) -> str:
    """A provider's ``name`` or ``title``, or "" when reading it fails or gives no text."""
    try:
        value = getattr(obj, attr, "")
    except Exception:
        return ""
    return value if isinstance(value, str) else ""


def _checked_model(model: object) -> ModelInfo:
    """``model`` if it is a :class:`ModelInfo` whose fields have the declared types (menus
    format them: a price that is a string would fail there), else :class:`TypeError`."""
    if not isinstance(model, ModelInfo):
        raise TypeError(f"it gave a {type(model).__name__}, not a ModelInfo")
    texts = ("provider", "name", "label", "retired", "note", "shutdown", "successor")
    bad = [f for f in texts if not isinstance(getattr(model, f), str)]
    if model.kind not in KINDS:
        bad.append("kind")
    if model.price is not None and (
        isinstance(model.price, bool) or not isinstance(model.price, (int, float))
    ):
        bad.append("price")
    if not isinstance(model.options, Mapping):
        bad.append("options")
    if bad:
        raise TypeError(f"a ModelInfo with a bad {', '.join(bad)}")
    return model


class SafeProvider:
    """A provider as the rest of the app sees it: whatever its code raises or returns amiss
    becomes an unusable model with the reason, or a :class:`ProviderError` for a turn, so a
    menu, ``telestrations models`` or a pre-flight never meets a plugin's exception."""

    def __init__(self, inner: Provider, name: str = "", secrets: Secrets = lambda: ()) -> None:
        self.inner = inner
        self._secrets = secrets
        self.name = _text_attr(inner, "name") or name
        self.title = clean_text(_text_attr(inner, "title") or self.name, 80)
        self.fault = ""
        """Set when discovery hit a bug: every model is then unusable with this reason."""
        self._bad: dict[tuple[str, str], str] = {}
        """Models made up here because the provider's code failed, with the reason."""
        builtin = type(inner).__module__.startswith("telestrations.")
        self.hint = (
            "a bug in telestrations: please report it; -vv shows the traceback"
            if builtin
            else f"a bug in the {self.name} provider plugin: update or remove it; "
            "-vv shows the traceback"
        )

    def __getattr__(self, attr: str) -> Any:
        """Provider-specific extras (e.g. settings a test inspects) come from the provider."""
        if attr == "inner":
            raise AttributeError(attr)
        return getattr(self.inner, attr)

    def _failed(self, what: str, exc: BaseException) -> str:
        log.debug("provider %s: %s failed", self.name, what, exc_info=exc)
        return f"{what} failed: {describe_error(exc, self._secrets)}"

    def _stand_in(self, kind: ModelKind, name: str, reason: str) -> ModelInfo:
        self._bad[(kind, name)] = reason
        return ModelInfo(self.name, name, kind, note=STANDS_IN)

    def models(self) -> list[ModelInfo]:
        try:
            return [_checked_model(m) for m in self.inner.models()]
        except FAULTS as exc:
            reason = self._failed("listing its models", exc)
            return [self._stand_in(kind, PLACEHOLDER, reason) for kind in KINDS]

    def model(self, name: str, kind: ModelKind) -> ModelInfo | None:
        if (kind, name) in self._bad:
            return ModelInfo(self.name, name, kind, note=STANDS_IN)
        try:
            found = self.inner.model(name, kind)
            if found is not None:
                return _checked_model(found)
        except FAULTS as exc:
            return self._stand_in(kind, name, self._failed(f"looking up {name!r}", exc))
        self.models()  # a listing that fails explains a missing model better than "unknown"
        listing = self._bad.get((kind, PLACEHOLDER))
        return None if listing is None else self._stand_in(kind, name, listing)

    def availability(self, model: ModelInfo) -> Availability:
        reason = self._bad.get((model.kind, model.name)) or self.fault
        if reason:
            return Availability.no(reason, self.hint, "internal")
        try:
            avail = self.inner.availability(model)
            if not isinstance(avail, Availability):
                raise TypeError(f"it gave a {type(avail).__name__}, not an Availability")
            return avail
        except FAULTS as exc:
            return Availability.no(
                self._failed("its availability check", exc), self.hint, "internal"
            )

    async def check(self, model: ModelInfo) -> Availability:
        """The provider's own slow check; an exception is left to the caller, which decides
        whether a check that could not run blocks anything."""
        quick = self.availability(model)
        if not quick.ok:
            return quick
        avail = await self.inner.check(model)
        if not isinstance(avail, Availability):
            raise TypeError(f"check() gave a {type(avail).__name__}, not an Availability")
        return avail

    async def discover(self) -> list[ModelInfo]:
        """Models found at run time; a service that is down or says no is the caller's
        (normal) failure, but a bug makes every model of this provider unusable."""
        try:
            found = [_checked_model(m) for m in await self.inner.discover()]
        except (ProviderError, httpx.HTTPError, OSError):
            raise
        except FAULTS as exc:
            self.fault = self._failed("model discovery", exc)
            return []
        return found

    def remember_discovered(self, found: Iterable[ModelInfo]) -> None:
        remember = getattr(self.inner, "remember_discovered", None)
        if remember is None:
            return
        try:
            remember(found)
        except FAULTS as exc:
            self.fault = self._failed("remembering discovered models", exc)

    def _make(self, what: str, model: ModelInfo, make: Callable[[ModelInfo], Any]) -> Any:
        avail = self.availability(model)
        if not avail.ok and avail.kind == "internal":
            raise avail.error()
        try:
            return make(model)
        except ProviderError:
            raise
        except FAULTS as exc:
            raise ProviderError("internal", self._failed(what, exc), hint=self.hint) from None

    def drawer(self, model: ModelInfo) -> Drawer:
        return self._make("making a drawer", model, self.inner.drawer)  # type: ignore[no-any-return]

    def guesser(self, model: ModelInfo) -> Guesser:
        return self._make("making a guesser", model, self.inner.guesser)  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        try:
            await self.inner.aclose()
        except Exception:  # closing must never mask the real outcome
            log.debug("closing provider %s failed", self.name, exc_info=True)


class BrokenProvider:
    """Stands in for a provider that could not be loaded or built, so its name still shows
    in menus and ``telestrations models``, and choosing it explains why it cannot play."""

    def __init__(self, failure: LoadFailure) -> None:
        self.failure = failure
        self.name = failure.name
        self.title = clean_text(failure.name, 80)
        self.reason = f"provider {failure.name} could not start: {failure.error}"
        self.hint = f"check [providers.{failure.name}] in config.toml, or update or remove it"

    def models(self) -> list[ModelInfo]:
        return [ModelInfo(self.name, PLACEHOLDER, kind, note=STANDS_IN) for kind in KINDS]

    def model(self, name: str, kind: ModelKind) -> ModelInfo | None:
        return ModelInfo(self.name, name, kind, note=STANDS_IN)

    def availability(self, model: ModelInfo) -> Availability:
        return Availability.no(self.reason, self.hint, "internal")

    async def check(self, model: ModelInfo) -> Availability:
        return self.availability(model)

    async def discover(self) -> list[ModelInfo]:
        return []

    def drawer(self, model: ModelInfo) -> Drawer:
        raise self.availability(model).error()

    def guesser(self, model: ModelInfo) -> Guesser:
        raise self.availability(model).error()

    async def aclose(self) -> None:
        return None


def split_id(model_id: str) -> tuple[str, str]:
    """``"openai:dall-e-3"`` → ``("openai", "dall-e-3")``; a bare name means that provider's
    model of the same name (``"doodle"`` → ``("doodle", "doodle")``)."""
    provider, sep, name = model_id.partition(":")
    return (provider, name) if sep else (provider, provider)


class Registry:
    """All providers by name; resolves ``provider:model`` ids to drawers and guessers.

    Every provider is held as a :class:`SafeProvider`, and each one that failed to load or
    build as a :class:`BrokenProvider`, so callers can use any of them without guarding."""

    def __init__(
        self,
        providers: Iterable[Provider],
        failures: Iterable[LoadFailure] = (),
        *,
        factories: dict[str, ProviderFactory] | None = None,
        context_for: Callable[[str], ProviderContext] | None = None,
        secrets: Secrets = lambda: (),
    ) -> None:
        self._secrets = secrets
        self.providers: dict[str, Provider] = {}
        for p in providers:
            safe = (
                p if isinstance(p, (SafeProvider, BrokenProvider)) else SafeProvider(p, "", secrets)
            )
            self.providers[safe.name] = safe
        self.failures = list(failures)
        for failure in self.failures:
            self.providers.setdefault(failure.name, BrokenProvider(failure))
        self._factories = dict(factories or {})
        self._context_for = context_for

    @classmethod
    def load(
        cls,
        context_for: Callable[[str], ProviderContext],
        secrets: Secrets = lambda: (),
        instances: Mapping[str, ProviderSpec] | None = None,
    ) -> Registry:
        """Build every discovered provider, and every named instance config declares
        (``instances``, see :meth:`ProviderSpec.instance`), with the context
        ``context_for(name)`` gives it."""
        factories, failures = discover_factories(secrets)
        for name, spec in (instances or {}).items():
            factories.setdefault(name, spec)  # config loading refuses a built-in's name
        providers: list[Provider] = []
        for name, factory in factories.items():
            try:
                providers.append(SafeProvider(factory(context_for(name)), name, secrets))
            except FAULTS as exc:
                log.debug("building provider %s failed", name, exc_info=True)
                failures.append(LoadFailure(name, describe_error(exc, secrets)))
        providers.sort(key=lambda p: menu_order(p.name, factories.get(p.name)))
        return cls(
            providers, failures, factories=factories, context_for=context_for, secrets=secrets
        )

    async def rebuild(self, name: str) -> None:
        """Build provider ``name`` again (e.g. after its key was stored); a provider made
        without a factory (tests, plugins passed in directly) is kept as it is."""
        factory = self._factories.get(name)
        if factory is None or self._context_for is None:
            return
        old = self.providers.get(name)
        self.failures = [f for f in self.failures if f.name != name]
        try:
            self.providers[name] = SafeProvider(
                factory(self._context_for(name)), name, self._secrets
            )
        except FAULTS as exc:
            log.debug("building provider %s failed", name, exc_info=True)
            failure = LoadFailure(name, describe_error(exc, self._secrets))
            self.failures.append(failure)
            self.providers[name] = BrokenProvider(failure)
        if old is not None:
            try:
                await old.aclose()
            except Exception:
                log.debug("closing provider %s failed", name, exc_info=True)

    def resolve(self, model_id: str, kind: ModelKind) -> tuple[Provider, ModelInfo]:
        """The provider and model for ``model_id``; :class:`UnknownModel` says what exists."""
        pname, mname = split_id(model_id.strip())
        provider = self.providers.get(pname)
        if provider is None:
            known = ", ".join(sorted(self.providers)) or "none"
            raise UnknownModel(f"unknown provider {pname!r} in {model_id!r} (known: {known})")
        model = provider.model(mname, kind)
        if model is None:
            ids = [m.id for m in provider.models() if m.kind == kind]
            close = difflib.get_close_matches(f"{pname}:{mname}", ids, n=3)
            hint = f"did you mean {', '.join(close)}?" if close else f"{kind}s: {', '.join(ids)}"
            other: ModelKind = "guesser" if kind == "drawer" else "drawer"
            if provider.model(mname, other) is not None:
                hint = f"{model_id} is a {other}, not a {kind}"
            raise UnknownModel(f"unknown {kind} {model_id!r}; {hint}")
        return provider, model

    async def aclose(self) -> None:
        for p in self.providers.values():
            try:
                await p.aclose()
            except Exception:  # closing must never mask the real outcome
                log.debug("closing provider %s failed", p.name, exc_info=True)
