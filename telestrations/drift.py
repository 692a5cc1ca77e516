"""How meaning drifts along a chain, and when it stops moving: dependency-free text measures.

**Similarity** (0..1) of two texts is the mean of two cosines over term-frequency vectors:

- *words*: content-word unigrams and bigrams, after lower-casing, dropping stop words (articles,
  pronouns, and the meta words every caption carries: "image", "drawing", "shows", ...) and a
  light stemming (``-ing``, ``-ed``, ``-es``, ``-s``, ``-ly`` off a stem of 3 letters or more);
- *characters*: 3-, 4- and 5-grams of each of those stems with a space either side, so
  "sailboat"/"boat", "kitten"/"kit" and typos still meet where whole words do not.

Identical texts score 1.0, texts with no content in common 0.0; two texts with no content word
at all are treated as identical (1.0), one empty and one not as unrelated (0.0). Unlike the
word overlap (Jaccard) it replaces, it sees "sailboat" and "boat" as related (0.13 for "a
sailboat on the sea" / "a boat on the water", Jaccard 0), "houses" as "house" (1.0 for "a red
house" / "the red houses"), and word order through bigrams ("a house painted red": 0.65).

For every caption the journal keeps its similarity to the first prompt (``to_first_prompt``,
"distance to origin") and to the previous caption, i.e. the text the drawer was given
(``to_previous``). The **half-life** of a chain is the first round whose similarity to the first
prompt falls below half of round 1's.

A game started from a picture has no text origin: the caption of that picture (round 0) is
the origin, and every later caption is compared with it (``to_first_prompt``).

**Convergence** (the chain stops changing): the last ``k`` captions are near-identical in a row
(each to the one before it, similarity ≥ :data:`NEAR`). **Cycle** (it came back): the newest
caption is near-identical to a caption ``k`` or more rounds back, or to the first prompt (round 0)
from round ``k`` on. ``k`` defaults to :data:`DEFAULT_K`.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

MEASURE = "ngram-cosine-1"
"""Name of the measure above, for papers and exports."""
NEAR = 0.85
"""Similarity at or above which two captions count as near-identical."""
DEFAULT_K = 3
"""Captions in a row (stable) or rounds back (cycle) that make a chain converged."""

_STOP = frozenset(
    """a an the of in on at to and or but with without by for from into onto over under
    is are was were be been being it its this that these those there their they them he she
    his her him i we you our your my me as so very some any each other another one two
    has have had do does doing can could would should will may might not no
    up down out off than then also just only near next
    illustrate illustrated doodle style black white image picture drawing drawn photo sketch
    shows show showing depicts depicting depicted appears seems there's what happens
    describe words""".split()
)
_WORD = re.compile(r"[^\W\d_]+|\d+")
_SUFFIXES = ("ing", "ed", "es", "s", "ly")


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if not word.endswith(suffix) or len(word) - len(suffix) < 3:
            continue
        stem = word[: -len(suffix)]
        if suffix == "es" and not stem.endswith(("x", "z", "ch", "sh", "ss")):
            continue  # "houses" is "house" + s, "boxes" is "box" + es
        if suffix == "s" and word.endswith("ss"):
            return word
        return stem
    return word


def stems(text: str) -> tuple[str, ...]:
    """The content words of ``text``, stemmed, in order."""
    return tuple(_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1)


@lru_cache(maxsize=512)
def _features(text: str) -> tuple[dict[str, int], float, dict[str, int], float]:
    """Word and character n-gram counts of ``text`` with their vector norms (cached: a new
    caption is compared with the last few and a handful of :class:`ChainIndex` candidates;
    about 6 KiB each, so a long game's captions are not all kept)."""
    words = stems(text)
    w = Counter(words)
    w.update(f"{a} {b}" for a, b in itertools.pairwise(words))
    c: Counter[str] = Counter()
    for word in words:
        padded = f" {word} "
        for n in (3, 4, 5):
            c.update(padded[i : i + n] for i in range(len(padded) - n + 1))
    wd, cd = dict(w), dict(c)
    return wd, _norm(wd), cd, _norm(cd)


def _norm(v: Mapping[str, float]) -> float:
    return math.sqrt(sum(x * x for x in v.values()))


def _cosine(a: Mapping[str, float], na: float, b: Mapping[str, float], nb: float) -> float:
    if not na or not nb:
        return 0.0
    if len(a) > len(b):
        a, b = b, a
    return sum(x * b.get(k, 0.0) for k, x in a.items()) / (na * nb)


def similarity(a: str, b: str) -> float:
    """0..1, see the module docstring; rounded to 3 places (what the journal keeps)."""
    wa, nwa, ca, nca = _features(a)
    wb, nwb, cb, ncb = _features(b)
    if not wa and not wb:
        return 1.0
    value = 0.5 * _cosine(wa, nwa, wb, nwb) + 0.5 * _cosine(ca, nca, cb, ncb)
    return round(min(1.0, value), 3)


# -- chains --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Convergence:
    """The chain stopped changing (``stable``) or came back to an earlier state (``cycle``)."""

    kind: Literal["stable", "cycle"]
    round: int
    """The round whose caption showed it."""
    since: int
    """Stable: the first round of the run of near-identical captions. Cycle: the earlier
    round it returned to (0 = the first prompt)."""
    k: int = DEFAULT_K

    def describe(self) -> str:
        """For the status line, the card and ``show``."""
        if self.kind == "stable":
            return f"converged: unchanged since round {self.since}"
        back = "the first prompt" if self.since == 0 else f"round {self.since}"
        return f"cycle: back to {back} (period {self.round - self.since})"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "round": self.round, "since": self.since, "k": self.k}

    @classmethod
    def from_json(cls, data: object) -> Convergence | None:
        """``None`` for anything that is not a well-formed record (journals are untrusted)."""
        if not isinstance(data, Mapping) or data.get("kind") not in ("stable", "cycle"):
            return None
        try:
            return cls(data["kind"], int(data["round"]), int(data["since"]), int(data["k"]))
        except (KeyError, TypeError, ValueError):
            return None


