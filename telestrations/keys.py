"""The keys file: API keys, owner-only (0600 from the first byte), written atomically.

Lookup order for a key (:func:`KeyRing.get`): environment, then the keys file. Keys are never
printed, logged, journalled or exported; ``keys list`` shows names and where each comes from.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import stat
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from platformdirs import user_config_path

from telestrations.atomic import write_atomic

log = logging.getLogger(__name__)


@functools.cache
def env_vars() -> Mapping[str, str]:
    """Key name → the environment variable holding it, as every installed provider (plugins
    included) declares it on its entry point's spec."""
    from telestrations.providers.registry import declared_keys

    try:
        return {name: spec.env for name, spec in declared_keys().items()}
    except Exception:  # broken metadata must not stop `keys`
        log.debug("reading provider key declarations failed", exc_info=True)
        return {}


@functools.cache
def env_sources() -> Mapping[str, tuple[str, ...]]:
    """Key name → every environment variable that can hold it, in precedence order (the
    declared one, then its fallbacks such as ``GOOGLE_API_KEY``)."""
    from telestrations.providers.registry import declared_keys

    try:
        return {name: spec.envs for name, spec in declared_keys().items()}
    except Exception:  # broken metadata must not stop `keys`
        log.debug("reading provider key declarations failed", exc_info=True)
        return {}


def __getattr__(name: str) -> Any:
    """``ENV_VARS`` and ``KNOWN``, read from the providers' declarations on first use."""
    if name == "ENV_VARS":
        return env_vars()
    if name == "KNOWN":
        return tuple(env_vars())
    raise AttributeError(name)


class KeysError(Exception):
    """The keys file is unreadable or malformed; the message names the file."""


def keys_path(env: Mapping[str, str] | None = None) -> Path:
    """``TELESTRATIONS_KEYS``, else ``keys.json`` beside config.toml."""
    env = os.environ if env is None else env
    if env.get("TELESTRATIONS_KEYS"):
        return Path(env["TELESTRATIONS_KEYS"]).expanduser()
    return user_config_path("telestrations", appauthor=False) / "keys.json"


def key_names(extra: Collection[str] = ()) -> list[str]:
    """Names a key can be stored under: every key a provider declares, plus the name of
    every installed provider (a plugin that declares nothing may still read one), plus
    ``extra`` (the named endpoints config declares)."""
    from importlib.metadata import entry_points

    names = set(env_vars()) | set(extra)
    try:
        names.update(ep.name for ep in entry_points(group="telestrations.providers"))
    except Exception:  # broken metadata must not stop `keys`
        log.debug("reading provider entry points failed", exc_info=True)
    names.discard("doodle")  # offline: it has no key
    return sorted(names)


def normalise(name: str) -> str:
    """``OPENAI`` / ``OpenAI`` → ``openai`` (the original's api-keys.json used upper case)."""
    return name.strip().lower()


def mask(value: str) -> str:
    """Enough to recognise a key, never enough to use it: ``sk-…7f3a``."""
    return f"{value[:3]}…{value[-4:]}" if len(value) >= 12 else "…"


class KeyStore:
    """Reads and writes the keys file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, str]:
        if not self.path.exists():
            return {}
        self._tighten()
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise KeysError(f"{self.path}: cannot read keys ({type(exc).__name__})") from None
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()
        ):
            raise KeysError(f"{self.path}: expected a JSON object of name → key strings")
        return {normalise(k): v for k, v in data.items()}

    def _tighten(self) -> None:
        """Re-apply 0600 if someone loosened it."""
        try:
            mode = stat.S_IMODE(self.path.stat().st_mode)
            if mode & 0o077:
                os.chmod(self.path, 0o600)
                log.warning("%s was readable by others; permissions reset to 0600", self.path)
        except OSError:
            pass

    def save(self, keys: Mapping[str, str]) -> None:
        """Atomic write (:func:`~telestrations.atomic.write_atomic`), 0600 from the first byte."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(dict(sorted(keys.items())), indent=2) + "\n"
        write_atomic(self.path, text.encode("utf-8"), mode=0o600)

    def set(self, name: str, value: str) -> None:
        value = value.strip()
        if not value:
            raise KeysError("empty key; nothing stored")
        keys = self.load()
        keys[normalise(name)] = value
        self.save(keys)

    def delete(self, name: str) -> bool:
        keys = self.load()
        if keys.pop(normalise(name), None) is None:
            return False
        self.save(keys)
        return True

    def import_file(
        self, source: Path, allowed: Collection[str] | None = None
    ) -> tuple[list[str], list[str]]:
        """Import the original's ``api-keys.json`` (``{"OPENAI": "...", "RUNPOD": "..."}``).

        Returns the names imported and, for each entry left out, why (never its value).
        """
        try:
            data = json.loads(source.read_text("utf-8"))
        except OSError as exc:
            raise KeysError(f"{source}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise KeysError(f"{source}: not a UTF-8 text file") from None
        except json.JSONDecodeError as exc:
            raise KeysError(
                f"{source}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
            ) from None
        if not isinstance(data, dict):
            raise KeysError(f'{source}: expected a JSON object like {{"OPENAI": "..."}}')
        keys = self.load()
        imported: list[str] = []
        skipped: list[str] = []
        for raw, value in data.items():
            name = normalise(str(raw))
            if allowed is not None and name not in allowed:
                skipped.append(f"{raw} (no provider by that name)")
            elif not isinstance(value, str):
                skipped.append(f"{raw} (not a string)")
            elif not value.strip():
                skipped.append(f"{raw} (empty)")
            else:
                keys[name] = value.strip()
                imported.append(name)
        if imported:
            self.save(keys)
        return imported, skipped


@dataclass(frozen=True)
class KeySource:
    name: str
    source: str
    """"env OPENAI_API_KEY" or "keys file"."""


class KeyRing:
    """Key lookup with the documented precedence: environment, then the keys file."""

    def __init__(
        self,
        store: KeyStore,
        env: Mapping[str, str] | None = None,
        extra: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.store = store
        self.env = dict(os.environ if env is None else env)
        self._cache: dict[str, str] | None = None
        self.extra = dict(extra or {})
        """Key name → its environment variables, for keys config declares (named endpoints)."""

    def _sources(self) -> Mapping[str, tuple[str, ...]]:
        return {**env_sources(), **self.extra}

    def _file(self) -> dict[str, str]:
        if self._cache is None:
            try:
                self._cache = self.store.load()
            except KeysError as exc:
                log.warning("%s", exc)
                self._cache = {}
        return self._cache

    def reload(self) -> None:
        self._cache = None

    def _env_var(self, name: str) -> str | None:
        """The first variable declared for ``name`` that is set (not blank) here."""
        for var in self._sources().get(name, ()):
            if self.env.get(var, "").strip():
                return var
        return None

    def get(self, name: str) -> str | None:
        name = normalise(name)
        var = self._env_var(name)
        if var is not None:
            return self.env[var].strip()
        return self._file().get(name)

    def sources(self) -> list[KeySource]:
        out = []
        names = sorted(set(self._file()) | {n for n in self._sources() if self._env_var(n)})
        for name in names:
            var = self._env_var(name)
            out.append(KeySource(name, f"env {var}" if var else "keys file"))
        return out

    def secrets(self) -> list[str]:
        """Every key value known, for redaction: fallback variables too, used or not."""
        values = set(self._file().values())
        values |= {self.env[v] for vs in self._sources().values() for v in vs if self.env.get(v)}
        return sorted(v for v in values if v)
