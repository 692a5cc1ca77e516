"""Logging set-up: stderr for headless commands, a file for the TUI, keys always redacted."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path

from telestrations.text import SECRETS


class RedactingFilter(logging.Filter):
    """Replaces every known secret (and its derived forms) in a record's message with ``***``.

    A second line of defence: providers already redact, but a key must never reach a log
    whatever path a message took.
    """

    def __init__(self, secrets: Callable[[], Iterable[str]]) -> None:
        super().__init__()
        self._secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        SECRETS.add(*self._secrets())  # the same choke point as journal, stdout and exports
        if not SECRETS:
            return True
        message = record.getMessage()
        clean = SECRETS.redact(message)
        if record.exc_info and record.exc_text is None:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = SECRETS.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = SECRETS.redact(record.stack_info)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def setup_logging(
    verbose: int,
    *,
    secrets: Callable[[], Iterable[str]] = lambda: (),
    log_file: Path | None = None,
) -> None:
    """Configure the ``telestrations`` logger once per process."""
    logger = logging.getLogger("telestrations")
    for old in list(logger.handlers):
        logger.removeHandler(old)
        old.close()
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler: logging.Handler
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_file, encoding="utf-8", delay=True)
        level = min(level, logging.INFO)
    else:
        handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    for name in ("httpx", "httpcore"):
        lib = logging.getLogger(name)
        lib.setLevel(logging.WARNING)
        lib.addHandler(handler)
        lib.propagate = False
