"""The HTTP client every network provider shares: timeouts, retries, size caps, deadlines.

It copies the official OpenAI SDK's retry rules (PROTOCOLS.md 1.5 and 7.20): connection
errors, timeouts, 408/409/429/5xx/524 are retried with bounded exponential backoff and
jitter, honouring ``retry-after-ms``, ``Retry-After`` and ``x-should-retry``; a 429 that
says ``insufficient_quota`` and any 400/401/403/404 are not. Bodies are streamed against a
byte cap, and every text that leaves this module (errors, log lines) has the secrets taken
out. What a failure *means* is decided in :mod:`.errors`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json as jsonlib
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import httpcore
import httpx

from telestrations import __version__
from telestrations.providers.base import ProviderError
from telestrations.providers.http.bodies import json_body, loads_lifted
from telestrations.providers.http.errors import (
    ErrorMapper,
    HttpFailure,
    RetryHint,
    _retry_after,
    _strip_query,
    download_error,
    generic_error,
    is_quota,
    parse_failure,
    transport_error,
)
from telestrations.providers.http.pool import default_transport
from telestrations.providers.http.settings import HttpSettings
from telestrations.text import SECRETS, clean_text, redact, url_secrets

log = logging.getLogger(__name__)

ERROR_BODY_CAP = 256 * 1024
"""Error bodies are only read this far: enough for any message, never a whole page."""
RETRY_STATUSES = frozenset({408, 409, 429, 524})
"""Besides every 5xx (PROTOCOLS.md 7.20)."""
NEVER_RETRY = frozenset({400, 401, 403, 404})
"""Not even when the server says ``x-should-retry: true``: they cannot get better."""
USER_AGENT = f"telestrations/{__version__}"
CLOSE_WAIT = 5.0
"""Seconds :meth:`HttpClient.aclose` waits for another loop to close its pool."""
READ_BYTES = 1024 * 1024
"""Bytes httpcore asks the socket stream for per read (its default is 64 KiB). A 1.5-2 MB
image answer then takes ~8 reads instead of ~30; each read is a pass of the event loop
(anyio resumes and pauses the transport around it), ~0.6 ms of a drawing's answer."""
if getattr(httpcore.AsyncHTTP11Connection, "READ_NUM_BYTES", READ_BYTES) < READ_BYTES:
    httpcore.AsyncHTTP11Connection.READ_NUM_BYTES = READ_BYTES  # process-wide: only a size


@dataclass(frozen=True)
class Form:
    """A ``multipart/form-data`` body: text fields, then files as (field, (file name, bytes,
    content type)); rebuilt for every attempt, so a retry sends it whole again."""

    fields: Mapping[str, str]
    files: Sequence[tuple[str, tuple[str, bytes, str]]] = ()


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
                return loads_lifted(self.body, lift)
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


_SENSITIVE = ("auth", "key", "token", "secret")
"""A header whose name holds one of these carries a secret (``Authorization``,
``x-api-key``, ``x-goog-api-key``, ...): its value is redacted everywhere."""
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
    another host (a blob store) never carries the key. ``error_mapper`` says what a failure
    means; ``retry_hint`` reads how long a retryable one asks to wait from its body.
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
        retry_hint: RetryHint | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.title = title
        self.settings = settings
        self._headers = dict(headers or {})
        self._auth = auth
        self._mapper = error_mapper
        self._retry_hint = retry_hint
        self._transport = transport
        self._clients: dict[asyncio.AbstractEventLoop | None, httpx.AsyncClient] = {}
        """One pool per event loop: a connection belongs to the loop that opened it, and the
        TUI plays its game on a loop of its own while menus check models on the app's."""
        found = [s for s in secrets if s]
        for name, value in self._headers.items():
            if any(word in name.lower() for word in _SENSITIVE) and value:
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
        """The running loop's pooled ``httpx.AsyncClient``, made on first use."""
        loop = _running_loop()
        client = self._clients.get(loop)
        if client is None or client.is_closed:
            for old in [k for k in self._clients if k is not None and k.is_closed()]:
                del self._clients[old]  # a finished loop's pool: its sockets went with it
            client = httpx.AsyncClient(
                headers={"User-Agent": USER_AGENT},
                transport=self._transport or default_transport(),
                follow_redirects=False,
            )
            self._clients[loop] = client
        return client

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
        form: Form | None = None,
    ) -> HttpResult:
        """One API call with retries; a 2xx (or ``accept``-ed) answer, else ProviderError.

        ``on_chunk`` sees a successful body as it arrives (for streamed replies); it is called
        with ``b""`` when a retried attempt starts over, so it can drop what it had.
        ``form`` sends ``multipart/form-data`` instead of JSON (image edits).
        """
        return await self._send(
            method.upper(),
            self.url_for(url),
            form=form,
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
        """Close every pool, each on its own loop (a later call opens a new one); the pool
        of a loop that has ended went with it."""
        clients, self._clients = self._clients, {}
        here = _running_loop()
        for loop, client in clients.items():
            if loop is None or loop is here:
                await client.aclose()
                continue
            if not loop.is_running():  # a loop that ended (or never ran here): nothing to do
                continue
            try:  # another thread's loop (the TUI's engine): it closes its own connections
                closing = asyncio.run_coroutine_threadsafe(client.aclose(), loop)
            except RuntimeError:  # closed meanwhile
                continue
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.wrap_future(closing), CLOSE_WAIT)

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
        form: Form | None = None,
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
                    form=form,
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
            wait = None if last else self._retry_delay(failure, attempt)
            if wait is None:
                raise self._map(failure, download=download and not same_origin)
            delay = wait
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
        form: Form | None = None,
    ) -> tuple[int, httpx.Headers, bytes]:
        """Send once and read the body under the cap; the response is always closed."""
        client = self.client
        headers = dict(self._headers) if with_auth else {}
        content = None
        if json is not None:  # as httpx's json= would, without escape-scanning an image
            content = json_body(json)
            headers["Content-Type"] = "application/json"
        request = client.build_request(
            method,
            url,
            content=content,
            data=dict(form.fields) if form is not None else None,
            files=list(form.files) if form is not None else None,
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
        return parse_failure(status, headers, body, self.secrets)

    def _retry_delay(self, failure: HttpFailure, attempt: int) -> float | None:
        """Seconds to wait before retrying ``failure``, or ``None`` for "do not retry"."""
        hinted = self._retry_hint(failure) if self._retry_hint is not None else None
        # A body that says when to retry outranks guessing from its wording: Google words
        # per-minute limits "exceeded your current quota" too.
        if failure.status in NEVER_RETRY or (hinted is None and is_quota(failure)):
            return None
        should = failure.headers.get("x-should-retry", "").strip().lower()
        if should == "false":
            return None
        if should != "true" and not (failure.status in RETRY_STATUSES or failure.status >= 500):
            return None
        wait = hinted if hinted is not None else _retry_after(failure.headers)
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
        return download_error(self.title, failure)

    def _transport_error(self, exc: httpx.HTTPError, url: str) -> ProviderError:
        return transport_error(
            exc,
            url,
            title=self.title,
            base_url=self.settings.base_url,
            connect_timeout=self.settings.connect_timeout,
            redactor=self._redact,
        )


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # built outside a loop (a test's setup): the pool of "no loop"
        return None


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme, 0)
    return scheme, f"{(parts.hostname or '').lower()}:{port}"
