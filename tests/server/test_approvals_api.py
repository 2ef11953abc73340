"""Approvals through the server: held calls (403 approval_required), waiting, retry with the approval, the
AxonFlow HITL routes with the real `axonflow` SDK, and the audit trail they leave."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from axonflow import AxonFlow
from axonflow.hitl import HITLCreateInput, HITLQueueListOptions, HITLReviewInput
from axonflow.types import TokenUsage

from proctor.config import Settings
from proctor.governor import Governor
from proctor.providers import ProviderConfig
from proctor.server import create_app
from proctor.store import AuditQuery, open_store
from tests.server.conftest import FakeUpstream, running

POLICY = """
policies:
  - id: hold-wire-transfers
    description: Wire transfers need a human reviewer
    match: {keywords: ["wire transfer"]}
    action: require_approval
    severity: high
"""
HELD = [{"role": "user", "content": "Please send a wire transfer to jane@example.com today"}]


def make_settings(tmp: Path, up_url: str, **changes: Any) -> Settings:
    policy = tmp / "hold.yaml"
    policy.write_text(POLICY)
    return Settings(
        storage=f"sqlite:///{tmp}/proctor.db", policies=("builtin:default", str(policy)),
        providers=(ProviderConfig(name="echo", kind="echo", models=("echo",)),
                   ProviderConfig(name="fake", kind="openai", base_url=f"{up_url}/v1", models=("gpt-*",),
                                  timeout_s=5.0)),
        **changes,
    )


@pytest.fixture(scope="module")
def server(upstream: tuple[FakeUpstream, str],
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    settings = make_settings(tmp_path_factory.mktemp("approvals"), upstream[1])
    gov = Governor.from_settings(settings)
    with running(create_app(settings, gov)) as url:
        yield url, settings


@pytest.fixture
def url(server: tuple[str, Settings]) -> str:
    return server[0]


def client(url: str, **headers: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key="sk-caller", max_retries=0, default_headers=headers)


def records(settings: Settings, **filters: Any) -> list[dict[str, Any]]:
    import json

    time.sleep(0.3)  # the audit writer commits within its linger time
    store = open_store(settings.storage)
    try:
        rows = store.read_audit(AuditQuery(limit=10_000, **filters))
    finally:
        store.close()
    return [json.loads(r.doc) for r in rows]


def held(url: str, **headers: str) -> openai.PermissionDeniedError:
    with pytest.raises(openai.PermissionDeniedError) as info:
        client(url, **headers).chat.completions.create(model="echo", messages=HELD)  # type: ignore[arg-type]
    return info.value


def approval_id(exc: openai.APIStatusError) -> str:
    body: Any = exc.body
    assert isinstance(body, dict)
    value = body.get("approval_id")
    assert isinstance(value, str) and value == exc.response.headers["x-proctor-approval-id"]
    return value


def decide(url: str, request_id: str, verb: str, comment: str = "checked with the customer") -> httpx.Response:
    return httpx.post(f"{url}/api/v1/hitl/queue/{request_id}/{verb}",
                      json={"reviewer_id": "alice", "reviewer_email": "alice@example.com", "comment": comment})


def test_held_call_answers_403_with_its_approval_and_nothing_goes_upstream(url: str, server: tuple[str, Settings],
                                                                          fake: FakeUpstream) -> None:
    exc = held(url)
    body: Any = exc.body
    assert body["code"] == "approval_required" and body["type"] == "policy_violation"
    request_id = approval_id(exc)
    view = httpx.get(f"{url}/api/v1/hitl/queue/{request_id}").json()["data"]
    assert view["status"] == "pending" and view["severity"] == "high"
    assert view["triggered_policy_id"] == "hold-wire-transfers"
    # The reviewer sees the request with its findings replaced by their types, never the values.
    assert "jane@example.com" not in view["original_query"] and "[PII.EMAIL]" in view["original_query"]
    assert "wire transfer" in view["original_query"] or "[CUSTOM.HOLD-WIRE-TRANSFERS]" in view["original_query"]
    assert fake.requests == []
    held_record = [r for r in records(server[1]) if r["meta"].get("approval_id") == request_id]
    assert [r["status"] for r in held_record] == ["held"]


def test_retry_with_an_approved_request_goes_through_once(url: str, server: tuple[str, Settings]) -> None:
    request_id = approval_id(held(url))
    assert decide(url, request_id, "approve").json()["data"]["status"] == "approved"
    ok = client(url, **{"X-Proctor-Approval-Id": request_id}).chat.completions.create(
        model="echo", messages=HELD)  # type: ignore[arg-type]
    # The approval lifts the hold, not the other policies: the e-mail still goes upstream redacted.
    assert ok.choices[0].message.content and "[EMAIL_1]" in ok.choices[0].message.content
    assert "jane@example.com" not in ok.choices[0].message.content
    # Each approval admits one call: the same retry again is held on a new request.
    again = held(url, **{"X-Proctor-Approval-Id": request_id})
    assert approval_id(again) != request_id and "already used" in str(again)
    mine = [r for r in records(server[1]) if r["meta"].get("approval_id") == request_id]
    assert sorted(r["status"] for r in mine) == ["approved", "held", "ok"]
    call = next(r for r in mine if r["status"] == "ok")
    assert call["action"] == "require_approval" and call["findings"] == {"custom.hold-wire-transfers": 1,
                                                                        "pii.email": 1}
    decided = [r for r in records(server[1]) if r["status"] == "approved" and r["meta"]["approval_id"] == request_id]
    assert decided[0]["meta"]["reviewer"] == "alice" and decided[0]["meta"]["comment"] == "checked with the customer"


def test_an_approval_does_not_admit_another_prompt(url: str) -> None:
    request_id = approval_id(held(url))
    decide(url, request_id, "approve")
    other = [{"role": "user", "content": "Please send a wire transfer to mallory@example.com"}]
    with pytest.raises(openai.PermissionDeniedError, match="another request"):
        client(url, **{"X-Proctor-Approval-Id": request_id}).chat.completions.create(
            model="echo", messages=other)  # type: ignore[arg-type]


def test_waiting_caller_goes_ahead_when_approved(url: str) -> None:
    found: list[str] = []

    def reviewer() -> None:
        for _ in range(100):
            pending = httpx.get(f"{url}/api/v1/hitl/queue", params={"status": "pending"}).json()["data"]
            mine = [a for a in pending if a["agent"] == "waiter"]
            if mine:
                found.append(mine[0]["request_id"])
                decide(url, mine[0]["request_id"], "approve")
                return
            time.sleep(0.05)

    thread = threading.Thread(target=reviewer)
    thread.start()
    answer = client(url, **{"X-Proctor-Wait-Approval": "10", "X-Proctor-Agent": "waiter"}).chat.completions.create(
        model="echo", messages=HELD)  # type: ignore[arg-type]
    thread.join()
    assert found and answer.choices[0].message.content


def test_waiting_caller_is_refused_when_rejected_and_times_out_when_nobody_decides(url: str) -> None:
    def reviewer() -> None:
        for _ in range(100):
            pending = httpx.get(f"{url}/api/v1/hitl/queue", params={"status": "pending"}).json()["data"]
            mine = [a for a in pending if a["agent"] == "rejected-waiter"]
            if mine:
                decide(url, mine[0]["request_id"], "reject", "not an approved payee")
                return
            time.sleep(0.05)

    thread = threading.Thread(target=reviewer)
    thread.start()
    with pytest.raises(openai.PermissionDeniedError) as info:
        client(url, **{"X-Proctor-Wait-Approval": "10", "X-Proctor-Agent": "rejected-waiter"}).chat.completions.create(
            model="echo", messages=HELD)  # type: ignore[arg-type]
    thread.join()
    body: Any = info.value.body
    assert body["code"] == "approval_rejected" and "not an approved payee" in body["message"]
    started = time.monotonic()
    with pytest.raises(openai.PermissionDeniedError) as info:
        client(url, **{"X-Proctor-Wait-Approval": "0.5"}).chat.completions.create(
            model="echo", messages=HELD)  # type: ignore[arg-type]
    body = info.value.body
    assert body["code"] == "approval_timeout" and body["approval_id"]
    assert 0.4 < time.monotonic() - started < 5


def test_bad_wait_header_is_a_400(url: str) -> None:
    with pytest.raises(openai.BadRequestError, match="X-Proctor-Wait-Approval"):
        client(url, **{"X-Proctor-Wait-Approval": "soon"}).chat.completions.create(
            model="echo", messages=HELD)  # type: ignore[arg-type]


def test_decisions_are_final_and_errors_are_in_axonflow_shape(url: str) -> None:
    request_id = approval_id(held(url))
    assert decide(url, request_id, "reject").status_code == 200
    again = decide(url, request_id, "approve")
    assert again.status_code == 409 and again.json()["error"] == "already_decided"
    missing = decide(url, "no-such-request", "approve")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    no_reviewer = httpx.post(f"{url}/api/v1/hitl/queue/{request_id}/approve", json={"comment": "x"})
    assert no_reviewer.status_code == 400 and "reviewer_id" in no_reviewer.json()["message"]
    bad = httpx.get(f"{url}/api/v1/hitl/queue", params={"status": "maybe"})
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_request"


def test_axonflow_sdk_gateway_flow_with_a_late_approval(url: str, server: tuple[str, Settings]) -> None:
    """axonflow-litellm's flow: pre-check -> require_approval -> create HITL row -> poll -> LLM call -> audit."""
    axon = AxonFlow.sync(endpoint=url, client_id="loan-desk", client_secret="unused-with-auth-off")
    try:
        query = "Please send a wire transfer of 5000 EUR to account 42"
        pre = axon.get_policy_approved_context(user_token="u-7", query=query, context={"agent_name": "loan-bot"})
        assert not pre.approved and pre.block_reason == "require_approval"
        created = axon.create_hitl_request(HITLCreateInput(
            client_id="loan-desk", original_query=query, request_type="llm_call",
            triggered_policy_id="hold-wire-transfers", trigger_reason=pre.block_reason))
        # The pre-check already queued it: creating it again returns the same request, not a duplicate.
        assert created.request_id == pre.context_id and created.status == "pending"
        listed = axon.list_hitl_queue(HITLQueueListOptions(status="pending", limit=500))
        assert sum(item.request_id == pre.context_id for item in listed.items) == 1
        assert axon.get_hitl_stats().total_pending >= 1
        # An LLM call audited before the approval is recorded, as an error, and refused.
        from axonflow.exceptions import PolicyViolationError

        usage = TokenUsage(prompt_tokens=10, completion_tokens=5, total_tokens=15)
        with pytest.raises(PolicyViolationError):
            axon.audit_llm_call(context_id=pre.context_id, response_summary="done", provider="openai",
                                model="gpt-4o-mini", token_usage=usage, latency_ms=100)
        axon.approve_hitl_request(pre.context_id, HITLReviewInput(reviewer_id="bob", reviewer_email="bob@example.com",
                                                                  comment="payee verified"))
        assert axon.get_hitl_request(pre.context_id).status == "approved"
        audited = axon.audit_llm_call(context_id=pre.context_id, response_summary="done", provider="openai",
                                      model="gpt-4o-mini", token_usage=usage, latency_ms=100)
        assert audited.success
    finally:
        axon.close()
    mine = [r for r in records(server[1]) if r["meta"].get("approval_id") == pre.context_id]
    assert sorted(r["status"] for r in mine) == ["approved", "error", "held", "ok"]
    call = next(r for r in mine if r["status"] == "ok")
    assert (call["agent"], call["client"], call["tokens_in"]) == ("loan-bot", "loan-desk", 10)


