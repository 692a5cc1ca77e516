"""Kill -9 soak: a headless game is SIGKILLed at random moments and resumed after each kill.

Each cycle starts ``telestrations run`` (the first with ``--prompt``, then ``--resume last``)
on the offline doodle pair, kills it after a random delay (so kills land in start-up, in a
drawing, in a describe and in the middle of writing a turn), then checks the game on disk.
Every other cycle counts its delay from the process's first printed turn rather than from
its start, so the game plays between kills however long start-up takes on a slow or loaded
machine (counted from the start only, every kill could land in start-up there).
Then it checks:

- every turn on disk before the kill is still there, unchanged (no finished turn lost);
- every turn the process printed (``--json``) is on disk (nothing shown but not kept);
- the chain has no gap and no duplicate: (1, draw), (1, describe), (2, draw), ...;
- journal positions run 1, 2, 3 ... and every line but a torn last one loads.

    /work/venv/bin/python bench/kill_soak.py [--kills 50] [--seed 1] [--max-delay 2.5]

Prints kills survived, turns lost and duplicated, torn tails met, and exits 1 on any loss.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from telestrations.store import GameDir, Store

Key = tuple[int, int, str, str, str]
FINAL_RUN = ["run", "--resume", "last", "--rounds", "1", "-q", "--no-check"]


@dataclass
class Figures:
    kills: int = 0
    survived: int = 0
    lost: int = 0
    duplicated: int = 0
    unprinted: int = 0
    torn: int = 0
    turns: int = 0
    problems: list[str] = field(default_factory=list)


def _keys(game: GameDir) -> list[Key]:
    return [(r.seq, r.round, r.kind, r.status, r.output) for r in game.records]


def _check(folder: Path, before: list[Key], printed: list[Key], fig: Figures) -> bool:
    game = GameDir.open(folder)
    now = _keys(game)
    ok = True
    torn = [w for w in game.warnings if "torn last line" in w]
    other = [w for w in game.warnings if w not in torn]
    fig.torn += len(torn)
    if other:
        fig.problems.append(f"warnings: {other}")
        ok = False
    lost = [k for k in before if k not in now]
    if lost or now[: len(before)] != before:
        fig.lost += max(1, len(lost))
        fig.problems.append(f"lost or changed: {lost or now[: len(before)]}")
        ok = False
    missing = [k for k in printed if k not in now]
    if missing:
        fig.unprinted += len(missing)
        fig.problems.append(f"printed but not on disk: {missing}")
        ok = False
    chain = [(r.round, r.kind) for r in game.records if r.ok]
    expected = [(n // 2 + 1, "draw" if n % 2 == 0 else "describe") for n in range(len(chain))]
    if chain != expected:
        fig.duplicated += 1
        fig.problems.append(f"chain has a gap or a duplicate: {chain}")
        ok = False
    if [r.seq for r in game.records] != list(range(1, len(game.records) + 1)):
        fig.problems.append("journal positions are not 1, 2, 3 ...")
        ok = False
    fig.turns = len(now)
    return ok


def _first_turn(out: IO[str], proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Wait (bounded) until ``proc`` has printed a whole turn line to ``out``, or has ended.
    Read with ``pread``: the child writes through the same file offset, which a seek moves."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        lines = os.pread(out.fileno(), 1 << 20, 0).split(b"\n")[:-1]  # whole lines only
        if any(b'"type": "turn"' in line for line in lines):
            return
        time.sleep(0.02)


def soak(
    data_dir: Path, kills: int, seed: int, max_delay: float, python: str = sys.executable
) -> Figures:
    """Run ``kills`` kill-and-resume cycles in ``data_dir``; returns the figures."""
    rng = random.Random(seed)
    fig = Figures()
    env = {**os.environ, "TELESTRATIONS_DATA_DIR": str(data_dir)}
    store = Store(data_dir)
    folder: Path | None = None
    before: list[Key] = []
    for cycle in range(kills):
        if folder is None:
            args = ["run", "--prompt", "two cats under the moon", "--rounds", "0"]
        else:
            args = ["run", "--resume", "last", "--rounds", "0"]
        with tempfile.TemporaryFile("w+") as out:
            proc = subprocess.Popen(
                [python, "-m", "telestrations", *args, "--json", "--no-check"],
                stdout=out,
                stderr=subprocess.DEVNULL,
                env=env,
            )
            delay = rng.uniform(0.2, max_delay)
            if cycle % 2 == 1:
                _first_turn(out, proc)
            time.sleep(delay)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
            out.seek(0)
            printed: list[Key] = []
            for line in out.read().splitlines():
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue  # the kill cut the line being printed
                if obj.get("type") == "turn":
                    printed.append(
                        (obj["seq"], obj["round"], obj["kind"], obj["status"], obj["output"])
                    )
        fig.kills += 1
        try:
            folder = store.find("last")
        except LookupError:
            fig.survived += 1  # killed before the game existed: nothing to lose yet
            continue
        if _check(folder, before, printed, fig):
            fig.survived += 1
        before = _keys(GameDir.open(folder))
    if folder is not None:  # a last clean run ends the soak: the game still plays on
        done = subprocess.run(
            [python, "-m", "telestrations", *FINAL_RUN],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        if done.returncode != 0:
            fig.problems.append(f"final resume failed: {done.stderr.strip()}")
        elif not _check(folder, before, [], fig):
            fig.problems.append("final resume left the game inconsistent")
        stale = [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]
        if stale:
            fig.problems.append(f"temp files left after a resume: {stale}")
    return fig


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-delay", type=float, default=2.5, help="seconds before a kill")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kill-soak-") as tmp:
        t0 = time.monotonic()
        fig = soak(Path(tmp), args.kills, args.seed, args.max_delay)
        took = time.monotonic() - t0
    print(f"kills: {fig.kills}  survived: {fig.survived}  turns on disk: {fig.turns}")
    print(
        f"turns lost: {fig.lost}  duplicated: {fig.duplicated}  printed but lost: {fig.unprinted}"
    )
    print(f"torn last lines met (and cut): {fig.torn}  time: {took:.1f} s")
    for problem in fig.problems[:10]:
        print(f"problem: {problem}")
    return 0 if not fig.problems and fig.survived == fig.kills else 1


if __name__ == "__main__":
    raise SystemExit(main())
