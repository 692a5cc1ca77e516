"""The help screen: every binding, with its current key (after the user's keymap)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static


@dataclass(frozen=True)
class HelpRow:
    group: str
    keys: str
    description: str


def rows_from(group: str, bindings: list[Binding], keymap: dict[str, str]) -> list[HelpRow]:
    """Help rows for ``bindings``, keys as the keymap has them."""
    out = []
    for b in bindings:
        if not b.description and not b.tooltip:
            continue
        keys = keymap.get(b.id, b.key) if b.id else b.key
        pretty = ", ".join(_pretty(k) for k in keys.split(","))
        out.append(HelpRow(group, pretty, b.tooltip or b.description))
    return out


def _pretty(key: str) -> str:
    key = key.strip()
    names = {
        "question_mark": "?",
        "slash": "/",
        "enter": "Enter",
        "escape": "Esc",
        "space": "Space",
        "end": "End",
        "home": "Home",
        "up": "↑",
        "down": "↓",
    }
    return names.get(key, key.replace("ctrl+", "Ctrl+").replace("_", " "))


class HelpScreen(ModalScreen[None]):
    """A scrollable list of every key, by group."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss(None)", "Close", id="help.close")
    ]

    def __init__(self, rows: list[HelpRow]) -> None:
        super().__init__(classes="dialog-screen")
        self.rows = rows

    def compose(self) -> ComposeResult:
        parts: list[Content | str | tuple[str, str]] = [("Keys", "bold"), "\n"]
        group = None
        for row in self.rows:
            if row.group != group:
                parts += ["\n", (row.group, "bold $secondary"), "\n"]
                group = row.group
            parts += [(f"  {row.keys:<18}", "bold $accent"), row.description, "\n"]
        parts += ["\n", ("Every action is also in the command palette (Ctrl+P).", "$text-muted")]
        with VerticalScroll(id="help", classes="dialog"):
            yield Static(Content.assemble(*parts))
