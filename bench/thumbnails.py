"""How long a history thumbnail takes to make, per size shown (the work a card's thread does).

For each picture (a 1024×1024 black & white doodle, a colour doodle, a 1792×1024 noisy PNG)
and each half-cell size the history uses at 80×24, 120×36 and 200×50, the median time of
``load_thumbnail`` with an empty cache (decode + reduce + write the cached file) and with a
warm one (read the cached file back), the half-cell lines made from it (``lines``, also in
the thread), and the plain reduction it replaces for comparison.

    /work/venv/bin/python bench/thumbnails.py
    /work/venv/bin/python bench/thumbnails.py --repeat 15
"""

from __future__ import annotations

import argparse
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

from telestrations.providers.doodle.drawer import render
from telestrations.tui.images import halfcell_strips
from telestrations.tui.thumbnail import is_line_art, load_thumbnail

SIZES = {"80x24": (24, 24), "120x36": (43, 44), "200x50": (88, 88)}
"""Terminal size → the thumbnail's pixels (half-cell: one per column, two per row)."""


def _pictures(folder: Path) -> dict[str, str]:
    line, _ = render("Illustrate in black & white doodle style: a house under a tree", 1024, 1024)
    colour, _ = render("a red house under a yellow sun", 1024, 1024)
    (folder / "line.png").write_bytes(line)
    (folder / "colour.png").write_bytes(colour)
    noisy = Image.effect_noise((1792, 1024), 60).convert("RGB")
    buf = io.BytesIO()
    noisy.save(buf, "PNG")
    (folder / "wide.png").write_bytes(buf.getvalue())
    return {
        "b&w doodle 1024²": "line.png",
        "colour doodle 1024²": "colour.png",
        "noisy 1792×1024": "wide.png",
    }


def _median_ms(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="telestrations-thumbs-"))
    try:
        pictures = _pictures(folder)
        print(f"load average {os.getloadavg()[0]:.2f}, median of {args.repeat} runs, ms")
        print(
            f"{'picture':22} {'terminal':9} {'pixels':7} {'cold':>6} {'warm':>6} {'lines':>6}"
            f" {'plain':>6}"
        )
        for label, name in pictures.items():
            with Image.open(folder / name) as im:
                kind = "line art" if is_line_art(im.convert("RGB")) else ""
            for term, (w, h) in SIZES.items():

                def cold(name: str = name, w: int = w, h: int = h) -> None:
                    shutil.rmtree(folder / "thumbs", ignore_errors=True)
                    load_thumbnail(folder, name, w, h)

                def warm(name: str = name, w: int = w, h: int = h) -> None:
                    load_thumbnail(folder, name, w, h)

                def plain(name: str = name, w: int = w, h: int = h) -> None:
                    with Image.open(folder / name) as im:
                        im.convert("RGB").resize((w, h), Image.Resampling.LANCZOS)

                c = _median_ms(cold, args.repeat)
                thumb = load_thumbnail(folder, name, w, h)
                lines = _median_ms(lambda thumb=thumb: halfcell_strips(thumb), args.repeat)
                print(
                    f"{label:22} {term:9} {w}x{h:<4} {c:6.1f} {_median_ms(warm, args.repeat):6.1f}"
                    f" {lines:6.1f} {_median_ms(plain, args.repeat):6.1f}  {kind}"
                )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
