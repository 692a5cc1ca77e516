"""The one HTTP layer every network provider shares: timeouts, retries, size caps, redaction.

It copies the official OpenAI SDK's retry rules (PROTOCOLS.md 1.5 and 7.20): connection
errors, timeouts, 408/409/429/5xx/524 are retried with bounded exponential backoff and
jitter, honouring ``retry-after-ms``, ``Retry-After`` and ``x-should-retry``; a 429 that
says ``insufficient_quota`` and any 400/401/403/404 are not. Bodies are streamed against a
byte cap, images are checked against a pixel cap before their pixels are decoded, and
every text that leaves this module (errors, log lines) has the secrets taken out.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import email.utils
import io
import json as jsonlib
import logging
import random
import re
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
from PIL import Image

from telestrations import __version__
from telestrations.providers.base import ErrorKind, Picture, ProviderError, sniff_format
from telestrations.providers.pixels import check_rows, check_webp
from telestrations.text import (
    MIN_SECRET,
    SECRETS,
    clean_text,
    redact,
    redact_bytes,
    redact_json,
    url_secrets,
)

__all__ = ["MIN_SECRET", "clean_text", "redact"]

log = logging.getLogger(__name__)

ERROR_BODY_CAP = 256 * 1024
"""Error bodies are only read this far: enough for any message, never a whole page."""
RETRY_STATUSES = frozenset({408, 409, 429, 524})
"""Besides every 5xx (PROTOCOLS.md 7.20)."""
NEVER_RETRY = frozenset({400, 401, 403, 404})
"""Not even when the server says ``x-should-retry: true``: they cannot get better."""
USER_AGENT = f"telestrations/{__version__}"


# -- settings -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpSettings:
    """Timeouts, retry policy and caps for one provider's client."""

    base_url: str
    connect_timeout: float = 5.0
    read_timeout: float = 300.0
    max_retries: int = 2
    backoff_base: float = 0.5
    """Exponential: ``base * 2**attempt``, capped, with up to 25 % jitter."""
    backoff_cap: float = 8.0
    retry_after_cap: float = 60.0
    """A server asking us to wait longer than this means: don't retry."""
    max_bytes: int = 50 * 1024 * 1024
    max_pixels: int = 40_000_000
    draw_deadline: float = 600.0
    """Seconds one drawing may take in all: every attempt, backoff, poll and download."""
    describe_deadline: float = 180.0
    """The same for one description (streamed or not)."""

    @classmethod
    def from_settings(
        cls, settings: Mapping[str, Any], *, base_url: str, **defaults: Any
    ) -> HttpSettings:
        """Settings from a ``[providers.X]`` table over the provider's ``defaults``.

        ``base_url`` is the URL the provider resolved (env, config or its default); the
        table's own ``base_url`` is only used when that is empty. ``timeout`` is an alias of
        ``read_timeout``. Bad values raise :class:`ValueError` naming the key.
        """
        known = {f.name for f in fields(cls)}
        unknown = set(defaults) - known
        if unknown:
            raise TypeError(f"unknown HttpSettings field(s): {sorted(unknown)}")
        values: dict[str, Any] = dict(defaults)
        if "timeout" in settings:
            values["read_timeout"] = _positive(settings, "timeout", float)
        for key, kind in (
            ("connect_timeout", float),
            ("read_timeout", float),
            ("max_retries", int),
            ("max_bytes", int),
            ("max_pixels", int),
            ("draw_deadline", float),
            ("describe_deadline", float),
        ):
            if key in settings:
                values[key] = _positive(settings, key, kind, allow_zero=key == "max_retries")
        url = base_url or str(settings.get("base_url") or "")
        if not url:
            raise ValueError("no base_url for this provider")
        return cls(base_url=url, **values)


def _positive(settings: Mapping[str, Any], key: str, kind: type, allow_zero: bool = False) -> Any:
    value = settings[key]
    ok_type = isinstance(value, int | float) and not isinstance(value, bool)
    if kind is int and ok_type and float(value) != int(value):
        ok_type = False
    if not ok_type or value < 0 or (value == 0 and not allow_zero):
        what = "a whole number" if kind is int else "a number"
        raise ValueError(f"setting {key!r} must be {what} above 0, not {value!r}")
    return kind(value)


