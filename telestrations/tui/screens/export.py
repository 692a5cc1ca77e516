"""Export a game (the current one, or one highlighted in past games): pick a format; the file
is written in a thread, beside the others in the working folder, never over an existing one."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from telestrations.tui.text import plain

CHOICES = (
    ("html", "HTML booklet: one file, pictures inside, opens offline"),
    ("gif", "GIF flipbook: one frame per drawing, caption under it"),
    ("webp", "WebP flipbook: smaller, same frames"),
    ("sheet", "contact sheet: a PNG grid of every drawing"),
    ("md", "Markdown with the pictures in a folder beside it"),
    ("jsonl", "the journal (JSON Lines)"),
)


class ExportDialog(ModalScreen[str | None]):
    """Returns the chosen format, or None."""

    DEFAULT_CSS = """
    #export { height: auto; max-height: 80%; }
    #export-list { height: auto; border: none; }
    """
    BINDING_GROUP_TITLE = "Export"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Close", id="export.close", tooltip="Close"),
    ]

    def __init__(self, game_name: str, where: Path) -> None:
        super().__init__(classes="dialog-screen")
        self.game_name = game_name
        self.where = where

    def compose(self) -> ComposeResult:
        with Vertical(id="export", classes="dialog"):
            yield Static(
                plain(f"Export {self.game_name} to {self.where}", "bold", oneline=True),
                id="export-title",
            )
            yield OptionList(*(Option(text, id=fmt) for fmt, text in CHOICES), id="export-list")

    def on_mount(self) -> None:
        self.query_one(OptionList).highlighted = 0
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)
