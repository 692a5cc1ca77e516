"""Exports you can share: one self-contained HTML booklet, an animated GIF or WebP flipbook, a
contact sheet, Markdown with its images, or the journal as JSON Lines.

Everything comes from :mod:`.booklet` (records redacted, text cleaned, pictures read only from
inside the game folder). Pictures are decoded and encoded again (thumbnails, frames), so no
metadata a service put in a file travels with them; Markdown keeps the files as received, with
the process's secrets taken out of their bytes. Nothing here imports Textual; it is CPU and file
work, so the TUI runs it in a thread.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, get_args

from telestrations.store import GameDir

Format = Literal["html", "gif", "webp", "sheet", "md", "jsonl"]
FORMATS: tuple[str, ...] = get_args(Format)
SUFFIX = {
    "html": ".html",
    "gif": ".gif",
    "webp": ".webp",
    "sheet": ".png",
    "md": ".md",
    "jsonl": ".jsonl",
}


class ExportError(Exception):
    """An export that cannot be written as asked (target exists, unknown format, no drawings)."""


@dataclass(frozen=True)
class ExportOptions:
    size: int = 0
    """Picture size in pixels (the longer side); 0 = the format's default (html 640, flipbooks
    480, sheet cells 256)."""
    frame_ms: int = 1500
    """Flipbooks: how long each frame shows."""
    columns: int = 0
    """Sheet: columns of the grid; 0 = about square, at most 10."""
    images: bool = True
    """Markdown: write the pictures beside the file (not when the file goes to stdout)."""


def default_path(game: GameDir, fmt: str, where: Path | None = None) -> Path:
    """``./<game name>.<ext>`` (``-sheet.png`` for the sheet)."""
    base = where if where is not None else Path.cwd()
    stem = f"{game.name}-sheet" if fmt == "sheet" else game.name
    return base / f"{stem}{SUFFIX[fmt]}"


def free_path(game: GameDir, fmt: str, where: Path) -> Path:
    """The default path in ``where``, numbered (``-2``, ``-3`` ...) past the ones taken: the
    TUI exports without asking, and never over an earlier export."""
    first = default_path(game, fmt, where)
    for n in range(1, 1000):
        path = first if n == 1 else first.with_name(f"{first.stem}-{n}{first.suffix}")
        taken = [path, images_dir(path)] if fmt == "md" else [path]
        if not any(p.exists() or p.is_symlink() for p in taken):
            return path
    raise ExportError(f"too many exports of {game.name} in {where}")


def images_dir(md_path: Path) -> Path:
    """Where a Markdown export keeps its images: ``<name>-images/`` beside the file."""
    return md_path.with_name(f"{md_path.stem}-images")


def export_game(
    game: GameDir,
    fmt: str,
    out: Path,
    *,
    force: bool = False,
    options: ExportOptions | None = None,
) -> Path:
    """Write ``game`` as ``fmt`` to ``out`` and return it. An existing ``out`` (or a Markdown
    export's images folder) is refused unless ``force``: an export never overwrites by surprise."""
    from telestrations.exports import documents, pictures
    from telestrations.exports.booklet import load

    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r} (formats: {', '.join(FORMATS)})")
    opts = options or ExportOptions()
    if opts.size < 0 or opts.frame_ms < 20 or opts.columns < 0:
        raise ExportError("size and columns must be 0 or more, frame time 20 ms or more")
    targets = [out, images_dir(out)] if fmt == "md" else [out]
    for target in targets:
        if target.exists() or target.is_symlink():
            if not force:
                raise ExportError(f"{target} exists; choose another path or use --force")
            if target.is_dir() and not target.is_symlink():
                if fmt != "md" or target == out:
                    raise ExportError(f"{target} is a folder; give a file name")
                shutil.rmtree(target)
    out.parent.mkdir(parents=True, exist_ok=True)
    booklet = load(game)
    writer = {
        "html": documents.write_html,
        "md": documents.write_markdown,
        "jsonl": documents.write_jsonl,
        "gif": pictures.write_flipbook,
        "webp": pictures.write_flipbook,
        "sheet": pictures.write_sheet,
    }[fmt]
    writer(booklet, out, fmt, opts)
    return out


BINARY = frozenset({"gif", "webp", "sheet"})
"""Formats that are pictures: never written to a terminal."""


def export_bytes(game: GameDir, fmt: str, options: ExportOptions | None = None) -> bytes:
    """``game`` as ``fmt``, whole, for stdout (``-o -``): written to a private temporary folder
    by the same writers, then read back. Markdown comes without its pictures (there is no
    "beside" for a stream)."""
    opts = replace(options or ExportOptions(), images=False)
    with tempfile.TemporaryDirectory(prefix="telestrations-export-") as tmp:
        out = export_game(game, fmt, Path(tmp) / f"export{SUFFIX.get(fmt, '')}", options=opts)
        return out.read_bytes()


def export_html(game: GameDir, out_dir: Path) -> Path:
    """``out_dir/index.html``: the booklet in a folder (what the first exporter wrote)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    return export_game(game, "html", out_dir / "index.html", force=True)
