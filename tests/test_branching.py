"""Branching a game at a round (links kept both ways), and games that start from a picture:
the real command in subprocesses, the real files, and kills at random moments."""

from __future__ import annotations

import io
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from telestrations.drift import similarity
from telestrations.store import GameDir, Store
from telestrations.turns import START_PICTURE_MODEL

TIMEOUT = 60


def tele(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "telestrations", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def store() -> Store:
    return Store(Path(os.environ["TELESTRATIONS_DATA_DIR"]))


def played(*args: str) -> GameDir:
    out = tele("run", "--no-check", "--quiet", *args)
    assert out.returncode == 0, out.stderr
    return GameDir.open(Path(out.stdout.rsplit("game kept in ", 1)[1].strip()))


def ok_turns(game: GameDir) -> list[tuple[int, str]]:
    return [(r.round, r.kind) for r in game.records if r.ok]


def test_branch_keeps_the_parents_rounds_links_both_ways_and_plays_on(isolated_env: Path) -> None:
    parent = played("--prompt", "a fox in the snow", "--rounds", "4")
    out = tele("run", "--no-check", "--from", f"{parent.name}:2", "--rounds", "2", "--json",
               "--guesser-prompt", "Name it in three words")  # fmt: skip
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(o["round"], o["kind"]) for o in lines[:-1]] == [
        (3, "draw"), (3, "describe"), (4, "draw"), (4, "describe"),
    ]  # fmt: skip
    child = GameDir.open(Path(lines[0]["folder"]))
    assert child.path != parent.path
    parent = GameDir.open(parent.path)
    # rounds 1..2 are the parent's, line for line, pictures byte for byte
    assert [r.to_json() for r in child.records[:4]] == [r.to_json() for r in parent.records[:4]]
    for r in child.records[:4]:
        if r.kind == "draw":
            assert child.read_image(r.output) == parent.read_image(r.output)
    assert not child.has_image("r0003-draw.png") or child.records[4].output == "r0003-draw.png"
    # then it played on with the new choice, from round 2's caption
    assert ok_turns(child) == [(n, k) for n in (1, 2, 3, 4) for k in ("draw", "describe")]
    assert child.records[4].input.endswith(parent.records[3].output)
    assert {r.input for r in child.records[4:] if r.kind == "describe"} == {
        "Name it in three words"
    }
    assert child.header["settings"]["guesser_prompt"] == "Name it in three words"
    # the link, both ways
    assert child.parent is not None and (child.parent.game, child.parent.round) == (parent.name, 2)
    assert [(b.game, b.round) for b in parent.branches] == [(child.name, 2)]
    last = json.loads(parent.journal.read_text().splitlines()[-1])
    assert last["type"] == "branch" and last["game"] == child.name
    # shown by `games` and `show`
    games = tele("games").stdout.splitlines()
    row = next(line for line in games if line.startswith(child.name))
    assert f"from {parent.name} round 2" in row
    assert "1 branch" in next(line for line in games if line.startswith(parent.name + " "))
    assert f"from {parent.name} round 2" in tele("show", child.name).stdout
    assert f"branched at round 2 to {child.name}" in tele("show", parent.name).stdout
    # and the branch resumes where it stopped
    out = tele("run", "--no-check", "--resume", child.name, "--rounds", "1", "--quiet")
    assert out.returncode == 0, out.stderr
    child = GameDir.open(child.path)
    assert ok_turns(child)[-2:] == [(5, "draw"), (5, "describe")]
    assert [r.seq for r in child.records] == list(range(1, len(child.records) + 1))
    # the parent is untouched but for its note
    again = GameDir.open(parent.path)
    assert [r.to_json() for r in again.records] == [r.to_json() for r in parent.records]


@pytest.mark.parametrize(
    ("ref", "said"),
    [
        ("{game}:9", "has no round 9 to branch from (rounds 1..2)"),
        ("{game}:0", "has no round 0 to branch from"),
        ("{game}", "--from wants GAME:ROUND"),
        ("{game}:two", "--from wants GAME:ROUND"),
        ("no-such-game:1", "no game 'no-such-game'"),
    ],
)
def test_bad_branch_points_are_one_line_exit_2(isolated_env: Path, ref: str, said: str) -> None:
    parent = played("--prompt", "a kite", "--rounds", "2")
    out = tele("run", "--no-check", "--from", ref.format(game=parent.name))
    assert out.returncode == 2
    assert said in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert "Traceback" not in out.stderr
    assert len(store().list()) == 1 and not GameDir.open(parent.path).branches


