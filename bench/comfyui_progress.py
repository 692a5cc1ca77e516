"""What following a ComfyUI run costs the event loop: progress events and preview frames.

A draw against the loopback fake ComfyUI (tests/fakes/comfyui_api.py) with many sampler
steps, each sending ``progress`` and ``progress_state`` events, and a binary preview frame
every fifth step (ignored by the client, but still received). A ticker on the same loop wakes
every 5 ms and records how late it woke: the UI would feel that lateness (the fake runs in
this process, so its threads' work is in the figure too). Also prints the time of a
provider's first request and of whole one-step draws.

    /work/venv/bin/python bench/comfyui_progress.py                   # 500 steps, 256 KiB previews
    /work/venv/bin/python bench/comfyui_progress.py --steps 2000 --preview-kib 1024
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from telestrations.providers.base import Progress, ProviderContext, progress_reports
from telestrations.providers.comfyui import provider
from tests.fakes.comfyui_api import CHECKPOINTS, FakeComfyUI


async def ticker(lags: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        t = time.perf_counter()
        await asyncio.sleep(0.005)
        lags.append(time.perf_counter() - t - 0.005)


async def main(steps: int, preview_kib: int, draws: int) -> None:
    api = FakeComfyUI(step_delay=0.001, preview_bytes=preview_kib * 1024).start()
    p = provider(ProviderContext(settings={"base_url": api.url, "steps": steps}))
    drawer = p.drawer(p.model(CHECKPOINTS[0], "drawer"))  # type: ignore[arg-type]
    t = time.perf_counter()
    await p.call("GET", "/system_stats")  # the first request builds the httpx client (TLS
    first = time.perf_counter() - t  # context and CA bundle, on the loop): measured apart
    seen: list[Progress] = []
    lags: list[float] = []
    stop = asyncio.Event()
    tick = asyncio.create_task(ticker(lags, stop))
    t0 = time.perf_counter()
    with progress_reports(seen.append):
        await drawer.draw("a lighthouse at night")
    took = time.perf_counter() - t0
    stop.set()
    await tick
    print(
        f"{steps} steps, {steps // 5} previews of {preview_kib} KiB: draw {took:.2f} s, "
        f"{len(seen)} progress reports, loop lag median {statistics.median(lags) * 1000:.2f} ms, "
        f"max {max(lags) * 1000:.1f} ms"
    )
    print(f"first request of a provider (httpx client made on the loop): {first * 1000:.0f} ms")
    quick = FakeComfyUI().start()
    q = provider(ProviderContext(settings={"base_url": quick.url, "steps": 1}))
    d = q.drawer(q.model(CHECKPOINTS[0], "drawer"))  # type: ignore[arg-type]
    await d.draw("warm up")
    times = []
    for i in range(draws):
        t = time.perf_counter()
        await d.draw(f"draw {i}")
        times.append(time.perf_counter() - t)
    print(
        f"{draws} one-step draws: median {statistics.median(times) * 1000:.0f} ms each "
        "(4 round trips to the loopback fake, whose keep-alive answers wait ~40 ms for "
        "delayed ACKs; a real ComfyUI's time is its GPU's)"
    )
    await p.aclose()
    await q.aclose()
    api.stop()
    quick.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--preview-kib", type=int, default=256)
    parser.add_argument("--draws", type=int, default=10)
    args = parser.parse_args()
    asyncio.run(main(args.steps, args.preview_kib, args.draws))
