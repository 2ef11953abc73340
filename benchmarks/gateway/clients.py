"""Sequential clients: streaming time to first and last token, and AxonFlow gateway-mode round trips.

Both run one request at a time on the harness's own core (the load core), so the gateway's core serves
nothing else; each gateway is timed by the same client code, so the client's own cost cancels out in the
differences the report draws.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import httpx


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by the nearest-rank method; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class StreamResult:
    """Per-request times in milliseconds from sending the request: first content token, and the end."""

    ttft_ms: tuple[float, ...]
    ttlt_ms: tuple[float, ...]
    failed: int
    content_chars: int  # characters of content the last stream carried, to show nothing was lost
    sent: int  # requests sent, warm-up included (each one is an audit record on Proctor)


def _content(line: str) -> str:
    """The delta content of one SSE ``data:`` line ("" for none, for the role chunk, for [DONE])."""
    data = line[5:].strip()
    if not data or data == "[DONE]":
        return ""
    event = json.loads(data)
    choices = event.get("choices") or []
    if not choices:
        return ""
    delta = choices[0].get("delta") or {}
    content = delta.get("content")
    return content if isinstance(content, str) else ""


def time_streams(url: str, body: bytes, headers: Mapping[str, str], requests: int, warmup: int = 10) -> StreamResult:
    """POST ``body`` (a ``stream: true`` chat request) ``requests`` times over one keep-alive connection."""
    ttft: list[float] = []
    ttlt: list[float] = []
    failed = 0
    chars = 0
    with httpx.Client(timeout=30.0) as client:
        for n in range(warmup + requests):
            started = time.perf_counter()
            first: float | None = None
            chars = 0
            with client.stream("POST", url, content=body, headers=dict(headers)) as response:
                if response.status_code != 200:
                    response.read()
                    failed += n >= warmup
                    continue
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    piece = _content(line)
                    if piece and first is None:
                        first = time.perf_counter()
                    chars += len(piece)
            ended = time.perf_counter()
            if n < warmup:
                continue
            if first is None:
                failed += 1
                continue
            ttft.append((first - started) * 1000)
            ttlt.append((ended - started) * 1000)
    return StreamResult(tuple(ttft), tuple(ttlt), failed, chars, warmup + requests)


@dataclass(frozen=True, slots=True)
class GatewayModeResult:
    """AxonFlow gateway mode, per round trip (pre-check + audit) and per call, in milliseconds."""

    round_trip_ms: tuple[float, ...]
    pre_check_ms: tuple[float, ...]
    audit_ms: tuple[float, ...]
    failed: int
    sdk_version: str
    sent: int  # round trips, warm-up included


def time_gateway_mode(endpoint: str, requests: int, query: str, warmup: int = 50) -> GatewayModeResult:
    """``requests`` sequential pre-check + audit round trips with the official ``axonflow`` SDK.

    The SDK's response cache is off: with it on, a repeated query never reaches the server.
    """
    os.environ["AXONFLOW_TELEMETRY"] = "off"  # the SDK's only opt-out; it would otherwise ping out
    from importlib.metadata import version

    from axonflow import AxonFlow
    from axonflow.types import TokenUsage

    usage = TokenUsage(prompt_tokens=256, completion_tokens=72, total_tokens=328)
    trips: list[float] = []
    checks: list[float] = []
    audits: list[float] = []
    failed = 0
    client = AxonFlow.sync(endpoint=endpoint, client_id="bench-app", client_secret="bench-secret",
                           cache_enabled=False)
    try:
        for n in range(warmup + requests):
            started = time.perf_counter()
            ctx = client.get_policy_approved_context(user_token="bench-user", query=query,
                                                     context={"agent_name": "bench-gateway-mode"})
            checked = time.perf_counter()
            if not ctx.approved:
                failed += n >= warmup
                continue
            result = client.audit_llm_call(context_id=ctx.context_id, response_summary="Shipped on Tuesday.",
                                           provider="openai", model="gpt-4o-mini", token_usage=usage,
                                           latency_ms=850)
            ended = time.perf_counter()
            if n < warmup:
                continue
            if not result.success:
                failed += 1
                continue
            trips.append((ended - started) * 1000)
            checks.append((checked - started) * 1000)
            audits.append((ended - checked) * 1000)
    finally:
        client.close()
    return GatewayModeResult(tuple(trips), tuple(checks), tuple(audits), failed, version("axonflow"),
                             warmup + requests)


def time_gateway_mode_plain(endpoint: str, requests: int, query: str,
                            warmup: int = 50) -> tuple[tuple[float, ...], int]:
    """The same two calls from a plain ``httpx`` client: round trips (ms) without the SDK's own overhead, and
    how many were sent, warm-up included."""
    trips: list[float] = []
    pre = {"user_token": "bench-user", "client_id": "bench-app", "query": query, "data_sources": [],
           "context": {"agent_name": "bench-gateway-plain"}}
    audit = {"response_summary": "Shipped on Tuesday.", "provider": "openai", "model": "gpt-4o-mini",
             "token_usage": {"prompt_tokens": 256, "completion_tokens": 72, "total_tokens": 328}, "latency_ms": 850}
    with httpx.Client(base_url=endpoint, timeout=30.0, headers={"x-client-id": "bench-app"}) as client:
        for n in range(warmup + requests):
            started = time.perf_counter()
            checked = client.post("/api/policy/pre-check", json=pre)
            context_id = checked.json().get("context_id") if checked.status_code == 200 else None
            done = client.post("/api/audit/llm-call", json={**audit, "context_id": context_id})
            ended = time.perf_counter()
            if n >= warmup and done.status_code == 200:
                trips.append((ended - started) * 1000)
    return tuple(trips), warmup + requests
