"""`telestrations batch`: many chains at once, as a researcher runs it (real subprocesses, the
offline doodle pair and a loopback OpenAI-compatible server that counts concurrent calls)."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from telestrations.batch import CHAIN_FIELDS, ROW_FIELDS, Gate, Pair, read_prompts
from telestrations.drift import similarity
from telestrations.store import GameDir
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.server import Reply, Request

TIMEOUT = 90
DOODLE = "doodle:doodle,doodle:doodle"
OPENAI = "openai:gpt-image-2,openai:gpt-4o-mini"
KEY = "sk-fake-0123456789abcdefghij"


@dataclass
class CountingOpenAI(FakeOpenAI):
    """The OpenAI fake, answering every POST after ``delay`` seconds and counting how many
    calls are in the server at once (``peak``)."""

    delay: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        self.lock = threading.Lock()
        self.now = 0
        self.peak = 0
        self.posts = 0

    def handle(self, req: Request) -> Reply:
        if req.method != "POST":
            return super().handle(req)
        with self.lock:
            self.now += 1
            self.posts += 1
            self.peak = max(self.peak, self.now)
        try:
            time.sleep(self.delay)
            return super().handle(req)
        finally:
            with self.lock:
                self.now -= 1


@pytest.fixture
def fake(isolated_env: Path):
    api = CountingOpenAI(delay=0.05)
    api.start()
    isolated_env.mkdir(parents=True, exist_ok=True)
    (isolated_env / "config.toml").write_text(
        f'[providers.openai]\nbase_url = "{api.url}/v1"\ncompatible = false\n\n'
        '[prices]\n"openai:gpt-image-2" = 0.04\n"openai:gpt-4o-mini" = 0.01\n'
    )
    yield api
    api.stop()


def tele(*args: str, timeout: float = TIMEOUT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "telestrations", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "OPENAI_API_KEY": KEY},
    )


def prompts_file(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "prompts.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def rows_of(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def batch_folder(home: Path) -> Path:
    (folder,) = (home / "data" / "batches").iterdir()
    return folder


def game(home: Path, name: str) -> GameDir:
    return GameDir.open(home / "data" / "games" / name)


def assert_each_round_once(folder: Path, home: Path, chains: int, rounds: int) -> None:
    """The CSV has every (chain, round) exactly once, and so has every game's journal."""
    rows = rows_of(folder / "summary.csv")
    keys = [(int(r["chain"]), int(r["round"])) for r in rows]
    assert sorted(keys) == [(c, n) for c in range(1, chains + 1) for n in range(1, rounds + 1)]
    manifest = json.loads((folder / "manifest.json").read_text())
    for chain in manifest["chains"]:
        records = [r for r in game(home, chain["game"]).records if r.ok]
        for kind in ("draw", "describe"):
            assert sorted(r.round for r in records if r.kind == kind) == list(
                range(1, rounds + 1)
            ), chain


def test_prompts_file_skips_comments_and_cleans_lines() -> None:
    text = "# a comment\n\n  a red house  \n\x1b]0;pwned\x07two cats\x1b[31m red\n   # also\n"
    assert read_prompts(text) == ["a red house", "two cats red"]
    assert Pair.parse(" doodle:doodle , openai:gpt-4o ") == Pair("doodle:doodle", "openai:gpt-4o")


async def test_gate_serves_the_longest_chain_first() -> None:
    import asyncio

    gate = Gate(1)
    await gate.acquire(0)
    order: list[int] = []

    async def wait(priority: int) -> None:
        await gate.acquire(priority)
        order.append(priority)
        gate.release()

    tasks = [asyncio.ensure_future(wait(p)) for p in (3, 9, 5)]
    await asyncio.sleep(0)
    gate.release()
    await asyncio.gather(*tasks)
    assert order == [9, 5, 3] and gate.peak == 1


