"""What each service said it offers, kept on disk so menus open instantly and work offline.

A provider's ``discover()`` asks its service (OpenAI ``GET /v1/models``, Ollama ``/api/tags``,
AUTOMATIC1111's checkpoints, ComfyUI's checkpoints, Gemini ``GET /v1beta/models``); the answer
is saved here per provider name and base URL (two OpenAI-compatible endpoints never share a
file) with the time it was fetched, and read back at start-up. A listing older than its
time-to-live is fetched again in the background; a service that does not answer leaves the
old listing in use, shown with its age.

Shutdown dates are the services' own data (``shutdown_date`` in OpenAI's listing, PROTOCOLS.md
8.1) or a preset's announced date: a model past its date is never offered or used silently.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

from telestrations.atomic import write_atomic
from telestrations.providers.base import Availability, ModelInfo
from telestrations.text import redact_json

log = logging.getLogger(__name__)

DEFAULT_TTL = 24 * 3600.0
"""Seconds a listing is trusted before it is fetched again (in the background)."""
SOON_DAYS = 30
"""A model shutting down within this many days is marked with its date."""
FORMAT = 1
"""Version of the file format; another version is ignored (fetched again)."""

State = Literal["ok", "soon", "gone"]


# -- shutdown dates ------------------------------------------------------------------------


def parse_day(text: str) -> date | None:
    """``YYYY-MM-DD`` as a date; anything else (a typo, a time stamp) is no date."""
    try:
        return date.fromisoformat(str(text)[:10])
    except ValueError:
        return None


def state_of(model: ModelInfo, today: date) -> State:
    """``gone`` once the shutdown day has come, ``soon`` within :data:`SOON_DAYS`."""
    day = parse_day(model.shutdown) if model.shutdown else None
    if day is None:
        return "ok"
    if day <= today:
        return "gone"
    return "soon" if day - today <= timedelta(days=SOON_DAYS) else "ok"


def state_note(model: ModelInfo, today: date) -> str:
    """ "shut down 2026-12-01" / "shuts down 2026-12-11" / "" for menus and listings."""
    state = state_of(model, today)
    if state == "gone":
        return f"shut down {model.shutdown}"
    if state == "soon":
        return f"shuts down {model.shutdown}"
    return ""


def replacement_hint(model: ModelInfo) -> str:
    """What to pick instead, naming the service's replacement when it is known."""
    if model.successor:
        return f"use {model.successor} instead (see `telestrations models`)"
    return "pick another model (see `telestrations models`)"


def shutdown_verdict(model: ModelInfo, today: date) -> Availability | None:
    """A refusal for a model past its shutdown date: one line and the replacement."""
    if state_of(model, today) != "gone":
        return None
    return Availability.no(
        f"{model.id} was shut down on {model.shutdown}", replacement_hint(model), "not_found"
    )


def offered(
    models: Iterable[ModelInfo], today: date, *, everything: bool = False
) -> list[ModelInfo]:
    """The models a menu offers: shut-down ones only when ``everything`` is asked for."""
    return [m for m in models if everything or state_of(m, today) != "gone"]


# -- the cache on disk ---------------------------------------------------------------------


def source_of(provider: Any) -> str:
    """Where a provider's listing comes from: its base URL (or Ollama's endpoint), so two
    instances of one protocol (named OpenAI-compatible endpoints) keep separate listings."""
    for attr in ("base_url", "host"):
        value = getattr(provider, attr, None)
        if isinstance(value, str) and value:
            return value
    endpoint = getattr(provider, "endpoint", None)
    url = getattr(endpoint, "url", None)
    return url if isinstance(url, str) else ""


@dataclass(frozen=True)
class Listing:
    """One service's answer: the models found, and when (unix seconds)."""

    provider: str
    source: str
    fetched_at: float
    models: tuple[ModelInfo, ...] = ()


@dataclass(frozen=True)
class ListingStatus:
    """Where the models a provider shows came from, for a line beside them."""

    fetched_at: float
    cached: bool
    """True when the listing came from disk rather than from the service just now."""
    error: str = ""
    """Why the service was not asked or did not answer (already cleaned, one line)."""


def age_text(seconds: float) -> str:
    """ "just now", "12 min", "5 h", "3 days"."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 2 * 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} days ago"


def _model_json(m: ModelInfo) -> dict[str, Any]:
    data = asdict(m)
    data["options"] = dict(m.options)
    return data


_FIELDS = set(ModelInfo.__dataclass_fields__)


def _model_from(data: Any, provider: str) -> ModelInfo | None:
    if not isinstance(data, Mapping):
        return None
    known = {k: v for k, v in data.items() if k in _FIELDS}
    if known.get("kind") not in ("drawer", "guesser") or not isinstance(known.get("name"), str):
        return None
    if not isinstance(known.get("options", {}), Mapping):
        return None
    try:
        model = ModelInfo(**{**known, "provider": provider})
    except TypeError:
        return None
    return replace(model, discovered=True)


@dataclass
class ListingCache:
    """Listings as JSON files in ``folder``, one per provider and source, written atomically."""

    folder: Path
    ttl: float = DEFAULT_TTL
    clock: Callable[[], float] = field(default=time.time)

    def path_for(self, provider: str, source: str) -> Path:
        """``<provider>-<hash of the source>.json``: the URL itself (which may carry a
        password) never becomes a file name or file content."""
        digest = hashlib.sha256(f"{provider}\0{source}".encode()).hexdigest()[:16]
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in provider)[:40]
        return self.folder / f"{safe}-{digest}.json"

    def load(self, provider: str, source: str) -> Listing | None:
        """The saved listing, or None (none yet, unreadable, another format)."""
        path = self.path_for(provider, source)
        try:
            data = json.loads(path.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.debug("ignoring listing %s: %s", path, exc)
            return None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return None
        fetched = data.get("fetched_at")
        items = data.get("models")
        if not isinstance(fetched, int | float) or not isinstance(items, list):
            return None
        models = tuple(m for m in (_model_from(i, provider) for i in items) if m is not None)
        return Listing(provider, source, float(fetched), models)

    def save(self, listing: Listing) -> None:
        """Replace the provider's file whole (a cache: no fsync, never half a file). Every
        text passes the redactor first: a service may echo a key in a model's name or note."""
        body = {
            "format": FORMAT,
            "provider": listing.provider,
            "fetched_at": listing.fetched_at,
            "models": [_model_json(m) for m in listing.models],
        }
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.path_for(listing.provider, listing.source)
        data = json.dumps(redact_json(body), indent=1).encode()
        write_atomic(target, data, sync=False)

    def fresh(self, listing: Listing) -> bool:
        """Younger than the time-to-live (a clock set back counts as fresh)."""
        return self.clock() - listing.fetched_at < self.ttl

    def age(self, listing: Listing) -> float:
        return self.clock() - listing.fetched_at

    def forget(self, provider: str, source: str) -> None:
        with contextlib.suppress(OSError):
            self.path_for(provider, source).unlink()
