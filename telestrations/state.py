"""The state file: the app's own memory of the last choices made in the UI (tomli-w).

Kept apart from config.toml, which the person owns and the app never rewrites.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import tomli_w

from telestrations.atomic import write_atomic
from telestrations.text import scrub_json

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UiState:
    """What the TUI restores at the next start; empty strings mean "use config/defaults"."""

    prompt: str = ""
    drawer: str = ""
    guesser: str = ""
    style: str | None = None
    guesser_system: str | None = None
    guesser_prompt: str | None = None
    preset: str | None = None
    """The guesser preset last chosen ("" = custom texts)."""
    images: str = ""
    theme: str = ""
    """The Textual theme last picked (command palette); unknown names are ignored."""


def state_path(data_dir: Path) -> Path:
    return data_dir / "state.toml"


def load_state(path: Path) -> UiState:
    """Read the state; a damaged file is ignored with a warning (it is only a convenience)."""
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return UiState()
    except (OSError, ValueError) as exc:
        log.warning("%s: ignored (%s)", path, exc)
        return UiState()
    known = {f.name for f in fields(UiState)}
    clean: dict[str, Any] = {k: v for k, v in data.items() if k in known and isinstance(v, str)}
    return UiState(**clean)


def save_state(path: Path, state: UiState) -> None:
    """Atomic write (:func:`~telestrations.atomic.write_atomic`): a crash never leaves half
    a file."""
    data: Mapping[str, Any] = {k: v for k, v in asdict(state).items() if v is not None}
    data = scrub_json(data)  # a prompt pasted from a caption or an error may quote a key
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, tomli_w.dumps(dict(data)).encode("utf-8"), mode=0o600)
