"""Thumbnails made in child processes, beside the game and the UI.

Decoding and reducing a 1024² PNG takes 20-40 ms of CPU. In a thread of this process that
CPU holds the interpreter lock the game's engine and the UI need as well, so every thumbnail
delayed the round's next request and the screen (``bench/round_overhead.py``). A child
process does it on another core and sends back only the small result
(:class:`~telestrations.tui.thumbnail.Cells` or :class:`~telestrations.tui.thumbnail.Pixels`).

The children are plain ``python -I`` processes reading requests on their stdin, not a
``multiprocessing`` pool: nothing of theirs can reach the terminal the UI draws on (their
stdout carries only answers, their stderr is null), they leave as soon as the app is gone
(their stdin ends, even when the app was killed), and the app's own ``__main__`` is never
imported again. A decoder that crashes on a hostile picture, or a child the kernel kills,
takes no more than that child: the picture is asked of the next one (a new one at the
end), then its card says the picture is unavailable. Where no child can be started,
thumbnails are made in a thread.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

from telestrations.tui.thumbnail import Cells, Pixels, make

log = logging.getLogger(__name__)

WORKERS = 2
"""Children at most: a resize remakes every card in view at once, two at a time."""
PATIENCE = 60.0
"""Seconds a child may take over one thumbnail before it is taken for stuck and stopped."""

_HEAD = struct.Struct(">I")


def _send(out: IO[bytes], value: object) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_HEAD.pack(len(data)) + data)
    out.flush()


def _receive(source: IO[bytes]) -> Any:
    """The next message, or ``EOFError`` when the other side is gone."""
    head = source.read(_HEAD.size)
    if len(head) < _HEAD.size:
        raise EOFError
    size = _HEAD.unpack(head)[0]
    data = source.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


def serve() -> None:
    """The child's loop: a request on stdin, its answer on the original stdout, until stdin
    ends. Anything else the child would print goes to null, never to the app's terminal."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # ^C is the app's to handle
    answers = os.fdopen(os.dup(1), "wb")
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.close(null)
    requests = sys.stdin.buffer
    while True:
        try:
            args = _receive(requests)
        except EOFError:
            return
        if args is None:  # the parent's first word: are you there?
            _send(answers, ("ok", None))
            continue
        try:
            reply: tuple[str, object] = ("ok", make(*args))
        except OSError as exc:
            reply = ("os", str(exc) or type(exc).__name__)
        except Exception as exc:  # a picture Pillow cannot take: the card says why
            reply = ("value", f"{type(exc).__name__}: {exc}")
        _send(answers, reply)


class _Stopped(Exception):
    """The child died (or could not be talked to) while making a thumbnail."""


def child_command() -> list[str]:
    """This interpreter running :func:`serve`. ``-I``: no ``PYTHON*`` variables, no user
    site, not the current folder (a stray ``PIL.py`` there must not be imported); the app's
    own path instead, so the same packages are found."""
    code = (
        f"import sys; sys.path[:] = {[p for p in sys.path if p]!r}; "
        "from telestrations.tui.thumbnailer import serve; serve()"
    )
    return [sys.executable, "-I", "-c", code]


