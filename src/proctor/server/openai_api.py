"""OpenAI-compatible routes: ``POST /v1/chat/completions`` (incl. streaming) and ``GET /v1/models``."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from proctor.errors import ApprovalRequired, PolicyDenied, ProviderError, ProviderTimeout, StoreError
from proctor.governor import CallContext, Governor, new_ids
from proctor.identity import Identity
from proctor.server.errors import openai_error

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


def caller_key(request: Request) -> str | None:
    """The caller's provider key: ``X-Provider-Key``, else ``Authorization: Bearer`` (Proctor auth off)."""
    key = request.headers.get("x-provider-key")
    if key:
        return key.strip()
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return None


def identity_for(request: Request, body: Mapping[str, Any]) -> Identity:
    raw_metadata = body.get("metadata")
    metadata: Mapping[str, Any] = raw_metadata if isinstance(raw_metadata, dict) else {}
    agent = metadata.get("agent_name") or request.headers.get("x-proctor-agent") or "default"
    user = body.get("user") if isinstance(body.get("user"), str) else None
    return Identity(agent=str(agent), session=request.headers.get("x-session-id"), user=user,
                    model=str(body.get("model")))


def call_context(request: Request, body: Mapping[str, Any], api_key: str | None = None) -> CallContext:
    """Ids, identity and the caller's provider key for one call."""
    decision_id, trace_id = new_ids(request.headers.get("traceparent"))
    return CallContext(identity_for(request, body), decision_id, trace_id, api_key or caller_key(request))


def _ids_headers(ctx: CallContext) -> dict[str, str]:
    return {"x-proctor-decision-id": ctx.decision_id, "x-proctor-trace-id": ctx.trace_id}


def _blocked(exc: PolicyDenied | ApprovalRequired, headers: dict[str, str], *, output: bool) -> JSONResponse:
    what = "Response" if output else "Request"
    if isinstance(exc, ApprovalRequired):
        return openai_error(403, f"{what} requires approval: {exc.reason}", type="policy_violation",
                            code="approval_required", headers=headers)
    return openai_error(400, f"{what} blocked by policy: {exc.reason}", type="policy_violation",
                        code="policy_denied", headers=headers)


async def chat_completions(request: Request) -> Response:
    gov: Governor = request.app.state.governor
    limits = request.app.state.settings.limits
    try:
        body = await read_json(request, limits.max_body_bytes)
        validate_chat(body)
    except BadRequest as exc:
        return openai_error(exc.status, str(exc), param=exc.param)
    ctx = call_context(request, body)
    headers = _ids_headers(ctx)
    try:
        if body.get("stream"):
            stream = await gov.chat_stream(body, ctx)
            return StreamingResponse(_sse(stream), media_type="text/event-stream",
                                     headers={**headers, "cache-control": "no-cache"})
        result = await gov.chat(body, ctx)
    except Exception as exc:
        return _failure(exc, headers)
    return JSONResponse(result.body, headers=headers)


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
        body = await read_json(request, request.app.state.settings.limits.max_body_bytes)
        validate_embeddings(body)
    except BadRequest as exc:
        return openai_error(exc.status, str(exc), param=exc.param)
    ctx = call_context(request, body)
    headers = _ids_headers(ctx)
    try:
        result = await gov.embeddings(body, ctx)
    except Exception as exc:
        return _failure(exc, headers)
    return JSONResponse(result, headers=headers)


def _failure(exc: Exception, headers: dict[str, str]) -> Response:
    """Map a pipeline exception to OpenAI's error shape; unknown exceptions propagate (-> 500 handler)."""
    if isinstance(exc, (PolicyDenied, ApprovalRequired)):
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
        yield b"data: " + json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"
    if not errored:
        yield b"data: [DONE]\n\n"


async def models(request: Request) -> Response:
    gov: Governor = request.app.state.governor
    data = []
    seen = set()
    for glob, provider in gov.models():
        if any(ch in glob for ch in "*?[") or glob in seen:
            continue
        seen.add(glob)
        data.append({"id": glob, "object": "model", "created": 0, "owned_by": provider})
    return JSONResponse({"object": "list", "data": data})
