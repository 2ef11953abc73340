"""LiteLLM integration: ``Governed`` (a governing drop-in for ``litellm.completion``), ``ProctorLogger``
(an audit-only LiteLLM callback) and ``ProctorGuardrail`` / ``proxy_handler`` (the LiteLLM proxy guardrail).

``Governed`` runs on an embedded Governor (local policies, and an audit chain in the store you name; SQLite
by default) or on a remote ``proctor serve`` (``endpoint=``). Install with ``pip install 'proctor[litellm]'``;
the proxy guardrail runs inside ``litellm --config`` (``pip install 'proctor[litellm-proxy]'``).

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
import os
import socket
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Coroutine, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Literal, TypeVar

from proctor.approvals import Approvals
from proctor.client import ProctorClient, RemoteGovernor
from proctor.config import Settings, load_settings
from proctor.decision import Action, Decision
from proctor.errors import BlockedError, ConfigError, PolicyDenied, StoreError
from proctor.governor import CallContext, ExternalCall, Governor, new_ids
from proctor.identity import Identity
from proctor.policy import load_policies
from proctor.providers import ProviderConfig
from proctor.store import open_store

try:
    import litellm
    from litellm.integrations.custom_guardrail import CustomGuardrail
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
    url = storage or settings.storage
    gov.audit = AuditLog.open(url, key_file=key_file, failure_mode=mode)
    # Held calls queue in the same store, where `proctor approvals` and `proctor serve` decide them.
    gov.store = open_store(url)
    gov.approvals = Approvals(gov.store, ttl_s=settings.approvals.ttl_s, audit=gov.audit)
    return gov


def _approval_headers(headers: Any, gov: Governor) -> dict[str, Any]:
    """``X-Proctor-Approval-Id`` (spend an approved request) and ``X-Proctor-Wait-Approval: <seconds>`` (wait
    for the reviewer, capped by ``approvals.max_wait_s``) from the proxy's incoming request headers."""
    if not isinstance(headers, Mapping):
        return {}
    lower = {str(k).lower(): v for k, v in headers.items()}
    out: dict[str, Any] = {}
    if lower.get("x-proctor-approval-id"):
        out["approval_id"] = str(lower["x-proctor-approval-id"])
    try:
        wait = float(lower.get("x-proctor-wait-approval") or 0)
    except ValueError:
        wait = 0.0
    if wait > 0 and wait != float("inf"):
        out["wait_s"] = min(wait, gov.approval_max_wait_s)
    return out


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
    """A governing drop-in for ``litellm.completion`` / ``litellm.acompletion``.

    Embedded (default): ``policies`` are sources for ``load_policies`` (default ``builtin:default``),
    ``storage`` the audit store URL (default ``sqlite:///./proctor.db``), ``governor`` an existing Governor
    to use instead. Fails closed: when the audit cannot be written the call is refused
    (``failure_mode="open"`` lets it through).

    Remote: ``endpoint="http://proctor:8080"`` (and ``api_key``, the Proctor key) checks and records on a
    ``proctor serve``, while LiteLLM still calls the model from here. ``timeout_s`` bounds each call to
    Proctor; the circuit breaker opens after ``failure_threshold`` failures in a row and tries again after
    ``recovery_s``. While Proctor is unavailable calls raise ``proctor.client.RemoteUnavailable``;
    ``fail_open=True`` lets them go ahead unchecked and unrecorded instead (a warning is logged each time:
    use it only where availability matters more than governance).

    A call that a ``require_approval`` policy holds raises ``ApprovalRequired`` (with ``.approval_id``) at
    once; with ``approval_timeout=<seconds>`` it waits for the reviewer instead (``proctor approvals approve``,
    the HITL API) and goes ahead when approved, or raises ``ApprovalRejected``, ``ApprovalExpired`` or
    ``ApprovalTimeout``. Each has ``.reason``, ``.policies``, ``.decision_id`` and ``.approval_id``.
    """

    def __init__(self, *, policies: Sequence[str] | None = None, storage: str | None = None,
                 key_file: str | None = None, failure_mode: str = "closed", governor: Governor | None = None,
                 endpoint: str | None = None, api_key: str | None = None, timeout_s: float = 5.0,
                 failure_threshold: int = 5, recovery_s: float = 30.0, fail_open: bool = False,
                 approval_timeout: float = 0.0) -> None:
        if approval_timeout < 0:
            raise ConfigError(f"Governed: approval_timeout must be >= 0 seconds; found {approval_timeout!r}")
        self.approval_timeout = approval_timeout
        self.governor: Governor | RemoteGovernor
        if endpoint is not None:
            if governor is not None or policies is not None or storage is not None:
                raise ConfigError("Governed: pass either endpoint= (a remote Proctor) or governor=/policies=/"
                                  "storage= (embedded), not both")
            client = ProctorClient(endpoint, api_key, timeout_s=timeout_s, failure_threshold=failure_threshold,
                                   recovery_s=recovery_s)
            self.governor = RemoteGovernor(client, providers=_LITELLM, fail_open=fail_open,
                                           approval_timeout=approval_timeout)
        else:
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
                          kwargs.get("api_key"), wait_s=self.approval_timeout)
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
        """Flush and close the audit log (embedded), or the connections to Proctor (remote)."""
        if isinstance(self.governor, RemoteGovernor):
            self.governor.close()
            return
        close = getattr(self.governor.audit, "close", None)
        if callable(close):
            close()
        if self.governor.store is not None:
            self.governor.store.close()


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
            _observe(self.governor, kwargs, response, start, end, error, "default")
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


