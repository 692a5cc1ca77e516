"""Image checks: base64 decoding, format sniffing, pixel caps and a reduced trial decode,
so a hostile or broken image is refused before it can cost memory or reach a terminal."""

from __future__ import annotations

import asyncio
import binascii
import contextlib
import io
import re
from collections.abc import Iterator, Mapping
from typing import Any

from PIL import Image

from telestrations.providers.base import (
    LaterChecks,
    Picture,
    ProviderError,
    later_checks,
    sniff_format,
)
from telestrations.providers.http.b64 import decode_strict
from telestrations.providers.http.bodies import JsonSafe
from telestrations.providers.pixels import check_rows, check_webp
from telestrations.text import clean_text

_DATA_URI = re.compile(r"^data:[^,]*?;base64,", re.I)


def decode_base64_image(value: str) -> bytes:
    """Bytes from a ``data:image/...;base64,`` URI or bare base64 (url-safe, unpadded OK)."""
    return decode_base64_text(value)[0]


def decode_base64_text(value: str) -> tuple[bytes, str | None]:
    """:func:`decode_base64_image`, plus the text itself when it was plain standard base64
    (most answers are), which a guesser can then send on as it is (``Picture.b64``); a
    strict decode accepted it, so it is :class:`JsonSafe`."""
    if not isinstance(value, str):
        raise ProviderError("bad_response", "image data is not a string")
    if value and value.isascii():  # the common case, in one C pass instead of five
        with contextlib.suppress(binascii.Error, ValueError):
            return decode_strict(value), JsonSafe(value)
    return _decode_base64_slow(value), None


def _decode_base64_slow(value: str) -> bytes:
    text = _DATA_URI.sub("", value.strip(), count=1)
    text = "".join(text.split())
    if not text:
        raise ProviderError("bad_response", "image data is empty")
    if "-" in text or "_" in text:
        text = text.translate(str.maketrans("-_", "+/"))
    text = text.rstrip("=")
    if len(text) % 4 == 1:
        raise ProviderError("bad_response", "image data is not valid base64")
    text += "=" * (-len(text) % 4)
    try:
        return decode_strict(text)
    except (binascii.Error, ValueError):
        raise ProviderError("bad_response", "image data is not valid base64") from None


@contextlib.contextmanager
def _as_provider_error(fmt: str) -> Iterator[None]:
    """Pillow raises many kinds for broken files: each becomes one ``bad_response``."""
    try:
        yield
    except Image.DecompressionBombError as exc:
        raise ProviderError(
            "bad_response", f"the image is too large to decode safely ({exc})"
        ) from None
    except ProviderError:
        raise
    except Exception as exc:
        raise ProviderError(
            "bad_response", f"the {fmt} image is broken: {clean_text(str(exc), 160)}"
        ) from None


def _too_large(width: int, height: int, max_pixels: int) -> ProviderError:
    return ProviderError(
        "bad_response",
        f"the image is too large: {width}×{height} pixels "
        f"(limit {max_pixels:,}); refusing to decode it",
    )


def _verify_image(
    data: bytes, fmt: str, max_pixels: int, expect: tuple[int, int] | None = None
) -> tuple[int, int]:
    """Open (headers only), check the pixel count, then the rows: runs in a worker thread.

    The rows are checked without a full decode (a PNG's chunk CRCs; other formats reduced,
    a strip at a time): a small file with huge dimensions never costs its decoded size.
    ``expect``: the size already read from the header (:func:`png_size`), which Pillow must
    agree with.
    """
    with _as_provider_error(fmt):
        check_webp(data[:30])  # before Pillow opens it: opening a WebP allocates it whole
        with Image.open(io.BytesIO(data)) as im:
            width, height = im.size
            if width <= 0 or height <= 0:
                raise ProviderError("bad_response", "the image has no pixels")
            if width * height > max_pixels:
                raise _too_large(width, height, max_pixels)
            if (im.format or "").lower() != fmt:
                raise ProviderError(
                    "bad_response", f"the image says {fmt} but decodes as {im.format}"
                )
            if expect is not None and expect != (width, height):
                raise ProviderError(
                    "bad_response", f"the {fmt} image's header does not match its contents"
                )
        check_rows(data, max_pixels=max_pixels)  # the pixel cap was checked above
    return width, height


