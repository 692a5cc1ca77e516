"""Error translation in one place: error bodies parsed, and HTTP statuses, transport failures
and provider codes turned into the :class:`ProviderError` kinds a person can act on."""

from __future__ import annotations

import email.utils
import json as jsonlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from telestrations.providers.base import ErrorKind, ProviderError
from telestrations.text import clean_text, redact, redact_bytes, redact_json


@dataclass(frozen=True)
class HttpFailure:
    """A non-2xx answer, handed to a provider's error mapper. Everything in it is redacted."""

    status: int
    headers: httpx.Headers
    body: bytes
    """Capped at :data:`ERROR_BODY_CAP`."""
    json: Any | None
    """The parsed body, or ``None`` if it is not JSON."""
    text: str
    """The error message (or the start of the body): redacted, cleaned, truncated."""

    @property
    def code(self) -> str:
        """The error code or type when the body has one (``insufficient_quota``, ...)."""
        return error_code(self.json)


ErrorMapper = Callable[[HttpFailure], "ProviderError | None"]
"""Provider specifics; returning ``None`` falls back to the generic mapping."""

RetryHint = Callable[[HttpFailure], "float | None"]
"""Seconds a retryable failure's *body* asks the client to wait (Google's
``RetryInfo.retryDelay``), read like a ``Retry-After`` header and in its place: a wait above
``retry_after_cap`` (``math.inf`` for "not today", a per-day quota) means no retry; ``None``
leaves it to the headers and the backoff. A hint is trusted over the "exceeded your current
quota" wording, which Google uses for per-minute limits too."""


def error_message(data: Any) -> str:
    """The human message from any error shape in PROTOCOLS.md 7.19 ("" if none).

    OpenAI ``{error: {message}}``, Ollama ``{error: "..."}``, vLLM flat ``{message}``,
    A1111 ``{error, detail, errors}``, FastAPI ``{detail: [...]}``, RunPod ``{status, error}``
    where ``error`` may itself be JSON in a string.
    """
    if isinstance(data, str):
        stripped = data.strip()
        if stripped[:1] in ("{", "[") and len(stripped) < 100_000:
            try:
                inner = jsonlib.loads(stripped)
            except ValueError:
                return stripped
            return error_message(inner) or stripped
        return stripped
    if isinstance(data, list):
        parts = [error_message(item) for item in data[:5]]
        return "; ".join(p for p in parts if p)
    if not isinstance(data, dict):
        return ""
    err = data.get("error")
    if isinstance(err, dict):
        return error_message(err) or str(err.get("type") or "")
    for key in ("message", "error_message"):  # vLLM flat; RunPod worker errors
        msg = data.get(key)
        if isinstance(msg, str) and msg.strip():
            return msg.strip()
    detail = data.get("detail")
    if isinstance(detail, list):  # FastAPI validation: [{loc, msg, type}]
        parts = []
        for item in detail[:5]:
            if isinstance(item, dict):
                loc = ".".join(str(x) for x in item.get("loc", []) if x != "body")
                text = str(item.get("msg", ""))
                parts.append(f"{loc}: {text}" if loc else text)
            else:
                parts.append(str(item))
        return "; ".join(p for p in parts if p)
    if isinstance(detail, str) and detail.strip():
        if isinstance(err, str) and err.strip() and err.strip() not in detail:
            return f"{err.strip()}: {detail.strip()}"  # A1111: class name + detail
        return detail.strip()
    if isinstance(err, str) and err.strip():
        return error_message(err)
    errors = data.get("errors")
    if isinstance(errors, str | list) and errors:
        return error_message(errors)
    return ""


def error_code(data: Any) -> str:
    """``error.code`` (or ``error.type``, or a top-level ``code``) as a string; "" if none."""
    if not isinstance(data, dict):
        return ""
    err = data.get("error")
    src = err if isinstance(err, dict) else data
    for key in ("code", "type"):
        value = src.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def is_quota(failure: HttpFailure) -> bool:
    if failure.status != 429:
        return False
    err = failure.json.get("error") if isinstance(failure.json, dict) else None
    codes = {error_code(failure.json)}
    if isinstance(err, dict):
        codes |= {str(err.get("type") or ""), str(err.get("code") or "")}
    if "insufficient_quota" in codes:
        return True
    text = failure.text.lower()
    return "insufficient_quota" in text or "exceeded your current quota" in text