def _observe(governor: Governor, kwargs: Mapping[str, Any], response: Any, start: Any, end: Any,
             error: str | None, default_agent: str) -> None:
    """Record one finished LiteLLM call from a logging callback's kwargs (findings logged, nothing blocked)."""
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
    identity = _identity(model, kwargs.get("user"), metadata)
    if identity.agent == "default" and default_agent != "default":
        identity = replace(identity, agent=default_agent)
    governor.observe(
        kwargs.get("messages"), text, CallContext(identity, decision_id, trace_id),
        provider=kwargs.get("custom_llm_provider"), model=model, tokens_in=usage.get("prompt_tokens"),
        tokens_out=usage.get("completion_tokens"), cost_usd=kwargs.get("response_cost"),
        latency_ms=_latency(start, end), status="error" if error else "ok", error=error)


def _error_text(kwargs: Mapping[str, Any], response_obj: Any) -> str:
    exc = kwargs.get("exception")
    return f"{type(exc).__name__}: {exc}" if exc is not None else str(response_obj or "LiteLLM call failed")


def _latency(start: Any, end: Any) -> float | None:
    if isinstance(start, datetime) and isinstance(end, datetime):
        return round((end - start).total_seconds() * 1000, 3)
    return None


# -- the LiteLLM proxy guardrail ---------------------------------------------------------------------------
_CHAT_CALL_TYPES = ("completion", "acompletion")
_MAX_OPEN_CALLS = 10_000  # calls between pre-call and response; the oldest is recorded as failed past this
_SESSION_HEADERS = ("x-session-id", "x-litellm-session-id")


