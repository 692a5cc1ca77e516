"""The doodle drawer: deterministic PNGs of the configured size, in colour or in line."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image

from telestrations.providers.base import Picture, ProviderContext
from telestrations.providers.doodle import DoodleDrawer, provider
from telestrations.providers.doodle.details import DETAILS, embellish
from telestrations.providers.doodle.drawer import render
from telestrations.providers.doodle.lexicon import parse_scene
from telestrations.providers.doodle.vision import look

BW = "Illustrate in black & white doodle style"


def _image(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def _colourful_share(im: Image.Image) -> float:
    """Share of pixels that are clearly coloured (not black, white or gray)."""
    raw = im.convert("RGB").reduce(4).tobytes()
    pixels = list(zip(raw[0::3], raw[1::3], raw[2::3], strict=True))
    coloured = sum(1 for r, g, b in pixels if max(r, g, b) - min(r, g, b) > 40)
    return coloured / len(pixels)


async def test_draw_returns_a_png_picture_of_the_configured_size() -> None:
    drawer = provider(ProviderContext(settings={"size": 300})).drawer(
        provider(ProviderContext()).model("doodle", "drawer")  # type: ignore[arg-type]
    )
    picture = await drawer.draw("a red house under a yellow sun")
    assert isinstance(picture, Picture)
    assert picture.format == "png" and picture.data.startswith(b"\x89PNG")
    assert (picture.width, picture.height) == (300, 300)
    assert _image(picture.data).size == (300, 300)
    assert picture.cost == 0.0
    assert "house" in picture.extras["parsed"] and "sun" in picture.extras["parsed"]


async def test_width_and_height_settings() -> None:
    prov = provider(ProviderContext(settings={"width": 320, "height": 200}))
    model = prov.model("doodle", "drawer")
    assert model is not None
    picture = await prov.drawer(model).draw("a cat")
    assert _image(picture.data).size == (320, 200) == (picture.width, picture.height)


def test_same_text_same_bytes_and_different_texts_differ() -> None:
    texts = [
        "a red house under a yellow sun",
        "a red house under a yellow moon",
        "a blue house under a yellow sun",
        f"{BW}: a red house under a yellow sun",
        "three cats in the snow at night",
    ]
    first = [render(t)[0] for t in texts]
    again = [render(t)[0] for t in texts]
    assert first == again
    assert len(set(first)) == len(texts)
    assert b"tIME" not in first[0]  # no timestamp chunk


async def test_unknown_and_empty_text_still_draw() -> None:
    drawer = DoodleDrawer(256, 256)
    for text in ["", "   ", "flibbertigibbet quux", "!!! ???", f"{BW}:", "Ω≈ç√∫"]:
        picture = await drawer.draw(text)
        im = _image(picture.data)
        assert im.size == (256, 256)
        # Not a blank page: something was doodled.
        extrema = im.convert("L").getextrema()
        assert extrema[0] < extrema[1], text
    assert "nothing recognised" in (await drawer.draw("zorp blip")).extras["parsed"]


def test_black_and_white_style_is_ink_on_paper_and_plain_style_is_colour() -> None:
    text = "a red house under a yellow sun next to a green tree"
    line = _image(render(f"{BW}: {text}")[0])
    colour = _image(render(text)[0])
    grey = line.convert("L")
    pixels = list(grey.tobytes())
    extreme = sum(1 for p in pixels if p < 60 or p > 200) / len(pixels)
    assert extreme > 0.95
    assert sum(1 for p in pixels if p > 200) / len(pixels) > 0.6  # mostly white paper
    assert _colourful_share(line) == 0.0
    assert _colourful_share(colour) > 0.5


def test_style_words_are_not_drawn() -> None:
    # The style names black and white; the scene does not: the summary has no colours for it.
    _, summary = render(f"{BW}: a house")
    assert summary == "house"
    _, summary = render("Draw a pencil sketch in the style of a line drawing: a cat")
    assert summary == "cat"


def test_settings_change_the_picture() -> None:
    def mean_rgb(text: str) -> tuple[float, ...]:
        raw = _image(render(text)[0]).convert("RGB").reduce(8).tobytes()
        n = len(raw) // 3
        return tuple(sum(raw[i::3]) / n for i in range(3))

    day = mean_rgb("a house")
    night = mean_rgb("a house at night")
    sea = mean_rgb("a boat on the sea")
    assert sum(night) < sum(day) - 150
    assert sea[2] > sea[0] + 60


def test_many_things_and_big_counts_stay_fast_and_bounded() -> None:
    data, summary = render(
        "many huge dragons and 99 tiny cats and several castles and a dozen rainbows "
        "above five robots on the left in the city at sunset",
        1024,
        1024,
    )
    assert _image(data).size == (1024, 1024)
    assert "dragon" in summary


@pytest.mark.parametrize("style", ["", f"{BW}: "])
@pytest.mark.parametrize(
    "text", ["a house", "a cat", "a blue circle", "a boat on the sea", "a tree at night"]
)
def test_a_lone_thing_gets_a_detail_that_can_be_seen(style: str, text: str) -> None:
    # The doodler's flourish is a figure of its own, not a speck and not merged into the thing.
    figures = look(render(style + text)[0]).figures
    assert len(figures) >= 2, text
    assert figures[0].area > figures[1].area, text


def test_details_suit_the_place_are_new_and_thin_out_in_busy_scenes() -> None:
    space = parse_scene("a rocket in space")
    busy = parse_scene("five cats and four dogs")
    kinds: set[str] = set()
    for seed in range(60):
        details = embellish(space, True, random.Random(seed))
        assert 1 <= len(details) <= 2
        assert {d.kind for d in details} <= set(DETAILS["space"]) - {"rocket"}
        kinds |= {d.kind for d in details}
        assert embellish(busy, True, random.Random(seed)) == []
    assert len(kinds) >= 3  # not always the same flourish
    again = [embellish(space, True, random.Random(7)) for _ in range(2)]
    assert again[0] == again[1]
