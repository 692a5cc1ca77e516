"""Google Gemini (the Developer API, generativelanguage): image models draw, vision models guess.

PROTOCOLS.md 11. Requests go to ``{base_url}/v1beta/models/{model}:generateContent`` (the
drawer: ``responseModalities: ["IMAGE"]``, the picture comes back as inline base64) and
``:streamGenerateContent?alt=sse`` (the guesser: the caption arrives as server-sent events,
each a whole ``GenerateContentResponse`` holding the new parts). The key (``GEMINI_API_KEY``,
else ``GOOGLE_API_KEY``, else ``telestrations keys set gemini``) goes only in the
``x-goog-api-key`` header, never in the URL, exactly as the official SDK sends it (11.9).

Safety blocks arrive with HTTP 200 (``promptFeedback.blockReason``, or a finish reason such as
``IMAGE_SAFETY`` or ``NO_IMAGE``) and become "refused" errors, the game's refusal event. Parts
marked ``thought`` are the model's drafts and are skipped. ``GET /v1beta/models`` (every page)
is evidence that a model exists and supports ``generateContent``; a model missing from it is a
warning, not a refusal, since listings lag behind launches.

- :mod:`.settings`: ``[providers.gemini]`` as a declared schema;
- :mod:`.models`: presets and token prices;
- :mod:`.answers`: reading answers and streamed events;
- :mod:`.errors`: error rules and the retry advice in error bodies;
- :mod:`.provider`: the drawer, the guesser and the provider.
"""

from telestrations.providers.gemini.answers import image_of, parse_events, text_of
from telestrations.providers.gemini.models import PRESETS, TOKEN_PRICES, token_cost
from telestrations.providers.gemini.provider import GeminiDrawer, GeminiGuesser, GeminiProvider
from telestrations.providers.gemini.settings import (
    KEY_ENV,
    KEY_ENV_FALLBACK,
    NAME,
    GeminiSettings,
)
from telestrations.providers.spec import KeySpec, ProviderSpec

provider = ProviderSpec(
    NAME,
    GeminiProvider,
    GeminiSettings,
    KeySpec(NAME, KEY_ENV, also=(KEY_ENV_FALLBACK,)),
    order=6,
)
"""Entry point for the ``telestrations.providers`` group."""

__all__ = [
    "PRESETS",
    "TOKEN_PRICES",
    "GeminiDrawer",
    "GeminiGuesser",
    "GeminiProvider",
    "GeminiSettings",
    "image_of",
    "parse_events",
    "provider",
    "text_of",
    "token_cost",
]
