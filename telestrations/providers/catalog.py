"""A base class that gives a provider its model catalogue: presets plus config entries.

Models are data (DESIGN.md): each provider lists presets in code, and the user adds or
overrides models with ``[[providers.<name>.models]]`` tables in config.toml.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from telestrations.providers.base import (
    Availability,
    Drawer,
    Guesser,
    ModelInfo,
    ModelKind,
    ProviderContext,
    ProviderError,
)
from telestrations.providers.spec import ModelEntries, SettingError, validate

_MODEL_KEYS = {
    "name",
    "kind",
    "label",
    "options",
    "price",
    "retired",
    "note",
    "shutdown",
    "successor",
}


def models_from_config(provider: str, entries: Iterable[Mapping[str, Any]]) -> list[ModelInfo]:
    """Turn ``[[providers.X.models]]`` tables into :class:`ModelInfo` (validated by config.py)."""
    out = []
    for entry in entries:
        unknown = set(entry) - _MODEL_KEYS
        if unknown:
            raise ValueError(f"unknown key(s) in providers.{provider}.models: {sorted(unknown)}")
        kind = entry.get("kind")
        if kind not in ("drawer", "guesser"):
            raise ValueError(f"providers.{provider}.models: kind must be 'drawer' or 'guesser'")
        price = entry.get("price")
        out.append(
            ModelInfo(
                provider=provider,
                name=str(entry["name"]),
                kind=kind,
                label=str(entry.get("label", "")),
                options=dict(entry.get("options", {})),
                price=float(price) if price is not None else None,
                retired=str(entry.get("retired", "")),
                note=str(entry.get("note", "")),
                shutdown=str(entry.get("shutdown", "")),
                successor=str(entry.get("successor", "")),
            )
        )
    return out


class CatalogProvider:
    """Presets + config models, price overrides, and sensible defaults for the protocol.

    Subclasses set ``name``/``title``/``PRESETS`` and implement ``drawer``/``guesser``.
    """

    name: str = ""
    title: str = ""
    PRESETS: tuple[ModelInfo, ...] = ()
    ACCEPTS_ANY_MODEL: frozenset[ModelKind] = frozenset()
    """Kinds for which an unlisted model name is accepted as-is (e.g. any pulled Ollama model)."""

    SETTINGS: type = ModelEntries
    """The ``[providers.NAME]`` schema this provider declares on its spec."""
    conf: Any
    """That table, validated and typed: what the provider reads its settings from."""

    def __init__(self, ctx: ProviderContext) -> None:
        if ctx.name:  # a named instance: its models are NAME:model
            self.name = ctx.name
        self.ctx = ctx
        self.settings: Mapping[str, Any] = ctx.settings
        try:
            self.conf = validate(self.SETTINGS, ctx.settings)
        except SettingError as exc:  # config loading says this first, naming the file
            raise ValueError(f"[providers.{self.name}] {exc}") from None
        merged: dict[tuple[str, str], ModelInfo] = {(m.kind, m.name): m for m in self.PRESETS}
        for m in models_from_config(self.name, self.conf.models):
            base = merged.get((m.kind, m.name))
            if base is not None:
                # A config entry for a preset overrides only what it sets.
                m = ModelInfo(
                    provider=m.provider,
                    name=m.name,
                    kind=m.kind,
                    label=m.label or base.label,
                    options={**base.options, **m.options},
                    price=m.price if m.price is not None else base.price,
                    retired=m.retired or base.retired,
                    note=m.note or base.note,
                    shutdown=m.shutdown or base.shutdown,
                    successor=m.successor or base.successor,
                )
            merged[(m.kind, m.name)] = m
        self._models = [self._priced(m) for m in merged.values()]
        self._discovered: list[ModelInfo] = []

    def _priced(self, m: ModelInfo) -> ModelInfo:
        override = self.ctx.prices.get(m.id)
        if override is None:
            return m
        return replace(m, price=float(override))

    def models(self) -> list[ModelInfo]:
        """Presets and config, then what the service listed; a listing's shutdown date (the
        service's own word) replaces a preset's."""
        listed = {(m.kind, m.name): m for m in self._discovered}
        out = []
        for m in self._models:
            found = listed.pop((m.kind, m.name), None)
            if found is not None and found.shutdown and found.shutdown != m.shutdown:
                m = replace(m, shutdown=found.shutdown)
            out.append(m)
        return out + list(listed.values())

    def model(self, name: str, kind: ModelKind) -> ModelInfo | None:
        for m in self.models():
            if m.name == name and m.kind == kind:
                return m
        if kind in self.ACCEPTS_ANY_MODEL and name:
            return self._priced(ModelInfo(self.name, name, kind))
        return None

    def remember_discovered(self, found: Iterable[ModelInfo]) -> None:
        """Keep models found at run time so ``models()`` lists them."""
        self._discovered = [self._priced(m) for m in found]

    def availability(self, model: ModelInfo) -> Availability:
        return Availability.yes()

    def usable(self, model: ModelInfo) -> ModelInfo:
        """``model``, or the :class:`ProviderError` saying why it cannot be used now: what
        every ``drawer``/``guesser`` checks before it makes a client."""
        avail = self.availability(model)
        if not avail.ok:
            raise avail.error()
        return model

    async def check(self, model: ModelInfo) -> Availability:
        return self.availability(model)

    async def discover(self) -> list[ModelInfo]:
        return []

    def drawer(self, model: ModelInfo) -> Drawer:
        raise ProviderError("not_found", f"{self.title} has no drawer {model.name!r}")

    def guesser(self, model: ModelInfo) -> Guesser:
        raise ProviderError("not_found", f"{self.title} has no guesser {model.name!r}")

    async def aclose(self) -> None:
        return None
