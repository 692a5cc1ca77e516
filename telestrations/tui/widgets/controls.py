"""The controls panel: first prompt, drawer and guesser pickers, style and guesser prompts.

Every field is read at the next turn: the main screen turns each change into a new
:class:`~telestrations.game.Settings` (replaced whole) for the running game.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, Static

from telestrations.game import Settings
from telestrations.providers.base import Availability, ModelKind
from telestrations.tui.bindings import Key, KeyHint, key_for
from telestrations.tui.text import PlainInput, plain


class ModelField(Static, can_focus=True):
    """Shows the chosen model and whether it can be used; Space, a click or the screen's
    drawer/guesser key opens the menu."""

    BINDING_GROUP_TITLE = "Model fields"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "space",
            "open",
            "Choose",
            id="model-field.open",
            tooltip="On a focused drawer or guesser field: open its menu",
        )
    ]

    @dataclass
    class Open(Message):
        """Open the picker for this kind."""

        kind: ModelKind

    def __init__(self, kind: ModelKind, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.kind: ModelKind = kind
        self.model_id = ""
        self.availability = Availability.yes()
        self.border_title = kind.capitalize()
        self._key_shown = ""

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._show_key)
        self._show_key()

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _show_key(self, _screen: object = None) -> None:
        """The title names the key that opens this menu (``Drawer  d``), keymap applied."""
        key = key_for(self, f"pick-{self.kind}")
        if key != self._key_shown:
            self._key_shown = key
            self.border_title = Content.assemble(f"{self.kind.capitalize()}  ", key)  # not markup

    def show(self, model_id: str, availability: Availability) -> None:
        self.model_id, self.availability = model_id, availability
        parts: list[Content | str | tuple[str, str]] = [
            plain(model_id, "bold", oneline=True, limit=60)
        ]
        if not availability.ok:
            parts += ["\n", plain(availability.reason, "$error", oneline=True, limit=80)]
        self.set_class(not availability.ok, "-unusable")
        self.update(Content.assemble(*parts))

    def action_open(self) -> None:
        self.post_message(self.Open(self.kind))

    def on_click(self) -> None:
        self.action_open()


class Controls(VerticalScroll):
    """The left-hand panel of the main screen."""

    def __init__(self, prompt: str, settings: Settings, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._prompt = prompt
        self._settings = settings

    def compose(self) -> ComposeResult:
        s = self._settings
        yield self._input(
            "prompt", self._prompt, "First prompt", "what the drawer draws first, or @picture.png"
        )
        yield ModelField("drawer", id="drawer")
        yield self._input("style", s.style, "Drawer style", 'sent as "{style}: {prompt}"')
        yield ModelField("guesser", id="guesser")
        yield self._input("guesser-system", s.guesser_system, "Guesser system", "system prompt")
        yield self._input("guesser-prompt", s.guesser_prompt, "Guesser prompt", "the question")
        yield KeyHint(
            Key("start"),
            " start · pause · resume\n",
            Key("step"),
            " one turn  ",
            Key("stop"),
            " stop  ",
            Key("new-game"),
            " new\n",
            Key("view-image"),
            " view image  ",
            Key("help"),
            " keys  ",
            Key("quit"),
            " quit",
            id="controls-hint",
        )

    @staticmethod
    def _input(field_id: str, value: str, title: str, placeholder: str) -> Input:
        # Values come from --prompt, the state file or a past game: one line, no escapes.
        field = PlainInput(value, placeholder=placeholder, id=field_id, select_on_focus=False)
        field.border_title = title
        return field

    def value(self, field_id: str) -> str:
        return self.query_one(f"#{field_id}", Input).value

    def set_value(self, field_id: str, value: str) -> None:
        field = self.query_one(f"#{field_id}", Input)
        with field.prevent(Input.Changed):
            field.value = value

    def show_preset(self, name: str) -> None:
        """The guesser preset under the guesser's texts (``custom`` when edited by hand), with
        the key that opens the preset menu."""
        field = self.query_one("#guesser-system", Input)
        key = key_for(self, "pick-preset")
        field.border_subtitle = Content.assemble(
            "preset ", plain(name or "custom", "bold", oneline=True, limit=40), "  ", key
        )

    def show_model(self, kind: ModelKind, model_id: str, availability: Availability) -> None:
        self.query_one(f"#{kind}", ModelField).show(model_id, availability)
