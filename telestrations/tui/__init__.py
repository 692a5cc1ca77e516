"""The Textual terminal UI. Everything Textual lives here; nothing below imports it."""
