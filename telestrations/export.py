"""Export a game as a self-contained folder: ``index.html`` plus the images, as received.

Everything shown comes from the journal (captions, prompts, errors are untrusted model text)
and is HTML-escaped. Every record is redacted again on the way out (a game kept by an older
version may hold a key), so an export holds none of the secrets this process knows.
"""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path

from telestrations.store import GameDir
from telestrations.text import scrub, scrub_json
from telestrations.turns import TurnRecord, redact_record, rounds_done, total_cost

_CSS = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       background: #fafaf7; color: #222; }
h1 { font-size: 1.4rem; } .meta { color: #666; font-size: .9rem; }
.round { display: grid; grid-template-columns: 16rem 1fr; gap: 1rem; padding: 1rem 0;
         border-bottom: 1px solid #ddd; align-items: start; }
.round img { width: 16rem; border: 1px solid #ccc; background: white; }
.who { color: #666; font-size: .85rem; } .caption { font-size: 1.1rem; margin: .2rem 0 .8rem; }
.failed { color: #a00; } .n { font-weight: bold; color: #999; }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def export_html(game: GameDir, out_dir: Path) -> Path:
    """Write ``out_dir/index.html``, copy the images beside it, and a copy of the journal."""
    out_dir.mkdir(parents=True, exist_ok=True)
    # A game written by an older version (or by hand) may hold a key: redact on the way out.
    records = [redact_record(r) for r in game.records]
    header = scrub_json(game.header)
    first_prompt = scrub(game.first_prompt)
    by_round: dict[int, list[TurnRecord]] = {}
    for record in records:
        by_round.setdefault(record.round, []).append(record)
    spent, unknown = total_cost(records)
    parts = [
        "<!doctype html><meta charset='utf-8'>",
        f"<title>telestrations: {_e(first_prompt)}</title><style>{_CSS}</style>",
        f"<h1>{_e(first_prompt)}</h1>",
        f"<p class='meta'>{_e(header.get('created', ''))} · {rounds_done(records)} "
        f"rounds · spent ${spent:.4f}"
        + (f" (+{unknown} turns of unknown cost)" if unknown else "")
        + "</p>",
    ]
    for rnd in sorted(by_round):
        cells = [f"<div><span class='n'>round {rnd}</span>"]
        image_html = ""
        for r in by_round[rnd]:
            if not r.ok:
                err = r.error
                cells.append(
                    f"<p class='failed'>{_e(r.kind)} with {_e(r.model)} failed: "
                    f"{_e(err.kind if err else '')}: {_e(err.message if err else '')}</p>"
                )
                continue
            if r.kind == "draw":
                src = game.image_path(r.output)
                if src.is_file():
                    shutil.copy2(src, out_dir / r.output)
                    image_html = f"<img src='{_e(r.output)}' alt='{_e(r.input)}'>"
                cells.append(f"<p class='who'>{_e(r.model)} drew: {_e(r.input)}</p>")
            else:
                cells.append(
                    f"<p class='who'>{_e(r.model)} saw:</p><p class='caption'>{_e(r.output)}</p>"
                )
        cells.append("</div>")
        parts.append(f"<section class='round'><div>{image_html}</div>{''.join(cells)}</section>")
    index = out_dir / "index.html"
    index.write_text("\n".join(parts), encoding="utf-8")
    with open(out_dir / "journal.jsonl", "w", encoding="utf-8") as fh:
        fh.write(json.dumps(header, ensure_ascii=False) + "\n")
        for r in records:
            fh.write(json.dumps(r.to_json(), ensure_ascii=False) + "\n")
    return index
