"""Upstream model providers: the Provider seam, the built-ins, and routing by model name.

A provider speaks OpenAI's chat-completions shape (request and response bodies as dicts), so the server can
pass unknown fields through untouched. Built-ins: ``echo`` (no key, no network: answers with the last user
message), ``openai`` (any OpenAI-compatible upstream: OpenAI, Azure OpenAI, vLLM, Ollama, Groq,
Mistral, OpenRouter, ...), ``anthropic`` (Anthropic's Messages API, translated to and from OpenAI's shape)
and ``litellm`` (everything LiteLLM reaches; optional extra). Third parties
register a factory under the ``proctor.providers`` entry-point group.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any, Protocol

from proctor.errors import ConfigError

ENTRY_POINT_GROUP = "proctor.providers"
BUILTIN_PROVIDERS: tuple[tuple[str, str], ...] = (
    ("echo", "proctor.providers.echo:EchoProvider"),
    ("openai", "proctor.providers.openai:OpenAIProvider"),
    ("anthropic", "proctor.providers.anthropic:AnthropicProvider"),
    ("litellm", "proctor.providers.litellm:LiteLLMProvider"),
)


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    """One entry of the ``providers`` setting: a name, a kind, where it lives and which models it serves."""

    name: str
    kind: str
    base_url: str | None = None
    api_key_env: str | None = None
    models: tuple[str, ...] = ("*",)
    timeout_s: float = 60.0


class Provider(Protocol):
    """The provider seam. ``api_key`` is the caller's key for this request only: never store or log it."""

    name: str

    async def chat(self, body: Mapping[str, Any], api_key: str | None) -> dict[str, Any]:
        """Return a chat.completion body for a non-streaming request body."""
        ...

    def stream(self, body: Mapping[str, Any], api_key: str | None) -> AsyncIterator[dict[str, Any]]:
        """Yield chat.completion.chunk bodies for a ``stream: true`` request body."""
        ...

    async def embeddings(self, body: Mapping[str, Any], api_key: str | None) -> dict[str, Any]:
        """Return an embeddings list body for an embeddings request body."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


def _factory(kind: str) -> Callable[[ProviderConfig], Provider]:
    for name, target in BUILTIN_PROVIDERS:
        if name == kind:
            module, _, attr = target.partition(":")
            return getattr(import_module(module), attr)  # type: ignore[no-any-return]
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == kind:
            return ep.load()  # type: ignore[no-any-return]
    known = [n for n, _ in BUILTIN_PROVIDERS] + [ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)]
    raise ConfigError(f"providers: kind {kind!r} is not known; expected one of {', '.join(known)}")


class ProviderRouter:
    """Picks the provider for a model: the first configured provider whose ``models`` globs match wins."""

    def __init__(self, configs: Sequence[ProviderConfig]) -> None:
        self.configs = tuple(configs)
        self._providers: dict[str, Provider] = {c.name: _factory(c.kind)(c) for c in self.configs}

    def route(self, model: str) -> tuple[ProviderConfig, Provider] | None:
        for c in self.configs:
            if any(fnmatchcase(model, g) for g in c.models):
                return c, self._providers[c.name]
        return None

    def models(self) -> list[tuple[str, str]]:
        """(model glob, provider name) pairs, for ``GET /v1/models``."""
        return [(g, c.name) for c in self.configs for g in c.models]

    async def aclose(self) -> None:
        for p in self._providers.values():
            await p.aclose()
