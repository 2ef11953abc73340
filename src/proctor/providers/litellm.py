"""The ``litellm`` provider: any model LiteLLM can reach (Bedrock, Vertex, Cohere, …), in OpenAI's shape.

Needs ``pip install 'proctor[litellm]'``. LiteLLM is imported when the provider is built, not before: it
takes seconds to import and pulls in hundreds of megabytes. Extra request fields (``api_base``,
``mock_response``, ``metadata``, …) pass through to ``litellm.acompletion`` unchanged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from proctor.errors import ConfigError, ProviderError, ProviderTimeout
from proctor.providers import ProviderConfig


def _import_litellm() -> Any:
    try:
        import litellm
    except ImportError as exc:
        raise ConfigError("providers: kind 'litellm' needs LiteLLM: pip install 'proctor[litellm]'") from exc
    return litellm


class LiteLLMProvider:
    """Calls ``litellm.acompletion`` / ``litellm.aembedding`` and returns plain dicts."""

    def __init__(self, config: ProviderConfig | None = None) -> None:
        self.name = config.name if config else "litellm"
        self._base_url = config.base_url if config else None
        self._timeout = config.timeout_s if config else 60.0
        self._litellm = _import_litellm()

    def _kwargs(self, body: Mapping[str, Any], api_key: str | None) -> dict[str, Any]:
        kwargs = dict(body)
        kwargs.setdefault("timeout", self._timeout)
        if self._base_url and "api_base" not in kwargs:
            kwargs["api_base"] = self._base_url
        if api_key:
            kwargs["api_key"] = api_key
        return kwargs

    def _error(self, exc: Exception) -> ProviderError:
        status = getattr(exc, "status_code", None)
        message = str(getattr(exc, "message", "") or exc)
        if isinstance(exc, self._litellm.Timeout):
            return ProviderTimeout(self.name, "upstream timed out", status=504, retryable=True)
        error = {"message": message, "type": type(exc).__name__, "code": None, "param": None}
        body: dict[str, object] = {"error": error}
        return ProviderError(self.name, message, status=status if isinstance(status, int) else 502,
                             retryable=status in (429, 500, 502, 503, 504), body=body)

    async def chat(self, body: Mapping[str, Any], api_key: str | None) -> dict[str, Any]:
        kwargs = self._kwargs(body, api_key)
        kwargs["stream"] = False
        try:
            response = await self._litellm.acompletion(**kwargs)
        except Exception as exc:  # LiteLLM raises many types; all become ProviderError
            raise self._error(exc) from exc
        data: dict[str, Any] = response.model_dump()
        return data

    async def stream(self, body: Mapping[str, Any], api_key: str | None) -> AsyncIterator[dict[str, Any]]:
        kwargs = self._kwargs(body, api_key)
        kwargs["stream"] = True
        try:
            response = await self._litellm.acompletion(**kwargs)
            async for chunk in response:
                yield chunk.model_dump(exclude_none=True)
        except Exception as exc:
            raise self._error(exc) from exc

    async def embeddings(self, body: Mapping[str, Any], api_key: str | None) -> dict[str, Any]:
        kwargs = self._kwargs(body, api_key)
        try:
            response = await self._litellm.aembedding(**kwargs)
        except Exception as exc:
            raise self._error(exc) from exc
        data: dict[str, Any] = response.model_dump()
        return data

    async def aclose(self) -> None:
        return None
