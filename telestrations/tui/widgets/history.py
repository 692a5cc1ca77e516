"""The history pane: a bounded window of cards over every round of the game.

Every turn is kept as lightweight data (:class:`RoundEntry`/:class:`ErrorEntry`, a few hundred
bytes each), but at most ``max_cards`` cards are mounted at once, and only mounted cards hold
thumbnail pixels. Scrolling to either edge of the window (or moving the selection past it)
mounts the next page and unmounts as many cards at the other end, so an endless game keeps
memory and layout cost bounded. The pane follows the newest round unless the user has
scrolled up; ``End`` jumps back to it. Pictures take the room the pane has: when it changes
size, every mounted card gets a new :class:`Room` and makes its thumbnail for it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Static

from telestrations.tui.bindings import key_for
from telestrations.tui.images import picture_size
from telestrations.tui.widgets.cards import (
    Entry,
    ErrorCard,
    ErrorEntry,
    Room,
    RoundCard,
    RoundEntry,
    Thumb,
    ThumbSpec,
)
from telestrations.turns import TurnRecord


class History(VerticalScroll, can_focus=True):
    """Scrollable cards, newest at the bottom, with a movable selection."""

    BINDING_GROUP_TITLE = "History"
    PARTIAL_EVERY = 0.15
    """Seconds between repaints of a streaming caption (each may move every card)."""
    BATCH_EVERY = 0.25
    """While a fast game runs, new turns are shown at most this often, several in one
    layout pass: each pass re-lays and repaints the pane (every mounted card moves)."""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "up,k",
            "select(-1)",
            "Previous",
            show=False,
            id="history.previous",
            tooltip="Select the previous round",
        ),
        Binding(
            "down,j",
            "select(1)",
            "Next",
            show=False,
            id="history.next",
            tooltip="Select the next round",
        ),
        Binding(
            "end,G", "newest", "Newest", id="history.newest", tooltip="Jump to the newest round"
        ),
        Binding(
            "home",
            "oldest",
            "Oldest",
            show=False,
            id="history.oldest",
            tooltip="Jump to the oldest round",
        ),
    ]

    def __init__(self, spec: ThumbSpec, max_cards: int = 60, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.spec = spec
        self.max_cards = max(4, max_cards)
        self.page = max(2, self.max_cards // 3)
        self.entries: list[Entry] = []
        self._rounds: dict[int, RoundEntry] = {}
        self._seen: set[int] = set()
        """Journal positions (``seq``) shown: a turn is never shown twice."""
        self._cards: dict[int, Widget] = {}
        self.lo = 0
        """First mounted entry."""
        self.hi = 0
        """One past the last mounted entry."""
        self.selected: int | None = None
        self.following = True
        """True while the view sits at the bottom: new rounds scroll into view."""
        self._busy = False
        self._programmatic = 0
        """Scrolls of our own in progress: they must not trigger paging."""
        self.first_prompt = ""
        self.state = "idle"
        """The game's state, for cards still waiting for their caption."""
        self.room = Room(76, 30, spec.cells)
        """What a card's content has; measured from the pane once it is laid out."""
        self._resize_timer: Timer | None = None
        self._measured = False
        self.aspect = 1.0
        """The shape (width / height) of the game's latest picture: new cards start with it,
        so they keep their size when their own picture is read."""
        self._partials: set[int] = set()
        """Rounds whose streamed caption changed since it was last shown."""
        self._partial_timer: Timer | None = None
        self._early: dict[int, tuple[str, str]] = {}
        """Streamed captions that came before their round's picture was shown."""
        self._held: list[TurnRecord] = []
        """Journalled turns waiting for the next batch (:data:`BATCH_EVERY`)."""
        self._batch_timer: Timer | None = None
        self._sweep_due = False
        """A sweep for pictures in view is scheduled after the next layout."""
        self._follow_due = False
        """A follow is scheduled after the next screen update (one, however many asked)."""
        self._showing = asyncio.Lock()
        """Cards are mounted and unmounted by one caller at a time: held turns in journal
        order, and a page or a new game never interleaved with a batch (duplicate ids)."""

    def on_mount(self) -> None:
        self.border_title = "Rounds"

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static("", id="older", classes="more")
        yield Static(Content.from_markup("[dim]No rounds yet.[/]"), id="newer", classes="more")

    # -- data ------------------------------------------------------------------------------

    @property
    def mounted(self) -> int:
        return len(self._cards)

    async def reset(
        self,
        spec: ThumbSpec,
        records: list[TurnRecord] = (),  # type: ignore[assignment]
        first_prompt: str = "",
    ) -> None:
        """Forget everything and show ``records`` (a resumed game) from the newest end."""
        self.spec = spec
        self.first_prompt = first_prompt
        self.room = self._measure() or Room(self.room.cols, self.room.rows, spec.cells)
        self._held = []  # the last game's turns not shown yet are not this game's
        if self._batch_timer is not None:
            self._batch_timer.stop()
            self._batch_timer = None
        aspect = await self._shape_of(records)
        # A batch of the last game may be mounting right now (a branch or an open while a
        # game runs): it finishes first, or its cards would take this game's ids.
        async with self._showing:
            self.aspect = aspect
            self._held = []
            await self._unmount(list(self._cards))
            self.entries, self._rounds, self._seen, self._early = [], {}, set(), {}
            self.selected = None
            for record in records:
                self._add_entry(record)
            start = max(0, len(self.entries) - self.max_cards)
            self.lo = self.hi = start
            await self._mount_range(start, len(self.entries), before="#newer")
            self.hi = len(self.entries)
        self.following = True
        self._update_more()
        self.scroll_end(animate=False)
        self._follow_soon()  # again once the cards have their size

    def has(self, record: TurnRecord) -> bool:
        """This journalled turn is shown already (or about to be, in the next batch)."""
        return record.seq in self._seen or any(r.seq == record.seq for r in self._held)

    def _add_entry(self, record: TurnRecord) -> int | None:
        """Record a turn; returns the index of a new entry, or None when one was updated."""
        self._seen.add(record.seq)
        if record.ok and record.kind == "draw":
            drawn = RoundEntry(record.round, record, prompt=self._drawn_from(record))
            drawn.partial = self._early.pop(record.round, None)
            self._rounds[record.round] = drawn
            entry: Entry = drawn
        elif record.ok and record.round in self._rounds:
            self._rounds[record.round].describe = record
            return None
        else:
            entry = ErrorEntry(record)
        self.entries.append(entry)
        return len(self.entries) - 1

    def _drawn_from(self, draw: TurnRecord) -> str:
        """The text a picture was drawn from: the first prompt or the previous caption. The
        drawer's input also carries the style ("{style}: {prompt}"); the booklet shows the
        prompt. When the journal does not say (no first prompt known), the whole input."""
        before = self._rounds.get(draw.round - 1)  # round 0: a start picture's caption
        if before is not None and before.describe is not None:
            prompt = before.describe.output
        elif draw.round <= 1:
            prompt = self.first_prompt
        else:
            prompt = ""
        if prompt and draw.input.endswith(prompt):
            return prompt
        return draw.input

    def show_partial(self, round_no: int, model: str, text: str) -> None:
        """A streaming guesser's caption so far on its round's card (if the card is shown)."""
        entry = self._rounds.get(round_no)
        if entry is None:  # the describe starts while its picture is still being saved
            self._early[round_no] = (model, text)
            return
        if entry.describe is not None:
            return
        entry.partial = (model, text)
        # A model streams a word every few ms and each change lays the screen out again:
        # the first words show at once, later ones at most every PARTIAL_EVERY seconds.
        self._partials.add(round_no)
        if self._partial_timer is None:
            self._show_partials()
            self._partial_timer = self.set_timer(self.PARTIAL_EVERY, self._partials_due)

    def _partials_due(self) -> None:
        self._partial_timer = None
        if self._partials:
            self._show_partials()

    def _show_partials(self) -> None:
        rounds, self._partials = self._partials, set()
        for round_no in rounds:
            entry = self._rounds.get(round_no)
            if entry is None or entry.describe is not None or entry.partial is None:
                continue
            card = self._card_for(entry)
            if card is not None:
                card.refresh_entry()
                if self.following:
                    self._follow_soon()

    def _card_for(self, entry: RoundEntry) -> RoundCard | None:
        return next(
            (c for c in self._cards.values() if isinstance(c, RoundCard) and c.entry is entry),
            None,
        )

    async def add(self, record: TurnRecord) -> None:
        """Show a journalled turn: a new card, a caption on its round's card, or an error.

        The first turn after a quiet spell shows at once; turns that follow within
        :data:`BATCH_EVERY` are shown together when it has passed (a game at ``pace = 0``
        plays several turns a second, and each layout pass costs every mounted card)."""
        if self.has(record):
            return
        self._held.append(record)
        if self._batch_timer is not None and self.state == "running":
            return
        await self.release()
        if self._batch_timer is None:
            self._batch_timer = self.set_timer(self.BATCH_EVERY, self._batch_due)

    async def _batch_due(self) -> None:
        if not self._held:  # a quiet spell: the next turn shows at once
            self._batch_timer = None
            return
        await self.release()  # turns that come meanwhile wait for the next batch
        self._batch_timer = self.set_timer(self.BATCH_EVERY, self._batch_due)

    async def release(self) -> None:
        """Show the held turns now, in journal order and one layout pass."""
        async with self._showing:
            while self._held:
                held, self._held = self._held, []
                with self.app.batch_update():
                    for record in held:
                        await self._show(record)
            newest = self._cards.get(self.hi - 1)
            if self.following and isinstance(newest, RoundCard):
                # In view once laid out (a card fits the pane): its picture starts now, so
                # it is ready for the frame that shows the card. Older ones wait for a sweep.
                newest.want_picture()

    async def _show(self, record: TurnRecord) -> None:
        if record.seq in self._seen:
            return
        pending = self._rounds.get(record.round)
        if record.kind == "describe" and pending is not None and pending.partial is not None:
            pending.partial = None  # finished or failed: the half caption goes
            card = self._card_for(pending)
            if card is not None:
                card.refresh_entry()
        index = self._add_entry(record)
        if index is None:
            entry = self._rounds[record.round]
            card = self._card_for(entry)
            if card is not None:
                card.refresh_entry()
                if self.following:
                    self._follow_soon()
            return
        at_tail = self.hi == index
        if at_tail and (self.following or self.mounted == 0):
            await self._mount_range(index, index + 1, before="#newer")
            self.hi = index + 1
            keep = min(self.max_cards, self._tail_cards())
            if self.selected is not None and self.selected >= self.lo:
                keep = max(keep, self.hi - self.selected)  # never the selected card
            if self.hi - self.lo > keep:
                drop = list(range(self.lo, self.hi - keep))
                self.lo = self.hi - keep
                await self._unmount(drop)
            self._update_more()
            self._follow_soon()
        else:
            self._update_more()

    # -- the room pictures have ------------------------------------------------------------

    def _measure(self) -> Room | None:
        """The cells a card's content has: the pane less its scrollbar and the card's border
        and padding (None before the pane is laid out)."""
        width, height = self.size
        if width <= 0 or height <= 0:
            return None
        return Room(width - 1 - 3, height, self.spec.cells)

    def on_resize(self, event: events.Resize) -> None:
        if self._resize_timer is not None:
            self._resize_timer.stop()
        if not self._measured:  # the first layout: no waiting
            self._measured = True
            self._relayout()
            return
        # A drag of the window sends many sizes: thumbnails are made for the last one.
        self._resize_timer = self.set_timer(0.15, self._relayout)

    def _relayout(self) -> None:
        self._resize_timer = None
        room = self._measure()
        if room is None or room == self.room:
            return
        self.room = room
        for card in self._cards.values():
            if isinstance(card, RoundCard):
                card.set_room(room)
        self._follow_soon()  # and the pictures now in view

    async def _shape_of(self, records: list[TurnRecord]) -> float:
        """The newest picture's width / height, from its header (in a thread); square when
        there is none or it cannot be read."""
        drawn = [r for r in records if r.ok and r.kind == "draw"]
        if not drawn:
            return 1.0
        try:
            width, height = await asyncio.to_thread(
                picture_size, self.spec.game_path / drawn[-1].output
            )
        except (OSError, ValueError):
            return 1.0
        return width / max(1, height)

    def on_thumb_shaped(self, message: Thumb.Shaped) -> None:
        self.aspect = message.aspect
        if self.following:  # the card changed height: keep the newest in view
            self._follow_soon()

    def set_state(self, state: str) -> None:
        """The game's state: a card waiting for its caption says "paused" while paused."""
        if state == self.state:
            return
        self.state = state
        if state != "running" and self._held:  # paused or stopped: show what is kept now
            self.call_later(self.release)
        for card in self._cards.values():
            if isinstance(card, RoundCard):
                card.set_state(state)

    # -- mounting --------------------------------------------------------------------------

    TAIL_SCREENS = 3
    """While following, cards are kept mounted for about this many pane heights: every
    mounted card costs each layout pass, and scrolling up pages older ones back in."""

    def _tail_cards(self) -> int:
        """How many of the newest cards fill :data:`TAIL_SCREENS` pane heights."""
        view = max(1, self.size.height)
        rows = kept = 0
        for i in range(self.hi - 1, self.lo - 1, -1):
            card = self._cards.get(i)
            height = card.outer_size.height if card is not None else 0
            rows += height if height > 0 else 3  # not laid out yet: a small guess
            kept += 1
            if rows >= self.TAIL_SCREENS * view:
                break
        return max(4, kept + 1)

    def _make_card(self, index: int) -> Widget:
        entry = self.entries[index]
        if isinstance(entry, RoundEntry):
            card: Widget = RoundCard(
                index, entry, self.spec, self.room, self.state, self.aspect, eager=False
            )
        else:
            card = ErrorCard(index, entry)
        if index == self.selected:
            card.add_class("-selected")
        return card

    async def _mount_range(self, start: int, stop: int, *, before: str | Widget) -> None:
        cards = [self._make_card(i) for i in range(start, stop)]
        for i, card in zip(range(start, stop), cards, strict=True):
            self._cards[i] = card
        if cards:
            await self.mount_all(cards, before=before)

    async def _unmount(self, indices: list[int]) -> None:
        cards = [self._cards.pop(i) for i in indices if i in self._cards]
        if cards:
            await self.remove_children(cards)

    def _update_more(self) -> None:
        older = self.query_one("#older", Static)
        newer = self.query_one("#newer", Static)
        older.display = self.lo > 0
        if self.lo > 0:
            older.update(
                Content.assemble(
                    (f"▲ {self.lo} earlier", "bold"),
                    (" — scroll up for more, ", "dim"),
                    (key_for(self, "history.oldest"), "dim"),
                    (" for the first round", "dim"),
                )
            )
        waiting = len(self.entries) - self.hi
        newer.display = waiting > 0 or not self.entries
        if waiting > 0:
            newer.update(
                Content.assemble(
                    (f"▼ {waiting} newer", "bold"),
                    (" — scroll down, or ", "dim"),
                    (key_for(self, "history.newest"), "dim"),
                    (" for the newest", "dim"),
                )
            )
        elif not self.entries:
            newer.update(Content.from_markup("[dim]No rounds yet.[/]"))

    async def load_older(self) -> bool:
        """Mount the page before the window (and drop as many at the far end)."""
        if self._busy or self.lo == 0:
            return False
        self._busy = True
        try:
            async with self._showing:
                if self.lo == 0:  # a new game came in meanwhile
                    return False
                anchor = self._cards.get(self.lo)
                start = max(0, self.lo - self.page)
                await self._mount_range(start, self.lo, before=anchor or "#newer")
                self.lo = start
                if self.hi - self.lo > self.max_cards:
                    drop = list(range(self.lo + self.max_cards, self.hi))
                    self.hi = self.lo + self.max_cards
                    await self._unmount(drop)
                self._update_more()
            if anchor is not None:
                self.call_after_refresh(self._scroll_to_card, anchor)
            return True
        finally:
            self._busy = False

    async def load_newer(self) -> bool:
        """Mount the page after the window (and drop as many at the near end)."""
        if self._busy or self.hi >= len(self.entries):
            return False
        self._busy = True
        try:
            async with self._showing:
                if self.hi >= len(self.entries):
                    return False
                anchor = self._cards.get(self.hi - 1)
                stop = min(len(self.entries), self.hi + self.page)
                await self._mount_range(self.hi, stop, before="#newer")
                self.hi = stop
                if self.hi - self.lo > self.max_cards:
                    drop = list(range(self.lo, self.hi - self.max_cards))
                    self.lo = self.hi - self.max_cards
                    await self._unmount(drop)
                self._update_more()
            if anchor is not None:
                self.call_after_refresh(self._scroll_to_card, anchor)
            return True
        finally:
            self._busy = False

    async def _window_at(self, start: int) -> None:
        """Replace the window with ``max_cards`` entries from ``start``."""
        async with self._showing:
            start = max(0, min(start, len(self.entries) - self.max_cards))
            await self._unmount(list(self._cards))
            self.lo = self.hi = start
            stop = min(len(self.entries), start + self.max_cards)
            await self._mount_range(start, stop, before="#newer")
            self.hi = stop
            self._update_more()
        self.sweep_soon()

    def watch_virtual_size(self) -> None:
        # A card grew or shrank after it was shown (its picture arrived for a new room, a
        # caption came): while following, the newest card stays in view.
        if self.following:
            self._follow_soon()
        else:  # cards moved: maybe into view
            self.sweep_soon()

    def sweep_soon(self) -> None:
        """Look for pictures come into view once the current layout pass is done (a card
        got its size)."""
        if not self._sweep_due:
            self._sweep_due = True
            self.call_later(self._sweep)

    def _follow_soon(self) -> None:
        """Follow the newest card once the next screen update is done. Asked for by every
        card shown or grown: in a fast game that holds the screen (FrameGate), hundreds of
        asks came between two updates, each a scroll and a sweep queued on this widget (485
        waiting in a test under load, keys queued behind them); now they are one."""
        if not self._follow_due:
            self._follow_due = True
            self.call_after_refresh(self._follow_once)

    def _follow_once(self) -> None:
        self._follow_due = False
        self._follow()

    def _follow(self) -> None:
        """Show the newest card, unless the person scrolled away since it was added."""
        if self.following:
            self.scroll_end(animate=False, immediate=True)
        self._sweep()

    PRELOAD = 2
    """Rows beyond the view whose cards' pictures are made before they show."""

    def _sweep(self) -> None:
        """Ask for the pictures of the cards in view (or within :data:`PRELOAD` rows of it).

        A card that was mounted and scrolled out of view again between two frames (a fast
        game shows a batch of rounds at once) never makes its thumbnail: each costs a decode
        of the whole picture. Scrolling back to it (or any change of the view) asks then.
        Positions come from the last layout (the cards' heights); a card not laid out yet is
        looked at again when it gets its size (:meth:`sweep_soon`)."""
        self._sweep_due = False
        height = self.scrollable_content_region.height
        if height <= 0:
            return
        if self.following:  # the view is (or is about to be scrolled) at the end
            self._sweep_tail(height)
            return
        top = self.scroll_y - self.PRELOAD
        bottom = self.scroll_y + height + self.PRELOAD
        y = 0
        for child in self._nodes:
            if not child.display:
                continue
            size = child.outer_size.height
            if size <= 0:  # not laid out yet
                continue
            if isinstance(child, RoundCard) and y < bottom and y + size > top:
                child.want_picture()
            y += size + child.styles.margin.bottom
            if y >= bottom:
                break

    def _sweep_tail(self, rows: int) -> None:
        """While following: the newest cards that fill ``rows`` from the bottom are in view
        (whether or not the scroll to the end has happened yet)."""
        y = 0
        for child in reversed(self._nodes):
            if not child.display:
                continue
            size = child.outer_size.height
            if size <= 0:  # not laid out yet: where the rest goes is not known
                return
            if isinstance(child, RoundCard) and min(size, rows - y) > self.PRELOAD:
                child.want_picture()  # (a sliver of a few rows at the top shows no picture)
            y += size + child.styles.margin.bottom
            if y >= rows:
                return

    def _scroll_to_card(self, card: Widget, top: bool = True) -> None:
        """Scroll (ours, not the user's) so ``card`` shows; never triggers paging."""
        if not card.is_attached:
            return
        self._programmatic += 1
        self.scroll_to_widget(card, top=top, animate=False, immediate=True)
        self.call_after_refresh(self._end_programmatic)

    def _end_programmatic(self) -> None:
        self._programmatic = max(0, self._programmatic - 1)

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if not self._showing.locked():  # not while a card is being added below the view
            self.following = new >= self.max_scroll_y - 1 and self.hi >= len(self.entries)
        elif (
            new < old - 1
            and not self._programmatic
            and new < self.max_scroll_y - max(2, self.size.height)
        ):
            # Moved up, more than a pane from the end and not by us, while a card was being
            # added: the person scrolled. Follow no more, or the new card's scroll to the end
            # would take the view back down from under them (the cards dropped above while
            # following leave the view at the end).
            self.following = False
        if round(old) != round(new):
            self._sweep()  # the pictures now in view
        if round(old) == round(new) or self._busy or self._programmatic:
            return
        # Page only in the direction the person is scrolling.
        if new < old and new <= 0 < self.lo:
            self.call_later(self.load_older)
        elif new > old and new >= self.max_scroll_y - 1 and self.hi < len(self.entries):
            self.call_later(self.load_newer)

    # -- selection and actions -------------------------------------------------------------

    def _set_selected(self, index: int | None) -> None:
        if self.selected is not None and self.selected in self._cards:
            old = self._cards[self.selected]
            old.remove_class("-selected")
            if isinstance(old, RoundCard):
                old.refresh_entry()  # drops the "branch from here" hint
        self.selected = index
        if index is not None:  # the person is looking at this card: it stays where it is
            self.following = False
        if index is not None and index in self._cards:
            card = self._cards[index]
            card.add_class("-selected")
            if isinstance(card, RoundCard):
                card.refresh_entry()
            self._scroll_to_card(card, top=False)

    async def action_select(self, delta: int) -> None:
        """Move the selection by ``delta`` entries, paging the window as needed."""
        if not self.entries:
            return
        current = self.selected if self.selected is not None else self.hi
        target = max(0, min(len(self.entries) - 1, current + delta))
        if target < self.lo:
            await self.load_older()
        elif target >= self.hi:
            await self.load_newer()
        if self.lo <= target < self.hi:
            self._set_selected(target)

    async def action_newest(self) -> None:
        """Back to the newest round, following new ones again."""
        self._set_selected(None)
        if self.hi < len(self.entries) or len(self.entries) - self.lo > self.max_cards:
            await self._window_at(len(self.entries) - self.max_cards)
        self.following = True
        self.scroll_end(animate=False)

    async def action_oldest(self) -> None:
        """To the first round of the game."""
        self._set_selected(None)
        if self.lo > 0:
            await self._window_at(0)
        self.following = False
        self.scroll_home(animate=False)
        if self.entries:
            self._set_selected(0)

    def on_click(self, event) -> None:  # type: ignore[no-untyped-def]
        widget = event.widget
        while widget is not None and widget is not self:
            if isinstance(widget, (RoundCard, ErrorCard)):
                self._set_selected(widget.index)
                return
            widget = widget.parent

    # -- queries ---------------------------------------------------------------------------

    def image_entry(self) -> RoundEntry | None:
        """The selected round, else the newest round with an image."""
        if self.selected is not None:
            entry = self.entries[self.selected]
            if isinstance(entry, RoundEntry):
                return entry
        for entry in reversed(self.entries):
            if isinstance(entry, RoundEntry):
                return entry
        return None

    def image_path(self, entry: RoundEntry) -> Path:
        return self.spec.game_path / entry.image

    def round_entries(self) -> list[RoundEntry]:
        return [e for e in self.entries if isinstance(e, RoundEntry)]
