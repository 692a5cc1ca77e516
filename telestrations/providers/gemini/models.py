"""What a listing cannot say about Gemini models: presets, labels and token prices."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from telestrations.providers.base import ModelInfo
from telestrations.providers.gemini.settings import NAME

MODEL_ID = re.compile(r"gemini-[a-z0-9][a-z0-9.-]{0,100}")
"""What a listed Gemini model id looks like; anything else in a listing is not offered."""

# Per 1M tokens, USD: (input, text output, image output). PROTOCOLS.md 11.8, sourced from
# third parties quoting Google's pricing page (2026-10-07); models not listed stay unknown.
TOKEN_PRICES: Mapping[str, tuple[float, float, float]] = {
    "gemini-3-pro-image": (2.00, 12.00, 120.00),
    "gemini-3.1-flash-image": (0.50, 3.00, 60.00),
    "gemini-nano-banana-2.1": (1.50, 7.50, 30.00),
    "gemini-3.1-flash-lite-image": (0.25, 1.50, 30.00),
}


def _drawer(name: str, label: str, note: str, price: float | None = None) -> ModelInfo:
    return ModelInfo(NAME, name, "drawer", label=label, price=price, note=note)


def _guesser(name: str, label: str, note: str = "", retired: str = "") -> ModelInfo:
    return ModelInfo(NAME, name, "guesser", label=label, note=note, retired=retired)


# Image models active on 2026-11-30 (PROTOCOLS.md 11.2, Gemini API changelog and deprecation
# table as read on 2026-11-30). Left out: gemini-3.1-flash-image (deprecated 2026-10-06, maybe
# already shut down), gemini-2.5-flash-image (shut down 2026-10-02), the -preview image models
# (shut down 2026-06-25) and Imagen 4 (shut down 2026-08-17). Any other name still works.
# Vision models: PROTOCOLS.md 11.5 (docs page, 2026-11-30); their prices are not sourced.
PRESETS: tuple[ModelInfo, ...] = (
    _drawer(
        "gemini-nano-banana-2.1",
        "Nano Banana 2.1",
        "newest flash-tier image model (GA 2026-10-06); cost from tokens",
    ),
    _drawer(
        "gemini-3-pro-image",
        "Nano Banana Pro",
        "GA 2026-05-28; ≈ $0.134 per 1K image",
        price=0.134,
    ),
    _drawer(
        "gemini-3.1-flash-lite-image",
        "Nano Banana 2 Lite",
        "GA 2026-06-30; cost from tokens",
    ),
    _guesser("gemini-3.8-flash", "Gemini 3.8 Flash"),
    _guesser("gemini-3.6-flash", "Gemini 3.6 Flash"),
    _guesser("gemini-3.5-flash-lite", "Gemini 3.5 Flash-Lite"),
    _guesser("gemini-3.1-flash-lite", "Gemini 3.1 Flash-Lite", "shuts down 2027-05-07"),
    _guesser("gemini-3.1-pro-preview", "Gemini 3.1 Pro (preview)"),
)


def token_cost(name: str, usage: Any) -> float | None:
    """USD from ``usageMetadata`` and :data:`TOKEN_PRICES`; None when either is unknown."""
    prices = TOKEN_PRICES.get(name)
    if prices is None or not isinstance(usage, dict):
        return None
    price_in, price_text, price_image = prices
    details = usage.get("candidatesTokensDetails")
    if not isinstance(details, list):
        return None
    try:
        cost = int(usage.get("promptTokenCount", 0)) * price_in
        cost += int(usage.get("thoughtsTokenCount", 0)) * price_text  # billed as output
        for d in details:
            if not isinstance(d, dict):
                continue
            rate = price_image if d.get("modality") == "IMAGE" else price_text
            cost += int(d.get("tokenCount", 0)) * rate
    except (TypeError, ValueError):
        return None
    return cost / 1_000_000
