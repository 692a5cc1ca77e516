"""config.toml: read (never written) from the platform config dir, validated strictly.

Precedence, highest first: command-line flags, environment, keys file and config, defaults.
The app never rewrites this file (tomli-w cannot keep comments); choices made in the UI go to
the state file instead (:mod:`telestrations.state`).
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from platformdirs import user_config_path, user_data_path

from telestrations.drift import DEFAULT_K
from telestrations.game import (
    DEFAULT_GUESSER_PROMPT,
    DEFAULT_GUESSER_SYSTEM,
    DEFAULT_MODEL,
    DEFAULT_STYLE,
    Limits,
    Settings,
)
from telestrations.presets import NAME as PRESET_NAME
from telestrations.presets import Preset, UnknownPreset, find, label
from telestrations.presets import table as presets_table
from telestrations.providers.spec import INSTANCE_NAME, ProviderSpec, SettingError, validate

APP = "telestrations"
IMAGE_MODES = ("auto", "sixel", "tgp", "halfcell", "unicode")


class ConfigError(Exception):
    """A malformed or invalid file; the message names the file, line, column and problem."""


@dataclass(frozen=True)
class GameDefaults:
    """The ``[game]`` table: what a new game starts with."""

    prompt: str = "a red house under a yellow sun"
    """First prompt when none is given."""
    drawer: str = DEFAULT_MODEL
    guesser: str = DEFAULT_MODEL
    style: str = DEFAULT_STYLE
    """Prepended to drawer prompts as ``"{style}: {prompt}"``; empty sends the bare prompt."""
    guesser_system: str = DEFAULT_GUESSER_SYSTEM
    guesser_prompt: str = DEFAULT_GUESSER_PROMPT
    preset: str = ""
    """A guesser preset (built-in or ``[presets.NAME]``) giving both guesser texts; set it or
    them, not both."""
    rounds: int = 0
    """Stop after this many rounds (0 = endless)."""
    spend_limit: float = 0.0
    """Pause before known spend would pass this many USD (0 = no cap)."""
    until_converged: bool = False
    """Stop when the chain converges or cycles (see :mod:`telestrations.drift`)."""
    converge_after: int = DEFAULT_K
    """Near-identical captions in a row (or rounds back, for a cycle) that count as converged."""
    stop_when_stable: bool = False
    """Deprecated alias of ``until_converged`` (read, never needed)."""
    embeddings: str = ""
    """Optional semantic drift measure: ``"ollama:MODEL"`` or ``"openai:MODEL"``."""
    memory: bool = False
    """Memory play: the drawer also gets the previous picture, where its service can."""

    def settings(self) -> Settings:
        return Settings(
            self.drawer,
            self.guesser,
            self.style,
            self.guesser_system,
            self.guesser_prompt,
            preset=self.preset,
            memory=self.memory,
        )

    def limits(self) -> Limits:
        return Limits(
            rounds=self.rounds,
            spend=self.spend_limit if self.spend_limit > 0 else None,
            until_converged=self.until_converged or self.stop_when_stable,
            converge_after=self.converge_after,
        )


@dataclass(frozen=True)
class UiConfig:
    """The ``[ui]`` table."""

    images: str = "halfcell"
    """Thumbnails in the history: auto, sixel, tgp, halfcell or unicode."""
    max_cards: int = 60
    """Round cards that keep their pixels in memory; older ones reload when scrolled back."""
    thumbnail_width: int = 120
    """The widest a picture in the history gets, in cells; below that it takes the room the
    pane has."""
    pace: float = 1.0
    """Seconds each turn takes at least in the app, so fast models (doodle) can be watched."""


@dataclass(frozen=True)
class Config:
    """Everything read from config.toml (or the defaults when there is none)."""

    path: Path | None = None
    game: GameDefaults = field(default_factory=GameDefaults)
    ui: UiConfig = field(default_factory=UiConfig)
    data_dir: Path | None = None
    prices: Mapping[str, float] = field(default_factory=dict)
    """USD per call by model id, overriding the built-in price table."""
    providers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """``[providers.<name>]`` tables, handed to each provider as is."""
    keymap: Mapping[str, str] = field(default_factory=dict)
    """TUI binding id → keys, e.g. ``{"step" = "t"}``."""
    instances: Mapping[str, ProviderSpec] = field(default_factory=dict)
    """Named instances (``[providers.NAME] type = "openai"``) by name, as specs of their own."""
    presets: Mapping[str, Preset] = field(default_factory=dict)
    """``[presets.NAME]``: the user's guesser presets (built-ins: :mod:`telestrations.presets`)."""

    def preset_table(self) -> dict[str, Preset]:
        """Every guesser preset this config knows: built-ins, then the user's."""
        return presets_table(self.presets)


