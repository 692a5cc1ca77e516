"""Wires config, keys, providers and the store together for the CLI and the TUI.

One :class:`Runtime` per process. It builds each provider with its config table, the key
lookup and the environment, and gives the engine a :class:`RegistryModels` that turns "unknown
model" and "unusable model" into the same :class:`ProviderError` a failed call would raise.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from telestrations.config import Config, data_dir, load_config
from telestrations.keys import KeyRing, KeyStore, keys_path
from telestrations.providers.base import (
    Availability,
    Drawer,
    Guesser,
    ModelInfo,
    ModelKind,
    Provider,
    ProviderContext,
    ProviderError,
)
from telestrations.providers.listings import (
    ListingCache,
    ListingStatus,
    shutdown_verdict,
    source_of,
)
from telestrations.providers.registry import Registry, UnknownModel
from telestrations.state import state_path
from telestrations.store import Store
from telestrations.text import MIN_SECRET, SECRETS, Secrets, header_secrets

LISTINGS_DIR = "listings"
"""Folder in the data dir where the services' model listings are cached."""


@dataclass
class Runtime:
    """Config, keys, registry and store for one process."""

    config: Config
    keyring: KeyRing
    registry: Registry
    store: Store
    data_dir: Path
    env: Mapping[str, str] = field(default_factory=dict)
    today: Callable[[], date] = date.today
    """Today's date, for shutdown dates (tests set another day)."""
    clock: Callable[[], float] = time.time
    """Now in unix seconds, for the listings' ages and time-to-live."""
    listing_status: dict[str, ListingStatus] = field(default_factory=dict)
    """Per provider name: where the models it lists came from (cache or service, and when)."""

    @classmethod
    def load(
        cls,
        *,
        config_file: Path | None = None,
        data_dir_flag: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Runtime:
        """Read config (raises ConfigError), then build every provider."""
        env = dict(os.environ if env is None else env)
        config = load_config(config_file, env)
        keyring = KeyRing(KeyStore(keys_path(env)), env, instance_keys(config))
        collect_secrets(SECRETS, keyring, env, config.providers)

        def get_key(name: str) -> str | None:
            value = keyring.get(name)
            remember_key(SECRETS, value)  # a plugin's key, or one stored since start-up
            return value

        def context_for(name: str) -> ProviderContext:
            return ProviderContext(
                settings=config.providers.get(name, {}),
                get_key=get_key,
                env=env,
                prices=config.prices,
                name=name if name in config.instances else "",
            )

        registry = Registry.load(context_for, keyring.secrets, config.instances)
        root = data_dir(config, env, data_dir_flag)
        runtime = cls(config, keyring, registry, Store(root), root, env)
        runtime.load_listings()
        return runtime

    @property
    def listings(self) -> ListingCache:
        """The services' model listings on disk (one small JSON file per provider)."""
        return ListingCache(self.data_dir / LISTINGS_DIR, clock=self.clock)

    def load_listings(self) -> None:
        """Give every provider its cached listing, so menus and ``models`` show what the
        services offered last time without asking them (a few small files: cheap)."""
        cache = self.listings
        for provider in self.registry.providers.values():
            listing = cache.load(provider.name, source_of(provider))
            if listing is None:
                continue
            remember = getattr(provider, "remember_discovered", None)
            if remember is not None:
                remember(listing.models)
            self.listing_status[provider.name] = ListingStatus(listing.fetched_at, cached=True)

    @property
    def state_file(self) -> Path:
        return state_path(self.data_dir)

    def models(self) -> RegistryModels:
        return RegistryModels(self.registry, self.today)

    def price_of(self, model_id: str) -> float | None:
        """USD per call for ``model_id`` when known (config override or preset)."""
        if model_id in self.config.prices:
            return self.config.prices[model_id]
        kinds: tuple[ModelKind, ...] = ("drawer", "guesser")
        for kind in kinds:
            try:
                _, model = self.registry.resolve(model_id, kind)
            except UnknownModel:
                continue
            return model.price
        return None

    def availability(self, model_id: str, kind: ModelKind) -> tuple[ModelInfo | None, Availability]:
        """Quick (no I/O) check of one model id, for pre-flight and menus."""
        try:
            provider, model = self.registry.resolve(model_id, kind)
        except UnknownModel as exc:
            return None, Availability.no(str(exc), "see `telestrations models`", "not_found")
        return model, self.verdict(provider, model)

    def verdict(self, provider: Provider, model: ModelInfo) -> Availability:
        """The provider's quick check, and never a model past its shutdown date."""
        avail = provider.availability(model)
        if not avail.ok:
            return avail
        return shutdown_verdict(model, self.today()) or avail

    async def store_key(self, name: str, value: str) -> None:
        """Store a key (keys file, 0600) and rebuild the provider that uses it."""
        await asyncio.to_thread(self.keyring.store.set, name, value)  # read, write, fsync
        self.keyring.reload()
        remember_key(SECRETS, value.strip())
        if name in self.registry.providers:
            await self.registry.rebuild(name)

    async def aclose(self) -> None:
        await self.registry.aclose()


class RegistryModels:
    """The engine's view of the registry: every failure is a :class:`ProviderError`."""

    def __init__(self, registry: Registry, today: Callable[[], date] = date.today) -> None:
        self.registry = registry
        self.today = today

    def _resolve(self, model_id: str, kind: ModelKind) -> tuple[Provider, ModelInfo]:
        try:
            provider, model = self.registry.resolve(model_id, kind)
        except UnknownModel as exc:
            raise ProviderError("not_found", str(exc), hint="see `telestrations models`") from None
        avail = provider.availability(model)
        if avail.ok:  # a model shut down mid-game: the turn fails with the replacement
            avail = shutdown_verdict(model, self.today()) or avail
        if not avail.ok:
            raise avail.error()
        return provider, model

    def drawer(self, model_id: str) -> Drawer:
        provider, model = self._resolve(model_id, "drawer")
        return provider.drawer(model)

    def guesser(self, model_id: str) -> Guesser:
        provider, model = self._resolve(model_id, "guesser")
        return provider.guesser(model)


def instance_keys(config: Config) -> dict[str, tuple[str, ...]]:
    """Key name → environment variables of every named endpoint config declares."""
    return {name: spec.key.envs for name, spec in config.instances.items() if spec.key is not None}


def remember_key(secrets: Secrets, value: str | None) -> None:
    """A key, and for a ``user:password`` key (AUTOMATIC1111's --api-auth form) the password."""
    if not value:
        return
    secrets.add(value)
    _user, sep, password = value.partition(":")
    if sep and len(password) >= MIN_SECRET:
        secrets.add(password)


def collect_secrets(
    secrets: Secrets, keyring: KeyRing, env: Mapping[str, str], providers: Mapping[str, Any]
) -> None:
    """Every secret the process can know at start: the keys (environment and keys file), and
    the password of every URL with ``user:password@`` in the environment (``OLLAMA_HOST``,
    ``OPENAI_BASE_URL``, a proxy) or in a ``[providers.X]`` table, with its derived forms,
    and the values of a table's extra ``headers`` that carry a credential."""
    for value in keyring.secrets():
        remember_key(secrets, value)
    for value in env.values():
        secrets.add_url(value)
    for table in providers.values():
        headers = table.get("headers") if isinstance(table, Mapping) else None
        if isinstance(headers, Mapping):
            secrets.add(*header_secrets(headers))

    def walk(value: Any) -> None:
        if isinstance(value, str):
            secrets.add_url(value)
        elif isinstance(value, Mapping):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    walk(providers)
