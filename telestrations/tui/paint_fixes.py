"""Cheaper screen updates: Textual paints only what a partial update can show.

Measured with ``bench/loop_lag.py`` (the longest event-loop stalls while big pictures arrive
are Textual's layout-and-paint passes, each 15-30 ms of the loop's CPU), a pass that moved the
history's cards rendered far more than the update could show:

* **Widgets beside the change.** A partial update (``Compositor.render_partial_update``) asks
  every visible widget that overlaps the *bounding box* of the dirty regions for all its lines
  in that box, and cuts each line at every widget edge, only to write out the dirty spans.
  When the history pane and the status line changed, the box is the whole screen height, so
  the controls column (inputs, model fields, hint) was rendered and cut too, for nothing.
  :func:`fix_partial_renders` renders a widget only if it overlaps a dirty region, and only
  the rows of the dirty regions it overlaps. What reaches the terminal is the same: the update
  writes only the dirty spans, and a widget that overlaps none of them has no cell in them.
* **The first scroll after a layout.** A layout pass keeps the map of every widget and drops
  the map of visible ones; a scroll then lays out only what is visible and compares it with
  that visible map, which is gone, so every widget counts as changed and the whole screen is
  painted again (the controls, the footer, every card), once per new card (mounted, then
  scrolled into view). :func:`fix_first_scroll_repaint` compares it with the full map
  instead, so only what moved is painted.
* **Containers' own lines.** A container (a card, the history pane, a picture's box) draws
  nothing but its background, border and padding, so every row between its top and bottom
  edges is the same line; Textual's styles cache still builds each one (border styles,
  padding, tint, filters: 25-50 us a row), for every row of every new card and again for the
  whole pane whenever it is repainted. :func:`fix_blank_container_lines` builds that line
  once per render and hands it out for the other rows.
* **The scrollbar.** Textual draws a scrollbar as a Rich renderable that goes through the
  console and the styles cache line by line (35 lines, 1-5 ms on a loaded machine), and every
  new card moves it. :func:`fix_scrollbar_render` makes a vertical bar's lines from its
  segments directly (same segments, same styles; see ``tests/test_paint_fixes.py``).

Each patch checks that Textual still has the shape it replaces (method names, signatures)
and otherwise leaves Textual alone, logging why.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable
from typing import Any

from rich.segment import Segment
from rich.style import Style as RichStyle
from textual._compositor import Compositor
from textual._styles_cache import StylesCache
from textual.geometry import Region
from textual.scrollbar import ScrollBar, ScrollBarRender
from textual.strip import Strip
from textual.widget import Widget

log = logging.getLogger(__name__)

_PATCHED = "_telestrations_paint_fix"
_DIRTY = "_telestrations_dirty"
"""The regions a partial update writes (set on the compositor while it renders)."""
_BAND = "_telestrations_band"
"""The middle line of a blank container (set on its styles cache while it renders)."""


def _has_params(func: Callable[..., Any], *names: str) -> bool:
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
    return list(params)[: len(names)] == list(names)


def fix_partial_renders() -> bool:
    """Render only widgets (and rows) a partial update shows; ``True`` if patched now."""
    get_renders = Compositor.__dict__.get("_get_renders")
    partial = Compositor.__dict__.get("render_partial_update")
    if get_renders is None or partial is None or getattr(get_renders, _PATCHED, False):
        return False
    if not (
        _has_params(get_renders, "self", "crop")
        and _has_params(partial, "self")
        and "visible_widgets" in dir(Compositor)
    ):
        log.warning("Textual's compositor changed shape: partial renders not patched")
        return False

    def render_partial_update(self: Compositor) -> Any:
        # The regions this update writes, for _get_renders (the original clears them).
        setattr(self, _DIRTY, list(self._dirty_regions))
        try:
            return partial(self)
        finally:
            setattr(self, _DIRTY, None)

    def _get_renders(
        self: Compositor, crop: Region | None = None
    ) -> Iterable[tuple[Region, Region, list[Strip]]]:
        dirty: list[Region] | None = getattr(self, _DIRTY, None)
        for widget, (region, clip) in self.visible_widgets.items():
            shown = region.intersection(clip)
            if not shown or (crop is not None and not crop.overlaps(shown)):
                continue
            if dirty is not None:
                touched = [d for d in dirty if d.overlaps(shown)]
                if not touched:
                    continue  # none of its cells is written by this update
                top = max(shown.y, min(d.y for d in touched))
                bottom = min(shown.bottom, max(d.bottom for d in touched))
                # Full width (cuts are at widget edges), only the rows that are written.
                clip = clip.intersection(Region(shown.x, top, shown.width, bottom - top))
                shown = region.intersection(clip)
                if not shown:
                    continue
            yield (
                region,
                clip,
                widget.render_lines(
                    Region(shown.x - region.x, shown.y - region.y, shown.width, shown.height)
                ),
            )

    _get_renders.__doc__ = get_renders.__doc__
    render_partial_update.__doc__ = partial.__doc__
    setattr(_get_renders, _PATCHED, True)
    Compositor._get_renders = _get_renders  # type: ignore[method-assign]
    Compositor.render_partial_update = render_partial_update  # type: ignore[method-assign]
    return True


def fix_first_scroll_repaint() -> bool:
    """A scroll right after a layout repaints what moved, not the whole screen; ``True`` if
    patched now."""
    original = Compositor.__dict__.get("reflow_visible")
    if original is None or getattr(original, _PATCHED, False):
        return False
    needed = ("_visible_map", "_full_map", "root", "size")
    probe = Compositor()
    if not _has_params(original, "self", "parent", "size") or not all(
        hasattr(probe, name) for name in needed
    ):
        log.warning("Textual's compositor changed shape: scroll repaint not patched")
        return False

    def reflow_visible(self: Compositor, parent: Widget, size: Any) -> Any:
        if (
            self._visible_map is None  # a full layout (or full map) was made since
            and self._full_map
            and self.root is parent
            and self.size == size
        ):
            # What was laid out last is on screen as the full map says: compare with it.
            self._visible_map = dict(self._full_map)
        return original(self, parent, size)

    reflow_visible.__doc__ = original.__doc__
    setattr(reflow_visible, _PATCHED, True)
    Compositor.reflow_visible = reflow_visible  # type: ignore[method-assign]
    return True


def fix_scrollbar_render() -> bool:
    """Make a scrollbar's lines straight from its segments; ``True`` if patched now."""
    current = ScrollBar.__dict__.get("render_lines")
    if getattr(current, _PATCHED, False):
        return False
    needed = ("render", "_render_bar", "renderer")
    if current is not None or not all(hasattr(ScrollBar, name) for name in needed):
        log.warning("Textual's ScrollBar changed shape: its render not patched")
        return False
    if not _has_params(
        ScrollBarRender.render_bar,
        "size",
        "virtual_size",
        "window_size",
        "position",
        "thickness",
        "vertical",
        "back_color",
        "bar_color",
    ):
        log.warning("Textual's ScrollBarRender.render_bar changed: scrollbar not patched")
        return False
    original = ScrollBar.render_lines

    def render_lines(self: ScrollBar, crop: Region) -> list[Strip]:
        lines = _scrollbar_lines(self)
        if lines is None:  # a custom renderer, or an odd style: Textual's own way
            return original(self, crop)
        if crop.column_span != (0, self.size.width):
            lines = [line.crop(*crop.column_span) for line in lines]
        return lines[crop.y : crop.bottom]

    setattr(render_lines, _PATCHED, True)
    ScrollBar.render_lines = render_lines  # type: ignore[method-assign,assignment]
    return True


