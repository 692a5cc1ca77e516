"""What the program writes to a terminal: never a control sequence it did not mean to send.

Text from outside (captions, error bodies, model names a server listed, prompts from flags,
the state file or a past game's journal, folder names) reaches the CLI's output through many
paths: our lines, argparse's echo of a bad value, log records. Rather than trust every call
site, the headless commands write through :class:`CleanStream`, which drops escape sequences
and control characters (via :func:`telestrations.text.clean`) from everything, so a caption
cannot retitle, blank or restyle the terminal. JSON output stays lossless: :func:`json_line`
writes such characters as ``\\u`` escapes before the stream sees them.

:func:`title_kept` saves and restores the terminal's title around the one moment the TUI
sends queries of its own (textual-image's graphics probe), which tmux and GNU screen would
otherwise keep as the pane title.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any, TextIO, cast

from telestrations.text import clean


class CleanStream:
    """A text stream that writes ``clean(text)`` to ``inner``: newlines kept, escapes gone.

    Every character of a control sequence that could act on a terminal is removed, so even a
    sequence split over two writes is harmless (its ``ESC`` goes with the first).
    """

    def __init__(self, inner: TextIO) -> None:
        self.inner = inner

    def write(self, text: str) -> int:
        self.inner.write(clean(text, limit=0))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self.inner.flush()

    def fileno(self) -> int:
        return self.inner.fileno()

    def isatty(self) -> bool:
        return self.inner.isatty()

    def __getattr__(self, name: str) -> Any:  # encoding, errors, buffer, closed, ...
        return getattr(self.inner, name)


@contextmanager
def clean_output() -> Iterator[None]:
    """``sys.stdout`` and ``sys.stderr`` (and so ``print`` and log handlers made inside)
    write through :class:`CleanStream`; the originals come back on exit."""
    saved = sys.stdout, sys.stderr
    sys.stdout = cast(TextIO, CleanStream(saved[0]))
    sys.stderr = cast(TextIO, CleanStream(saved[1]))
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


_UNSAFE_IN_JSON = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def json_line(value: Any) -> str:
    """``value`` as one line of JSON (UTF-8 kept readable) with no raw character a terminal
    would act on: DEL, C1 controls and bidi marks are written as ``\\uXXXX`` (json already
    escapes C0), so the data stays exact and :class:`CleanStream` has nothing to drop."""
    text = json.dumps(value, ensure_ascii=False)
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


PUSH_TITLE = "\x1b[22;0t"
"""XTWINOPS: save the window and icon titles on the terminal's title stack."""
POP_TITLE = "\x1b[23;0t"
"""XTWINOPS: restore them."""


@contextmanager
def title_kept(stream: IO[str] | None = None) -> Iterator[None]:
    """Save the terminal's title before the body and restore it after, on a terminal only.

    textual-image asks the terminal about Kitty graphics with an APC string; tmux (and screen)
    take any APC string as the pane title, so without this the title stays
    ``Gi=…,a=q,…;AAAA`` after the app has quit. xterm, tmux and most terminals keep a title
    stack (CSI 22/23 t); those without one ignore the request.
    """
    out = stream if stream is not None else sys.__stdout__
    tty = False
    try:
        tty = out is not None and out.isatty()
    except (OSError, ValueError):  # closed
        tty = False
    if tty:
        assert out is not None
        out.write(PUSH_TITLE)
        out.flush()
    try:
        yield
    finally:
        if tty:
            assert out is not None
            try:
                out.write(POP_TITLE)
                out.flush()
            except (OSError, ValueError):
                pass
