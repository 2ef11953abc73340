"""The remote client: a ``proctor serve`` used for checks and audit by an app that calls its model itself.

``ProctorClient`` speaks the server's check API (``POST /api/v1/check``, ``POST /api/v1/audit``; see
``proctor.server.check_api``), sync and async, with a per-call timeout, one retry on connection errors
(nothing was sent), and a circuit breaker. ``RemoteGovernor`` has the Governor's pipeline methods
(``check``, ``chat``, ``chat_stream``) on top of it: input checked (and, when allowed, a context opened)
by the server, the model called here through a local provider (LiteLLM for ``Governed``), the output
checked by the server (streams through the same hold-back guard as the server), and the call recorded by
the server. ``Governed(endpoint=..., api_key=...)`` runs on it.

The breaker opens after ``failure_threshold`` failures in a row (connection errors, timeouts, HTTP 5xx),
refuses calls for ``recovery_s`` seconds, then lets one trial call through (half-open): success closes it,
failure opens it again. Each change is logged on the ``proctor.client`` logger and visible as
``breaker.state`` and in ``metrics()``. While the server cannot be reached, calls raise
``RemoteUnavailable``; ``fail_open=True`` lets them go ahead unchecked and unrecorded instead.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

import httpx

from proctor.decision import Action, Decision
from proctor.errors import (
    ApprovalExpired,
    ApprovalRejected,
    ApprovalRequired,
    ApprovalTimeout,
    BlockedError,
    ConfigError,
    PolicyDenied,
    ProviderError,
    RemoteUnavailable,
)
from proctor.findings import Finding
from proctor.governor import CallContext, ChatResult
from proctor.identity import Identity
from proctor.providers import Provider, ProviderConfig, ProviderRouter
from proctor.stream_guard import Release, StreamGuard, guard_chunks, received

log = logging.getLogger("proctor.client")
BreakerState = Literal["closed", "open", "half_open"]
_STATE_VALUE = {"closed": 0, "half_open": 1, "open": 2}


class CircuitBreaker:
    """Closed → open after ``failure_threshold`` failures in a row → half-open after ``recovery_s`` (one
    trial call) → closed on success, open again on failure. Thread-safe; ``clock`` is for tests."""

    def __init__(self, failure_threshold: int = 5, recovery_s: float = 30.0, *, name: str = "proctor",
                 clock: Any = time.monotonic) -> None:
        if not isinstance(failure_threshold, int) or failure_threshold < 1:
            raise ConfigError(f"failure_threshold: expected a whole number >= 1; found {failure_threshold!r}")
        if not isinstance(recovery_s, (int, float)) or recovery_s <= 0:
            raise ConfigError(f"recovery_s: expected a positive number of seconds; found {recovery_s!r}")
        self.failure_threshold = failure_threshold
        self.recovery_s = float(recovery_s)
        self.name = name
        self._clock = clock
        self._lock = threading.Lock()
        self._state: BreakerState = "closed"
        self._failures = 0
        self._opened_at = 0.0
        self._trial = False
        self.opened_total = 0

    @property
    def state(self) -> BreakerState:
        """``closed``, ``open`` or ``half_open`` (an open breaker past its recovery time reads half-open)."""
        with self._lock:
            if self._state == "open" and self._clock() - self._opened_at >= self.recovery_s:
                return "half_open"
            return self._state

    def allow(self) -> bool:
        """May a call go out now? Past the recovery time, exactly one trial call may."""
        with self._lock:
            if self._state == "closed":
                return True
            if self._state == "open" and self._clock() - self._opened_at >= self.recovery_s:
                self._move("half_open")
            if self._state == "half_open" and not self._trial:
                self._trial = True
                return True
            return False

    def success(self) -> None:
        with self._lock:
            self._failures = 0
            self._trial = False
            if self._state != "closed":
                self._move("closed")

    def failure(self) -> None:
        with self._lock:
            self._failures += 1
            self._trial = False
            if self._state == "half_open" or (self._state == "closed" and self._failures >= self.failure_threshold):
                self._opened_at = self._clock()
                self.opened_total += 1
                self._move("open")

    def _move(self, state: BreakerState) -> None:
        old, self._state = self._state, state
        level = logging.WARNING if state == "open" else logging.INFO
        log.log(level, "circuit breaker %s: %s -> %s (%d failure(s) in a row; recovery %gs)", self.name, old,
                state, self._failures, self.recovery_s)


@dataclass(frozen=True, slots=True)
class RemoteCheck:
    """The server's answer to a check: the Decision, its id, and the context to audit (audited inputs)."""

    decision: Decision
    decision_id: str
    context_id: str | None = None
    approval_id: str | None = None


