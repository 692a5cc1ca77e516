"""``[providers.openrouter]`` as a declared schema, and the constants of OpenRouter's API."""

from __future__ import annotations

from dataclasses import dataclass

from telestrations.providers.openai.models import TokenField
from telestrations.providers.openai.settings import OpenAISettings
from telestrations.providers.spec import setting

NAME = "openrouter"
DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
KEY_ENV = "OPENROUTER_API_KEY"
KEY_HINT = "run `telestrations keys set openrouter` or set OPENROUTER_API_KEY"
CREDITS_HINT = "add credits to the OpenRouter account (openrouter.ai, Settings → Credits)"
CHECK_TIMEOUT = 10.0


@dataclass(frozen=True)
class OpenRouterSettings(OpenAISettings):
    """``[providers.openrouter]``: the OpenAI provider's chat settings (guessers use chat
    completions), attribution headers, and the Image API's defaults for drawers."""

    base_url: str = setting(DEFAULT_BASE_URL, "URL with the /api/v1 prefix")
    token_field: TokenField | None = setting(
        "max_completion_tokens", "guessers' reply-length field (max_tokens is deprecated there)"
    )
    referer: str = setting("", "sent as HTTP-Referer: your app's URL, for OpenRouter's rankings")
    app_title: str = setting("", "sent as X-OpenRouter-Title (and the older X-Title)")
    aspect_ratio: str = setting("1:1", "drawers: the picture's shape (1:1, 16:9, 3:2, ...)")
    resolution: str = setting("", "drawers: 512, 1K, 2K or 4K; empty: not sent")
    quality: str = setting("", "drawers: auto, low, medium or high; empty: not sent")
    output_format: str = setting("", "drawers: png, jpeg or webp; empty: not sent")
    check_timeout: float = setting(CHECK_TIMEOUT, "seconds the model-list check may take")
