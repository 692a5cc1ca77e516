"""ComfyUI workflows: the built-in text-to-image graph, user files, and patching them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telestrations.providers.base import ProviderError
from telestrations.text import clean_text

SAMPLERS = ("KSampler", "KSamplerAdvanced")
SIZE_NODES = ("EmptyLatentImage", "EmptySD3LatentImage", "EmptyHunyuanLatentVideo")


@dataclass(frozen=True)
class Workflow:
    """A user's API-format workflow file and which nodes take the prompt, seed and size."""

    name: str
    file: str
    prompt_node: str = ""
    negative_node: str = ""
    seed_node: str = ""
    size_node: str = ""
    output_node: str = ""
    label: str = ""
    note: str = ""


def default_workflow(checkpoint: str, p: Mapping[str, Any]) -> dict[str, Any]:
    """The built-in text-to-image graph (PROTOCOLS.md 10.2) for any installed checkpoint."""
    return {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": checkpoint}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["1", 1]}},
        "3": {
            "class_type": "CLIPTextEncode",
            "inputs": {"text": str(p["negative_prompt"]), "clip": ["1", 1]},
        },
        "4": {
            "class_type": "EmptyLatentImage",
            "inputs": {"width": int(p["width"]), "height": int(p["height"]), "batch_size": 1},
        },
        "5": {
            "class_type": "KSampler",
            "inputs": {
                "model": ["1", 0],
                "positive": ["2", 0],
                "negative": ["3", 0],
                "latent_image": ["4", 0],
                "seed": 0,
                "steps": int(p["steps"]),
                "cfg": float(p["cfg"]),
                "sampler_name": str(p["sampler_name"]),
                "scheduler": str(p["scheduler"]),
                "denoise": 1.0,
            },
        },
        "6": {"class_type": "VAEDecode", "inputs": {"samples": ["5", 0], "vae": ["1", 2]}},
        "7": {
            "class_type": "SaveImage",
            "inputs": {"images": ["6", 0], "filename_prefix": str(p["filename_prefix"])},
        },
    }


def from_picture(graph: dict[str, Any], image: str, denoise: float) -> dict[str, Any]:
    """The built-in graph drawing from an uploaded picture (memory play): ``LoadImage`` →
    ``VAEEncode`` replaces the empty latent, and the sampler keeps only part of the noise."""
    graph["8"] = {"class_type": "LoadImage", "inputs": {"image": image}}
    graph["4"] = {"class_type": "VAEEncode", "inputs": {"pixels": ["8", 0], "vae": ["1", 2]}}
    graph["5"]["inputs"]["denoise"] = float(denoise)
    return graph


