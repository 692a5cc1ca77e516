"""Untrusted text, in one place and without Textual: cleaning for terminals, redaction of secrets.

Every text that came from outside the program (captions, error bodies, model names a server
listed, prompts from flags, files or a past game's journal) is *cleaned* before a terminal
shows it: escape sequences, control characters and bidi overrides are removed so it cannot
retitle, blank or restyle anything. Every record that leaves the process (journal, stdout,
logs, UI, exports) is *redacted*: known secrets are replaced by ``***``.
"""

from __future__ import annotations

import base64
import functools
import html
import json
import re
import sys
import threading
import traceback
import unicodedata
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any
from urllib.parse import quote, quote_plus, unquote, urlsplit

MIN_SECRET = 4
"""Secrets shorter than this are not redacted: replacing every "ab" would shred the text."""

_ESCAPES = re.compile(
    r"""
      \x1b\[[0-?]*[ -/]*[@-~]                 # CSI ... final byte
    | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?      # OSC ... BEL or ST
    | \x1b[PX^_][^\x1b]*(?:\x1b\\)?           # DCS, SOS, PM, APC ... ST
    | \x1b[ -/]*[0-~]                         # other ESC sequences
    | \x9b[0-?]*[ -/]*[@-~]                   # 8-bit CSI
    | \x1b                                    # a lone ESC
    """,
    re.VERBOSE,
)
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
_SPACES = re.compile(r"[ \t]+")


def clean(text: str, *, oneline: bool = False, limit: int = 2000) -> str:
    """``text`` without escape sequences, control characters or bidi overrides.

    Args:
        text: Untrusted text.
        oneline: Fold newlines and tabs into single spaces.
        limit: Cut to this many characters (an error body can be a whole HTML page); 0 = no cut.
    """
    text = _ESCAPES.sub("", SECRETS.redact(text))  # redact before cutting: a cut key is a key
    out = []
    for ch in text:
        if ch in "\n\t":
            out.append(" " if oneline or ch == "\t" else ch)
        elif ch in _BIDI:
            continue
        elif unicodedata.category(ch) == "Cc":
            if oneline:  # a control character between two words must not join them
                out.append(" ")
        elif oneline and ch.isspace():
            out.append(" ")
        else:
            out.append(ch)
    result = "".join(out)
    if oneline:
        result = _SPACES.sub(" ", result).strip()
    if limit > 0 and len(result) > limit:
        result = result[: max(limit - 1, 0)].rstrip() + "…"
    return result


def clean_text(text: str, limit: int = 500) -> str:
    """One line of cleaned text, cut to ``limit`` characters (for messages and notes)."""
    return clean(text, oneline=True, limit=limit)


EDGE_PREFIX = 8
"""A piece of a secret this long (or half the secret, for short ones) left at a cut edge is
still treated as the secret. Why: text gets cut (error bodies, previews, a stream that stopped
half-way through a word) and a cut key is still most of a key. A shorter piece gives away
at most 7 characters (for a key, usually its public ``sk-proj-`` style prefix) while leaving
the rest unknown, and redacting shorter pieces would eat ordinary words at the end of text."""

MID_PIECE = 12
"""Anywhere in a text, a piece of a secret at least half as long as it (and this many
characters) is the secret too: a server that cuts a key and goes on talking still leaks most
of it, while ordinary text never holds 12 characters of a key by chance."""

_EDGE = re.compile(r"…|\.\.\.")
_EDGE_TRIM = " \t\r\n.…,;:!?\"'`)]}>"


