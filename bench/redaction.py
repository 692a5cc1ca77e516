"""What the one redactor costs: every record, printed line, log line and displayed text
passes :class:`telestrations.text.Secrets`, so it must be cheap for a caption and bounded for
a 256 KB error body.

    /work/venv/bin/python bench/redaction.py [--secrets 5]
"""

from __future__ import annotations

import argparse
import secrets as random_secrets
import time

from telestrations.text import Secrets, clean


def per_call(fn, arg, seconds: float = 0.5) -> float:  # type: ignore[no-untyped-def]
    """Microseconds per call of ``fn(arg)``, averaged over about ``seconds``."""
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn(arg)
        n += 1
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--secrets", type=int, default=5, help="how many secrets are known")
    args = parser.parse_args()
    keys = [f"sk-proj-{random_secrets.token_urlsafe(36)}" for _ in range(args.secrets)]
    s = Secrets(keys)
    s.add_url(f"http://alice:{random_secrets.token_urlsafe(12)}@gpu-box:11434")
    caption = "A small red house under a bright yellow sun, with a dog in the garden."
    body = ("<html><body>" + "an error page line of ordinary text\n" * 7000)[: 256 * 1024]
    leaky = body[:5000] + keys[0] + body[5000:]
    print(f"{len(s)} secrets, {len(s.forms)} forms redacted (raw, encoded, base64, Basic)")
    print(f"caption ({len(caption)} chars):       {per_call(s.redact, caption):9.1f} µs")
    print(f"clean(caption), no secrets:     {per_call(clean, caption):9.1f} µs")
    print(f"error body ({len(body) // 1024} KB), clean:    {per_call(s.redact, body):9.1f} µs")
    print(f"error body ({len(leaky) // 1024} KB), one key: {per_call(s.redact, leaky):9.1f} µs")


if __name__ == "__main__":
    main()
