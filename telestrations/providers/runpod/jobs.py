"""Reading RunPod jobs: worker errors, the image in any output shape, progress."""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from telestrations.providers.base import (
    ProviderError,
)
from telestrations.text import clean_text, redact

log = logging.getLogger(__name__)


if TYPE_CHECKING:
    pass

# -- reading jobs -------------------------------------------------------------------------------


def worker_message(error: Any) -> str:
    """A FAILED job's ``error`` as one readable line.

    It may be a plain string, a JSON-encoded string from a Python exception in the worker
    (``error_message``/``error_type``), a list of validator errors, or an object.
    """
    if isinstance(error, str):
        try:
            decoded = json.loads(error)
        except ValueError:
            return error
        if isinstance(decoded, (dict, list)):
            return worker_message(decoded)
        return error
    if isinstance(error, list):
        return "; ".join(worker_message(e) for e in error)
    if isinstance(error, dict):
        for key in ("error_message", "message", "error", "detail"):
            if key in error:
                text = worker_message(error[key])
                kind = error.get("error_type")
                return f"{kind}: {text}" if isinstance(kind, str) and kind else text
        return json.dumps(error)[:500]
    return str(error)


_BAD_INPUT = ("invalid parameter", "unexpected input", "required input", "constraints", "must be")
_REFUSED = ("nsfw", "safety", "content policy", "inappropriate")


def job_error(job: Mapping[str, Any], secrets: tuple[str, ...] = ()) -> ProviderError:
    """The :class:`ProviderError` for a job that ended FAILED, TIMED_OUT or CANCELLED."""
    status = str(job.get("status", ""))
    job_id = str(job.get("id", ""))
    if status == "TIMED_OUT":
        return ProviderError(
            "timeout",
            f"RunPod job {job_id} ran past the endpoint's execution timeout",
            hint="raise the execution timeout in the endpoint's settings",
        )
    if status == "CANCELLED":
        return ProviderError("server", f"RunPod job {job_id} was cancelled on RunPod")
    text = clean_text(redact(worker_message(job.get("error", "")), secrets)) or "no reason given"
    lowered = text.lower()
    if any(word in lowered for word in _REFUSED):
        return ProviderError("refused", f"the worker refused: {text}")
    if any(word in lowered for word in _BAD_INPUT):
        return ProviderError(
            "bad_request",
            f"the worker rejected the input: {text}",
            hint="check this model's width, height, schema and input options",
        )
    return ProviderError(
        "server",
        f"the RunPod job failed: {text}",
        hint="the worker's own error: its logs are in the RunPod console (Serverless → logs); "
        "resuming the game tries again",
    )


@dataclass(frozen=True)
class ImageRef:
    """Where the image is (URL, data URI or bare base64) and what came with it."""

    value: str
    seed: Any = None
    cost: float | None = None


def find_image(output: Any) -> ImageRef | None:
    """The first image in any output shape RunPod workers produce (PROTOCOLS.md 4.4–4.6).

    A list of ``{image, seed}``; an object with ``image_url`` and/or ``images``
    (entries being strings or objects); a bare string; or any of those one level down
    (``{"output": ...}``, ``{"result": ...}``).
    """
    cost = None
    seed = None
    if isinstance(output, dict):
        if isinstance(output.get("cost"), (int, float)):
            cost = float(output["cost"])
        seed = output.get("seed")
    found = _first_image(output, 0)
    if found is None:
        return None
    value, entry_seed = found
    return ImageRef(value, entry_seed if entry_seed is not None else seed, cost)


def _first_image(value: Any, depth: int) -> tuple[str, Any] | None:
    if depth > 3:
        return None
    if isinstance(value, str):
        return (value, None) if value.strip() else None
    if isinstance(value, list):
        for item in value:
            found = _first_image(item, depth + 1)
            if found is not None:
                return found
        return None
    if isinstance(value, dict):
        for key in ("image_url", "image", "images", "url", "output", "result", "data"):
            if key in value:
                found = _first_image(value[key], depth + 1)
                if found is not None:
                    return found[0], found[1] if found[1] is not None else value.get("seed")
    return None


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def job_progress(job: Mapping[str, Any]) -> str:
    """A short note for an unfinished job: queued, or running (with the worker's own
    ``progress_update`` text, which the status route returns as ``output`` meanwhile)."""
    status = str(job.get("status", ""))
    if status == "IN_QUEUE":
        return "in the queue, waiting for a worker"
    note = "running on a worker"
    delay = job.get("delayTime")
    if isinstance(delay, int | float) and not isinstance(delay, bool) and delay >= 1000:
        note += f" (queued {delay / 1000:.0f} s)"
    said = job.get("output")
    if isinstance(said, str) and said.strip():
        note += f": {clean_text(said, 60)}"
    return note
