"""OpenAI-compatible routes: ``POST /v1/chat/completions`` (incl. streaming) and ``GET /v1/models``."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from proctor.errors import BlockedError, PolicyDenied, ProviderError, ProviderTimeout, StoreError
from proctor.governor import CallContext, Governor, new_ids
from proctor.identity import Identity
from proctor.server.auth import Caller, Unauthorized, authenticate, provider_key
from proctor.server.errors import openai_error
from proctor.server.responses import FastJSONResponse, dumps

log = logging.getLogger("proctor.server")
_ROLES = ("system", "developer", "user", "assistant", "tool", "function")


class BadRequest(Exception):
    """A request the caller must fix; becomes a 400 in OpenAI's shape."""

    def __init__(self, message: str, param: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.param = param
        self.status = status


async def read_json(request: Request, max_bytes: int) -> dict[str, Any]:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise BadRequest(f"Request body is larger than the limit of {max_bytes} bytes.", status=413)
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > max_bytes:
            raise BadRequest(f"Request body is larger than the limit of {max_bytes} bytes.", status=413)
    if not raw:
        raise BadRequest("Request body is empty; expected a JSON object.")
    try:  # the fast path; anything it refuses goes the slow way below, which names the problem
        fast = orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    else:
        if not isinstance(fast, dict):
            raise BadRequest(f"Request body must be a JSON object, not {type(fast).__name__}.")
        return fast
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"Request body is not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}).") \
            from None
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"Request body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") \
            from None
    if not isinstance(body, dict):
        raise BadRequest(f"Request body must be a JSON object, not {type(body).__name__}.")
    return body


