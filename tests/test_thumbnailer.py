"""Thumbnails made in child processes: the same pixels as made here, nothing of the child's on
our terminal, a killed or crashing child costs no picture and no hang, a killed app leaves no
child behind, and where no child can start the pictures are still made."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from telestrations.tui.thumbnail import Cells, Pixels, cell_runs, load_thumbnail
from telestrations.tui.thumbnailer import WORKERS, Thumbnailer

ROOT = Path(__file__).resolve().parent.parent


def house(path: Path, size: int = 1024) -> None:
    """A black-on-white line drawing: the strokes must come back dark."""
    im = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(im)
    draw.rectangle((300, 450, 720, 820), outline="black", width=4)
    draw.polygon([(280, 460), (510, 250), (740, 460)], outline="black", width=4)
    im.save(path)


def alive(pid: int) -> bool:
    """Running (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def maker() -> object:
    made = Thumbnailer()
    yield made
    made.close()


async def test_a_child_makes_the_same_thumbnail_this_process_would(
    tmp_path: Path, maker: Thumbnailer
) -> None:
    house(tmp_path / "a.png")
    cells = await maker.make(tmp_path, "a.png", 60, 60, cells=True)
    assert isinstance(cells, Cells)
    pids = maker.pids()
    assert pids and os.getpid() not in pids
    (tmp_path / "thumbs" / "a.60x60.png").unlink()  # made again here, not read from the cache
    here = cell_runs(load_thumbnail(tmp_path, "a.png", 60, 60))
    assert cells == here
    dark = sum(
        n for line in cells.lines for n, up, down in line if min(up) < 100 or min(down) < 100
    )
    assert dark > 50  # the strokes survived the shrinking
    pixels = await maker.make(tmp_path, "a.png", 40, 30, cells=False)
    assert isinstance(pixels, Pixels) and pixels.image().size == (40, 30)
    assert maker.pids() == pids  # the same children, kept for the next pictures


async def test_nothing_of_the_child_reaches_the_terminal(
    tmp_path: Path, maker: Thumbnailer
) -> None:
    house(tmp_path / "a.png", 200)
    await maker.make(tmp_path, "a.png", 20, 20, cells=True)
    for pid in maker.pids():
        # fd 1 and 2 are null: its answers go out on a copy of the pipe taken before.
        assert os.readlink(f"/proc/{pid}/fd/1") == "/dev/null"
        assert os.readlink(f"/proc/{pid}/fd/2") == "/dev/null"


async def test_a_picture_that_cannot_be_read_says_why(tmp_path: Path, maker: Thumbnailer) -> None:
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really" * 50)
    with pytest.raises((OSError, ValueError)) as bad:
        await maker.make(tmp_path, "bad.png", 20, 20, cells=True)
    with pytest.raises((OSError, ValueError)) as here:
        load_thumbnail(tmp_path, "bad.png", 20, 20)
    assert str(bad.value) == str(here.value) != ""  # Pillow's own reason, as the card shows it
    with pytest.raises(OSError, match=r"missing\.png"):
        await maker.make(tmp_path, "missing.png", 20, 20, cells=True)
    house(tmp_path / "a.png", 200)  # the child is still there for the next picture
    pids = maker.pids()
    assert isinstance(await maker.make(tmp_path, "a.png", 20, 20, cells=True), Cells)
    assert maker.pids() == pids


async def test_a_killed_child_costs_no_picture(tmp_path: Path, maker: Thumbnailer) -> None:
    house(tmp_path / "a.png")
    maker.warm()
    before = maker.pids()
    assert len(before) >= 1
    for pid in before:
        os.kill(pid, signal.SIGKILL)  # the kernel's OOM killer, a crash on the last picture
    cells = await maker.make(tmp_path, "a.png", 50, 50, cells=True)
    assert isinstance(cells, Cells)
    assert not set(maker.pids()) & set(before)


async def test_a_child_that_dies_on_every_picture_is_an_error_not_a_hang(
    tmp_path: Path,
) -> None:
    # A real child that answers the first word, then dies at the first picture (as a decoder
    # crashing on a hostile file would): asked twice, then the card is told.
    script = textwrap.dedent(
        """
        import os, pickle, struct, sys
        def read():
            head = sys.stdin.buffer.read(4)
            return sys.stdin.buffer.read(struct.unpack(">I", head)[0])
        read()
        data = pickle.dumps(("ok", None))
        sys.stdout.buffer.write(struct.pack(">I", len(data)) + data)
        sys.stdout.buffer.flush()
        read()
        os.abort()
        """
    )
    maker = Thumbnailer(command=[sys.executable, "-c", script])
    house(tmp_path / "a.png", 200)
    started = time.monotonic()
    with pytest.raises(OSError, match="decoder stopped"):
        await maker.make(tmp_path, "a.png", 20, 20, cells=True)
    assert time.monotonic() - started < 10
    assert maker.pids() == []  # none left running


async def test_where_no_child_can_start_pictures_are_made_here(tmp_path: Path) -> None:
    for command in (["/nonexistent/python"], [sys.executable, "-c", "raise SystemExit(3)"]):
        maker = Thumbnailer(command=command)
        house(tmp_path / "a.png", 200)
        cells = await maker.make(tmp_path, "a.png", 20, 20, cells=True)
        assert isinstance(cells, Cells) and len(cells.lines) == 10
        assert maker.pids() == []
        (tmp_path / "thumbs" / "a.20x20.png").unlink()


def test_a_killed_app_leaves_no_child_behind(tmp_path: Path) -> None:
    app = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from telestrations.tui.thumbnailer import thumbnailer; import time\n"
            "t = thumbnailer(); t.warm(); print(*t.pids(), flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert app.stdout is not None
    pids = [int(p) for p in app.stdout.readline().split()]
    assert pids and all(alive(pid) for pid in pids)
    app.kill()  # kill -9: no exit handler runs
    app.wait()
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in pids):
        assert time.monotonic() < deadline, f"children {pids} outlived the app"
        time.sleep(0.05)


async def test_never_more_children_than_threads(tmp_path: Path, maker: Thumbnailer) -> None:
    for i in range(6):
        house(tmp_path / f"{i}.png", 300)
    # Warming and six pictures at once, as the app does at start and on a resize.
    warming = asyncio.get_running_loop().run_in_executor(None, maker.warm)
    made = await asyncio.gather(
        *(maker.make(tmp_path, f"{i}.png", 20, 20, cells=True) for i in range(6))
    )
    await warming
    assert all(isinstance(m, Cells) for m in made)
    assert 1 <= len(maker.pids()) <= WORKERS


def test_the_shared_thumbnailer_stops_its_children_when_the_interpreter_ends(
    tmp_path: Path,
) -> None:
    """A program that used the process's thumbnailer without closing it (a test's pilot does)
    leaves no child running, and no "subprocess is still running" warning, at exit."""
    house(tmp_path / "a.png")
    script = textwrap.dedent(
        f"""
        import asyncio, pathlib
        from telestrations.tui.thumbnailer import thumbnailer
        folder = pathlib.Path({str(tmp_path)!r})
        asyncio.run(thumbnailer().make(folder, "a.png", 40, 40, cells=True))
        print(*thumbnailer().pids(), flush=True)
        """
    )
    done = subprocess.run(
        [sys.executable, "-W", "always::ResourceWarning", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    pids = [int(p) for p in done.stdout.split()]
    assert pids  # children were used
    assert "still running" not in done.stderr, done.stderr
    assert not any(alive(pid) for pid in pids)
