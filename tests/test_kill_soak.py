"""A short kill -9 soak (the long one is ``bench/kill_soak.py``): a headless game killed at
random moments and resumed after each kill loses no finished turn and repeats none."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "kill_soak.py"


def test_random_kills_lose_and_repeat_nothing(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("kill_soak", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    fig = module.soak(tmp_path, kills=5, seed=7, max_delay=1.6)
    assert fig.problems == []
    assert fig.kills == fig.survived == 5
    assert fig.lost == fig.duplicated == fig.unprinted == 0
    assert fig.turns >= 4  # the game really played between the kills
