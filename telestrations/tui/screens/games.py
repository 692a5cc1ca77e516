"""Past games: pick one to open (paused, ready to continue with Enter)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from telestrations.store import GameSummary, Store
from telestrations.tui.bindings import Key, KeyHint
from telestrations.tui.text import plain
from telestrations.turns import money, plural


class PastGames(ModalScreen[Path | None]):
    """The games folder, newest first; returns the chosen game's folder."""

    BINDING_GROUP_TITLE = "Past games"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "enter",
            "open",
            "Open",
            priority=True,
            id="games.open",
            tooltip="Open the highlighted game (paused)",
        ),
        Binding("escape", "dismiss(None)", "Close", id="games.close", tooltip="Close the list"),
        Binding("e", "export", "Export", id="games.export", tooltip="Export the highlighted game"),
    ]

    def __init__(self, store: Store, on_export: Callable[[Path], None] | None = None) -> None:
        super().__init__(classes="dialog-screen")
        self.store = store
        self.on_export = on_export
        self.games: list[GameSummary] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="games", classes="dialog"):
            muted = "$text-muted"
            yield KeyHint(
                ("Past games", "bold"),
                "  ",
                Key("games.open", muted),
                (" opens · ", muted),
                Key("games.close", muted),
                (" closes · ", muted),
                Key("games.export", muted),
                (" exports", muted),
                id="games-title",
            )
            yield OptionList(id="games-list")

    async def on_mount(self) -> None:
        options = self.query_one("#games-list", OptionList)
        options.loading = True
        self.games = await asyncio.to_thread(self.store.list)  # reads every journal
        options.loading = False
        if not self.games:
            options.add_option(
                Option(plain(f"no games yet in {self.store.games_dir}"), disabled=True)
            )
            return
        for g in self.games:
            cost = f"  {money(g.spent)}" if g.spent else ""
            failed = f"  {plural(g.failed, 'failed attempt')}" if g.failed else ""
            options.add_option(
                Option(
                    Content.assemble(
                        plain(g.name, "bold", oneline=True),
                        (f"  {plural(g.rounds, 'round')}{cost}{failed}\n  ", "$text-muted"),
                        plain(g.prompt, oneline=True, limit=100),
                        plain(f"\n  {g.links}" if g.links else "", "$text-muted", oneline=False),
                    ),
                    id=str(g.path),
                )
            )
        options.highlighted = 0
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.dismiss(Path(event.option.id))

    def action_open(self) -> None:
        option = self.query_one("#games-list", OptionList).highlighted_option
        if option is not None and option.id:
            self.dismiss(Path(option.id))

    def action_export(self) -> None:
        option = self.query_one("#games-list", OptionList).highlighted_option
        if self.on_export is not None and option is not None and option.id:
            self.on_export(Path(option.id))
