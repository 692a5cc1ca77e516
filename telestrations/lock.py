"""One writer per game folder: an exclusive ``flock`` on its ``.lock`` file.

The file holds the holder's pid and subcommand so a second process can say who has the game;
the kernel drops the lock when the process dies (kill -9 included), so a stale file never
blocks a resume. Kept apart from the store so the journal code reads on its own.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import IO

from telestrations.text import clean

LOCK = ".lock"


class GameLocked(RuntimeError):
    """Another process is playing this game; the message names it (pid and command)."""


def take_lock(folder: Path) -> IO[str]:
    """Hold ``folder``'s writer lock (close the returned file to let go), or raise
    :class:`GameLocked` naming the holder."""
    import fcntl

    fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    fh = os.fdopen(fd, "r+", encoding="utf-8")
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        holder = clean(fh.read(500), oneline=True, limit=120) or "another process"
        fh.close()
        raise GameLocked(f"game {folder.name} is being played by {holder}") from None
    except BaseException:
        fh.close()
        raise
    try:
        fh.seek(0)
        fh.truncate()
        fh.write(f"process {os.getpid()} ({command_line()})\n")
        fh.flush()
    except OSError:  # a full disk: the lock itself still holds
        pass
    return fh


def is_held(folder: Path) -> bool:
    """Some process holds ``folder``'s writer lock now (a folder without a lock file: no)."""
    import fcntl

    try:
        fd = os.open(folder / LOCK, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
    return False


def remove_stale_temps(folder: Path) -> None:
    """Temp files of writes a kill interrupted: only the writer (the lock holder) makes them."""
    try:
        with os.scandir(folder) as it:
            stale = [e.path for e in it if e.name.startswith(".") and e.name.endswith(".tmp")]
    except OSError:
        return
    for path in stale:
        with contextlib.suppress(OSError):
            os.unlink(path)


def command_line() -> str:
    """``telestrations run`` or ``telestrations`` (the app): which program holds the game.
    Only the subcommand, never the arguments (a prompt or URL is not for other eyes)."""
    commands = {"run", "batch", "draw", "describe", "models", "games", "export", "keys"}
    sub = next((a for a in sys.argv[1:] if a in commands), "")
    return f"telestrations {sub}".strip()
