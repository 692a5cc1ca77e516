"""Shared fixtures: every test runs with its own config, data and keys locations and no keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

# Variables that would leak the developer's real setup into a test.
_ENV = [
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "RUNPOD_API_KEY",
    "RUNPOD_ID",
    "OLLAMA_HOST",
    "COMFYUI_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "OPENROUTER_API_KEY",
    "TELESTRATIONS_CONFIG",
    "TELESTRATIONS_DATA_DIR",
    "TELESTRATIONS_KEYS",
]


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point config, data and keys at a temp dir; drop keys and hosts from the environment."""
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv("TELESTRATIONS_CONFIG", str(home / "config.toml"))
    monkeypatch.setenv("TELESTRATIONS_DATA_DIR", str(home / "data"))
    monkeypatch.setenv("TELESTRATIONS_KEYS", str(home / "keys.json"))
    return home


@pytest.fixture(autouse=True)
def forget_secrets() -> Iterator[None]:
    """The process's redactor (text.SECRETS) starts empty in every test, as in a new process."""
    from telestrations.text import SECRETS

    SECRETS.clear()
    yield
    SECRETS.clear()
