"""The ``echo`` provider: answers with the last user message. No key, no network; for demos and tests."""

from __future__ import annotations

import base64
import hashlib
import struct
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

from proctor.providers import ProviderConfig


def _last_user_text(body: Mapping[str, Any]) -> str:
    for msg in reversed(body.get("messages") or []):
        if isinstance(msg, Mapping) and msg.get("role") == "user":
            content = msg.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return " ".join(p.get("text", "") for p in content if isinstance(p, Mapping) and "text" in p)
    return ""


def _tokens(text: str) -> int:
    # Roughly four characters a token, as OpenAI's tokenizers average on English; enough for demo usage.
    return max(1, (len(text) + 3) // 4) if text else 0


class EchoProvider:
    """Replies with the last user message, in OpenAI's shape, streaming word by word when asked."""

    def __init__(self, config: ProviderConfig | None = None) -> None:
        self.name = config.name if config else "echo"

    def _usage(self, body: Mapping[str, Any], reply: str) -> dict[str, int]:
        prompt = sum(_tokens(str(m.get("content") or "")) for m in body.get("messages") or []
                     if isinstance(m, Mapping))
        completion = _tokens(reply)
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    async def chat(self, body: Mapping[str, Any], api_key: str | None) -> dict[str, Any]:
        reply = _last_user_text(body)
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "echo"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop",
                         "logprobs": None}],
            "usage": self._usage(body, reply),
        }

    async def stream(self, body: Mapping[str, Any], api_key: str | None) -> AsyncIterator[dict[str, Any]]:
        reply = _last_user_text(body)
        base = {"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion.chunk",
                "created": int(time.time()), "model": body.get("model", "echo")}
        yield {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                    "finish_reason": None}]}
        words = reply.split(" ")
        for i, word in enumerate(words):
            piece = word if i == len(words) - 1 else word + " "
            yield {**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
        yield {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        options = body.get("stream_options")
        if isinstance(options, Mapping) and options.get("include_usage"):
            yield {**base, "choices": [], "usage": self._usage(body, reply)}

    async def embeddings(self, body: Mapping[str, Any], api_key: str | None) -> dict[str, Any]:
        """Deterministic 16-dimension vectors derived from SHA-256 of each input: same text, same vector."""
        inputs = body.get("input")
        texts = [inputs] if isinstance(inputs, str) else list(inputs or [])
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        for i, text in enumerate(texts):
            digest = hashlib.sha256(str(text).encode()).digest()
            vector = [(b - 127.5) / 127.5 for b in digest[:16]]
            embedding: Any = (base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
                              if as_base64 else vector)
            data.append({"object": "embedding", "index": i, "embedding": embedding})
        tokens = sum(_tokens(str(t)) for t in texts)
        return {"object": "list", "data": data, "model": body.get("model", "echo"),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}

    async def aclose(self) -> None:
        return None