def test_doodle_and_loopback_pairs(isolated_env: Path, tmp_path: Path, fake: CountingOpenAI):
    """Three prompts × two pairs, three rounds: every round a row with the right figures, each
    chain a normal game, and the per-chain half-life and convergence in chains.csv."""
    path = prompts_file(
        tmp_path,
        ["# prompts", "a red house under a yellow sun", "", "two cats on a boat", "a tree"],
    )
    out = tele("batch", str(path), "--rounds", "3", "--pair", DOODLE, "--pair", OPENAI)
    assert out.returncode == 0, out.stderr
    folder = batch_folder(isolated_env)
    rows = rows_of(folder / "summary.csv")
    assert len(rows) == 3 * 2 * 3 and list(rows[0]) == list(ROW_FIELDS)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["state"] == "finished" and manifest["unfinished"] == []
    assert manifest["prompts"] == ["a red house under a yellow sun", "two cats on a boat", "a tree"]
    assert [c["pair"] for c in manifest["chains"][:2]] == [DOODLE, OPENAI]
    by_chain = {c["chain"]: c for c in manifest["chains"]}
    for row in rows:
        chain = by_chain[int(row["chain"])]
        assert row["pair"] == chain["pair"] and row["game"] == chain["game"]
        assert int(row["prompt"]) == chain["prompt"]
        g = game(isolated_env, chain["game"])
        describe = [r for r in g.records if r.kind == "describe" and r.round == int(row["round"])]
        draw = [r for r in g.records if r.kind == "draw" and r.round == int(row["round"])]
        assert row["caption"] == describe[0].output and int(row["caption_chars"]) == len(
            describe[0].output
        )
        assert float(row["to_origin"]) == similarity(g.first_prompt, describe[0].output)
        previous = [r.output for r in g.records if r.kind == "describe"]
        before = previous[int(row["round"]) - 2] if int(row["round"]) > 1 else g.first_prompt
        assert float(row["to_previous"]) == similarity(before, describe[0].output)
        assert float(row["seconds"]) == pytest.approx(draw[0].duration + describe[0].duration)
        if chain["pair"] == OPENAI:
            assert float(row["seconds"]) >= 0.1  # two calls of 50 ms
            assert float(row["cost"]) == pytest.approx(draw[0].cost + describe[0].cost)
            assert draw[0].cost == 0.04
        else:
            assert float(row["cost"]) == 0.0
    chains = rows_of(folder / "chains.csv")
    assert list(chains[0]) == list(CHAIN_FIELDS) and len(chains) == 6
    assert {c["status"] for c in chains} == {"done"} and {c["rounds"] for c in chains} == {"3"}
    assert_each_round_once(folder, isolated_env, 6, 3)
    # the chains are ordinary games: listed, resumable, exportable
    listed = tele("games")
    assert all(c["game"] in listed.stdout for c in manifest["chains"])
    assert out.stdout.startswith("6 of 6 chains finished · 18/18 rounds · spent $0.")
    assert "18/18 rounds" in out.stderr  # the last progress line


def test_interrupted_and_resumed_has_every_round_once(
    isolated_env: Path, tmp_path: Path, fake: CountingOpenAI
) -> None:
    fake.delay = 0.15
    path = prompts_file(tmp_path, [f"prompt number {i}" for i in range(1, 5)])
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "telestrations",
            "batch",
            str(path),
            "--rounds",
            "4",
            "--pair",
            OPENAI,
            "--concurrency",
            "3",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OPENAI_API_KEY": KEY},
    )
    try:
        deadline = time.monotonic() + TIMEOUT
        summary = None
        while time.monotonic() < deadline:
            found = list((isolated_env / "data" / "batches").glob("*/summary.csv"))
            if found and len(rows_of(found[0])) >= 3:
                summary = found[0]
                break
            time.sleep(0.05)
        assert summary is not None, "no round finished"
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, stderr
    folder = summary.parent
    assert f"resume with: telestrations batch --resume {folder.name}" in stderr
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["state"] == "interrupted" and manifest["unfinished"]
    done_before = len(rows_of(summary))
    assert 3 <= done_before < 16
    posts_before = fake.posts

    out = tele("batch", "--resume", folder.name)
    assert out.returncode == 0, out.stderr
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["state"] == "finished" and manifest["unfinished"] == []
    assert_each_round_once(folder, isolated_env, 4, 4)
    # a finished round is never asked for again: at most the calls cancelled in flight (3)
    assert fake.posts - posts_before <= 2 * (16 - done_before) + 3