def decision_from_json(data: Mapping[str, Any]) -> Decision:
    """The Decision of a ``/api/v1/check`` answer."""
    findings = tuple(Finding(str(f["type"]), int(f["start"]), int(f["end"]), float(f.get("score", 1.0)),
                             f.get("message")) for f in data.get("findings") or ())
    return Decision(Action(data["action"]), findings, tuple(data.get("policies") or ()),
                    str(data.get("reason") or ""), data.get("redacted"), scope=str(data.get("scope") or "input"))


class ProctorClient:
    """HTTP client for a remote ``proctor serve``: ``check`` / ``acheck`` and ``audit`` / ``aaudit``.

    ``api_key`` is the Proctor API key (sent as ``X-Proctor-Key``); ``timeout_s`` the default per-call
    timeout, which every method also takes as ``timeout=``; ``retries`` how many times a call is retried
    on a connection error only (the request was never sent). Errors: ``ValueError`` for input the server
    refused (HTTP 400, its message), ``ConfigError`` for a refused key (401/403), ``RemoteUnavailable``
    when the server cannot be reached or the breaker is open.
    """

    def __init__(self, endpoint: str, api_key: str | None = None, *, timeout_s: float = 5.0,
                 failure_threshold: int = 5, recovery_s: float = 30.0, retries: int = 1) -> None:
        if not isinstance(endpoint, str) or not endpoint.startswith(("http://", "https://")):
            raise ConfigError(f"endpoint: expected an http:// or https:// URL; found {endpoint!r}")
        if not isinstance(timeout_s, (int, float)) or timeout_s <= 0:
            raise ConfigError(f"timeout_s: expected a positive number of seconds; found {timeout_s!r}")
        self.endpoint = endpoint.rstrip("/")
        self.timeout_s = float(timeout_s)
        self.retries = max(0, int(retries))
        self.breaker = CircuitBreaker(failure_threshold, recovery_s, name=self.endpoint)
        self.requests_total = 0
        self.failures_total = 0
        self._headers = {"x-proctor-key": api_key} if api_key else {}
        self._sync: httpx.Client | None = None
        # An async pool belongs to the loop that made it: one per loop, never reused across closed loops.
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = \
            weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    # -- the API ---------------------------------------------------------------------------------------
    def check(self, text_or_messages: Any, identity: Identity | None = None, scope: str = "input", *,
              audit: bool = False, timeout: float | None = None) -> RemoteCheck:
        """Check a string or messages on the server; ``audit=True`` (input only) opens the call's record."""
        return _check_answer(self._call("/api/v1/check", _check_body(text_or_messages, identity, scope, audit),
                                        timeout))

    async def acheck(self, text_or_messages: Any, identity: Identity | None = None, scope: str = "input", *,
                     audit: bool = False, timeout: float | None = None) -> RemoteCheck:
        """``check`` for async code."""
        body = _check_body(text_or_messages, identity, scope, audit)
        return _check_answer(await self._acall("/api/v1/check", body, timeout))

    def audit(self, context_id: str, *, timeout: float | None = None, **fields: Any) -> str:
        """Close an audited check's context: ``response``, ``provider``, ``model``, ``tokens_in``,
        ``tokens_out``, ``latency_ms``, ``status`` (ok, error, blocked), ``error``. Returns the record id."""
        return str(self._call("/api/v1/audit", _audit_body(context_id, fields), timeout)["record_id"])

    async def aaudit(self, context_id: str, *, timeout: float | None = None, **fields: Any) -> str:
        """``audit`` for async code."""
        return str((await self._acall("/api/v1/audit", _audit_body(context_id, fields), timeout))["record_id"])

    def metrics(self) -> dict[str, float]:
        """Counters for a metrics exporter; the breaker state is 0 closed, 1 half-open, 2 open."""
        return {"proctor_client_requests_total": self.requests_total,
                "proctor_client_failures_total": self.failures_total,
                "proctor_client_breaker_state": _STATE_VALUE[self.breaker.state],
                "proctor_client_breaker_opened_total": self.breaker.opened_total}

    async def aapproval(self, approval_id: str, *, timeout: float | None = None) -> dict[str, Any]:
        """The approval request a held call is waiting on (AxonFlow's HITL shape: ``status``, ``reviewer_id``,
        ``review_comment``, ...), as the server sees it now."""
        data = (await self._acall(f"/api/v1/hitl/queue/{quote(approval_id, safe='')}", None, timeout))["data"]
        return dict(data)

    def close(self) -> None:
        """Close the sync pool (async pools close with their loops, or with ``aclose``)."""
        if self._sync is not None:
            self._sync.close()
            self._sync = None

    async def aclose(self) -> None:
        """Close this loop's async pool and the sync pool."""
        client = self._async.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()
        self.close()

    # -- one request: the breaker and the answer's handling are shared; only the send differs -------------
    def _call(self, path: str, body: dict[str, Any] | None, timeout: float | None) -> dict[str, Any]:
        self._admit()
        with self._lock:
            if self._sync is None:
                self._sync = httpx.Client(headers=self._headers, trust_env=False)
        for attempt in range(self.retries + 1):
            try:
                response = self._sync.request("GET" if body is None else "POST", self.endpoint + path, json=body,
                                              timeout=timeout or self.timeout_s)
            except httpx.ConnectError as exc:
                if attempt < self.retries:
                    continue
                raise self._unavailable(exc) from exc
            except httpx.HTTPError as exc:
                raise self._unavailable(exc) from exc
            return self._answer(response)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    async def _acall(self, path: str, body: dict[str, Any] | None, timeout: float | None) -> dict[str, Any]:
        self._admit()
        loop = asyncio.get_running_loop()
        client = self._async.get(loop)
        if client is None:
            client = self._async[loop] = httpx.AsyncClient(headers=self._headers, trust_env=False)
        for attempt in range(self.retries + 1):
            try:
                response = await client.request("GET" if body is None else "POST", self.endpoint + path, json=body,
                                                timeout=timeout or self.timeout_s)
            except httpx.ConnectError as exc:
                if attempt < self.retries:
                    continue
                raise self._unavailable(exc) from exc
            except httpx.HTTPError as exc:
                raise self._unavailable(exc) from exc
            return self._answer(response)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _admit(self) -> None:
        self.requests_total += 1
        if not self.breaker.allow():
            raise RemoteUnavailable(f"Proctor at {self.endpoint} is unavailable: circuit breaker open (retrying "
                                    f"after {self.breaker.recovery_s:g}s)", breaker_open=True)

    def _unavailable(self, exc: Exception) -> RemoteUnavailable:
        self.failures_total += 1
        self.breaker.failure()
        return RemoteUnavailable(f"Proctor at {self.endpoint} did not answer: {type(exc).__name__}: {exc}")

    def _answer(self, response: httpx.Response) -> dict[str, Any]:
        if response.status_code >= 500:
            self.failures_total += 1
            self.breaker.failure()
            raise RemoteUnavailable(f"Proctor at {self.endpoint} failed: HTTP {response.status_code} "
                                    f"{_message(response)}")
        self.breaker.success()  # it answered: a 4xx is the caller's problem, not the server's health
        if response.status_code in (401, 403) and _code(response) in ("unauthorized", "forbidden"):
            raise ConfigError(f"Proctor at {self.endpoint} refused the API key: {_message(response)}")
        if response.status_code >= 400:
            raise ValueError(f"Proctor at {self.endpoint} refused the request (HTTP {response.status_code}, "
                             f"{_code(response)}): {_message(response)}")
        data: dict[str, Any] = response.json()
        return data


