"""End to end in a real terminal (tmux): a game whose prompt holds escape sequences opens
without retitling the pane or blanking the screen, and the app leaves the title as it was.

Runs this checkout's code (``python -m telestrations``), not the installed command.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import telestrations

from .test_e2e_tmux import Tmux

HOSTILE = "a cat \x1b]0;PWNED\x07\x1b[2J\x1b[H on a mat \x1b]2;PWNED2\x1b\\ end"
TITLE = "title-before-telestrations"


def _env(home: Path) -> dict[str, str]:
    return {
        "TELESTRATIONS_DATA_DIR": str(home / "data"),
        "TELESTRATIONS_CONFIG": str(home / "config.toml"),
        "TELESTRATIONS_KEYS": str(home / "keys.json"),
        "TERM": "xterm-256color",
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(Path(telestrations.__file__).resolve().parents[1]),
    }


def test_hostile_prompt_neither_retitles_nor_blanks_the_terminal(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = _env(home)
    made = subprocess.run(
        [sys.executable, "-m", "telestrations", "run", "--prompt", HOSTILE, "--rounds", "1"],
        capture_output=True,
        env=env,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    go, rc_file = tmp_path / "go", tmp_path / "rc"
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    app = f"env -i {exports} {shlex.quote(sys.executable)} -m telestrations --resume last"
    # Wait until the pane has its title, so the app starts on a known one (bounded: 30 s).
    command = (
        f"n=0; while [ ! -e {go} ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n+1)); done; "
        f"{app}; echo $? > {shlex.quote(str(rc_file))}; sleep 30"
    )
    tmux = Tmux(f"telestrations-hostile-{os.getpid()}")

    def title() -> str:
        return tmux.run("display", "-p", "-t", "e2e", "#{pane_title}").strip()

    try:
        # Started in tmp_path: from a checkout's root, `-m` would import the checkout's code
        # ahead of PYTHONPATH.
        tmux.run(
            "new-session", "-d", "-s", "e2e", "-x", "120", "-y", "40", "-c", str(tmp_path),
            "sh", "-c", command,
        )  # fmt: skip
        tmux.run("select-pane", "-t", "e2e", "-T", TITLE)
        assert title() == TITLE
        go.touch()
        screen = tmux.wait(
            lambda s: "Round 1" in s and "PAUSED" in s, 60, "the hostile game to open"
        )
        time.sleep(1.0)  # any late output (thumbnails, checks) has been drawn
        screen = tmux.screen()
        assert title() == TITLE, "the app changed the pane title"
        # Not blanked: the controls, the prompt (cleaned), the card and the status line show.
        for visible in ("First prompt", "a cat", "on a mat", "end", "Round 1", "PAUSED"):
            assert visible in screen, f"{visible!r} missing:\n{screen}"
        assert "PWNED" not in screen
        tmux.keys("q")  # the history has the focus after opening a game
        deadline = time.monotonic() + 30
        while not rc_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert rc_file.exists(), f"the app did not exit after q:\n{tmux.screen()}"
        assert rc_file.read_text().strip() == "0"
        time.sleep(0.3)
        assert title() == TITLE, "the title was not restored when the app ended"
        assert "game kept in" in tmux.screen()
    finally:
        tmux.kill()
