"""A protocol-faithful fake of Ollama's native REST API (PROTOCOLS.md section 3).

It validates requests the way ``server/routes.go`` does: an empty body is "missing request
body", ``images`` must be standard base64 (a ``data:`` prefix fails with Go's decode error
text), an unknown model is a 404 "try pulling it first", and ``stream`` defaults to *true*
(NDJSON). Every image is decoded with Pillow, so a caption proves a real image arrived.
"""

from __future__ import annotations

import binascii
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from tests.fakes.server import FakeAPI, Reply, Request, json_reply

_B64 = re.compile(rb"[A-Za-z0-9+/=\r\n]")
_DURATION = re.compile(r"^-?(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")
CREATED_AT = "2026-11-25T02:00:00.000000000Z"


@dataclass
class SeenImage:
    """What the fake decoded from one ``images`` entry."""

    format: str
    width: int
    height: int
    size: int


@dataclass
class FakeModel:
    """One pulled model as ``/api/tags`` and ``/api/show`` describe it."""

    name: str
    """Full ``name:tag``, e.g. ``llava:latest``."""
    family: str = "llama"
    families: list[str] = field(default_factory=lambda: ["llama", "clip"])
    capabilities: list[str] | None = field(default_factory=lambda: ["completion", "vision"])
    """``None`` imitates a server too old to report capabilities."""
    projector: bool = True
    parameter_size: str = "7B"
    reply: str | Callable[[str, str, list[SeenImage]], str] = "A doodle of a cat on a bicycle"
    """The answer, or a function of (system, prompt, images) returning it."""

    def answer(self, system: str, prompt: str, images: list[SeenImage]) -> str:
        if callable(self.reply):
            return self.reply(system, prompt, images)
        if images:
            first = images[0]
            return f"{self.reply} ({first.width}x{first.height} {first.format})"
        return self.reply


def default_models() -> list[FakeModel]:
    """The original's three guessers plus a current one and a text-only model."""
    return [
        FakeModel("llava:latest"),
        FakeModel("bakllava:latest", family="llama", families=["llama", "clip"]),
        FakeModel("moondream:latest", family="phi2", families=["phi2", "clip"]),
        FakeModel("llama3.2-vision:11b", family="mllama", families=["mllama"]),
        FakeModel(
            "llama3.2:3b",
            families=["llama"],
            capabilities=["completion", "tools"],
            projector=False,
            reply="I see a beautiful sunset over the ocean",
        ),
    ]


def go_base64_error(value: str) -> str | None:
    """Go's ``base64.StdEncoding`` error text for ``value``, or ``None`` when it decodes."""
    raw = value.encode()
    for i, byte in enumerate(raw):
        if not _B64.match(bytes([byte])):
            return f"illegal base64 data at input byte {i}"
    try:
        binascii.a2b_base64(raw, strict_mode=True)
    except binascii.Error:
        return f"illegal base64 data at input byte {len(raw.rstrip(b'='))}"
    return None


def _full_name(name: str) -> str:
    return name if ":" in name else f"{name}:latest"