def validate_chat(body: Mapping[str, Any]) -> None:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequest("'model' is required and must be a non-empty string.", "model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("'messages' is required and must be a non-empty array.", "messages")
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            raise BadRequest(f"messages[{i}] must be an object with 'role' and 'content'.", f"messages[{i}]")
        if msg.get("role") not in _ROLES:
            raise BadRequest(f"messages[{i}].role must be one of {', '.join(_ROLES)}; found {msg.get('role')!r}.",
                             f"messages[{i}].role")
        content = msg.get("content")
        if content is not None and not isinstance(content, (str, list)):
            raise BadRequest(f"messages[{i}].content must be a string, an array of content parts, or null.",
                             f"messages[{i}].content")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise BadRequest("'stream' must be a boolean.", "stream")


def identity_for(request: Request, body: Mapping[str, Any], caller: Caller) -> Identity:
    """Agent: ``metadata.agent_name`` > ``X-Proctor-Agent`` > the key's agent > its team > ``default``."""
    raw_metadata = body.get("metadata")
    metadata: Mapping[str, Any] = raw_metadata if isinstance(raw_metadata, dict) else {}
    agent = metadata.get("agent_name") or request.headers.get("x-proctor-agent") or caller.agent or caller.team \
        or "default"
    user = body.get("user") if isinstance(body.get("user"), str) else None
    return Identity(tenant=caller.tenant, client=caller.client, agent=str(agent),
                    session=request.headers.get("x-session-id"), user=user, model=str(body.get("model")))


def call_context(request: Request, body: Mapping[str, Any], caller: Caller, api_key: str | None = None) -> CallContext:
    """Ids, identity, the caller's provider key and approval headers for one call.

    ``X-Proctor-Wait-Approval: <seconds>`` makes a held call wait for its reviewer (capped by
    ``approvals.max_wait_s``); ``X-Proctor-Approval-Id`` spends an approved request on this call.
    """
    decision_id, trace_id = new_ids(request.headers.get("traceparent"))
    wait = request.headers.get("x-proctor-wait-approval")
    try:
        wait_s = float(wait) if wait else 0.0
    except ValueError:
        raise BadRequest(f"X-Proctor-Wait-Approval must be a number of seconds; found {wait!r}.") from None
    if not 0 <= wait_s < float("inf"):
        raise BadRequest(f"X-Proctor-Wait-Approval must be a number of seconds; found {wait!r}.")
    wait_s = min(wait_s, request.app.state.settings.approvals.max_wait_s)
    return CallContext(identity_for(request, body, caller), decision_id, trace_id,
                       api_key or provider_key(request), approval_id=request.headers.get("x-proctor-approval-id"),
                       wait_s=wait_s)


def _ids_headers(ctx: CallContext) -> dict[str, str]:
    return {"x-proctor-decision-id": ctx.decision_id, "x-proctor-trace-id": ctx.trace_id}


# Approval outcomes: their stable codes. A held call answers 403 and names its approval request.
APPROVAL_CODES = {"ApprovalRequired": "approval_required", "ApprovalRejected": "approval_rejected",
                  "ApprovalExpired": "approval_expired", "ApprovalTimeout": "approval_timeout"}


def blocked_code(exc: BlockedError) -> str:
    return "policy_denied" if isinstance(exc, PolicyDenied) else APPROVAL_CODES.get(type(exc).__name__,
                                                                                      "approval_required")


def _blocked(exc: BlockedError, headers: dict[str, str], *, output: bool) -> JSONResponse:
    what = "Response" if output else "Request"
    if isinstance(exc, PolicyDenied):
        return openai_error(400, f"{what} blocked by policy: {exc.reason}", type="policy_violation",
                            code="policy_denied", headers=headers)
    extra = None
    if exc.approval_id:  # in a header and in the body, for SDKs that hide headers on errors
        headers = {**headers, "x-proctor-approval-id": exc.approval_id}
        extra = {"approval_id": exc.approval_id}
    return openai_error(403, f"{what} requires approval: {exc}", type="policy_violation", code=blocked_code(exc),
                        headers=headers, extra=extra)


def unauthorized(exc: Unauthorized) -> JSONResponse:
    return openai_error(exc.status, str(exc), type="authentication_error" if exc.status == 401 else
                        "permission_error", code="invalid_api_key" if exc.status == 401 else "forbidden")


async def chat_completions(request: Request) -> Response:
    gov: Governor = request.app.state.governor
    limits = request.app.state.settings.limits
    try:
        caller = authenticate(request)
    except Unauthorized as exc:
        return unauthorized(exc)
    try:
        body = await read_json(request, limits.max_body_bytes)
        validate_chat(body)
        ctx = call_context(request, body, caller)
    except BadRequest as exc:
        return openai_error(exc.status, str(exc), param=exc.param)
    headers = _ids_headers(ctx)
    try:
        if body.get("stream"):
            stream = await gov.chat_stream(body, ctx)
            return StreamingResponse(_sse(stream), media_type="text/event-stream",
                                     headers={**headers, "cache-control": "no-cache"})
        result = await gov.chat(body, ctx)
    except Exception as exc:
        return _failure(exc, headers)
    return FastJSONResponse(result.body, headers=headers)


def validate_embeddings(body: Mapping[str, Any]) -> None:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequest("'model' is required and must be a non-empty string.", "model")
    raw = body.get("input")
    if isinstance(raw, str):
        return
    if not isinstance(raw, list) or not raw:
        raise BadRequest("'input' is required: a string or a non-empty array of strings.", "input")
    if not all(isinstance(t, str) for t in raw):
        raise BadRequest("'input' must be text: Proctor checks what it forwards, so token-id arrays are not "
                         "accepted; send the strings instead.", "input")


async def embeddings(request: Request) -> Response:
    gov: Governor = request.app.state.governor
    try:
        caller = authenticate(request)
    except Unauthorized as exc:
        return unauthorized(exc)
    try:
        body = await read_json(request, request.app.state.settings.limits.max_body_bytes)
        validate_embeddings(body)
        ctx = call_context(request, body, caller)
    except BadRequest as exc:
        return openai_error(exc.status, str(exc), param=exc.param)
    headers = _ids_headers(ctx)
    try:
        result = await gov.embeddings(body, ctx)
    except Exception as exc:
        return _failure(exc, headers)
    return FastJSONResponse(result, headers=headers)


def _failure(exc: Exception, headers: dict[str, str]) -> Response:
    """Map a pipeline exception to OpenAI's error shape; unknown exceptions propagate (-> 500 handler)."""
    if isinstance(exc, BlockedError):
        return _blocked(exc, headers, output=exc.decision.scope == "output")
    if isinstance(exc, ProviderTimeout):
        return openai_error(504, f"Upstream provider timed out ({exc.provider}).", type="upstream_error",
                            code="upstream_timeout", headers=headers)
    if isinstance(exc, ProviderError):
        if exc.body:
            return JSONResponse(exc.body, status_code=exc.status or 502, headers=headers)
        return openai_error(exc.status or 502, str(exc), type="upstream_error", code="upstream_error",
                            headers=headers)
    if isinstance(exc, StoreError):
        log.error("audit store unavailable; failing closed: %s", exc)
        return openai_error(503, "The audit trail cannot be written, so the call was refused (failure_mode: "
                            "closed).", type="server_error", code="audit_unavailable", headers=headers)
    raise exc


async def _sse(stream: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    errored = False
    async for event in stream:
        errored = errored or "error" in event
        yield b"data: " + dumps(event) + b"\n\n"
    if not errored:
        yield b"data: [DONE]\n\n"


async def models(request: Request) -> Response:
    gov: Governor = request.app.state.governor
    try:
        authenticate(request)
    except Unauthorized as exc:
        return unauthorized(exc)
    data = []
    seen = set()
    for glob, provider in gov.models():
        if any(ch in glob for ch in "*?[") or glob in seen:
            continue
        seen.add(glob)
        data.append({"id": glob, "object": "model", "created": 0, "owned_by": provider})
    return JSONResponse({"object": "list", "data": data})
