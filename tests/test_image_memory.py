"""Bounded memory per image: a small file with huge dimensions is looked at, checked and
thumbnailed reduced while it is decoded, and the reduced pixels are the right ones."""

from __future__ import annotations

import functools
import io
import json
import math
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from telestrations.providers import pixels
from telestrations.providers.base import ProviderError
from telestrations.providers.doodle.guesser import describe_bytes
from telestrations.providers.http import picture_from_bytes
from telestrations.providers.pixels import decode_reduced

ROOT = Path(__file__).resolve().parent.parent
GROWTH_LIMIT_MB = 100.0
"""The issue's bound over the steady state; before this work the guesser grew by ~600 MB."""


def test_a_6000x6000_png_costs_little_to_look_at_check_and_thumbnail() -> None:
    """Peak RSS growth measured in fresh processes by bench/image_memory.py."""
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "image_memory.py"),
            "--json",
            *("--only", "guesser", "--only", "check", "--only", "thumb"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    results = {r["what"]: r for r in map(json.loads, done.stdout.split("\n")[:-1])}
    assert set(results) == {"guesser", "check", "thumb"}, done.stdout
    for figures in results.values():
        assert figures["growth_mb"] < GROWTH_LIMIT_MB, figures
    assert len(results["guesser"]["result"].split()) >= 3, "the guesser described it"
    assert results["check"]["result"] == "(6000, 6000)"
    assert results["thumb"]["result"] == "(80, 80)"


# -- the reduced pixels are the right pixels ---------------------------------------------------


@pytest.fixture
def strips(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small pictures take the big-picture path, in strips of a few rows."""
    monkeypatch.setattr(pixels, "WHOLE_BUDGET", 1000)
    monkeypatch.setattr(pixels, "STRIP_BYTES", 4 * 301 * 9)


def scene(size: tuple[int, int] = (301, 203)) -> Image.Image:
    im = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(im)
    for i in range(40):
        box = (i * 7, i * 4, i * 7 + 60, i * 4 + 50)
        d.ellipse(box, fill=((i * 37) % 256, (i * 91) % 256, (i * 13) % 256))
    d.line((0, 0, *size), fill="black", width=3)
    return im


def encoded(im: Image.Image, fmt: str = "PNG", **save: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **save)
    return buf.getvalue()


VARIANTS = (
    "rgb",
    "rgba",
    "palette",
    "palette+alpha",
    "palette 4-bit",
    "palette 2-bit",
    "1-bit",
    "gray",
    "gray+alpha",
    "gray 16-bit",
    "rgb 16-bit (decoded whole)",
    "gif",
)


@functools.cache
def variants() -> dict[str, bytes]:
    base = scene()
    rgba = base.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(base.size))
    gray16 = base.convert("L").point(lambda v: v * 257, "I").convert("I;16")
    return {
        "rgb": encoded(base),
        "rgba": encoded(rgba),
        "palette": encoded(base.quantize(64)),
        "palette+alpha": encoded(base.quantize(64), transparency=bytes(range(0, 256, 4))),
        "palette 4-bit": encoded(base.quantize(16), bits=4),
        "palette 2-bit": encoded(base.quantize(4), bits=2),
        "1-bit": encoded(base.convert("1")),
        "gray": encoded(base.convert("L")),
        "gray+alpha": encoded(rgba.convert("LA")),
        "gray 16-bit": encoded(gray16),
        "rgb 16-bit (decoded whole)": _png16(base),
        "gif": encoded(base.quantize(64), "GIF"),
    }


@pytest.mark.parametrize("name", VARIANTS)
@pytest.mark.parametrize("factor", [2, 3, 8])
def test_strip_decoding_matches_a_whole_decode(strips: None, name: str, factor: int) -> None:
    data = variants()[name]
    with Image.open(io.BytesIO(data)) as ref:
        ref.load()
        want = ref.convert(pixels._flat_mode(ref)).reduce(factor)
        width, height = ref.size
    got = decode_reduced(data, (width // factor, height // factor))
    assert (got.mode, got.size) == (want.mode, want.size)
    worst = max(abs(a - b) for a, b in zip(got.tobytes(), want.tobytes(), strict=True))
    assert worst <= 1, f"{name}: pixels differ by up to {worst}"


def test_small_pictures_come_back_whole_as_pillow_decodes_them() -> None:
    data = variants()["palette+alpha"]
    got = decode_reduced(data, (10, 10))
    with Image.open(io.BytesIO(data)) as ref:
        ref.load()
        assert (got.mode, got.size, got.tobytes()) == (ref.mode, ref.size, ref.tobytes())


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(ihdr: bytes, rows: bytes) -> bytes:
    head = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr)
    return head + _chunk(b"IDAT", zlib.compress(rows)) + _chunk(b"IEND", b"")


def _png16(im: Image.Image) -> bytes:
    """16-bit RGB (Pillow writes none): each 8-bit sample doubled."""
    w, h = im.size
    raw = im.tobytes()
    rows = b"".join(
        b"\x00" + bytes(b for v in raw[y * w * 3 : (y + 1) * w * 3] for b in (v, v))
        for y in range(h)
    )
    return _png(struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0), rows)


def adam7(im: Image.Image) -> bytes:
    """An interlaced 8-bit RGB PNG (Pillow writes none), unfiltered."""
    w, h = im.size
    raw = im.tobytes()
    rows = bytearray()
    for x0, y0, dx, dy in [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4)]:
        for y in range(y0, h, dy):
            rows.append(0)
            for x in range(x0, w, dx):
                rows += raw[(y * w + x) * 3 : (y * w + x) * 3 + 3]
    for x0, y0, dx, dy in [(0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]:
        for y in range(y0, h, dy):
            rows.append(0)
            for x in range(x0, w, dx):
                rows += raw[(y * w + x) * 3 : (y * w + x) * 3 + 3]
    return _png(struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 1), bytes(rows))


def test_interlaced_png_is_read_from_its_first_pass(strips: None) -> None:
    base = scene()
    data = adam7(base)
    with Image.open(io.BytesIO(data)) as ref:
        ref.load()
        assert ref.tobytes() == base.tobytes(), "the test picture is a valid interlaced PNG"
    got = decode_reduced(data, (base.width // 16, base.height // 16))
    every_8th = Image.new("RGB", (math.ceil(base.width / 8), math.ceil(base.height / 8)))
    every_8th.putdata([base.getpixel((x * 8, y * 8)) for y in range(every_8th.height)
                       for x in range(every_8th.width)])  # fmt: skip
    assert got.tobytes() == every_8th.reduce(2).tobytes()


def test_a_big_jpeg_is_drafted_then_reduced(strips: None) -> None:
    data = encoded(scene((1200, 800)), "JPEG", quality=90)
    got = decode_reduced(data, (100, 100))
    assert got.size == (150, 100)  # 1/8 while decoding, nothing left to reduce
    assert got.getpixel((75, 50)) != (255, 255, 255)


def test_broken_pixel_data_is_an_error_not_a_picture(strips: None) -> None:
    data = variants()["rgb"]
    idat = data.index(b"IDAT")
    truncated = data[: idat + 200]
    with pytest.raises(OSError, match="truncated"):
        decode_reduced(truncated, (30, 20))
    flipped = bytearray(data)
    flipped[idat + 50] ^= 0xFF
    with pytest.raises(OSError, match="checksum"):
        decode_reduced(bytes(flipped), (30, 20))


def test_the_pixel_cap_is_checked_before_any_pixel() -> None:
    data = _png(struct.pack(">IIBBBBB", 9000, 9000, 1, 0, 0, 0, 0), b"")  # 81 Mpx, no rows
    with pytest.raises(Image.DecompressionBombError):
        decode_reduced(data, (64, 64), max_pixels=40_000_000)


async def test_drawn_pictures_with_broken_rows_are_refused(strips: None) -> None:
    data = variants()["rgba"]
    with pytest.raises(ProviderError) as err:
        await picture_from_bytes(data[: data.index(b"IDAT") + 300], max_pixels=40_000_000)
    assert err.value.kind == "bad_response"
    picture = await picture_from_bytes(data, max_pixels=40_000_000)
    assert (picture.width, picture.height) == (301, 203)


def test_the_doodle_guesser_sees_the_same_picture_reduced(strips: None) -> None:
    """A big picture reduced in strips reads like the same picture drawn small."""
    big = scene((1204, 812))
    text, _ = describe_bytes(encoded(big))
    assert text and len(text.split()) <= 12


def test_every_variant_is_tested() -> None:
    assert set(VARIANTS) == set(variants())


def test_pictures_re_encoded_for_a_guesser_are_reduced(strips: None) -> None:
    """A GIF (which not every server decodes) is sent as a PNG of at most 2048 px a side,
    made from a reduced decode rather than the whole picture in RGBA."""
    import base64

    from telestrations.providers.base import Picture
    from telestrations.providers.ollama import _encode_image
    from telestrations.providers.openai import _data_uri

    wide = scene((4200, 300)).quantize(32)
    gif = Picture(encoded(wide, "GIF", transparency=0), "gif", 4200, 300)
    sent = [
        base64.b64decode(_encode_image(gif)),
        base64.b64decode(_data_uri(gif).split(",", 1)[1]),
    ]
    for data in sent:
        with Image.open(io.BytesIO(data)) as im:
            assert (im.format, im.mode) == ("PNG", "RGBA")
            assert im.size == (2048, 146)


def _webp_header(width: int, height: int) -> bytes:
    """A VP8X WebP header claiming ``width``×``height`` (enough for a size check)."""
    vp8x = (
        b"\x00\x00\x00\x00" + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    )
    body = b"WEBP" + b"VP8X" + struct.pack("<I", len(vp8x)) + vp8x
    return b"RIFF" + struct.pack("<I", len(body)) + body


async def test_a_webp_too_big_to_decode_reduced_is_refused_before_pillow_allocates_it() -> None:
    big = _webp_header(6000, 6000)
    assert pixels.webp_size(big[:30]) == (6000, 6000)
    with pytest.raises(pixels.PictureTooLarge, match="WebP"):
        decode_reduced(big, (64, 64))
    with pytest.raises(ValueError):  # what the TUI's picture loaders catch
        decode_reduced(big, (64, 64))
    with pytest.raises(ProviderError) as err:
        await picture_from_bytes(big, max_pixels=40_000_000)
    assert err.value.kind == "bad_response" and "too large" in err.value.message
    with pytest.raises(ProviderError):
        describe_bytes(big)
    small = encoded(scene(), "WEBP", lossless=True)
    assert pixels.webp_size(small[:30]) == (301, 203)
    picture = await picture_from_bytes(small, max_pixels=40_000_000)
    assert (picture.format, picture.width) == ("webp", 301)
    assert describe_bytes(small)[0]