def generic_error(title: str, failure: HttpFailure) -> ProviderError:
    """The mapping used when a provider's mapper has nothing more specific to say."""
    status = failure.status
    detail = failure.text
    said = f"{title} answered HTTP {status}" + (f": {detail}" if detail else "")
    retry_after = _retry_after(failure.headers)
    kind: ErrorKind
    hint = ""
    if status == 401:
        kind, hint = "auth", f"check the {title} API key"
    elif status == 403:
        kind, hint = "auth", f"forbidden: the {title} key lacks access to this"
        said = f"{title} refused access (HTTP 403)" + (f": {detail}" if detail else "")
    elif status in (404, 410):
        kind, hint = "not_found", "check the model name and the base URL"
    elif status == 429 and is_quota(failure):
        kind, hint = "quota", f"check the {title} account's billing and limits"
    elif status == 429:
        kind, hint = "rate_limited", "wait a little and resume"
    elif status in (408, 524):
        kind, hint = "timeout", "the server gave up waiting; try again"
    elif status >= 500:
        kind, hint = "server", f"{title} had a problem; try again later"
    elif status in (400, 405, 409, 413, 415, 422):
        kind = "bad_request"
    else:
        kind = "bad_response"
    retryable = kind in ("rate_limited", "server", "timeout")
    return ProviderError(
        kind, said, hint=hint, status=status, retryable=retryable, retry_after=retry_after
    )


def _retry_after(headers: httpx.Headers) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms``, then ``Retry-After``)."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return float(ms) / 1000.0
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - datetime.now(UTC)).total_seconds()


def _strip_query(url: str) -> str:
    """URLs as logged: signed query strings (blob SAS tokens) and user:password@ left out."""
    return shown_url(url.split("?", 1)[0])


