"""The flows the main screen opens on top of itself: the model menu (with its background
checks), the image viewer, the system viewer, the past games list and the export dialog. Kept out of
:class:`~telestrations.tui.screens.main.MainScreen` so it only lays out and routes."""

from __future__ import annotations

import asyncio
import functools
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from telestrations.exports import ExportError, free_path
from telestrations.exports import export_game as export_to
from telestrations.presets import apply, label
from telestrations.providers.base import ModelKind
from telestrations.providers.listings import state_note
from telestrations.store import GameDir
from telestrations.tui.bindings import key_for
from telestrations.tui.later import Later
from telestrations.tui.screens.dialogs import ConfirmDialog
from telestrations.tui.screens.export import ExportDialog
from telestrations.tui.screens.games import PastGames
from telestrations.tui.screens.picker import ModelPicker, PickerRow
from telestrations.tui.screens.presets import PresetPicker
from telestrations.tui.screens.viewer import ImageViewer
from telestrations.tui.text import clean
from telestrations.tui.widgets.cards import RoundEntry

if TYPE_CHECKING:
    from telestrations.tui.screens.main import MainScreen


class ModelMenu:
    """The drawer/guesser menu: rows refreshed as the services answer, a choice applied."""

    def __init__(self, screen: MainScreen) -> None:
        self.screen = screen
        self.picker: ModelPicker | None = None

    def rows(self, kind: ModelKind) -> list[PickerRow]:
        today = self.screen.runtime.today()
        return [
            PickerRow(title, model, avail, state_note(model, today))
            for title, model, avail in self.screen.control.checks.rows(kind)
        ]

    def open(self, kind: ModelKind) -> None:
        screen = self.screen
        picker = ModelPicker(
            kind,
            getattr(screen.settings, kind),
            self.rows(kind),
            sources=screen.control.listing_summary(),
            refresh=lambda: self.refresh(kind),
        )
        self.picker = picker

        def chosen(model_id: str | None) -> None:
            self.picker = None
            if model_id:
                self.choose(kind, model_id)

        screen.app.push_screen(picker, chosen)
        check = Later(functools.partial(self._check_kind, kind))
        screen.run_worker(check, group="checks-picker", exit_on_error=False)

    async def _check_kind(self, kind: ModelKind) -> None:
        await self.screen.control.checks.check_all((kind,))
        self._update(kind)

    def _update(self, kind: ModelKind) -> None:
        picker = self.picker
        if picker is not None and picker.kind == kind and picker.is_attached:
            picker.update_rows(self.rows(kind), self.screen.control.listing_summary())

    def refresh(self, kind: ModelKind) -> None:
        """The menu's refresh key: every service's model list now, in a worker."""
        screen = self.screen

        async def go() -> None:
            await screen.control.refresh_listings(kind)
            self._update(kind)
            screen.show_models()
            screen.notify("Model lists refreshed.", markup=False)

        screen.notify("Asking the services for their model lists…", markup=False)
        screen.run_worker(Later(go), group="listings", exclusive=True, exit_on_error=False)

    def choose(self, kind: ModelKind, model_id: str) -> None:
        """Use ``model_id`` from the next turn; ask for its key if it has none."""
        screen = self.screen
        if model_id == getattr(screen.settings, kind):
            return
        change: dict[str, Any] = {kind: model_id}
        screen.apply_settings(replace(screen.settings, **change))
        avail = screen.control.availability(model_id, kind)
        screen.controls.show_model(kind, model_id, avail)
        shown = clean(model_id, oneline=True, limit=80)
        screen.notify(f"{kind.capitalize()}: {shown} (from the next turn)", markup=False)
        if not avail.ok and avail.error().kind == "auth":
            screen.ask_key(model_id, avail, then=screen.show_models)


def pick_preset(screen: MainScreen) -> None:
    """The guesser preset menu; the one chosen fills both guesser texts from the next turn."""

    def chosen(name: str | None) -> None:
        if name is not None:
            choose_preset(screen, name)

    presets = screen.runtime.config.preset_table()
    screen.app.push_screen(PresetPicker(screen.settings.preset, presets), chosen)


def choose_preset(screen: MainScreen, name: str) -> None:
    """Use preset ``name``'s texts from the next turn, shown in the guesser fields."""
    preset = screen.runtime.config.preset_table().get(name)
    if preset is None:
        return
    screen.apply_settings(apply(screen.settings, preset))
    screen.controls.set_value("guesser-system", preset.system)
    screen.controls.set_value("guesser-prompt", preset.prompt)
    screen.controls.show_preset(name)
    shown = clean(name, oneline=True, limit=40)
    screen.notify(f"Guesser preset: {shown} (from the next turn)", markup=False)


def relabel(screen: MainScreen, *, save: bool = True) -> None:
    """After a guesser text was edited (or at start): name the preset it still matches, else
    custom."""
    settings = label(screen.settings, screen.runtime.config.preset_table())
    if settings.preset != screen.settings.preset:
        if save:
            screen.apply_settings(settings)
        else:
            screen.control.apply(settings)
    screen.controls.show_preset(settings.preset)


