"""``telestrations show GAME``: the rounds of a game with their drift, as plain lines.

Every text is cleaned (no escape sequence reaches the terminal) and redacted on the way out.
"""

from __future__ import annotations

from telestrations.drift import MEASURE, chain_drift, first_convergence, half_life, sparkline
from telestrations.store import GameDir
from telestrations.text import clean_text
from telestrations.turns import (
    money,
    plural,
    presets_used,
    redact_record,
    rounds_done,
    total_cost,
)


def show_lines(game: GameDir, width: int = 100) -> list[str]:
    """A header (first prompt, rounds, spend, half-life, convergence, the curve), then one line
    per round: number, similarity to the first prompt and to the previous caption, caption."""
    records = [redact_record(r) for r in game.records]
    drift = chain_drift(game.first_prompt, records)
    spent, unknown = total_cost(records)
    half = half_life([d.to_origin for d in drift])
    conv = first_convergence(drift)
    cost = f", spent {money(spent)}" if spent else ""
    cost += f" (+{plural(unknown, 'turn')} of unknown cost)" if unknown else ""
    origin = "first caption" if game.start_image else "first prompt"
    lines = [
        f"{clean_text(game.name, 200)}",
        *([f"{game.parent.describe()}"] if game.parent is not None else []),
        *(note.describe("to") for note in game.branches),
        *(
            [f"started from a picture: {clean_text(game.start_image, 200)} (round 0)"]
            if game.start_image
            else []
        ),
        f"{origin}: {clean_text(game.first_prompt, 1000)}",
        f"{plural(rounds_done(records), 'round')}{cost}; "
        f"half-life: {f'round {half}' if half else 'not reached'}; "
        f"{conv.describe() if conv else 'not converged'}",
    ]
    presets = presets_used(records)
    if presets:
        lines.append(clean_text(f"guesser preset: {', '.join(presets)}", 300))
    if drift:
        lines.append(f"to the first prompt: {sparkline([d.to_origin for d in drift], 60)}")
    lines.append(f"round  origin  previous  caption   (similarity: {MEASURE})")
    room = max(20, width - 26)
    semantic = {
        r.round: r.similarity
        for r in records
        if r.ok and r.kind == "describe" and r.similarity and "semantic_to_previous" in r.similarity
    }
    for d in drift:
        mark = ""
        if d.converged is not None:
            mark = f"  [{d.converged.describe()}]"
        if half == d.round:
            mark += "  [half-life]"
        if d.round in semantic:
            sem = semantic[d.round]
            mark += (
                f"  (embeddings: {sem['semantic_to_first_prompt']:.2f}"
                f" / {sem['semantic_to_previous']:.2f})"
            )
        caption = clean_text(d.caption, room)
        lines.append(f"{d.round:>5}  {d.to_origin:6.2f}  {d.to_previous:8.2f}  {caption}{mark}")
    failed = sum(1 for r in records if not r.ok)
    if failed:
        lines.append(f"({plural(failed, 'failed attempt')} not shown)")
    return lines
