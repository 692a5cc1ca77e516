"""Screens and dialogs: model picker, key dialog, image viewer, help, past games, confirm."""