def config_path(env: Mapping[str, str] | None = None) -> Path:
    """``TELESTRATIONS_CONFIG``, else ``<platform config dir>/config.toml``."""
    env = os.environ if env is None else env
    if env.get("TELESTRATIONS_CONFIG"):
        return Path(env["TELESTRATIONS_CONFIG"]).expanduser()
    return user_config_path(APP, appauthor=False) / "config.toml"


def data_dir(config: Config, env: Mapping[str, str] | None = None, flag: str | None = None) -> Path:
    """Where games and the state file live: flag, env, config, platform default."""
    env = os.environ if env is None else env
    if flag:
        return Path(flag).expanduser()
    if env.get("TELESTRATIONS_DATA_DIR"):
        return Path(env["TELESTRATIONS_DATA_DIR"]).expanduser()
    if config.data_dir is not None:
        return config.data_dir
    return user_data_path(APP, appauthor=False)


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; errors become one :class:`ConfigError` line with line and column."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        problem = re.sub(r"\s*\(at line \d+, column \d+\)", "", msg)
        problem = re.sub(r"\s*\(at end of document\)", "", problem)
        if m:
            raise ConfigError(
                f"{path}: line {m.group(1)}, column {m.group(2)}: {problem}"
            ) from None
        return_line = raw.count(b"\n") + 1
        raise ConfigError(f"{path}: line {return_line} (end of file): {problem}") from None