def view_image(screen: MainScreen, index: int | None = None) -> None:
    """The image viewer on the card ``index`` (else the selected or newest image)."""
    game = screen.game
    if game is None:
        screen.notify("No image yet.", markup=False)
        return
    history = screen.history
    rounds = history.round_entries()
    entry = history.image_entry() if index is None else history.entries[index]
    if entry is None or entry not in rounds:
        screen.notify("No image yet.", markup=False)
        return
    # The viewer uses the best protocol the terminal has (half-block or unicode without one).
    screen.app.push_screen(ImageViewer(game.dir.path, rounds, rounds.index(entry), "auto"))


def open_external(screen: MainScreen) -> None:
    """The selected (or newest) image in the system viewer."""
    game = screen.game
    entry = screen.history.image_entry() if game is not None else None
    if entry is None or game is None:
        screen.notify("No image yet.", markup=False)
        return
    screen.app.open_external(game.dir.path / entry.image)  # type: ignore[attr-defined]


def past_games(screen: MainScreen, *, ask_first: bool = False) -> None:
    """The past games list; the one chosen is opened, paused, after the current one stops.
    With ``ask_first`` (a game is running) the person confirms first, as for a new game."""
    if ask_first:

        def confirmed(yes: bool | None) -> None:
            if yes:
                past_games(screen)

        screen.app.push_screen(
            ConfirmDialog("A game is running. Stop it and open a past game?"), confirmed
        )
        return

    async def chosen(path: Path | None) -> None:
        if path is None:
            return
        await screen.control.stop_and_wait()
        try:
            game_dir = await asyncio.to_thread(GameDir.open, path)
        except (OSError, LookupError) as exc:
            screen.notify(clean(str(exc), oneline=True), severity="error", markup=False)
            return
        await screen.open_game(game_dir)

    screen.app.push_screen(PastGames(screen.runtime.store, on_export=screen.export_game), chosen)


def export_game(screen: MainScreen, path: Path) -> None:
    """Ask for a format, then write the export in a thread (the current game included:
    reading takes no lock) to a new file in the working folder."""
    where = Path.cwd()

    async def chosen(fmt: str | None) -> None:
        if fmt is None:
            return

        def write() -> Path:
            game_dir = GameDir.open(path)
            return export_to(game_dir, fmt, free_path(game_dir, fmt, where))

        try:
            out = await asyncio.to_thread(write)
        except (ExportError, OSError, LookupError) as exc:
            screen.notify(
                clean(str(exc), oneline=True), title="Not exported", severity="error", markup=False
            )
            return
        screen.notify(clean(f"exported {out}", oneline=True), title="Exported", markup=False)

    screen.app.push_screen(ExportDialog(path.name, where), chosen)


def toggle_converged(screen: MainScreen) -> None:
    """Stop at convergence (or a cycle), or play on: for this game and the next."""
    until = screen.control.toggle_converged()
    screen.drift_bar.set_until_converged(until)
    screen.notify(
        "The game stops when the chain converges or cycles."
        if until
        else "The game plays on when the chain converges or cycles.",
        markup=False,
    )


def export_current(screen: MainScreen) -> None:
    """Export the game on screen, if there is one."""
    if screen.game is None:
        screen.notify("No game to export yet.", markup=False)
        return
    export_game(screen, screen.game.dir.path)


# -- branching, memory play (issue 11 part 4) ----------------------------------------------


def branch_here(screen: MainScreen) -> None:
    """A new game from the selected round (else the newest finished one) of the game on
    screen, opened paused: Enter plays on from the next round with the current choices.
    A running game is stopped first, after the person confirms."""
    game = screen.game
    history = screen.history
    if game is None or not history.entries:
        screen.notify("No round to branch from yet.", markup=False)
        return
    entry = history.entries[history.selected] if history.selected is not None else None
    if entry is None:
        entry = next((e for e in reversed(history.round_entries()) if e.describe is not None), None)
    if not isinstance(entry, RoundEntry) or entry.describe is None:
        screen.notify(
            "Select a round whose caption has come (the round's card), then branch.",
            severity="warning",
            markup=False,
        )
        return
    round_no = entry.round

    async def go(yes: bool | None = True) -> None:
        if not yes:
            return
        new = await screen.control.branch(round_no)
        if new is None:
            return
        parent = clean(game.dir.name, oneline=True, limit=80)
        await screen.open_game(new)
        screen.notify(
            f"Branched from {parent} round {round_no}: "
            f"{key_for(screen, 'resume')} plays on from round {round_no + 1}.",
            title="New branch",
            markup=False,
        )

    if screen.running:
        screen.app.push_screen(
            ConfirmDialog(f"A game is running. Stop it and branch from round {round_no}?"), go
        )
    else:
        screen.run_worker(Later(go), group="flow")


def toggle_memory(screen: MainScreen) -> None:
    """Memory play on or off, from the next drawing."""
    memory = not screen.settings.memory
    screen.apply_settings(replace(screen.settings, memory=memory))
    screen.controls.show_memory(memory)
    screen.notify(
        "Memory play: the drawer also gets the previous picture, where it can."
        if memory
        else "Memory play off: the drawer gets the text only.",
        markup=False,
    )


def start_picture(text: str) -> Path | None:
    """The picture a first prompt of the form ``@path/to/picture.png`` names, else None."""
    if not text.startswith("@") or len(text) < 2:
        return None
    return Path(text[1:].strip()).expanduser()
