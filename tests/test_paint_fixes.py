"""A screen update renders only what it can show, draws the same lines as Textual would, and
never has a cycle collection in the middle of it (``bench/loop_lag.py`` measures the stalls;
these tests count the work, they do not time it)."""

from __future__ import annotations

import asyncio
import gc
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static
from textual.widgets._footer import FooterKey

from telestrations.tui.collector import YOUNG_THRESHOLD, QuietCollector
from telestrations.tui.paint_fixes import (
    fix_blank_container_lines,
    fix_partial_renders,
    fix_scrollbar_render,
)
from telestrations.tui.widgets.controls import Controls
from telestrations.tui.widgets.history import History

from .test_tui_support import main_screen, make_app, make_runtime, settle, wait_for


def count_renders(widgets: list[Widget]) -> Counter[str]:
    """Watch ``render_lines`` of these widgets (the compositor's only call into them)."""
    calls: Counter[str] = Counter()
    for widget in widgets:
        own = widget.render_lines

        def spy(crop: Region, own: Callable[[Region], list[Strip]] = own) -> list[Strip]:
            calls[type(own.__self__).__name__] += 1  # type: ignore[attr-defined]
            return own(crop)

        widget.render_lines = spy  # type: ignore[method-assign]
    return calls


async def test_a_new_card_does_not_render_the_controls_beside_the_history(
    isolated_env: Path,
) -> None:
    runtime, _fake = make_runtime(isolated_env, thumbnail_width=40)
    app = make_app(runtime)
    async with app.run_test(size=(120, 36)) as pilot:
        m = main_screen(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: m.game is not None and m.game.rounds_done >= 1)
        await pilot.pause(0.3)  # the first round's changes to the controls are shown
        controls = m.query_one(Controls)
        beside = [controls, *controls.query("*")]
        calls = count_renders(beside)
        history = count_renders([m.history])
        done = m.game.rounds_done if m.game is not None else 0
        # More rounds while the game runs: cards and captions come, the controls stay as
        # they are (the same state, the same models and prompt).
        # Cards reach the history in batches: on a busy machine three rounds can end before
        # the pane is painted again, so wait for that paint too.
        await wait_for(
            pilot,
            lambda: (
                m.game is not None and m.game.rounds_done >= done + 3 and history["History"] > 0
            ),
        )
        assert sum(calls.values()) == 0, f"the controls column was rendered: {calls}"


class Scrolling(App[None]):
    CSS = """
    VerticalScroll { border: round red; scrollbar-size-vertical: 1; height: 1fr; }
    .card { border-left: tall $accent; padding: 0 1; margin: 0 0 1 0; height: 12; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            for i in range(30):
                yield Static(f"card {i}", classes="card")


async def test_the_scrollbar_draws_what_textual_draws() -> None:
    fix_scrollbar_render()
    app = Scrolling()
    async with app.run_test(size=(80, 30)) as pilot:
        await pilot.pause()
        bar = app.query_one(VerticalScroll).vertical_scrollbar
        width, height = bar.size
        assert height > 20
        for step in range(0, 60):
            bar.window_virtual_size = 300 + 5 * step
            bar.position = step * 3.25
            bar.mouse_over = step % 7 == 0
            bar._set_dirty()
            textual = Widget.render_lines(bar, Region(0, 0, width, height))  # Textual's own
            ours = bar.render_lines(Region(0, 0, width, height))
            assert [list(line) for line in ours] == [list(line) for line in textual], step
            crop = Region(0, 5, width, 7)
            assert [list(line) for line in bar.render_lines(crop)] == [
                list(line) for line in Widget.render_lines(bar, crop)
            ]


async def test_a_container_builds_its_middle_line_once_per_render() -> None:
    fix_blank_container_lines()
    app = Scrolling()
    async with app.run_test(size=(80, 30)) as pilot:
        await pilot.pause()
        scroll = app.query_one(VerticalScroll)
        width, height = scroll.region.size
        scroll._set_dirty()
        lines = scroll.render_lines(Region(0, 0, width, height))
        middle = {id(line) for line in lines[1:-1]}
        assert len(middle) == 1  # one line, handed out for every middle row
        assert lines[0].text != lines[1].text != lines[-1].text  # the edges as they were
        assert lines[0].text.startswith("╭") and lines[-1].text.startswith("╰")
        assert lines[1].text.startswith("│") and lines[1].text.endswith("│")


async def test_the_footer_updates_its_keys_in_place_on_pause_and_resume(
    isolated_env: Path,
) -> None:
    runtime, _fake = make_runtime(isolated_env)
    app = make_app(runtime)
    async with app.run_test(size=(120, 36)) as pilot:
        m = main_screen(app)
        await pilot.press("enter")

        def says(description: str) -> Callable[[], bool]:
            def check() -> bool:
                return any(k.description == description for k in m.query(FooterKey))

            check.__doc__ = f"a footer key saying {description}"
            return check

        await wait_for(pilot, says("Pause"))
        await pilot.pause(0.3)
        before = {id(k): (k.description, k.has_class("-disabled")) for k in m.query(FooterKey)}
        m.action_pause()
        await wait_for(pilot, says("Resume"))
        await pilot.pause(0.3)
        after = {id(k): (k.description, k.has_class("-disabled")) for k in m.query(FooterKey)}
        assert set(after) == set(before)  # the same widgets: nothing removed or mounted
        changed = {i for i in after if after[i] != before[i]}
        assert len(changed) >= 2  # Pause became Resume; Step and Stop swapped enabled states


async def test_a_collection_due_in_a_screen_update_runs_after_it() -> None:
    seen: list[tuple[str, bool]] = []
    inside = [False]

    def watch(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            seen.append((phase, inside[0]))

    collector = QuietCollector()
    collector.start()
    gc.callbacks.append(watch)
    try:
        with collector.held():
            inside[0] = True
            kept = [[i] for i in range(3 * YOUNG_THRESHOLD)]  # far past the young threshold
            inside[0] = False
        assert seen == []  # nothing collected inside the block
        assert not gc.isenabled()  # due, and waiting for a callback of its own
        await asyncio.sleep(0.01)
        assert seen and not any(in_block for _, in_block in seen)
        assert gc.isenabled() and collector.deferred == 1
        with collector.held():  # little allocated: nothing deferred
            small = [[1]]
        assert gc.isenabled() and collector.deferred == 1
        del kept, small
    finally:
        gc.callbacks.remove(watch)
        collector.stop()
        gc.enable()


async def test_screen_updates_hold_the_collector_while_a_game_plays(isolated_env: Path) -> None:
    fix_partial_renders()
    runtime, _fake = make_runtime(isolated_env, thumbnail_width=60)
    app = make_app(runtime)
    started: list[int] = []

    def watch(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started.append(info["generation"])

    async with app.run_test(size=(120, 36)) as pilot:
        m = main_screen(app)
        await wait_for(pilot, lambda: gc.get_freeze_count() > 0)  # the collector started
        updates = 0
        during: list[int] = []
        screen = m
        timer_update = screen._on_timer_update

        def counted() -> None:
            nonlocal updates
            updates += 1
            mark = len(started)
            timer_update()
            during.extend(started[mark:])

        screen._update_timer._callback = counted  # type: ignore[attr-defined]
        gc.callbacks.append(watch)
        try:
            await pilot.press("enter")
            await wait_for(pilot, lambda: m.game is not None and m.game.rounds_done >= 3)
        finally:
            gc.callbacks.remove(watch)
        m.action_pause()
        await settle(pilot)
        assert updates > 3  # screen updates ran meanwhile
        assert during == []  # and no collection started inside one
        assert isinstance(m.history, History)