class _Child:
    """One child process and its two pipes."""

    def __init__(self, command: list[str]) -> None:
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )

    def call(self, args: tuple[object, ...] | None) -> tuple[str, object]:
        process = self.process
        assert process.stdin is not None and process.stdout is not None
        try:
            _send(process.stdin, args)
            ready, _, _ = select.select([process.stdout], [], [], PATIENCE)
            if not ready:  # a picture that never finishes decoding: do not wait for ever
                process.kill()
            reply: tuple[str, object] = _receive(process.stdout)
        except (OSError, EOFError, pickle.UnpicklingError, ValueError) as exc:
            self.stop()
            raise _Stopped(f"exit status {process.poll()}") from exc
        return reply

    def stop(self) -> None:
        for pipe in (self.process.stdin, self.process.stdout):
            try:
                if pipe is not None:
                    pipe.close()
            except OSError:
                pass
        try:
            self.process.wait(timeout=1.0)  # its stdin has ended: it leaves at once
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Thumbnailer:
    """Makes thumbnails in child processes; in a thread where there can be none."""

    def __init__(self, workers: int = WORKERS, command: list[str] | None = None) -> None:
        self._workers = max(1, min(workers, os.cpu_count() or 1))
        self._command = command or child_command()
        # The threads that wait on the children: blocked on a pipe, they hold no lock.
        self._threads = ThreadPoolExecutor(self._workers, thread_name_prefix="thumbnailer")
        self._idle: list[_Child] = []
        self._all: list[_Child] = []
        self._lock = threading.Lock()
        self._no_children = False

    def _take(self) -> _Child | None:
        with self._lock:
            while self._idle:
                child = self._idle.pop()
                if child.process.poll() is None:
                    return child
                self._all.remove(child)  # died while idle (killed): not this picture's fault
            if self._no_children:
                return None
        try:
            child = _Child(self._command)
            # Before any picture: a child that cannot even answer this (no Python, no
            # package) means none will, and pictures are made here; a child that dies later
            # died on a picture.
            child.call(None)
        except (OSError, _Stopped) as exc:
            log.warning("thumbnails are made in a thread: no child process (%s)", exc)
            self._no_children = True
            return None
        with self._lock:
            self._all.append(child)
        return child

    def _give(self, child: _Child) -> None:
        with self._lock:
            self._idle.append(child)

    def _drop(self, child: _Child) -> None:
        child.stop()
        with self._lock:
            if child in self._all:
                self._all.remove(child)

    def _run(self, args: tuple[object, ...]) -> tuple[str, object]:
        """In one of our threads: the answer of an idle (or new) child."""
        child = self._take()
        if child is None:
            try:
                return ("ok", make(*args))  # type: ignore[arg-type]
            except OSError as exc:
                return ("os", str(exc))
            except Exception as exc:
                return ("value", f"{type(exc).__name__}: {exc}")
        try:
            reply = child.call(args)
        except _Stopped:
            self._drop(child)
            raise
        self._give(child)
        return reply

    def warm(self) -> None:
        """Start the children now, so the first thumbnail does not wait for one. Blocking
        (a process start): call it from a thread. Children are only ever started on this
        object's own threads, so there are never more than it has threads."""
        for started in [self._threads.submit(self._warm_one) for _ in range(self._workers)]:
            started.result()

    def _warm_one(self) -> None:
        child = self._take()
        if child is not None:
            self._give(child)

    def pids(self) -> list[int]:
        """The children's process ids (for tests and the bench)."""
        with self._lock:
            return sorted(child.process.pid for child in self._all)

    async def make(
        self, game_path: Path, image_name: str, width: int, height: int, *, cells: bool
    ) -> Cells | Pixels:
        """The thumbnail of ``image_name`` at ``width``×``height`` pixels. Raises
        :class:`OSError` or :class:`ValueError` with the reason the picture cannot be shown."""
        args = (str(game_path), image_name, width, height, cells)
        loop = asyncio.get_running_loop()
        # Every idle child may have been killed a moment ago (and still look alive), then
        # one new child: a picture that kills that one too is the picture's fault.
        tries = self._workers + 1
        for attempt in range(tries):
            try:
                kind, value = await loop.run_in_executor(self._threads, self._run, args)
            except _Stopped as exc:
                if attempt == tries - 1:
                    raise OSError("the picture's decoder stopped (crashed or killed)") from exc
                log.warning("a thumbnail process stopped (%s); asking a new one", exc)
                continue
            if kind == "ok":
                assert isinstance(value, Cells | Pixels)
                return value
            raise (OSError if kind == "os" else ValueError)(str(value))
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Stop the children (an idle one leaves at once; a busy one once it answers)."""
        with self._lock:
            children, self._all, self._idle = self._all, [], []
        for child in children:
            child.stop()


_shared: Thumbnailer | None = None
_shared_lock = threading.Lock()


def thumbnailer() -> Thumbnailer:
    """The process's thumbnailer: one set of children for every card and every app."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Thumbnailer()
            # The app closes it when it ends (run_app); anything else that used it (a test's
            # pilot, an embedding) still stops its children before the interpreter goes,
            # instead of leaving them to Popen's "still running" warning and their stdin's end.
            atexit.register(_shared.close)
        return _shared
