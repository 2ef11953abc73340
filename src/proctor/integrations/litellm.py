"""LiteLLM integration: ``Governed`` (a governing drop-in for ``litellm.completion``) and ``ProctorLogger``
(an audit-only LiteLLM callback).

Both run on an embedded Governor: local policies, and an audit chain in the store you name (SQLite by
default). Install with ``pip install 'proctor[litellm]'``.

>>> from proctor.integrations.litellm import Governed          # doctest: +SKIP
>>> gov = Governed()                                            # builtin:default, ./proctor.db
>>> resp = gov.completion(model="gpt-4o", messages=[...], user="u-1", metadata={"agent_name": "billing-bot"})

``Governed`` checks the input (``PolicyDenied`` / ``ApprovalRequired`` carry ``.reason``, ``.policies`` and
``.decision_id``), sends the redacted messages through ``litellm.acompletion``, checks the output (streams
through the same hold-back guard as the server), and records every call, failures included.
``ProctorLogger`` never blocks and never raises into the app: it records each success and failure, with
the findings of input and output logged.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Coroutine, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, TypeVar

from proctor.config import Settings
from proctor.decision import Action, Decision
from proctor.errors import PolicyDenied
from proctor.governor import CallContext, Governor, new_ids
from proctor.identity import Identity
from proctor.policy import load_policies
from proctor.providers import ProviderConfig

try:
    import litellm
    from litellm.integrations.custom_logger import CustomLogger
except ImportError as exc:  # pragma: no cover - the extra is missing
    raise ImportError("proctor.integrations.litellm needs LiteLLM: pip install 'proctor[litellm]'") from exc

log = logging.getLogger("proctor.integrations.litellm")
T = TypeVar("T")
_LITELLM = (ProviderConfig(name="litellm", kind="litellm", models=("*",)),)


def _governor(policies: Sequence[str] | None, storage: str | None, key_file: str | None,
              failure_mode: str) -> Governor:
    from proctor.audit import AuditLog

    settings = Settings()
    gov = Governor(load_policies(*(policies or settings.policies)), providers=_LITELLM, audit=None)
    mode: Literal["open", "closed"] = "open" if failure_mode == "open" else "closed"
    gov.audit = AuditLog.open(storage or settings.storage, key_file=key_file, failure_mode=mode)
    return gov


def _identity(model: str, user: Any, metadata: Any) -> Identity:
    meta = metadata if isinstance(metadata, Mapping) else {}
    agent = meta.get("agent_name") or meta.get("user_api_key_alias") or meta.get("user_api_key_team_alias")
    session = meta.get("session_id") or meta.get("x-session-id")
    if not user and meta.get("user_id"):
        user = meta["user_id"]
    return Identity(agent=str(agent or "default"), session=str(session) if session else None,
                    user=str(user) if user else None, model=model)


class _LoopThread:
    """One private event loop on a daemon thread: sync calls run there, in scripts and inside running loops
    alike, without asyncio.run per call and without sharing connection pools across closed loops."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="proctor-litellm", daemon=True).start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()


class Governed:
    """A governing drop-in for ``litellm.completion`` / ``litellm.acompletion`` (embedded Governor).

    ``policies``: sources for ``load_policies`` (default ``builtin:default``); ``storage``: audit store URL
    (default ``sqlite:///./proctor.db``); ``governor``: use an existing Governor instead. Fails closed: when
    the audit cannot be written the call is refused (``failure_mode="open"`` lets it through).
    """

    def __init__(self, *, policies: Sequence[str] | None = None, storage: str | None = None,
                 key_file: str | None = None, failure_mode: str = "closed", governor: Governor | None = None) -> None:
        self.governor = governor or _governor(policies, storage, key_file, failure_mode)
        self._loop: _LoopThread | None = None
        self._lock = threading.Lock()

    async def acompletion(self, model: str, messages: list[dict[str, Any]], *, stream: bool = False,
                          **kwargs: Any) -> Any:
        """Like ``litellm.acompletion``; returns a ``litellm.ModelResponse`` (an async iterator of chunks when
        ``stream=True``). Raises PolicyDenied / ApprovalRequired when policy blocks input or output."""
        body = {"model": model, "messages": messages, **kwargs}
        decision_id, trace_id = new_ids()
        ctx = CallContext(_identity(model, kwargs.get("user"), kwargs.get("metadata")), decision_id, trace_id,
                          kwargs.get("api_key"))
        if stream:
            chunks = await self.governor.chat_stream({**body, "stream": True}, ctx)
            return _stream(chunks, decision_id)
        result = await self.governor.chat(body, ctx)
        return litellm.ModelResponse(**result.body)

    def completion(self, model: str, messages: list[dict[str, Any]], **kwargs: Any) -> Any:
        """Like ``litellm.completion`` (non-streaming); safe in plain scripts and inside a running event loop."""
        if kwargs.get("stream"):
            raise ValueError("Governed.completion does not stream; use `await Governed.acompletion(..., stream=True)`")
        with self._lock:
            if self._loop is None:
                self._loop = _LoopThread()
        return self._loop.run(self.acompletion(model, messages, **kwargs))

    def close(self) -> None:
        """Flush and close the audit log."""
        close = getattr(self.governor.audit, "close", None)
        if callable(close):
            close()


