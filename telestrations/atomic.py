"""One way to replace a file whole: a temp file unique to this write, fsync, rename, fsync
the folder. A crash or a full disk leaves either the old file or the new one, never half of
one, and two writers (or two writes of one process) never share a temp file.

No Textual import: the store, keys, state and thumbnails can all use it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path


def fsync_dir(path: Path) -> None:
    """Make a rename or a new entry in ``path`` durable (best effort: not every OS can)."""
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


def temp_name(target: Path) -> Path:
    """``.<name>.<pid>.<random>.tmp`` beside ``target``: hidden, and unique per write."""
    return target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def write_all(fd: int, data: bytes) -> None:
    """``os.write`` until every byte is written (a short write is not an error)."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        if n <= 0:  # pragma: no cover (a regular file never returns 0 for a non-empty write)
            raise OSError(5, "short write")
        view = view[n:]


def write_atomic(target: Path, data: bytes, mode: int = 0o644, *, sync: bool = True) -> Path:
    """Replace ``target`` with ``data``: created with ``mode`` from the first byte, fsynced,
    renamed into place, folder fsynced. On any failure the temp file is removed and
    ``target`` is untouched.

    ``sync=False`` skips both fsyncs, for a cache that can be made again (thumbnails): still
    never half a file under the name, but a crash may lose the newest copy."""
    tmp = temp_name(target)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        try:
            write_all(fd, data)
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if sync:
        fsync_dir(target.parent)
    return target
