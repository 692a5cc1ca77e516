"""One folder per game: the images as received, plus an append-only JSON Lines journal.

Crash safety: an image is written (temp file, fsync, rename) before the journal line that
names it, and each journal line is flushed and fsynced, so a crash loses at most the turn in
flight. A torn last line (a crash mid-write) is ignored on load with a warning and cut off
before the next append, so it never corrupts what follows. A write that fails half-way (disk
full) is cut back to where it began before the error is raised, so a retry starts on a clean
line. A new game is made in a hidden folder and renamed into place once its header is on disk.

One writer: a process that plays a game holds an exclusive lock on its ``.lock`` file (with
its pid and command line in it, see :mod:`telestrations.lock`); a second one gets
:class:`GameLocked` naming the first.
Reading (list, export, the games screen) takes no lock.

All methods here are blocking; the engine calls them through ``asyncio.to_thread``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import re
import secrets
import threading
import time
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from telestrations.atomic import fsync_dir, write_all, write_atomic
from telestrations.lock import LOCK as LOCK  # re-exported: callers import them from here
from telestrations.lock import GameLocked as GameLocked
from telestrations.lock import is_held, remove_stale_temps, take_lock
from telestrations.text import clean, scrub_json
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


def safe_name(name: str) -> bool:
    """True for a plain file name inside the game folder (no path, no ``..``, not hidden)."""
    return (
        bool(name)
        and name == os.path.basename(name)
        and not name.startswith(".")
        and ("\\" not in name and "\0" not in name)
    )


def slugify(text: str, limit: int = 40) -> str:
    """A file-name-safe slug of the first prompt ("A red house!" → "a-red-house")."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "game"


