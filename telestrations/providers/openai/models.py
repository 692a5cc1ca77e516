"""OpenAI model presets, image prices and request families: data, not code."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from telestrations.providers.base import ModelInfo, ProviderError

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
    "this model may be retired (dall-e-2/3 shut down 2026-05-12, gpt-image-1 on 2026-10-23); "
    "try openai:gpt-image-2 to draw (gpt-image-1-mini and gpt-image-1.5 end 2026-12-01), "
    "openai:gpt-5-mini or openai:gpt-4.1-mini to guess"
)
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
}
"""USD per million (input, output) tokens: OpenAI list prices as quoted by third-party price
tables in 2026 (not in PROTOCOLS.md). A model's ``price_in``/``price_out`` options override."""


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
    )


def _guesser(
    name: str, options: Mapping[str, Any] | None = None, *, note: str = "", retired: str = ""
) -> ModelInfo:
    opts = {"detail": DEFAULT_DETAIL, "max_tokens": DEFAULT_MAX_TOKENS, **(options or {})}
    return ModelInfo("openai", name, "guesser", options=opts, retired=retired, note=note)


_GPT_IMAGE = {"size": "1024x1024", "quality": "low", "output_format": "png"}

PRESETS: tuple[ModelInfo, ...] = (
    _drawer("gpt-image-2", _GPT_IMAGE, note="newest GPT image model; price not in our table"),
    _drawer("gpt-image-1.5", _GPT_IMAGE, note="deprecated: shuts down 2026-12-01"),
    _drawer("gpt-image-1-mini", _GPT_IMAGE, note="cheapest; deprecated: shuts down 2026-12-01"),
    _drawer(
        "gpt-image-1",
        _GPT_IMAGE,
        retired="shut down 2026-10-23",
        note="needs a verified organization",
    ),
    _drawer(
        "dall-e-3",
        {"size": "1024x1024", "quality": "standard", "style": "vivid"},
        retired="shut down 2026-05-12",
        note="the original's drawer; compatible servers may still serve it",
    ),
    _drawer("dall-e-2", {"size": "512x512"}, retired="shut down 2026-05-12"),
    _guesser("gpt-5-mini", {"max_tokens": 400, "reasoning_effort": "minimal"}, note="current"),
    _guesser("gpt-4.1-mini", note="shuts down 2027-01-14"),
    _guesser("gpt-4.1", note="shuts down 2027-01-14"),
    _guesser("gpt-4o-mini", note="cheap; shuts down 2027-01-14"),
    _guesser("gpt-4o", note="shuts down 2027-01-14"),
    _guesser(
        "gpt-4-vision-preview",
        {"token_field": "max_tokens"},
        retired="deprecated in 2024",
        note="the original's guesser",
    ),
)


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
