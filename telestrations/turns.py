"""The domain record of a game: one :class:`TurnRecord` per finished or failed turn.

The journal stores exactly these records, so the engine, the store, the CLI and the TUI agree
on one shape; :func:`next_turn` derives where a game continues from them (resume = replay).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from telestrations.text import SECRETS, Secrets

SCHEMA_VERSION = 1
"""Bumped when a journal field changes meaning; readers accept older versions."""

START_PICTURE_MODEL = "start:picture"
"""The ``model`` of a game's round 0 ``draw`` when it started from a picture: nobody drew it,
the person gave it (``--start-image``); round 0's describe is the chain's origin."""

TurnKind = Literal["draw", "describe"]
TurnStatus = Literal["ok", "failed"]


@dataclass(frozen=True)
class TurnError:
    """Why a turn failed, as a person can act on it."""

    kind: str
    message: str
    hint: str = ""


@dataclass(frozen=True)
class TurnRecord:
    """One journal line: a finished (``ok``) or ``failed`` turn."""

    seq: int
    """Position in the journal (1-based), counting failed attempts too."""
    round: int
    kind: TurnKind
    model: str
    status: TurnStatus
    input: str
    """The exact text sent: ``"{style}: {prompt}"`` (draw) or the guesser prompt (describe)."""
    system: str = ""
    """The guesser's system text (describe turns)."""
    preset: str = ""
    """Describe turns: the guesser preset ``system`` and ``input`` came from ("" = custom)."""
    image: str = ""
    """The image file: the output of a draw, the input of a describe."""
    output: str = ""
    """The image file name for a draw, the caption for a describe; empty when failed."""
    extras: Mapping[str, Any] = field(default_factory=dict)
    started: str = ""
    """ISO 8601 UTC."""
    finished: str = ""
    duration: float = 0.0
    """Seconds the provider call took."""
    cost: float | None = None
    """USD when known; ``None`` when unknown (never 0 for unknown)."""
    error: TurnError | None = None
    similarity: Mapping[str, float] | None = None
    """Describe turns: similarity (0..1, :mod:`telestrations.drift`) of the caption to the first
    prompt (``to_first_prompt``) and to the previous caption (``to_previous``). Journals from
    before the drift measure hold word overlap (``to_first_prompt``, ``to_drawn_text``) instead;
    readers recompute those."""
    converged: Mapping[str, Any] | None = None
    """Describe turns: the chain stopped changing or cycled with this caption
    (:class:`telestrations.drift.Convergence` as JSON), else ``None``."""
    memory: Mapping[str, Any] | None = None
    """Draw turns of memory play (:mod:`telestrations.memory`): ``reference`` (the previous
    picture's file), ``used`` (the drawer started from it) and, when not, ``why``."""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data = {"v": SCHEMA_VERSION, "type": "turn", **data}
        if self.error is None:
            data["error"] = None
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TurnRecord:
        err = data.get("error")
        sim = data.get("similarity")
        return cls(
            seq=int(data["seq"]),
            round=int(data["round"]),
            kind=data["kind"],
            model=str(data["model"]),
            status=data["status"],
            input=str(data.get("input", "")),
            system=str(data.get("system", "")),
            preset=str(data.get("preset") or ""),
            image=str(data.get("image", "")),
            output=str(data.get("output", "")),
            extras=dict(data.get("extras") or {}),
            started=str(data.get("started", "")),
            finished=str(data.get("finished", "")),
            duration=float(data.get("duration") or 0.0),
            cost=None if data.get("cost") is None else float(data["cost"]),
            error=TurnError(**err) if isinstance(err, Mapping) else None,
            similarity=dict(sim) if isinstance(sim, Mapping) else None,
            converged=dict(conv) if isinstance(conv := data.get("converged"), Mapping) else None,
            memory=dict(mem) if isinstance(mem := data.get("memory"), Mapping) else None,
        )


