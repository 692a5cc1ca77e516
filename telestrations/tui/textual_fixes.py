"""Work-arounds for Textual bugs that hurt this app, each applied only where the bug is.

``Strip.divide`` caches ``[self]`` in the strip's own divide cache when the only cut is its
end, which the compositor asks of every line a widget shows whole: a reference cycle per
strip, so no strip that was ever on screen is freed by reference counting. Each one (with its
segments, styles and seven caches) waited for a full collection of the cycle collector, which
walked them on the event loop's thread: 150 000 objects and 150-500 ms after 80 rounds of
``bench/loop_lag.py``. :func:`fix_strip_divide_cycle` answers that case without caching it.

``StylesCache.get_inner_outer`` is an ``@lru_cache(1024)`` on an instance method
(Textualize/textual#6665, open): the cache key holds ``self``, so up to 1024 dead widgets'
``StylesCache`` objects stay alive with every strip they rendered. An endless game mounts and
unmounts cards all the time, so RSS climbed by about 100 MiB before the cache filled. The
function never uses ``self``; caching on the two colours alone keeps its result and its speed.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Sequence

from textual._styles_cache import StylesCache
from textual.color import Color
from textual.strip import Strip
from textual.widget import Widget

log = logging.getLogger(__name__)


def fix_styles_cache_leak() -> bool:
    """Re-key ``get_inner_outer`` on its colours only; ``True`` if the leaky shape was found."""
    current = StylesCache.__dict__.get("get_inner_outer")
    original = getattr(current, "__wrapped__", None)
    if not isinstance(current, functools._lru_cache_wrapper) or original is None:
        return False  # fixed upstream (or changed shape): leave it alone

    @functools.lru_cache(1024)
    def get_inner_outer(base_background: Color, background: Color) -> object:
        return original(None, base_background, background)

    def method(self: StylesCache, base_background: Color, background: Color) -> object:
        return get_inner_outer(base_background, background)

    method.__doc__ = original.__doc__
    StylesCache.get_inner_outer = method  # type: ignore[method-assign,assignment]
    current.cache_clear()
    log.debug("patched StylesCache.get_inner_outer (textual#6665)")
    return True


def drop_render_caches(widget: Widget) -> None:
    """Let go of the lines Textual keeps for repainting ``widget`` (its ``StylesCache``).

    Call it when the widget is unmounted. A removed widget is garbage only through cycles
    (parent, children, its message pump), so everything it holds waits for a full collection
    of the cycle collector, which then walks every strip, segment and style of it on the
    event loop's thread: for a card with a picture, thousands of objects. Dropped here, they
    are freed at once by reference counting and no collection sees them.
    """
    cache = getattr(widget, "_styles_cache", None)
    clear = getattr(cache, "clear", None)
    if callable(clear):
        clear()


def fix_strip_divide_cycle() -> bool:
    """Make ``Strip.divide`` answer a cut at the strip's own end with a new ``[self]`` instead
    of caching it (the cycle above); ``True`` if patched now, ``False`` if already done."""
    original = Strip.divide
    if getattr(original, "_no_self_cycle", False):
        return False

    def divide(self: Strip, cuts: Iterable[int]) -> Sequence[Strip]:
        cuts = cuts if isinstance(cuts, list) else list(cuts)
        length = self.cell_length
        if len(cuts) == 1:  # the compositor's usual ask: one cut, at the strip's end
            if cuts[0] == length:
                return [self]
        elif [cut for cut in cuts if cut <= length] == [length]:
            return [self]
        return original(self, cuts)

    divide.__doc__ = original.__doc__
    divide._no_self_cycle = True  # type: ignore[attr-defined]
    Strip.divide = divide  # type: ignore[method-assign]
    return True
