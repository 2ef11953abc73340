"""`Governed(approval_timeout=...)`: a held call waits for its reviewer, embedded and remote, and goes ahead,
or raises ApprovalRejected / ApprovalTimeout; without a timeout it raises ApprovalRequired at once."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # never fetch the price list from the internet
pytest.importorskip("litellm", reason="the litellm extra is not installed")

from proctor import ApprovalRejected, ApprovalRequired, ApprovalTimeout
from proctor.approvals import ApprovalQuery, Approvals
from proctor.governor import Governor
from proctor.integrations.litellm import Governed
from proctor.server import create_app
from proctor.store import AuditQuery, open_store
from tests.server.conftest import FakeUpstream, running
from tests.server.test_approvals_api import POLICY, make_settings

HELD = [{"role": "user", "content": "Please send a wire transfer to the landlord"}]


def reviewer(decide: Callable[[], bool]) -> threading.Thread:
    """Runs ``decide`` every 50 ms until it returns True (it found and decided the pending request)."""

    def run() -> None:
        for _ in range(200):
            if decide():
                return
            time.sleep(0.05)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


# -- embedded -------------------------------------------------------------------------------------------------


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[tuple[Governed, str]]:
    policy = tmp_path / "hold.yaml"
    policy.write_text(POLICY)
    store = f"sqlite:///{tmp_path}/proctor.db"
    gov = Governed(policies=["builtin:default", str(policy)], storage=store, approval_timeout=10)
    yield gov, store
    gov.close()


def decide_in_store(store: str, approve: bool) -> Callable[[], bool]:
    def decide() -> bool:
        st = open_store(store)
        try:
            service = Approvals(st)
            pending, _ = service.list(ApprovalQuery(status="pending"))
            for approval in pending:
                service.decide(approval.id, approve=approve, reviewer_id="dana", comment="looked at it")
                return True
            return False
        finally:
            st.close()

    return decide


def test_embedded_waits_and_goes_ahead_when_approved(embedded: tuple[Governed, str]) -> None:
    governed, store = embedded
    thread = reviewer(decide_in_store(store, approve=True))
    answer = governed.completion(model="gpt-4o-mini", messages=HELD, mock_response="Sent.")
    thread.join()
    assert answer.choices[0].message.content == "Sent."
    time.sleep(0.3)
    st = open_store(store)
    try:
        docs = [json.loads(r.doc) for r in st.read_audit(AuditQuery(kind="call", limit=100))]
    finally:
        st.close()
    assert sorted(d["status"] for d in docs if d["meta"].get("approval_id")) == ["held", "ok"]


def test_embedded_rejection_and_timeout(embedded: tuple[Governed, str]) -> None:
    governed, store = embedded
    thread = reviewer(decide_in_store(store, approve=False))
    with pytest.raises(ApprovalRejected) as info:
        governed.completion(model="gpt-4o-mini", messages=HELD, mock_response="Sent.")
    thread.join()
    assert info.value.approval_id and "dana" in str(info.value) and info.value.policies
    governed.approval_timeout = 0.3
    with pytest.raises(ApprovalTimeout) as timed_out:
        governed.completion(model="gpt-4o-mini", messages=HELD, mock_response="Sent.")
    assert timed_out.value.approval_id
    governed.approval_timeout = 0
    with pytest.raises(ApprovalRequired) as held:
        governed.completion(model="gpt-4o-mini", messages=HELD, mock_response="Sent.")
    assert held.value.approval_id and held.value.decision_id


# -- remote ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(upstream: tuple[FakeUpstream, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = make_settings(tmp_path_factory.mktemp("remote-approvals"), upstream[1])
    with running(create_app(settings, Governor.from_settings(settings))) as url:
        yield url


def decide_over_http(url: str, verb: str) -> Callable[[], bool]:
    def decide() -> bool:
        pending = httpx.get(f"{url}/api/v1/hitl/queue", params={"status": "pending"}).json()["data"]
        if not pending:
            return False
        httpx.post(f"{url}/api/v1/hitl/queue/{pending[0]['request_id']}/{verb}",
                   json={"reviewer_id": "erin", "reviewer_email": "erin@example.com", "comment": "no"})
        return True

    return decide


def test_remote_waits_then_calls_the_model_and_the_server_records_it(server: str, upstream: tuple[FakeUpstream, str],
                                                                      fake: FakeUpstream) -> None:
    governed = Governed(endpoint=server, approval_timeout=10)
    try:
        thread = reviewer(decide_over_http(server, "approve"))
        answer: Any = governed.completion(model="openai/gpt-4o-mini", api_base=f"{upstream[1]}/v1",
                                          api_key="sk-upstream", messages=HELD)
        thread.join()
        assert answer.choices[0].message.content == "Hello from upstream."
        assert len(fake.requests) == 1  # the model was called once, after the approval
        thread = reviewer(decide_over_http(server, "reject"))
        with pytest.raises(ApprovalRejected) as info:
            governed.completion(model="openai/gpt-4o-mini", api_base=f"{upstream[1]}/v1", api_key="sk-upstream",
                                messages=HELD)
        thread.join()
        assert "erin" in str(info.value) and len(fake.requests) == 1
    finally:
        governed.close()
    approved = httpx.get(f"{server}/api/v1/hitl/queue", params={"status": "approved"}).json()["data"]
    assert approved and approved[0]["used_at"]  # spent by the audit of the call it admitted


def test_proxy_guardrail_reads_the_approval_headers() -> None:
    from proctor.integrations.litellm import _approval_headers

    gov = Governor(policies=["builtin:default"])
    gov.approval_max_wait_s = 60
    headers = {"X-Proctor-Approval-Id": "a-1", "x-proctor-wait-approval": "900"}
    assert _approval_headers(headers, gov) == {"approval_id": "a-1", "wait_s": 60}
    assert _approval_headers({"x-proctor-wait-approval": "soon"}, gov) == {}
    assert _approval_headers({"x-proctor-wait-approval": "inf"}, gov) == {}
    assert _approval_headers(None, gov) == {}