def redact_record(record: TurnRecord, secrets: Secrets | None = None) -> TurnRecord:
    """``record`` with every secret taken out of every text in it (the process's secrets by
    default): what the journal, the events, stdout and exports see."""
    s = SECRETS if secrets is None else secrets
    if not s:
        return record
    err = record.error
    return replace(
        record,
        model=s.redact(record.model),
        input=s.redact(record.input),
        system=s.redact(record.system),
        preset=s.redact(record.preset),
        image=s.redact(record.image),
        output=s.redact(record.output),
        extras=s.redact_json(dict(record.extras)),
        started=s.redact(record.started),
        finished=s.redact(record.finished),
        error=None
        if err is None
        else TurnError(*(s.redact(x) for x in (err.kind, err.message, err.hint))),
    )


@dataclass(frozen=True)
class NextTurn:
    """What the game does next: draw ``text`` or describe ``image``, in ``round``."""

    round: int
    kind: TurnKind
    text: str
    """For a draw: the prompt (before the style is added). For a describe: the text drawn."""
    image: str = ""


def next_turn(first_prompt: str, records: Sequence[TurnRecord]) -> NextTurn:
    """Where the chain continues after ``records``: failed attempts are simply retried."""
    last = next((r for r in reversed(records) if r.ok), None)
    if last is None:
        return NextTurn(1, "draw", first_prompt)
    if last.kind == "draw":
        drawn = _prompt_of(first_prompt, records, last.round)
        return NextTurn(last.round, "describe", drawn, image=last.output)
    return NextTurn(last.round + 1, "draw", last.output)


def _prompt_of(first_prompt: str, records: Sequence[TurnRecord], rnd: int) -> str:
    """The prompt (caption of the previous round, or the first prompt) that round ``rnd`` drew."""
    if rnd <= 1:
        return first_prompt
    prev = next(
        (r for r in reversed(records) if r.ok and r.kind == "describe" and r.round == rnd - 1),
        None,
    )
    return prev.output if prev else first_prompt


def presets_used(records: Iterable[TurnRecord]) -> list[str]:
    """Guesser presets of the finished describe turns, in order of first use ("custom" for
    texts of no preset); empty for journals from before presets."""
    used: dict[str, None] = {}
    for r in records:
        if r.ok and r.kind == "describe" and (r.preset or r.input):
            used[r.preset or "custom"] = None
    return list(used)


def rounds_done(records: Iterable[TurnRecord]) -> int:
    """Rounds whose describe turn finished."""
    return max((r.round for r in records if r.ok and r.kind == "describe"), default=0)


def total_cost(records: Iterable[TurnRecord]) -> tuple[float, int]:
    """Known spend in USD, and how many finished turns had an unknown cost."""
    known, unknown = 0.0, 0
    for r in records:
        if r.cost is not None:
            known += r.cost
        elif r.ok:
            unknown += 1
    return known, unknown


_STOP = frozenset(
    "a an the of in on at to and or with is are was were be it its this that there their "
    "illustrate doodle style black white & up words describe image picture drawing".split()
)
_WORD = re.compile(r"[a-z]+")


def content_words(text: str) -> set[str]:
    """Lower-case words minus stop words and a crude plural strip, for overlap figures."""
    words = set()
    for w in _WORD.findall(text.lower()):
        if w in _STOP or len(w) < 2:
            continue
        if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]
        words.add(w)
    return words


def overlap(a: str, b: str) -> float:
    """Jaccard overlap of content words (1.0 = same words, 0.0 = nothing in common)."""
    wa, wb = content_words(a), content_words(b)
    if not wa and not wb:
        return 1.0
    return round(len(wa & wb) / len(wa | wb), 3)


def money(usd: float) -> str:
    """USD with the precision a per-call price needs: $0.04, $0.0054, $0.000054 (never a
    misleading $0.0000 for a tiny known cost); 0 is ``free``."""
    if usd == 0:
        return "free"
    if usd >= 1:
        return f"${usd:,.2f}"
    if usd >= 0.01:
        return f"${usd:.3f}".rstrip("0").rstrip(".")
    return f"${usd:.6f}".rstrip("0").rstrip(".")


def plural(n: int, word: str) -> str:
    """``1 round``, ``2 rounds``."""
    return f"{n} {word}{'s' * (n != 1)}"
