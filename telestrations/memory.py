"""Memory play: a drawer is also given the previous picture, so pictures morph instead of
jumping. Services that can take one do it as an image edit (OpenAI ``/v1/images/edits``),
image-to-image (AUTOMATIC1111 ``/sdapi/v1/img2img``, ComfyUI's ``LoadImage`` → ``VAEEncode``);
a drawer that cannot draws from the text alone, and the journal says which happened."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from telestrations.providers.base import Drawer, Picture, ReferenceDrawer, sniff_format
from telestrations.store import GameDir
from telestrations.text import clean_text
from telestrations.turns import TurnRecord


def reference_name(records: Sequence[TurnRecord]) -> str:
    """The picture the text being drawn was said of: the image of the last finished describe
    ("" before any, e.g. round 1 of a text game)."""
    last = next((r for r in reversed(records) if r.ok and r.kind == "describe"), None)
    return last.image if last is not None else ""


def load_reference(game_dir: GameDir, name: str) -> Picture | None:
    """The previous picture, read from inside the game folder; None if it cannot be read
    (memory is a nicety: the turn then draws from text). Blocking."""
    from PIL import Image

    try:
        data = game_dir.read_image(name)
        fmt = sniff_format(data)
        if fmt is None:
            return None
        with Image.open(io.BytesIO(data)) as im:
            width, height = im.size
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    return Picture(data, fmt, width, height)


def unsupported(drawer: Drawer) -> str:
    """Why ``drawer`` cannot draw from a picture ("" when it can)."""
    if not isinstance(drawer, ReferenceDrawer):
        return "this drawer cannot take a picture"
    return drawer.reference_unsupported()


async def draw_remembering(
    drawer: Drawer, text: str, reference: Picture | None, name: str
) -> tuple[Picture, dict[str, Any] | None]:
    """Draw ``text`` from ``reference`` where the drawer can, else from the text; with the
    journal's ``memory`` entry saying which (None: there is no previous picture yet)."""
    if not name:
        return await drawer.draw(text), None
    if reference is None:
        why = "the previous picture cannot be read"
        return await drawer.draw(text), {"reference": name, "used": False, "why": why}
    why = unsupported(drawer)
    if why or not isinstance(drawer, ReferenceDrawer):
        return await drawer.draw(text), {"reference": name, "used": False, "why": why}
    return await drawer.draw_from(text, reference), {"reference": name, "used": True}


def memory_note(record: TurnRecord, noted: set[str]) -> str:
    """Once per drawer (``noted`` remembers): it was asked for memory play and drew from the
    text alone, and why; "" otherwise."""
    memo = record.memory
    if not memo or memo.get("used") or not memo.get("why") or record.model in noted:
        return ""
    noted.add(record.model)
    why = clean_text(str(memo["why"]), 300)
    return f"memory play: {clean_text(record.model, 80)} draws from the text alone ({why})"
