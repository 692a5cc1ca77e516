"""A whole chain on the doodle pair: it keeps running, keeps some meaning, and drifts."""

from __future__ import annotations

import itertools

import pytest

from telestrations.providers.base import Availability, ProviderContext
from telestrations.providers.doodle import DoodleProvider, provider
from telestrations.providers.doodle.lexicon import parse_scene

STYLE = "Illustrate in black & white doodle style"
SYSTEM = "You are playing a doodle guessing game"
PROMPT = "Describe what happens in this image in up to 10 words"


def test_provider_catalogue() -> None:
    prov = provider(ProviderContext())
    assert isinstance(prov, DoodleProvider)
    assert (prov.name, prov.title) == ("doodle", "Doodle (offline)")
    ids = {(m.id, m.kind) for m in prov.models()}
    assert ids == {("doodle:doodle", "drawer"), ("doodle:doodle", "guesser")}
    for m in prov.models():
        assert m.price == 0.0 and "offline" in m.note
        assert prov.availability(m) == Availability.yes()
    assert prov.model("other", "drawer") is None


async def _chain(first: str, style: str, rounds: int) -> list[str]:
    prov = provider(ProviderContext())
    drawer_model = prov.model("doodle", "drawer")
    guesser_model = prov.model("doodle", "guesser")
    assert drawer_model and guesser_model
    drawer, guesser = prov.drawer(drawer_model), prov.guesser(guesser_model)
    text, captions = first, []
    for _ in range(rounds):
        picture = await drawer.draw(f"{style}: {text}" if style else text)
        caption = await guesser.describe(picture, SYSTEM, PROMPT)
        assert caption.text and len(caption.text.split()) <= 10
        captions.append(caption.text)
        text = caption.text
    return captions


async def test_twenty_rounds_with_the_default_prompts_drift() -> None:
    captions = await _chain("a red house under a yellow sun", STYLE, 20)
    assert len(captions) == 20
    assert len(set(captions)) >= 5, captions
    # Meaning is carried at first: the first caption still sees a house.
    assert parse_scene(captions[0]).things[0].kind == "house", captions[0]
    # Every caption can be drawn again (the guesser speaks the drawer's language).
    assert all(parse_scene(c).things for c in captions), captions


async def test_colour_chain_keeps_colours_and_drifts() -> None:
    captions = await _chain("a red house under a yellow sun", "", 20)
    assert "red" in captions[0].lower() and "yellow" in captions[0].lower(), captions[0]
    assert len(set(captions)) >= 5, captions


async def test_chain_is_reproducible() -> None:
    first = await _chain("three blue fish in the sea at night", STYLE, 6)
    again = await _chain("three blue fish in the sea at night", STYLE, 6)
    assert first == again


@pytest.mark.parametrize(
    ("first", "style"),
    [
        # Both once settled for good on one caption within a few rounds.
        ("a red house under a yellow sunthree cats on a green hill at sunset", STYLE),
        ("a person with an umbrella in the rain", STYLE),
        ("a robot walking a dog in the city at night", STYLE),
        ("two birds above a tree in the forest", ""),
    ],
)
async def test_the_chain_never_settles_on_one_caption(first: str, style: str) -> None:
    captions = await _chain(first, style, 40)
    # The chain is a function of the caption: one repeat would be a loop for ever after.
    stuck = [c for c, nxt in itertools.pairwise(captions) if c == nxt]
    assert not stuck, captions
    flip_flop = [c for c, two_on in zip(captions, captions[2:], strict=False) if c == two_on]
    assert not flip_flop, captions
    assert len(set(captions)) >= 30, captions