def test_a_game_played_elsewhere_cannot_be_branched_and_flags_that_clash(
    isolated_env: Path,
) -> None:
    parent = played("--prompt", "a kite", "--rounds", "2")
    holder = GameDir.open(parent.path)
    holder.lock()  # as another run playing it holds it
    try:
        out = tele("run", "--no-check", "--from", f"{parent.name}:1")
    finally:
        holder.unlock()
    assert out.returncode == 2 and "is being played by" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr and len(store().list()) == 1
    for extra in (["--resume", parent.name], ["--prompt", "x"], ["--start-image", "x.png"]):
        out = tele("run", "--no-check", "--from", f"{parent.name}:1", *extra)
        assert out.returncode == 2, extra
        said = out.stderr.strip().splitlines()[-1]  # argparse prints its usage first
        assert "cannot be used with" in said or "not allowed with" in said, out.stderr
    assert len(store().list()) == 1


def test_killed_while_branching_leaves_whole_games_only(isolated_env: Path) -> None:
    """SIGKILL at random moments while `run --from` makes the branch: every game that shows
    is whole (all of its parent's rounds up to the branch point, every picture), every note
    in the parent names a game that exists, and a hidden half-made folder is never listed."""
    parent = played("--prompt", "three boats on a lake", "--rounds", "30")
    rng = random.Random(11)
    for _ in range(6):
        proc = subprocess.Popen(
            [sys.executable, "-m", "telestrations", "run", "--no-check", "--rounds", "0",
             "--from", f"{parent.name}:30"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(rng.uniform(0.15, 1.2))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=TIMEOUT)
    source = GameDir.open(parent.path)
    names = {g.name for g in store().list()}
    for note in source.branches:
        assert note.game in names and note.round == 30
    for name in names - {parent.name}:
        child = GameDir.open(store().games_dir / name)
        assert child.parent is not None and child.parent.game == parent.name
        assert [r.to_json() for r in child.records[:60]] == [
            r.to_json() for r in source.records[:60]
        ]
        for r in child.records[:60]:
            if r.kind == "draw":
                assert child.read_image(r.output) == source.read_image(r.output)
    out = tele("run", "--no-check", "--from", f"{parent.name}:30", "--rounds", "1", "--quiet")
    assert out.returncode == 0, out.stderr  # the parent's lock went with the killed process


def photo(path: Path, size: tuple[int, int] = (320, 240), fmt: str = "JPEG") -> bytes:
    im = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(im)
    draw.ellipse((40, 40, 140, 140), fill="yellow")
    draw.rectangle((180, 120, 300, 230), fill="red")
    buf = io.BytesIO()
    im.save(buf, fmt)
    path.write_bytes(buf.getvalue())
    return buf.getvalue()


def test_a_game_started_from_a_picture_begins_with_a_describe(
    isolated_env: Path, tmp_path: Path
) -> None:
    data = photo(tmp_path / "holiday.jpg")
    out = tele("run", "--no-check", "--start-image", str(tmp_path / "holiday.jpg"),
               "--rounds", "2", "--json")  # fmt: skip
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(o["round"], o["kind"]) for o in lines[:-1]] == [
        (0, "describe"), (1, "draw"), (1, "describe"), (2, "draw"), (2, "describe"),
    ]  # fmt: skip
    assert lines[0]["image"] == "r0000-start.jpg"
    game = GameDir.open(Path(lines[0]["folder"]))
    first = game.records[0]  # the journal's first record says where the game began
    assert (first.round, first.kind, first.model, first.output) == (
        0, "draw", START_PICTURE_MODEL, "r0000-start.jpg",
    )  # fmt: skip
    assert first.extras["start_image"] == "holiday.jpg" and first.cost == 0.0
    assert game.read_image("r0000-start.jpg") == data  # copied as given
    assert game.header["start_image"] == {"file": "r0000-start.jpg", "source": "holiday.jpg"}
    assert game.header["prompt"] == "" and game.name.endswith("-holiday")
    origin = game.records[1].output
    assert "red" in origin.lower() or "yellow" in origin.lower()  # the doodle guesser saw it
    assert game.first_prompt == origin
    assert game.records[2].input.endswith(origin)  # round 1 draws the picture's caption
    # drift is measured against the first caption
    r1 = game.records[3]
    assert r1.similarity is not None
    assert r1.similarity["to_first_prompt"] == pytest.approx(similarity(origin, r1.output), 1e-3)
    assert "first caption: " + origin in tele("show", game.name).stdout
    # resume goes on from round 3
    out = tele("run", "--no-check", "--resume", game.name, "--rounds", "1", "--quiet")
    assert out.returncode == 0, out.stderr
    game = GameDir.open(game.path)
    assert ok_turns(game) == [(0, "draw"), (0, "describe")] + [
        (n, k) for n in (1, 2, 3) for k in ("draw", "describe")
    ]
    # exports show the picture as round 0
    md = tmp_path / "game.md"
    assert tele("export", game.name, "-f", "md", "-o", str(md)).returncode == 0
    text = md.read_text()
    assert text.index("## Round 0") < text.index("## Round 1")
    assert "the picture the game started from" in text
    assert (tmp_path / "game-images" / "r0000.jpg").read_bytes() == data
    # and a branch at round 0 keeps the picture
    out = tele("run", "--no-check", "--from", f"{game.name}:0", "--rounds", "1", "--quiet")
    assert out.returncode == 0, out.stderr
    child = GameDir.open(Path(out.stdout.rsplit("game kept in ", 1)[1].strip()))
    assert child.start_image == "r0000-start.jpg" and child.first_prompt == origin
    assert ok_turns(child) == [(0, "draw"), (0, "describe"), (1, "draw"), (1, "describe")]


