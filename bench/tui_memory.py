"""RSS of the TUI during a long doodle game, driven by Textual's pilot (headless).

Plays an endless doodle game in the real app (real runtime, registry, store and history
widget) and prints the resident set size after 50 and after 1000 rounds, with how many
cards are mounted, so a leak (cards or pixels held forever) shows as growth.

    /work/venv/bin/python bench/tui_memory.py            # 50 and 1000 rounds
    /work/venv/bin/python bench/tui_memory.py --at 20,200
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def rss_mib() -> float:
    """Current resident set size in MiB (Linux /proc; peak RSS elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def main(checkpoints: list[int], model: str) -> None:
    home = Path(tempfile.mkdtemp(prefix="telestrations-bench-"))
    os.environ["TELESTRATIONS_DATA_DIR"] = str(home / "data")
    os.environ["TELESTRATIONS_CONFIG"] = str(home / "config.toml")
    os.environ["TELESTRATIONS_KEYS"] = str(home / "keys.json")

    from telestrations.game import Settings
    from telestrations.runtime import Runtime
    from telestrations.tui.app import TelestrationsApp
    from telestrations.tui.screens.main import Launch

    runtime = Runtime.load()
    settings = Settings(drawer=model, guesser=model)
    app = TelestrationsApp(runtime, Launch("a red house under a yellow sun", settings))
    print(
        f"data in {home} (removed at exit); baseline RSS before start {rss_mib():.1f} MiB",
        flush=True,
    )
    t0 = time.monotonic()
    async with app.run_test(size=(120, 40)) as pilot:
        main_screen = app.main
        assert main_screen is not None
        await pilot.pause(0.2)
        print(f"app started: RSS {rss_mib():.1f} MiB", flush=True)
        await pilot.press("enter")
        for target in checkpoints:
            while main_screen.game is None or main_screen.game.rounds_done < target:
                if main_screen.game is not None and not main_screen.running:
                    raise SystemExit(f"the game stopped: {main_screen.game.reason}")
                await asyncio.sleep(0.05)
            gc.collect()
            h = main_screen.history
            print(
                f"after {main_screen.game.rounds_done:5d} rounds: RSS {rss_mib():7.1f} MiB  "
                f"cards mounted {h.mounted:3d} of {len(h.entries)} entries  "
                f"({time.monotonic() - t0:.0f} s)",
                flush=True,
            )
        await pilot.press("q")
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--at", default="50,1000", help="round counts to report at")
    parser.add_argument("--model", default="doodle:doodle", help="drawer and guesser id")
    args = parser.parse_args()
    asyncio.run(main([int(x) for x in args.at.split(",")], args.model))
