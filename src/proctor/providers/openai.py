"""The ``openai`` provider: any OpenAI-compatible upstream over one pooled keep-alive HTTP client."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Mapping
from typing import Any

import orjson

from proctor.errors import ProviderError
from proctor.providers import ProviderConfig
from proctor.providers.http11 import open_upstream

DEFAULT_BASE_URL = "https://api.openai.com/v1"


def _dumps(body: Mapping[str, Any]) -> bytes:
    try:
        return orjson.dumps(body)
    except (TypeError, orjson.JSONEncodeError):  # an integer past 64 bits, say: the slower encoder takes it
        return json.dumps(body).encode()


def _loads(raw: bytes | str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:  # NaN and Infinity, which the standard library accepts
        return json.loads(raw)


class OpenAIProvider:
    """Forwards chat completions to ``base_url``; the caller's key wins over the server's ``api_key_env``."""

    def __init__(self, config: ProviderConfig) -> None:
        self.name = config.name
        self.base_url = (config.base_url or DEFAULT_BASE_URL).rstrip("/")
        # Read once at start-up (STYLE: environment is read once); the value is never logged.
        self._server_key = os.environ.get(config.api_key_env) if config.api_key_env else None
        self._upstream = open_upstream(self.name, self.base_url, config.timeout_s)

    def _headers(self, api_key: str | None) -> dict[str, str]:
        key = api_key or self._server_key
        headers = {"content-type": "application/json"}
        if key:
            headers["authorization"] = f"Bearer {key}"
        return headers

    def _error(self, status: int, raw: bytes) -> ProviderError:
        try:
            body = _loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict) or "error" not in body:
            body = {"error": {"message": f"upstream returned HTTP {status}", "type": "upstream_error",
                              "code": None, "param": None}}
        return ProviderError(self.name, f"upstream returned HTTP {status}", status=status,
                             retryable=status in (429, 500, 502, 503, 504), body=body)

    async def chat(self, body: Mapping[str, Any], api_key: str | None) -> dict[str, Any]:
        return await self._json(body, api_key, "/chat/completions")

    async def embeddings(self, body: Mapping[str, Any], api_key: str | None) -> dict[str, Any]:
        return await self._json(body, api_key, "/embeddings")

    async def _json(self, body: Mapping[str, Any], api_key: str | None, path: str) -> dict[str, Any]:
        status, raw = await self._upstream.post(path, _dumps(body), self._headers(api_key))
        if status >= 400:
            raise self._error(status, raw)
        try:
            data = _loads(raw)
        except ValueError as exc:
            raise ProviderError(self.name, "upstream answered with a body that is not JSON", status=502) from exc
        if not isinstance(data, dict):
            raise ProviderError(self.name, "upstream answered with JSON that is not an object", status=502)
        return data

    async def stream(self, body: Mapping[str, Any], api_key: str | None) -> AsyncIterator[dict[str, Any]]:
        response = await self._upstream.post_stream("/chat/completions", _dumps(body), self._headers(api_key))
        try:
            if response.status >= 400:
                raise self._error(response.status, await response.aread())
            async for line in response.lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                try:
                    chunk = _loads(data)
                except ValueError as exc:
                    raise ProviderError(self.name, "upstream sent a stream event that is not JSON",
                                        status=502) from exc
                if isinstance(chunk, dict):
                    yield chunk
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        await self._upstream.aclose()
