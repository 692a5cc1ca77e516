"""Decoding pictures in bounded memory: reduce while decoding, never hold every pixel.

A small file can have huge dimensions (a 36 KB PNG of 6000×6000 pixels is 144 MB once
decoded, and each conversion costs that again). Looking, thumbnailing and checking only need
a picture a few hundred pixels wide, so :func:`decode_reduced` shrinks by a whole factor
while decoding:

- JPEG: libjpeg decodes at 1/2, 1/4 or 1/8 scale (``draft``);
- PNG: the compressed rows are inflated a strip at a time and each strip is unfiltered by
  Pillow (as a little PNG of its own), reduced and pasted, so only one strip is ever whole;
  an interlaced PNG's first Adam7 pass is already an image at 1/8 scale;
- GIF (one byte a pixel) and WebP are decoded whole, then reduced a band at a time.

Blocking and CPU-bound: call it in a worker thread. No Textual, no httpx here.
"""

from __future__ import annotations

import io
import math
import struct
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageFile

WHOLE_BUDGET = 4_000_000
"""Pictures up to this many pixels (16 MB decoded) are decoded whole, as Pillow does."""
STRIP_BYTES = 4 * 1024 * 1024
"""Decoded bytes per strip (or band) of a bigger picture."""
_INFLATE_STEP = 1024 * 1024
WEBP_MAX_PIXELS = 6_000_000
"""WebP cannot be decoded reduced: Pillow's decoder holds a canvas, a copy and the image,
about 16 bytes a pixel in all (90 MB at this limit). Bigger WebP pictures are refused (real
drawers make 1-2 Mpx)."""

_PNG = b"\x89PNG\r\n\x1a\n"
_Strip = Callable[[int, int, bytes], Image.Image]
"""Makes a strip of the real image from (rows, width, unfiltered bytes)."""
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
"""Samples per pixel for each PNG colour type."""
_CARRIERS = {1: 0, 2: 4, 3: 2, 4: 6}
"""Bytes per pixel → an 8-bit PNG colour type with as many bytes per pixel. PNG filters work
on bytes and look one pixel (that many bytes) to the left, so a strip declared as the carrier
unfilters to exactly the original's bytes, whatever its real depth (1-bit, 16-bit gray)."""


