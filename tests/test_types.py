"""mypy over the package is part of the suite, so a type error fails the one test command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _mypy(*args: str) -> subprocess.CompletedProcess[str]:
    # The cache (.mypy_cache, ignored by git) keeps a rerun to a few seconds.
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_package_has_no_type_errors() -> None:
    out = _mypy()
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Success: no issues found" in out.stdout


def test_the_gate_catches_untyped_and_wrong_code(tmp_path: Path) -> None:
    """The project's settings are strict enough to refuse what the package must not contain."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        'def untyped(x):\n    return x\n\ndef wrong() -> int:\n    return "text"\n',
        encoding="utf-8",
    )
    out = _mypy("--cache-dir", str(tmp_path / "cache"), str(bad))
    assert out.returncode == 1, out.stdout + out.stderr
    assert "[no-untyped-def]" in out.stdout
    assert "[return-value]" in out.stdout