def test_budget_caps_the_whole_batch(isolated_env: Path, tmp_path: Path, fake: CountingOpenAI):
    path = prompts_file(tmp_path, ["a red house", "a blue boat", "a green tree"])
    out = tele(
        "batch", str(path), "--rounds", "3", "--pair", OPENAI, "--concurrency", "3",
        "--budget", "0.2", "--json",
    )  # fmt: skip
    assert out.returncode == 1, out.stderr
    end = json.loads(out.stdout.splitlines()[-1])
    assert end["type"] == "end" and end["state"] == "stopped"
    assert "budget $0.2 reached" in end["reason"]
    assert 0.08 <= end["spent"] <= 0.2  # a draw is 0.04: at most 5 of them fit
    folder = batch_folder(isolated_env)
    rows = rows_of(folder / "summary.csv")
    assert len(rows) == end["rounds"] < 9
    assert sum(float(r["cost"]) for r in rows) <= 0.2
    assert (
        "--budget USD" in out.stderr and "resume with: telestrations batch --resume" in out.stderr
    )
    # more money finishes the rest, each round once
    out = tele("batch", "--resume", "last", "--budget", "0")
    assert out.returncode == 0, out.stderr
    assert_each_round_once(folder, isolated_env, 3, 3)


def test_per_provider_limit_is_respected(
    isolated_env: Path, tmp_path: Path, fake: CountingOpenAI
) -> None:
    fake.delay = 0.1
    path = prompts_file(tmp_path, [f"prompt {i}" for i in range(6)])
    args = ["--rounds", "2", "--pair", OPENAI, "--concurrency", "6", "--no-check"]
    out = tele("batch", str(path), *args, "--per-provider", "openai=2")
    assert out.returncode == 0, out.stderr
    assert fake.peak == 2
    fake.peak = 0
    out = tele("batch", str(path), *args, "--concurrency", "4")
    assert out.returncode == 0, out.stderr
    assert 2 < fake.peak <= 4


def test_one_failing_chain_is_reported_and_the_rest_finish(
    isolated_env: Path, tmp_path: Path, fake: CountingOpenAI
) -> None:
    path = prompts_file(tmp_path, ["a red house", "a forbidden castle", "a blue boat"])
    out = tele("batch", str(path), "--rounds", "2", "--pair", OPENAI)
    assert out.returncode == 1
    assert (
        "chain 2 (prompt 2, openai:gpt-image-2,openai:gpt-4o-mini) failed: round 1 draw: refused"
        in out.stderr
    )
    chains = {c["chain"]: c for c in rows_of(batch_folder(isolated_env) / "chains.csv")}
    assert [chains[n]["status"] for n in ("1", "2", "3")] == ["done", "failed", "done"]
    assert "refused" in chains["2"]["error"]
    assert len(rows_of(batch_folder(isolated_env) / "summary.csv")) == 4


def test_every_chain_failing_stops_with_the_reason(
    isolated_env: Path, tmp_path: Path, fake: CountingOpenAI
) -> None:
    path = prompts_file(tmp_path, [f"prompt {i}" for i in range(20)])
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "telestrations",
            "batch",
            str(path),
            "--pair",
            OPENAI,
            "--no-check",
            "--concurrency",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, "OPENAI_API_KEY": "sk-wrong-0123456789abcdefghij"},
    )
    assert out.returncode == 1
    assert "every chain failed: round 1 draw: auth" in out.stdout
    assert "sk-wrong" not in out.stdout + out.stderr
    manifest = json.loads((batch_folder(isolated_env) / "manifest.json").read_text())
    assert manifest["state"] == "failed"
    assert fake.posts < 10  # it stopped instead of failing twenty chains one by one


def test_resume_refuses_a_new_plan(isolated_env: Path, tmp_path: Path) -> None:
    path = prompts_file(tmp_path, ["a red house"])
    out = tele("batch", str(path), "--rounds", "1", "--pair", DOODLE, "-o", str(tmp_path / "b"))
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "b" / "manifest.json").is_file()
    out = tele("batch", "--resume", str(tmp_path / "b"), "--rounds", "3")
    assert out.returncode == 2 and "--rounds cannot be used with --resume" in out.stderr
    out = tele("batch", "--resume", str(tmp_path / "b"), "--preset", "funnier")
    assert out.returncode == 2 and "--preset cannot be used with --resume" in out.stderr
    out = tele("batch", "--resume", "nothing-here")
    assert out.returncode == 2 and "no batch 'nothing-here'" in out.stderr
    out = tele("batch", str(path), "-o", str(tmp_path / "b"))
    assert out.returncode == 2 and "holds a batch" in out.stderr
    # one runner per batch: a second is refused, naming the one that has it
    from telestrations.lock import take_lock

    with take_lock(tmp_path / "b"):
        out = tele("batch", "--resume", str(tmp_path / "b"))
    assert out.returncode == 2 and f"batch b is being played by process {os.getpid()}" in out.stderr


