"""The doodle guesser reads pixels only, describes any image, and can be drawn again."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFilter, PngImagePlugin

from telestrations.providers.base import Caption, Picture, ProviderError
from telestrations.providers.doodle import DoodleGuesser
from telestrations.providers.doodle.drawer import render
from telestrations.providers.doodle.guesser import describe_bytes, word_limit
from telestrations.providers.doodle.lexicon import parse_scene

SEED_SCREENSHOT = Path("/work/shared/seed/ai-telestrations-ui.png")
SYSTEM = "You are playing a doodle guessing game"
PROMPT = "Describe what happens in this image in up to 10 words"
BW = "Illustrate in black & white doodle style"


def _png(im: Image.Image, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG", **kw)
    return buf.getvalue()


def _pixels_only(data: bytes) -> bytes:
    """Re-save the pixels alone: no text chunks, no ICC, no EXIF."""
    with Image.open(io.BytesIO(data)) as im:
        bare = Image.frombytes(im.mode, im.size, im.tobytes())
        if im.mode == "P":
            bare.putpalette(im.getpalette() or [])
    return _png(bare)


def photo_like(seed: int = 7, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A stand-in for a photograph: sky-to-ground gradient, noise, soft-edged shapes."""
    rng = random.Random(seed)
    w, h = size
    im = Image.new("RGB", size)
    px = im.load()
    assert px is not None
    for y in range(h):
        for x in range(w):
            t = y / h
            px[x, y] = (
                int(90 + 80 * t) + rng.randint(-25, 25),
                int(140 + 60 * t) + rng.randint(-25, 25),
                int(230 - 110 * t) + rng.randint(-25, 25),
            )
    d = ImageDraw.Draw(im)
    d.ellipse([380, 60, 520, 200], fill=(250, 200, 60))
    d.rectangle([60, 260, 260, 440], fill=(150, 60, 40))
    d.polygon([(300, 470), (420, 300), (560, 470)], fill=(40, 120, 50))
    return im.filter(ImageFilter.GaussianBlur(2))


def _words(text: str) -> list[str]:
    return text.lower().split()


async def test_describe_returns_one_short_free_caption() -> None:
    data, _ = render("a red house under a yellow sun")
    caption = await DoodleGuesser().describe(Picture(data, "png", 512, 512), SYSTEM, PROMPT)
    assert isinstance(caption, Caption)
    assert caption.cost == 0.0
    assert 2 <= len(caption.text.split()) <= 10
    assert "\n" not in caption.text
    assert caption.extras["word_limit"] == 10


def test_round_trip_in_colour_names_both_colours_and_things() -> None:
    data, _ = render("a red house under a yellow sun")
    text, _extras = describe_bytes(data, SYSTEM, "Describe this image in up to 14 words")
    words = _words(text)
    assert "red" in words and "yellow" in words, text
    assert "sun" in words, text
    # The caption can be drawn again: the drawer understands its things.
    kinds = {t.kind for t in parse_scene(text).things}
    assert {"house", "sun"} <= kinds, text


def test_round_trip_in_black_and_white_keeps_shapes_not_colours() -> None:
    # In line mode there is no colour to see: the honest check is on shape and layout.
    data, _ = render(f"{BW}: a red house under a yellow sun")
    text, extras = describe_bytes(data, SYSTEM, "Describe this image in up to 14 words")
    assert not {"red", "yellow"} & set(_words(text)), text
    regions = extras["regions"]
    assert isinstance(regions, list) and regions
    first = regions[0]
    assert first["shape"] in ("house", "home", "cottage", "hut"), text
    assert first["colour"] in (None, "black")  # hatched (a dark red) or a plain outline
    assert parse_scene(text).things, text  # still drawable


@pytest.mark.parametrize(
    ("prompt", "shape"),
    [
        ("a huge blue circle", ("circle", "disc", "ring", "ball")),
        ("a big green square", ("square", "box", "block")),
        ("a big orange triangle", ("triangle", "pyramid")),
    ],
)
def test_plain_shapes_come_back_as_shapes(prompt: str, shape: tuple[str, ...]) -> None:
    text, extras = describe_bytes(render(prompt)[0], "", "")
    regions = extras["regions"]
    assert isinstance(regions, list)
    biggest = regions[0]
    assert biggest["shape"] in shape, text
    assert biggest["colour"] == prompt.split()[2], text


def test_the_real_screenshot_and_a_photo_like_image_get_sentences() -> None:
    for data in (SEED_SCREENSHOT.read_bytes(), _png(photo_like())):
        text, _ = describe_bytes(data, SYSTEM, PROMPT)
        assert 2 <= len(text.split()) <= 10
        assert text[0].isupper()
    photo = io.BytesIO()
    photo_like(3).save(photo, format="JPEG", quality=80)
    text, extras = describe_bytes(photo.getvalue(), SYSTEM, PROMPT)
    assert text and extras["regions"], text


