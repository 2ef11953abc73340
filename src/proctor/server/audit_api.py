"""``GET /api/v1/audit``: read the audit trail over HTTP, newest first, one tenant at a time.

Query parameters (optional, combined with AND): ``agent``, ``session``, ``user``, ``policy``, ``model``,
``action``, ``since`` and ``until`` (ISO times; UTC when no offset is given) and ``limit`` (1-1000, default
100). To page back, pass the oldest ``time`` seen as ``until``. Records are in their JSON form
(``proctor.audit.record``): finding types and hashes, never a matched value. With ``auth: keys`` the route
needs an admin key and shows only that key's tenant; with auth off, ``tenant`` may be given.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from proctor.audit.record import export_line, format_time
from proctor.errors import StoreError
from proctor.governor import Governor
from proctor.server.gateway_api import gateway_caller, gateway_error
from proctor.store import AuditQuery

MAX_LIMIT = 1000
_ACTIONS = ("allow", "log", "redact", "require_approval", "deny")
_TEXT_FILTERS = ("agent", "session", "user", "policy", "model")


def _time(value: str | None, name: str) -> str | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"'{name}' must be an ISO time such as 2026-11-22T18:00:00Z; found {value!r}.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return format_time(moment)


async def query(request: Request) -> Response:
    caller = gateway_caller(request, admin=True)
    if isinstance(caller, JSONResponse):
        return caller
    gov: Governor = request.app.state.governor
    if gov.store is None:
        return gateway_error(503, "audit_unavailable", "This Proctor runs without an audit store.")
    params = request.query_params
    unknown = sorted(set(params) - {*_TEXT_FILTERS, "action", "since", "until", "limit", "tenant"})
    if unknown:
        return gateway_error(400, "invalid_request", f"unknown parameter {unknown[0]!r}; expected some of agent, "
                             "session, user, policy, model, action, since, until, limit, tenant.")
    try:
        limit = int(params.get("limit", "100"))
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"'limit' must be 1-{MAX_LIMIT}.")
        action = params.get("action") or None
        if action is not None and action not in _ACTIONS:
            raise ValueError(f"'action' must be one of {', '.join(_ACTIONS)}.")
        since, until = _time(params.get("since"), "since"), _time(params.get("until"), "until")
    except ValueError as exc:
        message = str(exc) if "must" in str(exc) else "'limit' must be an integer."
        return gateway_error(400, "invalid_request", message)
    keys_on = request.app.state.settings.auth == "keys"
    tenant = caller.tenant if keys_on else (params.get("tenant") or None)
    audit_query = AuditQuery(tenant=tenant, agent=params.get("agent") or None, session=params.get("session") or None,
                             user=params.get("user") or None, policy=params.get("policy") or None,
                             model=params.get("model") or None, action=action, since=since, until=until,
                             kind="call", order="newest", limit=limit)
    try:
        rows = await asyncio.to_thread(gov.store.read_audit, audit_query)
    except StoreError:
        return gateway_error(503, "audit_unavailable", "The audit store cannot be read.")
    data = [json.loads(export_line(r.doc, r.chain_id, r.seq, r.prev_hash, r.prev_signed, r.hash, r.signature))
            for r in rows]
    return JSONResponse({"success": True, "data": data, "meta": {"count": len(data), "limit": limit}})
