"""Keep freed multi-megabyte buffers in the process for the next round.

Every round moves a few 2-5 MB buffers: the drawer's answer, its base64 text, the decoded
picture, the guesser's request. glibc's malloc gives blocks that size their own ``mmap`` (or
trims them off the top of the heap once freed), so the next round's buffers are faulted in
again page by page: ~500 page faults a round, over 1 ms of its critical path on a 2-core
machine (``bench/round_overhead.py``). With both thresholds raised they are reused instead;
the process holds at most a round's worth of them, however many rounds are played.
"""

from __future__ import annotations

import ctypes
import os
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024
"""Blocks up to this size come from the heap (glibc's ceiling for this setting)."""
TRIM_THRESHOLD = 128 * 1024 * 1024
"""Free memory at the top of the heap beyond this goes back to the kernel."""


def keep_big_buffers() -> bool:
    """Raise glibc's thresholds for this process; False (nothing changed) elsewhere."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return False  # musl and others: their malloc, their rules
        mallopt = ctypes.CDLL(None).mallopt
    except (ValueError, OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(
        mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
