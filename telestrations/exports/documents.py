"""The text exports: a self-contained HTML booklet, Markdown with its images, the journal."""

from __future__ import annotations

import base64
import html
import io
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from telestrations.atomic import write_atomic
from telestrations.drift import MEASURE
from telestrations.text import SECRETS
from telestrations.turns import money, plural

if TYPE_CHECKING:
    from telestrations.exports import ExportOptions
    from telestrations.exports.booklet import Booklet, Page

_CSS = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       background: #fafaf7; color: #222; }
h1 { font-size: 1.4rem; } .meta { color: #666; font-size: .9rem; }
.round { display: grid; grid-template-columns: 20rem 1fr; gap: 1rem; padding: 1rem 0;
         border-bottom: 1px solid #ddd; align-items: start; }
.round img { max-width: 20rem; border: 1px solid #ccc; background: white; }
.who { color: #666; font-size: .85rem; } .caption { font-size: 1.1rem; margin: .2rem 0 .8rem; }
.failed { color: #a00; } .n { font-weight: bold; color: #999; } .mark { color: #b60; }
svg { background: white; border: 1px solid #ddd; }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


ORIGIN = "the picture the game started from (its caption is the origin of the chain)"


def _figures(page: Page) -> str:
    if page.to_origin is None:
        return ""
    return (
        f"similarity to the first prompt {page.to_origin:.2f}, "
        f"to the previous caption {page.to_previous or 0:.2f}"
    )


def _meta(b: Booklet) -> str:
    rounds = sum(1 for p in b.pages if p.caption and p.round >= 1)
    spent = f"spent {money(b.spent)}" if b.spent else "no known spend"
    if b.unknown_cost:
        spent += f" (+{plural(b.unknown_cost, 'turn')} of unknown cost)"
    half = f"half-life: round {b.half_life}" if b.half_life else "half-life: not reached"
    conv = b.convergence.describe() if b.convergence else "no convergence"
    return " · ".join([b.created, plural(rounds, "round"), spent, half, conv])


def drift_svg(b: Booklet, width: int = 600, height: int = 160) -> str:
    """The drift curve as inline SVG: similarity to the first prompt (solid) and to the previous
    caption (dashed) per round, the half line, and marks at the half-life and convergence."""
    pts = [(p.round, p.to_origin or 0.0, p.to_previous or 0.0) for p in b.pages if p.caption]
    if not pts:
        return ""
    pad = 24
    last = max(r for r, _, _ in pts)

    def x(r: float) -> float:
        return pad + (r - 1) * (width - 2 * pad) / max(1, last - 1)

    def y(v: float) -> float:
        return pad + (1 - v) * (height - 2 * pad)

    origin = " ".join(f"{x(r):.1f},{y(v):.1f}" for r, v, _ in pts)
    prev = " ".join(f"{x(r):.1f},{y(v):.1f}" for r, _, v in pts)
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' role='img' aria-label='drift curve'>",
        f"<line x1='{pad}' y1='{y(0):.1f}' x2='{width - pad}' y2='{y(0):.1f}' stroke='#ccc'/>",
        f"<line x1='{pad}' y1='{y(1):.1f}' x2='{width - pad}' y2='{y(1):.1f}' stroke='#eee'/>",
        f"<polyline class='to-origin' fill='none' stroke='#236' stroke-width='2' "
        f"points='{origin}'/>",
        f"<polyline class='to-previous' fill='none' stroke='#8a8' stroke-dasharray='4 3' "
        f"points='{prev}'/>",
        f"<text x='{pad}' y='14' font-size='11' fill='#236'>to the first prompt</text>",
        f"<text x='{pad + 130}' y='14' font-size='11' fill='#585'>to the previous caption</text>",
        f"<text x='2' y='{y(1) + 4:.1f}' font-size='10'>1</text>",
        f"<text x='2' y='{y(0) + 4:.1f}' font-size='10'>0</text>",
    ]
    if pts[0][1] > 0:
        half = y(pts[0][1] / 2)
        parts.append(
            f"<line x1='{pad}' y1='{half:.1f}' x2='{width - pad}' y2='{half:.1f}' "
            "stroke='#c96' stroke-dasharray='2 4'/>"
        )
    for rnd, label in ((b.half_life, "half-life"), (b.convergence and b.convergence.round, "")):
        if rnd:
            label = label or (
                "cycle" if b.convergence and b.convergence.kind == "cycle" else "stable"
            )
            parts.append(
                f"<line x1='{x(rnd):.1f}' y1='{pad}' x2='{x(rnd):.1f}' y2='{height - pad}' "
                f"stroke='#b60'/><text x='{x(rnd) + 3:.1f}' y='{height - 6}' font-size='10' "
                f"fill='#b60'>{_e(label)} {rnd}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


def _data_uri(b: Booklet, page: Page, size: int) -> str:
    """The drawing re-encoded (bounded size, no metadata) as a data URI."""
    im = b.picture(page, size)
    if im is None:
        return ""
    buf = io.BytesIO()
    im.save(buf, "WEBP", quality=85, method=2)
    return "data:image/webp;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _presets(b: Booklet, sep: str) -> str:
    """``{sep}guesser preset: faithful, funnier`` (nothing for a journal without presets)."""
    names = b.presets
    if not names:
        return ""
    return f"{sep}guesser preset{'s' * (len(names) > 1)}: {', '.join(names)}"


def write_html(b: Booklet, out: Path, fmt: str, opts: ExportOptions) -> None:
    """One file that opens offline: the booklet, models, costs and the drift curve."""
    size = opts.size or 640
    title = b.first_prompt or b.name
    parts = [
        "<!doctype html><html lang='en'><meta charset='utf-8'>",
        f"<title>telestrations: {_e(title)}</title><style>{_CSS}</style>",
        f"<h1>{_e(b.first_prompt)}</h1>",
        f"<p class='meta'>{_e(_meta(b))}</p>",
        f"<p class='meta'>drew: {_e(', '.join(b.drawers) or '–')} · "
        f"guessed: {_e(', '.join(b.guessers) or '–')}{_e(_presets(b, ' · '))} · "
        f"measure: {MEASURE}</p>",
        drift_svg(b),
    ]
    for page in b.pages:
        uri = _data_uri(b, page, size) if page.image else ""
        img = f"<img src='{uri}' alt='round {page.round}: {_e(page.prompt)}'>" if uri else ""
        cells = [f"<span class='n'>round {page.round}</span>"]
        if page.round == 0 and page.image:
            cells.append(f"<p class='who'>{ORIGIN}</p>")
        if page.drawer:
            cells.append(f"<p class='who'>{_e(page.drawer)} drew: {_e(page.prompt)}</p>")
        if page.caption:
            cells.append(
                f"<p class='who'>{_e(page.guesser)} saw:</p>"
                f"<p class='caption'>{_e(page.caption)}</p>"
                f"<p class='who'>{_e(_figures(page))}"
                + (f" · cost {money(page.cost)}" if page.cost else "")
                + "</p>"
            )
        if page.converged is not None:
            cells.append(f"<p class='mark'>{_e(page.converged.describe())}</p>")
        if b.half_life == page.round:
            cells.append("<p class='mark'>half-life: similarity to the first prompt halved</p>")
        cells.extend(f"<p class='failed'>{_e(f)}</p>" for f in page.failures)
        parts.append(
            f"<section class='round'><div>{img}</div><div>{''.join(cells)}</div></section>"
        )
    parts.append("</html>")
    write_atomic(out, "\n".join(parts).encode("utf-8"))


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~])")


def md_escape(text: str) -> str:
    """Untrusted text as literal Markdown: HTML escaped, every Markdown character quoted."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def write_markdown(b: Booklet, out: Path, fmt: str, opts: ExportOptions) -> None:
    """``NAME.md`` and ``NAME-images/`` beside it, the pictures as received (secrets taken out
    of their bytes). Image names are ours, never the journal's."""
    from telestrations.exports import images_dir

    folder = images_dir(out)
    if opts.images:
        folder.mkdir(parents=True, exist_ok=True)
    lines = [f"# {md_escape(b.first_prompt)}", "", md_escape(_meta(b)), ""]
    lines += [
        f"Drew: {md_escape(', '.join(b.drawers) or '-')}; "
        f"guessed: {md_escape(', '.join(b.guessers) or '-')}{md_escape(_presets(b, '; '))}; "
        f"measure: {MEASURE}.",
        "",
    ]
    for page in b.pages:
        lines.append(f"## Round {page.round}")
        lines.append("")
        if page.image and opts.images:
            try:
                data = b.game.read_image(page.image)
            except OSError:
                data = b""
            if data:
                suffix = Path(page.image).suffix.lower()
                if not re.fullmatch(r"\.[a-z0-9]{1,5}", suffix):
                    suffix = ".img"
                name = f"r{page.round:04d}{suffix}"
                write_atomic(folder / name, SECRETS.redact_bytes(data))
                lines += [f"![round {page.round}]({folder.name}/{name})", ""]
        if page.round == 0 and page.image:
            lines += [ORIGIN, ""]
        if page.drawer:
            lines += [f"{md_escape(page.drawer)} drew: {md_escape(page.prompt)}", ""]
        if page.caption:
            lines += [f"{md_escape(page.guesser)} saw:", "", f"> {md_escape(page.caption)}", ""]
            if _figures(page):
                lines += [f"*{md_escape(_figures(page))}*", ""]
        if page.converged is not None:
            lines += [f"**{md_escape(page.converged.describe())}**", ""]
        lines += [f"*{md_escape(f)}*\n" for f in page.failures]
    write_atomic(out, "\n".join(lines).encode("utf-8"))


def write_jsonl(b: Booklet, out: Path, fmt: str, opts: ExportOptions) -> None:
    """The journal, header first, every record redacted."""
    lines = [json.dumps(b.header, ensure_ascii=False)]
    lines += [json.dumps(r.to_json(), ensure_ascii=False) for r in b.records]
    write_atomic(out, ("\n".join(lines) + "\n").encode("utf-8"))
