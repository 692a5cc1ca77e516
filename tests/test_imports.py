"""Import hygiene: everything but tui/ imports without Textual (DESIGN.md)."""

from __future__ import annotations

import subprocess
import sys

HEADLESS = [
    "telestrations.game",
    "telestrations.store",
    "telestrations.turns",
    "telestrations.config",
    "telestrations.keys",
    "telestrations.state",
    "telestrations.runtime",
    "telestrations.session",
    "telestrations.cli",
    "telestrations.cli.parser",
    "telestrations.cli.run",
    "telestrations.cli.commands",
    "telestrations.providers.base",
    "telestrations.providers.registry",
    "telestrations.providers.doodle",
    "telestrations.providers.http",
    "telestrations.providers.openai",
    "telestrations.providers.ollama",
    "telestrations.providers.runpod",
    "telestrations.providers.automatic1111",
    "telestrations.providers.comfyui",
    "telestrations.providers.spec",
]


def test_headless_modules_do_not_import_textual() -> None:
    code = (
        "import sys\n"
        f"for name in {HEADLESS!r}:\n"
        "    __import__(name)\n"
        "from telestrations.runtime import Runtime\n"
        "Runtime.load()\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'textual_image'))\n"
        "print(' '.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "", f"textual imported by headless code: {out.stdout}"


def test_engine_imports_without_httpx() -> None:
    code = (
        "import sys\n"
        "import telestrations.game, telestrations.store\n"
        "print('httpx' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"
