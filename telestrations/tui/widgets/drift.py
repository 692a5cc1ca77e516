"""The drift bar above the status line: the curve of similarity to the first prompt (absolute
0..1 scale, newest on the right), the latest figures, the half-life and convergence; and the
marks a round card adds under its caption."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from textual.content import Content
from textual.widgets import Static

from telestrations.drift import (
    Convergence,
    RoundDrift,
    chain_drift_kept,
    first_convergence,
    half_life,
    is_kept,
    kept_drift,
    sparkline,
)
from telestrations.tui.text import plain
from telestrations.turns import TurnRecord


class DriftBar(Static):
    """One line: ``drift ▆▄▂▁▁  origin 0.12 · previous 0.40 · half-life 3 · cycle: …``."""

    DEFAULT_CSS = """
    DriftBar { height: 1; width: 1fr; background: $panel; color: $text-muted;
               text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.drift: list[RoundDrift] = []
        self.until_converged = False
        self._kept = False
        """Every caption of the chain shown keeps its drift in the journal: the next one can
        be taken in alone (:meth:`add`)."""
        self._half: int | None = None
        self._converged: Convergence | None = None

    @property
    def half_life(self) -> int | None:
        return self._half

    @property
    def convergence(self) -> Convergence | None:
        """The first convergence or cycle of the chain shown, if any."""
        return self._converged

    async def show_chain(self, first_prompt: str, records: Iterable[TurnRecord]) -> None:
        """Measure (old journals) or read (new ones) the chain's drift off the event loop."""
        self.drift, self._kept = await asyncio.to_thread(
            chain_drift_kept, first_prompt, list(records)
        )
        self._half = half_life([d.to_origin for d in self.drift])
        self._converged = first_convergence(self.drift)
        self._render_bar()

    def add(self, record: TurnRecord) -> bool:
        """Take in the chain's next caption from its journal line, without reading the whole
        game again (a 10,000-round game was walked, copied and measured on every caption);
        False when the chain must be shown again as a whole (:meth:`show_chain`)."""
        if not self._kept or not is_kept(record):
            return False
        drift, new = self.drift, kept_drift(record)
        last = drift[-1].round if drift else 0
        if record.round == last + 1:
            drift.append(new)
            if (
                self._half is None
                and drift[0].to_origin > 0
                and new.to_origin < drift[0].to_origin / 2
            ):
                self._half = len(drift)
            if self._converged is None:
                self._converged = new.converged
        elif record.round == last:  # the round's caption again (the last one counts)
            drift[-1] = new
            self._half = half_life([d.to_origin for d in drift])
            self._converged = first_convergence(drift)
        else:
            return False
        self._render_bar()
        return True

    def set_until_converged(self, on: bool) -> None:
        self.until_converged = on
        self._render_bar()

    def summary(self) -> str:
        """The figures, without the curve (plain text: tests and the status line read it)."""
        parts = []
        if self.drift:
            last = self.drift[-1]
            parts.append(f"origin {last.to_origin:.2f} · previous {last.to_previous:.2f}")
            half = self.half_life
            parts.append(f"half-life round {half}" if half else "half-life not reached")
            conv = self.convergence
            if conv is not None:
                parts.append(conv.describe())
        else:
            parts.append("no caption yet")
        parts.append("stops when converged" if self.until_converged else "plays on if converged")
        return " · ".join(parts)

    def render_content(self) -> Content:
        summary = self.summary()
        room = max(0, self.size.width - len(summary) - 9) if self.size.width else 30
        curve = sparkline([d.to_origin for d in self.drift], room) if room else ""
        return Content.assemble(
            (" drift ", "bold"), (curve, "$accent"), "  ", plain(summary, oneline=True)
        )

    def _render_bar(self) -> None:
        # One row, as wide as the screen: new figures never change its size, so they are
        # repainted without laying the screen out again (a pass costs every mounted card).
        self.update(self.render_content(), layout=False)

    def on_resize(self) -> None:
        self._render_bar()


def card_marks(record: TurnRecord) -> list[Content | str | tuple[str, str]]:
    """What a round card shows under its caption: similarity to the first prompt and to the
    previous caption, and a convergence or cycle mark (from the journal; none for old ones)."""
    sim = record.similarity or {}
    if "to_previous" not in sim:
        return []
    parts: list[Content | str | tuple[str, str]] = [
        (
            f"\n≈ first prompt {sim['to_first_prompt']:.2f} · previous {sim['to_previous']:.2f}",
            "$text-muted",
        )
    ]
    conv = Convergence.from_json(record.converged)
    if conv is not None:
        parts.append((f"\n⟲ {conv.describe()}", "bold $warning"))
    return parts
