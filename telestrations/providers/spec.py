"""What a provider declares about itself, as data: its key, its settings schema, its place.

A provider's entry point names a :class:`ProviderSpec`. Config loading validates each
``[providers.NAME]`` table against the spec's settings dataclass (so ``strem = false`` is an
error naming the file, table and key), ``keys set NAME`` accepts every declared key name, and
the key's environment variable comes from here too, plugins included. No httpx import: the
config and keys modules read specs without pulling in the HTTP stack.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from telestrations.providers.base import Provider, ProviderContext

T = TypeVar("T")


def setting(default: Any, doc: str) -> Any:
    """A documented settings field (the doc is what ``config.example.toml`` explains)."""
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True)
class ModelEntries:
    """Fields every provider table has."""

    models: list[dict[str, Any]] = field(
        default_factory=list,
        metadata={"doc": "[[providers.NAME.models]]: models added to menus, presets overridden"},
    )


@dataclass(frozen=True)
class HttpFields(ModelEntries):
    """The HTTP settings every network provider shares (see :class:`HttpSettings`)."""

    base_url: str = setting("", "the service's URL (each provider has its own default)")
    timeout: float | None = setting(None, "alias of read_timeout")
    connect_timeout: float | None = setting(None, "seconds to connect (default 5)")
    read_timeout: float | None = setting(None, "seconds between bytes of an answer")
    max_retries: int | None = setting(None, "retries of 429/5xx/connection errors (default 2)")
    max_bytes: int | None = setting(None, "largest response body accepted")
    max_pixels: int | None = setting(None, "largest image (width × height) accepted")
    draw_deadline: float | None = setting(None, "seconds one drawing may take in all")
    describe_deadline: float | None = setting(None, "seconds one description may take in all")


@dataclass(frozen=True)
class KeySpec:
    """A secret a provider reads: stored under ``name``, or given in ``env``."""

    name: str
    env: str
    what: str = "API key"
    also: tuple[str, ...] = ()
    """Further variables read, in order, when ``env`` is unset (Gemini's ``GOOGLE_API_KEY``,
    as Google's SDK reads it); each is a secret like ``env``."""

    @property
    def envs(self) -> tuple[str, ...]:
        """Every variable that can hold the key, the one that wins first."""
        return (self.env, *self.also)


@dataclass(frozen=True)
class InstanceFields:
    """Fields of a table that declares a named instance of another provider
    (``[providers.deepinfra] type = "openai"``); mixed into that provider's instance schema."""

    type: str = setting("", "the provider this table is an instance of, e.g. openai")
    api_key_env: str = setting("", "environment variable holding its key (default NAME_API_KEY)")


@dataclass(frozen=True)
class Instances:
    """A provider's declaration that config may run it again under other names: one
    ``[providers.NAME]`` table with ``type = "<provider>"`` per instance (any number)."""

    settings: type
    """The schema of such a table: a frozen dataclass that includes :class:`InstanceFields`."""
    build: Callable[[ProviderContext], Provider]
    """Builds one instance; its context's ``name`` is the instance's name."""


INSTANCE_NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}")
"""What an instance's name may be: it starts model ids (``NAME:model``) and names its key."""


def instance_key_env(name: str, table: Mapping[str, Any]) -> str:
    """The environment variable of instance ``name``'s key: ``api_key_env``, else
    ``NAME_API_KEY`` (``deep-infra`` → ``DEEP_INFRA_API_KEY``)."""
    chosen = table.get("api_key_env")
    if isinstance(chosen, str) and chosen.strip():
        return chosen.strip()
    return re.sub(r"[^A-Z0-9_]", "_", name.upper()) + "_API_KEY"


@dataclass(frozen=True)
class ProviderSpec:
    """A provider's declaration; calling it builds the provider (it is the entry point)."""

    name: str
    build: Callable[[ProviderContext], Provider]
    settings: type = ModelEntries
    """A frozen dataclass of documented fields (:func:`setting`)."""
    key: KeySpec | None = None
    order: int = 100
    """Menu position: built-ins first, in a deliberate order; plugins after, by name."""
    instances: Instances | None = None
    """Set when config may declare more instances of this provider under other names."""

    def __call__(self, ctx: ProviderContext) -> Provider:
        return self.build(ctx)

    def instance(self, name: str, table: Mapping[str, Any]) -> ProviderSpec:
        """The spec of instance ``name`` declared by ``table`` (``type`` = this provider):
        its own schema, and a key stored under ``name`` with its own environment variable."""
        if self.instances is None:
            raise SettingError(
                "type", f"provider {self.name!r} cannot be declared under another name"
            )
        return ProviderSpec(
            name,
            self.instances.build,
            self.instances.settings,
            KeySpec(name, instance_key_env(name, table)),
            order=INSTANCE_ORDER,
        )


INSTANCE_ORDER = 50
"""Named instances sit after the built-ins and before plugins in menus."""


class SettingError(ValueError):
    """One bad key in a provider table; ``key`` is the dotted key, the message says why."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def spec_of(factory: object) -> ProviderSpec | None:
    """The spec an entry point names (a plain factory function declares nothing)."""
    return factory if isinstance(factory, ProviderSpec) else None


def schema_fields(cls: type) -> dict[str, tuple[Any, str]]:
    """Field name → (resolved type, doc) of a settings dataclass."""
    hints = typing.get_type_hints(cls)
    return {f.name: (hints[f.name], f.metadata.get("doc", "")) for f in dataclasses.fields(cls)}


def validate(cls: type[T], table: Mapping[str, Any]) -> T:
    """``table`` as a ``cls`` instance; :class:`SettingError` names the first bad key."""
    known = schema_fields(cls)
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in known:
            close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.7)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise SettingError(key, f"unknown key {key!r}{hint}")
        values[key] = _check(key, value, known[key][0])
    return cls(**values)


def _check(key: str, value: Any, kind: Any) -> Any:
    ok, value = _fits(value, kind)
    if not ok:
        raise SettingError(key, f"{key} must be {_describe(kind)}, not {value!r}")
    return value


def _fits(value: Any, kind: Any) -> tuple[bool, Any]:
    origin = typing.get_origin(kind)
    if kind is Any:
        return True, value
    if origin in (typing.Union, types.UnionType):
        for part in typing.get_args(kind):
            ok, out = _fits(value, part)
            if ok:
                return True, out
        return False, value
    if kind is type(None):
        return value is None, value
    if origin is Literal:
        return value in typing.get_args(kind), value
    if kind is bool:
        return isinstance(value, bool), value
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    if kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return ok, float(value) if ok else value
    if kind is str:
        return isinstance(value, str), value
    if origin is list or kind is list:
        return isinstance(value, list), value
    if origin is dict or kind is dict or origin is Mapping:
        return isinstance(value, Mapping), value
    return isinstance(value, kind), value


def _describe(kind: Any) -> str:
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        parts = [p for p in typing.get_args(kind) if p is not type(None)]
        return " or ".join(_describe(p) for p in parts)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(kind))
    names = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}
    if kind in names:
        return names[kind]
    if origin is list or kind is list:
        return "an array"
    if origin is dict or kind is dict or origin is Mapping:
        return "a table"
    return getattr(kind, "__name__", str(kind))
