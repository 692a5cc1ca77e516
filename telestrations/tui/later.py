"""Work for a Textual worker, made only when the worker starts.

``run_worker(self.load())`` makes the coroutine at once. A worker that is cancelled before it
starts (``exclusive=True`` and a newer one, a resize burst giving a card several rooms, the
app quitting) never awaits it, and Python prints "coroutine ... was never awaited" when it is
collected. :class:`Later` is awaitable (Textual awaits it in the worker's task) and makes the
coroutine only then.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Later(Generic[T]):
    """``fn()``, called when this is awaited, not before."""

    __slots__ = ("_fn",)

    def __init__(self, fn: Callable[[], Awaitable[T]]) -> None:
        self._fn = fn

    def __await__(self) -> Generator[Any, None, T]:
        return self._fn().__await__()