def derived_forms(secret: str) -> set[str]:
    """The forms a secret takes on its way out: as is, URL-encoded, JSON- and HTML-escaped, and
    base64 (of itself and as either half of ``user:password``, as Basic auth sends it)."""
    forms = {secret, secret.strip()}
    forms |= {quote(secret, safe=""), quote(secret), quote_plus(secret)}
    forms |= {json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    forms.add(html.escape(secret, quote=True))
    for raw in (secret, f"{secret}:", f":{secret}"):
        data = raw.encode("utf-8", "surrogatepass")
        for enc in (base64.b64encode(data), base64.urlsafe_b64encode(data)):
            text = enc.decode("ascii")
            forms |= {text, text.rstrip("=")}
    return {f for f in forms if len(f) >= MIN_SECRET}


def basic_auth(user: str, password: str) -> str:
    """The base64 token an ``Authorization: Basic`` header carries for ``user:password``."""
    return base64.b64encode(f"{user}:{password}".encode("utf-8", "surrogatepass")).decode()


SECRET_HEADER_WORDS = ("auth", "key", "token", "secret", "cookie", "session", "password")
"""A header whose name holds one of these carries a secret (``Authorization``, ``X-Api-Key``)."""
_TOKEN_LIKE = re.compile(r"[A-Za-z0-9_\-.~+/=:]{20,}")


def looks_like_token(value: str) -> bool:
    """A value shaped like a credential: one long run of token characters mixing letters and
    digits, not a URL or words (``HTTP-Referer: https://…``, ``X-Title: My game`` are not)."""
    value = value.strip()
    if not _TOKEN_LIKE.fullmatch(value) or "://" in value:
        return False
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def header_secrets(headers: Mapping[str, Any]) -> list[str]:
    """The secret values among extra HTTP headers from config: every value of a header named
    like a credential, and any value that looks like a token, with a scheme's token part
    (``Bearer abc…``) on its own, so each is redacted like a key."""
    found: list[str] = []
    for name, value in headers.items():
        if not isinstance(value, str) or not value.strip():
            continue
        scheme, _, rest = value.strip().partition(" ")
        named = any(word in str(name).lower() for word in SECRET_HEADER_WORDS)
        if named or looks_like_token(value) or looks_like_token(rest):
            found.append(value.strip())
            if rest.strip() and scheme.lower() in ("bearer", "basic", "token"):
                found.append(rest.strip())
    return found


def url_secrets(url: str) -> list[str]:
    """The secrets in a URL's ``user:password@`` part (with or without a scheme, as
    ``OLLAMA_HOST`` allows): the password, the userinfo, and the Basic auth token."""
    if not isinstance(url, str) or "@" not in url:
        return []
    value = url.strip().strip("\"'")
    if "://" not in value:
        value = f"http://{value}"
    try:
        parts = urlsplit(value)
        password = parts.password
    except ValueError:
        return []
    if not password:
        return []
    userinfo = parts.netloc.rpartition("@")[0]
    user = userinfo.partition(":")[0]
    found = [password, unquote(password), userinfo, unquote(userinfo)]
    found += [basic_auth(user, password), basic_auth(unquote(user), unquote(password))]
    return found


class Secrets:
    """A set of secrets and every derived form of them: the one redactor every record, line
    and message passes through before it reaches disk, a terminal, a log or an export.

    Thread-safe enough for its use: :meth:`add` swaps in new immutable tables, readers take
    whichever table is current.
    """

    def __init__(self, values: Iterable[str | None] = ()) -> None:
        self._raw: dict[str, None] = {}
        self._forms: tuple[str, ...] = ()
        self._edges: tuple[tuple[str, dict[str, tuple[int, ...]], dict[str, tuple[int, ...]]], ...]
        self._edges = ()
        self._grams: tuple[int, frozenset[str]] = (0, frozenset())
        self._lock = threading.Lock()
        self.add(*values)

    def add(self, *values: str | None) -> None:
        """Remember secrets (too short or empty ones are ignored)."""
        new = [v for v in values if isinstance(v, str) and len(v.strip()) >= MIN_SECRET]
        with self._lock:
            if all(v in self._raw for v in new):
                return
            raws = {**self._raw, **dict.fromkeys(new)}  # a new dict: readers never see it grow
            forms: set[str] = set()
            for raw in raws:
                forms |= derived_forms(raw)
            ordered = tuple(sorted(forms, key=len, reverse=True))  # longest first
            self._grams = _grams(ordered)  # before the forms: a reader never misses one
            self._edges = tuple((f, *_edge_tables(f)) for f in ordered)
            self._forms = ordered
            self._raw = raws

    def add_url(self, url: str | None) -> None:
        """Remember the password (and Basic token) in ``url``, if it has one."""
        self.add(*url_secrets(url or ""))

    def clear(self) -> None:
        with self._lock:
            self._raw, self._forms, self._edges = {}, (), ()
            self._grams = (0, frozenset())

    def __bool__(self) -> bool:
        return bool(self._forms)

    def __len__(self) -> int:
        return len(self._raw)

    @property
    def raw(self) -> tuple[str, ...]:
        """The secrets as given."""
        return tuple(self._raw)

    @property
    def forms(self) -> tuple[str, ...]:
        """Every form redacted, longest first."""
        return self._forms

    def redact(self, text: str) -> str:
        """``text`` with every secret form, and a long piece of one at a cut edge, as ``***``."""
        forms, edges = self._forms, self._edges
        if not forms or not text:
            return text
        size, grams = self._grams
        if len(text) <= GRAM_SCAN and not any(
            text[i : i + size] in grams for i in range(len(text) - size + 1)
        ):
            return text  # no piece of any form is here: nothing below could match
        for form in forms:
            if form in text:
                text = text.replace(form, "***")
        spans = [span for form in forms for span in _piece_spans(text, form)]
        return _redact_edges(_replace_spans(text, spans), edges)

    def redact_bytes(self, data: bytes) -> bytes:
        """Redacted bytes (an error body): decoded leniently, redacted, encoded back."""
        if not self._forms or not data:
            return data
        text = data.decode("utf-8", "surrogateescape")
        out = self.redact(text)
        return data if out == text else out.encode("utf-8", "surrogateescape")

    def redact_json(self, value: Any) -> Any:
        """A JSON-like value with every string (keys included) redacted."""
        if not self._forms:
            return value
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, list | tuple):
            return [self.redact_json(v) for v in value]
        if isinstance(value, Mapping):
            return {self.redact(str(k)): self.redact_json(v) for k, v in value.items()}
        return value


