"""Work-arounds for Textual bugs that hurt this app, each applied only where the bug is.

``StylesCache.get_inner_outer`` is an ``@lru_cache(1024)`` on an instance method
(Textualize/textual#6665, open): the cache key holds ``self``, so up to 1024 dead widgets'
``StylesCache`` objects stay alive with every strip they rendered. An endless game mounts and
unmounts cards all the time, so RSS climbed by about 100 MiB before the cache filled. The
function never uses ``self``; caching on the two colours alone keeps its result and its speed.
"""

from __future__ import annotations

import functools
import logging

from textual._styles_cache import StylesCache
from textual.color import Color

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
