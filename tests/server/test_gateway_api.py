"""AxonFlow gateway mode, called with the real `axonflow` SDK: pre-check, the app's own LLM call, audit."""

from __future__ import annotations

import httpx
import pytest
from axonflow import AxonFlow
from axonflow.types import TokenUsage

from tests.server.conftest import ListSink
from tests.server.test_openai_api import base_url, sink  # noqa: F401 - shared module fixtures


@pytest.fixture
def axon(base_url: str):  # type: ignore[no-untyped-def]  # noqa: F811
    client = AxonFlow.sync(endpoint=base_url, client_id="billing-app", client_secret="not-checked-yet")
    yield client
    client.close()


def test_allowed_pre_check_then_audit_makes_one_record(axon, sink: ListSink) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    before = len(sink.records)
    ctx = axon.get_policy_approved_context(user_token="u-1", query="Summarise our refund policy for a customer",
                                           context={"agent_name": "support-bot"})
    assert ctx.approved and ctx.block_reason is None and ctx.context_id
    assert len(sink.records) == before  # recorded when the LLM call is audited
    result = axon.audit_llm_call(context_id=ctx.context_id, response_summary="Refunds within 30 days.",
                                 provider="openai", model="gpt-4o-mini",
                                 token_usage=TokenUsage(prompt_tokens=120, completion_tokens=40, total_tokens=160),
                                 latency_ms=850)
    assert result.success and result.audit_id
    record = sink.records[-1]
    assert record.record_id == result.audit_id and record.context_id == ctx.context_id
    assert (record.client, record.agent, record.provider, record.model) == ("billing-app", "support-bot", "openai",
                                                                            "gpt-4o-mini")
    assert (record.tokens_in, record.tokens_out, record.latency_ms) == (120, 40, 850.0)
    assert record.cost_usd and record.cost_usd > 0
    assert record.decision_id == ctx.decision_id


def test_blocked_pre_check_is_approved_false_and_recorded(axon, sink: ListSink) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    ctx = axon.get_policy_approved_context(user_token="u-1", query="My SSN is 123-45-6789")
    assert not ctx.approved
    assert "pii.ssn" in (ctx.block_reason or "") and "123-45-6789" not in (ctx.block_reason or "")
    assert ctx.policies == ["default-deny-high-risk-pii"]
    assert sink.records[-1].status == "blocked" and sink.records[-1].client == "billing-app"


def test_redaction_is_offered(axon) -> None:  # type: ignore[no-untyped-def]
    ctx = axon.get_policy_approved_context(user_token="u-1", query="Email jane@example.com the invoice")
    assert ctx.approved and ctx.requires_redaction
    assert ctx.approved_data == {"query": "Email [EMAIL_1] the invoice"}


def test_audit_of_unknown_or_reused_context_fails(axon, base_url: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from axonflow.exceptions import AxonFlowError

    usage = TokenUsage(prompt_tokens=1, completion_tokens=1, total_tokens=2)
    with pytest.raises(AxonFlowError, match="404"):
        axon.audit_llm_call(context_id="nope", response_summary="x", provider="openai", model="gpt-4o",
                            token_usage=usage, latency_ms=1)
    ctx = axon.get_policy_approved_context(user_token="u", query="hello")
    axon.audit_llm_call(context_id=ctx.context_id, response_summary="x", provider="openai", model="gpt-4o",
                        token_usage=usage, latency_ms=1)
    with pytest.raises(AxonFlowError, match="already"):
        axon.audit_llm_call(context_id=ctx.context_id, response_summary="x", provider="openai", model="gpt-4o",
                            token_usage=usage, latency_ms=1)


@pytest.mark.parametrize(
    ("path", "body", "needle"),
    [
        ("/api/policy/pre-check", {"client_id": "x"}, "'query' is required"),
        ("/api/policy/pre-check", {"query": "hi", "context": [1]}, "'context' must be an object"),
        ("/api/audit/llm-call", {"response_summary": "x"}, "'context_id' is required"),
        ("/api/audit/llm-call", {"context_id": "c", "token_usage": {"prompt_tokens": -1}}, "non-negative"),
    ],
)
def test_bad_gateway_requests(base_url: str, path: str, body: dict, needle: str) -> None:  # noqa: F811
    r = httpx.post(f"{base_url}{path}", json=body)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request" and needle in r.json()["message"]
    r = httpx.post(f"{base_url}{path}", content=b"{bad", headers={"content-type": "application/json"})
    assert r.status_code == 400 and "not valid JSON" in r.json()["message"]
