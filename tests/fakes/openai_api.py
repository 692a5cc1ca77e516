"""A protocol-faithful fake of OpenAI's ``/v1/images/generations`` and ``/v1/chat/completions``.

It validates requests the way the real API does (PROTOCOLS.md sections 1–2): the Bearer key
is checked (401 ``invalid_api_key`` in OpenAI's error shape), a model it does not serve is a
404 ``model_not_found``, GPT image models reject ``response_format``, ``dall-e-3`` takes only
``n=1`` and its three sizes, reasoning models reject ``max_tokens``, every ``image_url`` must
be a ``data:`` URI of a real image (decoded with Pillow), and a configurable forbidden word
trips the safety system. Images are real PNGs (or JPEG/WebP) drawn with Pillow; captions are
computed from the pixels that arrived, so a caption proves the image got through.

``"stream": true`` on chat is answered as the real API streams (``text/event-stream``): one
``chat.completion.chunk`` per ``data:`` event, the role in the first delta, one content (or
``refusal``) delta per word, a chunk with ``finish_reason``, a usage-only chunk with
``choices: []`` when ``stream_options.include_usage`` is true, then ``data: [DONE]``.
``stream_options`` without ``stream: true`` is a 400, as on OpenAI.

``compat`` switches to the behaviour of an older OpenAI-compatible server: no key needed,
``max_completion_tokens``, ``reasoning_effort`` and ``stream_options`` unknown, and
(``ignore_response_format``) answers with a ``url`` served by itself, like LocalAI;
``compat_stream`` says what it does with ``stream``.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from PIL import Image, ImageDraw

from tests.fakes.server import FakeAPI, Reply, Request, json_reply

GPT_IMAGE = (
    "gpt-image-2.6-flare",
    "gpt-image-2.6-sunburst",
    "gpt-image-2.5-flare",
    "gpt-image-2.5-sunburst",
    "gpt-image-2",
    "gpt-image-1.5",
    "gpt-image-1.5-2025-12-16",
    "gpt-image-1-mini",
    "gpt-image-1",
    "chatgpt-image-latest",
)
DALLE = ("dall-e-3", "dall-e-2")
CHAT = (
    "gpt-6.1-terra",
    "gpt-6-luna",
    "gpt-6.1-sol",
    "gpt-5",
    "gpt-5-nano",
    "gpt-5-mini",
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4-vision-preview",
)
REFUSAL = "I'm sorry, I can't help with that."
_DATA_URI = re.compile(r"^data:image/(png|jpeg|jpg|webp|gif);base64,(.+)$", re.S)
_GPT_IMAGE_ONLY = ("output_format", "output_compression", "background", "moderation")
_COMMON_IMAGE = ("model", "prompt", "n", "size", "quality", "user")


def error(
    status: int, message: str, type_: str, code: str | None, param: str | None = None
) -> Reply:
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return json_reply(status, body, **{"x-request-id": f"req_{uuid.uuid4().hex[:12]}"})


def bad(message: str, param: str | None = None, code: str | None = None) -> Reply:
    return error(400, message, "invalid_request_error", code, param)


def unknown_parameter(name: str) -> Reply:
    return bad(f"Unknown parameter: '{name}'.", name, "unknown_parameter")


def make_image(prompt: str, size: tuple[int, int], fmt: str = "PNG") -> bytes:
    """A real image whose colour depends on the prompt, with a shape in it."""
    seed = sum(prompt.encode()) % 200
    im = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(im)
    w, h = size
    draw.ellipse((w // 4, h // 4, 3 * w // 4, 3 * h // 4), fill=(seed, 40, 255 - seed))
    buf = io.BytesIO()
    im.save(buf, fmt)
    return buf.getvalue()


@dataclass
class SeenImage:
    format: str
    width: int
    height: int
    detail: str | None


@dataclass
class SeenEdit:
    """One ``/v1/images/edits`` call as it arrived: its text fields and its files, parsed
    from the multipart body field by field."""

    fields: dict[str, str]
    files: list[tuple[str, str, str, bytes]]
    """(field name, file name, content type, bytes)."""


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], list[Any]] | None:
    """The fields and files of a ``multipart/form-data`` body, or None if it is not one."""
    import email.parser
    import email.policy

    if not content_type.lower().startswith("multipart/form-data"):
        return None
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not msg.is_multipart():
        return None
    fields: dict[str, str] = {}
    files: list[tuple[str, str, str, bytes]] = []
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            return None
        data = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is None:
            fields[name] = data.decode()
        else:
            files.append((name, filename, part.get_content_type(), data))
    return fields, files


@dataclass
class FakeOpenAI(FakeAPI):
    """The fake API. ``url + "/v1"`` is the base URL to give the provider."""

    key: str | None = "sk-fake-0123456789abcdefghij"
    models: tuple[str, ...] = GPT_IMAGE + CHAT
    forbidden: str = "forbidden"
    compat: bool = False
    ignore_response_format: bool = False
    reject_response_format: bool = False
    """Like a server whose models are all GPT-image-like (answers 400 unknown_parameter)."""
    compat_stream: Literal["sse", "ignore", "reject"] = "sse"
    """In ``compat`` mode: stream (``sse``), answer one JSON object anyway (``ignore``), or
    reject ``stream`` as an unknown parameter (``reject``), as old servers do."""
    token_delay: float = 0.0
    """Seconds between streamed events (a model generating)."""
    stream_error: dict[str, Any] | None = None
    """When set, a stream sends its first word and then ``{"error": <this>}``, and stops."""
    stream_cut_after: int | None = None
    """When set, a stream ends (cleanly, as HTTP goes) after this many events, before
    ``[DONE]``: a proxy that dropped the tail."""
    seen_images: list[SeenImage] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    shutdown: dict[str, str] = field(default_factory=dict)
    """``shutdown_date`` per model id in ``GET /models`` (PROTOCOLS.md 8.1); others send null."""
    listing: tuple[str, ...] | None = None
    """When set, ``GET /models`` lists only these (a listing that lags what the API serves)."""
    reject_top_quality: bool = False
    """Answer ``xhigh``/``max`` with 400 invalid_value, as one proxy does (PROTOCOLS.md 8.3)."""
    edits: list[SeenEdit] = field(default_factory=list)

    def __post_init__(self) -> None:
        FakeAPI.__init__(self)

    # -- routing ---------------------------------------------------------------------------------
    def handle(self, req: Request) -> Reply:
        if req.method == "GET" and req.path.startswith("/files/"):
            data = self.files.get(req.path.removeprefix("/files/"))
            return Reply(200, data, {"Content-Type": "image/png"}) if data else Reply(404, "gone")
        if not req.path.startswith("/v1/"):
            return Reply(
                404, "<html><title>404 Not Found</title></html>", {"Content-Type": "text/html"}
            )
        denied = self._auth(req)
        if denied is not None:
            return denied
        route = req.path.removeprefix("/v1")
        if req.method == "GET" and route == "/models":
            listed = self.models if self.listing is None else self.listing
            return json_reply(200, {"object": "list", "data": [self._model(m) for m in listed]})
        if req.method == "GET" and route.startswith("/models/"):
            name = route.removeprefix("/models/")
            return (
                json_reply(200, self._model(name)) if name in self.models else self._not_found(name)
            )
        if req.method == "POST" and route == "/images/edits":
            return self.edit(req)
        if req.method == "POST" and route in ("/images/generations", "/chat/completions"):
            try:
                body = req.json
            except ValueError:
                return bad("We could not parse the JSON body of your request.")
            if not isinstance(body, dict):
                return bad("We could not parse the JSON body of your request.")
            if route == "/images/generations":
                return self.images(body)
            return self.chat(body)
        return error(404, f"Invalid URL ({req.method} {req.path})", "invalid_request_error", None)

    def _auth(self, req: Request) -> Reply | None:
        if self.key is None:
            return None
        header = req.header("Authorization") or ""
        if not header:
            return error(
                401,
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                "invalid_request_error",
                None,
            )
        given = header.removeprefix("Bearer ").strip()
        if given != self.key:
            masked = f"{given[:3]}***{given[-4:]}" if len(given) > 8 else "***"
            return error(
                401,
                f"Incorrect API key provided: {masked}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                "invalid_request_error",
                "invalid_api_key",
            )
        return None

    def _model(self, name: str) -> dict[str, Any]:
        return {
            "id": name,
            "object": "model",
            "created": 1767000000,
            "owned_by": "system",
            "shutdown_date": self.shutdown.get(name),
        }

    def _not_found(self, name: str) -> Reply:
        return error(
            404,
            f"The model `{name}` does not exist or you do not have access to it.",
            "invalid_request_error",
            "model_not_found",
        )

    # -- images ----------------------------------------------------------------------------------
    def images(self, body: dict[str, Any]) -> Reply:
        model = str(body.get("model") or "dall-e-2")
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt:
            return bad(
                "Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter"
            )
        if model not in self.models:
            return self._not_found(model)
        family = "gpt-image" if model.startswith(("gpt-image", "chatgpt-image")) else model
        if family not in ("gpt-image", "dall-e-3", "dall-e-2"):
            family = "compat"
        allowed = set(_COMMON_IMAGE) | {"response_format"}
        if family == "gpt-image":
            allowed = (
                (allowed - {"response_format"})
                | set(_GPT_IMAGE_ONLY)
                | {"stream", "partial_images"}
            )
            if model.startswith("gpt-image-2.6-"):
                allowed |= {"complexity"}
        elif family == "dall-e-3":
            allowed |= {"style"}
        if self.reject_response_format:
            allowed.discard("response_format")
        for key in body:
            if key not in allowed:
                return unknown_parameter(key)
        n = body.get("n", 1)
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 10:
            return bad(f"Invalid value for 'n': {n!r}.", "n", "invalid_value")
        limits = {"dall-e-2": 1000, "dall-e-3": 4000}
        if len(prompt) > limits.get(family, 32000):
            return bad(
                f"'prompt' is too long: {len(prompt)} characters.",
                "prompt",
                "string_above_max_length",
            )
        sizes = {
            "dall-e-2": ("256x256", "512x512", "1024x1024"),
            "dall-e-3": ("1024x1024", "1792x1024", "1024x1792"),
            "gpt-image": ("1024x1024", "1536x1024", "1024x1536", "auto"),
            "compat": ("256x256", "512x512", "1024x1024"),
        }[family]
        size = str(body.get("size", "auto" if family == "gpt-image" else "1024x1024"))
        if model.startswith("gpt-image-2"):  # WxH in 16s, 1:3..3:1, <= 3840x2160 (8.3)
            m = re.fullmatch(r"(\d+)x(\d+)", size)
            w_, h_ = (int(m[1]), int(m[2])) if m else (0, 0)
            if size != "auto" and not (
                m
                and w_ % 16 == 0
                and h_ % 16 == 0
                and max(w_, h_) <= 3 * min(w_, h_)
                and max(w_, h_) <= 3840
                and w_ * h_ <= 3840 * 2160
            ):
                return bad(f"Invalid size '{size}'.", "size", "invalid_value")
        elif size not in sizes:
            return bad(
                f"Invalid value: '{size}'. Supported values are: "
                + ", ".join(repr(s) for s in sizes)
                + ".",
                "size",
                "invalid_value",
            )
        quality = body.get("quality")
        qualities = {
            "dall-e-2": ("standard",),
            "dall-e-3": ("standard", "hd"),
            "gpt-image": ("low", "medium", "high", "auto"),
            "compat": ("standard",),
        }[family]
        if model.startswith(("gpt-image-2.5-", "gpt-image-2.6-")) and not self.reject_top_quality:
            qualities += ("xhigh", "max")
        if quality is not None and quality not in qualities:
            return bad(f"Invalid value: '{quality}'.", "quality", "invalid_value")
        if family == "dall-e-3":
            if n != 1:
                return bad("You must provide n=1 for this model.", "n", "invalid_value")
            if body.get("style", "vivid") not in ("vivid", "natural"):
                return bad(f"Invalid value: '{body.get('style')}'.", "style", "invalid_value")
        output_format = str(body.get("output_format", "png"))
        if output_format not in ("png", "jpeg", "webp"):
            return bad(f"Invalid value: '{output_format}'.", "output_format", "invalid_value")
        response_format = body.get("response_format", "url")
        if response_format not in ("url", "b64_json"):
            return bad(f"Invalid value: '{response_format}'.", "response_format", "invalid_value")
        if self.forbidden and self.forbidden in prompt.lower():
            if family == "gpt-image":
                return error(
                    400,
                    "Your request was rejected by the safety system. If you believe this is "
                    "an error, contact us at help.openai.com and include the request ID. "
                    "safety_violations=[violence].",
                    "image_generation_user_error",
                    "moderation_blocked",
                )
            return bad(
                "Your request was rejected as a result of our safety system. Your prompt may "
                "contain text that is not allowed by our safety system.",
                None,
                "content_policy_violation",
            )
        w, h = (1024, 1024) if size == "auto" else (int(v) for v in size.split("x"))
        pil_format = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}[output_format]
        image = make_image(prompt, (w, h), pil_format if family == "gpt-image" else "PNG")
        item: dict[str, Any] = {}
        if family == "gpt-image":
            item["b64_json"] = base64.b64encode(image).decode()
        elif response_format == "b64_json" and not self.ignore_response_format:
            item["b64_json"] = base64.b64encode(image).decode()
        else:
            name = f"{uuid.uuid4().hex}.png"
            self.files[name] = image
            item["url"] = f"{self.url}/files/{name}?se=2026-01-01&sig=abc"
        if family == "dall-e-3":
            item["revised_prompt"] = f"A vivid illustration: {prompt}"
        out: dict[str, Any] = {"created": int(time.time()), "data": [item]}
        if family == "gpt-image":
            out.update(
                background="opaque",
                output_format=output_format,
                quality=quality or "auto",
                size=f"{w}x{h}",
                usage={
                    "input_tokens": len(prompt.split()),
                    "output_tokens": 272,
                    "total_tokens": len(prompt.split()) + 272,
                    "input_tokens_details": {"text_tokens": len(prompt.split()), "image_tokens": 0},
                    "output_tokens_details": {"image_tokens": 272, "text_tokens": 0},
                },
            )
        return json_reply(200, out, **{"x-request-id": f"req_{uuid.uuid4().hex[:12]}"})

    def edit(self, req: Request) -> Reply:
        """``/v1/images/edits``: multipart only; ``image[]`` (GPT image, up to 16) or
        ``image`` (DALL-E 2: one square PNG); dall-e-3 cannot edit. Then as generations."""
        parsed = parse_multipart(req.header("Content-Type") or "", req.body)
        if parsed is None:
            return bad(
                "Invalid Content-Type header (application/json), expected multipart/form-data."
            )
        fields, files = parsed
        self.edits.append(SeenEdit(fields, files))
        model = fields.get("model", "dall-e-2")
        if model == "dall-e-3":
            return bad(
                "Invalid value: 'dall-e-3'. Value must be 'dall-e-2' or a GPT image model.",
                "model",
                "invalid_value",
            )
        images = [f for f in files if f[0] in ("image", "image[]")]
        if not images:
            return bad(
                "Missing required parameter: 'image'.", "image", "missing_required_parameter"
            )
        if not model.startswith(("gpt-image", "chatgpt-image")) and (
            len(images) != 1 or images[0][0] != "image"
        ):
            return bad("dall-e-2 takes exactly one 'image'.", "image", "invalid_value")
        for _, _, _, data in images:
            try:
                with Image.open(io.BytesIO(data)) as im:
                    im.verify()
            except Exception:
                return bad("Invalid image file or mode for image 1.", "image", "invalid_image")
        body: dict[str, Any] = {}
        for key, value in fields.items():
            if key in ("n",) and value.isdigit():
                body[key] = int(value)
            else:
                body[key] = value
        return self.images(body)

    # -- chat --------------------------------------------------------------------------------------
    def chat(self, body: dict[str, Any]) -> Reply:
        model = body.get("model")
        if not isinstance(model, str) or not model:
            return bad("you must provide a model parameter", "model", None)
        allowed = {
            "model",
            "messages",
            "max_tokens",
            "max_completion_tokens",
            "temperature",
            "reasoning_effort",
            "n",
            "stream",
            "stream_options",
            "user",
        }
        if self.compat:
            allowed -= {"max_completion_tokens", "reasoning_effort", "stream_options"}
            if self.compat_stream == "reject":
                allowed.discard("stream")
        for key in body:
            if key not in allowed:
                return unknown_parameter(key)
        stream = body.get("stream")
        if stream is not None and not isinstance(stream, bool):
            return bad(
                f"Invalid type for 'stream': expected a boolean, but got {type(stream).__name__}.",
                "stream",
                "invalid_type",
            )
        options = body.get("stream_options")
        if options is not None and stream is not True:
            return bad(
                "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                "stream_options",
            )
        if options is not None and not isinstance(options, dict):
            return bad("Invalid type for 'stream_options'.", "stream_options", "invalid_type")
        include_usage = bool(options and options.get("include_usage"))
        if self.compat and self.compat_stream == "ignore":
            stream = False
        if model not in self.models:
            return self._not_found(model)
        reasoning = model.startswith(("gpt-5", "o1", "o3", "o4"))
        if reasoning and "max_tokens" in body:
            return bad(
                "Unsupported parameter: 'max_tokens' is not supported with this model. "
                "Use 'max_completion_tokens' instead.",
                "max_tokens",
                "unsupported_parameter",
            )
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return bad("[] is too short - 'messages'", "messages", "empty_array")
        texts: list[str] = []
        images: list[SeenImage] = []
        for i, msg in enumerate(messages):
            if not isinstance(msg, dict) or msg.get("role") not in (
                "system",
                "user",
                "assistant",
                "developer",
            ):
                return bad(f"Invalid value for 'messages[{i}].role'.", f"messages[{i}].role", None)
            content = msg.get("content")
            if isinstance(content, str):
                texts.append(content)
                continue
            if not isinstance(content, list) or msg["role"] == "system":
                return bad(
                    f"Invalid type for 'messages[{i}].content'.", f"messages[{i}].content", None
                )
            for j, part in enumerate(content):
                where = f"messages[{i}].content[{j}]"
                kind = part.get("type") if isinstance(part, dict) else None
                if kind == "text" and isinstance(part.get("text"), str):
                    texts.append(part["text"])
                elif kind == "image_url" and isinstance(part.get("image_url"), dict):
                    seen = self._image(part["image_url"], where)
                    if isinstance(seen, Reply):
                        return seen
                    images.append(seen)
                else:
                    return bad(f"Invalid content part at '{where}'.", where, None)
        self.seen_images.extend(images)
        limit = body.get("max_completion_tokens", body.get("max_tokens"))
        if limit is None and model == "gpt-4-vision-preview":
            limit = 16  # its notorious tiny default (PROTOCOLS.md 2.5)
        prompt_tokens = sum(len(t.split()) for t in texts) + 85 * len(images)
        if self.forbidden and any(self.forbidden in t.lower() for t in texts):
            message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": REFUSAL}
            finish, completion = "stop", 9
            words = []
        else:
            if images:
                seen = images[0]
                words = (
                    f"A {seen.width}x{seen.height} {seen.format} drawing of a purple circle".split()
                )
            else:
                words = "I see no image".split()
            reasoning_tokens = 50 if reasoning and body.get("reasoning_effort") != "minimal" else 0
            budget = None if limit is None else int(limit) - reasoning_tokens
            finish = "stop"
            if budget is not None and budget < len(words):
                words, finish = words[: max(budget, 0)], "length"
            completion = len(words) + reasoning_tokens
            message = {"role": "assistant", "content": " ".join(words), "refusal": None}
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": prompt_tokens + completion,
        }
        head = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:10]}",
            "created": int(time.time()),
            "model": f"{model}-2026-01-01",
            "system_fingerprint": "fp_fake0001",
        }
        if stream:
            refusal = message["refusal"]
            return self._stream(head, words, refusal, finish, usage if include_usage else None)
        out = {
            **head,
            "object": "chat.completion",
            "choices": [
                {"index": 0, "finish_reason": finish, "logprobs": None, "message": message}
            ],
            "usage": usage,
        }
        return json_reply(200, out, **{"x-request-id": f"req_{uuid.uuid4().hex[:12]}"})

    def _stream(
        self,
        head: dict[str, Any],
        words: list[str],
        refusal: str | None,
        finish: str,
        usage: dict[str, Any] | None,
    ) -> Reply:
        """The answer as OpenAI streams it: one SSE event per chunk, one chunk per word."""

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
            out: dict[str, Any] = {
                **head,
                "object": "chat.completion.chunk",
                "choices": [
                    {
                        "index": 0,
                        "delta": delta,
                        "logprobs": None,
                        "finish_reason": finish_reason,
                    }
                ],
            }
            if usage is not None:
                out["usage"] = None  # every chunk but the last carries a null usage
            return out

        kind = "refusal" if refusal else "content"
        first: dict[str, Any] = {"role": "assistant", "content": "", "refusal": None}
        if refusal:
            first = {"role": "assistant", "content": None, "refusal": ""}
        pieces = refusal.split(" ") if refusal else words
        events: list[Any] = [chunk(first)]
        for i, word in enumerate(pieces):
            events.append(chunk({kind: word if i == 0 else " " + word}))  # tokens lead with " "
            if self.stream_error is not None:
                events.append({"error": self.stream_error})
                break
        else:
            events.append(chunk({}, finish))
            if usage is not None:
                events.append(
                    {**head, "object": "chat.completion.chunk", "choices": [], "usage": usage}
                )
            events.append("[DONE]")
        if self.stream_cut_after is not None:
            events = events[: self.stream_cut_after]
        data = [e if isinstance(e, str) else json.dumps(e) for e in events]
        return Reply(
            200,
            b"",
            {
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache",
                "x-request-id": f"req_{uuid.uuid4().hex[:12]}",
            },
            pieces=[f"data: {d}\n\n".encode() for d in data],
            chunk_delay=self.token_delay,
        )

    def _image(self, image_url: dict[str, Any], where: str) -> SeenImage | Reply:
        url = image_url.get("url")
        detail = image_url.get("detail")
        if detail is not None and detail not in ("auto", "low", "high"):
            return bad(f"Invalid value: '{detail}'.", f"{where}.image_url.detail", "invalid_value")
        if not isinstance(url, str):
            return bad("Invalid image_url.", f"{where}.image_url.url", None)
        match = _DATA_URI.match(url)
        if not match:
            return bad(
                "Invalid image URL: expected a data URI such as data:image/png;base64,...",
                f"{where}.image_url.url",
                "invalid_image_url",
            )
        try:
            data = base64.b64decode(match.group(2), validate=True)
            with Image.open(io.BytesIO(data)) as im:
                im.load()
                fmt, (w, h) = (im.format or "").lower(), im.size
        except (binascii.Error, ValueError, OSError):
            return bad(
                "You uploaded an unsupported image. Please make sure your image is valid.",
                f"{where}.image_url.url",
                "invalid_image_format",
            )
        declared = match.group(1).replace("jpg", "jpeg")
        if declared != fmt:
            return bad(
                "The image data does not match its declared type.", None, "invalid_image_format"
            )
        return SeenImage(fmt, w, h, detail)
