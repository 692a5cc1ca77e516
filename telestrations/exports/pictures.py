"""The picture exports: an animated GIF or WebP flipbook (one frame per drawing, its caption
written under it) and a contact sheet (a grid of drawings with round numbers and captions).

Text is drawn with the font Pillow ships (``ImageFont.load_default(size=...)``), wrapped to the
picture's width and cut with an ellipsis, so a long caption never spills out of its frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageDraw, ImageFont

if TYPE_CHECKING:
    from telestrations.exports import ExportOptions
    from telestrations.exports.booklet import Booklet, Page

BACKGROUND = (255, 255, 255)
INK = (20, 20, 20)
GREY = (120, 120, 120)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def font(size: int) -> Font:
    return ImageFont.load_default(size=size)


def wrap(text: str, fnt: Font, width: float, max_lines: int) -> list[str]:
    """Greedy word wrap to ``width`` pixels; a word longer than a line is cut; the last line
    ends with an ellipsis when text is left over."""
    lines: list[str] = []
    line = ""
    words = text.split()
    for i, word in enumerate(words):
        trial = f"{line} {word}".strip()
        if fnt.getlength(trial) <= width:
            line = trial
            continue
        if line:
            lines.append(line)
        line = word
        while fnt.getlength(line) > width and len(line) > 1:  # one very long word
            cut = len(line) - 1
            while cut > 1 and fnt.getlength(line[:cut]) > width:
                cut -= 1
            lines.append(line[:cut])
            line = line[cut:]
        if len(lines) >= max_lines:
            rest = " ".join([line, *words[i + 1 :]])
            return _ellipsis(lines[:max_lines], fnt, width) if rest else lines[:max_lines]
    if line:
        lines.append(line)
    if len(lines) > max_lines:
        return _ellipsis(lines[:max_lines], fnt, width)
    return lines


def _ellipsis(lines: list[str], fnt: Font, width: float) -> list[str]:
    last = lines[-1]
    while last and fnt.getlength(last + "…") > width:
        last = last[:-1]
    return [*lines[:-1], last.rstrip() + "…"]


def _fit(im: Image.Image, box: int) -> Image.Image:
    """``im`` centred on a white ``box``×``box`` square."""
    canvas = Image.new("RGB", (box, box), BACKGROUND)
    if im.width > box or im.height > box:
        im = im.copy()
        im.thumbnail((box, box))
    canvas.paste(im, ((box - im.width) // 2, (box - im.height) // 2))
    return canvas


# -- flipbook ------------------------------------------------------------------------------


def frame(b: Booklet, page: Page, size: int, lines: int = 4) -> Image.Image:
    """One flipbook frame: the drawing, then ``round N`` and the caption it got, wrapped."""
    text_size = max(12, size // 24)
    fnt, small = font(text_size), font(max(10, text_size * 3 // 4))
    pad = max(6, size // 40)
    line_h = int(text_size * 1.25)
    band = pad * 2 + int(text_size * 0.9) + line_h * lines
    im = Image.new("RGB", (size, size + band), BACKGROUND)
    pic = b.picture(page, size)
    if pic is not None:
        im.paste(_fit(pic, size), (0, 0))
    draw = ImageDraw.Draw(im)
    y = size + pad
    who = f"round {page.round}" + (f" · {page.guesser} saw:" if page.caption else "")
    draw.text((pad, y), who, font=small, fill=GREY)
    y += int(text_size * 0.9)
    for line in wrap(page.caption or "(no caption)", fnt, size - 2 * pad, lines):
        draw.text((pad, y), line, font=fnt, fill=INK)
        y += line_h
    return im


def write_flipbook(b: Booklet, out: Path, fmt: str, opts: ExportOptions) -> None:
    """An animated GIF or WebP that loops, one frame per drawing."""
    from telestrations.exports import ExportError

    pages = b.drawings
    if not pages:
        raise ExportError("the game has no drawing to put in a flipbook yet")
    size = opts.size or 480
    frames = [frame(b, p, size) for p in pages]
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        if fmt == "gif":
            frames[0].save(
                tmp,
                "GIF",
                save_all=True,
                append_images=frames[1:],
                duration=opts.frame_ms,
                loop=0,
            )
        else:
            frames[0].save(
                tmp,
                "WEBP",
                save_all=True,
                append_images=frames[1:],
                duration=opts.frame_ms,
                loop=0,
                quality=80,
                method=2,
            )
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)


# -- contact sheet -------------------------------------------------------------------------


@dataclass(frozen=True)
class SheetLayout:
    columns: int
    rows: int
    cell: int
    """Picture side in pixels."""
    band: int
    """Caption band under each picture."""
    gap: int
    title: int
    """Height of the title band at the top."""

    @property
    def size(self) -> tuple[int, int]:
        width = self.gap + self.columns * (self.cell + self.gap)
        height = self.title + self.gap + self.rows * (self.cell + self.band + self.gap)
        return width, height

    def origin(self, index: int) -> tuple[int, int]:
        """Top-left corner of the picture of the ``index``-th drawing (row by row)."""
        row, col = divmod(index, self.columns)
        return (
            self.gap + col * (self.cell + self.gap),
            self.title + self.gap + row * (self.cell + self.band + self.gap),
        )


def sheet_layout(count: int, opts: ExportOptions) -> SheetLayout:
    cell = opts.size or 256
    columns = opts.columns or min(10, max(1, math.ceil(math.sqrt(count))))
    columns = max(1, min(columns, max(1, count)))
    rows = max(1, math.ceil(count / columns))
    text = max(10, cell // 18)
    return SheetLayout(
        columns, rows, cell, band=int(text * 1.25) * 4 + 6, gap=max(8, cell // 20), title=text * 3
    )


def write_sheet(b: Booklet, out: Path, fmt: str, opts: ExportOptions) -> None:
    """A PNG grid of the drawings, each with its round number and caption."""
    from telestrations.exports import ExportError

    pages = b.drawings
    if not pages:
        raise ExportError("the game has no drawing to put on a sheet yet")
    lay = sheet_layout(len(pages), opts)
    text = max(10, lay.cell // 18)
    fnt, title = font(text), font(int(text * 1.4))
    line_h = int(text * 1.25)
    sheet = Image.new("RGB", lay.size, BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    heading = wrap(b.first_prompt or b.name, title, lay.size[0] - 2 * lay.gap, 1)
    draw.text((lay.gap, lay.gap // 2), heading[0] if heading else "", font=title, fill=INK)
    for i, page in enumerate(pages):
        x, y = lay.origin(i)
        pic = b.picture(page, lay.cell)
        if pic is not None:
            sheet.paste(_fit(pic, lay.cell), (x, y))
        draw.rectangle((x - 1, y - 1, x + lay.cell, y + lay.cell), outline=(210, 210, 210))
        ty = y + lay.cell + 3
        draw.text((x, ty), f"{page.round}", font=fnt, fill=GREY)
        ty += line_h
        for line in wrap(page.caption or "(no caption)", fnt, lay.cell, 3):
            draw.text((x, ty), line, font=fnt, fill=INK)
            ty += line_h
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        sheet.save(tmp, "PNG")
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