class FakeOllama(FakeAPI):
    """``/``, ``/api/version``, ``/api/tags``, ``/api/show``, ``/api/chat``, ``/api/generate``."""

    def __init__(self, models: list[FakeModel] | None = None, version: str = "0.12.6") -> None:
        super().__init__()
        self.models = {m.name: m for m in (models if models is not None else default_models())}
        self.version = version
        self.token_delay = 0.0
        """Seconds between streamed lines (a model generating)."""
        self.stream_error: str | None = None
        """When set, streamed replies send one chunk and then ``{"error": ...}`` with HTTP 200."""
        self.images: list[SeenImage] = []
        self.tag_capabilities = False
        """Send ``capabilities`` in ``/api/tags`` items, as servers do since v0.30 (8.7)."""
        self.require_bearer: str | None = None
        """When set, every route answers 401 unless ``Authorization: Bearer <this>`` (a proxy)."""

    # -- routing -------------------------------------------------------------
    def handle(self, req: Request) -> Reply:
        if self.require_bearer and req.header("Authorization") != f"Bearer {self.require_bearer}":
            return Reply(401, "Unauthorized", {"Content-Type": "text/plain"})
        route = (req.method, req.path)
        if req.path == "/" and req.method in ("GET", "HEAD"):
            return Reply(200, "Ollama is running", {"Content-Type": "text/plain; charset=utf-8"})
        if route == ("GET", "/api/version"):
            return json_reply(200, {"version": self.version})
        if route == ("GET", "/api/tags"):
            return json_reply(200, {"models": [self._tag(m) for m in self.models.values()]})
        if route == ("POST", "/api/show"):
            return self._show(req)
        if route == ("POST", "/api/chat"):
            return self._complete(req, chat=True)
        if route == ("POST", "/api/generate"):
            return self._complete(req, chat=False)
        return Reply(404, "404 page not found", {"Content-Type": "text/plain"})

    # -- bodies ---------------------------------------------------------------
    @staticmethod
    def _body(req: Request) -> tuple[dict[str, Any] | None, Reply | None]:
        if not req.body.strip():
            return None, json_reply(400, {"error": "missing request body"})
        try:
            body = json.loads(req.body)
        except ValueError as exc:
            return None, json_reply(400, {"error": f"invalid character: {exc.msg}"})
        if not isinstance(body, dict):
            return None, json_reply(
                400, {"error": "json: cannot unmarshal array into Go value of type api.ChatRequest"}
            )
        return body, None

    def _model(self, name: str) -> FakeModel | None:
        return self.models.get(_full_name(name))

    @staticmethod
    def _details(m: FakeModel) -> dict[str, Any]:
        return {
            "parent_model": "",
            "format": "gguf",
            "family": m.family,
            "families": m.families,
            "parameter_size": m.parameter_size,
            "quantization_level": "Q4_0",
        }

    def _tag(self, m: FakeModel) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": m.name,
            "model": m.name,
            "modified_at": "2026-11-20T10:00:00.000000000Z",
            "size": 4_733_363_377,
            "digest": f"{abs(hash(m.name)):064x}"[:64],
            "details": self._details(m),
        }
        if self.tag_capabilities and m.capabilities is not None:
            out["capabilities"] = m.capabilities
        return out

    def _show(self, req: Request) -> Reply:
        body, error = self._body(req)
        if error is not None:
            return error
        assert body is not None
        name = body.get("model") or body.get("name")
        if not name:
            return json_reply(400, {"error": "model is required"})
        m = self._model(str(name))
        if m is None:
            return json_reply(404, {"error": f"model '{name}' not found"})
        out: dict[str, Any] = {
            "license": "",
            "modelfile": f"FROM {m.name}\n",
            "parameters": 'stop "USER:"',
            "template": "{{ .Prompt }}",
            "details": self._details(m),
            "model_info": {"general.architecture": m.family, "general.parameter_count": 7e9},
            "modified_at": "2026-11-20T10:00:00.000000000Z",
        }
        if m.projector:
            out["projector_info"] = {
                "general.architecture": "clip",
                "clip.has_vision_encoder": True,
            }
        if m.capabilities is not None:
            out["capabilities"] = m.capabilities
        return json_reply(200, out)

    def _decode_images(self, values: Any) -> tuple[list[SeenImage], Reply | None]:
        seen: list[SeenImage] = []
        if values is None:
            return seen, None
        if not isinstance(values, list):
            return seen, json_reply(
                400,
                {"error": "json: cannot unmarshal string into Go value of type []api.ImageData"},
            )
        for value in values:
            if not isinstance(value, str):
                return seen, json_reply(400, {"error": "json: cannot unmarshal number"})
            problem = go_base64_error(value)
            if problem is not None:
                return seen, json_reply(400, {"error": problem})
            data = binascii.a2b_base64(value.encode())
            try:
                with Image.open(io.BytesIO(data)) as im:
                    im.load()
                    info = SeenImage((im.format or "?").lower(), im.width, im.height, len(data))
            except Exception:
                return seen, json_reply(
                    500, {"error": "failed to process inputs: image: unknown format"}
                )
            seen.append(info)
        return seen, None

    def _complete(self, req: Request, *, chat: bool) -> Reply:
        body, error = self._body(req)
        if error is not None:
            return error
        assert body is not None
        name = body.get("model")
        if not name:
            return json_reply(400, {"error": "model is required"})
        keep_alive = body.get("keep_alive")
        if isinstance(keep_alive, str) and not _DURATION.match(keep_alive):
            return json_reply(400, {"error": f'time: invalid duration "{keep_alive}"'})
        m = self._model(str(name))
        if m is None:
            return json_reply(404, {"error": f'model "{name}" not found, try pulling it first'})
        if m.capabilities is not None and "completion" not in m.capabilities:
            verb = "chat" if chat else "generate"
            return json_reply(400, {"error": f'"{name}" does not support {verb}'})

        images: list[SeenImage] = []
        system, prompt = str(body.get("system", "")), str(body.get("prompt", ""))
        if chat:
            messages = body.get("messages") or []
            if not isinstance(messages, list):
                return json_reply(400, {"error": "json: cannot unmarshal messages"})
            for msg in messages:
                if not isinstance(msg, dict) or msg.get("role") not in (
                    "system",
                    "user",
                    "assistant",
                    "tool",
                ):
                    return json_reply(400, {"error": "invalid role"})
                found, error = self._decode_images(msg.get("images"))
                if error is not None:
                    return error
                images += found
                if msg["role"] == "system":
                    system = str(msg.get("content", ""))
                elif msg["role"] == "user":
                    prompt = str(msg.get("content", ""))
        else:
            images, error = self._decode_images(body.get("images"))
            if error is not None:
                return error
        self.images += images
        vision = m.capabilities is None or "vision" in m.capabilities or m.projector
        text = m.answer(system, prompt, images if vision else [])
        return self._respond(body, m, text, chat=chat, n_images=len(images))

    def _respond(
        self, body: dict[str, Any], m: FakeModel, text: str, *, chat: bool, n_images: int
    ) -> Reply:
        words = text.split(" ")
        metrics = {
            "done": True,
            "done_reason": "stop",
            "total_duration": 2_938_432_250,
            "load_duration": 2_559_292,
            "prompt_eval_count": 600 * n_images + 20,
            "prompt_eval_duration": 2_195_557_000,
            "eval_count": len(words),
            "eval_duration": 736_432_000,
        }

        def piece(content: str, done: bool) -> dict[str, Any]:
            out: dict[str, Any] = {"model": m.name, "created_at": CREATED_AT}
            if chat:
                out["message"] = {"role": "assistant", "content": content}
            else:
                out["response"] = content
            return {**out, **metrics} if done else {**out, "done": False}

        if body.get("stream", True) is False:
            return json_reply(200, piece(text, True))
        lines = []
        for i, word in enumerate(words):
            lines.append(piece(word if i == len(words) - 1 else word + " ", False))
            if self.stream_error is not None:
                lines.append({"error": self.stream_error})
                break
        else:
            lines.append(piece("", True))
        # One chunk per line, as Ollama flushes each token.
        pieces = [(json.dumps(line) + "\n").encode() for line in lines]
        return Reply(
            200,
            b"",
            {"Content-Type": "application/x-ndjson"},
            pieces=pieces,
            chunk_delay=self.token_delay,
        )
