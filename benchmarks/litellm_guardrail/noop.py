"""A guardrail that does nothing: LiteLLM's own cost of any registered guardrail, for the benchmark's third proxy.

It defines the same hooks ``ProctorGuardrail`` defines, each returning at once, so the difference between this
proxy and the plain one is what LiteLLM's guardrail machinery costs, and the difference between this proxy and
Proctor's is what Proctor costs.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from litellm.integrations.custom_guardrail import CustomGuardrail


class NoopGuardrail(CustomGuardrail):
    """``guardrail: benchmarks.litellm_guardrail.noop.NoopGuardrail``: every hook returns immediately."""

    async def async_pre_call_hook(self, user_api_key_dict: Any, cache: Any, data: dict[str, Any],
                                  call_type: Any) -> dict[str, Any] | None:
        return None

    async def async_post_call_success_hook(self, data: dict[str, Any], user_api_key_dict: Any,
                                           response: Any) -> Any:
        return None

    async def async_post_call_streaming_iterator_hook(self, user_api_key_dict: Any, response: Any,
                                                      request_data: dict[str, Any]) -> AsyncGenerator[Any, None]:
        async for chunk in response:
            yield chunk
