"""The longest event-loop stall in the TUI while 1792×1024 images arrive.

A drawer hands the real app a 1792×1024 PNG (noisy, so it is big: ~5 MB) every round; the
engine saves it, the card makes a thumbnail, the guesser's turn loads it again. A ticker on
the same loop wakes every 5 ms and records how late it woke: that lateness is what a person
would feel as a frozen UI.

    /work/venv/bin/python bench/loop_lag.py               # 5 rounds
    /work/venv/bin/python bench/loop_lag.py --rounds 10

The last lines also give the longest callback in CPU time of the loop's thread and the cycle
collector's pauses: on a loaded machine the wall-clock stall is mostly other processes' turn.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image

from telestrations.config import Config
from telestrations.game import Settings
from telestrations.keys import KeyRing, KeyStore
from telestrations.providers.base import (
    Caption,
    ModelInfo,
    Picture,
    ProviderContext,
)
from telestrations.providers.catalog import CatalogProvider
from telestrations.providers.registry import Registry
from telestrations.runtime import Runtime
from telestrations.store import Store


def big_png() -> bytes:
    """A 1792×1024 PNG that does not compress well (like a photo)."""
    noise = Image.effect_noise((1792, 1024), 64).convert("RGB")
    gradient = Image.linear_gradient("L").resize((1792, 1024)).convert("RGB")
    buf = io.BytesIO()
    Image.blend(noise, gradient, 0.5).save(buf, "PNG")
    return buf.getvalue()


class Big(CatalogProvider):
    """Draws the big PNG after a network-like wait; describes instantly."""

    name = "big"
    title = "Big"
    PRESETS = (ModelInfo("big", "draw", "drawer"), ModelInfo("big", "see", "guesser"))

    def __init__(self, data: bytes) -> None:
        super().__init__(ProviderContext())
        self.data = data

    def drawer(self, model: ModelInfo) -> Big:
        return self

    def guesser(self, model: ModelInfo) -> Big:
        return self

    async def draw(self, text: str) -> Picture:
        await asyncio.sleep(0.2)
        return Picture(self.data, "png", 1792, 1024, {}, None)

    async def describe(self, picture: Picture, system: str, prompt: str) -> Caption:
        await asyncio.sleep(0.05)
        return Caption("a noisy grey gradient")


class CallbackClock:
    """The CPU time of each event-loop callback while running, and the cycle collector's
    pauses by generation: the wall-clock stall includes whatever else the machine runs,
    this is the loop's own share of it (compare runs by this on a loaded machine)."""

    def __init__(self) -> None:
        self.longest = 0.0
        self.pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._started = 0.0
        self._run = asyncio.events.Handle._run

    def __enter__(self) -> CallbackClock:
        run, clock = self._run, self

        def timed(handle: asyncio.events.Handle) -> None:
            start = time.thread_time()
            try:
                run(handle)
            finally:
                clock.longest = max(clock.longest, time.thread_time() - start)

        asyncio.events.Handle._run = timed  # type: ignore[method-assign]
        gc.callbacks.append(self._collecting)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.events.Handle._run = self._run  # type: ignore[method-assign]
        gc.callbacks.remove(self._collecting)

    def _collecting(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.thread_time()
        else:
            self.pauses[info["generation"]].append(time.thread_time() - self._started)

    def report(self) -> str:
        gens = "  ".join(
            f"gen{g} {len(p)}× max {max(p, default=0) * 1000:.1f}" for g, p in self.pauses.items()
        )
        return f"longest loop callback {self.longest * 1000:.1f} ms CPU; collections: {gens} ms"


class Ticker:
    """Wakes every ``period`` seconds and records how late each wake-up was."""

    def __init__(self, period: float = 0.005) -> None:
        self.period = period
        self.lateness: list[float] = []

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.period
            await asyncio.sleep(self.period)
            self.lateness.append(max(0.0, loop.time() - due))


async def main(rounds: int) -> None:
    from telestrations.alloc import keep_big_buffers
    from telestrations.tui.app import TelestrationsApp
    from telestrations.tui.screens.main import Launch

    keep_big_buffers()  # as the telestrations command does at start
    data = big_png()
    home = Path(tempfile.mkdtemp(prefix="telestrations-lag-"))
    keyring = KeyRing(KeyStore(home / "keys.json"), env={})
    runtime = Runtime(Config(), keyring, Registry([Big(data)]), Store(home), home, dict(os.environ))
    settings = Settings(drawer="big:draw", guesser="big:see")
    app = TelestrationsApp(runtime, Launch("noise", settings))
    print(
        f"image: 1792×1024 PNG, {len(data) / 1e6:.1f} MB; data in {home} (removed at exit)",
        flush=True,
    )
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            main_screen = app.main
            assert main_screen is not None
            await pilot.pause(0.3)
            idle = Ticker()
            task = asyncio.create_task(idle.run())
            await asyncio.sleep(1.0)
            task.cancel()
            busy = Ticker()
            task = asyncio.create_task(busy.run())
            t0 = time.monotonic()
            with CallbackClock() as clock:
                await pilot.press("enter")
                # Polling (not an event) on purpose: the bench must not add subscribers of its own.
                while main_screen.game is None or main_screen.game.rounds_done < rounds:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
                await asyncio.sleep(0.5)  # let the last thumbnail land
            task.cancel()
            elapsed = time.monotonic() - t0
            await pilot.press("q")
    finally:
        shutil.rmtree(home, ignore_errors=True)  # a few hundred MB of pictures a run
    for name, ticker in (("idle", idle), (f"{rounds} big rounds", busy)):
        lat = sorted(ticker.lateness)
        p99 = lat[int(len(lat) * 0.99) - 1] if lat else 0.0
        print(
            f"{name:>16}: longest stall {max(lat) * 1000:6.1f} ms  p99 {p99 * 1000:5.1f} ms  "
            f"median {statistics.median(lat) * 1000:4.1f} ms  ({len(lat)} ticks)",
            flush=True,
        )
    print(f"{rounds} rounds took {elapsed:.1f} s; {clock.report()}", flush=True)
    print("load average " + " ".join(f"{v:.2f}" for v in os.getloadavg()), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    asyncio.run(main(parser.parse_args().rounds))