def decode_reduced(
    source: bytes | Path, size: tuple[int, int], *, max_pixels: int | None = None
) -> Image.Image:
    """The first frame, shrunk by the largest whole factor that keeps it at least ``size``.

    A picture of at most :data:`WHOLE_BUDGET` pixels comes back whole (JPEGs drafted to
    ``size``), exactly as ``Image.open`` then ``load`` would give it. Bigger ones come back
    reduced, in ``RGB``, ``RGBA`` or ``L``, having cost about :data:`STRIP_BYTES` a strip
    rather than the whole decoded picture (an interlaced PNG comes back from its first pass,
    at 1/8 scale, even when less reduction was asked for). ``max_pixels`` refuses bigger
    pictures before any pixel is decoded (:class:`PictureTooLarge`); Pillow's
    own cap stays.
    """
    with _open(source) as fh:
        check_webp(fh.read(30))
        fh.seek(0)
        with Image.open(fh) as im:
            width, height = im.size
            if width <= 0 or height <= 0:
                raise ValueError("the image has no pixels")
            if max_pixels is not None and width * height > max_pixels:
                raise PictureTooLarge(
                    f"{width}×{height} pixels is over the limit of {max_pixels:,}"
                )
            want_w, want_h = max(1, size[0]), max(1, size[1])
            factor = max(1, min(width // want_w, height // want_h))
            if im.format == "JPEG":
                im.draft("RGB", (math.ceil(width / factor), math.ceil(height / factor)))
            if width * height <= WHOLE_BUDGET or factor == 1:  # nothing to save
                im.seek(0)
                im.load()
                return im.copy()
            if im.format == "JPEG":
                im.load()
                return _reduce_bands(im, max(1, im.width // math.ceil(width / factor)))
            if isinstance(im, ImageFile.ImageFile) and im.format == "PNG" and im.tile:
                reduced = _png_reduced(fh, im, factor)
                if reduced is not None:
                    return reduced
            im.seek(0)
            im.load()
            return _reduce_bands(im, factor)


def check_rows(
    data: bytes, size: tuple[int, int] = (64, 64), *, max_pixels: int | None = None
) -> None:
    """Raise (OSError, ValueError, …) if a drawn picture is broken, at a fraction of a decode.

    A PNG's every chunk is checked against its CRC through ``IEND`` (``verify()``): a
    truncated or damaged transfer fails, without inflating 1-4 MB of pixels (~14-30 ms a
    picture on the critical path). Other formats are decoded reduced (JPEG at 1/8 scale).
    """
    if data[:8] == _PNG:
        with Image.open(io.BytesIO(data)) as im:
            im.verify()
        return
    decode_reduced(data, size, max_pixels=max_pixels)


class PictureTooLarge(Image.DecompressionBombError, ValueError):
    """Refused before decoding; a ValueError too, which callers showing pictures handle."""


def webp_size(head: bytes) -> tuple[int, int] | None:
    """A WebP picture's size from its first 30 bytes, without decoding; ``None`` if not
    WebP (or not a layout known here)."""
    if len(head) < 30 or head[:4] != b"RIFF" or head[8:12] != b"WEBP":
        return None
    kind = head[12:16]
    if kind == b"VP8X":
        return int.from_bytes(head[24:27], "little") + 1, int.from_bytes(head[27:30], "little") + 1
    if kind == b"VP8L" and head[20] == 0x2F:
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if kind == b"VP8 " and head[23:26] == b"\x9d\x01\x2a":
        return (
            int.from_bytes(head[26:28], "little") & 0x3FFF,
            int.from_bytes(head[28:30], "little") & 0x3FFF,
        )
    return None


def check_webp(head: bytes) -> None:
    """Refuse a WebP picture over :data:`WEBP_MAX_PIXELS` before Pillow allocates it."""
    size = webp_size(head)
    if size is not None and size[0] * size[1] > WEBP_MAX_PIXELS:
        raise PictureTooLarge(
            f"a {size[0]}×{size[1]} WebP picture is decoded whole; the limit for WebP is "
            f"{WEBP_MAX_PIXELS:,} pixels"
        )


def _open(source: bytes | Path) -> BinaryIO:
    if isinstance(source, bytes | bytearray | memoryview):
        return io.BytesIO(bytes(source))
    return open(source, "rb")


def _flat_mode(im: Image.Image) -> str:
    """The mode a reduced picture is kept in: alpha kept, palettes and depths resolved."""
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info:
        return "RGBA"
    if im.mode in ("1", "L", "I;16", "I;16B", "I;16L", "I", "F"):
        return "L"
    return "RGB"


def _reduce_bands(im: Image.Image, factor: int) -> Image.Image:
    """``im`` (decoded) reduced by ``factor``, converting one band of rows at a time."""
    mode = _flat_mode(im)
    out_w, out_h = math.ceil(im.width / factor), math.ceil(im.height / factor)
    out = Image.new(mode, (out_w, out_h))
    rows = _strip_rows(im.width, factor)
    for top in range(0, im.height, rows):
        band = im.crop((0, top, im.width, min(im.height, top + rows)))
        out.paste(_shrink(band, mode, factor), (0, top // factor))
    return out


def _shrink(band: Image.Image, mode: str, factor: int) -> Image.Image:
    if band.mode != mode:
        band = band.convert(mode)
    return band.reduce(factor) if factor > 1 else band


def _strip_rows(width: int, factor: int) -> int:
    """Rows per strip: about :data:`STRIP_BYTES` decoded, a whole multiple of ``factor``."""
    rows = max(1, STRIP_BYTES // (4 * max(1, width)))
    return max(factor, rows // factor * factor)


# -- PNG, a strip at a time ---------------------------------------------------------------------


def _png_reduced(fh: BinaryIO, im: ImageFile.ImageFile, factor: int) -> Image.Image | None:
    """``im`` reduced by ``factor`` from its compressed rows; ``None`` when this layout is
    not handled here (16-bit colour), so the caller decodes it whole."""
    fh.seek(0)
    head = fh.read(33)
    if head[:8] != _PNG or head[12:16] != b"IHDR":
        return None
    width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", head[16:29])
    channels = _CHANNELS.get(ctype)
    if channels is None:
        return None
    bits = depth * channels
    pixel_bytes = max(1, bits // 8)
    carrier = _CARRIERS.get(pixel_bytes)
    if carrier is None:  # 16-bit RGB and RGBA: 6 or 8 bytes a pixel, no 8-bit twin
        return None
    mode, rawmode = im.mode, str(im.tile[0].args)
    offset = im.tile[0].offset
    stream = _inflate(fh, offset)
    mode_out = _flat_mode(im)
    palette, palette_mode, info = _palette_of(im)

    def strip(rows: int, w: int, raw: bytes) -> Image.Image:
        part = Image.frombytes(mode, (w, rows), raw, "raw", rawmode)
        if palette is not None:
            part.putpalette(palette, palette_mode)
        part.info.update(info)
        return part

    if interlace:
        # Adam7's first pass is every 8th pixel of every 8th row: a picture at 1/8 scale,
        # stored first. Decode that, then reduce what is left of the factor.
        pw, ph = math.ceil(width / 8), math.ceil(height / 8)
        first = _unfilter(stream, pw, ph, bits, carrier, ph, strip)
        return _reduce_bands(first, max(1, factor // 8))
    out = Image.new(mode_out, (math.ceil(width / factor), math.ceil(height / factor)))
    rows = _strip_rows(width, factor)
    top = 0
    for part in _unfilter_strips(stream, width, height, bits, carrier, rows, strip):
        out.paste(_shrink(part, mode_out, factor), (0, top // factor))
        top += part.height
    return out


def _palette_of(im: Image.Image) -> tuple[bytes | None, str, dict[str, object]]:
    """The palette a strip needs (with the tRNS alphas in it), and the info left to copy."""
    info: dict[str, object] = {}
    if "transparency" in im.info:
        info["transparency"] = im.info["transparency"]
    if im.mode != "P" or im.palette is None:
        return None, "RGB", info
    rgb = im.palette.tobytes()
    trns = info.pop("transparency", None)
    if trns is None:
        return rgb, im.palette.mode, info
    count = len(rgb) // 3
    alphas = bytearray([255] * count)
    if isinstance(trns, int) and 0 <= trns < count:
        alphas[trns] = 0
    elif isinstance(trns, bytes):
        alphas[: min(count, len(trns))] = trns[:count]
    rgba = b"".join(rgb[i * 3 : i * 3 + 3] + bytes([alphas[i]]) for i in range(count))
    return rgba, "RGBA", info


def _unfilter(
    stream: Iterator[bytes],
    width: int,
    height: int,
    bits: int,
    carrier: int,
    rows: int,
    strip: _Strip,
) -> Image.Image:
    (whole,) = list(_unfilter_strips(stream, width, height, bits, carrier, rows, strip))
    return whole


def _unfilter_strips(
    stream: Iterator[bytes],
    width: int,
    height: int,
    bits: int,
    carrier: int,
    rows: int,
    strip: _Strip,
) -> Iterator[Image.Image]:
    """Each strip of ``rows`` rows, unfiltered by Pillow, as the real mode's image.

    Filters refer to the row above, so each strip is sent as a little PNG whose first row is
    the previous strip's last row, unfiltered (filter byte 0), followed by the strip's rows
    as they were stored.
    """
    row_bytes = (width * bits + 7) // 8
    line = row_bytes + 1
    pixel_bytes = max(1, bits // 8)
    carrier_w = row_bytes // pixel_bytes
    buffer = bytearray()
    previous = b""
    done = 0
    while done < height:
        n = min(rows, height - done)
        need = n * line
        while len(buffer) < need:
            more = next(stream, None)
            if more is None:
                raise OSError("the PNG image is truncated (its pixel data ends early)")
            buffer += more
        filtered = bytes(buffer[:need])
        del buffer[:need]
        lines = n + (1 if previous else 0)
        body = (b"\x00" + previous if previous else b"") + filtered
        raw = _carrier_bytes(carrier_w, lines, carrier, body)
        if previous:
            raw = raw[row_bytes:]
        previous = raw[-row_bytes:]
        yield strip(n, width, raw)
        done += n


def _carrier_bytes(width: int, height: int, ctype: int, filtered: bytes) -> bytes:
    """The unfiltered bytes of ``filtered`` rows, by way of Pillow's PNG decoder."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, ctype, 0, 0, 0)
    png = (
        _PNG
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(filtered, 0))
        + _chunk(b"IEND", b"")
    )
    with Image.open(io.BytesIO(png)) as im:
        im.load()
        return im.tobytes()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _inflate(fh: BinaryIO, offset: int) -> Iterator[bytes]:
    """The decompressed image data, at most :data:`_INFLATE_STEP` bytes at a time, from the
    IDAT chunks starting at ``offset`` (their CRCs checked)."""
    inflater = zlib.decompressobj()
    fh.seek(offset - 8)
    while True:
        head = fh.read(8)
        if len(head) < 8:
            raise OSError("the PNG image is truncated")
        length, kind = struct.unpack(">I4s", head)
        if kind != b"IDAT":
            break
        data = fh.read(length)
        crc = fh.read(4)
        if len(data) < length or len(crc) < 4:
            raise OSError("the PNG image is truncated")
        if struct.unpack(">I", crc)[0] != zlib.crc32(kind + data):
            raise OSError("broken PNG file (a pixel data chunk fails its checksum)")
        try:
            out = inflater.decompress(data, _INFLATE_STEP)
            while out:
                yield out
                out = inflater.decompress(inflater.unconsumed_tail, _INFLATE_STEP)
        except zlib.error as exc:
            raise OSError(f"broken PNG pixel data ({exc})") from None
        if inflater.eof:
            return
    tail = inflater.flush()
    if tail:
        yield tail
