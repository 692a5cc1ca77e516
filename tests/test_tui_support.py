"""Helpers for the TUI tests (no tests here): in-test providers, a runtime, polling waits.

The providers implement the real provider protocol (``CatalogProvider``) and are registered
in a real :class:`Registry`, so the app exercises the same paths it uses with real ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import threading
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw
from textual.app import App
from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot
from textual.widget import Widget
from textual.worker import WorkerCancelled, WorkerFailed, WorkerState

from telestrations.config import Config, UiConfig
from telestrations.game import Settings
from telestrations.keys import KeyRing, KeyStore
from telestrations.providers.base import (
    Availability,
    Caption,
    ModelInfo,
    Picture,
    ProviderContext,
    ProviderError,
    report_partial,
)
from telestrations.providers.catalog import CatalogProvider
from telestrations.providers.http.images import picture_from_bytes
from telestrations.providers.registry import Registry
from telestrations.runtime import Runtime
from telestrations.store import Store
from telestrations.tui.app import TelestrationsApp
from telestrations.tui.images import thumbnail_size
from telestrations.tui.screens.main import Launch, MainScreen
from telestrations.tui.widgets.cards import Thumb
from telestrations.tui.widgets.history import History

MARKUP_CAPTION = (
    "[bold red]x[/bold red] [link=https://evil.example]click[/link] \x1b[31mred\x1b[0m\x07 end"
)


def png_bytes(color: str = "red", size: tuple[int, int] = (64, 48)) -> bytes:
    im = Image.new("RGB", size, "white")
    ImageDraw.Draw(im).ellipse((4, 4, size[0] - 4, size[1] - 4), fill=color)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


class Gate:
    """An ``asyncio.Event`` that a loop in any thread may wait on and any thread may set: the
    app plays its game on a loop of its own (``tui/engine_loop.py``), while the test sets the
    gate from the app's."""

    def __init__(self) -> None:
        self._set = False
        self._lock = threading.Lock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        with self._lock:
            self._set = True
            waiters, self._waiters = self._waiters, []
        for loop, fut in waiters:
            with contextlib.suppress(RuntimeError):  # that loop has closed
                loop.call_soon_threadsafe(lambda f=fut: f.done() or f.set_result(None))

    async def wait(self) -> None:
        with self._lock:
            if self._set:
                return
            loop = asyncio.get_running_loop()
            fut: asyncio.Future[None] = loop.create_future()
            self._waiters.append((loop, fut))
        await fut


class Painter:
    """A drawer that paints a coloured disc; can be held at a gate to test pause/stop."""

    def __init__(self, owner: FakeProvider) -> None:
        self.owner = owner

    async def draw(self, text: str) -> Picture:
        o = self.owner
        o.draws.append(text)
        o.draw_started.set()
        try:
            if o.gate is not None:
                await o.gate.wait()
            if o.delay:
                await asyncio.sleep(o.delay)
        except asyncio.CancelledError:
            o.cancelled += 1
            raise
        data = o.image or png_bytes(["red", "blue", "green"][len(o.draws) % 3])
        if o.checked:  # as a network drawer's answer is: checked, perhaps beside the next call
            return await picture_from_bytes(data, max_pixels=10**8, cost=0.01)
        with Image.open(io.BytesIO(data)) as im:
            w, h = im.size
        return Picture(data, "png", w, h, {}, 0.01)


class Eye:
    """A guesser that answers with its name and a counter (or fails / returns markup)."""

    def __init__(self, owner: FakeProvider, name: str) -> None:
        self.owner = owner
        self.name = name

    async def describe(self, picture: Picture, system: str, prompt: str) -> Caption:
        o = self.owner
        o.describes.append((self.name, system, prompt))
        if self.name == "broken" and o.failures_left > 0:
            o.failures_left -= 1
            raise ProviderError(
                "rate_limited",
                "[red]slow down[/red] \x1b[2J",
                hint="wait a minute, then press Enter",
            )
        if self.name == "markup":
            return Caption(MARKUP_CAPTION)
        if self.name == "talker":  # streams: half a caption, then waits at the gate
            report_partial("talker is [b]half")
            if o.talk_gate is not None:
                await o.talk_gate.wait()
            report_partial("talker is [b]half way")
            return Caption("talker is [b]half way there")
        if o.delay:
            await asyncio.sleep(o.delay)
        return Caption(f"{self.name} saw picture {len(o.describes)}")


