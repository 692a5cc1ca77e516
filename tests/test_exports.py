"""Exports parsed back: the HTML booklet, the GIF/WebP flipbooks, the contact sheet, Markdown
and JSON Lines, with no secret in any of them and nothing read from outside the game folder."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from telestrations.drift import similarity
from telestrations.exports import (
    FORMATS,
    ExportError,
    ExportOptions,
    default_path,
    export_game,
    images_dir,
)
from telestrations.exports.pictures import sheet_layout
from telestrations.store import GameDir, Store
from telestrations.text import SECRETS
from telestrations.turns import TurnRecord

COLOURS = [
    (230, 30, 30),
    (30, 160, 40),
    (30, 60, 220),
    (240, 200, 20),
    (150, 40, 170),
    (20, 190, 200),
    (250, 130, 20),
]
FIRST = "a red house & <b>bold</b> under a sun"
SECRET = "sk-proj-EXPORTSECRET1234567890abcdef"


def captions(n: int) -> list[str]:
    return [
        f"round {i} saw a thing number {i} [link](http://x) <i>*em*</i>" for i in range(1, n + 1)
    ]


def png(colour: tuple[int, int, int], size: tuple[int, int] = (64, 48), text: str = "") -> bytes:
    info = PngImagePlugin.PngInfo()
    if text:
        info.add_text("Comment", text)
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def make_game(root: Path, texts: list[str], *, note: str = "") -> GameDir:
    """A game written the way the engine writes one: image file, then its draw record."""
    game = Store(root).new_game(FIRST, {"drawer": "d", "guesser": "g"})
    seq = 0
    for n, caption in enumerate(texts, 1):
        name = f"r{n:04d}-draw.png"
        game.save_image(name, png(COLOURS[(n - 1) % len(COLOURS)], text=note))
        seq += 1
        game.append(
            TurnRecord(
                seq, n, "draw", "openai:gpt-image-1", "ok", "x", image=name, output=name, cost=0.04
            )
        )
        seq += 1
        game.append(
            TurnRecord(
                seq, n, "describe", "ollama:llava", "ok", "describe", image=name, output=caption
            )
        )
    return GameDir.open(game.path)


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.imgs: list[str] = []
        self.links: list[str] = []
        self.text: list[str] = []
        self.tags: list[str] = []
        self.polylines: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "img":
            self.imgs.append(a["src"] or "")
        if tag == "polyline":
            self.polylines.append(a["points"] or "")
        for key in ("href", "src"):
            if a.get(key) and tag != "img":
                self.links.append(a[key] or "")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def decode_uri(uri: str) -> Image.Image:
    head, data = uri.split(",", 1)
    assert head == "data:image/webp;base64"
    return Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")


def near(a: tuple[int, ...], b: tuple[int, ...], tol: int = 40) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=True))


def test_html_is_one_file_with_every_caption_and_image(tmp_path: Path) -> None:
    texts = captions(5)
    game = make_game(tmp_path / "data", texts)
    out = export_game(game, "html", tmp_path / "book.html")
    page = Page()
    page.feed(out.read_text())
    text = " ".join(page.text)
    assert FIRST in text and "<b>" not in out.read_text()  # shown, never interpreted
    for caption in texts:
        assert caption in text
    assert len(page.imgs) == 5
    for i, uri in enumerate(page.imgs):
        im = decode_uri(uri)
        assert im.size == (64, 48) and near(im.getpixel((32, 24)), COLOURS[i])
    assert page.links == []  # nothing to fetch: opens offline
    assert "script" not in page.tags
    assert "openai:gpt-image-1" in text and "ollama:llava" in text
    assert "$0.2" in text  # five drawings at $0.04
    assert len(page.polylines) == 2 and all(len(p.split()) == 5 for p in page.polylines)
    assert f"{similarity(FIRST, texts[0]):.2f}" in text


def test_flipbooks_have_one_frame_per_drawing(tmp_path: Path) -> None:
    game = make_game(tmp_path / "data", captions(4))
    opts = ExportOptions(size=200, frame_ms=700)
    for fmt in ("gif", "webp"):
        out = export_game(game, fmt, tmp_path / f"book.{fmt}", options=opts)
        with Image.open(out) as im:
            assert im.n_frames == 4 and im.is_animated
            assert im.width == 200 and im.height > 200  # the caption band under the picture
            for i in range(4):
                im.seek(i)
                frame = im.convert("RGB")
                assert im.info["duration"] == 700  # (WebP says it once the frame is loaded)
                assert near(frame.getpixel((100, 100)), COLOURS[i])  # the drawing, centred
                band = frame.crop((0, 200, 200, frame.height))
                assert band.getextrema() != ((255, 255),) * 3  # text was written under it


def test_sheet_has_the_right_grid(tmp_path: Path) -> None:
    game = make_game(tmp_path / "data", captions(7))
    opts = ExportOptions(size=120, columns=3)
    out = export_game(game, "sheet", tmp_path / "sheet.png", options=opts)
    lay = sheet_layout(7, opts)
    assert (lay.columns, lay.rows) == (3, 3)
    with Image.open(out) as im:
        sheet = im.convert("RGB")
    assert sheet.size == lay.size
    for i in range(7):
        x, y = lay.origin(i)
        assert near(sheet.getpixel((x + 60, y + 60)), COLOURS[i]), i
    x, y = lay.origin(7)  # the eighth cell is empty
    assert sheet.getpixel((x + 60, y + 60)) == (255, 255, 255)
    assert sheet_layout(100, ExportOptions()).columns == 10


def test_markdown_references_files_that_exist(tmp_path: Path) -> None:
    texts = captions(3)
    game = make_game(tmp_path / "data", texts)
    out = export_game(game, "md", tmp_path / "book.md")
    md = out.read_text()
    refs = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert len(refs) == 3
    for n, ref in enumerate(refs, 1):
        target = out.parent / ref
        assert target.is_file() and target.parent == images_dir(out)
        assert target.read_bytes() == game.read_image(f"r{n:04d}-draw.png")
    assert "](http://x)" not in md and r"\[link\]\(http://x\)" in md  # no live link
    assert "<i>" not in md
    plain = re.sub(r"\\(.)", r"\1", md)  # what a Markdown reader shows
    shown = [plain.count(c.replace("<", "&lt;").replace(">", "&gt;")) for c in texts]
    assert shown == [2, 2, 1]  # each caption, and as the text the next round drew


def test_jsonl_equals_the_journal(tmp_path: Path) -> None:
    game = make_game(tmp_path / "data", captions(3))
    out = export_game(game, "jsonl", tmp_path / "game.jsonl")
    exported = [json.loads(line) for line in out.read_text().splitlines()]
    journal = [json.loads(line) for line in game.journal.read_text().splitlines()]
    assert exported == journal


def test_no_secret_in_any_export(tmp_path: Path) -> None:
    """A key in a caption, the first prompt's neighbour text and an image's metadata: gone."""
    texts = [*captions(2), f"the key is {SECRET} ok"]
    game = make_game(tmp_path / "data", texts, note=f"made with {SECRET}")
    SECRETS.add(SECRET)
    outs = tmp_path / "out"
    for fmt in FORMATS:
        export_game(game, fmt, default_path(game, fmt, outs))
    files = [p for p in outs.rglob("*") if p.is_file()]
    assert len(files) == len(FORMATS) + 3  # and the three Markdown images
    forms = [SECRET, base64.b64encode(SECRET.encode()).decode()[:20]]
    for path in files:
        data = path.read_bytes()
        decoded = data.decode("utf-8", "replace")
        assert not any(f in decoded for f in forms), path
        for uri in re.findall(r"data:image/webp;base64,([A-Za-z0-9+/=]+)", decoded):
            assert SECRET.encode() not in base64.b64decode(uri)  # re-encoded: no metadata
    assert "the key is *** ok" in (outs / f"{game.name}.jsonl").read_text()


def test_an_export_never_overwrites_by_surprise(tmp_path: Path) -> None:
    game = make_game(tmp_path / "data", captions(2))
    target = tmp_path / "book.md"
    export_game(game, "md", target)
    (images_dir(target) / "stale.png").write_bytes(b"old")
    with pytest.raises(ExportError, match="exists; choose another path or use --force"):
        export_game(game, "md", target)
    target.unlink()
    with pytest.raises(ExportError, match="book-images exists"):
        export_game(game, "md", target)  # the images folder counts too
    export_game(game, "md", target, force=True)
    assert sorted(p.name for p in images_dir(target).iterdir()) == ["r0001.png", "r0002.png"]
    with pytest.raises(ExportError, match="unknown export format"):
        export_game(game, "pdf", tmp_path / "x.pdf")


def test_missing_pictures_are_left_out_and_nothing_outside_is_read(tmp_path: Path) -> None:
    game = make_game(tmp_path / "data", captions(3))
    (game.path / "r0002-draw.png").unlink()
    outside = tmp_path / "outside.png"
    outside.write_bytes(png((1, 2, 3)))
    os.symlink(outside, game.path / "r0002-draw.png")  # a link leading out of the folder
    game = GameDir.open(game.path)
    with Image.open(export_game(game, "gif", tmp_path / "b.gif")) as im:
        assert im.n_frames == 2
    page = Page()
    page.feed(export_game(game, "html", tmp_path / "b.html").read_text())
    assert len(page.imgs) == 2 and captions(3)[1] in " ".join(page.text)
    export_game(game, "md", tmp_path / "b.md")
    assert sorted(p.name for p in images_dir(tmp_path / "b.md").iterdir()) == [
        "r0001.png",
        "r0003.png",
    ]
    empty = GameDir.open(Store(tmp_path / "e").new_game("nothing yet", {}).path)
    with pytest.raises(ExportError, match="no drawing"):
        export_game(empty, "sheet", tmp_path / "e.png")


def test_export_command_every_format(isolated_env: Path, tmp_path: Path) -> None:
    def tele(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "telestrations", *args],
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert tele("run", "--prompt", "a cat on a mat", "--rounds", "3", "--quiet").returncode == 0
    outs = tmp_path / "outs"
    outs.mkdir()
    for fmt in FORMATS:
        out = tele("export", "last", "--format", fmt, "-o", str(outs), "--size", "160")
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith(f"exported {outs}/")
    names = sorted(p.name for p in outs.iterdir())
    assert len(names) == len(FORMATS) + 1  # and the Markdown images folder
    assert any(n.endswith("-sheet.png") for n in names)
    with Image.open(next(outs.glob("*.gif"))) as im:
        assert im.n_frames == 3 and im.width == 160
    again = tele("export", "last", "-f", "gif", "-o", str(outs))
    assert again.returncode == 2 and "exists" in again.stderr
    bad = tele("export", "last", "-f", "gif", "--frame-ms", "5", "-o", str(tmp_path / "x.gif"))
    assert bad.returncode == 2 and "frame time" in bad.stderr
