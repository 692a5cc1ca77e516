"""The footer, with Help and Quit kept at the right edge.

Textual's footer lists the active bindings in order (the focused widget's first, the app's
last) and cuts whatever does not fit: at 80 columns Help and Quit were the ones cut. Here they
sit in a group docked right, next to the command palette, so a narrow terminal still names them.
"""

from __future__ import annotations

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
        active = self.screen.active_bindings
        seen_actions: set[str] = set()
        pinned: dict[str, tuple[Binding, bool, str]] = {}
        pinnable = {i for ids in self.PINNED.values() for i in ids}
        for _node, binding, enabled, tooltip in active.values():
            if binding.id in pinnable:
                pinned.setdefault(binding.id, (binding, enabled, tooltip))
                continue
            if not binding.show:
                continue
            if binding.action in seen_actions:  # one key per action, as Textual's footer
                continue
            seen_actions.add(binding.action)
            yield self._key(binding, enabled, tooltip)
        with HorizontalGroup(id="footer-pinned"):
            first = True
            for ids in self.PINNED.values():
                found = next((pinned[i] for i in ids if i in pinned), None)
                if found is not None:
                    key = self._key(*found)
                    key.set_class(first, "-pinned-first")
                    first = False
                    yield key
            palette = active.get(self.app.COMMAND_PALETTE_BINDING)
            if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE and palette:
                _node, binding, enabled, _tooltip = palette
                yield FooterKey(
                    binding.key,
                    self.app.get_key_display(binding),
                    binding.description,
                    binding.action,
                    classes="-command-palette",
                    disabled=not enabled,
                    tooltip=binding.tooltip or binding.description,
                )

    def _key(self, binding: Binding, enabled: bool, tooltip: str) -> FooterKey:
        key = FooterKey(
            binding.key,
            self.app.get_key_display(binding),
            binding.description,
            binding.action,
            disabled=not enabled,
            tooltip=tooltip,
        )
        return key.data_bind(compact=Footer.compact)
