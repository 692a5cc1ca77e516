"""The HTTP layer every network provider shares, one job per module.

- :mod:`.settings`: timeouts, retry policy and caps (:class:`HttpSettings`);
- :mod:`.client`: the pooled client with retries, byte caps and per-turn deadlines;
- :mod:`.errors`: error bodies parsed and failures translated into ProviderError kinds;
- :mod:`.auth`: auth headers (Bearer, Basic, a custom header);
- :mod:`.images`: base64 decoding and image checks;
- :mod:`.bodies`: JSON bodies carrying a base64 image, without scanning it;
- :mod:`.streaming`: server-sent events and the watcher that shows a caption as it streams.
"""

from telestrations.providers.http.auth import auth_headers, basic_token, split_user
from telestrations.providers.http.bodies import json_body, loads_lifted
from telestrations.providers.http.client import (
    ERROR_BODY_CAP,
    NEVER_RETRY,
    RETRY_STATUSES,
    USER_AGENT,
    Form,
    HttpClient,
    HttpResult,
    TurnKind,
)
from telestrations.providers.http.errors import (
    CODE_STATUS,
    ErrorMapper,
    ErrorRule,
    HttpFailure,
    RetryHint,
    error_code,
    error_message,
    generic_error,
    rejects_field,
    shown_url,
    translate,
)
from telestrations.providers.http.images import (
    decode_base64_image,
    decode_base64_text,
    picture_from_base64,
    picture_from_bytes,
)
from telestrations.providers.http.settings import HttpSettings, http_settings
from telestrations.providers.http.streaming import SseDecoder, StreamWatcher

__all__ = [
    "CODE_STATUS",
    "ERROR_BODY_CAP",
    "NEVER_RETRY",
    "RETRY_STATUSES",
    "USER_AGENT",
    "ErrorMapper",
    "ErrorRule",
    "Form",
    "HttpClient",
    "HttpFailure",
    "HttpResult",
    "HttpSettings",
    "RetryHint",
    "SseDecoder",
    "StreamWatcher",
    "TurnKind",
    "auth_headers",
    "basic_token",
    "decode_base64_image",
    "decode_base64_text",
    "error_code",
    "error_message",
    "generic_error",
    "http_settings",
    "json_body",
    "loads_lifted",
    "picture_from_base64",
    "picture_from_bytes",
    "rejects_field",
    "shown_url",
    "split_user",
    "translate",
]