async def _stream(chunks: AsyncIterator[dict[str, Any]], decision_id: str) -> AsyncIterator[Any]:
    async for chunk in chunks:
        if "error" in chunk:  # the guard stopped the stream: the same exception as a blocked non-stream call
            message = str((chunk["error"] or {}).get("message", "blocked"))
            raise PolicyDenied(Decision(Action.DENY, reason=message, scope="output"), decision_id=decision_id)
        yield litellm.ModelResponseStream(**chunk)


class ProctorLogger(CustomLogger):
    """Audit-only LiteLLM callback: ``litellm.callbacks = [ProctorLogger()]``.

    Records every success and failure (sync, async and streaming) with tokens, LiteLLM's cost, latency and
    the error text; findings of input and output are recorded as ``log``. Never raises into the app
    (``fail_open=True``, the default): a recording problem is logged and counted in ``errors``.
    """

    def __init__(self, *, policies: Sequence[str] | None = None, storage: str | None = None,
                 key_file: str | None = None, governor: Governor | None = None, fail_open: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.governor = governor or _governor(policies, storage, key_file, "open" if fail_open else "closed")
        self.fail_open = fail_open
        self.errors = 0

    def _record(self, kwargs: Mapping[str, Any], response: Any, start: Any, end: Any, error: str | None) -> None:
        try:
            params = kwargs.get("litellm_params") or {}
            metadata = params.get("metadata") or kwargs.get("metadata") or {}
            model = str(kwargs.get("model") or "")
            final = kwargs.get("complete_streaming_response") or response
            text = None
            usage: Mapping[str, Any] = {}
            if final is not None and hasattr(final, "model_dump"):
                data = final.model_dump()
                choices = data.get("choices") or []
                text = "".join(str((c.get("message") or {}).get("content") or "") for c in choices) or None
                usage = data.get("usage") or {}
            decision_id, trace_id = new_ids()
            ctx = CallContext(_identity(model, kwargs.get("user"), metadata), decision_id, trace_id)
            self.governor.observe(
                kwargs.get("messages"), text, ctx, provider=kwargs.get("custom_llm_provider"), model=model,
                tokens_in=usage.get("prompt_tokens"), tokens_out=usage.get("completion_tokens"),
                cost_usd=kwargs.get("response_cost"), latency_ms=_latency(start, end),
                status="error" if error else "ok", error=error)
        except Exception:
            self.errors += 1
            log.exception("proctor: could not record a LiteLLM call")
            if not self.fail_open:
                raise

    def log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self._record(kwargs, response_obj, start_time, end_time, None)

    async def async_log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self._record(kwargs, response_obj, start_time, end_time, None)

    def log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self._record(kwargs, None, start_time, end_time, _error_text(kwargs, response_obj))

    async def async_log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self._record(kwargs, None, start_time, end_time, _error_text(kwargs, response_obj))


def _error_text(kwargs: Mapping[str, Any], response_obj: Any) -> str:
    exc = kwargs.get("exception")
    return f"{type(exc).__name__}: {exc}" if exc is not None else str(response_obj or "LiteLLM call failed")


def _latency(start: Any, end: Any) -> float | None:
    if isinstance(start, datetime) and isinstance(end, datetime):
        return round((end - start).total_seconds() * 1000, 3)
    return None
