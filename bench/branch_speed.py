"""How long branching a long game takes (copying its rounds and pictures into a new game made
whole in a hidden folder, then noting it in the parent's journal).

Plays a game with the offline doodle pair through the real engine, then times
``session.branch`` at its last round several times and prints min / median and the load:

    PYTHONPATH=. /work/venv/bin/python bench/branch_speed.py [--rounds 100] [--repeat 7]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from telestrations import session
from telestrations.game import Limits, Settings
from telestrations.runtime import Runtime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.toml"
        config.write_text("", "utf-8")  # defaults: the doodle pair
        runtime = Runtime.load(config_file=config, data_dir_flag=str(Path(tmp) / "data"))
        settings = Settings()
        parent = session.new_game(runtime, "a red house under a yellow sun", settings)

        async def play() -> None:
            game = session.make_game(runtime, parent, settings, Limits(rounds=args.rounds))
            game.start()
            await game.wait()
            await runtime.aclose()

        asyncio.run(play())
        parent.unlock()
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            child = session.branch(runtime, parent, args.rounds)
            times.append(time.perf_counter() - t0)
            child.unlock()
        print(
            f"branch at round {args.rounds} ({len(parent.records)} journal lines, "
            f"{args.rounds} pictures): min {min(times) * 1000:.0f} ms, "
            f"median {statistics.median(times) * 1000:.0f} ms "
            f"(load average {os.getloadavg()[0]:.2f})"
        )


if __name__ == "__main__":
    main()