def _scrollbar_lines(bar: ScrollBar) -> list[Strip] | None:
    """The scrollbar's lines as Textual would draw them (each segment of the bar on the
    widget's own style), or ``None`` to let Textual draw them (a custom renderer, a horizontal
    bar, a tint, opacity or a border)."""
    if bar.renderer is not ScrollBarRender or not bar.vertical:
        return None
    styles = bar.styles
    if styles.tint.a or bar.opacity != 1.0 or styles.text_opacity != 1.0 or any(styles.gutter):
        return None
    width, height = bar.size
    if not width or not height:
        return []
    renderable = bar.render()
    if not isinstance(renderable, ScrollBarRender):
        return None
    style = renderable.style
    if not isinstance(style, RichStyle) or style.bgcolor is None or style.color is None:
        return None
    segments = ScrollBarRender.render_bar(
        size=height,
        virtual_size=renderable.virtual_size,
        window_size=renderable.window_size,
        position=renderable.position,
        thickness=width,
        vertical=True,
        back_color=style.bgcolor,
        bar_color=style.color,
    ).segments
    base = bar.visual_style.rich_style
    filters = bar.get_line_filters()
    background = bar.background_colors[1]
    made: dict[Segment, Strip] = {}

    def line_of(segment: Segment) -> Strip:
        line = made.get(segment)
        if line is None:
            text, own, _control = segment
            strip = Strip([Segment(text, base + own if own else base)], width)
            for line_filter in filters:
                strip = strip.apply_filter(line_filter, background)
            line = made[segment] = strip
        return line

    lines = [line_of(segment) for segment in list(segments)[:height]]
    if len(lines) < height:
        lines += [line_of(Segment(" " * width))] * (height - len(lines))
    return lines


