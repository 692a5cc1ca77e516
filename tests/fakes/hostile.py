"""An "echo the key" mode for any fake: a hostile server (or a compromised proxy) that puts the
secrets it was sent, in every form, into every text field of every answer.

:func:`make_hostile` wraps a started or unstarted :class:`~tests.fakes.server.FakeAPI` so that
each reply (the fake's normal protocol-faithful answer, or a scripted one) is poisoned:

- every string in a JSON body (captions, refusals, ``revised_prompt``, model names in
  listings, error messages, RunPod job errors, A1111 infotext) gets the echo appended,
  except the fields the protocol needs intact (image data, job ids, states) listed in
  ``keep``;
- streamed bodies (SSE ``data:`` events and NDJSON lines) are poisoned event by event, and a
  body that is not JSON gets the echo appended;
- the ``x-request-id`` header carries the echo too (it reaches debug logs).

The echo holds the request's own ``Authorization`` header (``Bearer <key>`` or the Basic token
of ``user:password``) and every form of every secret in ``secrets``: raw, URL-encoded and
base64.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Collection, Iterable
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from tests.fakes.server import FakeAPI, Reply, Request

IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"RIFF", b"GIF8")


def forms(secret: str) -> list[str]:
    """The forms a leaked secret is looked for in: as is, URL-encoded, base64."""
    return [secret, quote(secret, safe=""), base64.b64encode(secret.encode()).decode()]


def echo_text(req: Request, secrets: Iterable[str]) -> str:
    parts = [req.header("Authorization") or ""]
    for secret in secrets:
        parts += forms(secret)
    return " [echo " + " ".join(p for p in parts if p) + "]"


def poison(value: Any, text: str, keep: Collection[str]) -> Any:
    """``value`` with ``text`` appended to every string, except under the keys in ``keep``,
    in data: URIs, result URLs and long unbroken strings (base64 image data)."""
    if isinstance(value, dict):
        return {k: v if k in keep else poison(v, text, keep) for k, v in value.items()}
    if isinstance(value, list):
        return [poison(v, text, keep) for v in value]
    if isinstance(value, str):
        if value.startswith(("data:", "http://", "https://")) or (
            len(value) > 200 and " " not in value
        ):
            return value
        return value + text
    return value


def _poison_line(line: bytes, text: str, keep: Collection[str]) -> bytes:
    prefix = b""
    body = line
    if line.startswith(b"data: "):
        prefix, body = b"data: ", line[6:]
    stripped = body.strip()
    if not stripped or stripped == b"[DONE]":
        return line
    try:
        data = json.loads(stripped)
    except ValueError:
        return line
    tail = body[len(body.rstrip()) :]
    return prefix + json.dumps(poison(data, text, keep)).encode() + tail


def poison_reply(reply: Reply, text: str, keep: Collection[str]) -> Reply:
    headers = {**reply.headers, "x-request-id": f"req_{text.strip()}"}
    if reply.pieces is not None:
        pieces = [
            b"".join(_poison_line(ln, text, keep) for ln in p.splitlines(keepends=True))
            for p in reply.pieces
        ]
        return replace(reply, pieces=pieces, headers=headers)
    body = reply.body
    if isinstance(body, bytes):
        if body.startswith(IMAGE_MAGIC):
            return replace(reply, headers=headers)
        try:
            body = poison(json.loads(body), text, keep) if body.strip() else body
        except ValueError:
            body = body + text.encode()
    elif isinstance(body, str):
        try:
            body = json.dumps(poison(json.loads(body), text, keep))
        except ValueError:
            body = body + text
    else:
        body = poison(body, text, keep)
    return replace(reply, body=body, headers=headers)


def make_hostile(
    api: FakeAPI, secrets: Iterable[str], keep: Collection[str] = ()
) -> Callable[[], None]:
    """Poison every reply of ``api`` (scripted ones too); returns a function that stops it."""
    secrets = tuple(secrets)
    dispatch = api._dispatch

    def hostile(req: Request) -> Reply:
        return poison_reply(dispatch(req), echo_text(req, secrets), keep)

    api._dispatch = hostile  # type: ignore[method-assign]
    return lambda: setattr(api, "_dispatch", dispatch)
