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


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """The loggers ``setup_logging`` configures are as they were before the test.

    A test that calls ``cli.main()`` in-process configures logging as a process would: its
    own handler on ``telestrations`` (and httpx), ``propagate = False``. Left like that, every
    later test's ``caplog`` sees nothing, so a test checking a log line failed or passed
    depending on which tests ran before it (in reverse file order, three did)."""
    import logging

    names = ("telestrations", "httpx", "httpcore")
    saved = {}
    for name in names:
        logger = logging.getLogger(name)
        saved[name] = (list(logger.handlers), logger.propagate, logger.level, logger.disabled)
    yield
    for name, (handlers, propagate, level, disabled) in saved.items():
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            if handler not in handlers:
                logger.removeHandler(handler)
                handler.close()
        for handler in handlers:
            if handler not in logger.handlers:
                logger.addHandler(handler)
        logger.propagate, logger.disabled = propagate, disabled
        logger.setLevel(level)
