"""A real Proctor server on loopback (uvicorn in a thread), a fake OpenAI-compatible upstream, and clients."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running(app: Any) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 in a thread; yield its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


class FakeUpstream:
    """An OpenAI-compatible upstream whose next reply the test sets; it remembers what it was sent."""

    def __init__(self) -> None:
        self.reply_chunks: list[str] = ["Hello ", "from ", "upstream."]
        self.finish = True  # False: the stream ends without a finish_reason (some upstreams do)
        self.status = 200
        self.error_body: dict[str, Any] | None = None
        self.delay_s = 0.0
        self.requests: list[dict[str, Any]] = []
        self.auth: list[str | None] = []

    async def chat(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        self.auth.append(request.headers.get("authorization"))
        if self.delay_s:
            import asyncio

            await asyncio.sleep(self.delay_s)
        if self.status != 200:
            return JSONResponse(self.error_body or {"error": {"message": "boom", "type": "server_error"}},
                                status_code=self.status)
        text = "".join(self.reply_chunks)
        usage = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
        base = {"id": "chatcmpl-fake", "created": 1, "model": body.get("model")}
        if not body.get("stream"):
            return JSONResponse({**base, "object": "chat.completion", "usage": usage, "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]})

        async def events() -> Any:
            first = {**base, "object": "chat.completion.chunk",
                     "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}
            yield f"data: {json.dumps(first)}\n\n"
            for piece in self.reply_chunks:
                chunk = {**base, "object": "chat.completion.chunk",
                         "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
                yield f"data: {json.dumps(chunk)}\n\n"
            if self.finish:
                last = {**base, "object": "chat.completion.chunk",
                        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
                yield f"data: {json.dumps(last)}\n\n"
            if (body.get("stream_options") or {}).get("include_usage"):
                final = {**base, "object": "chat.completion.chunk", "choices": [], "usage": usage}
                yield f"data: {json.dumps(final)}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/chat/completions", self.chat, methods=["POST"])])


class ListSink:
    """Collects audit records in memory (for route tests that look at what was recorded)."""

    def __init__(self) -> None:
        self.records: list[Any] = []

    def append(self, record: Any) -> None:
        self.records.append(record)


@pytest.fixture(scope="session")
def upstream() -> Iterator[tuple[FakeUpstream, str]]:
    fake = FakeUpstream()
    with running(fake.app()) as url:
        yield fake, url


@pytest.fixture
def fake(upstream: tuple[FakeUpstream, str]) -> Iterator[FakeUpstream]:
    fake, _ = upstream
    fake.__init__()  # type: ignore[misc]
    yield fake