def convergence(
    first_prompt: str, captions: Sequence[str], k: int = DEFAULT_K, near: float = NEAR
) -> Convergence | None:
    """Whether the newest of ``captions`` (``captions[i]`` is round ``i + 1``'s) makes the
    chain stable or a cycle; stable wins when both hold."""
    n = len(captions)
    k = max(2, k)
    if n == 0:
        return None
    newest = captions[-1]
    run = 1
    while run < n and similarity(captions[n - run - 1], captions[n - run]) >= near:
        run += 1
        if run >= k:
            return Convergence("stable", n, n - run + 1, k)
    earlier = [first_prompt, *captions[:-1]]  # earlier[m] is round m's text (0 = first prompt)
    for m in range(n - k, -1, -1):  # the nearest return first
        if similarity(earlier[m], newest) >= near:
            return Convergence("cycle", n, m, k)
    return None


class ChainIndex:
    """A game's captions by round, indexed so that the cycle check of a new caption compares
    it only with the earlier captions that could be near it.

    :func:`convergence` compares the newest caption with every earlier one: over a long game
    that is quadratic (90 ms a caption at 1000 rounds of varied captions, half a second at
    5000, on a slow machine). Near-identical (:data:`NEAR`, after rounding) needs a word
    cosine of at least ``2 * NEAR - 1`` (the character cosine is at most 1), and a caption
    can only reach that with a text it shares one of its rarer words or word pairs with: each
    caption is indexed by those of its word features (rarest first) whose weight the rest of
    the caption could not make up for. The candidates are then checked with
    :func:`similarity` itself, nearest round first, so the result is :func:`convergence`'s.
    """

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.texts: dict[int, str] = {}
        """Round → its caption (the last finished describe of the round, in journal order)."""
        self._top = 0
        self._postings: dict[str, set[int]] = {}
        self._seen: Counter[str] = Counter()
        """How many indexed captions hold each word feature (rarer ones are indexed first)."""
        self._bare: set[int] = set()
        """Rounds whose caption has no content word (near-identical to one another)."""
        self._last_seq = 0

    def sync(self, records: Sequence[Any]) -> None:
        """Take in the describe turns of ``records`` (a journal, in order, perhaps with a turn
        being written at its end) not seen yet; a journal that ends before what was seen is
        another one, indexed afresh."""
        if records and records[-1].seq < self._last_seq:
            self._reset()
        start = len(records)
        while start > 0 and records[start - 1].seq > self._last_seq:
            start -= 1
        for r in records[start:]:
            if r.ok and r.kind == "describe" and r.round >= 1:
                self.put(r.round, r.output)
            self._last_seq = max(self._last_seq, r.seq)

    def put(self, round_no: int, caption: str) -> None:
        if self.texts.get(round_no) == caption:
            return
        self.texts[round_no] = caption  # postings of an older caption stay: extra candidates
        self._top = max(self._top, round_no)
        words, norm, _, _ = _features(caption)
        if not words:
            self._bare.add(round_no)
            return
        bound = (_WORD_BOUND * norm) ** 2
        rest = sum(x * x for x in words.values())
        for feature in sorted(words, key=lambda f: (self._seen[f], f)):
            if rest < bound:
                break  # the features left could not make the bound on their own
            self._postings.setdefault(feature, set()).add(round_no)
            rest -= words[feature] * words[feature]
        self._seen.update(words.keys())

    def holds(self, round_no: int) -> bool:
        """Rounds ``1 .. round_no - 1`` are indexed, and none after them."""
        return self._top == round_no - 1 == len(self.texts)

    def _candidates(self, caption: str) -> set[int]:
        """Rounds whose caption may be near-identical to ``caption`` (a superset of them)."""
        words = _features(caption)[0]
        if not words:
            return set(self._bare)
        found: set[int] = set()
        for feature in words:
            found.update(self._postings.get(feature, ()))
        return found

    def convergence(
        self, first_prompt: str, caption: str, k: int = DEFAULT_K
    ) -> Convergence | None:
        """:func:`convergence` of the indexed chain (it must :meth:`hold` the round before
        ``caption``'s) with ``caption`` as its newest."""
        texts = self.texts
        n = len(texts) + 1
        k = max(2, k)

        def at(i: int) -> str:  # captions[i] of convergence(): round i + 1's
            return caption if i == n - 1 else texts[i + 1]

        run = 1
        while run < n and similarity(at(n - run - 1), at(n - run)) >= NEAR:
            run += 1
            if run >= k:
                return Convergence("stable", n, n - run + 1, k)
        if n - k < 0:
            return None
        for m in sorted((c for c in self._candidates(caption) if c <= n - k), reverse=True):
            if similarity(texts[m], caption) >= NEAR:
                return Convergence("cycle", n, m, k)
        if similarity(first_prompt, caption) >= NEAR:
            return Convergence("cycle", n, 0, k)
        return None