def load_workflow(path: Path) -> dict[str, Any]:
    """An API-format workflow from a file (runs in a thread); a clear error for the UI format."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProviderError(
            "not_found", f"workflow file {str(path)!r} not found", hint="fix file = in config"
        ) from None
    except (OSError, ValueError) as exc:
        raise ProviderError(
            "bad_request",
            f"workflow file {str(path)!r} is not readable JSON: {clean_text(str(exc), 120)}",
            hint="export it from ComfyUI with Save (API Format)",
        ) from None
    if isinstance(data, dict) and isinstance(data.get("prompt"), dict):
        data = data["prompt"]  # a saved /prompt body
    if isinstance(data, dict) and "nodes" in data and "links" in data:
        raise ProviderError(
            "bad_request",
            f"workflow file {str(path)!r} is in ComfyUI's UI format, not the API format",
            hint="in ComfyUI use Workflow → Export (API), i.e. Save (API Format)",
        )
    if (
        not isinstance(data, dict)
        or not data
        or not all(isinstance(n, dict) and "class_type" in n for n in data.values())
    ):
        raise ProviderError(
            "bad_request",
            f"workflow file {str(path)!r} is not an API-format workflow",
            hint="export it from ComfyUI with Save (API Format)",
        )
    return data


def _link(value: Any) -> str | None:
    """The node id a ``["5", 0]`` link points at."""
    if isinstance(value, list) and len(value) == 2 and isinstance(value[1], int):
        return str(value[0])
    return None


def _text_node(graph: Mapping[str, Any], start: str | None, depth: int = 0) -> str | None:
    """Follow a conditioning link back to the node that holds the text (bounded)."""
    if start is None or start not in graph or depth > 8:
        return None
    inputs = graph[start].get("inputs", {})
    if isinstance(inputs.get("text"), str | list) or "text_g" in inputs:
        return start
    for key in ("conditioning", "conditioning_1", "positive", "conditioning_to"):
        found = _text_node(graph, _link(inputs.get(key)), depth + 1)
        if found:
            return found
    return None


def _node(graph: Mapping[str, Any], node: str, role: str, flow: str) -> dict[str, Any]:
    found = graph.get(node)
    if not isinstance(found, dict):
        raise ProviderError(
            "bad_request",
            f"workflow {flow!r} has no node {node!r} ({role})",
            hint=f"fix {role} under [providers.comfyui.workflows.{flow}]",
        )
    found.setdefault("inputs", {})
    return found


def _set_text(node: dict[str, Any], text: str) -> None:
    inputs = node["inputs"]
    if "text_g" in inputs or "text_l" in inputs:  # CLIPTextEncodeSDXL
        inputs["text_g"] = inputs["text_l"] = text
    elif "prompt" in inputs and "text" not in inputs:
        inputs["prompt"] = text
    else:
        inputs["text"] = text


def patch_workflow(
    graph: dict[str, Any],
    flow: Workflow,
    *,
    text: str,
    seed: int,
    negative: str | None,
    size: tuple[int, int] | None,
) -> dict[str, Any]:
    """Put the prompt, seed and (when asked) negative prompt and size into ``graph``.

    Nodes named in config win; otherwise they are found by class: the prompt is the text
    node linked to a sampler's ``positive``, the negative the one on its ``negative``.
    Returns what was patched, for the picture's extras.
    """
    samplers = [k for k, n in graph.items() if n.get("class_type") in SAMPLERS]
    prompt_id: str | None = flow.prompt_node
    negative_id: str | None = flow.negative_node
    if not prompt_id:
        for sid in samplers:
            prompt_id = _text_node(graph, _link(graph[sid].get("inputs", {}).get("positive")))
            if prompt_id:
                break
    if not prompt_id:
        encoders = [k for k, n in graph.items() if n.get("class_type") == "CLIPTextEncode"]
        if len(encoders) == 1:
            prompt_id = encoders[0]
    if not prompt_id:
        raise ProviderError(
            "bad_request",
            f"cannot tell which node of workflow {flow.name!r} takes the prompt",
            hint=f"set prompt_node under [providers.comfyui.workflows.{flow.name}]",
        )
    _set_text(_node(graph, prompt_id, "prompt_node", flow.name), text)
    done: dict[str, Any] = {"prompt_node": prompt_id}
    if negative is not None:
        if not negative_id:
            for sid in samplers:
                negative_id = _text_node(graph, _link(graph[sid].get("inputs", {}).get("negative")))
                if negative_id:
                    break
        if negative_id and negative_id != prompt_id:
            _set_text(_node(graph, negative_id, "negative_node", flow.name), negative)
    seeded = [flow.seed_node] if flow.seed_node else samplers
    for sid in seeded:
        inputs = _node(graph, sid, "seed_node", flow.name)["inputs"]
        key = "noise_seed" if "noise_seed" in inputs else "seed"
        inputs[key] = seed
    if seeded:
        done["seed"] = seed
    if size is not None:
        sized = (
            [flow.size_node]
            if flow.size_node
            else [k for k, n in graph.items() if n.get("class_type") in SIZE_NODES]
        )
        for nid in sized:
            inputs = _node(graph, nid, "size_node", flow.name)["inputs"]
            inputs["width"], inputs["height"] = size
    return done