def test_start_pictures_are_checked_like_a_drawers(isolated_env: Path, tmp_path: Path) -> None:
    (tmp_path / "notes.png").write_text("not a picture at all")
    Image.new("1", (8000, 6000)).save(tmp_path / "huge.png")  # 48 M pixels, a small file
    cut = tmp_path / "cut.png"
    photo(tmp_path / "whole.png", fmt="PNG")
    cut.write_bytes((tmp_path / "whole.png").read_bytes()[:300])
    for name, said in (
        ("notes.png", "not a PNG, JPEG, WebP or GIF image"),
        ("huge.png", "too large"),
        ("cut.png", "broken"),
        ("missing.png", "No such file"),
    ):
        out = tele("run", "--no-check", "--start-image", str(tmp_path / name))
        assert out.returncode == 2, name
        assert said in out.stderr and "Traceback" not in out.stderr, out.stderr
    assert store().list() == []
    out = tele("run", "--no-check", "--start-image", str(tmp_path / "whole.png"), "--prompt", "x")
    assert out.returncode == 2 and "--prompt cannot be used with --start-image" in out.stderr


def test_a_branch_that_fails_half_way_leaves_no_game(isolated_env: Path, tmp_path: Path) -> None:
    """The copied pictures and rounds are written in a hidden folder before it is renamed into
    place: a failure after some of them leaves nothing listed and nothing behind."""
    from telestrations.turns import TurnRecord

    s = store()
    good = photo(tmp_path / "p.png", fmt="PNG")
    record = TurnRecord(1, 1, "draw", "doodle:doodle", "ok", "x", image="a.png", output="a.png")
    with pytest.raises(ValueError, match="not a plain file name"):
        s.new_game(
            "a fox",
            {},
            records=[record],
            images={"a.png": good, "../outside.png": good},
            header={"parent": {"game": "x", "round": 1}},
        )
    assert s.list() == [] and list(s.games_dir.iterdir()) == []
    made = s.new_game("a fox", {}, records=[record], images={"a.png": good})
    again = GameDir.open(made.path)
    assert [r.to_json() for r in again.records] == [record.to_json()]
    assert again.read_image("a.png") == good
