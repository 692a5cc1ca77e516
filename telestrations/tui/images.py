"""Images for the UI: which mode draws them, thumbnails, the system viewer.

Everything here that touches pixels or files is blocking and meant to run in a thread
(``asyncio.to_thread``): decoding a 1792×1024 PNG takes tens of milliseconds, which would
freeze the UI if done on the event loop. History thumbnails are made in a child process
(:mod:`telestrations.tui.thumbnailer`); their half-cell runs become lines of cells here, in
a thread.

``textual_image.widget`` is imported at module level on purpose: it asks the terminal for its
cell size and graphics support, which only works before Textual takes over the terminal. The
terminal's title is saved and restored around that probe (``terminal.title_kept``).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from PIL import Image as PILImage
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

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
from telestrations.tui.thumbnail import RGB, Cells, cell_runs

log = logging.getLogger(__name__)

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


def picture_size(path: Path) -> tuple[int, int]:
    """Width and height from the file's header (no pixels decoded). Blocking."""
    with PILImage.open(path) as im:
        return im.size


def cell_strips(cells: Cells) -> list[Strip]:
    """Half-cell runs as lines of cells (upper pixel: foreground, lower: background), made
    once (in a thread) so the widget only hands them out.

    textual-image's half-cell widget builds a style per cell at every render, on the event
    loop: ~30 ms for an 88×44 picture. Here a run of equal cells is one segment and equal
    colour pairs share one style (and equal colours one ``Color``), so a drawing on white
    paper is a few hundred segments and few objects for the cycle collector to walk.
    """
    styles: dict[tuple[RGB, RGB], Style] = {}
    colors: dict[RGB, Color] = {}  # one Color per RGB, shared by every style that uses it
    strips = []
    for runs in cells.lines:
        segments = []
        for count, up, down in runs:
            style = styles.get((up, down))
            if style is None:
                for value in (up, down):
                    if value not in colors:
                        colors[value] = Color.from_rgb(*value)
                style = styles[up, down] = Style(color=colors[up], bgcolor=colors[down])
            segments.append(Segment("▀" * count, style))
        strips.append(Strip(segments, cells.width))
    return strips


def halfcell_strips(image: PILImage.Image) -> list[Strip]:
    """``image`` as lines of half-block cells (see :func:`cell_strips`)."""
    return cell_strips(cell_runs(image))


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
