"""Bindings are the single source of truth for every key the UI names.

The footer, the help screen, the command palette and every hint that says "press X" read the
key from the :class:`~textual.binding.Binding` declarations and the app's keymap (``[keymap]``
in config.toml, applied with ``App.set_keymap``), so a rebound key shows everywhere and no
letter is written down twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.binding import Binding
from textual.content import Content, Span
from textual.dom import DOMNode
from textual.keys import format_key
from textual.widgets import Static

from telestrations.text import clean

if TYPE_CHECKING:
    from textual.screen import Screen

_NAMES = {
    "enter": "Enter",
    "escape": "Esc",
    "space": "Space",
    "tab": "Tab",
    "backspace": "Backspace",
    "delete": "Del",
    "pageup": "PgUp",
    "pagedown": "PgDn",
    "minus": "-",
}
_MODIFIERS = {"ctrl": "Ctrl", "shift": "Shift", "alt": "Alt", "meta": "Meta", "super": "Super"}


def key_display(key: str) -> str:
    """How one key is written in help and hints: ``Enter``, ``Ctrl+K``, ``?``, ``↑``, ``G``."""
    *mods, name = clean(key.strip(), oneline=True, limit=40).split("+")
    if name in _NAMES:
        shown = _NAMES[name]
    else:
        shown = format_key(name)  # "question_mark" → "?", "up" → "↑"
        if len(shown) > 1 and shown.isascii():
            shown = shown.replace("_", " ").capitalize()  # "end" → "End", "f5" → "F5"
    if mods and len(shown) == 1 and shown.isalpha():
        shown = shown.upper()
    return "+".join([*(_MODIFIERS.get(m, m.capitalize()) for m in mods), shown])


def keys_display(keys: Iterable[str]) -> str:
    """Several keys for one binding: ``Esc, q, v``."""
    return ", ".join(key_display(k) for k in keys)


def split_keys(keys: str) -> list[str]:
    return [k.strip() for k in keys.split(",") if k.strip()]


def default_keys(node: DOMNode, binding_id: str) -> list[str] | None:
    """The keys ``binding_id`` is declared with on ``node`` or an ancestor (None: nowhere)."""
    for ancestor in node.ancestors_with_self:
        keys = [b.key for _, b in ancestor._bindings if b.id == binding_id]
        if keys:
            return keys
    return None


def active_keymap(node: DOMNode) -> Mapping[str, str]:
    """The keymap the app applies now (Textual keeps it normalized, e.g. ``question_mark``)."""
    try:
        keymap: Mapping[str, str] = node.app._keymap
    except Exception:  # no active app (a node built outside one)
        return {}
    return keymap


def keys_for(node: DOMNode, binding_id: str) -> list[str]:
    """The keys that trigger ``binding_id`` now, keymap applied."""
    override = active_keymap(node).get(binding_id)
    if override:
        return split_keys(override)
    keys = default_keys(node, binding_id)
    if keys is None:
        raise LookupError(f"no binding {binding_id!r} on {node!r} or its ancestors")
    return keys


def key_for(node: DOMNode, binding_id: str) -> str:
    """The first key of ``binding_id`` as a hint writes it (``Enter``, ``Ctrl+K``)."""
    return key_display(keys_for(node, binding_id)[0])


# -- the help screen -------------------------------------------------------------------------


@dataclass(frozen=True)
class HelpRow:
    group: str
    keys: str
    description: str


def rows_from(group: str, bindings: Iterable[Any], keymap: Mapping[str, str]) -> list[HelpRow]:
    """One row per described binding (keys merged as declared), keys as ``keymap`` has them."""
    out = []
    for b in declared(bindings):
        if not b.description and not b.tooltip:
            continue
        keys = (keymap.get(b.id) if b.id else None) or b.key
        out.append(HelpRow(group, keys_display(split_keys(keys)), b.tooltip or b.description))
    return out


def declared(bindings: Iterable[Any]) -> list[Binding]:
    """``BINDINGS`` as :class:`Binding` objects (a tuple entry becomes one), keys unsplit."""
    return [b if isinstance(b, Binding) else Binding(*b) for b in bindings]


def expand_keymap(keymap: Mapping[str, str], groups: Iterable[Iterable[Any]]) -> dict[str, str]:
    """``keymap`` plus the declared keys of bindings that share a key with a rebound one.

    Textual drops every binding on a key when one binding on it is rebound (moving ``start``
    off Enter would take ``pause`` and ``resume`` with it); naming their keys keeps them.
    """
    out = dict(keymap)
    for bindings in groups:
        these = declared(bindings)
        for moved in these:
            if not moved.id or moved.id not in keymap:
                continue
            moved_keys = set(split_keys(moved.key))
            for other in these:
                if other.id and other.id not in out and moved_keys & set(split_keys(other.key)):
                    out[other.id] = other.key
    return out


# -- the command palette -----------------------------------------------------------------------


@dataclass(frozen=True)
class PaletteEntry:
    """One binding offered in the command palette, run on the node that declares it."""

    title: str
    help: str
    run: Callable[[], Any]


def palette_entries(screen: Screen[Any]) -> list[PaletteEntry]:
    """Every described binding that can run now (``check_action``) of ``screen``, of the app,
    and of each widget that titles a binding group and is the only one of its class on the
    screen (two model fields would make "open its menu" ambiguous); titled by group and
    tooltip."""
    app = screen.app
    widgets = [w for w in screen.walk_children() if type(w).__dict__.get("BINDING_GROUP_TITLE")]
    count = Counter(type(w) for w in widgets)
    nodes: list[DOMNode] = [screen, *(w for w in widgets if count[type(w)] == 1), app]
    seen: set[str] = set()
    out = []
    for node in nodes:
        group = getattr(node, "BINDING_GROUP_TITLE", None) or "App"
        for b in declared(type(node).BINDINGS):
            if not b.id or b.id in seen or not (b.tooltip or b.description):
                continue
            target, action, params = app._parse_action(b.action, node)
            if not target.check_action(action, params):
                continue
            seen.add(b.id)
            out.append(
                PaletteEntry(
                    f"{group.lower()}: {_lower_first(b.tooltip or b.description)}",
                    f"{b.description or b.id} · key {keys_display(keys_for(node, b.id))}",
                    _runner(node, b.action),
                )
            )
    return out


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _runner(node: DOMNode, action: str) -> Callable[[], Awaitable[bool]]:
    async def run() -> bool:
        return await node.app.run_action(action, node)

    return run


# -- hints -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    """A key named in a hint, by binding id."""

    binding_id: str
    style: str = "bold"


HintPart = Content | str | tuple[str, str] | Key


class KeyHint(Static):
    """Static text naming keys by binding id; redrawn when the screen's bindings change
    (a keymap set at run time included)."""

    def __init__(self, *parts: HintPart, id: str | None = None, classes: str = "") -> None:
        super().__init__("", id=id, classes=classes, markup=False)
        self.parts = parts
        self._shown: tuple[str, Sequence[Span]] | None = None

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self.show_keys()

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, _screen: object) -> None:
        self.show_keys()

    def show_keys(self) -> None:
        # Bindings change whenever focus moves or a game starts or pauses; the keys named
        # here rarely do, and each update lays the whole screen out again.
        shown = hint(self, *self.parts)
        if self._shown is None or (shown.plain, shown.spans) != self._shown:
            self._shown = (shown.plain, shown.spans)
            self.update(shown)


def hint(node: DOMNode, *parts: HintPart) -> Content:
    """``parts`` assembled, each :class:`Key` replaced by its current key (never markup)."""
    out: list[Content | str | tuple[str, str]] = []
    for part in parts:
        if isinstance(part, Key):
            out.append((key_for(node, part.binding_id), part.style))
        else:
            out.append(part)
    return Content.assemble(*out)