def shown_url(url: str) -> str:
    """``url`` without any ``user:password@``, for titles, hints and log lines."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def _html_title(text: str) -> str:
    match = re.search(r"<title[^>]*>(.*?)</title>", text[:20000], re.I | re.S)
    return f"an HTML page ({match.group(1).strip()})" if match else ""


def _is_local(hostname: str) -> bool:
    """Loopback, private or link-local addresses and single-label names (``gpu-box``): a
    server the user runs, rather than a cloud service."""
    import ipaddress

    name = hostname.strip("[]").lower()
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        return "." not in name or name.endswith((".local", ".lan", ".internal", ".localhost"))
    return ip.is_loopback or ip.is_private or ip.is_link_local


def parse_failure(
    status: int, headers: httpx.Headers, body: bytes, secrets: tuple[str, ...]
) -> HttpFailure:
    """A non-2xx answer as a redacted :class:`HttpFailure` (message found in any known shape)."""
    body = redact_bytes(body, secrets)
    parsed: Any = None
    try:
        parsed = jsonlib.loads(body) if body.strip() else None
    except (ValueError, UnicodeDecodeError):
        parsed = None
    parsed = redact_json(parsed, secrets)
    raw = body.decode("utf-8", "replace")
    message = error_message(parsed) if parsed is not None else ""
    if not message and raw.strip():
        message = _html_title(raw) or raw
    text = clean_text(redact(message, secrets), 300)
    return HttpFailure(status, headers, body, parsed, text)


def download_error(title: str, failure: HttpFailure) -> ProviderError:
    """A failed download of a result URL (another host: no provider mapper applies)."""
    status = failure.status
    if status == 429 or status >= 500:
        error = generic_error(title, failure)
        error.message = f"downloading the image failed: {error.message}"
        return error
    expired = status in (403, 404, 410)
    hint = "result URLs expire (DALL·E's after 60 minutes); draw again" if expired else ""
    return ProviderError(
        "bad_response",
        f"could not download the image (HTTP {status}"
        + (f": {failure.text})" if failure.text else ")"),
        hint=hint,
        status=status,
    )


def transport_error(
    exc: httpx.HTTPError,
    url: str,
    *,
    title: str,
    base_url: str,
    connect_timeout: float,
    redactor: Callable[[str], str],
) -> ProviderError:
    """What a connect error, timeout or broken connection means for the person watching."""
    host = redactor(urlsplit(url).netloc.rpartition("@")[2] or shown_url(url))
    base = redactor(_strip_query(base_url))
    where = "" if base in title else f" and reachable at {base}"
    hint = f"is {title} running{where}?"
    if not _is_local(urlsplit(url).hostname or ""):  # a cloud service: the network, likely
        hint = f"check the network connection (and proxy settings) to {host}"
    if isinstance(exc, httpx.ConnectTimeout):
        return ProviderError(
            "unreachable",
            f"cannot connect to {host} (timed out after {connect_timeout:g} s)",
            hint=hint,
        )
    if isinstance(exc, httpx.ConnectError):
        return ProviderError("unreachable", f"cannot connect to {host}", hint=hint)
    if isinstance(exc, httpx.TimeoutException):
        return ProviderError(
            "timeout",
            f"{title} did not answer in time ({host})",
            hint="raise timeout under this provider's config if the model is just slow",
            retryable=True,
        )
    if isinstance(exc, httpx.RemoteProtocolError | httpx.NetworkError):
        # The server was there and hung up mid-answer: not "unreachable" (which says
        # "start the service"), a server-side failure.
        return ProviderError(
            "server",
            f"the connection to {host} broke before the answer was complete "
            f"({clean_text(redactor(str(exc)), 160)})",
            hint="check the network; the server may have restarted or crashed",
            retryable=True,
        )
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return ProviderError(
            "unreachable",
            f"invalid URL for {title}: {clean_text(redactor(url), 160)}",
            hint="check base_url in the config",
        )
    if isinstance(exc, httpx.TooManyRedirects):
        return ProviderError("bad_response", f"{title} redirected too many times")
    if isinstance(exc, httpx.DecodingError):
        return ProviderError("bad_response", f"{title} sent a body that does not decode")
    return ProviderError(
        "unreachable", f"{type(exc).__name__}: {clean_text(redactor(str(exc)), 160)}"
    )


# -- provider tables ------------------------------------------------------------------------------

CODE_STATUS: dict[str, int] = {
    "invalid_api_key": 401,
    "authentication_error": 401,
    "permission_error": 403,
    "insufficient_quota": 429,
    "rate_limit_exceeded": 429,
    "rate_limit_error": 429,
    "model_not_found": 404,
    "not_found_error": 404,
    "content_filter": 400,
    "content_policy_violation": 400,
    "invalid_request_error": 400,
    "server_error": 500,
    "service_unavailable": 503,
}
"""The HTTP status an error sent *inside* a stream (after ``200 OK``) would have had, by its
``code`` or ``type``, so it is translated exactly like the same error sent before streaming."""

REJECTED_FIELD_WORDS = ("unknown", "unsupported", "unrecognized", "not supported", "not allowed")
"""How compatible servers word "I do not know this request field"."""


def rejects_field(error: ProviderError, field: str | re.Pattern[str]) -> bool:
    """Whether ``error`` is a 400 saying the server does not take request field ``field``."""
    if error.status != 400:
        return False
    named = field.search(error.message) if isinstance(field, re.Pattern) else field in error.message
    low = error.message.lower()
    return bool(named) and any(word in low for word in REJECTED_FIELD_WORDS)


@dataclass(frozen=True)
class ErrorRule:
    """One row of a provider's error table: which failures it covers, and what they mean.

    A rule matches when the status is one of ``status`` (any, when empty) and, if any of
    ``codes``, ``words`` or ``param`` is given, at least one of them matches: the error's
    ``code`` or ``type`` (for Google's APIs also its canonical ``status`` such as
    ``RESOURCE_EXHAUSTED`` and the ``reason`` of its ``details``, such as
    ``API_KEY_INVALID``), a lower-case phrase in its message, or its ``param``.
    """

    kind: ErrorKind
    status: frozenset[int] = frozenset()
    codes: frozenset[str] = frozenset()
    words: tuple[str, ...] = ()
    param: str = ""
    hint: str = ""
    message: str = "{said}"
    """Formatted with ``said`` (the service's message, or "HTTP <status>") and ``status``."""

    def matches(self, failure: HttpFailure) -> bool:
        if self.status and failure.status not in self.status:
            return False
        if not (self.codes or self.words or self.param):
            return True
        err = failure.json.get("error") if isinstance(failure.json, dict) else None
        codes = {failure.code}
        param = ""
        if isinstance(err, dict):
            codes |= {str(err.get("type") or ""), str(err.get("code") or "")}
            codes |= {str(err.get("status") or "")} | _reasons(err.get("details"))
            param = str(err.get("param") or "")
        low = failure.text.lower()
        return (
            bool(self.codes & codes)
            or any(word in low for word in self.words)
            or bool(self.param and (param == self.param or f"'{self.param}'" in failure.text))
        )


def _reasons(details: Any) -> set[str]:
    """The ``reason`` of each ``google.rpc.ErrorInfo``-style entry in ``error.details``."""
    if not isinstance(details, list):
        return set()
    return {str(d["reason"]) for d in details if isinstance(d, dict) and d.get("reason")}


def translate(failure: HttpFailure, rules: tuple[ErrorRule, ...]) -> ProviderError | None:
    """The first matching rule's error; ``None`` leaves it to :func:`generic_error`."""
    said = failure.text or f"HTTP {failure.status}"
    for rule in rules:
        if rule.matches(failure):
            message = rule.message.format(said=said, status=failure.status)
            return ProviderError(rule.kind, message, hint=rule.hint, status=failure.status)
    return None


# -- errors known only by their text ----------------------------------------------------------


@dataclass(frozen=True)
class TextRule:
    """One row of a table for errors that come as bare text, with no status or code to go by
    (an Ollama ``{"error": "..."}`` line, a RunPod worker's exception, a ComfyUI node failure).

    It matches when a lower-case phrase of ``words`` is in the text, or ``pattern`` (a regular
    expression, case-sensitive) is found; its first group, if any, fills ``{name}``.
    """

    kind: ErrorKind
    words: tuple[str, ...] = ()
    pattern: str = ""
    hint: str = ""
    message: str = "{said}"
    """Formatted with ``said`` (the text), ``name`` and the caller's extra fields."""

    def match(self, text: str) -> dict[str, str] | None:
        low = text.lower()
        if any(word in low for word in self.words):
            return {"name": ""}
        found = re.search(self.pattern, text) if self.pattern else None
        if found is None:
            return None
        return {"name": found.group(1) if found.re.groups else found.group(0)}


def translate_text(
    text: str, rules: tuple[TextRule, ...], *, status: int | None = None, **fields: str
) -> ProviderError | None:
    """The first matching rule's error for ``text`` (already cleaned and redacted); ``None``
    leaves it to the caller's own fallback."""
    for rule in rules:
        found = rule.match(text)
        if found is not None:
            values = {"said": text, **fields, **found}
            return ProviderError(
                rule.kind,
                rule.message.format(**values),
                hint=rule.hint.format(**values),
                status=status,
            )
    return None


OLLAMA_TEXT_RULES = (
    TextRule(
        "not_found",
        pattern=r"""model ['"]([^'"]+)['"] not found""",
        message="model {name} is not pulled",
        hint="run `ollama pull {name}`",
    ),
    TextRule(
        "bad_request",
        words=("does not support",),
        hint="pick a model that can see images, e.g. llava",
    ),
)
"""Ollama's ``{"error": "..."}`` messages (anything else: a server error)."""

RUNPOD_JOB_RULES = (
    TextRule(
        "refused",
        words=("nsfw", "safety", "content policy", "inappropriate"),
        message="the worker refused: {said}",
    ),
    TextRule(
        "bad_request",
        words=("invalid parameter", "unexpected input", "required input", "constraints", "must be"),
        message="the worker rejected the input: {said}",
        hint="check this model's width, height, schema and input options",
    ),
)
"""A FAILED RunPod job's worker error (anything else: a server error)."""

COMFYUI_EXECUTION_RULES = (
    TextRule(
        "server",
        words=("outofmemory", "out of memory"),
        message="ComfyUI ran out of GPU memory in {where}",
        hint="lower width/height, or start ComfyUI with --lowvram",
    ),
)
"""A ComfyUI ``execution_error``, matched on its exception type (spaces removed) and message
(anything else: a server error naming the node)."""
