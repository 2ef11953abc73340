"""Anthropic's Messages shape: ``POST /v1/messages``, translated onto the same Governor pipeline."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from proctor.errors import BlockedError, PolicyDenied, ProviderError, ProviderTimeout, StoreError
from proctor.governor import Governor
from proctor.server.anthropic_shape import ShapeError, StreamTranslator, from_openai, to_openai
from proctor.server.auth import Unauthorized, authenticate
from proctor.server.openai_api import BadRequest, call_context, read_json

# Anthropic's error types by HTTP status, as its SDK maps them to exception classes.
_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error", 404: "not_found_error",
          413: "request_too_large", 429: "rate_limit_error", 503: "overloaded_error", 504: "api_error"}


def anthropic_error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"type": "error", "error": {"type": _TYPES.get(status, "api_error"), "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)


async def messages(request: Request) -> Response:
    gov: Governor = request.app.state.governor
    try:
        caller = authenticate(request)
    except Unauthorized as exc:
        return anthropic_error(exc.status, str(exc))
    # With auth off, x-api-key is the caller's Anthropic key; with auth on it is Proctor's, never forwarded.
    upstream_key = None if request.app.state.settings.auth == "keys" else request.headers.get("x-api-key")
    try:
        raw = await read_json(request, request.app.state.settings.limits.max_body_bytes)
        body = to_openai(raw)
        ctx = call_context(request, body, caller, upstream_key)
    except BadRequest as exc:
        return anthropic_error(exc.status, str(exc))
    except ShapeError as exc:
        return anthropic_error(400, str(exc))
    headers = {"x-proctor-decision-id": ctx.decision_id, "x-proctor-trace-id": ctx.trace_id}
    try:
        if body.get("stream"):
            stream = await gov.chat_stream(body, ctx)
            return StreamingResponse(_events(stream, body["model"]), media_type="text/event-stream",
                                     headers={**headers, "cache-control": "no-cache"})
        result = await gov.chat(body, ctx)
    except BlockedError as exc:
        what = "Response" if exc.decision.scope == "output" else "Request"
        if not isinstance(exc, PolicyDenied):
            if exc.approval_id:
                headers["x-proctor-approval-id"] = exc.approval_id
            return anthropic_error(403, f"{what} requires approval: {exc}", headers)
        return anthropic_error(400, f"{what} blocked by policy: {exc.reason}", headers)
    except ProviderTimeout as exc:
        return anthropic_error(504, f"Upstream provider timed out ({exc.provider}).", headers)
    except ProviderError as exc:
        error = (exc.body or {}).get("error")
        message = error.get("message") if isinstance(error, dict) else None
        return anthropic_error(exc.status or 502, str(message or exc), headers)
    except StoreError:
        return anthropic_error(503, "The audit trail cannot be written, so the call was refused "
                               "(failure_mode: closed).", headers)
    return JSONResponse(from_openai(result.body, body["model"]), headers=headers)


async def _events(stream: AsyncIterator[dict[str, Any]], model: str) -> AsyncIterator[bytes]:
    # message_start goes out with the first upstream chunk, so that its id is the upstream's.
    translator = StreamTranslator(model)
    async for chunk in stream:
        for name, data in translator.feed(chunk):
            yield _sse(name, data)
            if name == "error":
                return
    for name, data in translator.finish():
        yield _sse(name, data)


def _sse(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()
