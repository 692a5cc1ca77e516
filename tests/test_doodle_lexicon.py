"""The doodle drawer's lexicon: what it can read out of a sentence, and what it leaves alone."""

from __future__ import annotations

import pytest

from telestrations.providers.doodle.lexicon import (
    COLOURS,
    COUNTS,
    POSITIONS,
    SETTINGS,
    SIZES,
    THINGS,
    TIMES,
    parse_scene,
    split_style,
)
from telestrations.providers.doodle.painters import PAINTERS

OBJECTS = """sun moon star cloud tree flower house castle mountain river boat car bicycle cat dog
bird fish person robot heart ball umbrella rainbow plane balloon kite rocket planet butterfly
ghost dragon cactus mushroom tower tent bus train snowman rabbit horse elephant snake duck
apple cake cup hat crown chair table lamp book clock key guitar phone fence bridge ladder road
pond rock circle square triangle line blob""".split()


def test_every_kind_has_a_painter_and_there_are_enough() -> None:
    assert set(THINGS) == set(PAINTERS)
    objects = [k for k in THINGS if k not in {"circle", "square", "triangle", "line", "blob"}]
    assert len(objects) >= 40
    assert len(COLOURS) >= 12
    assert {"tiny", "small", "big", "huge"} <= set(SIZES)
    assert {"one", "two", "three", "four", "five", "several", "many"} <= set(COUNTS)
    assert {"left", "right", "top", "bottom", "centre"} <= set(POSITIONS.values())
    assert {"night", "sunset"} <= set(TIMES.values())
    assert {"sea", "forest", "snow", "city", "space", "desert"} <= set(SETTINGS.values())


@pytest.mark.parametrize("word", OBJECTS)
def test_each_object_is_read_from_a_sentence(word: str) -> None:
    scene = parse_scene(f"there is a {word} here")
    assert [t.kind for t in scene.things] == [word]


@pytest.mark.parametrize(
    ("text", "kind", "count"),
    [
        ("three cats", "cat", 3),
        ("two puppies", "dog", 2),
        ("5 houses", "house", 5),
        ("several butterflies", "butterfly", 3),
        ("many people", "person", 6),
        ("a girl", "person", 1),
        ("a kitten", "cat", 1),
        ("four bikes", "bicycle", 4),
        ("a dozen stars", "star", 6),
        ("the children", "person", 2),
    ],
)
def test_plurals_synonyms_and_counts(text: str, kind: str, count: int) -> None:
    (thing,) = parse_scene(text).things
    assert (thing.kind, thing.count) == (kind, count)


@pytest.mark.parametrize("colour", sorted(COLOURS))
def test_each_colour_attaches_to_the_next_thing(colour: str) -> None:
    scene = parse_scene(f"a {colour} car and a dog")
    assert scene.things[0].colour == colour
    assert scene.things[1].colour is None


def test_colour_synonyms_sizes_places_and_relations() -> None:
    scene = parse_scene(
        "a huge crimson dragon at the top left above two tiny grey mice on the right"
    )
    dragon, mice = scene.things
    assert (dragon.kind, dragon.colour, dragon.position) == ("dragon", "red", {"top", "left"})
    assert dragon.scale > 1.5
    assert (mice.kind, mice.colour, mice.count, mice.position) == ("rabbit", "gray", 2, {"right"})
    assert mice.scale < 0.5
    assert [(r.a, r.rel, r.b) for r in scene.relations] == [(0, "above", 1)]


def test_under_links_the_things_and_settings_are_not_things() -> None:
    scene = parse_scene("a red house under a yellow sun by the sea at night")
    assert [(t.kind, t.colour) for t in scene.things] == [("house", "red"), ("sun", "yellow")]
    assert [(r.a, r.rel, r.b) for r in scene.relations] == [(0, "below", 1)]
    assert (scene.setting, scene.time) == ("sea", "night")


def test_to_the_left_of_and_background_colour() -> None:
    scene = parse_scene("a tree to the left of a castle on a pink background")
    assert [(r.rel) for r in scene.relations] == ["left of"]
    assert scene.background == "pink"
    assert [t.kind for t in scene.things] == ["tree", "castle"]


def test_style_prefix_is_split_off_and_never_read_as_scene() -> None:
    style, rest = split_style("Illustrate in black & white doodle style: a red house")
    assert style.mode == "line"
    assert rest.strip() == "a red house"
    scene = parse_scene(rest)
    assert [(t.kind, t.colour) for t in scene.things] == [("house", "red")]
    # "black" and "white" of the style never became colours of anything.
    assert split_style("Paint in vivid colours: a cat")[0].mode == "colour"
    assert split_style("Scene 2: a cat")[0].text == ""  # not a style: kept as scene text
    assert split_style("a line of ducks")[0].mode == "colour"


def test_unknown_words_are_kept_but_draw_nothing() -> None:
    scene = parse_scene("quantum flibbertigibbet paradigm")
    assert scene.things == []
    assert "flibbertigibbet" in scene.unknown