class FakeProvider(CatalogProvider):
    name = "fake"
    title = "Fake"
    PRESETS = (
        ModelInfo("fake", "painter", "drawer"),
        ModelInfo("fake", "eye", "guesser"),
        ModelInfo("fake", "other", "guesser"),
        ModelInfo("fake", "markup", "guesser"),
        ModelInfo("fake", "broken", "guesser"),
        ModelInfo("fake", "talker", "guesser"),
    )

    def __init__(self, ctx: ProviderContext | None = None) -> None:
        super().__init__(ctx or ProviderContext())
        self.draws: list[str] = []
        self.describes: list[tuple[str, str, str]] = []
        self.gate: Gate | None = None
        self.delay = 0.05  # like a fast local model: the UI is not flooded with rounds
        self.cancelled = 0
        self.failures_left = 1
        self.image: bytes | None = None
        self.checked = False
        """Pictures go through the checks a provider's answer gets (``picture_from_bytes``)."""
        self.draw_started = Gate()
        self.talk_gate: Gate | None = None

    def drawer(self, model: ModelInfo) -> Painter:
        return Painter(self)

    def guesser(self, model: ModelInfo) -> Eye:
        return Eye(self, model.name)


class KeyedProvider(CatalogProvider):
    """Needs a key named ``keyed``; usable as soon as the key ring has one."""

    name = "keyed"
    title = "Keyed"
    PRESETS = (ModelInfo("keyed", "seer", "guesser"),)

    def __init__(self, ctx: ProviderContext, fake: FakeProvider) -> None:
        super().__init__(ctx)
        self.fake = fake

    def availability(self, model: ModelInfo) -> Availability:
        if not self.ctx.get_key("keyed"):
            return Availability.no("no key", "enter it in the key dialog", "auth")
        return Availability.yes()

    def guesser(self, model: ModelInfo) -> Eye:
        return Eye(self.fake, "seer")


def make_runtime(
    home: Path,
    *,
    max_cards: int = 60,
    thumbnail_width: int = 16,
    registry: Registry | None = None,
    keymap: dict[str, str] | None = None,
    pace: float = 0.0,
) -> tuple[Runtime, FakeProvider]:
    """A runtime around the fake providers, with data and keys under ``home``."""
    keyring = KeyRing(KeyStore(home / "keys.json"), env={})
    fake = FakeProvider()
    ctx = ProviderContext(get_key=keyring.get)
    registry = registry or Registry([fake, KeyedProvider(ctx, fake)])
    ui = UiConfig(
        images="halfcell", max_cards=max_cards, thumbnail_width=thumbnail_width, pace=pace
    )
    config = Config(ui=ui, keymap=keymap or {})
    data = home / "data"
    return Runtime(config, keyring, registry, Store(data), data), fake


def make_app(
    runtime: Runtime,
    *,
    prompt: str = "a red house under a yellow sun",
    drawer: str = "fake:painter",
    guesser: str = "fake:eye",
    resume=None,  # type: ignore[no-untyped-def]
) -> TelestrationsApp:
    settings = Settings(drawer=drawer, guesser=guesser)
    return TelestrationsApp(runtime, Launch(prompt, settings, images="halfcell", resume=resume))


async def wait_for(pilot: Pilot, cond: Callable[[], bool], seconds: float = 10.0) -> None:
    """Let the app run until ``cond()`` holds (fails the test after ``seconds``)."""
    deadline = time.monotonic() + seconds
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {cond.__doc__ or cond}")
        await pilot.pause(0.02)


