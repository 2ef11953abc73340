"""Proctor's check API (`POST /api/v1/check`, `POST /api/v1/audit`) on a real server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from proctor import Governor
from proctor.config import Settings
from proctor.server import create_app
from tests.server.conftest import ListSink, running

SECRET = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"


@pytest.fixture(scope="module")
def sink() -> ListSink:
    return ListSink()


@pytest.fixture(scope="module")
def api(sink: ListSink, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    settings = Settings(storage=f"sqlite:///{tmp_path_factory.mktemp('check') / 'proctor.db'}")
    with running(create_app(settings, Governor.from_settings(settings, audit=sink))) as url, \
            httpx.Client(base_url=url, trust_env=False) as client:
        yield client


def test_check_answers_the_decision_without_the_value_and_records_nothing(api: httpx.Client, sink: ListSink) -> None:
    before = len(sink.records)
    r = api.post("/api/v1/check", json={"input": "My SSN is 123-45-6789", "identity": {"agent": "billing-bot"}})
    assert r.status_code == 200 and r.headers["x-proctor-decision-id"] == r.json()["decision_id"]
    body = r.json()
    assert body["action"] == "deny" and body["policies"] == ["default-deny-high-risk-pii"]
    assert body["findings"] == [{"type": "pii.ssn", "start": 10, "end": 21, "score": body["findings"][0]["score"]}]
    assert "123-45-6789" not in r.text and "redacted" not in body and "context_id" not in body
    assert len(sink.records) == before


def test_check_of_messages_redacts_and_names_the_message(api: httpx.Client) -> None:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Mail jane@example.com"}]
    body = api.post("/api/v1/check", json={"input": messages}).json()
    assert body["action"] == "redact" and body["findings"][0]["message"] == 1
    assert body["redacted"] == [messages[0], {"role": "user", "content": "Mail [EMAIL_1]"}]


def test_output_scope_uses_output_policies(api: httpx.Client) -> None:
    assert api.post("/api/v1/check", json={"input": f"key {SECRET}", "scope": "output"}).json()["action"] == "deny"
    assert api.post("/api/v1/check", json={"input": "jane@example.com", "scope": "output"}).json()["action"] == "allow"


def test_audited_check_then_audit_makes_one_record_and_rechecks_the_response(api: httpx.Client,
                                                                             sink: ListSink) -> None:
    before = len(sink.records)
    first = api.post("/api/v1/check", json={"input": [{"role": "user", "content": "hi"}], "audit": True,
                                            "identity": {"agent": "remote-bot", "session": "s-1", "user": "u-1"}})
    context = first.json()["context_id"]
    assert len(sink.records) == before
    done = api.post("/api/v1/audit", json={"context_id": context, "response": f"token {SECRET}",
                                           "provider": "litellm", "model": "gpt-4o", "tokens_in": 3,
                                           "tokens_out": 5, "latency_ms": 12.5, "status": "blocked"})
    assert done.status_code == 200
    record = sink.records[-1]
    assert record.record_id == done.json()["record_id"] and len(sink.records) == before + 1
    assert (record.agent, record.session, record.user, record.status) == ("remote-bot", "s-1", "u-1", "blocked")
    # the server checked the response itself
    assert record.action == "deny" and dict(record.findings) == {"secret.github_token": 1}
    assert record.decision_id == first.json()["decision_id"]
    again = api.post("/api/v1/audit", json={"context_id": context})
    assert again.status_code == 404 and again.json()["error"]["code"] == "context_not_found"


def test_blocked_audited_check_is_recorded_at_once(api: httpx.Client, sink: ListSink) -> None:
    body = api.post("/api/v1/check", json={"input": "card 4111 1111 1111 1111", "audit": True}).json()
    assert body["action"] == "deny" and "context_id" not in body
    assert sink.records[-1].status == "blocked" and sink.records[-1].decision_id == body["decision_id"]


BAD: list[tuple[str, Any, str, int]] = [
    ("/api/v1/check", {"scope": "input"}, "input", 400),
    ("/api/v1/check", {"input": 42}, "input", 400),
    ("/api/v1/check", {"input": [{"role": "user", "content": 7}]}, "input", 400),
    ("/api/v1/check", {"input": "x", "scope": "both"}, "scope", 400),
    ("/api/v1/check", {"input": "x", "audit": True, "scope": "output"}, "audit", 400),
    ("/api/v1/check", {"input": "x", "identity": {"tenant": "acme"}}, "identity.tenant", 400),
    ("/api/v1/check", {"input": "x", "identity": {"agent": 3}}, "identity.agent", 400),
    ("/api/v1/check", {"input": "x", "identity": "bot"}, "identity", 400),
    ("/api/v1/audit", {}, "context_id", 400),
    ("/api/v1/audit", {"context_id": "c", "status": "fine"}, "status", 400),
    ("/api/v1/audit", {"context_id": "c", "tokens_in": -1}, "tokens_in", 400),
    ("/api/v1/audit", {"context_id": "c", "latency_ms": "fast"}, "latency_ms", 400),
    ("/api/v1/audit", {"context_id": "c", "response": ["x"]}, "response", 400),
    ("/api/v1/audit", {"context_id": "unknown"}, "context_id", 404),
]


@pytest.mark.parametrize(("path", "body", "param", "status"), BAD)
def test_bad_input_is_an_openai_shaped_error_naming_the_field(api: httpx.Client, path: str, body: Any, param: str,
                                                              status: int) -> None:
    r = api.post(path, json=body)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["param"] == param and error["message"] and set(error) >= {"type", "code"}


def test_malformed_bodies_are_400_not_500(api: httpx.Client) -> None:
    for raw in (b"{not json", b"\xff\xfe", b"[1, 2]", b""):
        r = api.post("/api/v1/check", content=raw, headers={"content-type": "application/json"})
        assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
