"""Timeouts, retry policy and caps shared by every HTTP provider's settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from telestrations.providers.spec import HttpFields


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


def http_settings(conf: HttpFields, *, base_url: str, **defaults: Any) -> HttpSettings:
    """A provider's :class:`HttpSettings` from its validated table (the fields it set win
    over ``defaults``); a value out of range raises :class:`ValueError` naming the key."""
    table: dict[str, Any] = {
        f: getattr(conf, f) for f in HTTP_FIELDS if getattr(conf, f) is not None
    }
    return HttpSettings.from_settings(table, base_url=base_url or conf.base_url, **defaults)


HTTP_FIELDS = tuple(f.name for f in fields(HttpFields) if f.name not in ("models", "base_url"))
"""The shared settings :class:`HttpSettings` takes from a table, as :class:`HttpFields`
declares them."""


def _positive(settings: Mapping[str, Any], key: str, kind: type, allow_zero: bool = False) -> Any:
    value = settings[key]
    ok_type = isinstance(value, int | float) and not isinstance(value, bool)
    if kind is int and ok_type and float(value) != int(value):
        ok_type = False
    if not ok_type or value < 0 or (value == 0 and not allow_zero):
        what = "a whole number" if kind is int else "a number"
        raise ValueError(f"setting {key!r} must be {what} above 0, not {value!r}")
    return kind(value)
