"""A card's text that changes without changing its height is repainted, not laid out (each
layout pass moves and repaints every card in view); one that needs more lines gets them."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.content import Content
from textual.widgets import Static

from telestrations.tui.bindings import KeyHint
from telestrations.tui.widgets.cards import relabel


class Card(App[None]):
    CSS = "Static { width: 24; height: auto; }"

    def compose(self) -> ComposeResult:
        yield Static(Content("waiting for the guesser…"), id="text")
        yield Static("below", id="below")


async def test_a_text_of_the_same_height_is_repainted_without_a_layout() -> None:
    async with Card().run_test(size=(40, 12)) as pilot:
        text = pilot.app.query_one("#text", Static)
        assert text.size.height == 1
        relabel(text, Content("“a red house”"))
        assert not text._layout_required  # repainted only
        await pilot.pause()
        assert text.visual is not None and "a red house" in str(text.render())
        assert text.size.height == 1


async def test_a_text_that_needs_more_lines_gets_them() -> None:
    async with Card().run_test(size=(40, 12)) as pilot:
        text = pilot.app.query_one("#text", Static)
        below = pilot.app.query_one("#below", Static)
        relabel(text, Content("“a red house under a yellow sun with a small dog beside it”"))
        assert text._layout_required
        await pilot.pause()
        assert text.size.height == 3
        assert below.region.y == text.region.bottom  # the card below moved down for it


async def test_a_key_hint_whose_keys_did_not_change_is_left_alone() -> None:
    class Hinted(App[None]):
        def compose(self) -> ComposeResult:
            yield KeyHint("press ", "q", " to quit", id="hint")

    async with Hinted().run_test(size=(40, 5)) as pilot:
        hint = pilot.app.query_one(KeyHint)
        await pilot.pause()
        hint.show_keys()  # as when focus moves or a game starts: the same keys
        assert not hint._layout_required
