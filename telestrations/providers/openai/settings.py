"""``[providers.openai]`` as declared: what config loading checks and the provider reads."""

from __future__ import annotations

from dataclasses import dataclass, field

from telestrations.providers.openai.models import DEFAULT_BASE_URL, TokenField
from telestrations.providers.spec import HttpFields, SettingError, setting


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
    headers: dict[str, str] = field(
        default_factory=dict,
        metadata={
            "doc": "extra HTTP headers sent with every request (secret-looking values are redacted)"
        },
    )

    def __post_init__(self) -> None:
        # Raised from validation, so config loading names the file, the table and the key.
        bad = [k for k, v in self.headers.items() if not isinstance(v, str)]
        if bad:
            raise SettingError("headers", f"headers.{bad[0]} must be a string")
