"""``[providers.openai]`` as declared: what config loading checks and the provider reads."""

from __future__ import annotations

from dataclasses import dataclass

from telestrations.providers.openai.models import DEFAULT_BASE_URL, TokenField
from telestrations.providers.spec import HttpFields, setting


@dataclass(frozen=True)
class OpenAISettings(HttpFields):
    """``[providers.openai]``: OpenAI itself or any OpenAI-compatible server."""

    base_url: str = setting(DEFAULT_BASE_URL, "URL with the version prefix; OPENAI_BASE_URL wins")
    compatible: bool | None = setting(
        None, "true: another server (no key needed); default: unless the host is api.openai.com"
    )
    organization: str = setting("", "sent as the OpenAI-Organization header")
    project: str = setting("", "sent as the OpenAI-Project header")
    token_field: TokenField | None = setting(
        None, "reply-length field: max_completion_tokens (OpenAI) or max_tokens (elsewhere)"
    )
    stream: bool = setting(True, "guessers stream their caption word by word")
