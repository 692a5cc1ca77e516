"""OpenAI images (drawer) and vision chat (guesser), and any OpenAI-compatible server.

The base URL includes the version prefix, as in the official SDK: ``OPENAI_BASE_URL``, else
``base_url`` under ``[providers.openai]``, else ``https://api.openai.com/v1``. Requests go to
``{base}/images/generations`` and ``{base}/chat/completions`` (PROTOCOLS.md sections 1–2).

Guessers stream by default (``"stream": true``: server-sent events, one ``chat.completion.chunk``
per ``data:`` line, ending ``data: [DONE]``), so the caption can be shown word by word through
:func:`~telestrations.providers.base.report_partial`. The stream is only watched for display;
the finished body is parsed again as a whole, and that parse decides the caption, refusals,
errors and cost. ``stream = false`` (provider setting or model option) asks for one JSON
object instead, and a server that answers a stream request with plain JSON is accepted.

Each image model family wants its own request shape (PROTOCOLS.md 7.3–7.4): GPT image models
reject ``response_format`` and always answer base64; DALL·E wants ``response_format`` to
answer base64 and takes ``style`` (3 only); other servers (LocalAI, ...) get the
DALL·E-era shape, and are asked again without ``response_format`` if they reject it. A
result URL is downloaded at once, since DALL·E's expire within the hour.
"""

from __future__ import annotations

from telestrations.providers.openai.chat import OpenAIGuesser, _data_uri
from telestrations.providers.openai.endpoint import EndpointSettings, OpenAIEndpoint
from telestrations.providers.openai.images import OpenAIDrawer
from telestrations.providers.openai.models import (
    DEFAULT_BASE_URL,
    FAMILIES,
    PRESETS,
    TOKEN_FIELDS,
    Family,
    TokenField,
    family_of,
    image_price,
)
from telestrations.providers.openai.provider import OpenAIProvider
from telestrations.providers.openai.settings import OpenAISettings
from telestrations.providers.openai.streaming import (
    chat_watcher,
    is_event_stream,
    parse_stream,
)
from telestrations.providers.spec import Instances, KeySpec, ProviderSpec

provider = ProviderSpec(
    "openai",
    OpenAIProvider,
    OpenAISettings,
    KeySpec("openai", "OPENAI_API_KEY"),
    order=1,
    instances=Instances(EndpointSettings, OpenAIEndpoint),
)
"""Entry point for the ``telestrations.providers`` group; ``[providers.NAME] type = "openai"``
tables in config are named endpoints (:mod:`.endpoint`)."""


__all__ = [
    "DEFAULT_BASE_URL",
    "FAMILIES",
    "PRESETS",
    "TOKEN_FIELDS",
    "EndpointSettings",
    "Family",
    "OpenAIDrawer",
    "OpenAIEndpoint",
    "OpenAIGuesser",
    "OpenAIProvider",
    "TokenField",
    "_data_uri",
    "chat_watcher",
    "family_of",
    "image_price",
    "is_event_stream",
    "parse_stream",
    "provider",
]
