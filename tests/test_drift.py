"""Drift and convergence: the text measure on known pairs, half-life, stable chains and cycles
on constructed chains, the engine journalling them, and `run --until-converged` end to end."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from itertools import cycle
from pathlib import Path

import pytest

from telestrations.config import parse_config
from telestrations.drift import (
    Convergence,
    chain_drift,
    convergence,
    half_life,
    similarity,
    sparkline,
)
from telestrations.game import Game, Limits, Settings
from telestrations.providers.base import Caption, Picture
from telestrations.store import GameDir, Store
from telestrations.turns import TurnRecord, overlap
from tests.fakes.ollama_api import FakeModel, FakeOllama
from tests.test_game import Drawer

# -- the measure -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "low", "high"),
    [
        ("a red house", "a red house", 1.0, 1.0),
        ("a red house", "the red houses", 1.0, 1.0),  # stop words and plural
        ("A RED House!", "a red house", 1.0, 1.0),  # case and punctuation
        ("a red house", "a blue boat", 0.0, 0.0),
        ("a red house", "a house painted red", 0.6, 0.7),  # same words, other order
        ("a sailboat on the sea", "a boat on the water", 0.1, 0.2),  # shared characters
        ("a cat sleeping on a sofa", "a kitten sleeps on a couch", 0.25, 0.35),
        ("", "", 1.0, 1.0),
        ("the image shows", "a drawing of", 1.0, 1.0),  # no content word on either side
        ("a cat", "", 0.0, 0.0),
    ],
)
def test_similarity_of_known_pairs(a: str, b: str, low: float, high: float) -> None:
    assert low <= similarity(a, b) <= high
    assert similarity(a, b) == similarity(b, a)


def test_better_than_word_overlap_where_words_differ_but_meaning_does_not() -> None:
    assert overlap("a sailboat on the sea", "a boat on the water") == 0.0
    assert similarity("a sailboat on the sea", "a boat on the water") > 0.1
    # and a near-repeat with one word changed stays near-identical
    assert similarity("a black cat under a big tree", "a black cat under a tall tree") > 0.5


def test_half_life() -> None:
    assert half_life([0.8, 0.6, 0.41, 0.39, 0.1]) == 4
    assert half_life([0.8, 0.5, 0.4]) is None  # 0.4 is half, not below it
    assert half_life([0.0, 0.0]) is None  # round 1 already shared nothing with the origin
    assert half_life([]) is None


def test_sparkline() -> None:
    assert sparkline([0.0, 0.5, 1.0]) == "▁▅█"
    assert sparkline([0.0, 0.5, 1.0], width=2) == "▅█"


# -- convergence on constructed chains ----------------------------------------------------

P = "a red house under a yellow sun"
A, B, C, D = "a cat on a mat", "a dog in fog", "a ship at sea", "two birds on a wire"


def test_stable_after_k_near_identical_captions_in_a_row() -> None:
    chain = [A, B, C, "a ship at the sea", "ships at sea"]
    assert convergence(P, chain[:3]) is None
    assert convergence(P, chain[:4]) is None  # two in a row is not three
    assert convergence(P, chain) == Convergence("stable", 5, 3, 3)
    assert convergence(P, chain, k=4) is None
    assert convergence(P, chain[:4], k=2) == Convergence("stable", 4, 3, 2)
    assert Convergence("stable", 5, 3).describe() == "converged: unchanged since round 3"


def test_cycle_back_to_a_caption_k_or_more_rounds_back() -> None:
    assert convergence(P, [A, B, A]) is None  # period 2 < k = 3
    assert convergence(P, [A, B, A], k=2) == Convergence("cycle", 3, 1, 2)
    assert convergence(P, [A, B, C, A]) == Convergence("cycle", 4, 1, 3)
    assert convergence(P, [A, B, C, D, B]) == Convergence("cycle", 5, 2, 3)
    # the nearest earlier state is named when it came back to several
    assert convergence(P, [A, B, C, A, D, C, A]) == Convergence("cycle", 7, 4, 3)
    assert Convergence("cycle", 4, 1).describe() == "cycle: back to round 1 (period 3)"


def test_cycle_back_to_the_first_prompt() -> None:
    found = convergence(P, [A, B, "the red houses under yellow suns"])
    assert found == Convergence("cycle", 3, 0, 3)
    assert found.describe() == "cycle: back to the first prompt (period 3)"
    assert convergence(P, [A, "a red house under a yellow sun"]) is None  # too soon


def test_a_drifting_chain_never_converges() -> None:
    chain = [A, B, C, D, "a fish in a bowl", "a kite in the sky", "an old car"]
    assert all(convergence(P, chain[: i + 1]) is None for i in range(len(chain)))


# -- journals -------------------------------------------------------------------------------


def _journal(tmp_path: Path, captions: list[str], **sims: dict[str, float]) -> GameDir:
    game = Store(tmp_path).new_game(P, {})
    seq = 0
    for n, caption in enumerate(captions, 1):
        for kind in ("draw", "describe"):
            seq += 1
            game.append(
                TurnRecord(
                    seq,
                    n,
                    kind,  # type: ignore[arg-type]
                    "m",
                    "ok",
                    "x",
                    output=caption if kind == "describe" else f"r{n:04d}-draw.png",
                    similarity=sims.get(f"r{n}") if kind == "describe" else None,
                )
            )
    return GameDir.open(game.path)


def test_old_journals_are_measured_on_the_fly(tmp_path: Path) -> None:
    """A journal from before the measure (word overlap only) is recomputed whole."""
    old = {"to_first_prompt": 0.9, "to_drawn_text": 0.9}
    game = _journal(tmp_path, [A, B, C, A], r1=old, r2=old, r3=old, r4=old)
    drift = chain_drift(game.first_prompt, game.records)
    assert [d.round for d in drift] == [1, 2, 3, 4]
    assert drift[0].to_origin == similarity(P, A) and drift[1].to_previous == similarity(A, B)
    assert drift[3].converged == Convergence("cycle", 4, 1, 3)


def test_journalled_figures_are_read_not_recomputed(tmp_path: Path) -> None:
    kept = {"to_first_prompt": 0.77, "to_previous": 0.66}
    game = _journal(tmp_path, [A, B], r1=kept, r2=kept)
    drift = chain_drift(game.first_prompt, game.records)
    assert [(d.to_origin, d.to_previous) for d in drift] == [(0.77, 0.66)] * 2


# -- the engine -------------------------------------------------------------------------


class Scripted:
    """A guesser that says the captions it is given, in order, round after round."""

    def __init__(self, captions: list[str]) -> None:
        self.captions = cycle(captions)

    async def describe(self, picture: Picture, system: str, prompt: str) -> Caption:
        return Caption(next(self.captions))


class Models:
    def __init__(self, captions: list[str]) -> None:
        self.d, self.g = Drawer(cost=None), Scripted(captions)

    def drawer(self, model_id: str) -> Drawer:
        return self.d

    def guesser(self, model_id: str) -> Scripted:
        return self.g  # type: ignore[return-value]


def _game(tmp_path: Path, captions: list[str], **limits: object) -> Game:
    game_dir = Store(tmp_path).new_game(P, {})
    return Game(game_dir, Models(captions), Settings(drawer="d", guesser="g"), Limits(**limits))  # type: ignore[arg-type]


async def test_the_engine_journals_drift_and_a_cycle_and_stops_there_when_asked(
    tmp_path: Path,
) -> None:
    game = _game(tmp_path / "a", [A, B, C], until_converged=True, rounds=20)
    game.start()
    await game.wait()
    assert game.state == "stopped" and game.reason == "cycle: back to round 1 (period 3)"
    assert game.rounds_done == 4
    again = GameDir.open(game.dir.path)  # what the journal says, not what memory holds
    describes = [r for r in again.records if r.kind == "describe"]
    assert [r.converged for r in describes] == [
        None,
        None,
        None,
        Convergence("cycle", 4, 1, 3).to_json(),
    ]
    assert describes[1].similarity == {
        "to_first_prompt": similarity(P, B),
        "to_previous": similarity(A, B),
    }


async def test_without_the_option_a_converged_chain_plays_on(tmp_path: Path) -> None:
    game = _game(tmp_path, [A, B, C], rounds=6)
    game.start()
    await game.wait()
    assert game.reason == "finished round 6"
    assert game.convergence == Convergence("cycle", 6, 3, 3)  # detected and kept all the same
    converged = [r.round for r in game.records if r.converged]
    assert converged == [4, 5, 6]


async def test_converge_after_sets_k(tmp_path: Path) -> None:
    game = _game(tmp_path, [A, B], until_converged=True, converge_after=2, rounds=20)
    game.start()
    await game.wait()
    assert game.reason == "cycle: back to round 1 (period 2)" and game.rounds_done == 3


def test_config_until_converged_and_the_old_alias(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    limits = parse_config({"game": {"until_converged": True, "converge_after": 4}}, path)
    assert limits.game.limits().until_converged and limits.game.limits().converge_after == 4
    old = parse_config({"game": {"stop_when_stable": True}}, path).game.limits()
    assert old.until_converged and old.converge_after == 3
    assert not parse_config({}, path).game.limits().until_converged
    with pytest.raises(Exception, match="converge_after must be 2 or more"):
        parse_config({"game": {"converge_after": 1}}, path)


# -- the command line ---------------------------------------------------------------------


@pytest.fixture
def ollama() -> Iterator[FakeOllama]:
    """An Ollama whose llava comes back to its first caption every third round."""
    said = cycle([A, B, C])
    api = FakeOllama([FakeModel("llava:latest", reply=lambda *_: next(said))]).start()
    yield api
    api.stop()


def tele(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "telestrations", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_run_until_converged_stops_at_the_cycle_and_show_prints_it(ollama: FakeOllama) -> None:
    env = {"OLLAMA_HOST": ollama.url}
    args = ["run", "--prompt", P, "--rounds", "20", "--guesser", "ollama:llava", "--no-check"]
    out = tele(*args, "--until-converged", env=env)
    assert out.returncode == 0, out.stderr
    assert "cycle: back to round 1 (period 3) · 4 rounds in the game" in out.stdout
    shown = tele("show", "last").stdout.splitlines()
    assert "half-life" in shown[2] and "cycle: back to round 1 (period 3)" in shown[2]
    table = shown.index(next(line for line in shown if line.startswith("round  origin")))
    rows = [line.split() for line in shown[table + 1 :]]
    assert [r[0] for r in rows] == ["1", "2", "3", "4"]
    assert float(rows[0][1]) == similarity(P, A) and float(rows[1][2]) == similarity(A, B)
    assert shown[-1].endswith("[cycle: back to round 1 (period 3)]")
    bad = tele(*args, "--converge-after", "1", env=env)
    assert bad.returncode == 2 and "--converge-after must be 2 or more" in bad.stderr
