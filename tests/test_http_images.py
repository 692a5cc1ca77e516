"""Image helpers of the HTTP layer: base64 in every shape, sniffing, pixel caps, bombs."""

from __future__ import annotations

import base64
import io
import struct
import zlib

import pytest
from PIL import Image

from telestrations.providers.base import ProviderError
from telestrations.providers.http import decode_base64_image, picture_from_bytes
from telestrations.text import clean_text, redact


def png(size: tuple[int, int] = (40, 30), color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(width: int, height: int) -> bytes:
    """A valid 1-bit greyscale PNG of ``width``×``height`` zeros: tiny on disk, huge decoded."""
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    comp = zlib.compressobj(9)
    parts = [comp.compress(row * 1000) for _ in range(height // 1000)]
    parts.append(comp.compress(row * (height % 1000)))
    parts.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", b"".join(parts))
        + _chunk(b"IEND", b"")
    )


# -- base64 ---------------------------------------------------------------------------------------


def test_decode_every_base64_shape() -> None:
    data = png()
    std = base64.b64encode(data).decode()
    url = base64.urlsafe_b64encode(data).decode()
    for value in (
        std,
        std.rstrip("="),
        url,
        url.rstrip("="),
        f"data:image/png;base64,{std}",
        f"DATA:image/png;base64,{std}",
        std[:50] + "\n" + std[50:],
    ):
        assert decode_base64_image(value) == data


@pytest.mark.parametrize(
    "value", ["", "   ", "not base64 at all!", "abcde", "data:image/png;base64,"]
)
def test_decode_garbage(value: str) -> None:
    with pytest.raises(ProviderError) as info:
        decode_base64_image(value)
    assert info.value.kind == "bad_response"


# -- pictures -------------------------------------------------------------------------------------


async def test_picture_keeps_original_bytes() -> None:
    data = png((33, 21))
    pic = await picture_from_bytes(data, max_pixels=10_000, extras={"seed": 7}, cost=0.01)
    assert pic.data is data or pic.data == data
    assert (pic.format, pic.width, pic.height, dict(pic.extras), pic.cost) == (
        "png",
        33,
        21,
        {"seed": 7},
        0.01,
    )
    buf = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buf, "JPEG", quality=50)
    jpg = await picture_from_bytes(buf.getvalue(), max_pixels=10_000)
    assert jpg.format == "jpeg" and jpg.data == buf.getvalue()


@pytest.mark.parametrize(
    "data", [b"", b'{"error": "not an image"}', b"<html>nope</html>", b"GIF8 but not"]
)
async def test_non_image_bytes(data: bytes) -> None:
    with pytest.raises(ProviderError) as info:
        await picture_from_bytes(data, max_pixels=1000)
    assert info.value.kind == "bad_response" and "not an image" in info.value.message


async def test_truncated_png() -> None:
    data = png((200, 200))
    with pytest.raises(ProviderError) as info:
        await picture_from_bytes(data[: len(data) // 2], max_pixels=10**6)
    assert info.value.kind == "bad_response" and "broken" in info.value.message


async def test_decompression_bomb_rejected_before_decoding() -> None:
    bomb = bomb_png(30000, 30000)  # 900 megapixels
    assert len(bomb) < 300_000
    with pytest.raises(ProviderError) as info:
        await picture_from_bytes(bomb, max_pixels=40_000_000)
    assert info.value.kind == "bad_response" and "too large" in info.value.message


async def test_pixel_cap_below_pillows_own_limit() -> None:
    big = bomb_png(8000, 6000)  # 48 MP: under Pillow's bomb limit, over ours
    with pytest.raises(ProviderError) as info:
        await picture_from_bytes(big, max_pixels=40_000_000)
    assert "8000×6000" in info.value.message
    small = bomb_png(800, 600)  # the same generator makes a valid, loadable image
    pic = await picture_from_bytes(small, max_pixels=40_000_000)
    assert (pic.width, pic.height) == (800, 600)


# -- text -----------------------------------------------------------------------------------------


def test_redact() -> None:
    key = "sk-abcdef123456"
    assert redact(f"Authorization: Bearer {key}", [key]) == "Authorization: Bearer ***"
    assert redact("a b c", ["", "a"]) == "a b c"  # empty and very short secrets ignored
    assert redact("xx sk-abcdef123456789 yy", [key, key + "789"]) == "xx *** yy"


def test_clean_text() -> None:
    raw = "\x1b[31mred\x1b[0m\x07 and\n\n\tmore \x1b]0;title\x07\u202eevil\x00[bold]x[/]"
    assert clean_text(raw) == "red and more evil [bold]x[/]"
    assert clean_text("word " * 200, 20) == "word word word word…"
    assert len(clean_text("x" * 1000, 50)) == 50


def test_fast_strict_decode_never_accepts_more_than_binascii_strict() -> None:
    """The SIMD decode stands in for ``binascii.a2b_base64(strict_mode=True)``: on every text
    it accepts, the bytes are the same, and it accepts nothing strict mode refuses (what it
    refuses beyond that goes to the lenient path, which accepts unpadded and URL-safe)."""
    import binascii
    import random

    from telestrations.providers.http.b64 import decode_strict, encode

    def strict(text: str) -> bytes | None:
        try:
            return binascii.a2b_base64(text, strict_mode=True)
        except (binascii.Error, ValueError):
            return None

    def fast(text: str) -> bytes | None:
        try:
            return decode_strict(text)
        except (binascii.Error, ValueError):
            return None

    rng = random.Random(7)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\n -_!\x00é"
    agreed = 0
    for n in range(20_000):
        if n % 2:
            data = rng.randbytes(rng.randint(0, 12))
            text = str(encode(data))
            assert text == base64.b64encode(data).decode()
            if text and rng.random() < 0.5:  # one character changed
                i = rng.randrange(len(text))
                text = text[:i] + rng.choice(alphabet) + text[i + 1 :]
            if text and rng.random() < 0.2:
                text = text[: rng.randrange(len(text))]
            if rng.random() < 0.2:
                text += rng.choice(["=", "==", "\n", "A"])
        else:
            text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 9)))
        got, want = fast(text), strict(text)
        if got is not None:
            assert got == want, text
            agreed += 1
    assert agreed > 5_000  # most valid texts took the fast path
    big = rng.randbytes(1_500_000)
    assert decode_strict(base64.b64encode(big).decode()) == big
