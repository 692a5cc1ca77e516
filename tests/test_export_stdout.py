"""`telestrations export GAME -o -`: the export on stdout, byte for byte to a pipe, refused
for a picture on a terminal; and the sweep of ``.new-*`` folders that a killed game creation
left, which never touches one a live process holds."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from telestrations.store import Store


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELESTRATIONS_")}
    env["TELESTRATIONS_CONFIG"] = str(home / "config.toml")
    env["TELESTRATIONS_DATA_DIR"] = str(home / "data")
    env["TELESTRATIONS_KEYS"] = str(home / "keys.json")
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    return env


def _cli(home: Path, *args: str, **kw: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-m", "telestrations", *args],
        env=_env(home),
        cwd=home,
        timeout=120,
        **({"capture_output": True} | kw),
    )


@pytest.fixture
def played(isolated_env: Path) -> Path:
    isolated_env.mkdir(parents=True, exist_ok=True)
    out = _cli(isolated_env, "run", "--rounds", "3", "-q", "--no-check")
    assert out.returncode == 0, out.stderr
    return isolated_env


@pytest.mark.parametrize("fmt", ["gif", "webp", "sheet"])
def test_picture_export_to_a_pipe(played: Path, fmt: str) -> None:
    out = _cli(played, "export", "last", "-f", fmt, "-o", "-")
    assert out.returncode == 0, out.stderr
    with Image.open(io.BytesIO(out.stdout)) as im:
        assert im.format == {"gif": "GIF", "webp": "WEBP", "sheet": "PNG"}[fmt]
        frames = getattr(im, "n_frames", 1)
    assert frames == (1 if fmt == "sheet" else 3)  # one frame per drawing
    assert not (played / "-").exists()  # no file named "-"
    assert out.stderr == b""


def test_text_exports_to_a_pipe(played: Path) -> None:
    jsonl = _cli(played, "export", "last", "-f", "jsonl", "-o", "-")
    assert jsonl.returncode == 0, jsonl.stderr
    lines = [json.loads(x) for x in jsonl.stdout.decode().splitlines()]
    assert lines[0]["type"] == "game" and len(lines) == 1 + 6  # header, 3 draws, 3 describes
    md = _cli(played, "export", "last", "-f", "md", "-o", "-")
    assert md.returncode == 0 and md.stdout.startswith(b"# a red house under a yellow sun")
    assert b"](" not in md.stdout  # no links to a pictures folder that a stream cannot have
    html = _cli(played, "export", "last", "-f", "html", "-o", "-")
    assert html.stdout.count(b"data:image/webp;base64,") == 3
    assert not any(p.name.startswith("-") for p in played.iterdir())


def test_picture_export_to_a_terminal_is_refused_in_one_line(played: Path) -> None:
    parent, child = pty.openpty()
    try:
        out = _cli(
            played,
            "export",
            "last",
            "-f",
            "gif",
            "-o",
            "-",
            capture_output=False,
            stdout=child,
            stderr=subprocess.PIPE,
        )
    finally:
        os.close(child)
    os.close(parent)
    assert out.returncode == 2
    err = out.stderr.decode()
    assert "not writing a gif picture to the terminal" in err and len(err.splitlines()) == 1


def _old(path: Path, hours: float = 2.0) -> None:
    past = time.time() - hours * 3600
    os.utime(path, (past, past))


def test_abandoned_new_folders_are_swept_but_not_a_locked_or_young_one(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.games_dir.mkdir(parents=True)
    dead = store.games_dir / ".new-99999-deadbeef"
    dead.mkdir()
    (dead / "journal.jsonl").write_text('{"type":"game"}\n')
    (dead / ".lock").write_text("process 99999 (telestrations run)\n")  # its process died
    _old(dead)
    young = store.games_dir / ".new-99998-cafebabe"
    young.mkdir()
    held = store.games_dir / ".new-12345-0badf00d"
    held.mkdir()
    # a real other process holds the lock, as a game creation in flight does
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from telestrations.lock import take_lock; "
            f"fh = take_lock(Path({str(held)!r})); print('held', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=_env(tmp_path),
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        _old(held)
        assert store.list() == []  # listing sweeps
        assert not dead.exists()
        assert held.is_dir() and young.is_dir()
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
    _old(held)  # its process is gone, and the kernel let go of its lock
    game = store.new_game("a cat", {})  # creating sweeps too
    assert not held.exists() and young.is_dir()
    assert sorted(p.name for p in store.games_dir.iterdir()) == sorted([young.name, game.name])
