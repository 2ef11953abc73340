"""Proctor's own check API, for remote clients (``proctor.client``) that call the model themselves.

``POST /api/v1/check`` checks a string or OpenAI-style messages and answers the Decision as JSON: ``action``,
``findings`` (type, start, end, score and message index; never the matched value), ``policies``, ``reason``,
``scope``, ``decision_id``, and ``redacted`` when redacting. With ``"audit": true`` (input only) it is the
first half of a governed call: a blocked input is recorded at once, an allowed one opens a context
(``context_id``, five minutes) that ``POST /api/v1/audit`` closes with the model's response, leaving one
audit record with both halves. The server checks the response itself, so the record never depends on the
client's word about findings. Errors use OpenAI's envelope with stable codes, like ``/v1/*``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from proctor.approvals import ApprovalError
from proctor.decision import Action, Decision
from proctor.errors import StoreError
from proctor.governor import CallContext, Governor, new_ids
from proctor.identity import Identity
from proctor.server.auth import Caller, Unauthorized, authenticate
from proctor.server.errors import openai_error
from proctor.server.openai_api import BadRequest, read_json

IDENTITY_KEYS = ("agent", "session", "user", "model")
AUDIT_STATUSES = ("ok", "error", "blocked")


def decision_json(decision: Decision) -> dict[str, Any]:
    """The wire form of a Decision: no matched values, no placeholder map."""
    out = {**decision.to_dict(), "scope": decision.scope}
    if decision.action is Action.REDACT and decision.redacted is not None:
        out["redacted"] = decision.redacted
    return out


def _caller(request: Request) -> Caller | Response:
    try:
        return authenticate(request)
    except Unauthorized as exc:
        return openai_error(exc.status, str(exc), type="authentication_error" if exc.status == 401 else
                            "permission_error", code="unauthorized" if exc.status == 401 else "forbidden")


def _identity(body: Mapping[str, Any], caller: Caller) -> Identity:
    raw = body.get("identity")
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise BadRequest("'identity' must be an object with agent, session, user and model.", "identity")
    unknown = sorted(set(raw) - set(IDENTITY_KEYS))
    if unknown:
        raise BadRequest(f"identity.{unknown[0]} is not a known field; expected {', '.join(IDENTITY_KEYS)} "
                         "(the tenant comes from the API key).", f"identity.{unknown[0]}")
    for key in IDENTITY_KEYS:
        if raw.get(key) is not None and (not isinstance(raw[key], str) or not raw[key]):
            raise BadRequest(f"identity.{key} must be a non-empty string.", f"identity.{key}")
    return Identity(tenant=caller.tenant, client=caller.client, agent=raw.get("agent") or caller.agent
                    or caller.team or "default", session=raw.get("session"), user=raw.get("user"),
                    model=raw.get("model"))


def _check_input(body: Mapping[str, Any]) -> Any:
    value = body.get("input")
    if isinstance(value, str):
        return value
    if not isinstance(value, list) or not all(isinstance(m, dict) for m in value):
        raise BadRequest("'input' is required: a string, or an array of messages ({role, content}).", "input")
    return value


async def check(request: Request) -> Response:
    """``POST /api/v1/check``: body ``{"input", "scope"?, "identity"?, "audit"?}``."""
    gov: Governor = request.app.state.governor
    caller = _caller(request)
    if isinstance(caller, Response):
        return caller
    try:
        body = await read_json(request, request.app.state.settings.limits.max_body_bytes)
        text = _check_input(body)
        scope = body.get("scope", "input")
        if scope not in ("input", "output"):
            raise BadRequest(f"'scope' must be 'input' or 'output'; found {scope!r}.", "scope")
        audit = body.get("audit", False)
        if not isinstance(audit, bool) or (audit and scope != "input"):
            raise BadRequest("'audit' must be true or false, and true only with scope 'input' (the output is "
                             "checked by POST /api/v1/audit).", "audit")
        identity = _identity(body, caller)
    except BadRequest as exc:
        return openai_error(exc.status, str(exc), param=exc.param)
    decision_id, trace_id = new_ids(request.headers.get("traceparent"))
    headers = {"x-proctor-decision-id": decision_id, "x-proctor-trace-id": trace_id}
    try:
        if audit:
            decision, context = gov.pre_check(text, CallContext(identity, decision_id, trace_id))
        else:
            decision, context = gov.check(text, identity, scope), None
    except TypeError as exc:  # a message that is not {role, content}: the Governor names which
        return openai_error(400, f"'input': {exc}.", param="input", headers=headers)
    except StoreError:
        return openai_error(503, "The audit trail cannot be written, so the check was refused (failure_mode: "
                            "closed).", type="server_error", code="audit_unavailable", headers=headers)
    answer = {**decision_json(decision), "decision_id": decision_id}
    if context is not None:
        answer["context_id"] = context.id
        if decision.action is Action.REQUIRE_APPROVAL:  # the context is the approval request
            answer["approval_id"] = context.id
    return JSONResponse(answer, headers=headers)


def _count(body: Mapping[str, Any], key: str, *, integer: bool = True) -> Any:
    value = body.get(key)
    if value is None:
        return None
    number = isinstance(value, int) or (not integer and isinstance(value, float))
    if not number or isinstance(value, bool) or value < 0:
        raise BadRequest(f"'{key}' must be a non-negative {'integer' if integer else 'number'}.", key)
    return value


async def audit(request: Request) -> Response:
    """``POST /api/v1/audit``: body ``{"context_id", "response"?, "provider"?, "model"?, "tokens_in"?,
    "tokens_out"?, "latency_ms"?, "status"?, "error"?}`` closes the context of an audited input check."""
    gov: Governor = request.app.state.governor
    caller = _caller(request)
    if isinstance(caller, Response):
        return caller
    tenant = caller.tenant if request.app.state.settings.auth == "keys" else None
    try:
        body = await read_json(request, request.app.state.settings.limits.max_body_bytes)
        context_id = body.get("context_id")
        if not isinstance(context_id, str) or not context_id:
            raise BadRequest("'context_id' is required: the context_id of an audited check.", "context_id")
        strings = {}
        for key in ("response", "provider", "model", "error"):
            value = body.get(key)
            if value is not None and not isinstance(value, str):
                raise BadRequest(f"'{key}' must be a string.", key)
            strings[key] = value
        status = body.get("status", "ok")
        if status not in AUDIT_STATUSES:
            raise BadRequest(f"'status' must be one of {', '.join(AUDIT_STATUSES)}; found {status!r}.", "status")
        tokens_in, tokens_out = _count(body, "tokens_in"), _count(body, "tokens_out")
        latency = _count(body, "latency_ms", integer=False)
    except BadRequest as exc:
        return openai_error(exc.status, str(exc), param=exc.param)
    _, trace_id = new_ids(request.headers.get("traceparent"))
    try:
        record_id = gov.audit_llm_call(
            context_id, response_summary=strings["response"] or "", provider=strings["provider"] or "unknown",
            model=strings["model"] or "", tokens_in=tokens_in, tokens_out=tokens_out,
            latency_ms=float(latency) if latency is not None else None, trace_id=trace_id, status=status,
            error=strings["error"], tenant=tenant)
    except StoreError:
        return openai_error(503, "The audit trail cannot be written.", type="server_error", code="audit_unavailable")
    except ApprovalError as exc:  # recorded as an error: the call was made without a usable approval
        return openai_error(403, str(exc), type="policy_violation", code="approval_required",
                            extra={"approval_id": context_id})
    if record_id is None:
        return openai_error(404, f"No live context {context_id!r}: it is unknown, was already audited, or expired. "
                            "Check the input again with audit: true.", param="context_id", code="context_not_found")
    return JSONResponse({"record_id": record_id})
