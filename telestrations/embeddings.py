"""An optional semantic drift measure: cosine similarity of sentence embeddings from a model
the user runs (Ollama ``/api/embed``) or pays for (OpenAI-compatible ``/v1/embeddings``).

Configured with ``[game] embeddings = "ollama:MODEL"`` or ``"openai:MODEL"`` (or ``run
--embeddings``); the server is the one the provider uses (``OLLAMA_HOST``, ``OPENAI_BASE_URL``,
the OpenAI key). It adds ``semantic_to_first_prompt`` and ``semantic_to_previous`` to a
caption's similarity; when the service fails the caption is kept without them (logged), never
a failed turn. Vectors are cached per text, so each caption is embedded once.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from telestrations.text import SECRETS

log = logging.getLogger(__name__)

TIMEOUT = 30.0


class EmbeddingError(Exception):
    """The embeddings service could not be used (the reason, redacted)."""


class Embedder:
    """One embeddings model on one server; ``kind`` is ``ollama`` or ``openai``."""

    def __init__(self, kind: str, base_url: str, model: str, key: str | None = None) -> None:
        if kind not in ("ollama", "openai"):
            raise EmbeddingError(f"embeddings come from ollama or openai, not {kind!r}")
        self.kind, self.base_url, self.model, self.key = kind, base_url.rstrip("/"), model, key
        self._cache: dict[str, list[float]] = {}

    @property
    def name(self) -> str:
        return f"{self.kind}:{self.model}"

    async def vectors(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, asking the server only for the ones not seen before."""
        import httpx

        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            if self.kind == "ollama":
                url, body = f"{self.base_url}/api/embed", {"model": self.model, "input": missing}
            else:
                url, body = f"{self.base_url}/embeddings", {"model": self.model, "input": missing}
            headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
            try:
                async with httpx.AsyncClient(timeout=TIMEOUT) as client:
                    resp = await client.post(url, json=body, headers=headers)
                if resp.status_code != 200:
                    raise EmbeddingError(f"HTTP {resp.status_code}: {resp.text[:300]}")
                got = _parse(self.kind, resp.json(), len(missing))
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                raise EmbeddingError(SECRETS.redact(f"{type(exc).__name__}: {exc}")) from None
            except EmbeddingError as exc:
                raise EmbeddingError(SECRETS.redact(str(exc))) from None
            self._cache.update(zip(missing, got, strict=True))
        return [self._cache[t] for t in texts]

    async def similarities(self, first: str, previous: str, caption: str) -> dict[str, float]:
        origin, prev, cap = await self.vectors([first, previous, caption])
        return {
            "semantic_to_first_prompt": round(cosine(origin, cap), 3),
            "semantic_to_previous": round(cosine(prev, cap), 3),
        }


def _parse(kind: str, data: Any, count: int) -> list[list[float]]:
    if kind == "ollama":
        vectors = data["embeddings"]
    else:
        rows = sorted(data["data"], key=lambda row: int(row["index"]))
        vectors = [row["embedding"] for row in rows]
    if not isinstance(vectors, list) or len(vectors) != count:
        raise ValueError(f"expected {count} embeddings, got {len(vectors)}")
    return [[float(x) for x in v] for v in vectors]


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine of two vectors, clamped to 0..1 like the text measure (opposites count as 0)."""
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    na, nb = math.sqrt(sum(x * x for x in a)), math.sqrt(sum(y * y for y in b))
    return max(0.0, min(1.0, dot / (na * nb))) if na and nb else 0.0


def embedder_for(
    spec: str, env: Mapping[str, str], get_key: Callable[[str], str | None]
) -> Embedder | None:
    """``"ollama:MODEL"`` / ``"openai:MODEL"`` → an :class:`Embedder` on the provider's server;
    ``""`` → None."""
    spec = spec.strip()
    if not spec:
        return None
    kind, _, model = spec.partition(":")
    if not model:
        raise EmbeddingError(f"embeddings model {spec!r}: give ollama:MODEL or openai:MODEL")
    if kind == "ollama":
        from telestrations.providers.ollama import parse_ollama_host

        host = env.get("OLLAMA_HOST", "").strip()
        return Embedder(
            "ollama", parse_ollama_host(host) if host else "http://127.0.0.1:11434", model
        )
    if kind == "openai":
        base = env.get("OPENAI_BASE_URL", "").strip() or "https://api.openai.com/v1"
        return Embedder("openai", base, model, get_key("openai"))
    raise EmbeddingError(f"embeddings come from ollama or openai, not {kind!r}")
