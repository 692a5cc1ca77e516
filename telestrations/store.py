"""One folder per game: the images as received, plus an append-only JSON Lines journal.

Crash safety: an image is written (temp file, fsync, rename) before the journal line that
names it, and each journal line is flushed and fsynced, so a crash loses at most the turn in
flight. A torn last line (a crash mid-write) is ignored on load with a warning and cut off
before the next append, so it never corrupts what follows.

All methods here are blocking; the engine calls them through ``asyncio.to_thread``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from telestrations.text import scrub_json
from telestrations.turns import (
    SCHEMA_VERSION,
    TurnRecord,
    redact_record,
    rounds_done,
    total_cost,
)

log = logging.getLogger(__name__)

JOURNAL = "journal.jsonl"


class GameNotFound(LookupError):
    """No game matches what the user typed; the message lists what exists."""


def slugify(text: str, limit: int = 40) -> str:
    """A file-name-safe slug of the first prompt ("A red house!" → "a-red-house")."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "game"


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _whole_object(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


@dataclass
class GameDir:
    """A game folder: header, the turns so far, and the warnings met while loading."""

    path: Path
    header: dict[str, Any]
    records: list[TurnRecord] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    _tail_checked: bool = False

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def first_prompt(self) -> str:
        return str(self.header.get("prompt", ""))

    @property
    def journal(self) -> Path:
        return self.path / JOURNAL

    @classmethod
    def open(cls, path: Path) -> GameDir:
        """Load a game; a torn or unreadable line is skipped with a warning, never fatal."""
        journal = path / JOURNAL
        if not journal.is_file():
            raise GameNotFound(f"{path} is not a telestrations game (no {JOURNAL})")
        header: dict[str, Any] = {}
        records: list[TurnRecord] = []
        warnings: list[str] = []
        raw = journal.read_bytes()
        lines = raw.split(b"\n")
        for lineno, line in enumerate(lines, 1):
            if not line.strip():
                continue
            torn = lineno == len(lines)  # no newline after it: the write never finished
            try:
                data = json.loads(line)
                if not isinstance(data, dict):
                    raise ValueError("not an object")
                if data.get("type") == "game":
                    header = data
                elif data.get("type") == "turn":
                    records.append(TurnRecord.from_json(data))
            except (ValueError, KeyError, TypeError) as exc:
                what = "torn last line" if torn else f"unreadable line {lineno}"
                warnings.append(f"{journal}: {what} ignored ({exc})")
                log.warning("%s: %s ignored", journal, what)
        if not header:
            warnings.append(f"{journal}: no game header; using defaults")
            header = {"type": "game", "prompt": records[0].input if records else ""}
        return cls(path, header, records, warnings)

    def image_path(self, name: str) -> Path:
        return self.path / name

    def save_image(self, name: str, data: bytes) -> Path:
        """Write image bytes as received, atomically (temp + fsync + rename)."""
        target = self.path / name
        tmp = target.with_name(f".{name}.tmp")
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        _fsync_dir(self.path)
        return target

    def append(self, record: TurnRecord) -> None:
        """Append one journal line, flushed and fsynced before returning."""
        record = redact_record(record)  # defence in depth: the engine has already redacted
        self._append_line(record.to_json())
        self.records.append(record)

    def _append_line(self, data: Mapping[str, Any]) -> None:
        line = json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"
        self._cut_torn_tail()
        with open(self.journal, "ab") as fh:
            fh.write(line.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())

    def _cut_torn_tail(self) -> None:
        """Drop a partial last line left by a crash, so the next line starts clean."""
        if self._tail_checked:
            return
        self._tail_checked = True
        try:
            with open(self.journal, "rb+") as fh:
                fh.seek(0, os.SEEK_END)
                size = fh.tell()
                if size == 0:
                    return
                fh.seek(size - 1)
                if fh.read(1) == b"\n":
                    return
                fh.seek(0)
                data = fh.read()
                keep = data.rfind(b"\n") + 1
                if _whole_object(data[keep:]):
                    # Only the newline was lost: open() kept this record, so keep it too.
                    fh.seek(0, os.SEEK_END)
                    fh.write(b"\n")
                    fh.flush()
                    os.fsync(fh.fileno())
                    return
                fh.truncate(keep)
                fh.flush()
                os.fsync(fh.fileno())
                log.warning("%s: cut a torn last line (%d bytes)", self.journal, size - keep)
        except FileNotFoundError:
            return

    def summary(self) -> GameSummary:
        spent, unknown = total_cost(self.records)
        return GameSummary(
            name=self.name,
            path=self.path,
            prompt=self.first_prompt,
            created=str(self.header.get("created", "")),
            rounds=rounds_done(self.records),
            turns=len(self.records),
            failed=sum(1 for r in self.records if not r.ok),
            spent=spent,
            unknown_cost_turns=unknown,
        )


@dataclass(frozen=True)
class GameSummary:
    """One line of ``telestrations games``."""

    name: str
    path: Path
    prompt: str
    created: str
    rounds: int
    turns: int
    failed: int
    spent: float
    unknown_cost_turns: int


class Store:
    """The games folder under the data dir. Directories are created on first write only."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.games_dir = root / "games"

    def new_game(
        self, prompt: str, settings: Mapping[str, Any], *, now: datetime | None = None
    ) -> GameDir:
        """Create ``<start time>-<slug>`` with its header line written and fsynced."""
        now = now or datetime.now(UTC)
        self.games_dir.mkdir(parents=True, exist_ok=True)
        stamp = now.astimezone().strftime("%Y%m%d-%H%M%S")
        base = f"{stamp}-{slugify(prompt)}"
        path = self.games_dir / base
        n = 1
        while True:
            try:
                path.mkdir()
                break
            except FileExistsError:
                n += 1
                path = self.games_dir / f"{base}-{n}"
        from telestrations import __version__

        header = {
            "v": SCHEMA_VERSION,
            "type": "game",
            "id": path.name,
            "created": now.isoformat(timespec="seconds"),
            "prompt": prompt,
            "settings": dict(settings),
            "app": f"telestrations {__version__}",
        }
        header = scrub_json(header)  # a prompt or setting may quote a key: never on disk
        game = GameDir(path, header, _tail_checked=True)
        game._append_line(header)
        _fsync_dir(self.games_dir)
        return game

    def list(self) -> list[GameSummary]:
        """Every readable game, newest first."""
        if not self.games_dir.is_dir():
            return []
        out = []
        for child in sorted(self.games_dir.iterdir(), reverse=True):
            if (child / JOURNAL).is_file():
                try:
                    out.append(GameDir.open(child).summary())
                except OSError as exc:
                    log.warning("cannot read %s: %s", child, exc)
        return out

    def find(self, ref: str) -> Path:
        """A game by path, folder name, unique prefix or substring, or ``last``."""
        candidate = Path(ref).expanduser()
        if (candidate / JOURNAL).is_file():
            return candidate
        names = (
            sorted(p.name for p in self.games_dir.iterdir() if (p / JOURNAL).is_file())
            if self.games_dir.is_dir()
            else []
        )
        if not names:
            raise GameNotFound(f"no games yet in {self.games_dir}")
        if ref == "last":
            return self.games_dir / names[-1]
        if ref in names:
            return self.games_dir / ref
        matches = [n for n in names if n.startswith(ref)] or [n for n in names if ref in n]
        if len(matches) == 1:
            return self.games_dir / matches[0]
        if matches:
            raise GameNotFound(f"{ref!r} matches {len(matches)} games: {', '.join(matches[:5])}")
        raise GameNotFound(
            f"no game {ref!r} in {self.games_dir} (see `telestrations games`; 'last' works too)"
        )


def utc_now() -> str:
    """ISO 8601 UTC with milliseconds, for turn start/finish times."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def monotonic() -> float:
    return time.monotonic()