class ProctorGuardrail(CustomGuardrail):
    """Proctor inside the LiteLLM proxy (``litellm --config config.yaml``), by installed module path:

    .. code-block:: yaml

        guardrails:
          - guardrail_name: proctor
            litellm_params:
              guardrail: proctor.integrations.litellm.ProctorGuardrail
              mode: [pre_call, post_call]
              default_on: true
              proctor_mode: sync            # sync (default): block and redact; async: record only

    Proctor's settings (policies, storage, failure mode, stream hold-back) come from the file named by
    ``PROCTOR_CONFIG`` (the same proctor.yaml as ``proctor serve``), else ``proctor_config``, else the
    embedded defaults in the working directory. ``sync`` checks chat completions before the upstream call
    (HTTP 400 ``policy_denied`` in OpenAI's shape; a redacting policy rewrites the request) and checks the
    output, streams through the server's hold-back guard, so no denied span reaches the client. ``async``
    never delays a request: it records each call after it finished, findings logged. Every call leaves
    one audit record; other call types (embeddings, images) are recorded after the fact in both modes.

    Identity: agent = ``metadata.agent_name`` > key alias > team alias > the proxy's host name; session
    from ``x-session-id`` (or LiteLLM's ``x-litellm-session-id`` / ``litellm_session_id``); user from the
    key's user id, else the request's ``user``.
    """

    def __init__(self, *, proctor_mode: str = "sync", proctor_config: str | None = None,
                 governor: Governor | None = None, **kwargs: Any) -> None:
        if proctor_mode not in ("sync", "async"):
            raise ConfigError(f"ProctorGuardrail: key 'proctor_mode': expected sync or async; found {proctor_mode!r}")
        super().__init__(**kwargs)
        self.proctor_mode = proctor_mode
        self.errors = 0  # recording problems in async mode (logged, never raised into the proxy)
        self._config = proctor_config
        self._governor = governor
        self._lock = threading.Lock()
        self._calls: dict[str, ExternalCall] = {}
        self._host = socket.gethostname()

    @property
    def governor(self) -> Governor:
        """The Governor, built on first use from ``PROCTOR_CONFIG`` (so importing this module stays cheap)."""
        if self._governor is None:
            with self._lock:
                if self._governor is None:
                    settings = load_settings(self._config)
                    # One chain per proxy worker process: appends never contend (DESIGN, "Storage and scale").
                    chain = f"litellm-{self._host}-{os.getpid()}"
                    self._governor = Governor.from_settings(settings, chain_id=chain)
        return self._governor

    def identity(self, data: Mapping[str, Any], key: Any = None) -> Identity:
        """Who is calling, from the proxy's request data and the caller's ``UserAPIKeyAuth``."""
        meta: dict[str, Any] = {}
        for name in ("litellm_metadata", "metadata"):  # the proxy uses either, by route
            if isinstance(data.get(name), Mapping):
                meta.update(data[name])
        agent = (meta.get("agent_name") or getattr(key, "key_alias", None) or meta.get("user_api_key_alias")
                 or getattr(key, "team_alias", None) or meta.get("user_api_key_team_alias") or self._host)
        raw_headers = (data.get("proxy_server_request") or {}).get("headers") or {}
        headers = {str(k).lower(): v for k, v in raw_headers.items()} if isinstance(raw_headers, Mapping) else {}
        session = next((headers[h] for h in _SESSION_HEADERS if headers.get(h)), None) \
            or data.get("litellm_session_id") or meta.get("session_id")
        user = getattr(key, "user_id", None) or meta.get("user_api_key_user_id") or data.get("user")
        return Identity(agent=str(agent), session=str(session) if session else None,
                        user=str(user) if user else None, model=str(data.get("model") or "") or None)

    async def async_pre_call_hook(self, user_api_key_dict: Any, cache: Any, data: dict[str, Any],
                                  call_type: Any) -> dict[str, Any] | None:
        """Check the input of a chat completion: raise HTTP 400 when denied, rewrite it when redacting."""
        if self.proctor_mode != "sync" or call_type not in _CHAT_CALL_TYPES:
            return None
        headers = (data.get("proxy_server_request") or {}).get("headers") or {}
        decision_id, trace_id = new_ids(headers.get("traceparent") if isinstance(headers, Mapping) else None)
        ctx = CallContext(self.identity(data, user_api_key_dict), decision_id, trace_id,
                          **_approval_headers(headers, self.governor))
        try:
            call = await self.governor.admit(data, ctx, provider="litellm-proxy")
        except BlockedError as exc:
            raise _blocked(exc, output=False) from None
        except StoreError as exc:
            log.error("proctor: audit store unavailable; refusing the call (failure_mode: closed): %s", exc)
            raise _http_error(503, "The audit trail cannot be written, so the call was refused.",
                              "server_error", "audit_unavailable", decision_id) from None
        self._remember(data, call)
        if call.input.action is Action.REDACT and isinstance(call.input.redacted, list):
            data["messages"] = call.input.redacted
        return data

    async def async_post_call_success_hook(self, data: dict[str, Any], user_api_key_dict: Any,
                                           response: Any) -> Any:
        """Check a non-streamed response: raise HTTP 400 when denied, redact it in place when redacting."""
        call = self._take(data)
        if call is None or not hasattr(response, "model_dump"):
            return None
        try:
            body = call.respond(response.model_dump())
        except BlockedError as exc:
            raise _blocked(exc, output=True) from None
        for choice, out in zip(getattr(response, "choices", None) or [], body.get("choices") or [], strict=False):
            message = getattr(choice, "message", None)
            if message is not None and isinstance(out.get("message"), Mapping):
                message.content = out["message"].get("content")
        return response

    async def async_post_call_streaming_iterator_hook(self, user_api_key_dict: Any, response: Any,
                                                      request_data: dict[str, Any]) -> AsyncGenerator[Any, None]:
        """Release a streamed response through the hold-back guard: a denied span never reaches the client;
        the stream ends with an error event instead."""
        call = self._take(request_data)
        if call is None:
            async for chunk in response:
                yield chunk
            return
        async for out in call.stream(_chunk_dicts(response)):
            if "error" in out:
                raise _StreamBlocked(str((out["error"] or {}).get("message") or "Response blocked by policy."))
            yield litellm.ModelResponseStream(**out)

    async def async_post_call_failure_hook(self, request_data: dict[str, Any], original_exception: Exception,
                                           user_api_key_dict: Any, traceback_str: str | None = None) -> Any:
        """Record a call that failed upstream (a call Proctor blocked was recorded already)."""
        call = self._take(request_data)
        if call is not None:
            call.fail(f"{type(original_exception).__name__}: {original_exception}")
        return None

    async def async_log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        if self._records_after_the_fact(kwargs):
            self._observe(kwargs, response_obj, start_time, end_time, None)

    async def async_log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        if self._records_after_the_fact(kwargs):
            self._observe(kwargs, None, start_time, end_time, _error_text(kwargs, response_obj))

    def _records_after_the_fact(self, kwargs: Mapping[str, Any]) -> bool:
        # sync mode records chat completions in its hooks; everything else is recorded here, once
        return self.proctor_mode == "async" or str(kwargs.get("call_type") or "") not in _CHAT_CALL_TYPES

    def _observe(self, kwargs: Mapping[str, Any], response: Any, start: Any, end: Any, error: str | None) -> None:
        try:
            _observe(self.governor, kwargs, response, start, end, error, self._host)
        except Exception:  # never raise into the proxy after the response went out
            self.errors += 1
            log.exception("proctor: could not record a LiteLLM proxy call")

    def _remember(self, data: Mapping[str, Any], call: ExternalCall) -> None:
        key = str(data.get("litellm_call_id") or id(data))
        self._calls[key] = call
        if len(self._calls) > _MAX_OPEN_CALLS:
            oldest = next(iter(self._calls))
            self._calls.pop(oldest).fail("the proxy never reported how the call ended")

    def _take(self, data: Mapping[str, Any]) -> ExternalCall | None:
        if self.proctor_mode != "sync":
            return None
        return self._calls.pop(str(data.get("litellm_call_id") or id(data)), None)


