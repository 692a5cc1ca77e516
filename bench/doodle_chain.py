"""How fast the offline doodle pair plays, and how well its chain keeps drifting.

Runs the chain the way the engine does (draw → describe → draw ...) with the original's
default prompts, through the provider's async API (Pillow work in a thread).

    /work/venv/bin/python bench/doodle_chain.py [--rounds 20 100] [--size 512] [--colour]
    /work/venv/bin/python bench/doodle_chain.py --drift [--rounds 40] [--verbose]

``--drift`` plays a set of varied first prompts, each in the default black & white style and
in colour, and prints per chain the distinct captions, the round of the first repeat and the
length of the cycle it closes. The chain is a deterministic function of the caption, so the
first repeat starts a cycle the chain never leaves: a cycle of 1 is a fixed point (the same
caption forever), 2 a flip-flop.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from dataclasses import dataclass

from telestrations.providers.base import ProviderContext
from telestrations.providers.doodle import provider

STYLE = "Illustrate in black & white doodle style"
SYSTEM = "You are playing a doodle guessing game"
PROMPT = "Describe what happens in this image in up to 10 words"
FIRST = "a red house under a yellow sun"
DRIFT_PROMPTS = (
    "a red house under a yellow sun",
    "three cats on a green hill at sunset",
    "a robot walking a dog in the city at night",
    "a boat on the sea under the moon",
    "two birds above a tree in the forest",
    "a purple elephant eating ice cream",
    "a car driving past a castle",
    "a tiny star above a huge mountain in the snow",
    "a person with an umbrella in the rain",
    "a fish and a heart in space",
)


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


# -- drift --------------------------------------------------------------------------------------


async def captions(first: str, style: str, rounds: int, size: int = 512) -> list[str]:
    """The captions of one chain started from ``first``, as the engine would play it."""
    prov = provider(ProviderContext(settings={"size": size}))
    d_model, g_model = prov.model("doodle", "drawer"), prov.model("doodle", "guesser")
    assert d_model and g_model
    drawer, guesser = prov.drawer(d_model), prov.guesser(g_model)
    text, out = first, []
    for _ in range(rounds):
        picture = await drawer.draw(f"{style}: {text}" if style else text)
        text = (await guesser.describe(picture, SYSTEM, PROMPT)).text
        out.append(text)
    return out


@dataclass(frozen=True)
class Drift:
    """How one chain fared: distinct captions, first repeat (round index) and cycle length."""

    distinct: int
    repeat_at: int | None
    cycle: int | None


def drift_of(caps: list[str]) -> Drift:
    seen: dict[str, int] = {}
    for i, c in enumerate(caps):
        if c in seen:
            return Drift(len(set(caps)), i, i - seen[c])
        seen[c] = i
    return Drift(len(set(caps)), None, None)


def drift_report(rounds: int, size: int, verbose: bool) -> None:
    results: list[Drift] = []
    for style in (STYLE, ""):
        print(f"style={style or '(none: colour)'!r}")
        for first in DRIFT_PROMPTS:
            caps = asyncio.run(captions(first, style, rounds, size))
            d = drift_of(caps)
            results.append(d)
            cyc = f"repeat at {d.repeat_at}, cycle {d.cycle}" if d.cycle else "no repeat"
            print(f"  {d.distinct:>3} distinct, {cyc:<24} {first}")
            if verbose:
                for i, c in enumerate(caps):
                    print(f"      {i:>3} {c}")
    cycles = [d.cycle for d in results if d.cycle]
    short = sum(1 for c in cycles if c <= 2)
    distinct = [d.distinct for d in results]
    print(
        f"{len(results)} chains of {rounds} rounds: median {statistics.median(distinct)} "
        f"distinct (min {min(distinct)}), "
        f"{len(results) - short}/{len(results)} without a cycle of 1 or 2, "
        f"shortest cycle {min(cycles) if cycles else None}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, nargs="+", default=None)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--colour", action="store_true", help="no style: colour doodles")
    parser.add_argument("--drift", action="store_true", help="distinct captions and cycles")
    parser.add_argument("--verbose", action="store_true", help="with --drift: every caption")
    args = parser.parse_args()
    if args.drift:
        drift_report((args.rounds or [40])[0], args.size, args.verbose)
        return
    style = "" if args.colour else STYLE
    print(f"doodle chain, {args.size}px, style={style or '(none: colour)'!r}")
    for rounds in args.rounds or [20, 100]:
        r = asyncio.run(chain(rounds, args.size, style))
        print(
            f"{r['rounds']:>4} rounds: {r['total_s']:.2f} s total, "
            f"{r['rounds_per_s']:.1f} rounds/s, draw {r['draw_ms']:.1f} ms, "
            f"describe {r['describe_ms']:.1f} ms, {r['distinct']} distinct captions; "
            f"last: {r['last']}"
        )


if __name__ == "__main__":
    main()
