"""The provider contract: what a drawer and a guesser are, what they return, how they fail.

Everything above this module (engine, CLI, TUI) speaks only these types, so a new provider is
a module that fills them in and registers itself through the ``telestrations.providers``
entry-point group.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

ModelKind = Literal["drawer", "guesser"]

ErrorKind = Literal[
    "auth",  # missing or bad key
    "quota",  # out of credits / billing
    "rate_limited",
    "not_found",  # model or endpoint not found / retired / not pulled
    "refused",  # content policy: a game event, not a crash
    "unreachable",  # connection refused, DNS, TLS
    "timeout",
    "bad_response",  # HTML instead of JSON, non-image bytes, over the size cap, ...
    "bad_request",  # the service rejected our request (400) for a reason that is not the above
    "server",  # 5xx that survived retries
    "internal",  # a bug on our side; never shown as a traceback
]
"""The small set of failure kinds a person can act on (DESIGN.md, Providers)."""

ERROR_TITLES: Mapping[str, str] = {
    "auth": "missing or bad API key",
    "quota": "out of quota or credits",
    "rate_limited": "rate limited",
    "not_found": "model not found",
    "refused": "refused by the content filter",
    "unreachable": "service unreachable",
    "timeout": "timed out",
    "bad_response": "bad response",
    "bad_request": "request rejected",
    "server": "server error",
    "internal": "internal error",
}
"""Short human titles for each error kind, used in cards and log lines."""


class ProviderError(Exception):
    """A provider failure mapped onto one :data:`ErrorKind`, with advice.

    ``message`` is what the service said (already redacted, untrusted text: never markup);
    ``hint`` is what the person can do about it.
    """

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        hint: str = "",
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.message = message
        self.hint = hint
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after

    @property
    def title(self) -> str:
        """A short human title for the kind, e.g. "rate limited"."""
        return ERROR_TITLES.get(self.kind, self.kind)

    def __str__(self) -> str:
        text = f"{self.title}: {self.message}" if self.message else self.title
        return f"{text} ({self.hint})" if self.hint else text


@dataclass(frozen=True)
class Picture:
    """An image as the drawer produced it: encoded bytes, never re-encoded for storage."""

    data: bytes
    format: str
    """Sniffed from the bytes: ``png``, ``jpeg``, ``webp`` or ``gif``."""
    width: int
    height: int
    extras: Mapping[str, Any] = field(default_factory=dict)
    """What the provider said besides the image, e.g. ``revised_prompt`` or ``seed``."""
    cost: float | None = None
    """USD for this call when known; ``None`` means unknown (never 0 for unknown)."""
    b64: str | None = field(default=None, repr=False, compare=False)
    """:attr:`data` as standard base64, when the drawer sent it so: a guesser sends it on as
    it is instead of encoding 1-2 MB again (never stored; derived data only)."""

    @property
    def suffix(self) -> str:
        """The file suffix for :attr:`format`."""
        return {"jpeg": ".jpg"}.get(self.format, f".{self.format}")


@dataclass(frozen=True)
class Caption:
    """What a guesser saw: the text plus whatever the provider reported."""

    text: str
    extras: Mapping[str, Any] = field(default_factory=dict)
    """E.g. token usage, ``finish_reason``."""
    cost: float | None = None
    """USD for this call when known; ``None`` means unknown."""


@runtime_checkable
class Drawer(Protocol):
    """A text-to-image model."""

    async def draw(self, text: str) -> Picture:
        """Illustrate ``text``; raise :class:`ProviderError` on failure."""
        ...


@runtime_checkable
class ReferenceDrawer(Protocol):
    """A drawer that can also start from a picture (image edits, img2img): memory play."""

    async def draw(self, text: str) -> Picture: ...

    def reference_unsupported(self) -> str:
        """Why this model cannot take a picture ("" when it can), e.g. DALL-E 3."""
        ...

    async def draw_from(self, text: str, reference: Picture) -> Picture:
        """Illustrate ``text`` starting from ``reference``; raise :class:`ProviderError`."""
        ...


@runtime_checkable
class Guesser(Protocol):
    """A vision model that describes a picture."""

    async def describe(self, picture: Picture, system: str, prompt: str) -> Caption:
        """Describe ``picture`` per ``system`` and ``prompt``; raise :class:`ProviderError`."""
        ...


@dataclass(frozen=True)
class ModelInfo:
    """One selectable model: data, not code (presets and config entries alike)."""

    provider: str
    name: str
    kind: ModelKind
    label: str = ""
    """Display name; defaults to ``name``."""
    options: Mapping[str, Any] = field(default_factory=dict)
    """Provider-specific request settings (size, quality, endpoint id, schema, ...)."""
    price: float | None = None
    """USD per call from the price table (config can override); ``None`` when unknown."""
    retired: str = ""
    """When set, why this model is probably gone (e.g. "shut down 2026-05-12")."""
    note: str = ""
    """One line shown beside the model in menus and ``telestrations models``."""
    discovered: bool = False
    """True when found at run time (e.g. pulled in Ollama) rather than from presets/config."""
    shutdown: str = ""
    """``YYYY-MM-DD`` after which the service no longer serves it (a listing's
    ``shutdown_date`` or a preset's announced date); empty when none is known."""
    successor: str = ""
    """The model id that replaces it once shut down, when the service named one."""

    @property
    def id(self) -> str:
        """The ``provider:model`` id used everywhere."""
        return f"{self.provider}:{self.name}"

    @property
    def display(self) -> str:
        """The label, or the model name."""
        return self.label or self.name


@dataclass(frozen=True)
class Availability:
    """Whether a model can be used right now, and if not, why and how to fix it."""

    ok: bool
    reason: str = ""
    hint: str = ""
    kind: ErrorKind | None = None
    """The error kind a turn would fail with; inferred when not given ("key" → auth)."""
    warning: bool = False
    """Usable, but ``reason`` is worth one line before a game (e.g. "not in the listing")."""

    @classmethod
    def yes(cls, reason: str = "") -> Availability:
        return cls(True, reason)

    @classmethod
    def warn(cls, reason: str, hint: str = "") -> Availability:
        """Usable, with a line the person should see (listings lag: evidence, not a gate)."""
        return cls(True, reason, hint, warning=True)

    @classmethod
    def no(cls, reason: str, hint: str = "", kind: ErrorKind | None = None) -> Availability:
        return cls(False, reason, hint, kind)

    def error(self) -> ProviderError:
        """The :class:`ProviderError` a turn with this model would end in."""
        kind: ErrorKind = self.kind or ("auth" if "key" in self.reason.lower() else "unreachable")
        return ProviderError(kind, self.reason, hint=self.hint)


KeyLookup = Callable[[str], "str | None"]
"""Looks up a secret by name (e.g. ``"openai"``): flags, then env, then the keys file."""


@dataclass(frozen=True)
class ProviderContext:
    """What a provider factory is given: its config section, key lookup and environment.

    Providers never read ``os.environ`` or files themselves, so tests and the CLI decide.
    """

    settings: Mapping[str, Any] = field(default_factory=dict)
    """The ``[providers.<name>]`` table from config.toml (may be empty)."""
    get_key: KeyLookup = lambda name: None
    env: Mapping[str, str] = field(default_factory=dict)
    prices: Mapping[str, float] = field(default_factory=dict)
    """User price overrides by model id, USD per call."""
    name: str = ""
    """The name a named instance runs under (``[providers.NAME] type = "openai"``): its
    model ids, key and table are NAME's; empty for a provider under its own name."""


@runtime_checkable
class Provider(Protocol):
    """A family of models behind one API (or none, for the offline doodle pair)."""

    name: str
    """Registry name, the part before ``:`` in a model id."""
    title: str
    """Human name, e.g. "OpenAI"."""

    def models(self) -> list[ModelInfo]:
        """Presets plus config additions; cheap, no I/O."""
        ...

    def model(self, name: str, kind: ModelKind) -> ModelInfo | None:
        """The model called ``name``, or a new :class:`ModelInfo` when the provider accepts
        arbitrary names (Ollama, OpenAI-compatible servers); ``None`` when unknown."""
        ...

    def availability(self, model: ModelInfo) -> Availability:
        """Quick check with no I/O: keys present, settings complete."""
        ...

    async def check(self, model: ModelInfo) -> Availability:
        """Slower check with short timeouts: server reachable, model pulled."""
        ...

    async def discover(self) -> list[ModelInfo]:
        """Models found at run time (e.g. pulled in Ollama); may be empty."""
        ...

    def drawer(self, model: ModelInfo) -> Drawer:
        """A drawer for ``model``; raises :class:`ProviderError` if it cannot be made."""
        ...

    def guesser(self, model: ModelInfo) -> Guesser:
        """A guesser for ``model``; raises :class:`ProviderError` if it cannot be made."""
        ...

    async def aclose(self) -> None:
        """Release connections (the shared httpx client)."""
        ...


ProviderFactory = Callable[[ProviderContext], Provider]
"""What an entry point in ``telestrations.providers`` must resolve to."""


_partial_caption: ContextVar[Callable[[str], None] | None] = ContextVar(
    "telestrations_partial_caption", default=None
)


def report_partial(text: str) -> None:
    """A streaming guesser calls this with the caption so far, so a UI can show it growing.

    A context variable rather than a protocol argument: guessers that do not stream need
    nothing, and the engine decides per turn who listens (see :func:`partial_captions`).
    """
    listener = _partial_caption.get()
    if listener is not None:
        listener(text)


def partials_wanted() -> bool:
    """Whether anyone listens to :func:`report_partial` here: a guesser need not watch its
    stream (decode and parse every event as it arrives) for nobody."""
    return _partial_caption.get() is not None


@contextmanager
def partial_captions(listener: Callable[[str], None]) -> Iterator[None]:
    """Route :func:`report_partial` calls made inside this block (same task) to ``listener``."""
    token = _partial_caption.set(listener)
    try:
        yield
    finally:
        _partial_caption.reset(token)


@dataclass(frozen=True)
class Progress:
    """How far a long call has got, as the service reported it (a step counter, a queue note)."""

    done: int | None = None
    total: int | None = None
    note: str = ""
    """Short untrusted text such as "in queue"; never markup."""

    @property
    def text(self) -> str:
        """The line shown: "step 7/20", "in queue", or both."""
        parts = []
        if self.done is not None and self.total:
            parts.append(f"step {self.done}/{self.total}")
        if self.note:
            parts.append(self.note)
        return " · ".join(parts)


_progress: ContextVar[Callable[[Progress], None] | None] = ContextVar(
    "telestrations_progress", default=None
)


def report_progress(done: int | None = None, total: int | None = None, note: str = "") -> None:
    """A drawer calls this when its service says how far it is (ComfyUI steps, RunPod's queue,
    A1111's progress route). Like :func:`report_partial`, a context variable: providers that
    cannot tell say nothing, and the UI shows the elapsed time instead."""
    listener = _progress.get()
    if listener is not None:
        listener(Progress(done, total, note))


@contextmanager
def progress_reports(listener: Callable[[Progress], None]) -> Iterator[None]:
    """Route :func:`report_progress` calls made inside this block (and tasks it starts) to
    ``listener``."""
    token = _progress.set(listener)
    try:
        yield
    finally:
        _progress.reset(token)


class LaterChecks:
    """The slow part of a drawing's check (a PNG's chunk CRCs, Pillow's look at its header)
    left running in a thread after ``draw()`` returned, so the guesser's request is built and
    sent beside it. Its upload holds back its last bytes until the check passed
    (:func:`uploads_after`), and the engine keeps the drawing only if it did: a broken picture
    still never reaches a guesser whole, nor the game folder."""

    def __init__(self) -> None:
        self._pending: list[asyncio.Future[None]] = []

    def add(self, check: asyncio.Future[None]) -> None:
        check.add_done_callback(_retrieved)  # a failure is the engine's to report, not a log's
        self._pending.append(check)

    def outcome(self) -> asyncio.Future[None] | None:
        """One future for every check left running here; ``None`` when none was."""
        if not self._pending:
            return None
        if len(self._pending) == 1:
            return self._pending[0]
        together = asyncio.ensure_future(asyncio.gather(*self._pending))
        done: asyncio.Future[None] = together.get_loop().create_future()

        def settle(f: asyncio.Future[list[None]]) -> None:
            if f.cancelled():
                done.cancel()
            elif (exc := f.exception()) is not None:
                done.set_exception(exc)
            else:
                done.set_result(None)

        together.add_done_callback(settle)
        done.add_done_callback(_retrieved)
        return done


def _retrieved(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


_later_checks: ContextVar[LaterChecks | None] = ContextVar(
    "telestrations_later_checks", default=None
)


def later_checks() -> LaterChecks | None:
    """Where a picture check may leave its slow part (inside :func:`checks_beside`), else
    ``None``: check everything before returning."""
    return _later_checks.get()


@contextmanager
def checks_beside() -> Iterator[LaterChecks]:
    """Let pictures made in this block finish their check after ``draw()`` returns; the
    returned :class:`LaterChecks` tells the caller what is still running."""
    checks = LaterChecks()
    token = _later_checks.set(checks)
    try:
        yield checks
    finally:
        _later_checks.reset(token)


_upload_gate: ContextVar[asyncio.Future[None] | None] = ContextVar(
    "telestrations_upload_gate", default=None
)


def upload_gate() -> asyncio.Future[None] | None:
    """What a request body's last bytes wait for here (see :func:`uploads_after`)."""
    return _upload_gate.get()


@contextmanager
def uploads_after(check: asyncio.Future[None] | None) -> Iterator[None]:
    """Requests sent in this block send their body but its last bytes, then wait for
    ``check``; if it fails, its error ends the request unfinished, so the service never has
    a whole request to answer (or bill) for a picture that turned out broken."""
    token = _upload_gate.set(check)
    try:
        yield
    finally:
        _upload_gate.reset(token)


def sniff_format(data: bytes) -> str | None:
    """The image format from magic bytes, not from labels (PROTOCOLS.md, section 0)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    return None
