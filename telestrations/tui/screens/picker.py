"""The model menu: every registered model of one kind, grouped by provider, filterable.

Unusable models stay selectable but are dimmed with the reason ("no key", "not pulled"), so a
person can pick one and fix it (the key dialog opens for a missing key).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from telestrations.providers.base import Availability, ModelInfo, ModelKind
from telestrations.tui.bindings import Key, KeyHint
from telestrations.tui.text import PlainInput, plain


@dataclass(frozen=True)
class PickerRow:
    """One model as the menu shows it."""

    provider_title: str
    model: ModelInfo
    availability: Availability
    dated: str = ""
    """"shuts down 2026-12-11" for a model ending soon (shut-down ones are not offered)."""


def _prompt(row: PickerRow, current: str) -> Content:
    """One short line per model; the long story is in the detail pane under the list."""
    m, a = row.model, row.availability
    mark = "● " if m.id == current else "  "
    style = "" if a.ok else "$text-disabled"
    parts: list[Content | str | tuple[str, str]] = [
        (mark, "$accent"),
        plain(m.id, f"bold {style}".strip(), oneline=True, limit=80),
    ]
    extra = []
    if m.price is not None:
        extra.append(f"${m.price:g}/call")
    if m.discovered:
        extra.append("found")
    if row.dated:
        extra.append(row.dated)
    elif m.retired:
        extra.append("retired")
    if extra:
        parts += ["  ", plain(" · ".join(extra), "$text-muted", oneline=True, limit=60)]
    if not a.ok:
        parts += ["  ", plain(f"— {a.reason}", "italic $text-error", oneline=True, limit=60)]
    return Content.assemble(*parts)


def _detail(row: PickerRow) -> Content:
    """Everything known about the highlighted model, including how to make it usable."""
    m, a = row.model, row.availability
    lines: list[Content] = [plain(m.label or m.id, "bold", oneline=True, limit=120)]
    facts = []
    facts.append(f"${m.price:g} per call" if m.price is not None else "price unknown")
    if row.dated:
        facts.append(f"{row.dated}, replaced by {m.successor}" if m.successor else row.dated)
    if m.retired:
        facts.append(f"retired: {m.retired}")
    if m.note:
        facts.append(m.note)
    lines.append(plain(" · ".join(facts), "$text-muted", oneline=True, limit=240))
    if a.ok:
        lines.append(plain("ready", "$text-success"))
    else:
        lines.append(plain(a.reason, "$text-error", oneline=True, limit=240))
        if a.hint:
            lines.append(plain(a.hint, "italic", oneline=True, limit=240))
    return Content("\n").join(lines)


class ModelOptions(OptionList):
    """The list of models. The detail pane under it grows and shrinks with the highlighted
    model (a note, a hint), and so does this list: after a resize the highlighted row is
    scrolled back into view (at 80x24 it dropped below the fold)."""

    def _on_resize(self) -> None:
        super()._on_resize()  # type: ignore[no-untyped-call]  # untyped in Textual
        self.call_after_refresh(self.scroll_to_highlight)


class ModelPicker(ModalScreen[str | None]):
    """Returns the chosen model id, or None when dismissed."""

    BINDING_GROUP_TITLE = "Model menu"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "enter", "choose", "Pick", priority=True, id="picker.choose", tooltip="Use this model"
        ),
        Binding(
            "escape",
            "dismiss(None)",
            "Close",
            priority=True,  # before the filter field, whatever key it is moved to
            id="picker.close",
            tooltip="Close the menu",
        ),
        Binding("down", "cursor(1)", "Down", show=False, id="picker.down", tooltip="Next model"),
        Binding("up", "cursor(-1)", "Up", show=False, id="picker.up", tooltip="Previous model"),
        Binding(
            "pagedown",
            "cursor(10)",
            "Page down",
            show=False,
            id="picker.page-down",
            tooltip="Ten models down",
        ),
        Binding(
            "pageup",
            "cursor(-10)",
            "Page up",
            show=False,
            id="picker.page-up",
            tooltip="Ten models up",
        ),
        Binding(
            "ctrl+r",
            "refresh",
            "Refresh",
            priority=True,  # letters go to the filter field
            id="picker.refresh",
            tooltip="Ask the services for their model lists now",
        ),
    ]

    def __init__(
        self,
        kind: ModelKind,
        current: str,
        rows: list[PickerRow],
        *,
        sources: str = "",
        refresh: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(classes="dialog-screen")
        self.kind: ModelKind = kind
        self.current = current
        self.rows = rows
        self.sources = sources
        """Where the lists came from and their age ("openai: cached 3 h ago")."""
        self._refresh = refresh

    def compose(self) -> ComposeResult:
        with Vertical(id="picker", classes="dialog"):
            muted = "$text-muted"
            yield KeyHint(
                (f"Choose the {self.kind}", "bold"),
                ("  type to filter · ", muted),
                Key("picker.up", muted),
                Key("picker.down", muted),
                (" · ", muted),
                Key("picker.choose", muted),
                (" picks · ", muted),
                Key("picker.close", muted),
                (" closes · ", muted),
                Key("picker.refresh", muted),
                (" refreshes the lists", muted),
                id="picker-title",
            )
            yield PlainInput(placeholder="filter…", id="picker-filter")
            yield ModelOptions(id="picker-options")
            yield Static("", id="picker-detail")
            yield Static(self._sources_text(), id="picker-sources")

    def _sources_text(self) -> Content:
        return plain(self.sources, "$text-muted", oneline=True, limit=200)

    def action_refresh(self) -> None:
        """Ask the services for their model lists now; the rows follow when they answer."""
        if self._refresh is not None:
            self._refresh()

    def on_mount(self) -> None:
        self._fill("")
        self.query_one("#picker-filter", Input).focus()

    def update_rows(self, rows: list[PickerRow], sources: str | None = None) -> None:
        """New availability or discovered models arrived from the background checks."""
        self.rows = rows
        if sources is not None:
            self.sources = sources
            self.query_one("#picker-sources", Static).update(self._sources_text())
        self._fill(self.query_one("#picker-filter", Input).value)

    def _fill(self, needle: str) -> None:
        options_list = self.query_one("#picker-options", OptionList)
        keep = options_list.highlighted_option.id if options_list.highlighted_option else None
        needle = needle.strip().lower()
        options: list[Option | None] = []
        last_title = None
        for row in self.rows:
            haystack = f"{row.model.id} {row.model.label} {row.provider_title}".lower()
            if needle and needle not in haystack:
                continue
            if row.provider_title != last_title:
                if last_title is not None:
                    options.append(None)
                options.append(Option(plain(row.provider_title, "bold $secondary"), disabled=True))
                last_title = row.provider_title
            options.append(Option(_prompt(row, self.current), id=row.model.id))
        options_list.clear_options()
        options_list.add_options(options)
        target = keep or self.current
        try:
            options_list.highlighted = options_list.get_option_index(target)
        except Exception:
            options_list.action_first()
        if options_list.highlighted is not None:
            options_list.scroll_to_highlight()
        option = options_list.highlighted_option
        self._show_detail(option.id if option is not None else None)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._show_detail(event.option.id)

    def _show_detail(self, model_id: str | None) -> None:
        row = next((r for r in self.rows if r.model.id == model_id), None)
        detail = self.query_one("#picker-detail", Static)
        detail.update(_detail(row) if row is not None else "")

    def on_input_changed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_choose()

    def action_choose(self) -> None:
        """Use the highlighted model (a heading or an empty list picks nothing)."""
        option = self.query_one("#picker-options", OptionList).highlighted_option
        if option is not None and option.id:
            self.dismiss(option.id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.dismiss(event.option.id)

    def action_cursor(self, delta: int) -> None:
        options = self.query_one("#picker-options", OptionList)
        for _ in range(abs(delta)):
            if delta > 0:
                options.action_cursor_down()
            else:
                options.action_cursor_up()
