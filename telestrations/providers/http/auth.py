"""The one place auth headers are built, so every provider sends (and redacts) them alike."""

from __future__ import annotations

import base64
from typing import Literal
from urllib.parse import unquote, urlsplit

AuthScheme = Literal["bearer", "basic", "header"]


def split_user(key: str, user: str = "") -> tuple[str, str]:
    """``(user, password)``: a key stored whole as ``user:password`` when no user is set."""
    if not user and ":" in key:
        name, _, password = key.partition(":")
        return name, password
    return user, key


def basic_token(user: str, password: str) -> str:
    """The token of ``Authorization: Basic`` for ``user:password``."""
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def auth_headers(
    key: str = "",
    *,
    scheme: AuthScheme = "bearer",
    user: str = "",
    header: str = "Authorization",
    base_url: str = "",
) -> dict[str, str]:
    """Headers carrying ``key``: Bearer; Basic when a ``user`` is given (or ``scheme`` says
    so); the raw key under a custom ``header`` name (``x-goog-api-key``) for ``"header"``.

    With no key, a ``user:password@`` in ``base_url`` becomes Basic, so clients that do not
    go through httpx's URL handling (a websocket) authenticate the same way.
    """
    if key and scheme == "header":
        return {header: key}
    if key and (user or scheme == "basic"):
        return {header: f"Basic {basic_token(user, key)}"}
    if key:
        return {header: f"Bearer {key}"}
    parts = urlsplit(base_url) if base_url else None
    if parts is not None and parts.username is not None:
        token = basic_token(unquote(parts.username), unquote(parts.password or ""))
        return {header: f"Basic {token}"}
    return {}