def test_hitl_create_validates_and_never_stores_the_values(url: str) -> None:
    bad = httpx.post(f"{url}/api/v1/hitl/queue", json={"client_id": "x", "request_type": "chat"})
    assert bad.status_code == 400 and "original_query" in bad.json()["message"]
    hook = httpx.post(f"{url}/api/v1/hitl/queue", json={"client_id": "x", "request_type": "chat",
                                                          "original_query": "hi", "notify_url": "https://h.test/x"})
    assert hook.status_code == 400 and hook.json()["error"] == "webhooks_not_configured"
    made = httpx.post(f"{url}/api/v1/hitl/queue", json={
        "client_id": "ops", "request_type": "tool", "original_query": "refund card 4111 1111 1111 1111 now",
        "severity": "critical", "expires_in_seconds": 60})
    assert made.status_code == 201
    data = made.json()["data"]
    assert "4111" not in data["original_query"] and "[PII.CREDIT_CARD]" in data["original_query"]
    assert data["severity"] == "critical" and data["client_id"] == "ops"


def test_audit_chain_verifies_after_the_approval_flows(server: tuple[str, Settings]) -> None:
    from proctor.audit.verify import verify

    time.sleep(0.3)
    store = open_store(server[1].storage)
    try:
        summary = verify(store)
    finally:
        store.close()
    assert summary.records > 0


def test_without_a_store_the_hitl_routes_answer_503_in_axonflow_shape(
        upstream: tuple[FakeUpstream, str], tmp_path: Path) -> None:
    settings = make_settings(tmp_path, upstream[1])
    gov = Governor(settings.policies, providers=settings.providers)  # hand-built: no store, so no approvals
    assert gov.approvals is None
    with running(create_app(settings, gov)) as url:
        for method, path in (("GET", "/api/v1/hitl/queue"), ("POST", "/api/v1/hitl/queue"),
                             ("GET", "/api/v1/hitl/queue/some-id"), ("POST", "/api/v1/hitl/queue/some-id/approve")):
            response = httpx.request(method, f"{url}{path}", json={"query": "wire transfer"}, timeout=5)
            assert response.status_code == 503, (method, path, response.text)
            assert response.json() == {"error": "approvals_unavailable",
                                       "message": "This Proctor runs without a store for approvals."}
