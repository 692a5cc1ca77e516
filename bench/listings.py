"""What a cached model listing costs at start-up: ``Runtime.load`` reads one small JSON file
per provider before the UI starts, so menus open with the services' models at once.

Saves a listing of N models (as OpenAI's ``GET /v1/models`` gives about 100-300) and loads
it repeatedly; prints the file size and the min/median load time.

    /work/venv/bin/python bench/listings.py               # 300 models, 30 loads
    /work/venv/bin/python bench/listings.py --models 1000
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from telestrations.providers.base import ModelInfo
from telestrations.providers.listings import Listing, ListingCache


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=300)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="listings-bench-"))
    cache = ListingCache(folder)
    source = "https://api.openai.com/v1"
    models = tuple(
        ModelInfo("openai", f"model-{i}", "guesser", note="listed by the server", discovered=True)
        for i in range(args.models)
    )
    start = time.perf_counter()
    cache.save(Listing("openai", source, time.time(), models))
    saved = (time.perf_counter() - start) * 1000
    runs = []
    for _ in range(args.runs):
        start = time.perf_counter()
        listing = cache.load("openai", source)
        runs.append((time.perf_counter() - start) * 1000)
        assert listing is not None and len(listing.models) == args.models
    size = cache.path_for("openai", source).stat().st_size
    print(f"{args.models} models, file {size} bytes, save {saved:.1f} ms")
    print(f"load: min {min(runs):.2f} ms, median {statistics.median(runs):.2f} ms")
    print(f"load average {os.getloadavg()[0]:.2f}")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