# -- text hygiene: see telestrations.text ------------------------------------------------------

_redact_bytes = redact_bytes
_redact_json = redact_json


# -- results and failures -------------------------------------------------------------------------


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


@dataclass(frozen=True)
class HttpResult:
    """A successful (or accepted) answer with its whole body."""

    status: int
    headers: httpx.Headers
    body: bytes
    secrets: tuple[str, ...] = field(default=(), repr=False, compare=False)

    def json(self, lift: str | None = None) -> Any:
        """The body as JSON; :class:`ProviderError` ``bad_response`` when it is not.

        ``lift`` names a key whose (first) value may be megabytes of base64: it is cut out
        and put back rather than scanned by the parser (~6 ms per 1.5 MB image)."""
        try:
            if lift is not None:
                return _loads_lifted(self.body, lift)
            return jsonlib.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            pass
        ctype = self.headers.get("content-type", "").split(";")[0].strip() or "no content type"
        if not self.body.strip():
            what = "an empty body"
        elif b"<html" in self.body[:1024].lower() or b"<!doctype" in self.body[:1024].lower():
            what = "an HTML page"
        else:
            what = f"{ctype}"
        snippet = clean_text(redact(self.body[:2000].decode("utf-8", "replace"), self.secrets), 120)
        message = f"expected JSON but got {what} (HTTP {self.status})"
        if snippet and what != "an empty body":
            message += f": {snippet}"
        raise ProviderError(
            "bad_response",
            message,
            hint="is the base URL right? a proxy or login page may be answering instead",
            status=self.status,
        )


_COLON_QUOTE = re.compile(rb'\s*:\s*"')


def _loads_lifted(body: bytes, key: str) -> Any:
    """``json.loads(body)``, with the first big, escape-free string under ``key`` cut out
    before parsing and put back after (the same result, without scanning it)."""
    name = b'"' + key.encode() + b'"'
    at = body.find(name)
    colon = _COLON_QUOTE.match(body, at + len(name)) if at >= 0 else None
    if colon is None:
        return jsonlib.loads(body)
    start = colon.end()
    end = body.find(b'"', start)
    if end - start < _SPLICE_MIN or body.find(b"\\", start, end) >= 0:
        return jsonlib.loads(body)
    try:
        value = body[start:end].decode("ascii")
    except UnicodeDecodeError:
        return jsonlib.loads(body)
    data = jsonlib.loads(body[:start] + body[end:])

    def put(node: Any) -> bool:  # the first empty ``key`` in document order is the cut one
        if isinstance(node, dict):
            for k, v in node.items():
                if k == key and v == "":
                    node[k] = value
                    return True
                if put(v):
                    return True
        elif isinstance(node, list):
            return any(put(v) for v in node)
        return False

    return data if put(data) else jsonlib.loads(body)


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


def _is_quota(failure: HttpFailure) -> bool:
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
    elif status == 429 and _is_quota(failure):
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


# -- the client -----------------------------------------------------------------------------------

_SENSITIVE = ("authorization", "x-api-key", "api-key", "proxy-authorization")
_RETRY_EXC = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


class _TooLarge(Exception):
    pass


TurnKind = Literal["draw", "describe"]


@dataclass
class _Deadline:
    """The wall-clock budget of the turn in progress, seen by every request made inside it.

    httpx's read timeout is per read: a body that trickles a byte at a time never trips it,
    and retries multiply it. This bounds the whole turn instead.
    """

    when: float
    """``loop.time()`` at which the turn fails."""
    seconds: float
    kind: TurnKind
    title: str
    setting: str
    last: str = ""
    """The last failure that was retried, said when the deadline passes."""

    def left(self) -> float:
        return self.when - asyncio.get_running_loop().time()

    def error(self, redactor: Callable[[str], str]) -> ProviderError:
        what = "the drawing" if self.kind == "draw" else "the description"
        message = f"{self.title} did not finish {what} within {self.seconds:g} s"
        if self.last:
            message += f" (last: {self.last})"
        return ProviderError(
            "timeout",
            clean_text(redactor(message), 500),
            hint=f"raise {self.setting} if the model is just slow; resuming tries again",
        )