def png_size(data: bytes) -> tuple[int, int] | None:
    """A PNG's size from its ``IHDR`` (the first chunk, by the standard), without Pillow;
    ``None`` if ``data`` does not start like a PNG."""
    if len(data) < 24 or data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _checked_beside(
    data: bytes, fmt: str, max_pixels: int, later: LaterChecks
) -> tuple[int, int] | None:
    """A PNG's size and pixel cap now (24 bytes read), the rest of its check in a thread
    left in ``later``; ``None`` (check it all now) for other formats."""
    size = png_size(data) if fmt == "png" else None
    if size is None:
        return None
    width, height = size
    if width <= 0 or height <= 0:
        raise ProviderError("bad_response", "the image has no pixels")
    if width * height > max_pixels:
        raise _too_large(width, height, max_pixels)

    async def rest() -> None:
        await asyncio.to_thread(_verify_image, data, fmt, max_pixels, size)

    later.add(asyncio.ensure_future(rest()))
    return size


def check_image(data: bytes, *, max_pixels: int, max_bytes: int) -> Picture:
    """A verified :class:`Picture` from a file a person gave (a start picture): the checks a
    provider's answer gets (format, byte and pixel caps, a trial decode). Blocking."""
    if len(data) > max_bytes:
        mb = max_bytes / (1024 * 1024)
        raise ProviderError("bad_response", f"the image is larger than {mb:g} MB")
    fmt = sniff_format(data)
    if fmt is None:
        raise ProviderError("bad_response", "not a PNG, JPEG, WebP or GIF image")
    width, height = _verify_image(data, fmt, max_pixels)
    return Picture(data, fmt, width, height)


INLINE_BASE64 = 96 * 1024
"""A PNG or JPEG this small (as base64) is checked on the event loop (well under 1 ms): the
thread hop would cost more, and in a batch its wait for a busy worker pool holds a slot."""


DECODE_ON_LOOP = 8 * 1024 * 1024
"""Base64 this long (a 6 MB picture) at most is decoded on the event loop (~0.6 ms) when
the check may finish beside the next request; longer text is decoded in the thread."""


async def picture_from_base64(
    value: str,
    *,
    max_pixels: int,
    extras: Mapping[str, Any] | None = None,
    cost: float | None = None,
) -> Picture:
    """:func:`picture_from_bytes` of base64 text (``b64_json``, a data URI): decoded and
    checked in one worker thread, so the event loop never holds a 1-2 MB decode (~4 ms).

    Inside :func:`~telestrations.providers.base.checks_beside` a PNG of up to
    :data:`DECODE_ON_LOOP` is decoded here (~0.15 ms for 2 MB) and only its header read: the
    rest of the check runs beside the next request, which the thread hop and the CRCs
    (~1 ms a drawing) then no longer delay."""
    if not isinstance(value, str):
        raise ProviderError("bad_response", "image data is not a string")

    def work() -> tuple[bytes, str | None, str, int, int]:
        data, b64 = decode_base64_text(value)
        fmt = _format_of(data)
        width, height = _verify_image(data, fmt, max_pixels)
        return data, b64, fmt, width, height

    later = later_checks()
    small = len(value) <= INLINE_BASE64
    if later is not None and not small:
        if len(value) <= DECODE_ON_LOOP:
            data, b64 = decode_base64_text(value)
        else:
            data, b64 = await asyncio.to_thread(decode_base64_text, value)
        fmt = _format_of(data)
        size = _checked_beside(data, fmt, max_pixels, later)
        if size is None:
            width, height = await asyncio.to_thread(_verify_image, data, fmt, max_pixels)
        else:
            width, height = size
    elif small and value.startswith(("iVBORw0KGgo", "/9j/")):
        data, b64, fmt, width, height = work()  # a small PNG or JPEG: cheaper than a hop
    else:
        data, b64, fmt, width, height = await asyncio.to_thread(work)
    return Picture(data, fmt, width, height, dict(extras or {}), cost, b64)


def _format_of(data: bytes) -> str:
    fmt = sniff_format(data)
    if fmt is None:
        start = clean_text(data[:16].decode("latin-1"), 40) if data else "nothing"
        raise ProviderError(
            "bad_response",
            f"not an image ({len(data)} bytes starting {start!r})",
        )
    return fmt


async def picture_from_bytes(
    data: bytes,
    *,
    max_pixels: int,
    extras: Mapping[str, Any] | None = None,
    cost: float | None = None,
    b64: str | None = None,
) -> Picture:
    """A verified :class:`Picture` holding the original bytes (never re-encoded); ``b64`` is
    the same bytes as standard base64, when the answer carried them so. Inside
    :func:`~telestrations.providers.base.checks_beside` a PNG's check finishes beside."""
    fmt = _format_of(data)
    later = later_checks()
    size = _checked_beside(data, fmt, max_pixels, later) if later is not None else None
    if size is not None:
        width, height = size
    else:
        width, height = await asyncio.to_thread(_verify_image, data, fmt, max_pixels)
    return Picture(data, fmt, width, height, dict(extras or {}), cost, b64)
