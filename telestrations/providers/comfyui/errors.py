"""ComfyUI's error shapes (PROTOCOLS.md 10.4, 10.5) as one-line errors with a hint."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from telestrations.providers.base import ProviderError
from telestrations.text import clean_text

CHECKPOINT_HINT = "put it in ComfyUI's models/checkpoints, or pick one `telestrations models` lists"


def _short(text: Any, limit: int = 200) -> str:
    """One line; a long ``not in [...]`` option list cut to its start."""
    value = clean_text(str(text or ""), 2000)
    if " not in [" in value and len(value) > limit:
        head, _, rest = value.partition(" not in [")
        value = f"{head} not in [{rest[:80]}…]"
    return clean_text(value, limit)


def prompt_error(data: Any) -> ProviderError | None:
    """A ``POST /prompt`` 400 (PROTOCOLS.md 10.4) as one line with a hint."""
    if not isinstance(data, dict):
        return None
    error = data.get("error")
    node_errors = data.get("node_errors")
    if isinstance(node_errors, dict) and node_errors:
        for node_id, entry in node_errors.items():
            if not isinstance(entry, dict):
                continue
            cls = str(entry.get("class_type") or "?")
            for err in entry.get("errors") or []:
                if not isinstance(err, dict):
                    continue
                details = str(err.get("details") or "")
                if err.get("type") == "value_not_in_list" and details.startswith("ckpt_name"):
                    wanted = details.split("'")[1] if details.count("'") >= 2 else details
                    return ProviderError(
                        "not_found",
                        f"ComfyUI has no checkpoint {_short(wanted, 120)!r}",
                        hint=CHECKPOINT_HINT,
                        status=400,
                    )
                said = _short(f"{err.get('message') or err.get('type')}: {details}")
                hint = "check the workflow's inputs (or the options for this model)"
                if err.get("type") == "value_not_in_list":
                    hint = "the value is not one this ComfyUI offers (see /object_info)"
                return ProviderError(
                    "bad_request",
                    f"ComfyUI rejected node {node_id} ({_short(cls, 60)}): {said}",
                    hint=hint,
                    status=400,
                )
    if isinstance(error, dict):
        kind = str(error.get("type") or "")
        message = _short(error.get("message") or kind)
        details = _short(error.get("details") or "", 160)
        said = f"{message}: {details}" if details and details not in message else message
        hint = {
            "invalid_prompt": "a node class is missing: install its custom node, or fix the "
            "workflow",
            "prompt_no_outputs": "the workflow needs a SaveImage or PreviewImage node",
            "no_prompt": "this is a bug in telestrations; please report it",
        }.get(kind, "check the workflow")
        return ProviderError("bad_request", f"ComfyUI: {said}", hint=hint, status=400)
    if isinstance(error, str) and error:
        return ProviderError("bad_request", f"ComfyUI: {_short(error)}", status=400)
    return None


def execution_error(data: Mapping[str, Any]) -> ProviderError:
    """A runtime ``execution_error`` (websocket or history): the node and exception, no
    traceback."""
    node = str(data.get("node_id") or "?")
    cls = _short(data.get("node_type") or "?", 60)
    exc_type = _short(data.get("exception_type") or "", 80)
    message = _short(data.get("exception_message") or "", 200)
    where = f"node {node} ({cls})"
    if "outofmemory" in exc_type.lower().replace(" ", "") or "out of memory" in message.lower():
        return ProviderError(
            "server",
            f"ComfyUI ran out of GPU memory in {where}",
            hint="lower width/height, or start ComfyUI with --lowvram",
        )
    said = f"{exc_type}: {message}" if exc_type and message else exc_type or message or "failed"
    return ProviderError(
        "server",
        f"ComfyUI failed in {where}: {said}",
        hint="the ComfyUI console has the traceback",
    )


def interrupted() -> ProviderError:
    return ProviderError(
        "server",
        "ComfyUI interrupted the run (someone pressed cancel, or another client interrupted)",
        hint="resume to draw again",
    )
