"""Build the ASGI application: routes, error handlers and the Governor's lifetime in one place."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from proctor import __version__
from proctor.config import Settings
from proctor.governor import Governor
from proctor.server import anthropic_api, audit_api, check_api, gateway_api, hitl_api, openai_api
from proctor.server.errors import openai_error

log = logging.getLogger("proctor.server")


async def health(request: Request) -> Response:
    return JSONResponse({"status": "healthy", "version": __version__})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return openai_error(exc.status_code, f"{request.method} {request.url.path}: {exc.detail}", code=code)


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return openai_error(500, "Internal error in Proctor; the call was not completed.", type="server_error",
                        code="internal_error")


EXPIRY_INTERVAL_S = 5.0


async def _expire_approvals(gov: Governor) -> None:
    """Expire overdue approval requests every few seconds, so their webhooks and audit records go out on
    time even when nobody reads the queue (reads expire them too)."""
    assert gov.approvals is not None
    while True:
        await asyncio.sleep(EXPIRY_INTERVAL_S)
        try:
            await asyncio.to_thread(gov.approvals.expire_due)
        except Exception:  # a store outage must not end the loop
            log.exception("could not expire approval requests")


def create_worker_app() -> Starlette:
    """App factory for ``proctor serve --workers N``: each worker process reads the settings from the
    environment (the parent passes them as PROCTOR_* variables) and writes its own audit chain, named after
    the host and process, so appends never contend between workers."""
    import os
    import socket

    from proctor.config import load_settings

    settings = load_settings()
    chain = f"{socket.gethostname()}-{os.getpid()}"
    return create_app(settings, Governor.from_settings(settings, chain_id=chain))


def create_app(settings: Settings | None = None, governor: Governor | None = None) -> Starlette:
    """The Proctor ASGI app. Without arguments: embedded defaults (SQLite, builtin:default, echo + OpenAI)."""
    settings = settings or Settings()
    gov = governor or Governor.from_settings(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        expiry = asyncio.create_task(_expire_approvals(gov)) if gov.approvals is not None else None
        yield
        if expiry is not None:
            expiry.cancel()
        await gov.aclose()

    app = Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            Route("/v1/chat/completions", openai_api.chat_completions, methods=["POST"]),
            Route("/v1/embeddings", openai_api.embeddings, methods=["POST"]),
            Route("/v1/models", openai_api.models, methods=["GET"]),
            Route("/v1/messages", anthropic_api.messages, methods=["POST"]),
            Route("/api/policy/pre-check", gateway_api.pre_check, methods=["POST"]),
            Route("/api/audit/llm-call", gateway_api.audit_llm_call, methods=["POST"]),
            Route("/api/v1/check", check_api.check, methods=["POST"]),
            Route("/api/v1/audit", check_api.audit, methods=["POST"]),
            Route("/api/v1/hitl/queue", hitl_api.create, methods=["POST"]),
            Route("/api/v1/hitl/queue", hitl_api.list_queue, methods=["GET"]),
            Route("/api/v1/hitl/queue/{id}", hitl_api.get_one, methods=["GET"]),
            Route("/api/v1/hitl/queue/{id}/approve", hitl_api.approve, methods=["POST"]),
            Route("/api/v1/hitl/queue/{id}/reject", hitl_api.reject, methods=["POST"]),
            Route("/api/v1/hitl/stats", hitl_api.stats, methods=["GET"]),
            Route("/api/v1/audit", audit_api.query, methods=["GET"]),
        ],
        exception_handlers={HTTPException: _http_error, Exception: _internal_error},
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.governor = gov
    return app
