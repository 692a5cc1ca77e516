"""The Textual work-around keeps results and stops pinning dead widgets' render caches."""

from __future__ import annotations

import gc
import weakref

from textual._styles_cache import StylesCache
from textual.color import Color
from textual.style import Style

from telestrations.tui.textual_fixes import fix_styles_cache_leak


def test_get_inner_outer_no_longer_keeps_styles_caches_alive() -> None:
    fix_styles_cache_leak()
    assert fix_styles_cache_leak() is False  # idempotent: the leaky shape is gone
    cache = StylesCache()
    base, background = Color(10, 20, 30), Color(200, 100, 50, 0.5)
    inner, outer = cache.get_inner_outer(base, background)
    assert inner == Style(background=base + background)
    assert outer == Style(background=base)
    assert StylesCache().get_inner_outer(base, background) == (inner, outer)
    ref = weakref.ref(cache)
    del cache
    gc.collect()
    assert ref() is None, "a StylesCache is still referenced after its last use"
