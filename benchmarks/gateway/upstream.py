"""The upstream every gateway calls: nginx answering fixed OpenAI bodies, so it is never the bottleneck.

nginx cannot read a JSON body cheaply, so streaming has its own path: ``/v1/chat/completions`` answers one
``chat.completion`` and ``/stream/v1/chat/completions`` one fixed SSE stream. The gateways route the two by
model name (``CHAT_MODEL`` and ``STREAM_MODEL``) to two base URLs.
"""

from __future__ import annotations

import json
from pathlib import Path

CHAT_MODEL = "gpt-4o-mini"
STREAM_MODEL = "gpt-4o-mini-stream"
CHAT_PATH = "/v1/chat/completions"
STREAM_PATH = "/stream/v1/chat/completions"

# Benign text: the gateways check responses too, and a finding would change what is measured.
REPLY = (
    "Thanks for the details. Your order shipped from our warehouse on Tuesday and the carrier scan shows it "
    "in transit. Delivery usually takes three to five working days from here. If it has not arrived by next "
    "Friday, reply to this message and we will send a replacement at no cost, or refund the full amount to "
    "the original payment method, whichever you prefer."
)
_ID = "chatcmpl-bench0000000000000000000001"
_CREATED = 1_735_689_600


def completion_body() -> str:
    """The fixed ``chat.completion`` answer, with usage so the gateways can price the call."""
    return json.dumps({
        "id": _ID, "object": "chat.completion", "created": _CREATED, "model": CHAT_MODEL,
        "system_fingerprint": "fp_bench",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": REPLY, "refusal": None},
                     "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 256, "completion_tokens": 72, "total_tokens": 328},
    }, separators=(",", ":"))


def stream_events() -> list[dict[str, object]]:
    """The chunks of the fixed stream: a role chunk, one chunk per word, a finish chunk and a usage chunk."""
    base = {"id": _ID, "object": "chat.completion.chunk", "created": _CREATED, "model": CHAT_MODEL,
            "system_fingerprint": "fp_bench"}
    events: list[dict[str, object]] = [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}]
    words = REPLY.split(" ")
    for i, word in enumerate(words):
        piece = word if i == len(words) - 1 else word + " "
        events.append({**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
    events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    events.append({**base, "choices": [], "usage": {"prompt_tokens": 256, "completion_tokens": 72,
                                                     "total_tokens": 328}})
    return events


def stream_body() -> str:
    return "".join(f"data: {json.dumps(e, separators=(',', ':'))}\n\n" for e in stream_events()) + "data: [DONE]\n\n"


def write_site(prefix: Path, port: int) -> Path:
    """Write the bodies and an nginx config under ``prefix``; return the config's path."""
    www = prefix / "www"
    for path, body in ((CHAT_PATH, completion_body()), (STREAM_PATH, stream_body())):
        target = www / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body, "utf-8")
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_config(prefix, port), "utf-8")
    return conf


def nginx_config(prefix: Path, port: int) -> str:
    """A one-process nginx on 127.0.0.1:``port`` that keeps every file under ``prefix``.

    The bodies are static files: nginx's static handler answers POST with 405, and ``error_page 405 =200``
    turns that into the file with status 200 (a config string cannot hold the 16 KB stream).
    """
    temp = "\n".join(f"    {name}_temp_path {prefix / name};" for name in
                     ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""# Written by python -m benchmarks.gateway; one process so it stays on the core it is pinned to.
daemon off;
master_process off;
worker_processes 1;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} warn;
events {{ worker_connections 4096; multi_accept on; }}
http {{
    access_log off;
{temp}
    keepalive_requests 100000000;
    keepalive_timeout 600s;
    client_max_body_size 16m;
    client_body_buffer_size 128k;
    etag off;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        root {prefix / "www"};
        location = {CHAT_PATH} {{
            default_type application/json;
            error_page 405 =200 $uri;
        }}
        location = {STREAM_PATH} {{
            default_type text/event-stream;
            error_page 405 =200 $uri;
        }}
        location = /health {{ return 200 'ok'; }}
    }}
}}
"""
