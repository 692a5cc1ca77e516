"""Faults tried and handled: every sequence of half-failed, fsync-failed and stuck writes
(4 modes, 4 attempts deep) over three journal appends, each retried until it succeeds.

    cd <repo> && /work/venv/bin/python bench/store_faults.py

Uses the fault layer of ``tests/test_store_faults.py`` (``os.write``/``fsync``/``ftruncate``
at the OS boundary) and prints attempts, failures, journals loadable, turns lost/duplicated.
"""

from __future__ import annotations

import itertools
import logging
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from telestrations.store import GameDir, Store
from tests.test_store_faults import MODES, Faults, turn


def main() -> int:
    logging.disable(logging.WARNING)
    patch = pytest.MonkeyPatch()
    faults = Faults(patch, "/journal.jsonl", exact=True)
    sequences = list(itertools.product(MODES, repeat=4))
    loadable = lost = duplicated = 0
    with tempfile.TemporaryDirectory(prefix="store-faults-") as tmp:
        for n, modes in enumerate(sequences):
            game = Store(Path(tmp) / str(n)).new_game("p", {})
            faults.plan = list(modes)
            for seq in (1, 2, 3):
                for _ in range(10):
                    try:
                        game.append(turn(seq, "a long caption " * 40))
                        break
                    except OSError:
                        continue
            loaded = GameDir.open(game.path)
            seqs = [r.seq for r in loaded.records]
            loadable += not [w for w in loaded.warnings if "line" in w]  # no pictures here
            lost += len({1, 2, 3} - set(seqs))
            duplicated += len(seqs) - len(set(seqs))
    patch.undo()
    print(f"sequences: {len(sequences)}  write attempts: {faults.tried}  failed: {faults.failed}")
    print(f"journals loadable with no warning: {loadable}/{len(sequences)}")
    print(f"turns lost: {lost}  duplicated: {duplicated}")
    return 0 if loadable == len(sequences) and not lost and not duplicated else 1


if __name__ == "__main__":
    raise SystemExit(main())