def fix_blank_container_lines() -> bool:
    """Build a blank container's middle rows once per render; ``True`` if patched now."""
    render: Callable[..., list[Strip]] | None = StylesCache.__dict__.get("render")
    render_line: Callable[..., Strip] | None = StylesCache.__dict__.get("render_line")
    if render is None or render_line is None or getattr(render, _PATCHED, False):
        return False
    if not (
        _has_params(render, "self", "styles", "size")
        and _has_params(render_line, "self", "styles", "y", "size", "content_size", "padding")
        and Widget.__dict__.get("render") is not None
    ):
        log.warning("Textual's StylesCache changed shape: container lines not patched")
        return False

    def patched_render(self: StylesCache, styles: Any, *args: Any, **kwargs: Any) -> list[Strip]:
        node = getattr(styles, "node", None)
        if not _is_blank_container(node):
            return render(self, styles, *args, **kwargs)
        setattr(self, _BAND, {})  # (content row or not) -> the line, for this render
        try:
            return render(self, styles, *args, **kwargs)
        finally:
            setattr(self, _BAND, None)

    def patched_render_line(
        self: StylesCache,
        styles: Any,
        y: int,
        size: Any,
        content_size: Any,
        padding: Any,
        *args: Any,
    ) -> Strip:
        band: dict[object, Any] | None = getattr(self, _BAND, None)
        if band is None:
            return render_line(self, styles, y, size, content_size, padding, *args)
        rows = band.get(_ROWS)
        if rows is None:  # the edges are the same for every row of this render
            rows = band[_ROWS] = _middle_rows(styles, size.height, content_size.height, padding)
        first, stop, content_stop = rows
        if not first <= y < stop:  # a border, outline or padding row: drawn as usual
            return render_line(self, styles, y, size, content_size, padding, *args)
        key = y < content_stop  # rows in the content are alike, and so are rows below it
        line = band.get(key)
        if line is None:
            line = band[key] = render_line(self, styles, y, size, content_size, padding, *args)
        assert isinstance(line, Strip)
        return line

    setattr(patched_render, _PATCHED, True)
    patched_render.__doc__ = render.__doc__
    patched_render_line.__doc__ = render_line.__doc__
    StylesCache.render = patched_render  # type: ignore[method-assign]
    StylesCache.render_line = patched_render_line  # type: ignore[method-assign,assignment]
    return True


def _is_blank_container(node: object) -> bool:
    """A widget whose content is Textual's blank: every middle row of it is the same line."""
    if not isinstance(node, Widget) or not node.is_container:
        return False
    if type(node).render is not Widget.render or node.BLANK:
        return False
    return bool(node.styles.keyline[0] == "none")


_ROWS = "rows"


def _middle_rows(
    styles: Any, height: int, content_height: int, padding: Any
) -> tuple[int, int, int]:
    """The first middle row, one past the last, and one past the last row of content: rows
    outside ``first:stop`` are a border, an outline or padding, drawn as usual."""
    (top, _), _right, (bottom, _), _left = styles.border
    (o_top, _), _o_right, (o_bottom, _), _o_left = styles.outline
    gutter = styles.gutter
    pad_top, _pr, pad_bottom, _pl = padding
    first = 1 if (top or o_top) else 0
    stop = height - 1 if (bottom or o_bottom) else height
    if pad_top:
        first = max(first, gutter.top)
    if pad_bottom:
        stop = min(stop, height - gutter.bottom)
    return first, stop, gutter.top + content_height
