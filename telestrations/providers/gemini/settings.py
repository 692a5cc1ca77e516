"""``[providers.gemini]`` as a declared schema, and the constants of the API's shape."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from telestrations.providers.spec import HttpFields, SettingError, setting

NAME = "gemini"
DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
API_VERSION = "v1beta"
"""The SDK now defaults to ``/v1``, which refuses some payloads it builds itself (11.9)."""
KEY_ENV = "GEMINI_API_KEY"
KEY_ENV_FALLBACK = "GOOGLE_API_KEY"
"""Read when ``GEMINI_API_KEY`` is unset, as Google's SDK does (declared on the KeySpec)."""
KEY_HINT = "run `telestrations keys set gemini`, or set GEMINI_API_KEY or GOOGLE_API_KEY"
CHECK_TIMEOUT = 10.0

AspectRatio = Literal[
    "1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9",
    "1:4", "4:1", "1:8", "8:1",
]  # fmt: skip
"""The last four only on newer image models (11.3)."""
ImageSize = Literal["1K", "2K", "4K"]
ThinkingLevel = Literal["MINIMAL", "LOW", "MEDIUM", "HIGH"]


@dataclass(frozen=True)
class GeminiSettings(HttpFields):
    """``[providers.gemini]``: where the API is, and the request knobs models can override."""

    base_url: str = setting(
        DEFAULT_BASE_URL, "scheme, host and port only; requests go to {base_url}/v1beta/models/..."
    )
    aspect_ratio: AspectRatio = setting("1:1", "drawers: the picture's shape")
    image_size: ImageSize = setting("1K", "drawers: 1K, 2K or 4K (priced higher)")
    thinking_level: ThinkingLevel = setting(
        "LOW", "guessers: thinking spends the output budget (11.5), so keep it low"
    )
    max_output_tokens: int = setting(2048, "guessers: the output budget, thinking included")
    stream: bool = setting(True, "captions stream word by word; false asks for the whole answer")
    check_timeout: float = setting(CHECK_TIMEOUT, "seconds the model-list check may take")

    def __post_init__(self) -> None:
        # Raised from validation, so config loading names the file, the table and the key.
        if self.max_output_tokens < 1:
            raise SettingError(
                "max_output_tokens",
                f"max_output_tokens must be a whole number above 0, not {self.max_output_tokens!r}",
            )
        if self.check_timeout <= 0:
            raise SettingError(
                "check_timeout",
                f"check_timeout must be a number above 0, not {self.check_timeout!r}",
            )

    @property
    def api_root(self) -> str:
        """``{scheme+host+port}`` whether or not the configured URL ends in ``/v1beta``."""
        base = (self.base_url or DEFAULT_BASE_URL).rstrip("/").removesuffix(f"/{API_VERSION}")
        return base or DEFAULT_BASE_URL
