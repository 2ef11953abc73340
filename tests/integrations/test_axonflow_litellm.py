"""`axonflow-litellm` 1.1 from PyPI pointed at Proctor, unchanged: its governed completion runs pre-check ->
(HITL queue and polling) -> LiteLLM -> audit against Proctor's AxonFlow-compatible routes."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # never fetch the price list from the internet
pytest.importorskip("litellm", reason="the litellm extra is not installed")
axl = pytest.importorskip("axonflow_litellm", reason="axonflow-litellm is not installed (test extra)")

from proctor.governor import Governor  # noqa: E402
from proctor.server import create_app  # noqa: E402
from proctor.store import AuditQuery, open_store  # noqa: E402
from tests.server.conftest import FakeUpstream, running  # noqa: E402
from tests.server.test_approvals_api import make_settings  # noqa: E402

PROMPT_HELD = "Please send a wire transfer of 900 EUR to the supplier"


@pytest.fixture(scope="module")
def proctor(upstream: tuple[FakeUpstream, str],
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    settings = make_settings(tmp_path_factory.mktemp("axl"), upstream[1])
    with running(create_app(settings, Governor.from_settings(settings))) as url:
        yield url, settings.storage


def logger(url: str, **overrides: Any) -> Any:
    options: dict[str, Any] = {"fail_open": False, "approval_poll_interval_seconds": 0.1,
                               "approval_max_wait_seconds": 10, **overrides}
    config = axl.AxonFlowLoggerConfig(endpoint=url, client_id="litellm-app", client_secret="", **options)
    return axl.AxonFlowLogger(config)


def calls(storage: str) -> list[dict[str, Any]]:
    time.sleep(0.3)
    store = open_store(storage)
    try:
        rows = store.read_audit(AuditQuery(limit=10_000))
    finally:
        store.close()
    return [doc for doc in map(json.loads, (r.doc for r in rows)) if doc["kind"] == "call"]


async def complete(log: Any, content: str) -> Any:
    try:
        return await log.acompletion(model="gpt-4o-mini", mock_response="Done.",
                                     messages=[{"role": "user", "content": content}])
    finally:
        await log.aclose()


def test_allowed_call_is_pre_checked_and_audited(proctor: tuple[str, str]) -> None:
    url, storage = proctor
    response = asyncio.run(complete(logger(url), "Summarise the supplier contract in three bullet points"))
    assert response.choices[0].message.content == "Done."
    record = calls(storage)[-1]
    assert (record["status"], record["client"], record["model"]) == ("ok", "litellm-app", "gpt-4o-mini")
    assert record["context_id"] and record["response_sha256"]


def test_denied_call_raises_policy_denied(proctor: tuple[str, str]) -> None:
    with pytest.raises(axl.PolicyDeniedError) as info:
        asyncio.run(complete(logger(proctor[0]), "My SSN is 123-45-6789, file my taxes"))
    assert "pii.ssn" in info.value.reason and "123-45-6789" not in info.value.reason
    assert info.value.policies == ["default-deny-high-risk-pii"]


def _review(url: str, verb: str) -> threading.Thread:
    """A reviewer who decides the first pending request of the litellm client."""

    def run() -> None:
        for _ in range(200):
            pending = httpx.get(f"{url}/api/v1/hitl/queue", params={"status": "pending"}).json()["data"]
            mine = [a for a in pending if a["client_id"] == "litellm-app"]
            if mine:
                httpx.post(f"{url}/api/v1/hitl/queue/{mine[0]['request_id']}/{verb}",
                           json={"reviewer_id": "carol", "reviewer_email": "carol@example.com"})
                return
            time.sleep(0.05)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_held_call_waits_for_the_reviewer_then_runs_and_is_audited(proctor: tuple[str, str]) -> None:
    url, storage = proctor
    reviewer = _review(url, "approve")
    response = asyncio.run(complete(logger(url), PROMPT_HELD))
    reviewer.join()
    assert response.choices[0].message.content == "Done."
    held = [r for r in calls(storage) if r["meta"].get("approval_id")]
    approval = held[-1]["meta"]["approval_id"]
    statuses = sorted(r["status"] for r in held if r["meta"]["approval_id"] == approval)
    assert statuses == ["approved", "held", "ok"]  # one queue entry, though the plugin also "created" it
    assert httpx.get(f"{url}/api/v1/hitl/queue/{approval}").json()["data"]["used_at"]


def test_rejected_call_raises_approval_rejected(proctor: tuple[str, str]) -> None:
    reviewer = _review(proctor[0], "reject")
    with pytest.raises(axl.ApprovalRejected):
        asyncio.run(complete(logger(proctor[0]), PROMPT_HELD + " (second supplier)"))
    reviewer.join()


def test_nobody_deciding_raises_approval_timeout(proctor: tuple[str, str]) -> None:
    with pytest.raises(axl.ApprovalTimeout):
        asyncio.run(complete(logger(proctor[0], approval_max_wait_seconds=0.5), PROMPT_HELD + " (third)"))