def _check_body(text_or_messages: Any, identity: Identity | None, scope: str, audit: bool) -> dict[str, Any]:
    if scope not in ("input", "output"):
        raise ValueError(f"scope must be 'input' or 'output', not {scope!r}")
    who = identity or Identity()
    fields = {"agent": who.agent, "session": who.session, "user": who.user, "model": who.model}
    return {"input": text_or_messages, "scope": scope, "audit": audit,
            "identity": {k: v for k, v in fields.items() if v}}


def _check_answer(data: Mapping[str, Any]) -> RemoteCheck:
    return RemoteCheck(decision_from_json(data), str(data.get("decision_id") or ""), data.get("context_id"),
                       data.get("approval_id"))


def _audit_body(context_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    return {"context_id": context_id, **{k: v for k, v in fields.items() if v is not None}}


def _error(response: httpx.Response) -> Mapping[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, dict) else {}


def _message(response: httpx.Response) -> str:
    return str(_error(response).get("message") or response.reason_phrase)


def _code(response: httpx.Response) -> str:
    return str(_error(response).get("code") or "error")


# -- the pipeline, remotely governed ------------------------------------------------------------------------


class RemoteGovernor:
    """The Governor's pipeline methods with checks and audit on a remote Proctor and the model called here.

    ``providers`` routes models to local providers (``Governed`` passes LiteLLM); ``fail_open=True`` lets
    calls go ahead unchecked and unrecorded while the server is unavailable (logged as a warning each
    time). Blocked calls raise like the Governor's (``PolicyDenied``, ``ApprovalRequired``).
    """

    def __init__(self, client: ProctorClient, *, providers: Sequence[ProviderConfig], fail_open: bool = False,
                 stream_holdback: int = 256, approval_timeout: float = 0.0, poll_s: float = 0.5) -> None:
        self.client = client
        self.fail_open = fail_open
        self.approval_timeout = approval_timeout
        self.poll_s = poll_s
        self.stream_holdback = stream_holdback
        self._router = ProviderRouter(providers)

    def check(self, text_or_messages: Any, identity: Identity | None = None, scope: str = "input") -> Decision:
        """Check on the server (nothing recorded); raises ``RemoteUnavailable`` when it cannot answer."""
        return self.client.check(text_or_messages, identity, scope).decision

    async def chat(self, body: Mapping[str, Any], ctx: CallContext) -> ChatResult:
        """Check the input remotely, call the model here, check the output remotely, record remotely."""
        started = time.perf_counter()
        admitted = await self._admit(body, ctx)
        name, provider = self._route(body)
        send = _send(body, admitted)
        try:
            response = await provider.chat(send, ctx.api_key)
        except ProviderError as exc:
            await self._record(admitted, body, name, started, status="error", error=str(exc))
            raise
        raw = response.get("choices")
        choices = [c for c in raw if isinstance(c, dict)] if isinstance(raw, list) else []
        outputs = [c.get("message") or {} for c in choices]
        text = "".join(str(m["content"]) for m in outputs if isinstance(m.get("content"), str))
        usage = response.get("usage") or {}
        out = Decision(Action.ALLOW, scope="output")
        if outputs:
            out = await self._check_output(outputs, ctx)
        if not out.allowed:
            await self._record(admitted, body, name, started, status="blocked", response=text, usage=usage)
            raise _blocked(out, admitted)
        if out.action is Action.REDACT and isinstance(out.redacted, list):
            response = dict(response)
            response["choices"] = [dict(c, message=m) for c, m in zip(choices, out.redacted, strict=True)]
        await self._record(admitted, body, name, started, status="ok", response=text, usage=usage)
        decision = admitted.decision if admitted else Decision(Action.ALLOW)
        return ChatResult(response, decision, out, name)

    async def chat_stream(self, body: Mapping[str, Any], ctx: CallContext) -> AsyncIterator[dict[str, Any]]:
        """Like ``Governor.chat_stream``: yields chunk bodies, ending with ``{"error": ...}`` when the output
        guard stops the stream (nothing of the denied span is yielded)."""
        started = time.perf_counter()
        admitted = await self._admit(body, ctx)
        name, provider = self._route(body)
        return self._guarded(provider.stream(_send(body, admitted), ctx.api_key), admitted, body, name, ctx,
                             started)

    async def _guarded(self, chunks: AsyncIterator[dict[str, Any]], admitted: RemoteCheck | None,
                       body: Mapping[str, Any], name: str, ctx: CallContext, started: float
                       ) -> AsyncIterator[dict[str, Any]]:
        guards: dict[int, StreamGuard] = {}
        usage: Mapping[str, Any] = {}

        def check(text: str) -> Decision:  # runs in a worker thread: the guard's check is synchronous
            return self._output_sync(text, ctx)

        def on_usage(seen: Mapping[str, Any]) -> bool:
            nonlocal usage
            usage = seen
            return True

        try:
            async for item in guard_chunks(chunks, guards, lambda: StreamGuard(check, self.stream_holdback),
                                           run=_in_thread, on_usage=on_usage):
                if isinstance(item, Decision):
                    await self._record(admitted, body, name, started, status="blocked", response=received(guards),
                                       usage=usage)
                    yield {"error": {"message": f"Response blocked by policy: {item.reason}",
                                     "type": "policy_violation", "code": "policy_denied", "param": None}}
                    return
                yield item
        except ProviderError as exc:
            await self._record(admitted, body, name, started, status="error", error=str(exc),
                               response=received(guards))
            yield {"error": exc.body.get("error") if exc.body else {
                "message": str(exc), "type": "upstream_error", "code": "upstream_error", "param": None}}
            return
        await self._record(admitted, body, name, started, status="ok", response=received(guards), usage=usage)

    async def aclose(self) -> None:
        """Close provider and client connections."""
        await self._router.aclose()
        await self.client.aclose()

    def close(self) -> None:
        """Close the client's sync connections."""
        self.client.close()

    # -- the steps -----------------------------------------------------------------------------------------
    async def _admit(self, body: Mapping[str, Any], ctx: CallContext) -> RemoteCheck | None:
        """The input check (the server records a blocked one); None when failing open."""
        try:
            admitted = await self.client.acheck(body.get("messages") or [], ctx.identity, "input", audit=True)
        except RemoteUnavailable as exc:
            self._open_or_raise(exc, "input")
            return None
        if not admitted.decision.allowed:
            if admitted.decision.action is Action.REQUIRE_APPROVAL and admitted.approval_id \
                    and self.approval_timeout > 0:
                await self._wait_for_approval(admitted)
                return admitted  # approved: its context (the approval) admits the audit of this call
            raise _blocked(admitted.decision, admitted)
        return admitted

    async def _wait_for_approval(self, admitted: RemoteCheck) -> None:
        """Poll the held call's approval until a reviewer decides or ``approval_timeout`` passes; raise
        ApprovalRejected / ApprovalExpired / ApprovalTimeout unless it is approved."""
        assert admitted.approval_id is not None
        decision, approval_id = admitted.decision, admitted.approval_id
        deadline = time.monotonic() + self.approval_timeout
        while True:
            try:
                view = await self.client.aapproval(approval_id)
            except RemoteUnavailable as exc:
                self._open_or_raise(exc, "approval")  # fail-open has nothing to wait on: the call goes ahead
                return
            status = view.get("status")
            if status == "approved":
                return
            if status == "rejected":
                why = f" Reviewer's comment: {view['review_comment']}" if view.get("review_comment") else ""
                raise ApprovalRejected(decision, f"Approval request {approval_id} was rejected by "
                                       f"{view.get('reviewer_id') or 'a reviewer'}.{why}",
                                       decision_id=admitted.decision_id, approval_id=approval_id)
            if status == "expired":
                raise ApprovalExpired(decision, f"Approval request {approval_id} expired before a reviewer decided "
                                      "(default-deny).", decision_id=admitted.decision_id, approval_id=approval_id)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ApprovalTimeout(decision, f"Approval request {approval_id} is still pending after waiting "
                                      f"{self.approval_timeout:g}s.", decision_id=admitted.decision_id,
                                      approval_id=approval_id)
            await asyncio.sleep(min(self.poll_s, remaining))

    async def _check_output(self, outputs: list[Any], ctx: CallContext) -> Decision:
        try:
            return (await self.client.acheck(outputs, ctx.identity, "output")).decision
        except RemoteUnavailable as exc:
            self._open_or_raise(exc, "output")
            return Decision(Action.ALLOW, scope="output")

    def _output_sync(self, text: str, ctx: CallContext) -> Decision:
        try:
            return self.client.check(text, ctx.identity, "output").decision
        except RemoteUnavailable as exc:
            self._open_or_raise(exc, "output")
            return Decision(Action.ALLOW, scope="output")

    async def _record(self, admitted: RemoteCheck | None, body: Mapping[str, Any], provider: str, started: float,
                      *, status: str, response: str | None = None, usage: Mapping[str, Any] | None = None,
                      error: str | None = None) -> None:
        if admitted is None or admitted.context_id is None:
            return  # failing open: the server never saw this call
        usage = usage or {}
        try:
            await self.client.aaudit(
                admitted.context_id, response=response, provider=provider, model=str(body.get("model") or ""),
                tokens_in=_int(usage.get("prompt_tokens")), tokens_out=_int(usage.get("completion_tokens")),
                latency_ms=round((time.perf_counter() - started) * 1000, 3), status=status, error=error)
        except RemoteUnavailable as exc:
            self._open_or_raise(exc, "audit")

    def _open_or_raise(self, exc: RemoteUnavailable, step: str) -> None:
        if not self.fail_open:
            raise exc
        log.warning("proctor: %s; fail_open=True, so the call goes on without its %s %s", exc, step,
                    "record" if step == "audit" else "check")

    def _route(self, body: Mapping[str, Any]) -> tuple[str, Provider]:
        found = self._router.route(str(body.get("model") or ""))
        if found is None:
            raise ConfigError(f"no local provider serves model {body.get('model')!r}")
        return found[0].name, found[1]


def _send(body: Mapping[str, Any], admitted: RemoteCheck | None) -> dict[str, Any]:
    send = dict(body)
    if admitted is not None and admitted.decision.action is Action.REDACT and admitted.decision.redacted is not None:
        send["messages"] = admitted.decision.redacted
    return send


def _blocked(decision: Decision, admitted: RemoteCheck | None) -> BlockedError:
    decision_id = admitted.decision_id if admitted else None
    if decision.action is Action.REQUIRE_APPROVAL:
        return ApprovalRequired(decision, decision_id=decision_id,
                                approval_id=admitted.approval_id if admitted else None)
    return PolicyDenied(decision, decision_id=decision_id)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


async def _in_thread(step: Callable[..., Release], *args: Any) -> Release:
    """Runs a guard step in a worker thread: the remote check blocks on the network."""
    return await asyncio.to_thread(step, *args)
