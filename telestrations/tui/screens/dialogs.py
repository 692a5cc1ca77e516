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

from telestrations.tui.bindings import Key, KeyHint, key_for
from telestrations.tui.text import InOrderInput, clean, plain


class KeyDialog(ModalScreen[str | None]):
    """Ask for a provider's API key; returns it (stored by the caller) or None.

    The key is typed into a password field and never displayed again.
    """

    BINDING_GROUP_TITLE = "Key dialog"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "enter", "save", "Save", priority=True, id="key-dialog.save", tooltip="Store the key"
        ),
        Binding(
            "escape",
            "dismiss(None)",
            "Cancel",
            priority=True,  # before the key field, whatever key it is moved to
            id="key-dialog.cancel",
            tooltip="Store nothing",
        ),
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
            field = InOrderInput(password=True, placeholder=f"{name} key", id="key-input")
            field.border_title = plain(f"{name} key")
            yield field
            muted = "$text-muted"
            yield KeyHint(
                ("Saved owner-only in ", muted),
                plain(str(self.keys_file), muted),
                "\n",
                Key("key-dialog.save", muted),
                (" saves · ", muted),
                Key("key-dialog.cancel", muted),
                (" cancels", muted),
                id="key-dialog-hint",
            )

    def on_mount(self) -> None:
        self.query_one("#key-input", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def action_save(self) -> None:
        value = self.query_one("#key-input", Input).value.strip()
        if not value:
            self.notify(
                f"The key is empty; {key_for(self, 'key-dialog.cancel')} cancels.",
                severity="warning",
                markup=False,
            )
            return
        self.dismiss(value)


class ConfirmDialog(ModalScreen[bool]):
    """Yes or no; Enter picks the focused button (Yes first)."""

    BINDING_GROUP_TITLE = "Confirm"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "dismiss(True)", "Yes", id="confirm.yes", tooltip="Yes (in a question)"),
        Binding("n,escape", "dismiss(False)", "No", id="confirm.no", tooltip="No (in a question)"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__(classes="dialog-screen")
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm", classes="dialog"):
            yield Static(plain(self.question))
            with Horizontal(id="confirm-buttons"):
                yield Button("Yes", id="yes", variant="warning")
                yield Button("No", id="no")

    def on_mount(self) -> None:
        # The buttons name the keys as the keymap has them: "Yes (y)", "No (n)".
        for button_id, binding_id, label in (
            ("yes", "confirm.yes", "Yes"),
            ("no", "confirm.no", "No"),
        ):
            button = self.query_one(f"#{button_id}", Button)
            button.label = Content.assemble(label, " (", key_for(self, binding_id), ")")
        self.query_one("#yes", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")
