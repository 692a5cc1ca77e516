"""Widgets of the main screen: controls, history cards, status line."""
