"""The approvals queue over HTTP, in AxonFlow's HITL shape (``axonflow`` 9.5 ``list_hitl_queue`` and friends).

Routes (answers are ``{"success": true, "data": ...}``; errors ``{"error": <code>, "message": ...}``):

- ``POST /api/v1/hitl/queue``: queue a request (``client_id``, ``original_query``, ``request_type``
  required). Idempotent with a held pre-check: when the tenant already has a pending request for the same
  query, that one is returned (201 for a new one, 200 for the existing one). The query is stored with
  every finding replaced by its type.
- ``GET /api/v1/hitl/queue``: list, newest first; ``status``, ``severity``, ``limit`` (1-500, default 50)
  and ``offset``; ``meta`` holds ``total``, ``limit`` and ``offset``. Admin.
- ``GET /api/v1/hitl/queue/{id}``: one request; any key of its tenant (callers poll their own requests).
- ``POST /api/v1/hitl/queue/{id}/approve`` and ``/reject``: ``reviewer_id`` and ``reviewer_email`` required,
  ``reviewer_role`` and ``comment`` optional; 409 ``already_decided`` / ``expired``. Admin.
- ``GET /api/v1/hitl/stats``: pending counts and the oldest pending age. Admin.

Tenants never see each other's requests: another tenant's id answers 404, like an unknown one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from proctor.approvals import SEVERITIES, STATUSES, ApprovalError, ApprovalQuery, Approvals, review_text
from proctor.audit.record import sha256_text
from proctor.errors import StoreError
from proctor.governor import Governor
from proctor.identity import Identity
from proctor.server.auth import Caller
from proctor.server.gateway_api import gateway_caller, gateway_error
from proctor.server.openai_api import BadRequest, read_json

MAX_PAGE = 500
_CONFLICT = {"not_found": 404, "already_decided": 409, "expired": 409}


def _ok(data: Any, status: int = 200, **extra: Any) -> JSONResponse:
    return JSONResponse({"success": True, "data": data, **extra}, status_code=status)


def _begin(request: Request, *, admin: bool = False) -> tuple[Caller, Approvals] | JSONResponse:
    """The authenticated caller and the approvals service, or the error response to send instead."""
    caller = gateway_caller(request, admin=admin)
    if isinstance(caller, JSONResponse):
        return caller
    gov: Governor = request.app.state.governor
    if gov.approvals is None:
        return gateway_error(503, "approvals_unavailable", "This Proctor runs without a store for approvals.")
    return caller, gov.approvals


def _tenant(request: Request, caller: Caller) -> str | None:
    """The tenant a caller may see; None (every tenant) only with auth off, where all is one deployment."""
    return caller.tenant if request.app.state.settings.auth == "keys" else None


def _text(body: Mapping[str, Any], key: str, *, required: bool = False, limit: int = 4096) -> str | None:
    value = body.get(key)
    if value is None or (value == "" and not required):
        if required:
            raise BadRequest(f"'{key}' is required and must be a non-empty string.", key)
        return None
    if not isinstance(value, str) or not value:
        raise BadRequest(f"'{key}' must be a non-empty string.", key)
    if len(value) > limit:
        raise BadRequest(f"'{key}' is longer than {limit} characters.", key)
    return value


async def create(request: Request) -> Response:
    begun = _begin(request)
    if isinstance(begun, JSONResponse):
        return begun
    caller, service = begun
    gov: Governor = request.app.state.governor
    try:
        body = await read_json(request, request.app.state.settings.limits.max_body_bytes)
        client_id = _text(body, "client_id", required=True)
        query = _text(body, "original_query", required=True, limit=100_000) or ""
        request_type = _text(body, "request_type", required=True) or "chat"
        severity = _text(body, "severity")
        if severity is not None and severity not in SEVERITIES:
            raise BadRequest(f"'severity' must be one of {', '.join(SEVERITIES)}.", "severity")
        notify_url = _text(body, "notify_url")
        if notify_url is not None and not notify_url.startswith(("http://", "https://")):
            raise BadRequest("'notify_url' must be an http:// or https:// URL.", "notify_url")
        context = body.get("request_context") or {}
        if not isinstance(context, dict):
            raise BadRequest("'request_context' must be an object.", "request_context")
        expires_in = body.get("expires_in_seconds")
        if expires_in is not None and (not isinstance(expires_in, int) or isinstance(expires_in, bool)
                                       or expires_in < 1):
            raise BadRequest("'expires_in_seconds' must be a positive integer.", "expires_in_seconds")
    except BadRequest as exc:
        return gateway_error(exc.status, "invalid_request", str(exc))
    if notify_url and service.webhooks is None:
        return gateway_error(400, "webhooks_not_configured", "'notify_url' needs a webhook signing secret on the "
                             "server (approvals.webhook_secret_env); deliveries are always signed.")
    prompt_sha = sha256_text(query)
    identity = Identity(tenant=caller.tenant, client=caller.client or client_id, agent=caller.agent or "default",
                        user=_text(body, "user_id"), model=str(context.get("model")) if context.get("model") else None)
    try:
        pending, _ = await asyncio.to_thread(service.list, ApprovalQuery(tenant=caller.tenant, status="pending",
                                                                         limit=MAX_PAGE))
        for existing in pending:
            if existing.prompt_sha256 == prompt_sha:
                return _ok(existing.to_public())
        decision = gov.check(query, identity, "input")
        policy = _text(body, "triggered_policy_id")
        approval = await asyncio.to_thread(
            service.create, identity, decision, query=review_text(query, decision.findings), prompt_sha256=prompt_sha,
            request_type=request_type, request_context=context, notify_url=notify_url,
            ttl_s=float(expires_in) if expires_in else None,
            severity=severity or gov.severity(decision),
            policies=[policy, *(p for p in decision.policies if p != policy)] if policy else gov.held_by(decision),
            reason=_text(body, "trigger_reason"))
    except StoreError:
        return gateway_error(503, "store_unavailable", "The approvals store cannot be written.")
    return _ok(approval.to_public(), 201)


async def list_queue(request: Request) -> Response:
    begun = _begin(request, admin=True)
    if isinstance(begun, JSONResponse):
        return begun
    caller, service = begun
    params = request.query_params
    status, severity = params.get("status") or None, params.get("severity") or None
    if status is not None and status not in STATUSES:
        return gateway_error(400, "invalid_request", f"'status' must be one of {', '.join(STATUSES)}.")
    if severity is not None and severity not in SEVERITIES:
        return gateway_error(400, "invalid_request", f"'severity' must be one of {', '.join(SEVERITIES)}.")
    try:
        limit, offset = int(params.get("limit", "50")), int(params.get("offset", "0"))
    except ValueError:
        return gateway_error(400, "invalid_request", "'limit' and 'offset' must be integers.")
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        return gateway_error(400, "invalid_request", f"'limit' must be 1-{MAX_PAGE} and 'offset' >= 0.")
    query = ApprovalQuery(tenant=_tenant(request, caller), status=status, severity=severity, limit=limit,
                          offset=offset)
    items, total = await asyncio.to_thread(service.list, query)
    return _ok([a.to_public() for a in items], meta={"total": total, "limit": limit, "offset": offset})


async def get_one(request: Request) -> Response:
    begun = _begin(request)
    if isinstance(begun, JSONResponse):
        return begun
    caller, service = begun
    try:
        approval = await asyncio.to_thread(service.get, request.path_params["id"], _tenant(request, caller))
    except ApprovalError as exc:
        return gateway_error(404, exc.code, str(exc))
    return _ok(approval.to_public())


async def approve(request: Request) -> Response:
    return await _decide(request, approve=True)


async def reject(request: Request) -> Response:
    return await _decide(request, approve=False)


async def _decide(request: Request, *, approve: bool) -> Response:
    begun = _begin(request, admin=True)
    if isinstance(begun, JSONResponse):
        return begun
    caller, service = begun
    try:
        body = await read_json(request, 64 * 1024)
        reviewer = _text(body, "reviewer_id", required=True, limit=256) or ""
        email = _text(body, "reviewer_email", required=True, limit=256)
        role = _text(body, "reviewer_role", limit=256)
        comment = _text(body, "comment", limit=4000)
    except BadRequest as exc:
        return gateway_error(exc.status, "invalid_request", str(exc))
    try:
        approval = await asyncio.to_thread(
            service.decide, request.path_params["id"], approve=approve, reviewer_id=reviewer, reviewer_email=email,
            reviewer_role=role, comment=comment, tenant=_tenant(request, caller),
            via=f"key:{caller.key_id}" if caller.key_id else "api")
    except ApprovalError as exc:
        return gateway_error(_CONFLICT.get(exc.code, 409), exc.code, str(exc))
    except StoreError:
        return gateway_error(503, "store_unavailable", "The approvals store cannot be written.")
    return _ok(approval.to_public())


async def stats(request: Request) -> Response:
    begun = _begin(request, admin=True)
    if isinstance(begun, JSONResponse):
        return begun
    caller, service = begun
    return _ok(await asyncio.to_thread(service.stats, _tenant(request, caller)))
