"""Finds providers through the ``telestrations.providers`` entry-point group and resolves ids.

The built-in providers are declared in pyproject.toml under that same group; when the package
is imported from a checkout that was never installed, the built-ins are loaded directly.
"""

from __future__ import annotations

import difflib
import importlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points

from telestrations.providers.base import (
    Drawer,
    Guesser,
    ModelInfo,
    ModelKind,
    Provider,
    ProviderContext,
    ProviderFactory,
)

log = logging.getLogger(__name__)

GROUP = "telestrations.providers"
BUILTIN: dict[str, str] = {
    "doodle": "telestrations.providers.doodle:provider",
    "openai": "telestrations.providers.openai:provider",
    "ollama": "telestrations.providers.ollama:provider",
    "runpod": "telestrations.providers.runpod:provider",
    "automatic1111": "telestrations.providers.automatic1111:provider",
    "comfyui": "telestrations.providers.comfyui:provider",
}


class UnknownModel(ValueError):
    """A model id that no provider knows; the message says what would work."""


@dataclass(frozen=True)
class LoadFailure:
    """An entry point that could not be loaded: shown in ``telestrations models``."""

    name: str
    error: str


def _load_target(target: str) -> ProviderFactory:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]


def discover_factories() -> tuple[dict[str, ProviderFactory], list[LoadFailure]]:
    """Every provider factory registered in the entry-point group, plus the built-ins."""
    factories: dict[str, ProviderFactory] = {}
    failures: list[LoadFailure] = []
    for ep in entry_points(group=GROUP):
        try:
            factories[ep.name] = ep.load()
        except Exception as exc:  # a broken plugin must not break the app
            failures.append(LoadFailure(ep.name, f"{type(exc).__name__}: {exc}"))
    for name, target in BUILTIN.items():
        if name not in factories and not any(f.name == name for f in failures):
            try:
                factories[name] = _load_target(target)
            except Exception as exc:
                failures.append(LoadFailure(name, f"{type(exc).__name__}: {exc}"))
    return factories, failures


def split_id(model_id: str) -> tuple[str, str]:
    """``"openai:dall-e-3"`` → ``("openai", "dall-e-3")``; a bare name means that provider's
    model of the same name (``"doodle"`` → ``("doodle", "doodle")``)."""
    provider, sep, name = model_id.partition(":")
    return (provider, name) if sep else (provider, provider)


class Registry:
    """All providers by name; resolves ``provider:model`` ids to drawers and guessers."""

    def __init__(
        self,
        providers: Iterable[Provider],
        failures: Iterable[LoadFailure] = (),
        *,
        factories: dict[str, ProviderFactory] | None = None,
        context_for: Callable[[str], ProviderContext] | None = None,
    ) -> None:
        self.providers: dict[str, Provider] = {p.name: p for p in providers}
        self.failures = list(failures)
        self._factories = dict(factories or {})
        self._context_for = context_for

    @classmethod
    def load(cls, context_for: Callable[[str], ProviderContext]) -> Registry:
        """Build every discovered provider with the context ``context_for(name)`` gives it."""
        factories, failures = discover_factories()
        providers = []
        for name, factory in factories.items():
            try:
                providers.append(factory(context_for(name)))
            except Exception as exc:
                failures.append(LoadFailure(name, f"{type(exc).__name__}: {exc}"))
        order = list(BUILTIN)
        providers.sort(key=lambda p: (order.index(p.name) if p.name in order else 99, p.name))
        return cls(providers, failures, factories=factories, context_for=context_for)

    async def rebuild(self, name: str) -> None:
        """Build provider ``name`` again (e.g. after its key was stored); a provider made
        without a factory (tests, plugins passed in directly) is kept as it is."""
        factory = self._factories.get(name)
        if factory is None or self._context_for is None:
            return
        old = self.providers.get(name)
        self.providers[name] = factory(self._context_for(name))
        if old is not None:
            try:
                await old.aclose()
            except Exception:
                log.debug("closing provider %s failed", name, exc_info=True)

    def models(self, kind: ModelKind | None = None) -> list[ModelInfo]:
        """Every known model, providers in registry order."""
        return [
            m for p in self.providers.values() for m in p.models() if kind is None or m.kind == kind
        ]

    def resolve(self, model_id: str, kind: ModelKind) -> tuple[Provider, ModelInfo]:
        """The provider and model for ``model_id``; :class:`UnknownModel` says what exists."""
        pname, mname = split_id(model_id.strip())
        provider = self.providers.get(pname)
        failed = next((f for f in self.failures if f.name == pname), None)
        if provider is None and failed is not None:
            raise UnknownModel(
                f"provider {pname!r} could not start: {failed.error} "
                f"(check [providers.{pname}] in config.toml)"
            )
        if provider is None:
            known = ", ".join(sorted(self.providers)) or "none"
            raise UnknownModel(f"unknown provider {pname!r} in {model_id!r} (known: {known})")
        model = provider.model(mname, kind)
        if model is None:
            ids = [m.id for m in provider.models() if m.kind == kind]
            close = difflib.get_close_matches(f"{pname}:{mname}", ids, n=3)
            hint = f"did you mean {', '.join(close)}?" if close else f"{kind}s: {', '.join(ids)}"
            other = "guesser" if kind == "drawer" else "drawer"
            if provider.model(mname, other) is not None:
                hint = f"{model_id} is a {other}, not a {kind}"
            raise UnknownModel(f"unknown {kind} {model_id!r}; {hint}")
        return provider, model

    def drawer(self, model_id: str) -> Drawer:
        provider, model = self.resolve(model_id, "drawer")
        return provider.drawer(model)

    def guesser(self, model_id: str) -> Guesser:
        provider, model = self.resolve(model_id, "guesser")
        return provider.guesser(model)

    async def aclose(self) -> None:
        for p in self.providers.values():
            try:
                await p.aclose()
            except Exception:  # closing must never mask the real outcome
                log.debug("closing provider %s failed", p.name, exc_info=True)
