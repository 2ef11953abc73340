"""Approval webhooks: signed deliveries to a real receiver on loopback, retries, and the approval events."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from proctor import Governor
from proctor.approvals import Approvals
from proctor.identity import Identity
from proctor.store import open_store
from proctor.webhooks import SIGNATURE_HEADER, WebhookSender, sign, verify_signature
from tests.server.conftest import free_port, running

SECRET = "whsec-test-0123456789"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        payload: dict[str, Any] = json.loads(self.body)
        return payload


@dataclass
class Receiver:
    """Records every POST; answers each path with the next status of its script (then 200)."""

    base: str = ""
    script: dict[str, list[int]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)

    async def hook(self, request: Request) -> Response:
        path = request.url.path
        self.received.append(Received(path, dict(request.headers), await request.body()))
        statuses = self.script.get(path) or [200]
        status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
        return Response(b"", status_code=status)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{name:path}", self.hook, methods=["POST"])])

    def at(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]


@pytest.fixture(scope="module")
def server() -> Iterator[Receiver]:
    receiver = Receiver()
    with running(receiver.app()) as url:
        receiver.base = url
        yield receiver


@pytest.fixture
def receiver(server: Receiver) -> Receiver:
    server.script.clear()
    server.received.clear()
    return server


def sender(*urls: str, max_attempts: int = 4) -> WebhookSender:
    return WebhookSender(urls, SECRET, max_attempts=max_attempts, backoff_s=0.01, timeout_s=5)


def test_delivery_is_signed_over_the_raw_body(receiver: Receiver) -> None:
    hooks = sender(f"{receiver.base}/hook")
    hooks.send("approval.created", {"approval_id": "a-1", "status": "pending", "note": "café"})
    hooks.close()
    [got] = receiver.received
    assert hooks.delivered == 1 and hooks.failed == 0
    assert got.headers["content-type"] == "application/json"
    assert got.headers["x-proctor-event"] == "approval.created"
    body = got.json
    assert body["id"] == got.headers["x-proctor-delivery"] and body["event"] == "approval.created"
    assert body["data"] == {"approval_id": "a-1", "status": "pending", "note": "café"}
    header = got.headers[SIGNATURE_HEADER.lower()]
    assert verify_signature(SECRET, header, got.body)
    assert not verify_signature("another-secret", header, got.body)
    assert not verify_signature(SECRET, header, got.body.replace(b"pending", b"approved"))
    assert not verify_signature(SECRET, header, got.body, now=time.time() + 3600)  # a replay, an hour later
    assert not verify_signature(SECRET, "t=notanumber,v1=00", got.body)
    assert not verify_signature(SECRET, "", got.body)


def test_sign_and_verify_agree() -> None:
    body = b'{"event":"approval.approved"}'
    header = sign(SECRET, 1_700_000_000, body)
    assert header.startswith("t=1700000000,v1=")
    assert verify_signature(SECRET, header, body, now=1_700_000_100)
    assert not verify_signature(SECRET, header, body, now=1_700_000_400)
    assert not verify_signature(SECRET, header.replace("t=1700000000", "t=1700000001"), body, now=1_700_000_100)


def test_server_errors_are_retried_with_the_same_delivery_id(receiver: Receiver) -> None:
    receiver.script["/flaky"] = [500, 503, 200]
    hooks = sender(f"{receiver.base}/flaky")
    hooks.send("approval.approved", {"approval_id": "a-2"})
    hooks.close()
    attempts = receiver.at("/flaky")
    assert len(attempts) == 3
    assert len({a.headers["x-proctor-delivery"] for a in attempts}) == 1
    assert len({a.body for a in attempts}) == 1
    assert all(verify_signature(SECRET, a.headers[SIGNATURE_HEADER.lower()], a.body) for a in attempts)
    assert hooks.delivered == 1 and hooks.failed == 0


def test_too_many_requests_is_retried(receiver: Receiver) -> None:
    receiver.script["/busy"] = [429, 200]
    hooks = sender(f"{receiver.base}/busy")
    hooks.send("approval.created", {})
    hooks.close()
    assert len(receiver.at("/busy")) == 2 and hooks.delivered == 1


def test_client_error_is_not_retried(receiver: Receiver) -> None:
    receiver.script["/refuses"] = [400]
    hooks = sender(f"{receiver.base}/refuses")
    hooks.send("approval.rejected", {"approval_id": "a-3"})
    hooks.close()
    assert len(receiver.at("/refuses")) == 1
    assert hooks.delivered == 0 and hooks.failed == 1


def test_giving_up_after_max_attempts(receiver: Receiver) -> None:
    receiver.script["/down"] = [500]
    hooks = sender(f"{receiver.base}/down", max_attempts=3)
    hooks.send("approval.expired", {})
    hooks.close()
    assert len(receiver.at("/down")) == 3
    assert hooks.delivered == 0 and hooks.failed == 1


def test_connection_refused_is_retried_then_failed(caplog: pytest.LogCaptureFixture) -> None:
    url = f"http://127.0.0.1:{free_port()}/nobody-listens"
    with caplog.at_level(logging.WARNING, logger="proctor.webhooks"):
        hooks = sender(url, max_attempts=3)
        hooks.send("approval.created", {"approval_id": "a-4"})
        hooks.close()
    assert hooks.delivered == 0 and hooks.failed == 1
    retries = [r for r in caplog.records if r.levelno == logging.WARNING and "retry" in r.getMessage()]
    assert len(retries) == 2
    assert any(r.levelno == logging.ERROR and "not delivered" in r.getMessage() for r in caplog.records)
    assert SECRET not in caplog.text


def test_close_delivers_what_is_queued(receiver: Receiver) -> None:
    receiver.script["/slow"] = [503, 503, 200]  # the first delivery needs retries; the rest wait behind it
    hooks = sender(f"{receiver.base}/slow", f"{receiver.base}/other")
    for i in range(5):
        hooks.send("approval.created", {"n": i})
    hooks.close()
    assert sorted(r.json["data"]["n"] for r in receiver.at("/other")) == [0, 1, 2, 3, 4]
    assert sorted({r.json["data"]["n"] for r in receiver.at("/slow")}) == [0, 1, 2, 3, 4]
    assert hooks.delivered == 10 and hooks.failed == 0


def test_close_timeout_leaves_retries_running(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    crashed: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: crashed.append(args.exc_value))
    receiver.script["/late"] = [500, 500, 200]
    hooks = WebhookSender([f"{receiver.base}/late"], SECRET, max_attempts=3, backoff_s=0.1, timeout_s=5)
    hooks.send("approval.created", {})
    hooks.close(timeout_s=0.01)  # returns while the delivery waits to retry
    deadline = time.monotonic() + 5
    while hooks.delivered + hooks.failed == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert crashed == []
    assert (hooks.delivered, hooks.failed) == (1, 0)
    assert len(receiver.at("/late")) == 3


def test_approvals_send_events_with_the_approval(receiver: Receiver, tmp_path: Path) -> None:
    hooks = sender(f"{receiver.base}/main")
    store = open_store(f"sqlite:///{tmp_path}/proctor.db")
    try:
        service = Approvals(store, webhooks=hooks)
        decision = Governor().check("My SSN is 123-45-6789")
        made = service.create(Identity(tenant="acme", agent="billing-bot"), decision, query="My SSN is [PII.SSN]",
                              prompt_sha256="a" * 64, notify_url=f"{receiver.base}/caller")
        decided = service.decide(made.id, approve=True, reviewer_id="alice", comment="checked")
        plain = service.create(Identity(tenant="acme"), decision, query="x", prompt_sha256=None,
                               notify_url=f"{receiver.base}/main")
    finally:
        hooks.close()
        store.close()
    for path in ("/main", "/caller"):
        events = [r.json for r in receiver.at(path) if r.json["data"]["approval_id"] == made.id]
        assert [e["event"] for e in events] == ["approval.created", "approval.approved"], path
        created, approved = (e["data"] for e in events)
        assert created["status"] == "pending" and created["tenant_id"] == "acme"
        assert created["finding_types"] == ["pii.ssn"] and created["original_query"] == "My SSN is [PII.SSN]"
        assert approved == json.loads(json.dumps(decided.to_public()))
        assert approved["status"] == "approved" and approved["reviewer_id"] == "alice"
        assert approved["review_comment"] == "checked"
    for r in receiver.received:
        assert verify_signature(SECRET, r.headers[SIGNATURE_HEADER.lower()], r.body)
        assert "123-45-6789" not in r.body.decode()
    # a notify_url that is also a configured URL gets each event once
    assert len([r for r in receiver.at("/main") if r.json["data"]["approval_id"] == plain.id]) == 1
