"""A long game is not walked on every caption: the cycle check compares a caption only with
the earlier captions that could be near it (drift.ChainIndex), and the drift bar takes each
new caption in alone; both give exactly the figures the whole chain gives."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from textual.app import App, ComposeResult

from telestrations.drift import ChainIndex, caption_drift, chain_drift, convergence, similarity
from telestrations.tui.widgets.drift import DriftBar
from telestrations.turns import TurnRecord

WORDS = (
    "house tree sun cat dog river mountain boat car child bird moon star lamp window door "
    "road city forest flower red blue small big old running sitting houses boats"
).split()


def chain(seed: int, rounds: int) -> tuple[str, list[TurnRecord], list[str]]:
    """A journal with every shape the check meets: near-repeats, returns to old captions and
    to the first prompt, captions with no content word, failed turns and a retried caption."""
    rng = random.Random(seed)
    first = "a red house under the sun"
    captions: list[str] = []
    records: list[TurnRecord] = []
    seq = 0

    def add(round_no: int, kind: str, output: str, status: str = "ok") -> None:
        nonlocal seq
        seq += 1
        records.append(TurnRecord(seq, round_no, kind, "m", status, "x", output=output))  # type: ignore[arg-type]

    for n in range(1, rounds + 1):
        roll = rng.random()
        if roll < 0.15 and captions:
            text = rng.choice(captions)  # a return to an earlier caption
        elif roll < 0.2:
            text = first
        elif roll < 0.25:
            text = rng.choice(["a the it", "there is", "some of them", ""])  # no content word
        elif roll < 0.35 and captions:
            text = captions[-1] + " " + rng.choice(WORDS)  # near the one before
        else:
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 9)))
        add(n, "draw", f"r{n}.png")
        if rng.random() < 0.1:
            add(n, "describe", "", status="failed")
        if rng.random() < 0.05:
            add(n, "describe", text + " first try")  # the round's last caption is the one kept
        add(n, "describe", text)
        captions.append(text)
    return first, records, captions


@pytest.mark.parametrize("seed", range(12))
def test_the_indexed_check_gives_the_full_checks_figures_every_round(seed: int) -> None:
    first, records, captions = chain(seed, 150)
    index = ChainIndex()
    for n, caption in enumerate(captions, start=1):
        # what the engine has when round n's caption is measured: the journal up to round n's
        # drawing, which may still be being written (the last record)
        upto = next(i for i, r in enumerate(records) if r.round == n and r.kind == "draw") + 1
        known = records[:upto]
        for k in (2, 3, 5):
            expected = caption_drift(known, first, n, caption, k)
            got = caption_drift(known, first, n, caption, k, index)
            assert got == expected, (seed, n, k, caption)


def own_word(i: int, end: str) -> str:
    """A word no other round uses: letters only (digits would split it), no stemmable end."""
    letters = ""
    while True:
        i, digit = divmod(i, 26)
        letters += "abcdefghijklmnopqrstuvwxyz"[digit]
        if i == 0:
            return "zq" + letters + end


def test_a_caption_with_nothing_in_common_is_compared_with_no_earlier_one() -> None:
    """2000 rounds of captions with words of their own: a new one of new words has no
    candidate, where the full check compares it with all 2000."""
    index = ChainIndex()
    records = [
        TurnRecord(i, i, "describe", "m", "ok", "x", output=" ".join(own_word(i, e) for e in "xvk"))
        for i in range(1, 2001)
    ]
    index.sync(records)
    assert index.holds(2001)
    assert index._candidates("zebra giraffe okapi") == set()
    assert index._candidates(" ".join(own_word(7, e) for e in "xvk")) == {7}


def test_a_different_journal_is_indexed_afresh() -> None:
    _, records, _ = chain(3, 40)
    index = ChainIndex()
    index.sync(records)
    assert index.holds(41)
    other = [TurnRecord(1, 1, "describe", "m", "ok", "x", output="a blue boat")]
    index.sync(other)
    assert index.texts == {1: "a blue boat"}
    assert index.holds(2)


def kept_journal(seed: int, rounds: int) -> tuple[str, list[TurnRecord]]:
    """A journal whose captions keep their drift, as the engine writes them."""
    first, records, _ = chain(seed, rounds)
    index = ChainIndex()
    out: list[TurnRecord] = []
    for r in records:
        if r.ok and r.kind == "describe":
            sims, conv = caption_drift(out, first, r.round, r.output, 3, index)
            r = replace(r, similarity=sims, converged=None if conv is None else conv.to_json())
        out.append(r)
    return first, out


@pytest.mark.parametrize("seed", range(4))
async def test_the_drift_bar_takes_captions_one_by_one_as_the_whole_chain_shows_them(
    seed: int,
) -> None:
    first, records = kept_journal(seed, 120)

    class Bars(App[None]):
        def compose(self) -> ComposeResult:
            yield DriftBar(id="one")
            yield DriftBar(id="all")

    async with Bars().run_test() as pilot:
        one = pilot.app.query_one("#one", DriftBar)
        whole = pilot.app.query_one("#all", DriftBar)
        await one.show_chain(first, [])
        for i, r in enumerate(records):
            if r.ok and r.kind == "describe":
                assert one.add(r), (seed, r.round)  # never the whole chain again
                await whole.show_chain(first, records[: i + 1])
                assert one.drift == whole.drift
                assert (one.half_life, one.convergence) == (whole.half_life, whole.convergence)
                assert one.summary() == whole.summary()
        assert any(d.converged for d in one.drift)  # the chain has cycles to carry


async def test_the_drift_bar_measures_an_old_journals_chain_whole() -> None:
    """Captions from before the drift was kept: a new one cannot be taken in alone."""
    first, records, _ = chain(5, 10)

    class Bar(App[None]):
        def compose(self) -> ComposeResult:
            yield DriftBar()

    async with Bar().run_test() as pilot:
        bar = pilot.app.query_one(DriftBar)
        await bar.show_chain(first, records[:-1])
        assert not bar.add(records[-1])


@pytest.mark.parametrize("seed", range(6))
def test_an_old_journals_chain_is_measured_as_the_full_check_measures_it(seed: int) -> None:
    """Journals from before the drift was kept are measured whole (show, exports, the app):
    through the index too, with every round's figures those of comparing with all before."""
    first, records, _ = chain(seed, 120)
    played: dict[int, TurnRecord] = {}
    for r in records:
        if r.ok and r.kind == "describe":
            played[r.round] = r
    captions = [played[n].output for n in sorted(played)]
    drift = chain_drift(first, records, 3)
    assert [d.caption for d in drift] == captions
    for i, d in enumerate(drift):
        assert d.to_origin == similarity(first, captions[i])
        assert d.to_previous == similarity(captions[i - 1] if i else first, captions[i])
        assert d.converged == convergence(first, captions[: i + 1], 3)
    assert any(d.converged for d in drift)
