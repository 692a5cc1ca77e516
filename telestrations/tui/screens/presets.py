"""The guesser preset menu: each preset with what playing with it is like, and the exact texts
the guesser will get under the list, so nobody picks a prompt blind."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from telestrations.presets import Preset
from telestrations.tui.bindings import Key, KeyHint
from telestrations.tui.text import plain


def _row(preset: Preset, current: str) -> Content:
    mark = "● " if preset.name == current else "  "
    parts: list[Content | str | tuple[str, str]] = [
        (mark, "$accent"),
        plain(preset.name, "bold", oneline=True, limit=40),
    ]
    if preset.about:
        parts += ["  ", plain(preset.about, "$text-muted", oneline=True, limit=70)]
    if not preset.builtin:
        parts += ["  ", ("(config)", "italic $text-muted")]
    return Content.assemble(*parts)


def _detail(preset: Preset) -> Content:
    return Content("\n").join(
        [
            Content.assemble(("system: ", "bold"), plain(preset.system or "(none)", limit=400)),
            Content.assemble(("prompt: ", "bold"), plain(preset.prompt, limit=400)),
        ]
    )


class PresetPicker(ModalScreen[str | None]):
    """Returns the chosen preset's name, or None when dismissed."""

    BINDING_GROUP_TITLE = "Preset menu"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "enter",
            "choose",
            "Pick",
            priority=True,
            id="presets.choose",
            tooltip="Ask the guesser this way from the next turn",
        ),
        Binding(
            "escape",
            "dismiss(None)",
            "Close",
            priority=True,
            id="presets.close",
            tooltip="Close the preset menu",
        ),
    ]

    def __init__(self, current: str, presets: Mapping[str, Preset]) -> None:
        super().__init__(classes="dialog-screen")
        self.current = current
        self.presets = dict(presets)

    def compose(self) -> ComposeResult:
        with Vertical(id="preset-picker", classes="dialog"):
            muted = "$text-muted"
            yield KeyHint(
                ("Guesser preset", "bold"),
                ("  ↑↓ · ", muted),
                Key("presets.choose", muted),
                (" picks · ", muted),
                Key("presets.close", muted),
                (" closes", muted),
                id="preset-title",
            )
            yield OptionList(
                *(Option(_row(p, self.current), id=p.name) for p in self.presets.values()),
                id="preset-options",
            )
            yield Static("", id="preset-detail")

    def on_mount(self) -> None:
        options = self.query_one("#preset-options", OptionList)
        if self.current in self.presets:
            options.highlighted = options.get_option_index(self.current)
        else:
            options.action_first()
        options.focus()
        self._show(options.highlighted_option)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._show(event.option)

    def _show(self, option: Option | None) -> None:
        preset = self.presets.get(option.id or "") if option is not None else None
        self.query_one("#preset-detail", Static).update(_detail(preset) if preset else "")

    def action_choose(self) -> None:
        option = self.query_one("#preset-options", OptionList).highlighted_option
        if option is not None and option.id:
            self.dismiss(option.id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.dismiss(event.option.id)