def _whole_object(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


@dataclass
class _Tally:
    """What the status line asks of a journal, kept as it grows, so a 10,000-round game is not
    walked twice a turn: records counted, rounds done, known USD, turns of unknown cost."""

    source: object = None
    """The list counted (a journal replaced by another list is counted afresh)."""
    records: int = 0
    rounds: int = 0
    known: float = 0.0
    unknown: int = 0


@dataclass
class GameDir:
    """A game folder: header, the turns so far, and the warnings met while loading."""

    path: Path
    header: dict[str, Any]
    records: list[TurnRecord] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    branches: list[Branch] = field(default_factory=list)
    """The games branched from this one (``branch`` lines of its journal), oldest first."""
    _tail_checked: bool = False
    _good_size: int | None = None
    """Set when a failed append could not be cut back: the journal's last good length."""
    _lock: IO[str] | None = field(default=None, repr=False)
    _tally: _Tally = field(default_factory=_Tally, repr=False, compare=False)
    _tally_lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    """The engine's thread and the app's both ask (a spending cap, the status line)."""

    @property
    def name(self) -> str:
        return self.path.name

    def _counted(self) -> tuple[int, float, int]:
        with self._tally_lock:
            tally = self._count()
            return tally.rounds, tally.known, tally.unknown

    def _count(self) -> _Tally:
        tally, records = self._tally, self.records
        if tally.source is not records or len(records) < tally.records:  # not one that grew
            tally = self._tally = _Tally(records)
        for r in records[tally.records :]:
            if r.ok and r.kind == "describe":
                tally.rounds = max(tally.rounds, r.round)
            if r.cost is not None:
                tally.known += r.cost
            elif r.ok:
                tally.unknown += 1
        tally.records = len(records)
        return tally

    @property
    def rounds_done(self) -> int:
        """:func:`~telestrations.turns.rounds_done` of the journal, counted as it grows."""
        return self._counted()[0]

    @property
    def spent(self) -> tuple[float, int]:
        """:func:`~telestrations.turns.total_cost` of the journal, counted as it grows."""
        _, known, unknown = self._counted()
        return known, unknown

    @property
    def first_prompt(self) -> str:
        """The text origin of the chain: the first prompt, or (a game started from a picture)
        the caption of that picture, round 0, once it exists."""
        prompt = str(self.header.get("prompt", ""))
        if prompt or not self.start_image:
            return prompt
        origin = next(
            (r for r in self.records if r.ok and r.kind == "describe" and r.round == 0), None
        )
        return origin.output if origin is not None else ""

    @property
    def start_image(self) -> str:
        """The picture file a game started from (its round 0), or "" for a text start."""
        start = self.header.get("start_image")
        return str(start.get("file", "")) if isinstance(start, Mapping) else ""

    @property
    def parent(self) -> Branch | None:
        """The game and round this game was branched from, as its header keeps it."""
        return Branch.of(self.header.get("parent"))

    @property
    def journal(self) -> Path:
        return self.path / JOURNAL

    @classmethod
    def open(cls, path: Path) -> GameDir:
        """Load a game; a torn or unreadable line is skipped with a warning, never fatal.

        An image name that points outside the folder (a path, ``..``, a symlink leading out)
        is dropped from its record, so nothing reads or copies a file outside the game; a
        missing picture gets a warning (the round is drawn again when the game goes on)."""
        journal = path / JOURNAL
        if not journal.is_file():
            raise GameNotFound(f"{path} is not a telestrations game (no {JOURNAL})")
        header: dict[str, Any] = {}
        records: list[TurnRecord] = []
        warnings: list[str] = []
        branches: list[Branch] = []
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
                elif data.get("type") == "branch" and (note := Branch.of(data)) is not None:
                    branches.append(note)
            except (ValueError, KeyError, TypeError) as exc:
                what = "torn last line" if torn else f"unreadable line {lineno}"
                warnings.append(f"{journal}: {what} ignored ({exc})")
                log.warning("%s: %s ignored", journal, what)
        if not header:
            warnings.append(f"{journal}: no game header; using defaults")
            header = {"type": "game", "prompt": records[0].input if records else ""}
        records = _confine_images(path, records, warnings)
        return cls(path, header, records, warnings, branches)

    def image_path(self, name: str) -> Path:
        return self.path / name

    def has_image(self, name: str) -> bool:
        """``name`` is a regular file inside this folder (not a link leading out of it)."""
        return self.picture_file(name) is not None

    def picture_file(self, name: str) -> Path | None:
        """The path of image ``name`` if it is safe to read, else None (missing or outside)."""
        if not safe_name(name):
            return None
        target = self.path / name
        try:
            real = target.resolve(strict=True)
            if not real.is_file() or real.parent != self.path.resolve():
                return None
        except (OSError, RuntimeError):
            return None
        return target

    def read_image(self, name: str) -> bytes:
        """The bytes of image ``name``; FileNotFoundError when missing or outside the folder."""
        target = self.picture_file(name)
        if target is None:
            raise FileNotFoundError(
                errno.ENOENT, "the picture is missing from the game folder", name
            )
        return target.read_bytes()

    def save_image(self, name: str, data: bytes) -> Path:
        """Write image bytes as received, atomically (unique temp + fsync + rename)."""
        if not safe_name(name):
            raise ValueError(f"not a plain file name: {name!r}")
        return write_atomic(self.path / name, data)

    def append(self, record: TurnRecord) -> None:
        """Append one journal line, fsynced before returning; all of it or none of it."""
        record = redact_record(record)  # defence in depth: the engine has already redacted
        self._append_line(record.to_json())
        self.records.append(record)

    def note_branch(self, child: str, round_no: int) -> Branch:
        """Append a ``branch`` line naming a game branched from this one at ``round_no``
        (readers that predate it skip lines of an unknown type)."""
        note = Branch(child, round_no, datetime.now(UTC).isoformat(timespec="seconds"))
        self._append_line({"v": SCHEMA_VERSION, "type": "branch", **note.to_json("game")})
        self.branches.append(note)
        return note

    def _append_line(self, data: Mapping[str, Any]) -> None:
        """Write the whole line on an O_APPEND fd; on any failure cut the file back to its
        length before the write, so a retry never glues a line onto a fragment. If even the
        cut fails, remember the good length and cut back to it before the next append."""
        line = (json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        self._cut_torn_tail()
        fd = os.open(self.journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            if self._good_size is not None:
                os.ftruncate(fd, self._good_size)
                self._good_size = None
            start = os.fstat(fd).st_size
            try:
                write_all(fd, line)
                os.fsync(fd)
            except BaseException:
                try:
                    os.ftruncate(fd, start)
                    os.fsync(fd)
                except OSError:
                    self._good_size = start
                    log.warning("%s: cannot cut back a failed write yet", self.journal)
                raise
        finally:
            os.close(fd)

    def _cut_torn_tail(self) -> None:
        """Drop a partial last line left by a crash, so the next line starts clean."""
        if self._tail_checked:
            return
        try:
            with open(self.journal, "rb+") as fh:
                fh.seek(0, os.SEEK_END)
                size = fh.tell()
                if size == 0:
                    self._tail_checked = True
                    return
                fh.seek(size - 1)
                if fh.read(1) == b"\n":
                    self._tail_checked = True
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
                    self._tail_checked = True
                    return
                fh.truncate(keep)
                fh.flush()
                os.fsync(fh.fileno())
                log.warning("%s: cut a torn last line (%d bytes)", self.journal, size - keep)
        except FileNotFoundError:
            pass
        self._tail_checked = True

    # -- one writer ------------------------------------------------------------------------

    @property
    def locked(self) -> bool:
        """This object holds the game's writer lock."""
        return self._lock is not None

    def lock(self) -> None:
        """Become the game's only writer, or raise :class:`GameLocked` naming the holder;
        then clear the temp files an interrupted writer left."""
        if self._lock is not None:
            return
        self._lock = take_lock(self.path)
        remove_stale_temps(self.path)

    def unlock(self) -> None:
        """Let another process play this game (the lock file stays; it is only a name)."""
        fh, self._lock = self._lock, None
        if fh is not None:
            fh.close()

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
            parent=self.parent,
            branches=tuple(self.branches),
            start_image=self.start_image,
        )


def _confine_images(path: Path, records: list[TurnRecord], warnings: list[str]) -> list[TurnRecord]:
    """Records whose image names stay inside ``path``; a name leading out is blanked."""
    try:
        with os.scandir(path) as it:
            entries = {e.name: e.is_symlink() for e in it}
    except OSError:
        entries = {}
    real = path.resolve()
    outside: dict[str, bool] = {}

    def escapes(name: str) -> bool:
        if name not in outside:
            bad = not safe_name(name)
            if not bad and entries.get(name):
                with contextlib.suppress(OSError, RuntimeError):
                    bad = (path / name).resolve().parent != real
            outside[name] = bad
        return outside[name]

    out: list[TurnRecord] = []
    for r in records:
        bad_image = bool(r.image) and escapes(r.image)
        bad_output = r.kind == "draw" and bool(r.output) and escapes(r.output)
        if bad_image or bad_output:
            bad = r.output if bad_output else r.image
            warnings.append(
                f"{path / JOURNAL}: turn {r.seq} names a picture outside the game folder "
                f"({clean(bad, oneline=True, limit=80)}); ignored"
            )
            r = replace(
                r,
                image="" if bad_image else r.image,
                output="" if bad_output else r.output,
            )
        out.append(r)
    pending = next((r for r in reversed(out) if r.ok), None)
    if pending is not None and pending.kind == "draw" and pending.output not in entries:
        shown = clean(pending.output, oneline=True, limit=80) or "a name outside the folder"
        warnings.append(
            f"{path}: the picture of round {pending.round} is missing ({shown}); "
            f"round {pending.round} will be drawn again"
        )
    return out


@dataclass(frozen=True)
class Branch:
    """A link between two games: ``game`` (the parent in a header, the child in a note) and
    the round the branch was taken at (the child holds the parent's rounds 1..``round``)."""

    game: str
    round: int
    created: str = ""

    @classmethod
    def of(cls, data: object) -> Branch | None:
        """From a header's ``parent`` table or a ``branch`` journal line; None if malformed."""
        if not isinstance(data, Mapping):
            return None
        game, rnd = data.get("game"), data.get("round")
        if not isinstance(game, str) or not game or not isinstance(rnd, int):
            return None
        return cls(game, rnd, str(data.get("created", "")))

    def to_json(self, key: str = "game") -> dict[str, Any]:
        return {key: self.game, "round": self.round, "created": self.created}

    def describe(self, direction: str = "from") -> str:
        """``from GAME round N`` (or ``to GAME at round N``), cleaned for a terminal."""
        name = clean(self.game, oneline=True, limit=80)
        if direction == "from":
            return f"from {name} round {self.round}"
        return f"branched at round {self.round} to {name}"


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
    parent: Branch | None = None
    branches: tuple[Branch, ...] = ()
    start_image: str = ""

    @property
    def links(self) -> str:
        """How the game ties to others: ``from GAME round 3; 2 branches`` ("" when not)."""
        parts = []
        if self.start_image:
            parts.append("started from a picture")
        if self.parent is not None:
            parts.append(self.parent.describe())
        if self.branches:
            n = len(self.branches)
            parts.append(f"{n} branch{'es' * (n != 1)}")
        return "; ".join(parts)


ABANDONED_AFTER = 3600.0
"""Seconds after which a hidden ``.new-*`` folder nobody holds is an abandoned creation."""


class Store:
    """The games folder under the data dir. Directories are created on first write only."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.games_dir = root / "games"

    def new_game(
        self,
        prompt: str,
        settings: Mapping[str, Any],
        *,
        now: datetime | None = None,
        lock: bool = False,
        header: Mapping[str, Any] | None = None,
        records: Sequence[TurnRecord] = (),
        images: Mapping[str, bytes] | None = None,
        slug: str = "",
    ) -> GameDir:
        """Create ``<start time>-<slug>`` with its header line written and fsynced.

        The folder is made hidden (``.new-…``) and renamed into place only once the header is
        on disk, so a failure (full disk, a kill) never leaves a half-made game that the list
        shows or ``--resume last`` picks. ``lock``: take the writer lock before it appears.
        ``header`` adds fields to the header line (a parent link, a start picture);
        ``images`` and ``records`` (a branch's copied rounds) are written in the hidden folder
        too, so the game appears whole or not at all."""
        now = now or datetime.now(UTC)
        self.games_dir.mkdir(parents=True, exist_ok=True)
        self.sweep_abandoned()
        stamp = now.astimezone().strftime("%Y%m%d-%H%M%S")
        base = f"{stamp}-{slugify(slug or prompt)}"
        tmp = self.games_dir / f".new-{os.getpid()}-{secrets.token_hex(4)}"
        tmp.mkdir()
        game: GameDir | None = None
        try:
            from telestrations import __version__

            for image_name, data in (images or {}).items():
                if not safe_name(image_name):
                    raise ValueError(f"not a plain file name: {image_name!r}")
                write_atomic(tmp / image_name, data)
            kept = [redact_record(r) for r in records]
            body = "".join(
                json.dumps(r.to_json(), ensure_ascii=False, separators=(",", ":")) + "\n"
                for r in kept
            )

            n = 1
            while True:
                name = base if n == 1 else f"{base}-{n}"
                path = self.games_dir / name
                if path.exists():
                    n += 1
                    continue
                head = {
                    "v": SCHEMA_VERSION,
                    "type": "game",
                    "id": name,
                    "created": now.isoformat(timespec="seconds"),
                    "prompt": prompt,
                    "settings": dict(settings),
                    "app": f"telestrations {__version__}",
                    **dict(header or {}),
                }
                head = scrub_json(head)  # a prompt or setting may quote a key: never on disk
                line = json.dumps(head, ensure_ascii=False, separators=(",", ":")) + "\n"
                write_atomic(tmp / JOURNAL, (line + body).encode())
                if game is None:
                    game = GameDir(tmp, head, list(kept), _tail_checked=True)
                    if lock:
                        game.lock()
                game.header = head
                try:
                    os.rename(tmp, path)
                except OSError as exc:  # made by another process since: the next name
                    if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY) or n > 1000:
                        raise
                    n += 1
                    continue
                break
        except BaseException:
            if game is not None:
                game.unlock()
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
            raise
        fsync_dir(self.games_dir)
        game.path = path
        return game

    def sweep_abandoned(self, older_than: float = ABANDONED_AFTER) -> list[str]:
        """Remove the hidden ``.new-*`` folders of game creations a kill cut short, once they
        are ``older_than`` seconds old and no live process holds their lock (the kernel drops
        a dead process's ``flock``). Never fails: a folder that cannot go now is left."""
        import shutil

        removed: list[str] = []
        try:
            found = [p for p in self.games_dir.iterdir() if p.name.startswith(".new-")]
        except OSError:
            return removed
        now = time.time()
        for path in found:
            try:
                st = path.lstat()
            except OSError:
                continue
            if not os.path.isdir(path) or os.path.islink(path) or now - st.st_mtime < older_than:
                continue
            if is_held(path):
                continue
            shutil.rmtree(path, ignore_errors=True)
            if not path.exists():
                removed.append(path.name)
                log.info("removed %s, a game creation that never finished", path.name)
        return removed

    def _games(self) -> list[str]:
        """Names of complete games (not hidden, with a header line), oldest first."""
        if not self.games_dir.is_dir():
            return []
        return sorted(
            p.name
            for p in self.games_dir.iterdir()
            if not p.name.startswith(".") and _has_header(p)
        )

    def list(self) -> list[GameSummary]:
        """Every readable game, newest first (abandoned creations are swept first)."""
        self.sweep_abandoned()
        out = []
        for name in reversed(self._games()):
            try:
                out.append(GameDir.open(self.games_dir / name).summary())
            except (OSError, LookupError) as exc:
                log.warning("cannot read %s: %s", name, exc)
        return out

    def find(self, ref: str) -> Path:
        """A game by path, folder name, unique prefix or substring, or ``last``."""
        if not ref.strip():
            raise GameNotFound("no game named (an empty name); give a name, a path or 'last'")
        candidate = Path(ref).expanduser()
        if (candidate / JOURNAL).is_file():
            if not _has_header(candidate):
                raise GameNotFound(
                    f"{candidate} has no game header (a game that was never fully created)"
                )
            return candidate
        names = self._games()
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


def _has_header(folder: Path) -> bool:
    """The journal's first line is a game header: the folder is a whole game."""
    try:
        with open(folder / JOURNAL, "rb") as fh:
            first = fh.readline(1 << 20)
    except OSError:
        return False
    try:
        data = json.loads(first)
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("type") == "game"


def utc_now() -> str:
    """ISO 8601 UTC with milliseconds, for turn start/finish times."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def monotonic() -> float:
    return time.monotonic()
