"""OpenAI model presets, image prices and request families: data, not code."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from telestrations.providers.base import ModelInfo, ModelKind, ProviderError

DEFAULT_BASE_URL = "https://api.openai.com/v1"
OFFICIAL_HOST = "api.openai.com"
KEY_HINT = "run `telestrations keys set openai` or set OPENAI_API_KEY"
BILLING_HINT = (
    "add credits or raise the monthly limit at "
    "https://platform.openai.com/settings/organization/billing"
)
VERIFY_HINT = (
    "verify the organization at https://platform.openai.com/settings/organization/general "
    "(access can take 15 minutes to arrive), or pick another drawer"
)
RETIRED_HINT = (
    "model retired or not available to this key (dall-e-2/3 shut down 2026-05-12, gpt-image-1 "
    "2026-10-23, gpt-image-1-mini/1.5 2026-12-01, gpt-5* 2026-12-11); "
    "try openai:gpt-image-2.6-flare to draw, openai:gpt-6.1-terra or openai:gpt-6-luna to guess"
)
NOT_LISTED = "the service's model list does not show it (listings lag new models); trying it"
CHECK_TIMEOUT = 10.0
DEFAULT_MAX_TOKENS = 60
DEFAULT_DETAIL = "low"
SEND_FORMATS = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
"""What every vision server takes; anything else (gif) is sent as PNG (Ollama's /v1 rejects
GIF, PROTOCOLS.md 2.6)."""
RESEND_SIDE = 2048
"""A picture re-encoded to be sent is at most this wide and high (OpenAI's high detail)."""

Family = Literal["gpt-image", "dall-e-3", "dall-e-2", "compatible"]
FAMILIES: tuple[Family, ...] = ("gpt-image", "dall-e-3", "dall-e-2", "compatible")
TokenField = Literal["max_completion_tokens", "max_tokens"]
TOKEN_FIELDS: tuple[TokenField, ...] = ("max_completion_tokens", "max_tokens")

PROMPT_LIMITS: Mapping[str, int] = {"dall-e-2": 1000, "dall-e-3": 4000, "gpt-image": 32000}
"""Characters per prompt (PROTOCOLS.md 1.2); longer chains are cut, not rejected."""

SIZES: Mapping[str, tuple[str, ...]] = {
    "dall-e-2": ("256x256", "512x512", "1024x1024"),
    "dall-e-3": ("1024x1024", "1792x1024", "1024x1792"),
    "gpt-image": ("1024x1024", "1536x1024", "1024x1536", "auto"),
}

QUALITIES = ("low", "medium", "high", "auto")
"""gpt-image-2's quality tiers (PROTOCOLS.md 8.3, [spec])."""
TOP_QUALITIES = ("xhigh", "max")
"""Only gpt-image-2.5-*/2.6-* take these (8.3, third parties agree); a 400 falls back to high."""
TOP_QUALITY_MODELS = ("gpt-image-2.5-", "gpt-image-2.6-")
MAX_SIDE, MAX_PIXELS = 3840, 3840 * 2160
"""gpt-image-2 size ceiling (8.3, [spec: CreateImageRequest.size])."""


def takes_top_quality(name: str) -> bool:
    """Whether ``name`` is a 2.5/2.6 model, the only ones sent ``xhigh``/``max``."""
    return name.lower().startswith(TOP_QUALITY_MODELS)


def size_problem(name: str, size: str) -> str | None:
    """Why ``size`` breaks the gpt-image-2 family's rules (8.3), or None: both sides multiples
    of 16, ratio within 1:3..3:1, at most 3840 a side and 3840x2160 pixels."""
    if not name.lower().startswith("gpt-image-2") or size in ("auto", ""):
        return None
    w, sep, h = size.partition("x")
    if not sep or not w.isdigit() or not h.isdigit() or int(w) == 0 or int(h) == 0:
        return f"size {size!r} is not WIDTHxHEIGHT"
    width, height = int(w), int(h)
    if width % 16 or height % 16:
        return f"size {size}: both sides must be multiples of 16"
    if max(width, height) > 3 * min(width, height):
        return f"size {size}: the aspect ratio must be between 1:3 and 3:1"
    if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
        return f"size {size}: at most 3840x2160"
    return None


# -- prices ---------------------------------------------------------------------------------------

_SQUARE, _WIDE = ("1024x1024",), ("1536x1024", "1024x1536")
_DALLE3_WIDE = ("1792x1024", "1024x1792")


def _gpt_image_prices(
    low: tuple[float, float], medium: tuple[float, float], high: tuple[float, float]
) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = {}
    for quality, (square, wide) in (("low", low), ("medium", medium), ("high", high)):
        out[(_SQUARE[0], quality)] = square
        for size in _WIDE:
            out[(size, quality)] = wide
    return out


IMAGE_PRICES: Mapping[str, Mapping[tuple[str, str], float]] = {
    "dall-e-2": {("256x256", ""): 0.016, ("512x512", ""): 0.018, ("1024x1024", ""): 0.020},
    "dall-e-3": {
        ("1024x1024", "standard"): 0.040,
        **{(s, "standard"): 0.080 for s in _DALLE3_WIDE},
        ("1024x1024", "hd"): 0.080,
        **{(s, "hd"): 0.120 for s in _DALLE3_WIDE},
    },
    "gpt-image-1": _gpt_image_prices((0.011, 0.016), (0.042, 0.063), (0.167, 0.25)),
    "gpt-image-1-mini": _gpt_image_prices((0.005, 0.006), (0.011, 0.015), (0.036, 0.052)),
}
"""USD per image by (size, quality) (PROTOCOLS.md 1.7); models not listed cost "unknown"."""

TOKEN_PRICES: Mapping[str, tuple[float, float]] = {
    "gpt-4-vision-preview": (10.00, 30.00),
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-5-mini": (0.25, 2.00),
    # PROTOCOLS.md 8.6 (researched 2026-11-30): OpenAI model page for terra [docs-page];
    # Vercel/Oxen/Runware for luna, WaveSpeed/muapi for sol [3rd-party].
    "gpt-6.1-terra": (1.00, 5.00),
    "gpt-6-luna": (0.10, 0.50),
    "gpt-6.1-sol": (2.00, 10.00),
}
"""USD per million (input, output) tokens: OpenAI list prices as quoted by third-party price
tables in 2026 (gpt-4*/gpt-5-mini: not in PROTOCOLS.md; gpt-6*: PROTOCOLS.md 8.6). A model's
``price_in``/``price_out`` options override."""

IMAGE_TOKEN_RATES: Mapping[str, tuple[float, float, float]] = {
    # USD per 1M tokens: (text in, image in, image out), PROTOCOLS.md 8.4 (2026-11-30).
    "gpt-image-2": (5.00, 8.00, 30.00),  # [3rd-party: xairouter quoting OpenAI; apiyi]
    "gpt-image-2.5-flare": (5.00, 8.00, 30.00),  # [3rd-party: apiyi; Vercel]
    "gpt-image-2.5-sunburst": (5.00, 8.00, 30.00),  # [3rd-party: apiyi; Vercel]
    "gpt-image-2.6-sunburst": (5.00, 8.00, 30.00),  # [docs-page: OpenAI model page]
    "gpt-image-2.6-flare": (5.00, 8.00, 30.00),  # [3rd-party: apidog, Vercel]
    "gpt-image-1-mini": (2.00, 2.50, 8.00),  # [docs-page], until 2026-12-01
}
"""GPT image models bill by tokens: the cost of a call comes from the answer's ``usage``."""

_SNAPSHOT = re.compile(r"-\d{4}-\d{2}-\d{2}$")


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def usage_cost(name: str, usage: Any) -> float | None:
    """USD for one GPT image call from its ``usage`` (PROTOCOLS.md 8.4), or None when the
    model's rates or a needed count are unknown: unknown stays unknown, never guessed.
    Text output tokens have no published rate for these models, so any makes it unknown."""
    rates = IMAGE_TOKEN_RATES.get(name) or IMAGE_TOKEN_RATES.get(_SNAPSHOT.sub("", name))
    if rates is None or not isinstance(usage, Mapping):
        return None
    text_in_rate, image_in_rate, image_out_rate = rates
    details = usage.get("input_tokens_details")
    out_details = usage.get("output_tokens_details")
    output = _count(usage.get("output_tokens"))
    if not isinstance(details, Mapping) or output is None:
        return None
    text_in, image_in = _count(details.get("text_tokens")), _count(details.get("image_tokens"))
    if text_in is None or image_in is None:
        return None
    if isinstance(out_details, Mapping) and (_count(out_details.get("text_tokens")) or 0) > 0:
        return None
    return (text_in * text_in_rate + image_in * image_in_rate + output * image_out_rate) / 1e6


def image_price(name: str, size: str, quality: str) -> float | None:
    """USD for one image of ``name`` at ``size``/``quality``, or ``None`` when unknown."""
    table = IMAGE_PRICES.get(name)
    if table is None:
        return None
    return table.get((size, "" if name == "dall-e-2" else quality))


# -- presets --------------------------------------------------------------------------------------


def _drawer(
    name: str,
    options: Mapping[str, Any],
    *,
    note: str = "",
    retired: str = "",
    label: str = "",
    shutdown: str = "",
    successor: str = "",
) -> ModelInfo:
    size, quality = str(options.get("size", "")), str(options.get("quality", ""))
    return ModelInfo(
        "openai",
        name,
        "drawer",
        label=label,
        options=dict(options),
        price=image_price(name, size, quality),
        retired=retired,
        note=note,
        shutdown=shutdown,
        successor=successor,
    )


def _guesser(
    name: str,
    options: Mapping[str, Any] | None = None,
    *,
    note: str = "",
    retired: str = "",
    shutdown: str = "",
    successor: str = "",
) -> ModelInfo:
    opts = {"detail": DEFAULT_DETAIL, "max_tokens": DEFAULT_MAX_TOKENS, **(options or {})}
    return ModelInfo(
        "openai",
        name,
        "guesser",
        options=opts,
        retired=retired,
        note=note,
        shutdown=shutdown,
        successor=successor,
    )


_GPT_IMAGE = {"size": "1024x1024", "quality": "low", "output_format": "png"}
_TIERS = "quality low/medium/high/auto"
_TOP_TIERS = "quality low/medium/high/xhigh/max/auto"
_SIZES = "any WxH in 16s, 1:3..3:1, up to 3840x2160"
_REASONING = {"max_tokens": 2000}
"""GPT-6 models reason before they answer, and reasoning tokens count against
``max_completion_tokens`` (PROTOCOLS.md 2.3, 8.6): room for both and a 10-word caption."""

IMAGE_SUCCESSOR = "openai:gpt-image-2.6-flare"
"""OpenAI's replacement for the image models that shut down 2026-12-01 (PROTOCOLS.md 8.5:
gpt-image-2.6-sunburst or -flare, deprecations page [docs-page], read 2026-11-30); the faster
Flare suits a game of doodles."""

PRESETS: tuple[ModelInfo, ...] = (
    # Image models, PROTOCOLS.md 8.2-8.4 (status on 2026-11-30). Priced per token: the cost
    # of each turn comes from the answer's `usage` (IMAGE_TOKEN_RATES), so no per-call price.
    _drawer(  # launched 2026-11-04, newest [docs-page: model page; 3rd-party: apidog]
        "gpt-image-2.6-flare",
        _GPT_IMAGE,
        note=f"newest, fast; {_TOP_TIERS}; {_SIZES}; priced per token",
    ),
    _drawer(  # [docs-page: OpenAI model page for 2.6 Sunburst]
        "gpt-image-2.6-sunburst",
        _GPT_IMAGE,
        note=f"newest, better edits; {_TOP_TIERS}; {_SIZES}; priced per token",
    ),
    _drawer(  # launched 2026-09-08 [3rd-party: apiyi, wuyoscar]
        "gpt-image-2.5-flare", _GPT_IMAGE, note=f"{_TOP_TIERS}; {_SIZES}; priced per token"
    ),
    _drawer(  # launched 2026-09-08 [3rd-party: apiyi, wuyoscar]
        "gpt-image-2.5-sunburst", _GPT_IMAGE, note=f"{_TOP_TIERS}; {_SIZES}; priced per token"
    ),
    _drawer(  # launched 2026-04-21 [docs-page: model page; spec: model enum]
        "gpt-image-2", _GPT_IMAGE, note=f"{_TIERS}; {_SIZES}; priced per token"
    ),
    # Shut down 2026-12-01 [docs-page: OpenAI deprecations], replacement per 8.5.
    _drawer("gpt-image-1.5", _GPT_IMAGE, shutdown="2026-12-01", successor=IMAGE_SUCCESSOR),
    _drawer(
        "gpt-image-1.5-2025-12-16", _GPT_IMAGE, shutdown="2026-12-01", successor=IMAGE_SUCCESSOR
    ),
    _drawer("gpt-image-1-mini", _GPT_IMAGE, shutdown="2026-12-01", successor=IMAGE_SUCCESSOR),
    _drawer("chatgpt-image-latest", _GPT_IMAGE, shutdown="2026-12-01", successor=IMAGE_SUCCESSOR),
    _drawer(  # model page says so [docs-page], PROTOCOLS.md 8.2
        "gpt-image-1",
        _GPT_IMAGE,
        retired="shut down 2026-10-23",
        shutdown="2026-10-23",
        successor=IMAGE_SUCCESSOR,
    ),
    _drawer(  # PROTOCOLS.md 1 and 8.2: shut down 2026-05-12
        "dall-e-3",
        {"size": "1024x1024", "quality": "standard", "style": "vivid"},
        retired="shut down 2026-05-12",
        note="the original's drawer; compatible servers may still serve it",
        shutdown="2026-05-12",
        successor=IMAGE_SUCCESSOR,
    ),
    _drawer(
        "dall-e-2",
        {"size": "512x512"},
        retired="shut down 2026-05-12",
        shutdown="2026-05-12",
        successor=IMAGE_SUCCESSOR,
    ),
    # Guessers: only models the docs confirm take images (PROTOCOLS.md 8.6, 2026-11-30).
    _guesser(  # image input [docs-page: model page]; chat completions [3rd-party: w3cschool]
        "gpt-6.1-terra", _REASONING, note="current; reasoning model"
    ),
    _guesser(  # image input, chat completions [3rd-party: Vercel, Oxen, Runware]
        "gpt-6-luna", _REASONING, note="current, cheapest; reasoning model"
    ),
    _guesser(  # image input, chat completions [3rd-party: WaveSpeed, muapi]
        "gpt-6.1-sol", _REASONING, note="current; reasoning model"
    ),
    # Usable until 2027-01-14 [docs-page]; replacement not read officially: gpt-6-luna for
    # all four per dev.to and codersera [3rd-party] (PROTOCOLS.md 8.5).
    _guesser("gpt-4.1-mini", shutdown="2027-01-14", successor="openai:gpt-6-luna"),
    _guesser("gpt-4.1", shutdown="2027-01-14", successor="openai:gpt-6-luna"),
    _guesser("gpt-4o-mini", note="cheap", shutdown="2027-01-14", successor="openai:gpt-6-luna"),
    _guesser("gpt-4o", shutdown="2027-01-14", successor="openai:gpt-6-luna"),
    # Shut down 2026-12-11 [docs-page: deprecations]; replacements per 8.5: gpt-5 -> sol,
    # gpt-5-mini -> terra [docs-page]; gpt-5-nano's was cut off, gpt-6-luna is our pick.
    _guesser(
        "gpt-5",
        {"max_tokens": 400, "reasoning_effort": "minimal"},
        shutdown="2026-12-11",
        successor="openai:gpt-6.1-sol",
    ),
    _guesser(
        "gpt-5-mini",
        {"max_tokens": 400, "reasoning_effort": "minimal"},
        shutdown="2026-12-11",
        successor="openai:gpt-6.1-terra",
    ),
    _guesser(
        "gpt-5-nano",
        {"max_tokens": 400, "reasoning_effort": "minimal"},
        shutdown="2026-12-11",
        successor="openai:gpt-6-luna",
    ),
    _guesser(  # deprecated in 2024 (PROTOCOLS.md 2.5)
        "gpt-4-vision-preview",
        {"token_field": "max_tokens"},
        retired="deprecated in 2024",
        note="the original's guesser",
    ),
)


def kind_by_name(name: str) -> ModelKind | None:
    """An unknown listed model's kind by its name: the listing has no capability field
    (PROTOCOLS.md 8.1), and only image models are named like image models."""
    low = name.lower()
    if low.startswith(("gpt-image", "chatgpt-image", "dall-e")):
        return "drawer"
    return None


def family_of(name: str, options: Mapping[str, Any], *, official: bool) -> Family:
    """The request shape for image model ``name`` (``options.family`` wins)."""
    chosen = options.get("family")
    if chosen:
        if chosen not in FAMILIES:
            raise ProviderError(
                "bad_request",
                f"unknown image family {chosen!r} for openai:{name}",
                hint=f"use one of: {', '.join(FAMILIES)}",
            )
        return chosen  # type: ignore[no-any-return]
    low = name.lower()
    if low.startswith(("gpt-image", "chatgpt-image")):
        return "gpt-image"
    if low.startswith("dall-e-3"):
        return "dall-e-3"
    if low.startswith("dall-e-2"):
        return "dall-e-2"
    # Every image model OpenAI still serves is a GPT image model; other servers copy the
    # older DALL·E-era API (LocalAI, ...).
    return "gpt-image" if official else "compatible"