class _StreamBlocked(Exception):
    """Raised into the proxy's stream writer, which sends it as a ``data: {"error": ...}`` event (it reads
    ``message``, ``type``, ``param`` and ``status_code``) and ends the stream."""

    type = "policy_violation"
    param = None
    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _http_error(status: int, message: str, type_: str, code: str, decision_id: str | None) -> Exception:
    from fastapi import HTTPException  # the proxy's own type: other exceptions become HTTP 500

    error = {"message": message, "type": type_, "code": code, "param": None}
    headers = {"x-proctor-decision-id": decision_id} if decision_id else None
    exc = HTTPException(status_code=status, detail={"error": error}, headers=headers)
    exc.type = type_  # type: ignore[attr-defined]  # the proxy copies it into the OpenAI error's "type"
    return exc


def _blocked(exc: BlockedError, *, output: bool) -> Exception:
    """HTTP 400 ``policy_denied`` for a deny; 403 with the approval outcome's code for a held call."""
    what = "Response" if output else "Request"
    if isinstance(exc, PolicyDenied):
        return _http_error(400, f"{what} blocked by policy: {exc.reason}", "policy_violation", "policy_denied",
                           exc.decision_id)
    code = _APPROVAL_CODES.get(type(exc).__name__, "approval_required")
    return _http_error(403, f"{what} requires approval: {exc}", "policy_violation", code, exc.decision_id)


_APPROVAL_CODES = {"ApprovalRequired": "approval_required", "ApprovalRejected": "approval_rejected",
                   "ApprovalExpired": "approval_expired", "ApprovalTimeout": "approval_timeout"}


async def _chunk_dicts(response: Any) -> AsyncIterator[dict[str, Any]]:
    async for chunk in response:
        yield chunk.model_dump(exclude_none=True) if hasattr(chunk, "model_dump") else dict(chunk)


proxy_handler = ProctorGuardrail(guardrail_name="proctor")
"""A ready instance for ``litellm_settings: {callbacks: [proctor.integrations.litellm.proxy_handler]}``
(sync mode; its Governor is built on the first request)."""
