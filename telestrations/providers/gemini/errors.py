"""Gemini's errors (11.7): ``{error: {code, message, status, details}}`` as ProviderError
kinds, and the retry advice in ``details`` (RetryInfo, a per-day QuotaFailure) given to the
HTTP client through its ``retry_hint``."""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any

import httpx

from telestrations.providers.base import ProviderError
from telestrations.providers.gemini.settings import KEY_HINT
from telestrations.providers.http import ErrorRule, HttpFailure, translate
from telestrations.text import clean_text

DAY_HINT = "a per-day quota is used up: resume tomorrow, or raise the tier"

RULES: tuple[ErrorRule, ...] = (
    # A wrong key is 400 INVALID_ARGUMENT with ErrorInfo.reason API_KEY_INVALID.
    ErrorRule("auth", codes=frozenset({"API_KEY_INVALID"}), hint=KEY_HINT),
    ErrorRule("auth", status=frozenset({401}), hint=KEY_HINT),
    ErrorRule(
        "auth",
        status=frozenset({403}),
        hint="the key's project lacks access (enable the Generative Language API)",
    ),
    ErrorRule(
        "not_found",
        status=frozenset({404}),
        hint="the model may be shut down or misspelled; see `telestrations models`",
    ),
    ErrorRule("rate_limited", status=frozenset({429}), hint="wait a little and resume"),
)
"""What Gemini's errors mean, in order (a per-day quota is told apart first)."""


def _details(data: Any) -> list[dict[str, Any]]:
    err = data.get("error") if isinstance(data, dict) else None
    details = err.get("details") if isinstance(err, dict) else None
    return [d for d in details or () if isinstance(d, dict)] if isinstance(details, list) else []


def _typed(data: Any, name: str) -> list[dict[str, Any]]:
    return [d for d in _details(data) if str(d.get("@type", "")).endswith(f"google.rpc.{name}")]


def retry_delay(data: Any) -> float | None:
    """``RetryInfo.retryDelay`` ("36s", "0.5s") in seconds, or None."""
    for d in _typed(data, "RetryInfo"):
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)s\s*", str(d.get("retryDelay", "")))
        if match:
            return float(match.group(1))
    return None


def per_day_quota(data: Any) -> bool:
    """A ``QuotaFailure`` naming a per-day quota: no retry helps before tomorrow."""
    for d in _typed(data, "QuotaFailure"):
        violations = d.get("violations")
        for v in violations if isinstance(violations, list) else ():
            if isinstance(v, dict) and "PerDay" in str(v.get("quotaId", "")):
                return True
    return False


def retry_hint(failure: HttpFailure) -> float | None:
    """The wait a 429 asks for in its body: ``RetryInfo``, or never for a per-day quota
    (Google words both "exceeded your current quota", so the wording cannot tell them apart)."""
    if failure.status != 429:
        return None
    return math.inf if per_day_quota(failure.json) else retry_delay(failure.json)


def map_failure(failure: HttpFailure) -> ProviderError | None:
    """The error kind and hint; the message keeps Google's canonical status (NOT_FOUND)."""
    err = failure.json.get("error") if isinstance(failure.json, dict) else None
    canonical = clean_text(str(err.get("status") or ""), 40) if isinstance(err, dict) else ""
    shown = f"Gemini answered HTTP {failure.status}" + (f" {canonical}" if canonical else "")
    shown += f": {failure.text}" if failure.text else ""
    if failure.status == 429 and per_day_quota(failure.json):
        return ProviderError("quota", shown, hint=DAY_HINT, status=429)
    error = translate(dataclasses.replace(failure, text=shown), RULES)
    if error is not None and error.kind == "rate_limited":
        error.retryable, error.retry_after = True, retry_delay(failure.json)
    return error


def stream_error(data: Any, status: int) -> ProviderError:
    """An error object sent with 200 OK (inside a stream, or by a gateway), mapped as if it had
    come as the HTTP error its ``code`` names."""
    err = data.get("error") if isinstance(data, dict) else None
    code = err.get("code") if isinstance(err, dict) else None
    status = code if isinstance(code, int) and 400 <= code < 600 else status
    message = clean_text(str(err.get("message", "")) if isinstance(err, dict) else "", 300)
    mapped = map_failure(HttpFailure(status, httpx.Headers(), b"", data, message))
    if mapped is not None:
        return mapped
    return ProviderError("server", f"Gemini failed mid-answer: {message}", status=status)
