"""Kept for old imports: exports live in :mod:`telestrations.exports`."""

from __future__ import annotations

from telestrations.exports import export_game, export_html

__all__ = ["export_game", "export_html"]
