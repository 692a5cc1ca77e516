"""``alloc.keep_big_buffers``: a round's multi-MB buffers are reused, not faulted in anew."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Thirty "rounds" of what a round allocates: a 3 MB answer, copied twice, then freed.
PROBE = """
import resource, sys
sys.path.insert(0, sys.argv[1])
if sys.argv[2] == "tuned":
    from telestrations.alloc import keep_big_buffers
    assert keep_big_buffers()
answer = b"x" * (3 * 1024 * 1024)
for _ in range(3):  # warm up
    copy = answer + b"!"; again = copy + b"?"; del copy, again
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(30):
    copy = answer + b"!"; again = copy + b"?"; del copy, again
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults(mode: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(ROOT), mode],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "GLIBC_TUNABLES": ""},
    )
    return int(out.stdout)


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or not os.confstr("CS_GNU_LIBC_VERSION"),
    reason="glibc's malloc only; elsewhere keep_big_buffers changes nothing and says so",
)
def test_big_buffers_are_reused_instead_of_faulted_in_again() -> None:
    untuned, tuned = faults("plain"), faults("tuned")
    # Each 3 MB block mapped anew costs ~770 page faults; reused, next to none.
    assert untuned > 30 * 700, untuned
    assert tuned < untuned / 10, (tuned, untuned)
