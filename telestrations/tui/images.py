"""Images for the UI: which mode draws them, thumbnails, the system viewer.

Everything here that touches pixels or files is blocking and meant to run in a thread
(``asyncio.to_thread``): decoding a 1792×1024 PNG takes tens of milliseconds, which would
freeze the UI if done on the event loop. A thumbnail is made for exactly the cells it is
shown in (cached per size); line drawings are reduced so their strokes stay dark
(:func:`shrink`), and half-cell thumbnails are turned into lines of cells in the thread too.

``textual_image.widget`` is imported at module level on purpose: it asks the terminal for its
cell size and graphics support, which only works before Textual takes over the terminal. The
terminal's title is saved and restored around that probe (``terminal.title_kept``).
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from PIL import Image as PILImage
from PIL import ImageChops
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from telestrations.atomic import write_atomic
from telestrations.terminal import title_kept

# The probe's Kitty-graphics query is an APC string, which tmux keeps as the pane title:
# save the title around it and put it back (DESIGN: the app leaves the terminal as it was).
with title_kept():
    from textual_image._terminal import get_cell_size
    from textual_image.renderable import Image as AutoRenderable
    from textual_image.renderable.halfcell import Image as HalfcellRenderable
    from textual_image.renderable.sixel import Image as SixelRenderable
    from textual_image.renderable.tgp import Image as TGPRenderable
    from textual_image.widget import HalfcellImage, SixelImage, TGPImage, UnicodeImage
    from textual_image.widget import Image as AutoImage
    from textual_image.widget._base import Image as BaseImage

from telestrations.providers.pixels import decode_reduced

log = logging.getLogger(__name__)

THUMBS = "thumbs"
"""Folder inside a game folder where thumbnails are cached (never the originals)."""

_CLASSES: dict[str, type[BaseImage]] = {
    "auto": AutoImage,
    "sixel": SixelImage,
    "tgp": TGPImage,
    "halfcell": HalfcellImage,
    "unicode": UnicodeImage,
}


_NAMES = {"sixel": "Sixel", "tgp": "Kitty graphics (TGP)"}


def detected_protocol() -> str:
    """What textual-image found when it asked the terminal at import: sixel, tgp, halfcell
    (a terminal without either) or unicode (not a terminal)."""
    found = AutoRenderable
    if found is SixelRenderable:
        return "sixel"
    if found is TGPRenderable:
        return "tgp"
    if found is HalfcellRenderable:
        return "halfcell"
    return "unicode"


def under_multiplexer(env: Mapping[str, str]) -> bool:
    """tmux or screen: they pass neither protocol through reliably in a scrolling list."""
    term = env.get("TERM", "")
    return bool(env.get("TMUX")) or term.startswith(("tmux", "screen"))


def usable_mode(
    mode: str, env: Mapping[str, str] | None = None, detected: str | None = None
) -> tuple[str, str]:
    """The thumbnail mode to use when ``mode`` is asked for, and a notice when it cannot be
    used here (``sixel``/``tgp`` under tmux or in a terminal that did not answer for them):
    those fall back to half-cell blocks rather than draw blank or garbled thumbnails.
    ``auto`` becomes what the terminal has (half-cell under tmux)."""
    env = os.environ if env is None else env
    detected = detected_protocol() if detected is None else detected
    tmux = under_multiplexer(env)
    if mode == "auto":
        return ("halfcell" if tmux and detected in _NAMES else detected), ""
    if mode not in _NAMES:
        return mode, ""
    if tmux:
        why = "under tmux or screen"
    elif detected != mode:
        why = "this terminal did not answer for it"
    else:
        return mode, ""
    return "halfcell", (
        f"{_NAMES[mode]} thumbnails are not available ({why}): using half-cell blocks; "
        f"--images {mode} is not remembered."
    )


def image_class(mode: str) -> type[BaseImage]:
    """The textual-image widget class for a ``--images`` mode (unknown modes: half-block)."""
    return _CLASSES.get(mode, HalfcellImage)


def thumbnail_size(mode: str, cols: int, rows: int) -> tuple[int, int]:
    """Pixels a thumbnail needs to fill ``cols``×``rows`` cells in ``mode``: exactly that many,
    so the widget never resamples it again (a second resample would blur thin lines)."""
    cols, rows = max(1, cols), max(1, rows)
    if mode == "halfcell":
        return cols, rows * 2
    if mode == "unicode":
        return cols, rows
    cell = get_cell_size()
    return cols * cell.width, rows * cell.height


def thumbnail_path(game_path: Path, image_name: str, size: tuple[int, int]) -> Path:
    """``<game>/thumbs/<image stem>.<w>x<h>.png``: one cached thumbnail per size shown."""
    return game_path / THUMBS / f"{Path(image_name).stem}.{size[0]}x{size[1]}.png"


def picture_size(path: Path) -> tuple[int, int]:
    """Width and height from the file's header (no pixels decoded). Blocking."""
    with PILImage.open(path) as im:
        return im.size


