"""OpenRouter (PROTOCOLS.md 12): one key for many drawers and guessers.

Drawers go through the dedicated Image API (``POST {base}/images``: ``model``, ``prompt``,
``n``, ``aspect_ratio`` and the optional fields a model's options set; the answer's
``data[0].b64_json`` is the picture and ``usage.cost`` its USD cost). Guessers go through chat
completions with the image as a ``data:`` URI after the text, exactly the OpenAI shape, so the
OpenAI guesser does the work (streaming included); a ``usage.cost`` in the answer is the cost.
``GET {base}/models?output_modalities=all`` (paged by ``offset``/``limit``) says which models
exist: image output makes a drawer, image input with text output a guesser, and ``pricing``
gives prices. The key (``OPENROUTER_API_KEY`` or ``telestrations keys set openrouter``) goes
as a Bearer token; ``referer`` and ``app_title`` become the optional attribution headers.
Errors (``{error: {code, message, metadata}}``, also sent after a 200) are one line with a
hint: 401 key, 402 credits, 403 moderation (with its reasons), 429 rate, 502/503 providers.
"""

from telestrations.providers.openrouter.provider import (
    OpenRouterDrawer,
    OpenRouterGuesser,
    OpenRouterProvider,
    describe_entry,
    map_failure,
    usage_cost,
)
from telestrations.providers.openrouter.settings import KEY_ENV, NAME, OpenRouterSettings
from telestrations.providers.spec import KeySpec, ProviderSpec

provider = ProviderSpec(
    NAME, OpenRouterProvider, OpenRouterSettings, KeySpec(NAME, KEY_ENV), order=7
)
"""Entry point for the ``telestrations.providers`` group."""

__all__ = [
    "OpenRouterDrawer",
    "OpenRouterGuesser",
    "OpenRouterProvider",
    "OpenRouterSettings",
    "describe_entry",
    "map_failure",
    "provider",
    "usage_cost",
]
