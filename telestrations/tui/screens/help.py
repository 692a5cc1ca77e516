"""The help screen: every binding, with its current key (after the user's keymap)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from telestrations.tui.bindings import HelpRow, Key, hint

__all__ = ["HelpRow", "HelpScreen"]


class HelpScreen(ModalScreen[None]):
    """A scrollable list of every key, by group."""

    BINDING_GROUP_TITLE = "Help"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape,q,question_mark",
            "dismiss(None)",
            "Close",
            id="help.close",
            tooltip="Close this list",
        )
    ]

    def __init__(self, rows: list[HelpRow]) -> None:
        super().__init__(classes="dialog-screen")
        self.rows = rows

    def compose(self) -> ComposeResult:
        parts: list[Content | str | tuple[str, str]] = [("Keys", "bold"), "\n"]
        group = None
        width = max((len(row.keys) for row in self.rows), default=0) + 2  # as wide as needed
        for row in self.rows:
            if row.group != group:
                parts += ["\n", (row.group, "bold $secondary"), "\n"]
                group = row.group
            parts += [(f" {row.keys:<{width}}", "bold $accent"), row.description, "\n"]
        parts += [
            "\n",
            hint(
                self,
                ("Every action is also in the command palette (", "$text-muted"),
                Key("command-palette", "$text-muted"),
                (").", "$text-muted"),
            ),
        ]
        with VerticalScroll(id="help", classes="dialog"):
            yield Static(Content.assemble(*parts))
