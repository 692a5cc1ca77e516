"""How long exporting a long game takes, in each format.

Plays a game with the offline doodle pair through the real engine (journal, images on disk),
then times ``export_game`` for every format and prints seconds and output size:

    /work/venv/bin/python bench/export_speed.py [--rounds 100] [--picture-size 512] [--repeat 2]

``--picture-size 1024`` makes the drawer paint 1024×1024 pictures (closer to what image services
return); the exports decode each picture once per format, reduced to the size they show it at.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from telestrations.exports import FORMATS, default_path, export_game, images_dir
from telestrations.game import Game, Limits, Settings
from telestrations.providers.base import Drawer, Guesser, ProviderContext
from telestrations.providers.doodle import provider
from telestrations.store import GameDir, Store


class Doodles:
    def __init__(self, size: int) -> None:
        prov = provider(ProviderContext(settings={"size": size}))
        d, g = prov.model("doodle", "drawer"), prov.model("doodle", "guesser")
        assert d is not None and g is not None
        self.d, self.g = prov.drawer(d), prov.guesser(g)

    def drawer(self, model_id: str) -> Drawer:
        return self.d

    def guesser(self, model_id: str) -> Guesser:
        return self.g


async def play(root: Path, rounds: int, size: int) -> GameDir:
    game_dir = Store(root).new_game("a red house under a yellow sun", {})
    game = Game(game_dir, Doodles(size), Settings(), Limits(rounds=rounds))
    game.start()
    await game.wait()
    return GameDir.open(game_dir.path)


def size_of(path: Path) -> int:
    if path.suffix == ".md":
        return path.stat().st_size + sum(p.stat().st_size for p in images_dir(path).iterdir())
    return path.stat().st_size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--picture-size", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=2, help="best of N runs per format")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="export-bench-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        game = asyncio.run(play(root / "data", args.rounds, args.picture_size))
        played = time.perf_counter() - t0
        print(
            f"game: {args.rounds} rounds of {args.picture_size}px doodles (played in {played:.1f}s)"
        )
        print(f"{'format':<8}{'seconds':>9}{'size':>12}")
        for fmt in FORMATS:
            best = float("inf")
            out = default_path(game, fmt, root / "out")
            for _ in range(args.repeat):
                t = time.perf_counter()
                export_game(game, fmt, out, force=True)
                best = min(best, time.perf_counter() - t)
            print(f"{fmt:<8}{best:>9.2f}{size_of(out) / 1e6:>10.1f}MB")


if __name__ == "__main__":
    main()
