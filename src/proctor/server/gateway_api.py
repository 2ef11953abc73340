"""AxonFlow gateway mode, wire-compatible with the ``axonflow`` SDK: pre-check, then audit of the LLM call.

The SDK is the contract (``axonflow`` 9.5, ``client.py``): ``POST /api/policy/pre-check`` answers HTTP 200
with ``approved: false`` and a ``block_reason`` when policy blocks (``require_approval`` when a reviewer is
needed), and ``POST /api/audit/llm-call`` answers ``{"success": true, "audit_id": ...}``. Errors use the
shape the SDK reads: ``{"error": ..., "message": ...}`` with 400/404/413.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from proctor.approvals import ApprovalError
from proctor.decision import Action
from proctor.errors import StoreError
from proctor.governor import CallContext, Governor, new_ids
from proctor.identity import Identity
from proctor.server.auth import Caller, Unauthorized, authenticate
from proctor.server.openai_api import BadRequest, read_json
from proctor.server.responses import FastJSONResponse


def gateway_error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


def gateway_caller(request: Request, *, admin: bool = False) -> Caller | JSONResponse:
    """The authenticated caller, or the error response in AxonFlow's shape (401 / 403)."""
    try:
        return authenticate(request, admin=admin)
    except Unauthorized as exc:
        return gateway_error(exc.status, "unauthorized" if exc.status == 401 else "forbidden", str(exc))


def _client_id(caller: Caller, body: Mapping[str, Any]) -> str | None:
    """The client: Basic auth user (``client_id:secret``), else ``X-Client-ID``, else the body's client_id."""
    if caller.client:
        return caller.client
    value = body.get("client_id")
    return value if isinstance(value, str) and value else None


def _string(body: Mapping[str, Any], key: str, *, required: bool = True) -> str:
    value = body.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise BadRequest(f"'{key}' is required and must be a non-empty string.", key)
    return value


async def pre_check(request: Request) -> Response:
    gov: Governor = request.app.state.governor
    caller = gateway_caller(request)
    if isinstance(caller, JSONResponse):
        return caller
    try:
        body = await read_json(request, request.app.state.settings.limits.max_body_bytes)
        query = _string(body, "query")
        context = body.get("context") or {}
        if not isinstance(context, dict):
            raise BadRequest("'context' must be an object.", "context")
    except BadRequest as exc:
        return gateway_error(exc.status, "invalid_request", str(exc))
    agent = context.get("agent_name") or context.get("agent") or caller.agent or caller.team or "default"
    identity = Identity(tenant=caller.tenant, client=_client_id(caller, body), agent=str(agent),
                        session=request.headers.get("x-session-id") or _opt(context.get("session_id")),
                        user=_opt(context.get("user_id")), model=_opt(context.get("model")))
    decision_id, trace_id = new_ids(request.headers.get("traceparent"))
    try:
        decision, ctx = gov.pre_check(query, CallContext(identity, decision_id, trace_id))
    except StoreError:
        return gateway_error(503, "audit_unavailable", "The audit trail cannot be written, so the call was refused.")
    blocked = not decision.allowed
    expires = ctx.expires_at if ctx else datetime.now(timezone.utc).timestamp()
    answer: dict[str, Any] = {
        "context_id": ctx.id if ctx else decision_id,
        "approved": not blocked,
        "requires_redaction": decision.action is Action.REDACT,
        "approved_data": {"query": decision.redacted} if isinstance(decision.redacted, str) else {},
        "policies": list(decision.policies),
        "expires_at": datetime.fromtimestamp(expires, timezone.utc).isoformat(),
        "block_reason": None,
        "decision_id": decision_id,
        "verdict": "deny" if blocked else "allow",
    }
    if decision.action is Action.REQUIRE_APPROVAL:
        answer["block_reason"] = "require_approval"
        if ctx is not None:  # the context is the approval request: poll it, and audit with it once approved
            answer["approval_id"] = ctx.id
    elif blocked:
        answer["block_reason"] = decision.reason
    headers = {"x-proctor-decision-id": decision_id, "x-proctor-trace-id": trace_id}
    return FastJSONResponse(answer, headers=headers)


def _opt(value: Any) -> str | None:
    return str(value) if isinstance(value, (str, int)) and str(value) else None


def _count(usage: Mapping[str, Any], key: str) -> int | None:
    value = usage.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise BadRequest(f"'token_usage.{key}' must be a non-negative integer.", f"token_usage.{key}")
    return value


async def audit_llm_call(request: Request) -> Response:
    gov: Governor = request.app.state.governor
    caller = gateway_caller(request)
    if isinstance(caller, JSONResponse):
        return caller
    tenant = caller.tenant if request.app.state.settings.auth == "keys" else None
    try:
        body = await read_json(request, request.app.state.settings.limits.max_body_bytes)
        context_id = _string(body, "context_id")
        summary = _string(body, "response_summary", required=False)
        provider = _string(body, "provider", required=False) or None
        model = _string(body, "model", required=False)
        usage = body.get("token_usage") or {}
        if not isinstance(usage, dict):
            raise BadRequest("'token_usage' must be an object.", "token_usage")
        tokens_in, tokens_out = _count(usage, "prompt_tokens"), _count(usage, "completion_tokens")
        latency = body.get("latency_ms")
        if latency is not None and (not isinstance(latency, (int, float)) or isinstance(latency, bool) or latency < 0):
            raise BadRequest("'latency_ms' must be a non-negative number.", "latency_ms")
    except BadRequest as exc:
        return gateway_error(exc.status, "invalid_request", str(exc))
    _, trace_id = new_ids(request.headers.get("traceparent"))
    try:
        audit_id = gov.audit_llm_call(context_id, response_summary=summary, provider=provider or "unknown",
                                      model=model, tokens_in=tokens_in, tokens_out=tokens_out,
                                      latency_ms=float(latency) if latency is not None else None, trace_id=trace_id,
                                      tenant=tenant)
    except StoreError:
        return gateway_error(503, "audit_unavailable", "The audit trail cannot be written.")
    except ApprovalError as exc:  # recorded as an error: the LLM call was made without a usable approval
        return JSONResponse({"error": "approval_required", "message": str(exc), "block_reason": "require_approval",
                             "approval_id": context_id}, status_code=403)
    if audit_id is None:
        return gateway_error(404, "context_not_found", f"No live context {context_id!r}: it is unknown, was already "
                             "audited, or expired. Run the pre-check again.")
    return FastJSONResponse({"success": True, "audit_id": audit_id})
