"""``tui.text.plain`` cleans a text once, and a secret learnt later is still redacted."""

from __future__ import annotations

from telestrations.text import SECRETS
from telestrations.tui.text import plain

KEY = "sk-cache-0123456789abcdefghijklmnop"


def test_the_same_text_is_cleaned_once() -> None:
    text = "a model \x1b[31mnamed\x1b[0m like this"
    first = plain(text, "bold", oneline=True, limit=60)
    assert plain(text, "bold", oneline=True, limit=60) is first  # no second clean
    assert first.plain == "a model named like this"
    assert plain(text, "italic", oneline=True, limit=60) is not first  # its own style


def test_a_key_added_after_the_text_was_shown_is_redacted_from_then_on() -> None:
    caption = f"the guesser repeated {KEY} back"
    assert KEY in plain(caption).plain  # not a secret yet: shown as is
    SECRETS.add(KEY)
    assert KEY not in plain(caption).plain
    assert "***" in plain(caption).plain