INK_WEIGHT = 0.65
"""How much of the darkest-pixel reduction goes into a line drawing's thumbnail."""
_INK_CURVE = [round(255 * (v / 255) ** 2) for v in range(256)] * 3
"""Gamma 2 on the darkest pixels: partly covered stroke pixels go dark, paper stays white."""


def is_line_art(image: PILImage.Image) -> bool:
    """Mostly light paper with some dark ink: a drawing whose strokes a plain average would
    fade to grey (photographs and dark pictures are not)."""
    hist = image.convert("L").histogram()
    total = max(1, sum(hist))
    light = sum(hist[200:]) / total
    dark = sum(hist[:120]) / total
    return light >= 0.5 and dark >= 0.001


def _darkest(image: PILImage.Image, size: tuple[int, int]) -> PILImage.Image:
    """Each output pixel is the darkest of the block it covers (a min pyramid), so a stroke
    darkens the cells it passes through and no others."""
    w, h = size
    levels = 0
    while image.width >= (2 << levels) * w and image.height >= (2 << levels) * h:
        levels += 1
    # Less than a halving first: a stroke of one pixel keeps at least half its ink.
    cur = image.resize((w << levels, h << levels), PILImage.Resampling.BOX)
    for _ in range(levels):
        # Each pixel becomes the darkest of itself and its left and upper neighbours; NEAREST
        # then picks the odd pixels, so every output is the minimum of exactly one 2×2 block.
        cur = ImageChops.darker(cur, ImageChops.offset(cur, 1, 0))
        cur = ImageChops.darker(cur, ImageChops.offset(cur, 0, 1))
        cur = cur.resize((cur.width // 2, cur.height // 2), PILImage.Resampling.NEAREST)
    return cur


def shrink(image: PILImage.Image, size: tuple[int, int]) -> PILImage.Image:
    """``image`` (RGB) reduced to exactly ``size``, keeping thin dark lines visible.

    A plain area average turns a 2-pixel stroke on white into light grey once a cell covers
    ten pixels; for line art the darkest pixel of each block is blended in, so the strokes
    stay dark while the paper stays white.
    """
    if image.size == size:
        return image
    average = image.resize(size, PILImage.Resampling.LANCZOS, reducing_gap=3.0)
    if not is_line_art(image):
        return average
    ink = _darkest(image, size).point(_INK_CURVE)  # a stroke half in a block: still ink
    return PILImage.blend(average, ink, INK_WEIGHT)


def _decode(source: Path, size: tuple[int, int]) -> PILImage.Image:
    """The original's pixels as RGB, reduced while decoding where the format allows."""
    # JPEG drafts, PNG strips: a huge picture never sits whole in memory. Twice the size
    # asked, so the line-art reduction still sees the thin strokes.
    return decode_reduced(source, (size[0] * 2, size[1] * 2)).convert("RGB")


def load_thumbnail(game_path: Path, image_name: str, width: int, height: int) -> PILImage.Image:
    """The thumbnail of exactly ``width``×``height`` pixels, cached per size.

    Blocking: call through ``asyncio.to_thread``. The original is only read, never re-encoded.
    """
    size = (max(1, width), max(1, height))
    thumb = thumbnail_path(game_path, image_name, size)
    try:
        with PILImage.open(thumb) as im:
            if im.size == size:
                im.load()
                return im.convert("RGB")
    except (OSError, ValueError):
        pass
    small = shrink(_decode(game_path / image_name, size), size)
    try:
        thumb.parent.mkdir(exist_ok=True)
        buf = io.BytesIO()
        small.save(buf, "PNG", compress_level=1)
        # A temp name per write: two cards may make the same thumbnail at once. No fsync:
        # it is a cache, made again if a crash loses it.
        write_atomic(thumb, buf.getvalue(), sync=False)
    except OSError as exc:  # the cache is a convenience: show the picture anyway
        log.warning("could not cache thumbnail %s: %s", thumb, exc)
    return small


def halfcell_strips(image: PILImage.Image) -> list[Strip]:
    """``image`` as lines of half-block cells (upper pixel: foreground, lower: background),
    one per two pixel rows, made once (in the thread) so the widget only hands them out.

    textual-image's half-cell widget builds a style per cell at every render, on the event
    loop: ~30 ms for an 88×44 picture. Here a run of equal cells is one segment and equal
    colour pairs share one style (and equal colours one ``Color``), so a drawing on white
    paper is a few hundred segments and few objects for the cycle collector to walk.
    """
    rgb = image.convert("RGB")
    width, height = rgb.size
    pixels = rgb.get_flattened_data()
    styles: dict[tuple[object, object], Style] = {}
    colors: dict[object, Color] = {}  # one Color per RGB, shared by every style that uses it
    strips = []
    for y in range(0, height, 2):
        top = pixels[y * width : (y + 1) * width]
        bottom = pixels[(y + 1) * width : (y + 2) * width] if y + 1 < height else top
        segments = []
        run_start = 0
        for x in range(1, width + 1):
            if x < width and top[x] == top[run_start] and bottom[x] == bottom[run_start]:
                continue
            pair = (top[run_start], bottom[run_start])
            style = styles.get(pair)
            if style is None:
                up, down = pair
                for value in pair:
                    if value not in colors:
                        colors[value] = Color.from_rgb(*value)  # type: ignore[misc]
                style = styles[pair] = Style(color=colors[up], bgcolor=colors[down])
            segments.append(Segment("▀" * (x - run_start), style))
            run_start = x
        strips.append(Strip(segments, width))
    return strips


def load_scaled(path: Path, max_width: int, max_height: int) -> PILImage.Image:
    """The image at ``path`` fitted into ``max_width``×``max_height`` pixels (for the viewer).

    Blocking: call through ``asyncio.to_thread``; the widget then only scales a small image.
    """
    out = decode_reduced(path, (max(1, max_width), max(1, max_height))).convert("RGB")
    out.thumbnail((max(1, max_width), max(1, max_height)), PILImage.Resampling.LANCZOS)
    return out


def system_opener() -> list[str] | None:
    """The command that opens a file in the desktop's image viewer, if there is one."""
    if sys.platform == "darwin":
        return ["open"]
    if sys.platform == "win32":
        return []  # os.startfile
    for name in ("xdg-open", "gio"):
        found = shutil.which(name)
        if found:
            return [found, "open"] if name == "gio" else [found]
    return None


def open_in_system_viewer(path: Path) -> str | None:
    """Open ``path`` with the system viewer; ``None`` on success, else why it cannot."""
    if not path.is_file():
        return f"{path} is missing"
    opener = system_opener()
    if opener is None:
        return f"no system image viewer found (xdg-open is not installed); the file is {path}"
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        if sys.platform.startswith("linux"):
            return f"no graphical display (DISPLAY is not set); the file is {path}"
    try:
        if sys.platform == "win32":  # pragma: no cover
            os.startfile(path)  # type: ignore[attr-defined]
        else:
            subprocess.Popen(
                [*opener, str(path)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
    except OSError as exc:
        return f"could not start the image viewer ({exc.strerror or exc}); the file is {path}"
    return None