def picture_in_place(thumb: Thumb) -> bool:
    """The thumbnail shows its picture, made for the box its room gives and laid out at that
    size: not the placeholder, and not an empty box that a cancelled load left behind."""
    if thumb.aspect is None:
        return False
    box = thumb.room.fit(thumb.aspect)
    if thumb.box != box or thumb.shown != thumbnail_size(thumb.spec.mode, box.cols, box.rows):
        return False
    if thumb.query(".thumb-placeholder"):
        return False
    images = [w for w in thumb.query(".thumb-image") if w.display]  # not one being removed
    return len(images) == 1 and tuple(images[0].size) == (box.cols, box.rows)


async def settle(pilot: Pilot, seconds: float = 20.0) -> None:
    """Run until the screen is at rest: no worker busy, no relayout pending, every thumbnail
    showing the picture made for its box (:func:`picture_in_place`), and every widget where it
    was on the pass before.
    Only for a screen whose game is not running (a running game's worker never ends)."""
    app = pilot.app
    deadline = time.monotonic() + seconds
    before: object = None
    while True:
        for worker in list(app.workers):
            if worker.state == WorkerState.RUNNING:
                with contextlib.suppress(WorkerCancelled, WorkerFailed):
                    await worker.wait()
        await pilot.wait_for_scheduled_animations()
        relayout = _timers_pending(app)
        if relayout:  # a resize (or a batch of cards) waits for a timer: let it fire
            await pilot.pause(0.05)
        busy = any(not w.is_finished for w in app.workers)
        now = [(id(w), w.region) for w in app.screen.walk_children()]
        if not relayout and not busy and not _pictures_pending(app) and now == before:
            await pilot.pause(0.1)  # and still so after the last messages are handled
            again = [(id(w), w.region) for w in app.screen.walk_children()]
            busy = any(not w.is_finished for w in app.workers)
            if again == now and not busy and not _pictures_pending(app):
                return
            now = again
        if time.monotonic() > deadline:
            pending = ", ".join(_pictures_pending(app)) or "none"
            raise AssertionError(f"the screen did not come to rest (pictures pending: {pending})")
        before = now


def _timers_pending(app: App[object]) -> bool:
    """A one-shot timer in the history pane is still to fire (the debounced relayout after a
    resize, say); repeating ones (a spinner) never end and do not count."""
    for history in app.screen.query(History):
        for node in history.walk_children(with_self=True):
            for timer in list(node._timers):
                task = timer._task
                if timer._repeat == 0 and task is not None and not task.done():
                    return True
    return False


def _pictures_pending(app: App[object]) -> list[str]:
    """Thumbnails not yet showing the picture for the room their pane has now: every one in
    view, and any other whose picture was asked for (a card never seen makes none)."""
    return [
        f"card {thumb.index}: box {thumb.box}, shown {thumb.shown}"
        for history in app.screen.query(History)
        for thumb in history.query(Thumb)
        if (thumb.wanted or in_view(history, thumb))
        and (thumb.room != history.room or not picture_in_place(thumb))
    ]


def in_view(history: History, widget: Widget) -> bool:
    """Some of ``widget`` is inside the history pane's visible content."""
    return widget.region.overlaps(history.scrollable_content_region)


def palette_prompts(app: App[object]) -> list[str]:
    """The command palette's options as text, best match first (none while it is closed)."""
    screen = app.screen
    if not isinstance(screen, CommandPalette):
        return []
    options = screen.query_one(CommandList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


async def wait_for_palette(pilot: Pilot, text: str) -> None:
    """Wait until the palette's best (highlighted) match contains ``text``."""

    def best_matches() -> bool:
        prompts = palette_prompts(pilot.app)
        return bool(prompts) and text in prompts[0]

    best_matches.__doc__ = f"the palette's best match to contain {text!r}"
    await wait_for(pilot, best_matches)


def main_screen(app: TelestrationsApp) -> MainScreen:
    assert app.main is not None
    return app.main
