"""The main screen's bindings: ids name them in ``[keymap]``; the footer, help screen and
command palette are built from this list (:mod:`telestrations.tui.bindings`)."""

from __future__ import annotations

from textual.binding import Binding, BindingType

MAIN_BINDINGS: list[BindingType] = [
    Binding(
        "enter",
        "start",
        "Start",
        priority=True,
        id="start",
        tooltip="Start a game from the first prompt",
    ),
    Binding(
        "enter",
        "pause",
        "Pause",
        priority=True,
        id="pause",
        tooltip="Pause after the turn in flight",
    ),
    Binding(
        "enter",
        "resume",
        "Resume",
        priority=True,
        id="resume",
        tooltip="Resume (a failed turn is retried)",
    ),
    Binding("s", "step", "Step", id="step", tooltip="Play exactly one turn"),
    Binding("x", "stop", "Stop", id="stop", tooltip="Cancel the turn in flight and stop"),
    Binding("n", "new_game", "New", id="new-game", tooltip="New game (first prompt)"),
    Binding("d", "pick('drawer')", "Drawer", id="pick-drawer", tooltip="Choose the drawer"),
    Binding("g", "pick('guesser')", "Guesser", id="pick-guesser", tooltip="Choose the guesser"),
    Binding(
        "t",
        "pick_preset",
        "Preset",
        show=False,
        id="pick-preset",
        tooltip="Choose the guesser preset (faithful, funnier, scarier...)",
    ),
    Binding(
        "v",
        "view",
        "View",
        id="view-image",
        tooltip="View the selected (or newest) image full size",
    ),
    Binding(
        "o",
        "open_external",
        "Open",
        show=False,
        id="open-image",
        tooltip="Open the selected (or newest) image in the system viewer",
    ),
    Binding("p", "past_games", "Games", show=False, id="past-games", tooltip="Open a past game"),
    Binding(
        "slash",
        "focus_prompt",
        "Prompt",
        show=False,
        id="focus-prompt",
        tooltip="Edit the first prompt",
    ),
    Binding(
        "escape",
        "leave_field",
        "Leave field",
        show=False,
        id="leave-field",
        tooltip="Leave a text field (single-key bindings work again)",
    ),
    Binding("question_mark", "help", "Help", id="help", tooltip="Every key"),
    # keeping (issue 11)
    Binding(
        "e",
        "export",
        "Export",
        show=False,
        id="export",
        tooltip="Export the game: HTML, GIF, WebP, contact sheet, md, jsonl",
    ),
    Binding(
        "u",
        "toggle_converged",
        "Until converged",
        show=False,
        id="until-converged",
        tooltip="Stop when the chain converges or cycles (on/off)",
    ),
    Binding(
        "b",
        "branch",
        "Branch",
        show=False,
        id="branch",
        tooltip="Branch a new game from the selected round",
    ),
    Binding(
        "m",
        "toggle_memory",
        "Memory",
        show=False,
        id="memory",
        tooltip="Memory play: the drawer also gets the last picture",
    ),
]