_TURN: ContextVar[_Deadline | None] = ContextVar("telestrations_turn_deadline", default=None)


class HttpClient:
    """One provider's connection pool plus its retry, cap and redaction policy.

    Headers and auth go only to the base URL's origin: :meth:`download` of a result URL on
    another host (a blob store) never carries the key.
    """

    def __init__(
        self,
        title: str,
        settings: HttpSettings,
        *,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
        secrets: Iterable[str] = (),
        error_mapper: ErrorMapper | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.title = title
        self.settings = settings
        self._headers = dict(headers or {})
        self._auth = auth
        self._mapper = error_mapper
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        found = [s for s in secrets if s]
        for name, value in self._headers.items():
            if name.lower() in _SENSITIVE and value:
                found.append(value)
                scheme, _, rest = value.partition(" ")
                if rest and scheme.lower() in ("bearer", "basic", "token"):
                    found.append(rest.strip())
        if isinstance(auth, tuple) and len(auth) == 2:
            user, password = auth
            if password:
                found.append(password)
            found.append(base64.b64encode(f"{user}:{password}".encode()).decode())
        # A password in the base URL (http://user:pass@host, basic auth behind a proxy) is a
        # secret too, in every form it can appear in a message.
        # That includes the Basic token httpx sends for it, which a server may echo.
        found += url_secrets(settings.base_url)
        self.secrets: tuple[str, ...] = tuple(dict.fromkeys(found))
        SECRETS.add(*self.secrets)  # one redactor for every output of the process (text.py)
        self._origin = _origin(settings.base_url)

    # -- plumbing ----------------------------------------------------------------------------
    @property
    def client(self) -> httpx.AsyncClient:
        """The pooled ``httpx.AsyncClient``, made on first use."""
        if self._client is None or self._client.is_closed:
            self._client = httpx.AsyncClient(
                headers={"User-Agent": USER_AGENT},
                transport=self._transport,
                follow_redirects=False,
            )
        return self._client

    def url_for(self, url: str) -> str:
        """``url`` when absolute, else joined onto the base URL with exactly one slash."""
        if url.startswith(("http://", "https://")):
            return url
        base = self.settings.base_url.rstrip("/")
        path = url.lstrip("/")
        return f"{base}/{path}" if path else base

    def _redact(self, text: str) -> str:
        return redact(text, self.secrets)

    def _timeout(self, read_timeout: float | None) -> httpx.Timeout:
        s = self.settings
        read = read_timeout if read_timeout is not None else s.read_timeout
        return httpx.Timeout(connect=s.connect_timeout, read=read, write=read, pool=read)

    def backoff(self, attempt: int) -> float:
        """Exponential backoff for retry number ``attempt`` (0-based), with ≤25 % jitter."""
        s = self.settings
        delay = min(s.backoff_base * 2.0**attempt, s.backoff_cap)
        return delay * (1.0 - 0.25 * random.random())

    # -- public API ----------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def deadline(self, kind: TurnKind, section: str) -> AsyncIterator[None]:
        """Bound everything inside (retries, backoff, polls, trickling bodies) by the
        ``draw_deadline`` or ``describe_deadline`` setting; past it, ProviderError "timeout".

        Expiry cancels the work inside, so cancellation reaches the request (and a provider's
        clean-up on cancel, such as RunPod's job cancel, still runs). ``section`` names the
        ``[providers.NAME]`` table for the hint.
        """
        seconds = self.settings.draw_deadline if kind == "draw" else self.settings.describe_deadline
        when = asyncio.get_running_loop().time() + seconds
        setting = f"{kind}_deadline under [providers.{section}]"
        scope = _Deadline(when, seconds, kind, self.title, setting)
        token = _TURN.set(scope)
        try:
            async with asyncio.timeout_at(when) as limit:
                yield
        except TimeoutError:
            if not limit.expired():
                raise
            log.warning("%s: %s deadline of %gs passed", self.title, kind, seconds)
            raise scope.error(self._redact) from None
        finally:
            _TURN.reset(token)

    async def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        retry: bool = True,
        read_timeout: float | None = None,
        accept: Callable[[int], bool] | None = None,
        on_chunk: Callable[[bytes], None] | None = None,
    ) -> HttpResult:
        """One API call with retries; a 2xx (or ``accept``-ed) answer, else ProviderError.

        ``on_chunk`` sees a successful body as it arrives (for streamed replies); it is called
        with ``b""`` when a retried attempt starts over, so it can drop what it had.
        """
        return await self._send(
            method.upper(),
            self.url_for(url),
            json=json,
            params=params,
            retry=retry,
            read_timeout=read_timeout,
            accept=accept,
            download=False,
            on_chunk=on_chunk,
        )

    async def json(self, method: str, url: str, **kw: Any) -> Any:
        """:meth:`request`, parsed as JSON."""
        return (await self.request(method, url, **kw)).json()

    async def download(self, url: str) -> bytes:
        """GET an absolute result URL (size-capped, retried, redirects followed)."""
        if not url.startswith(("http://", "https://")):
            raise ProviderError(
                "bad_response", f"{self.title} gave an image URL that is not http(s)"
            )
        result = await self._send(
            "GET",
            url,
            json=None,
            params=None,
            retry=True,
            read_timeout=None,
            accept=None,
            download=True,
        )
        return result.body

    async def aclose(self) -> None:
        """Close the pool (a later call opens a new one)."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    # -- the retry loop --------------------------------------------------------------------------
    async def _send(
        self,
        method: str,
        url: str,
        *,
        json: Any,
        params: Mapping[str, Any] | None,
        retry: bool,
        read_timeout: float | None,
        accept: Callable[[int], bool] | None,
        download: bool,
        on_chunk: Callable[[bytes], None] | None = None,
    ) -> HttpResult:
        same_origin = _origin(url) == self._origin
        attempts = self.settings.max_retries + 1 if retry else 1
        shown = self._redact(_strip_query(url))
        for attempt in range(attempts):
            last = attempt == attempts - 1
            started = time.monotonic()
            try:
                status, headers, body = await self._once(
                    method,
                    url,
                    json=json,
                    params=params,
                    limits=self._timeout(read_timeout),
                    with_auth=same_origin,
                    follow=download,
                    accept=accept,
                    on_chunk=on_chunk,
                )
            except _TooLarge:
                mb = self.settings.max_bytes / (1024 * 1024)
                raise ProviderError(
                    "bad_response",
                    f"{self.title} sent a response larger than {mb:g} MB",
                    hint="raise max_bytes for this provider if that is expected",
                ) from None
            except httpx.HTTPError as exc:
                error = self._transport_error(exc, url)
                log.debug(
                    "%s %s failed after %.2fs: %s",
                    method,
                    shown,
                    time.monotonic() - started,
                    self._redact(f"{type(exc).__name__}: {exc}"),
                )
                if last or not isinstance(exc, _RETRY_EXC):
                    raise error from None
                delay = self.backoff(attempt)
                too_late = self._before_retry(error.message, delay)
                if too_late is not None:
                    raise too_late from None
                log.warning(
                    "%s: %s; retry %d/%d in %.1fs",
                    self.title,
                    error.message,
                    attempt + 1,
                    attempts - 1,
                    delay,
                )
                await asyncio.sleep(delay)
                continue
            request_id = headers.get("x-request-id") or headers.get("request-id") or "-"
            log.debug(
                "%s %s -> %d in %.2fs (%d bytes, request id %s)",
                method,
                shown,
                status,
                time.monotonic() - started,
                len(body),
                self._redact(request_id),
            )
            if 200 <= status < 300 or (accept is not None and accept(status)):
                return HttpResult(status, headers, body, self.secrets)
            failure = self._failure(status, headers, body)
            delay = None if last else self._retry_delay(failure, attempt)
            if delay is None:
                raise self._map(failure, download=download and not same_origin)
            said = f"HTTP {status}" + (f": {clean_text(failure.text, 120)}" if failure.text else "")
            too_late = self._before_retry(said, delay)
            if too_late is not None:
                raise too_late
            log.warning(
                "%s answered HTTP %d (request id %s); retry %d/%d in %.1fs",
                self.title,
                status,
                self._redact(request_id),
                attempt + 1,
                attempts - 1,
                delay,
            )
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns/raises

    def _before_retry(self, failure: str, delay: float) -> ProviderError | None:
        """Note ``failure`` for the turn's deadline; a wait that would outlast it ends the
        turn now (the returned error), as the timeout it would become, rather than sleeping
        into it."""
        scope = _TURN.get()
        if scope is None:
            return None
        scope.last = self._redact(failure)
        return scope.error(self._redact) if delay >= scope.left() else None

    async def _once(
        self,
        method: str,
        url: str,
        *,
        json: Any,
        params: Mapping[str, Any] | None,
        limits: httpx.Timeout,
        with_auth: bool,
        follow: bool,
        accept: Callable[[int], bool] | None,
        on_chunk: Callable[[bytes], None] | None = None,
    ) -> tuple[int, httpx.Headers, bytes]:
        """Send once and read the body under the cap; the response is always closed."""
        client = self.client
        headers = dict(self._headers) if with_auth else {}
        content = None
        if json is not None:
            content = json_body(json)
            headers["Content-Type"] = "application/json"
        request = client.build_request(
            method,
            url,
            content=content,
            params=dict(params) if params is not None else None,
            headers=headers or None,
            timeout=limits,
        )
        auth: Any = self._auth if with_auth else None
        response = await client.send(request, stream=True, auth=auth, follow_redirects=follow)
        try:
            ok = 200 <= response.status_code < 300 or (
                accept is not None and accept(response.status_code)
            )
            cap = self.settings.max_bytes if ok else min(self.settings.max_bytes, ERROR_BODY_CAP)
            length = response.headers.get("content-length", "")
            if ok and length.isdigit() and int(length) > cap:
                raise _TooLarge
            chunks: list[bytes] = []
            size = 0
            watch = on_chunk if ok and 200 <= response.status_code < 300 else None
            if watch is not None:
                watch(b"")
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > cap:
                    if ok:
                        raise _TooLarge
                    chunks.append(chunk[: len(chunk) - (size - cap)])
                    break
                chunks.append(chunk)
                if watch is not None:
                    watch(chunk)
            return response.status_code, response.headers, b"".join(chunks)
        finally:
            await response.aclose()

    # -- decisions -------------------------------------------------------------------------------
    def _failure(self, status: int, headers: httpx.Headers, body: bytes) -> HttpFailure:
        body = _redact_bytes(body, self.secrets)
        parsed: Any = None
        try:
            parsed = jsonlib.loads(body) if body.strip() else None
        except (ValueError, UnicodeDecodeError):
            parsed = None
        parsed = _redact_json(parsed, self.secrets)
        raw = body.decode("utf-8", "replace")
        message = error_message(parsed) if parsed is not None else ""
        if not message and raw.strip():
            message = _html_title(raw) or raw
        text = clean_text(redact(message, self.secrets), 300)
        return HttpFailure(status, headers, body, parsed, text)

    def _retry_delay(self, failure: HttpFailure, attempt: int) -> float | None:
        """Seconds to wait before retrying ``failure``, or ``None`` for "do not retry"."""
        if _is_quota(failure) or failure.status in NEVER_RETRY:
            return None
        should = failure.headers.get("x-should-retry", "").strip().lower()
        if should == "false":
            return None
        if should != "true" and not (failure.status in RETRY_STATUSES or failure.status >= 500):
            return None
        wait = _retry_after(failure.headers)
        if wait is not None and wait > self.settings.retry_after_cap:
            return None
        if wait is not None and wait > 0:
            return wait
        return self.backoff(attempt)

    def _map(self, failure: HttpFailure, *, download: bool) -> ProviderError:
        if download:
            return self._download_error(failure)
        error = None
        if self._mapper is not None:
            error = self._mapper(failure)
        if error is None:
            error = generic_error(self.title, failure)
        error.message = clean_text(self._redact(error.message), 500)
        error.hint = clean_text(self._redact(error.hint), 500)
        error.args = (error.message,)
        if error.status is None:
            error.status = failure.status
        return error

    def _download_error(self, failure: HttpFailure) -> ProviderError:
        status = failure.status
        if status == 429 or status >= 500:
            error = generic_error(self.title, failure)
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

    def _transport_error(self, exc: httpx.HTTPError, url: str) -> ProviderError:
        host = self._redact(urlsplit(url).netloc.rpartition("@")[2] or shown_url(url))
        base = self._redact(_strip_query(self.settings.base_url))
        where = "" if base in self.title else f" and reachable at {base}"
        hint = f"is {self.title} running{where}?"
        if not _is_local(urlsplit(url).hostname or ""):  # a cloud service: the network, likely
            hint = f"check the network connection (and proxy settings) to {host}"
        if isinstance(exc, httpx.ConnectTimeout):
            return ProviderError(
                "unreachable",
                f"cannot connect to {host} (timed out after {self.settings.connect_timeout:g} s)",
                hint=hint,
            )
        if isinstance(exc, httpx.ConnectError):
            return ProviderError("unreachable", f"cannot connect to {host}", hint=hint)
        if isinstance(exc, httpx.TimeoutException):
            return ProviderError(
                "timeout",
                f"{self.title} did not answer in time ({host})",
                hint="raise timeout under this provider's config if the model is just slow",
                retryable=True,
            )
        if isinstance(exc, httpx.RemoteProtocolError | httpx.NetworkError):
            # The server was there and hung up mid-answer: not "unreachable" (which says
            # "start the service"), a server-side failure.
            return ProviderError(
                "server",
                f"the connection to {host} broke before the answer was complete "
                f"({clean_text(self._redact(str(exc)), 160)})",
                hint="check the network; the server may have restarted or crashed",
                retryable=True,
            )
        if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
            return ProviderError(
                "unreachable",
                f"invalid URL for {self.title}: {clean_text(self._redact(url), 160)}",
                hint="check base_url in the config",
            )
        if isinstance(exc, httpx.TooManyRedirects):
            return ProviderError("bad_response", f"{self.title} redirected too many times")
        if isinstance(exc, httpx.DecodingError):
            return ProviderError("bad_response", f"{self.title} sent a body that does not decode")
        return ProviderError(
            "unreachable", f"{type(exc).__name__}: {clean_text(self._redact(str(exc)), 160)}"
        )


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme, 0)
    return scheme, f"{(parts.hostname or '').lower()}:{port}"


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


# -- request bodies -------------------------------------------------------------------------------

_SPLICE_MIN = 64 * 1024
_NEEDS_ESCAPE = bytes(range(32)) + b'"\\'


def json_body(value: Any) -> bytes:
    """``value`` as compact JSON (as httpx would send it), without escaping-scanning the big
    strings in it: a 2 MB base64 image is checked to need no escapes (one C pass) and
    spliced in as it is, instead of ~6 ms of ``json.dumps`` on the event loop per describe."""
    big: list[bytes] = []
    marker = f"\u2063splice-{random.getrandbits(64):016x}-"

    def swap(v: Any) -> Any:
        if isinstance(v, str) and len(v) >= _SPLICE_MIN and v.isascii():
            raw = v.encode("ascii")
            if len(raw.translate(None, _NEEDS_ESCAPE)) == len(raw):
                big.append(raw)
                return f"{marker}{len(big) - 1}"
            return v
        if isinstance(v, Mapping):
            return {k: swap(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [swap(x) for x in v]
        return v

    swapped = swap(value)
    text = jsonlib.dumps(swapped, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    out = text.encode("utf-8")
    for i, raw in enumerate(big):
        out = out.replace(f'"{marker}{i}"'.encode(), b'"' + raw + b'"', 1)
    return out


# -- images ---------------------------------------------------------------------------------------

_DATA_URI = re.compile(r"^data:[^,]*?;base64,", re.I)


def decode_base64_image(value: str) -> bytes:
    """Bytes from a ``data:image/...;base64,`` URI or bare base64 (url-safe, unpadded OK)."""
    return decode_base64_text(value)[0]


def decode_base64_text(value: str) -> tuple[bytes, str | None]:
    """:func:`decode_base64_image`, plus the text itself when it was plain standard base64
    (most answers are), which a guesser can then send on as it is (``Picture.b64``)."""
    if not isinstance(value, str):
        raise ProviderError("bad_response", "image data is not a string")
    if value and value.isascii():  # the common case, in one C pass instead of five
        with contextlib.suppress(binascii.Error, ValueError):
            return binascii.a2b_base64(value, strict_mode=True), value
    return _decode_base64_slow(value), None


def _decode_base64_slow(value: str) -> bytes:
    text = _DATA_URI.sub("", value.strip(), count=1)
    text = "".join(text.split())
    if not text:
        raise ProviderError("bad_response", "image data is empty")
    if "-" in text or "_" in text:
        text = text.translate(str.maketrans("-_", "+/"))
    text = text.rstrip("=")
    if len(text) % 4 == 1:
        raise ProviderError("bad_response", "image data is not valid base64")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ProviderError("bad_response", "image data is not valid base64") from None


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


def _verify_image(data: bytes, fmt: str, max_pixels: int) -> tuple[int, int]:
    """Open (headers only), check the pixel count, then the rows: runs in a worker thread.

    The rows are checked without a full decode (a PNG's chunk CRCs; other formats reduced,
    a strip at a time): a small file with huge dimensions never costs its decoded size.
    """
    try:
        check_webp(data[:30])  # before Pillow opens it: opening a WebP allocates it whole
        with Image.open(io.BytesIO(data)) as im:
            width, height = im.size
            if width <= 0 or height <= 0:
                raise ProviderError("bad_response", "the image has no pixels")
            if width * height > max_pixels:
                raise ProviderError(
                    "bad_response",
                    f"the image is too large: {width}×{height} pixels "
                    f"(limit {max_pixels:,}); refusing to decode it",
                )
            if (im.format or "").lower() != fmt:
                raise ProviderError(
                    "bad_response", f"the image says {fmt} but decodes as {im.format}"
                )
        check_rows(data)  # the pixel cap was checked above
    except Image.DecompressionBombError as exc:
        raise ProviderError(
            "bad_response", f"the image is too large to decode safely ({exc})"
        ) from None
    except ProviderError:
        raise
    except Exception as exc:  # Pillow raises many kinds for broken files
        raise ProviderError(
            "bad_response", f"the {fmt} image is broken: {clean_text(str(exc), 160)}"
        ) from None
    return width, height


async def picture_from_bytes(
    data: bytes,
    *,
    max_pixels: int,
    extras: Mapping[str, Any] | None = None,
    cost: float | None = None,
    b64: str | None = None,
) -> Picture:
    """A verified :class:`Picture` holding the original bytes (never re-encoded); ``b64`` is
    the same bytes as standard base64, when the answer carried them so."""
    fmt = sniff_format(data)
    if fmt is None:
        start = clean_text(data[:16].decode("latin-1"), 40) if data else "nothing"
        raise ProviderError(
            "bad_response",
            f"not an image ({len(data)} bytes starting {start!r})",
        )
    width, height = await asyncio.to_thread(_verify_image, data, fmt, max_pixels)
    return Picture(data, fmt, width, height, dict(extras or {}), cost, b64)