_WORD_BOUND = 2 * (NEAR - 0.0005) - 1 - 1e-6
"""The word cosine below which two texts cannot be :data:`NEAR` (rounded to 3 places, with
the character cosine at its most, 1); a little under it, for floating point."""


def half_life(to_origin: Sequence[float]) -> int | None:
    """The first round (1-based) whose similarity to the origin is below half of round 1's;
    ``None`` while it has not happened (or round 1 already shared nothing with it)."""
    if not to_origin or to_origin[0] <= 0:
        return None
    half = to_origin[0] / 2
    return next((i + 1 for i, v in enumerate(to_origin) if v < half), None)


@dataclass(frozen=True)
class RoundDrift:
    """One round of a chain as drift figures see it."""

    round: int
    caption: str
    to_origin: float
    to_previous: float
    converged: Convergence | None


def kept_drift(record: Any) -> RoundDrift:
    """A caption's round as its journal line keeps it (it must have ``to_previous``)."""
    sim = record.similarity
    return RoundDrift(
        record.round,
        record.output,
        float(sim["to_first_prompt"]),
        float(sim["to_previous"]),
        Convergence.from_json(getattr(record, "converged", None)),
    )


def is_kept(record: Any) -> bool:
    """A finished caption whose journal line keeps its drift (journals from before the drift
    measure do not: their chains are measured again as a whole)."""
    sim = record.similarity
    return bool(
        record.ok
        and record.kind == "describe"
        and record.round >= 1
        and sim
        and "to_previous" in sim
    )