def _check_keys(path: Path, table: str, data: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        where = f"[{table}]" if table else "top level"
        raise ConfigError(
            f"{path}: unknown key {unknown[0]!r} in {where} "
            f"(known: {', '.join(sorted(allowed))}; see config.example.toml)"
        )


def _typed(path: Path, table: str, key: str, value: Any, kind: type | tuple[type, ...]) -> Any:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise ConfigError(
            f"{path}: [{table}] {key} must be {names}, not {type(value).__name__} ({value!r})"
        )
    return value


def _dataclass_from(path: Path, table: str, cls: type, data: Mapping[str, Any]) -> Any:
    fields = cls.__dataclass_fields__  # type: ignore[attr-defined]
    _check_keys(path, table, data, set(fields))
    kwargs = {}
    for key, value in data.items():
        default = getattr(cls(), key)
        kwargs[key] = _typed(path, table, key, value, type(default))
    return cls(**kwargs)


def parse_config(
    data: Mapping[str, Any], path: Path, specs: Mapping[str, ProviderSpec] | None = None
) -> Config:
    """Validate a parsed config.toml against the declarations above and, for each
    ``[providers.NAME]`` table, the settings schema provider NAME declares (``specs``;
    default: every installed provider's). A table of a provider that is not installed, or
    that declares no schema, is kept unchecked: the provider may come back."""
    _check_keys(
        path, "", data, {"game", "ui", "data_dir", "prices", "providers", "keymap", "presets"}
    )
    presets = _presets(path, _table(path, data, "presets"))
    game_table = _table(path, data, "game")
    game = _game_preset(
        path, _dataclass_from(path, "game", GameDefaults, game_table), game_table, presets
    )
    ui = _dataclass_from(path, "ui", UiConfig, _table(path, data, "ui"))
    if ui.images not in IMAGE_MODES:
        raise ConfigError(f"{path}: [ui] images must be one of {', '.join(IMAGE_MODES)}")
    if ui.pace < 0:
        raise ConfigError(f"{path}: [ui] pace must be 0 or more seconds")
    _ui_ranges(path, ui)
    if game.rounds < 0 or game.spend_limit < 0:
        raise ConfigError(f"{path}: [game] rounds and spend_limit must be 0 or more")
    if game.stop_when_stable:
        logging.getLogger(__name__).warning(
            "%s: [game] stop_when_stable is deprecated; use until_converged", path
        )
    if game.converge_after < 2:
        raise ConfigError(f"{path}: [game] converge_after must be 2 or more")
    prices = {
        str(k): float(_typed(path, "prices", k, v, float))
        for k, v in _table(path, data, "prices").items()
    }
    providers = {}
    instances: dict[str, ProviderSpec] = {}
    for name, table in _table(path, data, "providers").items():
        if not isinstance(table, Mapping):
            raise ConfigError(f"{path}: [providers.{name}] must be a table")
        models = table.get("models", [])
        if not isinstance(models, list) or not all(isinstance(m, Mapping) for m in models):
            raise ConfigError(f"{path}: providers.{name}.models must be an array of tables")
        for i, m in enumerate(models):
            if "name" not in m or m.get("kind") not in ("drawer", "guesser"):
                raise ConfigError(
                    f"{path}: providers.{name}.models[{i}] needs name and kind "
                    "('drawer' or 'guesser')"
                )
        instance = _check_provider(path, str(name), table, specs)
        if instance is not None:
            instances[str(name)] = instance
        providers[str(name)] = dict(table)
    keymap = _keymap(path, _table(path, data, "keymap"))
    raw_dir = data.get("data_dir")
    if raw_dir is not None and not isinstance(raw_dir, str):
        raise ConfigError(f"{path}: data_dir must be a string")
    return Config(
        path=path,
        game=game,
        ui=ui,
        data_dir=Path(raw_dir).expanduser() if raw_dir else None,
        prices=prices,
        providers=providers,
        keymap=keymap,
        instances=instances,
        presets=presets,
    )


def _presets(path: Path, data: Mapping[str, Any]) -> dict[str, Preset]:
    """``[presets.NAME]`` tables: ``prompt`` (required), ``system`` and ``about``."""
    found = {}
    for name, spec in data.items():
        where = f"presets.{name}"
        if not PRESET_NAME.match(str(name)):
            raise ConfigError(
                f"{path}: [{where}]: a preset name is letters, digits, '-', '_' or '.' "
                "(at most 40, starting with a letter or digit)"
            )
        if not isinstance(spec, Mapping):
            raise ConfigError(f"{path}: [{where}] must be a table with system and prompt")
        _check_keys(path, where, spec, {"system", "prompt", "about"})
        if "prompt" not in spec:
            raise ConfigError(f"{path}: [{where}] needs prompt (what the guesser is asked)")
        texts = {k: _typed(path, where, k, spec.get(k, ""), str) for k in ("system", "prompt")}
        if not texts["prompt"].strip():
            raise ConfigError(f"{path}: [{where}] prompt is empty")
        about = _typed(path, where, "about", spec.get("about", ""), str)
        found[str(name)] = Preset(str(name), texts["system"], texts["prompt"], about, False)
    return found


def _game_preset(
    path: Path, game: GameDefaults, data: Mapping[str, Any], presets: Mapping[str, Preset]
) -> GameDefaults:
    """``[game]`` with its guesser texts taken from ``preset`` when one is named (an unknown
    name is an error with a did-you-mean), else labelled with the preset they match."""
    known = presets_table(presets)
    if "preset" not in data:
        return replace(game, preset=label(game.settings(), known).preset)
    both = sorted({"guesser_system", "guesser_prompt"} & set(data))
    if both:
        raise ConfigError(
            f"{path}: [game] sets both preset and {both[0]}: the preset gives the guesser's "
            "texts; keep one (or make a [presets.NAME] of your own)"
        )
    try:
        chosen = find(game.preset, known)
    except UnknownPreset as exc:
        raise ConfigError(f"{path}: [game] preset: {exc}") from None
    return replace(
        game, preset=chosen.name, guesser_system=chosen.system, guesser_prompt=chosen.prompt
    )


def _check_provider(
    path: Path, name: str, table: Mapping[str, Any], specs: Mapping[str, ProviderSpec] | None
) -> ProviderSpec | None:
    """Validate one ``[providers.NAME]`` table; the spec of a named instance it declares."""
    if specs is None:
        from telestrations.providers.registry import provider_specs

        specs = provider_specs()
    if "type" in table:
        return _instance_spec(path, name, table, specs)
    spec = specs.get(name)
    if spec is None:
        return None
    try:
        validate(spec.settings, table)
    except SettingError as exc:
        raise ConfigError(f"{path}: [providers.{name}] {exc}") from None
    return None


def _instance_spec(
    path: Path, name: str, table: Mapping[str, Any], specs: Mapping[str, ProviderSpec]
) -> ProviderSpec:
    """The spec of instance ``name`` of provider ``table["type"]``, validated: a known type
    that can have instances, a name of its own, and a table its instance schema accepts."""
    where = f"{path}: [providers.{name}]"
    types = sorted(n for n, s in specs.items() if s.instances is not None)
    kind = table["type"]
    if name in specs:
        raise ConfigError(
            f"{where} {name} is a built-in provider; a named endpoint needs a name of its own, "
            f"e.g. [providers.my-{name}]"
        )
    if not INSTANCE_NAME.fullmatch(name):
        raise ConfigError(
            f"{where} a named endpoint's name must be lower-case letters, digits, - and _ "
            "(up to 40, starting with a letter): it starts its model ids, NAME:model"
        )
    base = specs.get(kind) if isinstance(kind, str) else None
    if base is None or base.instances is None:
        what = "cannot be declared under another name" if base is not None else "is unknown"
        raise ConfigError(
            f"{where} type {kind!r} {what} (types: {', '.join(types) or 'none installed'})"
        )
    try:
        spec = base.instance(name, table)
        validate(spec.settings, table)
    except SettingError as exc:
        raise ConfigError(f"{where} {exc}") from None
    return spec


UI_RANGES = {"thumbnail_width": (8, 300), "max_cards": (4, 1000)}
"""Inclusive bounds of the numeric ``[ui]`` values: a 0-cell picture or 500 cells, or a history
that keeps no card, is a typo, refused like any other."""


def _ui_ranges(path: Path, ui: UiConfig) -> None:
    for key, (low, high) in UI_RANGES.items():
        value = getattr(ui, key)
        if not low <= value <= high:
            raise ConfigError(f"{path}: [ui] {key} must be from {low} to {high}, not {value}")


def unknown_keymap_ids(path: Path | None, keymap: Mapping[str, str], known: set[str]) -> None:
    """Refuse ``[keymap]`` ids no binding has (the caller, the TUI, knows which exist)."""
    unknown = sorted(set(keymap) - known)
    if unknown:
        raise ConfigError(
            f"{path or 'config.toml'}: [keymap] {unknown[0]}: no binding has this id "
            f"(known: {', '.join(sorted(known))}; see config.example.toml)"
        )


def _keymap(path: Path, table: Mapping[str, Any]) -> dict[str, str]:
    """Binding id → keys; which ids exist is the TUI's to say (it reports unknown ones)."""
    keymap = {}
    for binding_id, keys in table.items():
        keys = _typed(path, "keymap", binding_id, keys, str)
        if any(not k.strip() for k in keys.split(",")):
            raise ConfigError(
                f'{path}: [keymap] {binding_id} must name keys, e.g. "t" or "ctrl+t,f5" '
                f"(not {keys!r})"
            )
        keymap[str(binding_id)] = keys
    return keymap


def _table(path: Path, data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"{path}: {key} must be a table ([{key}])")
    return value


def load_config(path: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read the config; a missing file at the default location means defaults."""
    explicit = path is not None
    path = path or config_path(env)
    if not path.exists():
        if explicit:
            raise ConfigError(f"{path}: no such file")
        return Config(path=None)
    return parse_config(read_toml(path), path)
