"""The footer, with Help and Quit kept at the right edge.

Textual's footer lists the active bindings in order (the focused widget's first, the app's
last) and cuts whatever does not fit: at 80 columns Help and Quit were the ones cut. Here they
sit in a group docked right, next to the command palette, so a narrow terminal still names them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import HorizontalGroup
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class PinnedFooter(Footer):
    """A footer whose :attr:`PINNED` bindings (by id) never scroll out of sight."""

    PINNED: ClassVar[dict[str, tuple[str, ...]]] = {"help": ("help",), "quit": ("quit", "quit-now")}
    """Pinned entry → binding ids that can show it, in order of preference: while a text field
    takes ``q``, Quit is shown with the key that still works (``Ctrl+Q``)."""

    DEFAULT_CSS = """
    PinnedFooter #footer-pinned {
        dock: right;
        width: auto;
        height: 1;
    }
    PinnedFooter #footer-pinned FooterKey.-command-palette {
        dock: none;
    }
    PinnedFooter #footer-pinned FooterKey.-pinned-first {
        border-left: vkey $foreground 20%;
    }
    """

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        row, pinned = self._wanted()
        for spec in row:
            yield self._make(spec)
        with HorizontalGroup(id="footer-pinned"):
            for spec in pinned:
                yield self._make(spec)

    async def recompose(self) -> None:
        """Show the bindings now active: in place when only keys, labels or enabled states
        changed (a game starting turns Start into Pause), else compose again.

        Textual's footer removes and mounts every key whenever a binding changes: thirteen
        widgets styled, laid out and rendered afresh in one screen update (10-15 ms of the
        event loop when a game starts, paused or resumed). Updated in place, only the keys
        that changed are laid out and rendered again."""
        if not self.is_attached or self._pruning:
            return
        shown = self._shown()
        if not self._bindings_ready or shown is None:
            await super().recompose()
            return
        row, pinned = self._wanted()
        wanted = row + pinned
        if [len(row), len(pinned)] != [len(shown[0]), len(shown[1])] or any(
            spec.classes != _classes_of(key)
            for spec, key in zip(wanted, shown[0] + shown[1], strict=True)
        ):
            await super().recompose()
            return
        for spec, key in zip(wanted, shown[0] + shown[1], strict=True):
            _update_key(key, spec)

    def _shown(self) -> tuple[list[FooterKey], list[FooterKey]] | None:
        """The keys on screen, in the row and in the pinned group; None if it is not the
        shape :meth:`compose` makes."""
        row: list[FooterKey] = []
        group: HorizontalGroup | None = None
        for child in self.children:
            if isinstance(child, FooterKey) and group is None:
                row.append(child)
            elif isinstance(child, HorizontalGroup) and child.id == "footer-pinned":
                group = child
            elif not child.has_class("-textual-system"):
                return None
        if group is None or not all(isinstance(k, FooterKey) for k in group.children):
            return None
        return row, [k for k in group.children if isinstance(k, FooterKey)]

    def _wanted(self) -> tuple[list[KeySpec], list[KeySpec]]:
        """The keys to show: the row (one per action, in binding order) and the pinned group
        (Help, Quit, then the command palette)."""
        active = self.screen.active_bindings
        seen_actions: set[str] = set()
        pinned: dict[str, tuple[Binding, bool, str]] = {}
        pinnable = {i for ids in self.PINNED.values() for i in ids}
        row: list[KeySpec] = []
        for _node, binding, enabled, tooltip in active.values():
            if binding.id in pinnable:
                pinned.setdefault(binding.id, (binding, enabled, tooltip))
                continue
            if not binding.show:
                continue
            if binding.action in seen_actions:  # one key per action, as Textual's footer
                continue
            seen_actions.add(binding.action)
            row.append(self._spec(binding, enabled, tooltip))
        group: list[KeySpec] = []
        for ids in self.PINNED.values():
            found = next((pinned[i] for i in ids if i in pinned), None)
            if found is not None:
                classes = "-pinned-first" if not group else ""
                group.append(self._spec(*found, classes=classes))
        palette = active.get(self.app.COMMAND_PALETTE_BINDING)
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE and palette:
            _node, binding, enabled, _tooltip = palette
            tooltip = binding.tooltip or binding.description
            group.append(
                self._spec(binding, enabled, tooltip, classes="-command-palette", compact=False)
            )
        return row, group

    def _spec(
        self,
        binding: Binding,
        enabled: bool,
        tooltip: str,
        *,
        classes: str = "",
        compact: bool = True,
    ) -> KeySpec:
        return KeySpec(
            binding.key,
            self.app.get_key_display(binding),
            binding.description,
            binding.action,
            not enabled,
            tooltip,
            classes,
            compact,
        )

    def _make(self, spec: KeySpec) -> FooterKey:
        key = FooterKey(
            spec.key,
            spec.display,
            spec.description,
            spec.action,
            disabled=spec.disabled,
            tooltip=spec.tooltip,
            classes=spec.classes,
        )
        return key.data_bind(compact=Footer.compact) if spec.compact else key


@dataclass(frozen=True)
class KeySpec:
    """One key of the footer, as :class:`FooterKey` takes it."""

    key: str
    display: str
    description: str
    action: str
    disabled: bool
    tooltip: str
    classes: str
    """The classes that shape it (``-pinned-first``, ``-command-palette``)."""
    compact: bool
    """Bound to the footer's compact style (every key but the palette's)."""


_SHAPING = ("-pinned-first", "-command-palette")


def _classes_of(key: FooterKey) -> str:
    return " ".join(c for c in _SHAPING if key.has_class(c))


def _update_key(key: FooterKey, spec: KeySpec) -> None:
    """Make a shown key say what ``spec`` says; laid out again only if its text changed."""
    text_changed = (key.key_display, key.description) != (spec.display, spec.description)
    key.key, key.key_display, key.description, key.action = (
        spec.key,
        spec.display,
        spec.description,
        spec.action,
    )
    if key.tooltip != (spec.tooltip or None):
        key.tooltip = spec.tooltip or None
    if key._disabled != spec.disabled:
        key._disabled = spec.disabled
        key.set_class(spec.disabled, "-disabled")
    if text_changed:
        key.refresh(layout=True)
