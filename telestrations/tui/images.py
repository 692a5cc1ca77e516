"""Images for the UI: which textual-image widget draws them, thumbnails, the system viewer.

Everything here that touches pixels or files is blocking and meant to run in a thread
(``asyncio.to_thread``): decoding a 1792×1024 PNG takes tens of milliseconds, which would
freeze the UI if done on the event loop.

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
import tempfile
from pathlib import Path
from typing import Literal

from PIL import Image as PILImage

from telestrations.terminal import title_kept

# The probe's Kitty-graphics query is an APC string, which tmux keeps as the pane title:
# save the title around it and put it back (DESIGN: the app leaves the terminal as it was).
with title_kept():
    from textual_image.widget import HalfcellImage, SixelImage, TGPImage, UnicodeImage
    from textual_image.widget import Image as AutoImage
    from textual_image.widget._base import Image as BaseImage

from telestrations.providers.pixels import decode_reduced

log = logging.getLogger(__name__)

ImageMode = Literal["auto", "sixel", "tgp", "halfcell", "unicode"]

THUMBS = "thumbs"
"""Folder inside a game folder where thumbnails are cached (never the originals)."""

_CLASSES: dict[str, type[BaseImage]] = {
    "auto": AutoImage,
    "sixel": SixelImage,
    "tgp": TGPImage,
    "halfcell": HalfcellImage,
    "unicode": UnicodeImage,
}


def image_class(mode: str) -> type[BaseImage]:
    """The textual-image widget class for a ``--images`` mode (unknown modes: half-block)."""
    return _CLASSES.get(mode, HalfcellImage)


def best_image_class() -> type[BaseImage]:
    """The best protocol this terminal supports (sixel, TGP, then half-block), for the viewer."""
    return AutoImage


def thumbnail_pixels(mode: str, cells: int) -> int:
    """Thumbnail width in pixels for ``cells`` terminal cells: half-block and unicode draw one
    or two pixels per cell, so a tiny image is enough; sixel and TGP need real pixels."""
    if mode in ("halfcell", "unicode"):
        return max(8, cells * 2)
    return max(8, cells * 10)


def thumbnail_path(game_path: Path, image_name: str) -> Path:
    """``<game>/thumbs/<image stem>.png``."""
    return game_path / THUMBS / f"{Path(image_name).stem}.png"


def load_thumbnail(game_path: Path, image_name: str, width: int) -> PILImage.Image:
    """The cached thumbnail (made once from the original, at least ``width`` pixels wide).

    Blocking: call through ``asyncio.to_thread``. The original is only read, never re-encoded.
    """
    thumb = thumbnail_path(game_path, image_name)
    try:
        with PILImage.open(thumb) as im:
            if im.width >= width or im.info.get("telestrations-full") == "1":
                im.load()
                return im.convert("RGB")
    except (OSError, ValueError):
        pass
    source = game_path / image_name
    # Reduced while decoding (JPEG drafts, PNG strips): a huge picture never sits whole.
    small = decode_reduced(source, (width, width * 4)).convert("RGB")
    small.thumbnail((width, width * 4), PILImage.Resampling.LANCZOS)
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    if small.width < width:  # the original is smaller than asked: never regenerate
        info.add_text("telestrations-full", "1")
    try:
        thumb.parent.mkdir(exist_ok=True)
        # A name of its own: two cards may make the same thumbnail at once.
        fd, tmp = tempfile.mkstemp(prefix=f".{thumb.stem}.", suffix=".tmp", dir=thumb.parent)
        with os.fdopen(fd, "wb") as fh:
            small.save(fh, "PNG", pnginfo=info)
        os.replace(tmp, thumb)
    except OSError as exc:  # the cache is a convenience: show the picture anyway
        log.warning("could not cache thumbnail %s: %s", thumb, exc)
    return small


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
