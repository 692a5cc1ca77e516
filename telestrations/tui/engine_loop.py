"""The game engine's own asyncio loop, in a thread beside Textual's.

On the app's loop the engine waited for every compositor pass (tens of milliseconds each:
layout, cards, thumbnails) before it could read a provider's answer or send the next
request, so a fast game spent more time waiting for the UI than for its models. On a loop of
its own the next request goes out while the UI draws the last turn: the engine shares only
the interpreter with the UI, and the UI hears of each turn as before, through
``post_message`` (thread-safe and in order), after the turn is on disk.

What crosses the boundary: :meth:`EngineLoop.run` starts a coroutine there and waits for it
here (cancelling the wait cancels it there, and still waits until it has ended, so whatever
it finished is kept first); :meth:`~telestrations.game.Game.pause` and ``stop`` hand their
asyncio work to the game's loop themselves; settings and limits are replaced whole
(one attribute store). Providers keep one HTTP pool per loop
(:class:`~telestrations.providers.http.HttpClient`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

SWITCH_INTERVAL = 0.001
"""Seconds the interpreter lets one thread run before another that waits may take over
(Python's default is 0.005). While the UI lays out a screen the engine wants the interpreter
for a few moments per turn (read an answer, send the next request): it gets it within a
millisecond, not five. Set while the engine thread lives."""

STOP_WAIT = 5.0
"""Seconds :meth:`EngineLoop.close` waits for the thread to end (it is a daemon thread: a
write that hangs never keeps the process alive)."""


class EngineLoop:
    """A loop in a daemon thread, started on first use, ended by :meth:`close`."""

    def __init__(self, name: str = "telestrations-engine") -> None:
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._switch: float | None = None

    @property
    def started(self) -> bool:
        return self._loop is not None and not self._loop.is_closed()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The engine's loop (starting its thread if needed)."""
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                self._start()
            assert self._loop is not None
            return self._loop

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def _start(self) -> None:
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def main() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            try:
                loop.run_forever()
            finally:
                _finish(loop)

        thread = threading.Thread(target=main, name=self.name, daemon=True)
        thread.start()
        ready.wait()
        self._loop, self._thread = loop, thread
        if self._switch is None:
            self._switch = sys.getswitchinterval()
            sys.setswitchinterval(min(self._switch, SWITCH_INTERVAL))

    async def run(self, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run ``make()`` on the engine loop; its result or exception comes back here.

        Cancelling this cancels it there and waits until it has ended (a turn being written
        finishes, and its event is posted first), then raises :class:`CancelledError`."""
        here = asyncio.get_running_loop()
        there = self.loop
        done: asyncio.Future[asyncio.Task[T]] = here.create_future()
        box: list[asyncio.Task[T]] = []

        def finished(task: asyncio.Task[T]) -> None:  # on the engine loop
            def resolve() -> None:
                if not done.done():
                    done.set_result(task)

            try:
                here.call_soon_threadsafe(resolve)
            except RuntimeError:  # the app's loop has closed: nobody waits any more
                pass

        def start() -> None:  # on the engine loop
            task = there.create_task(make())
            box.append(task)
            task.add_done_callback(finished)

        def cancel() -> None:  # on the engine loop, after start() (callbacks run in order)
            if box:
                box[0].cancel()

        there.call_soon_threadsafe(start)
        try:
            await asyncio.shield(done)
        except asyncio.CancelledError:
            with contextlib.suppress(RuntimeError):  # a closed engine loop ran nothing more
                there.call_soon_threadsafe(cancel)
            while not done.done() and not there.is_closed():
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.shield(done)
            raise
        task = done.result()
        if task.cancelled():
            raise asyncio.CancelledError
        return task.result()

    def close(self) -> None:
        """End the loop: tasks still there are cancelled and waited for (a turn being
        written is kept), then the thread ends; waits :data:`STOP_WAIT` at most."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
            if self._switch is not None:
                sys.setswitchinterval(self._switch)
                self._switch = None
        if loop is None or thread is None:
            return
        with contextlib.suppress(RuntimeError):  # closed already
            loop.call_soon_threadsafe(loop.stop)
        if thread is not threading.current_thread():
            thread.join(STOP_WAIT)
            if thread.is_alive():
                log.warning("the game loop did not end within %gs", STOP_WAIT)


def _finish(loop: asyncio.AbstractEventLoop) -> None:
    """As ``asyncio.run`` ends: cancel what is left, let it finish, close the loop."""
    try:
        tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
    except Exception:  # ending must never raise in the thread
        log.debug("ending the game loop failed", exc_info=True)
    finally:
        loop.close()