def test_help_and_progress_line_on_a_terminal(isolated_env: Path, tmp_path: Path) -> None:
    out = tele("batch", "--help")
    for flag in ("--rounds", "--pair", "--concurrency", "--per-provider", "--budget", "--resume"):
        assert flag in out.stdout
    assert "batch" in tele("--help").stdout
    import pty

    main, side = pty.openpty()
    path = prompts_file(tmp_path, ["a red house", "a blue boat"])
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "telestrations", "batch", str(path), "--rounds", "2"],
            stdout=subprocess.PIPE,
            stderr=side,
            timeout=TIMEOUT,
        )
        os.close(side)
        seen = b""
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(main)
    assert proc.returncode == 0
    # redrawn in place: carriage return, the line, clear to its end; a newline only at the end
    assert b"\r[########################] 4/4 rounds" in seen and b"\x1b[K" in seen
    assert seen.count(b"\n") == 1 and seen.endswith(b"\n"), seen


def test_hostile_prompts_reach_no_terminal_and_no_csv_cell(
    isolated_env: Path, tmp_path: Path
) -> None:
    hostile = "=cmd|' /C calc'!A0 a red \x1b]0;PWNED\x07house\x1b[2J under a sun\x9b31m"
    path = prompts_file(tmp_path, [hostile, "-2+3 a blue boat"])
    out = tele("batch", str(path), "--rounds", "1", "--json")
    assert out.returncode == 0, out.stderr
    for text in (out.stdout, out.stderr):
        assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text
    folder = batch_folder(isolated_env)
    raw = (folder / "summary.csv").read_text(encoding="utf-8")
    assert "\x1b" not in raw and "\x07" not in raw and "\x9b" not in raw
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["prompts"][0] == "=cmd|' /C calc'!A0 a red house under a sun"
    assert game(isolated_env, manifest["chains"][0]["game"]).first_prompt == manifest["prompts"][0]
    for row in rows_of(folder / "summary.csv"):
        assert row["caption"][:1] not in "=+-@"


def test_summary_row_of_a_round() -> None:
    from telestrations.batch import Chain, summary_row
    from telestrations.turns import TurnRecord

    chain = Chain(4, 2, "a red house", Pair("doodle:doodle", "x:y"), game="g1")
    draw = TurnRecord(1, 3, "draw", "doodle:doodle", "ok", "t", duration=0.5, cost=0.04)
    describe = TurnRecord(
        2, 3, "describe", "x:y", "ok", "p", output='=HYPERLINK("http://x")\x1b[2J',
        duration=0.25, cost=None, similarity={"to_first_prompt": 0.5, "to_previous": 0.25},
    )  # fmt: skip
    row = summary_row(chain, describe, draw)
    assert row == {
        "chain": 4,
        "prompt": 2,
        "pair": "doodle:doodle,x:y",
        "round": 3,
        "to_origin": 0.5,
        "to_previous": 0.25,
        "caption_chars": 22,  # as shown: the escape sequence is not text
        "seconds": 0.75,
        "cost": "",  # one of the two turns has an unknown cost
        "game": "g1",
        "caption": '\'=HYPERLINK("http://x")',
    }
    assert summary_row(chain, replace(describe, cost=0.01), draw)["cost"] == 0.05


def test_preset_and_settings_are_kept_for_every_chain(isolated_env: Path, tmp_path: Path) -> None:
    path = prompts_file(tmp_path, ["a red house"])
    out = tele("batch", str(path), "--rounds", "1", "--preset", "funnier", "--style", "")
    assert out.returncode == 0, out.stderr
    manifest = json.loads((batch_folder(isolated_env) / "manifest.json").read_text())
    assert manifest["settings"]["preset"] == "funnier" and manifest["settings"]["style"] == ""
    g = game(isolated_env, manifest["chains"][0]["game"])
    assert g.header["settings"]["preset"] == "funnier"
    describe = next(r for r in g.records if r.kind == "describe")
    assert (
        describe.input
        == manifest["settings"]["guesser_prompt"]
        != "Describe what happens in this image in up to 10 words"
    )
