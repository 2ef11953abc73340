"""The ``openai`` provider: any OpenAI-compatible upstream over one pooled keep-alive HTTP client."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from proctor.errors import ProviderError, ProviderTimeout
from proctor.providers import ProviderConfig

DEFAULT_BASE_URL = "https://api.openai.com/v1"
_CONNECT_RETRIES = 2  # connection errors only: a request that reached the upstream is never re-sent


class OpenAIProvider:
    """Forwards chat completions to ``base_url``; the caller's key wins over the server's ``api_key_env``."""

    def __init__(self, config: ProviderConfig) -> None:
        self.name = config.name
        self.base_url = (config.base_url or DEFAULT_BASE_URL).rstrip("/")
        # Read once at start-up (STYLE: environment is read once); the value is never logged.
        self._server_key = os.environ.get(config.api_key_env) if config.api_key_env else None
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(config.timeout_s, connect=min(10.0, config.timeout_s)),
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
        )

    def _headers(self, api_key: str | None) -> dict[str, str]:
        key = api_key or self._server_key
        headers = {"content-type": "application/json"}
        if key:
            headers["authorization"] = f"Bearer {key}"
        return headers

    async def _send(self, body: Mapping[str, Any], api_key: str | None, *, stream: bool,
                    path: str = "/chat/completions") -> httpx.Response:
        request = self._client.build_request("POST", f"{self.base_url}{path}",
                                             content=json.dumps(body).encode(), headers=self._headers(api_key))
        for attempt in range(_CONNECT_RETRIES + 1):
            try:
                return await self._client.send(request, stream=stream)
            except httpx.ConnectError as exc:
                if attempt == _CONNECT_RETRIES:
                    raise ProviderError(self.name, f"cannot connect to {self.base_url}", retryable=True) from exc
            except httpx.TimeoutException as exc:
                raise ProviderTimeout(self.name, "upstream timed out", retryable=True) from exc
            except httpx.HTTPError as exc:
                raise ProviderError(self.name, f"upstream request failed: {type(exc).__name__}",
                                    retryable=True) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _error(self, status: int, raw: bytes) -> ProviderError:
        try:
            body = json.loads(raw)
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
        response = await self._send(body, api_key, stream=False, path=path)
        if response.status_code >= 400:
            raise self._error(response.status_code, response.content)
        try:
            data = response.json()
        except ValueError as exc:
            raise ProviderError(self.name, "upstream answered with a body that is not JSON", status=502) from exc
        if not isinstance(data, dict):
            raise ProviderError(self.name, "upstream answered with JSON that is not an object", status=502)
        return data

    async def stream(self, body: Mapping[str, Any], api_key: str | None) -> AsyncIterator[dict[str, Any]]:
        response = await self._send(body, api_key, stream=True)
        try:
            if response.status_code >= 400:
                raise self._error(response.status_code, await response.aread())
            async for line in response.aiter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                try:
                    chunk = json.loads(data)
                except ValueError as exc:
                    raise ProviderError(self.name, "upstream sent a stream event that is not JSON",
                                        status=502) from exc
                if isinstance(chunk, dict):
                    yield chunk
        except httpx.TimeoutException as exc:
            raise ProviderTimeout(self.name, "upstream stream timed out", retryable=True) from exc
        except httpx.HTTPError as exc:
            raise ProviderError(self.name, f"upstream stream failed: {type(exc).__name__}") from exc
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()