GRAM_SCAN = 4096
"""Texts up to this long (captions, streamed text, record fields) are first looked at
through :func:`_grams`; longer ones (error bodies) go straight to the full search."""


def _grams(forms: tuple[str, ...]) -> tuple[int, frozenset[str]]:
    """The length ``n`` of the shortest text :meth:`Secrets.redact` could ever take out (a
    whole form, a long piece, a cut piece at an edge) and every ``n``-character piece of
    every form. Whatever is taken out holds one of them, so a text with none of them comes
    back as it is, after a set lookup per character instead of ~30 searches per form (90
    redactions a round for a streamed caption)."""
    size = min((min(len(f), _shortest_edge(f)) for f in forms), default=0)
    if size <= 0:
        return 0, frozenset()
    return size, frozenset(f[i : i + size] for f in forms for i in range(len(f) - size + 1))


def _shortest_edge(form: str) -> int:
    """The shortest piece of ``form`` taken out at a cut edge (see :func:`_edge_tables`)."""
    return min(EDGE_PREFIX, max(MIN_SECRET, len(form) // 2))


def _piece_spans(text: str, form: str) -> list[tuple[int, int]]:
    """Where long pieces of ``form`` (from its start or its end) are in ``text``."""
    size = max(MID_PIECE, (len(form) + 1) // 2)
    if len(form) <= size:
        return []
    spans = []
    head, tail = form[:size], form[-size:]
    j = text.find(head)
    while j >= 0:
        k = size
        while j + k < len(text) and k < len(form) and text[j + k] == form[k]:
            k += 1
        spans.append((j, j + k))
        j = text.find(head, j + k)
    j = text.find(tail)
    while j >= 0:
        start, k = j, size
        while start > 0 and k < len(form) and text[start - 1] == form[-k - 1]:
            start -= 1
            k += 1
        spans.append((start, j + size))
        j = text.find(tail, j + size)
    return spans


def _replace_spans(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with each span (merged where they overlap or touch) as ``***``."""
    if not spans:
        return text
    merged: list[list[int]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    out, i = [], 0
    for a, b in merged:
        out += [text[i:a], "***"]
        i = b
    return "".join(out) + text[i:]


def _edge_tables(form: str) -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[int, ...]]]:
    """For each character, the lengths ``k`` (longest first) at which ``form[:k]`` ends with
    it, and at which ``form[-k:]`` starts with it: so an edge check looks at few candidates."""
    shortest = _shortest_edge(form)
    ends: dict[str, list[int]] = {}
    starts: dict[str, list[int]] = {}
    for k in range(len(form) - 1, shortest - 1, -1):
        ends.setdefault(form[k - 1], []).append(k)
        starts.setdefault(form[-k], []).append(k)
    return (
        {c: tuple(v) for c, v in ends.items()},
        {c: tuple(v) for c, v in starts.items()},
    )


def _redact_edges(
    text: str,
    edges: tuple[tuple[str, dict[str, tuple[int, ...]], dict[str, tuple[int, ...]]], ...],
) -> str:
    """Pieces of secrets that touch an edge: the end or start of the text (after trailing
    punctuation), or an ellipsis, which is where cut text ends or resumes."""
    end = len(text.rstrip(_EDGE_TRIM))
    start = len(text) - len(text.lstrip(_EDGE_TRIM))
    stops = {end} | {m.start() for m in _EDGE.finditer(text)}
    begins = {start} | {m.end() for m in _EDGE.finditer(text)}
    cuts: list[tuple[int, int]] = []
    for pos in stops:
        if pos <= 0:
            continue
        best = 0
        for form, ends, _ in edges:
            for k in ends.get(text[pos - 1], ()):
                if k <= best:
                    break
                if k <= pos and text.startswith(form[:k], pos - k):
                    best = k
                    break
        if best:
            cuts.append((pos - best, pos))
    for pos in begins:
        if pos >= len(text):
            continue
        best = 0
        for form, _, starts in edges:
            for k in starts.get(text[pos], ()):
                if k <= best:
                    break
                if text.startswith(form[-k:], pos):
                    best = k
                    break
        if best:
            cuts.append((pos, pos + best))
    return _replace_spans(text, cuts)


SECRETS = Secrets()
"""The process's secrets: keys, URL passwords and what providers were given. ``runtime.py``
fills it; :func:`scrub_json`, :func:`clean`, the journal writer, exports and the log
filter all redact with it."""


def scrub_json(value: Any) -> Any:
    """A JSON-like value redacted with the process's secrets."""
    return SECRETS.redact_json(value)


@functools.lru_cache(maxsize=64)
def _redactor(secrets: tuple[str, ...]) -> Secrets:
    return Secrets(secrets)


def _with_process(secrets: Iterable[str]) -> Secrets:
    """One redactor for ``secrets`` and the process's together: one pass, longest form first,
    so a piece of one secret cannot break up another before it is found."""
    given = {s for s in secrets if isinstance(s, str) and len(s.strip()) >= MIN_SECRET}
    if not given or given <= set(SECRETS.raw):
        return SECRETS
    return _redactor(tuple(sorted(given | set(SECRETS.raw))))


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every secret in ``secrets`` and the process's (so also ``Bearer
    <secret>``, its URL-encoded or base64 forms, a long piece of it) as ``***``."""
    return _with_process(secrets).redact(text)


def redact_bytes(data: bytes, secrets: Iterable[str] = ()) -> bytes:
    return _with_process(secrets).redact_bytes(data)


def redact_json(value: Any, secrets: Iterable[str] = ()) -> Any:
    """A JSON-like value with every string (keys included) redacted."""
    return _with_process(secrets).redact_json(value)


def redacting_excepthook(
    kind: type[BaseException], value: BaseException, tb: TracebackType | None
) -> None:
    """``sys.excepthook`` that redacts: a crash's traceback quotes exception texts (a plugin's
    error may hold its key) and is printed after stdout/stderr wrappers are gone."""
    text = "".join(traceback.format_exception(kind, value, tb))
    stream = sys.stderr or sys.__stderr__
    if stream is not None:
        stream.write(SECRETS.redact(text))
        stream.flush()
