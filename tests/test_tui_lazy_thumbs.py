"""A fast game makes thumbnails only for the cards a frame shows (or scrolling brings back).

At ``pace = 0`` several rounds arrive between two frames; each thumbnail decodes the whole
picture in a thread that holds the interpreter from the game's thread for tens of
milliseconds (``bench/round_overhead.py``). A card scrolled out of view before it was ever
shown makes its thumbnail only when the person scrolls back to it. Counted, not timed.
"""

from __future__ import annotations

from pathlib import Path

from telestrations.tui.widgets.cards import RoundCard, Thumb

from .test_tui_support import (
    in_view,
    main_screen,
    make_app,
    make_runtime,
    picture_in_place,
    settle,
    wait_for,
)

ROUNDS = 12


def _made(game_path: Path) -> set[str]:
    """The pictures that have a cached thumbnail (of any size)."""
    return {p.name.split(".")[0] for p in (game_path / "thumbs").glob("*.png")}


async def test_a_burst_of_rounds_thumbnails_only_the_cards_shown(isolated_env: Path) -> None:
    runtime, _fake = make_runtime(isolated_env, thumbnail_width=120)
    app = make_app(runtime)
    async with app.run_test(size=(120, 36)) as pilot:
        m = main_screen(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: m.game is not None and m.game.rounds_done >= ROUNDS)
        m.action_pause()
        await wait_for(pilot, lambda: not m.running)
        await settle(pilot)
        history = m.history
        cards = list(history.query(RoundCard))
        assert m.game is not None
        rounds = m.game.rounds_done
        game_path = history.spec.game_path
        made = _made(game_path)
        # Every card in view shows its picture (settle waits for them) ...
        shown = [c for c in cards if in_view(history, c)]
        assert shown and all(picture_in_place(c.query_one(Thumb)) for c in shown)
        # ... and the rounds that scrolled by between two frames made none: at 120×36 one
        # card fills the pane, and a burst shows its newest.
        assert len(made) < rounds, f"{len(made)} thumbnails for {rounds} rounds"
        skipped = [c for c in cards if not c.query_one(Thumb).wanted]
        assert skipped
        # Scrolling back to one makes it then.
        card = skipped[-1]
        history._scroll_to_card(card)
        await wait_for(pilot, lambda: picture_in_place(card.query_one(Thumb)))
        assert card.entry.image.removesuffix(".png") in _made(game_path)
