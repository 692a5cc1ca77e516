"""Small modal dialogs: enter an API key, confirm a choice."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from telestrations.tui.text import clean, plain


class KeyDialog(ModalScreen[str | None]):
    """Ask for a provider's API key; returns it (stored by the caller) or None.

    The key is typed into a password field and never displayed again.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Cancel", id="key-dialog.cancel")
    ]

    def __init__(self, key_name: str, model_id: str, reason: str, keys_file: Path) -> None:
        super().__init__(classes="dialog-screen")
        self.key_name = key_name
        self.model_id = model_id
        self.reason = reason
        self.keys_file = keys_file

    def compose(self) -> ComposeResult:
        with Vertical(id="key-dialog", classes="dialog"):
            yield Static(
                Content.assemble(
                    ("API key needed", "bold"),
                    "\n",
                    plain(self.model_id, "bold $accent", oneline=True, limit=80),
                    ": ",
                    plain(self.reason, oneline=True, limit=200),
                )
            )
            name = clean(self.key_name, oneline=True, limit=40)
            field = Input(password=True, placeholder=f"{name} key", id="key-input")
            field.border_title = plain(f"{name} key")
            yield field
            yield Static(
                Content.assemble(
                    ("Saved owner-only in ", "$text-muted"),
                    plain(str(self.keys_file), "$text-muted"),
                    ("\nEnter saves · Esc cancels", "$text-muted"),
                ),
            )

    def on_mount(self) -> None:
        self.query_one("#key-input", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        value = event.value.strip()
        if not value:
            self.notify("The key is empty; Esc cancels.", severity="warning")
            return
        self.dismiss(value)


class ConfirmDialog(ModalScreen[bool]):
    """Yes or no; Enter picks the focused button (Yes first)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "dismiss(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "dismiss(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__(classes="dialog-screen")
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm", classes="dialog"):
            yield Static(plain(self.question))
            with Horizontal(id="confirm-buttons"):
                yield Button("Yes (y)", id="yes", variant="warning")
                yield Button("No (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#yes", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")
