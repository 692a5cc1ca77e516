"""End to end: the installed ``telestrations`` in a real terminal (tmux), keyboard only.

Types a prompt, starts, waits for three rounds, pauses (nothing new for 3 s), resumes, quits
with ``q``, then checks the exit status and that the game folder holds every round shown.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROUNDS = re.compile(r"│\s+(\d+) rounds?\s+│")


def _exe() -> str:
    found = Path(sys.executable).parent / "telestrations"
    if found.is_file():
        return str(found)
    which = shutil.which("telestrations")
    assert which, "the telestrations command is not installed (pip install -e .)"
    return which


class Tmux:
    """One private tmux server (its own socket) running one window."""

    def __init__(self, socket: str) -> None:
        tmux = shutil.which("tmux")
        assert tmux, "tmux is required for the end-to-end test (.ci/run installs it)"
        self.base = [tmux, "-L", socket]

    def run(self, *args: str) -> str:
        out = subprocess.run([*self.base, *args], capture_output=True, text=True, check=True)
        return out.stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "e2e")

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", "e2e", *keys)

    def wait(self, cond: Callable[[str], bool], timeout: float, what: str) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if cond(screen):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}; screen:\n{screen}")

    def kill(self) -> None:
        subprocess.run([*self.base, "kill-server"], capture_output=True)


def _rounds(screen: str) -> int:
    m = ROUNDS.search(screen)
    return int(m.group(1)) if m else -1


def test_play_pause_resume_quit_in_tmux(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {
        "TELESTRATIONS_DATA_DIR": str(home / "data"),
        "TELESTRATIONS_CONFIG": str(home / "config.toml"),
        "TELESTRATIONS_KEYS": str(home / "keys.json"),
        "TERM": "xterm-256color",
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "LANG": "C.UTF-8",
    }
    rc_file = tmp_path / "rc"
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    command = f"env -i {exports} {shlex.quote(_exe())}; echo $? > {shlex.quote(str(rc_file))}"
    tmux = Tmux(f"telestrations-e2e-{os.getpid()}")
    try:
        tmux.run("new-session", "-d", "-s", "e2e", "-x", "120", "-y", "40", "sh", "-c", command)
        tmux.wait(lambda s: "First prompt" in s and "IDLE" in s, 30, "the app to start")
        tmux.keys("C-u")
        tmux.keys("-l", "a green tree beside a blue lake")
        tmux.keys("Enter")
        # The status line counts a round at once; its card may follow a batch window later.
        tmux.wait(
            lambda s: _rounds(s) >= 3 and "doodle:doodle drew" in s and "doodle:doodle saw" in s,
            60,
            "three rounds, their cards saying who drew and who saw",
        )
        tmux.keys("Enter")  # pause: the turn in flight finishes
        screen = tmux.wait(lambda s: "PAUSED" in s, 30, "the pause")
        paused_at = _rounds(screen)
        time.sleep(3)
        screen = tmux.screen()
        assert "PAUSED" in screen and _rounds(screen) == paused_at, "a round was played paused"
        tmux.keys("Enter")  # resume
        screen = tmux.wait(lambda s: _rounds(s) > paused_at, 60, "more rounds after resuming")
        shown = {int(n) for n in re.findall(r"Round (\d+)", screen)}
        tmux.keys("q")
        deadline = time.monotonic() + 30
        while not rc_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert rc_file.exists(), "the app did not exit after q"
        assert rc_file.read_text().strip() == "0"
    finally:
        tmux.kill()
    games = list((home / "data" / "games").iterdir())
    assert len(games) == 1
    folder = games[0]
    turns = [json.loads(line) for line in (folder / "journal.jsonl").read_text().splitlines()]
    header, turns = turns[0], turns[1:]
    assert header["prompt"] == "a green tree beside a blue lake"
    draws = {t["round"]: t for t in turns if t["kind"] == "draw" and t["status"] == "ok"}
    described = {t["round"] for t in turns if t["kind"] == "describe" and t["status"] == "ok"}
    assert shown and shown <= set(draws)
    for rnd in shown:
        assert (folder / draws[rnd]["output"]).is_file()
    assert len(described) >= paused_at + 1
    assert (home / "data" / "state.toml").is_file()