def test_caption_comes_from_pixels_not_metadata() -> None:
    for data in (SEED_SCREENSHOT.read_bytes(), render("two cats under a moon at night")[0]):
        assert describe_bytes(data, SYSTEM, PROMPT) == describe_bytes(
            _pixels_only(data), SYSTEM, PROMPT
        )


def test_a_text_chunk_cannot_tell_the_guesser_what_to_say() -> None:
    im = Image.new("RGB", (200, 200), "white")
    ImageDraw.Draw(im).ellipse([50, 50, 150, 150], fill=(140, 70, 190))
    info = PngImagePlugin.PngInfo()
    for key in ("Description", "parameters", "Comment", "Title", "prompt"):
        info.add_text(key, "a purple elephant")
    lying = _png(im, pnginfo=info)
    assert b"elephant" in lying
    text, extras = describe_bytes(lying, SYSTEM, PROMPT)
    assert "elephant" not in text.lower() and "elephant" not in repr(extras)
    assert "purple" in text.lower()  # the pixels do show a purple disc
    assert (text, extras) == describe_bytes(_png(im), SYSTEM, PROMPT)


@pytest.mark.parametrize("mode", ["L", "LA", "P", "RGBA", "1", "I;16", "RGB"])
def test_any_mode_and_size_is_described(mode: str) -> None:
    im = photo_like(size=(160, 120)).convert(mode)
    text, _ = describe_bytes(_png(im), SYSTEM, PROMPT)
    assert text


def test_tiny_transparent_animated_and_huge_images() -> None:
    assert describe_bytes(_png(Image.new("RGB", (1, 1), (255, 0, 0))))[0] == "An empty red picture"
    clear = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    ImageDraw.Draw(clear).rectangle([20, 20, 44, 44], fill=(45, 95, 215, 255))
    assert "blue" in describe_bytes(_png(clear))[0].lower()  # transparency reads as white
    frames = [Image.new("RGB", (50, 50), c) for c in ((250, 215, 40), (45, 95, 215))]
    gif = io.BytesIO()
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:])
    assert describe_bytes(gif.getvalue())[0] == "An empty yellow picture"
    huge = Image.new("RGB", (4000, 2500), (25, 35, 95))
    ImageDraw.Draw(huge).ellipse([1500, 800, 2500, 1800], fill=(250, 215, 40))
    text = describe_bytes(_png(huge, compress_level=1))[0].lower()
    assert "yellow" in text


def test_not_an_image_is_a_provider_error() -> None:
    with pytest.raises(ProviderError) as err:
        describe_bytes(b"<html>nope</html>")
    assert err.value.kind == "bad_request"


@pytest.mark.parametrize(
    ("prompt", "limit"),
    [
        ("Describe what happens in this image in up to 10 words", 10),
        ("Say it in at most five words.", 5),
        ("no more than 3 words please", 3),
        ("Describe the image.", 14),
        ("in up to 1 words", 3),
    ],
)
def test_word_limit_is_read_from_the_prompt(prompt: str, limit: int) -> None:
    assert word_limit(prompt) == limit
    text, _ = describe_bytes(
        render("a red house next to a big green tree at sunset")[0], "", prompt
    )
    assert len(text.split()) <= limit


def test_guessing_is_deterministic() -> None:
    data = _png(photo_like(11))
    assert describe_bytes(data, SYSTEM, PROMPT) == describe_bytes(data, SYSTEM, PROMPT)


def test_which_lesser_figures_are_named_depends_on_the_pixels() -> None:
    # One big red square, three small figures of other colours; a one-pixel speck moved
    # around changes the pixels (not what is seen), as the next doodle of a chain would.
    named: set[str] = set()
    for k in range(24):
        im = Image.new("RGB", (256, 256), "white")
        d = ImageDraw.Draw(im)
        d.rectangle([78, 78, 178, 178], fill=(220, 45, 45))
        d.ellipse([12, 12, 52, 52], fill=(45, 95, 215))
        d.polygon([(224, 200), (244, 240), (204, 240)], fill=(70, 175, 70))
        d.polygon([(32, 196), (52, 218), (32, 240), (12, 218)], fill=(140, 70, 190))
        im.putpixel((100 + k, 5), (0, 0, 0))
        text, extras = describe_bytes(_png(im), SYSTEM, PROMPT)
        regions = extras["regions"]
        assert isinstance(regions, list)
        assert (regions[0]["shape"], regions[0]["colour"]) == ("square", "red"), text
        assert _words(text)[1] in ("red", "big", "large"), text  # the big square leads
        assert len(text.split()) <= 10
        named |= {"blue", "green", "purple"} & set(_words(text))
    assert len(named) >= 2, named
