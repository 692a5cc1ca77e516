"""Peak memory of looking at a small file with huge dimensions (issue 7 part 5).

Writes a 6000×6000 PNG of a few dozen KB (streamed, so this script never holds its pixels),
then, each in a fresh process, runs one consumer on it and prints how far the peak resident
set grew over the process's steady state (after imports and reading the file):

- guesser: the offline doodle guesser's ``describe_bytes`` (what a describe turn does);
- check:   the HTTP layer's image check (``_verify_image``, on every drawn picture);
- thumb:   the TUI's history thumbnail (``load_thumbnail``, 80 px wide);
- viewer:  the TUI's full-size viewer (``load_scaled``, 1600×1000).

    python bench/image_memory.py [--size 6000] [--mode RGBA|RGB|P] [--only guesser]
                                 [--format png|jpeg|gif|webp]
                                 [--src /path/to/another/checkout]

``--json`` prints one JSON object per consumer instead (the tests read it).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONSUMERS = ("guesser", "check", "thumb", "viewer")
FORMAT_OPTIONS: dict[str, dict[str, object]] = {
    "png": {},
    "jpeg": {"quality": 85},
    "gif": {},
    "webp": {"lossless": True},
}
"""The picture is also written in these formats (``--format``), from the PNG."""


def write_png(path: Path, width: int, height: int, mode: str = "RGBA") -> int:
    """A doodle-like picture (white, a red box, a blue disc-ish band, a black frame) as an
    8-bit PNG, written row by row; returns the file size."""
    ctype, bpp = {"RGBA": (6, 4), "RGB": (2, 3), "P": (3, 1)}[mode]
    if mode == "P":
        white, red, blue, black = b"\x00", b"\x01", b"\x02", b"\x03"
    else:
        alpha = b"\xff" if mode == "RGBA" else b""
        white, red, blue, black = (
            c + alpha for c in (b"\xff\xff\xff", b"\xdc\x14\x14", b"\x1e\x3c\xa0", b"\x00\x00\x00")
        )
    squeeze = zlib.compressobj(9)
    chunks: list[bytes] = []
    frame = max(1, width // 200)
    for y in range(height):
        row = bytearray(black * width)
        if frame <= y < height - frame:
            row = bytearray(white * width)
            row[: frame * bpp] = black * frame
            row[(width - frame) * bpp :] = black * frame
            if height // 3 <= y < height * 2 // 3:
                row[width // 4 * bpp : width // 2 * bpp] = red * (width // 2 - width // 4)
            cy, r = height // 2, height // 6
            if abs(y - cy) < r:
                half = int((r * r - (y - cy) ** 2) ** 0.5)
                x0, x1 = width * 3 // 4 - half, width * 3 // 4 + half
                x0, x1 = max(frame, x0), min(width - frame, x1)
                row[x0 * bpp : x1 * bpp] = blue * (x1 - x0)
        chunks.append(squeeze.compress(b"\x00" + row))
    chunks.append(squeeze.flush())
    idat = b"".join(chunks)

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    png = b"\x89PNG\r\n\x1a\n" + chunk(
        b"IHDR", struct.pack(">IIBBBBB", width, height, 8, ctype, 0, 0, 0)
    )
    if mode == "P":
        png += chunk(b"PLTE", b"\xff\xff\xff\xdc\x14\x14\x1e\x3c\xa0\x00\x00\x00")
    png += chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    path.write_bytes(png)
    return len(png)


def _peak_mb() -> float:
    """This process's peak resident set, in MiB.

    Linux's ``VmHWM`` belongs to the running program; ``ru_maxrss`` survives fork and exec,
    so it would count this script's parent (which wrote the picture) too.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child(what: str, path: Path) -> dict[str, object]:
    """Run one consumer in this (fresh) process; peak RSS growth over the steady state."""
    import importlib

    # The steady state: everything imported, the file read.
    for module in ("doodle.guesser", "http", "base"):
        importlib.import_module(f"telestrations.providers.{module}")
    if what in ("thumb", "viewer"):
        importlib.import_module("telestrations.tui.images")
    data = path.read_bytes()
    before = _peak_mb()
    t0 = time.perf_counter()
    result: object
    try:
        result = _consume(what, path, data)
    except Exception as exc:  # a refusal is a result too
        result = f"refused: {type(exc).__name__}: {exc}"
    took = time.perf_counter() - t0
    after = _peak_mb()
    return {
        "what": what,
        "steady_mb": round(before, 1),
        "peak_mb": round(after, 1),
        "growth_mb": round(after - before, 1),
        "seconds": round(took, 2),
        "result": str(result),
    }


def _consume(what: str, path: Path, data: bytes) -> object:
    from telestrations.providers.base import sniff_format
    from telestrations.providers.doodle.guesser import describe_bytes
    from telestrations.providers.http.images import _verify_image

    result: object
    if what == "guesser":
        prompt = "Describe what happens in this image in up to 10 words"
        result = describe_bytes(data, "", prompt)[0]
    elif what == "check":
        result = _verify_image(data, sniff_format(data) or "png", 40_000_000)
    elif what == "thumb":
        from telestrations.tui.thumbnail import load_thumbnail

        result = load_thumbnail(path.parent, path.name, 80, 80).size
    else:
        from telestrations.tui.images import load_scaled

        result = load_scaled(path, 1600, 1000).size
    return result


def measure(what: str, path: Path, src: Path = ROOT) -> dict[str, object]:
    """``what`` in a fresh process running the code in ``src`` (a checkout)."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run(
        [sys.executable, __file__, "--child", what, str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=6000)
    parser.add_argument("--mode", choices=("RGBA", "RGB", "P"), default="RGBA")
    parser.add_argument("--format", choices=tuple(FORMAT_OPTIONS), default="png")
    parser.add_argument("--only", choices=CONSUMERS, action="append")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--src", type=Path, default=ROOT, help="the checkout to measure (to compare with another)"
    )
    parser.add_argument("--child", nargs=2, metavar=("WHAT", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], Path(args.child[1]))))
        return
    with tempfile.TemporaryDirectory(prefix="telestrations-mem-") as tmp:
        path = Path(tmp) / "huge.png"
        size = write_png(path, args.size, args.size, args.mode)
        if args.format != "png":  # made from the PNG here, whole: only the children count
            from PIL import Image

            with Image.open(path) as im:
                again = path.with_suffix(f".{args.format}")
                im.save(again, args.format.upper(), **FORMAT_OPTIONS[args.format])
            path, size = again, again.stat().st_size
        if not args.json:
            mpx = args.size * args.size / 1e6
            what = f"{args.mode} {args.format.upper()}"
            print(f"image: {args.size}×{args.size} {what} ({mpx:.0f} Mpx), {size / 1024:.0f} KB")
        for what in args.only or CONSUMERS:
            figures = measure(what, path, args.src)
            if args.json:
                print(json.dumps(figures))
            else:
                print(
                    f"{what:>8}: peak RSS {figures['peak_mb']:7.1f} MiB, "
                    f"{figures['growth_mb']:6.1f} MiB over the steady state "
                    f"({figures['steady_mb']} MiB), {figures['seconds']} s  → {figures['result']}"
                )


if __name__ == "__main__":
    main()
