"""How fast the offline doodle pair plays: rounds per second, ms per draw and per describe.

Runs the chain the way the engine does (draw → describe → draw ...) with the original's
default prompts, through the provider's async API (Pillow work in a thread).

    /work/venv/bin/python bench/doodle_chain.py [--rounds 20 100] [--size 512] [--colour]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from telestrations.providers.base import ProviderContext
from telestrations.providers.doodle import provider

STYLE = "Illustrate in black & white doodle style"
SYSTEM = "You are playing a doodle guessing game"
PROMPT = "Describe what happens in this image in up to 10 words"
FIRST = "a red house under a yellow sun"


async def chain(rounds: int, size: int, style: str) -> dict[str, float]:
    prov = provider(ProviderContext(settings={"size": size}))
    d_model, g_model = prov.model("doodle", "drawer"), prov.model("doodle", "guesser")
    assert d_model and g_model
    drawer, guesser = prov.drawer(d_model), prov.guesser(g_model)
    text = FIRST
    draw_s = describe_s = 0.0
    distinct: set[str] = set()
    t0 = time.perf_counter()
    for _ in range(rounds):
        a = time.perf_counter()
        picture = await drawer.draw(f"{style}: {text}" if style else text)
        b = time.perf_counter()
        caption = await guesser.describe(picture, SYSTEM, PROMPT)
        c = time.perf_counter()
        draw_s += b - a
        describe_s += c - b
        text = caption.text
        distinct.add(text)
    total = time.perf_counter() - t0
    return {
        "rounds": rounds,
        "total_s": total,
        "rounds_per_s": rounds / total,
        "draw_ms": 1000 * draw_s / rounds,
        "describe_ms": 1000 * describe_s / rounds,
        "distinct": len(distinct),
        "last": text,  # type: ignore[dict-item]
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, nargs="+", default=[20, 100])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--colour", action="store_true", help="no style: colour doodles")
    args = parser.parse_args()
    style = "" if args.colour else STYLE
    print(f"doodle chain, {args.size}px, style={style or '(none: colour)'!r}")
    for rounds in args.rounds:
        r = asyncio.run(chain(rounds, args.size, style))
        print(
            f"{r['rounds']:>4} rounds: {r['total_s']:.2f} s total, "
            f"{r['rounds_per_s']:.1f} rounds/s, draw {r['draw_ms']:.1f} ms, "
            f"describe {r['describe_ms']:.1f} ms, {r['distinct']} distinct captions; "
            f"last: {r['last']}"
        )


if __name__ == "__main__":
    main()