def chain_drift(first_prompt: str, records: Iterable[Any], k: int = DEFAULT_K) -> list[RoundDrift]:
    """The drift of each finished round of a journal (``TurnRecord`` s), read from the journal
    where it was kept there and computed where it was not (older journals kept word overlap
    only: then everything is recomputed, so one chain never mixes two measures)."""
    return chain_drift_kept(first_prompt, records, k)[0]


def chain_drift_kept(
    first_prompt: str, records: Iterable[Any], k: int = DEFAULT_K
) -> tuple[list[RoundDrift], bool]:
    """:func:`chain_drift`, and whether every caption of the chain keeps its drift in the
    journal (the next one can then be taken in alone, as the app's drift bar does)."""
    describes: dict[int, Any] = {}
    for r in records:
        if r.ok and r.kind == "describe" and r.round >= 1:  # round 0: a start picture's origin
            describes[r.round] = r  # the last successful describe of a round is the one played
    ordered = [describes[n] for n in sorted(describes)]
    if all(is_kept(r) for r in ordered):
        return [kept_drift(r) for r in ordered], True
    out: list[RoundDrift] = []
    index = ChainIndex()  # keyed by place in the chain, as convergence() counts
    previous = first_prompt
    for place, r in enumerate(ordered, start=1):
        out.append(
            RoundDrift(
                r.round,
                r.output,
                similarity(first_prompt, r.output),
                similarity(previous, r.output),
                index.convergence(first_prompt, r.output, k),
            )
        )
        index.put(place, r.output)
        previous = r.output
    return out, False


def first_convergence(drift: Sequence[RoundDrift]) -> Convergence | None:
    """The first round at which the chain converged or cycled, if it did."""
    return next((d.converged for d in drift if d.converged is not None), None)


def sparkline(values: Sequence[float], width: int = 0) -> str:
    """``values`` (0..1) as block characters, the last ``width`` of them when given."""
    bars = "▁▂▃▄▅▆▇█"
    shown = values[-width:] if width else values
    return "".join(bars[min(7, max(0, int(v * 8)))] for v in shown)


def chain_convergence(records: Sequence[Any], first_prompt: str, k: int) -> Convergence | None:
    """What the newest caption of a chain of journal records says about convergence: as
    journalled with it, or (for a game journalled before that was recorded) judged now."""
    last = next(
        (r for r in reversed(records) if r.ok and r.kind == "describe" and r.round >= 1), None
    )
    if last is None:
        return None
    if is_kept(last):
        return Convergence.from_json(last.converged)  # read from the end: no walk of the game
    describes = [r for r in records if r.ok and r.kind == "describe" and r.round >= 1]
    by_round = {r.round: r.output for r in describes}
    return convergence(first_prompt, [by_round[n] for n in sorted(by_round)], k)


def caption_drift(
    records: Sequence[Any],
    first_prompt: str,
    round_no: int,
    caption: str,
    k: int,
    index: ChainIndex | None = None,
) -> tuple[dict[str, float], Convergence | None]:
    """Similarities of round ``round_no``'s caption to the first prompt and to the caption
    before it, and the chain's convergence with it (records: the journal's turns). With an
    ``index`` kept across a game's turns, the same figures without comparing the caption with
    every earlier one (:class:`ChainIndex`)."""
    if round_no < 1:  # a start picture's caption: the origin itself
        return {"to_first_prompt": 1.0, "to_previous": 1.0}, None
    if index is not None:
        index.sync(records)
    if index is not None and index.holds(round_no):
        previous = index.texts[round_no - 1] if round_no > 1 else first_prompt
        conv = index.convergence(first_prompt, caption, k)
    else:
        by_round = {
            r.round: r.output
            for r in records
            if r.ok and r.kind == "describe" and 1 <= r.round < round_no
        }
        captions = [by_round[n] for n in sorted(by_round)]
        previous = captions[-1] if captions else first_prompt
        conv = convergence(first_prompt, [*captions, caption], k)
    sims = {
        "to_first_prompt": similarity(first_prompt, caption),
        "to_previous": similarity(previous, caption),
    }
    return sims, conv
