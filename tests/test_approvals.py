"""The approvals service and the API-key ring over a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from proctor import Governor
from proctor.approvals import Approval, ApprovalError, ApprovalQuery, Approvals, review_messages, review_text
from proctor.audit.record import AuditRecord
from proctor.decision import Action, Decision
from proctor.errors import ConfigError
from proctor.findings import Finding
from proctor.identity import Identity
from proctor.keys import KeyRing, hash_key
from proctor.store import Store, open_store
from tests.store.backends import (  # noqa: F401 - pytest fixtures, registered by import
    _hygiene,
    postgres_admin,
    postgres_url,
    sqlite_url,
    store_url,
)

T = TypeVar("T")
ACME = Identity(tenant="acme", client="billing", agent="billing-bot", user="u-1", model="gpt-4o")
GLOBEX = Identity(tenant="globex", agent="ops-bot")
SSN = "123-45-6789"
EMAIL = "jane@example.com"
HASH_A = "a" * 64
HASH_B = "b" * 64


class ListSink:
    """An audit sink that keeps the records it is given."""

    def __init__(self) -> None:
        self.records: list[AuditRecord] = []

    def append(self, record: Any) -> None:
        self.records.append(record)

    def for_approval(self, approval_id: str, status: str | None = None) -> list[AuditRecord]:
        return [r for r in self.records if dict(r.meta).get("approval_id") == approval_id
                and (status is None or r.status == status)]


@pytest.fixture
def db_url(store_url: str) -> str:  # noqa: F811 - the imported fixture, requested by name
    """The database of this test: a SQLite file or a PostgreSQL database of its own."""
    return store_url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = open_store(db_url)
    yield opened
    opened.close()


@pytest.fixture
def sink() -> ListSink:
    return ListSink()


@pytest.fixture
def service(store: Store, sink: ListSink) -> Approvals:
    return Approvals(store, audit=sink, poll_s=0.02)


@functools.lru_cache(maxsize=1)
def governor() -> Governor:
    return Governor()


def held_decision() -> Decision:
    decision = governor().check(f"My SSN is {SSN}")
    return Decision(Action.REQUIRE_APPROVAL, decision.findings, ("review-ssn",), "Held: found pii.ssn.")


def create(service: Approvals, identity: Identity = ACME, **kwargs: Any) -> Approval:
    kwargs.setdefault("query", "My SSN is [PII.SSN]")
    kwargs.setdefault("prompt_sha256", HASH_A)
    return service.create(identity, held_decision(), **kwargs)


def race(n: int, work: Callable[[int], T]) -> tuple[list[T], list[BaseException]]:
    """Run ``work(i)`` on ``n`` threads released together; the results and the exceptions raised."""
    barrier = threading.Barrier(n)
    results: list[T] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        barrier.wait()
        try:
            out = work(i)
        except BaseException as exc:  # collected and checked by the test
            with lock:
                errors.append(exc)
        else:
            with lock:
                results.append(out)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results, errors


def raw_rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows read straight from the database, past the store."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.split("sqlite:///", 1)[1])
        try:
            return list(conn.execute(sql).fetchall())
        finally:
            conn.close()
    import psycopg

    with psycopg.connect(url) as pg:
        return list(pg.execute(sql).fetchall())


# -- create, get, list ------------------------------------------------------------------------------------

def test_create_and_get_round_trip(service: Approvals) -> None:
    made = create(service, severity="high", notify_url="http://127.0.0.1:9/hook", request_context={"k": "v"})
    got = service.get(made.id, "acme")
    assert got == made
    assert got.status == "pending" and got.current() == "pending"
    assert got.tenant == "acme" and got.agent == "billing-bot" and got.client_id == "billing"
    assert got.user_id == "u-1" and got.model == "gpt-4o"
    assert got.policies == ("review-ssn",) and got.finding_types == ("pii.ssn",)
    assert got.severity == "high" and got.prompt_sha256 == HASH_A and got.request_context == {"k": "v"}
    assert got.expires_at == pytest.approx(got.created_at + 3600.0)
    view = got.to_public()
    assert view["approval_id"] == made.id and view["status"] == "pending" and view["tenant_id"] == "acme"


def test_get_unknown_is_not_found(service: Approvals) -> None:
    with pytest.raises(ApprovalError) as caught:
        service.get("no-such-id")
    assert caught.value.code == "not_found"


def test_list_pages_newest_first_with_total(service: Approvals) -> None:
    made = [create(service, severity="critical" if i % 2 else "low") for i in range(5)]
    create(service, GLOBEX)
    seen: list[Approval] = []
    for offset in (0, 2, 4):
        page, total = service.list(ApprovalQuery(tenant="acme", limit=2, offset=offset))
        assert total == 5
        assert len(page) == (2 if offset < 4 else 1)
        seen.extend(page)
    assert sorted(a.id for a in seen) == sorted(a.id for a in made)
    stamps = [a.created_at for a in seen]
    assert stamps == sorted(stamps, reverse=True)
    every, total = service.list(ApprovalQuery(limit=100))
    assert total == 6 and len(every) == 6


def test_list_filters_by_status_and_severity(service: Approvals) -> None:
    a, b, c, d = (create(service, severity=s) for s in ("low", "high", "high", "critical"))
    service.decide(a.id, approve=True, reviewer_id="alice")
    service.decide(b.id, approve=False, reviewer_id="bob")

    def ids(**query: Any) -> tuple[set[str], int]:
        items, total = service.list(ApprovalQuery(tenant="acme", **query))
        return {x.id for x in items}, total

    assert ids(status="pending") == ({c.id, d.id}, 2)
    assert ids(status="approved") == ({a.id}, 1)
    assert ids(status="rejected") == ({b.id}, 1)
    assert ids(status="expired") == (set(), 0)
    assert ids(severity="high") == ({b.id, c.id}, 2)
    assert ids(status="pending", severity="high") == ({c.id}, 1)
    assert ids() == ({a.id, b.id, c.id, d.id}, 4)
    stats = service.stats("acme")
    assert stats["total_pending"] == 2 and stats["high_priority"] == 1 and stats["critical_priority"] == 1


# -- deciding ---------------------------------------------------------------------------------------------

def test_decide_once(service: Approvals, sink: ListSink) -> None:
    made = create(service)
    decided = service.decide(made.id, approve=True, reviewer_id="alice", comment="ok")
    assert decided.status == "approved" and decided.reviewer_id == "alice" and decided.decided_at is not None
    assert service.get(made.id).status == "approved"
    for approve in (True, False):
        with pytest.raises(ApprovalError) as caught:
            service.decide(made.id, approve=approve, reviewer_id="mallory")
        assert caught.value.code == "already_decided"
        assert caught.value.approval is not None and caught.value.approval.reviewer_id == "alice"
    stored = service.get(made.id)
    assert stored.status == "approved" and stored.reviewer_id == "alice" and stored.comment == "ok"
    assert len(sink.for_approval(made.id)) == 1


def test_concurrent_decisions_have_one_winner(db_url: str, sink: ListSink) -> None:
    # Two stores on the same database stand for two replicas; eight reviewers race on one request.
    stores = [open_store(db_url), open_store(db_url)]
    try:
        services = [Approvals(s, audit=sink) for s in stores]
        made = create(services[0])

        def decide(i: int) -> Approval:
            return services[i % 2].decide(made.id, approve=i % 3 != 0, reviewer_id=f"reviewer-{i}")

        won, errors = race(8, decide)
        assert len(won) == 1, errors
        assert len(errors) == 7
        assert all(isinstance(e, ApprovalError) and e.code == "already_decided" for e in errors), errors
        stored = services[1].get(made.id)
        assert stored.status == won[0].status and stored.reviewer_id == won[0].reviewer_id
        records = sink.for_approval(made.id)
        assert len(records) == 1 and records[0].status == won[0].status
    finally:
        for s in stores:
            s.close()


def test_decision_audit_record(service: Approvals, sink: ListSink) -> None:
    yes, no = create(service, decision_id="dec-1", trace_id="trace-1"), create(service)
    service.decide(yes.id, approve=True, reviewer_id="alice", reviewer_email="alice@example.com",
                   reviewer_role="compliance_officer", comment="refund checked")
    service.decide(no.id, approve=False, reviewer_id="bob", comment="not our customer")
    [approved] = sink.for_approval(yes.id)
    assert approved.status == "approved" and approved.action == "require_approval"
    assert dict(approved.meta) == {"approval_id": yes.id, "reviewer": "alice", "reviewer_email": "alice@example.com",
                                   "reviewer_role": "compliance_officer", "comment": "refund checked"}
    assert approved.tenant == "acme" and approved.agent == "billing-bot" and approved.policies == ("review-ssn",)
    assert dict(approved.findings) == {"pii.ssn": 1}
    assert approved.decision_id == "dec-1" and approved.trace_id == "trace-1" and approved.prompt_sha256 == HASH_A
    [rejected] = sink.for_approval(no.id)
    assert rejected.status == "rejected"
    assert dict(rejected.meta) == {"approval_id": no.id, "reviewer": "bob", "comment": "not our customer"}


# -- expiry -----------------------------------------------------------------------------------------------

def test_expiry_by_expire_due_happens_once(service: Approvals, sink: ListSink) -> None:
    short, long = create(service, ttl_s=0.05), create(service)
    time.sleep(0.1)
    assert short.current() == "expired" and short.status == "pending"
    done = service.expire_due()
    assert [a.id for a in done] == [short.id] and done[0].status == "expired"
    assert service.expire_due() == []
    got = service.get(short.id)
    assert got.status == "expired" and got.decided_at == pytest.approx(short.expires_at)
    with pytest.raises(ApprovalError) as caught:
        service.decide(short.id, approve=True, reviewer_id="alice")
    assert caught.value.code == "expired"
    assert service.get(long.id).status == "pending"
    assert len(sink.for_approval(short.id, "expired")) == 1
    assert len(sink.for_approval(short.id)) == 1
    assert sink.for_approval(long.id) == []


def test_expiry_seen_by_get_and_decide(service: Approvals, sink: ListSink) -> None:
    made = create(service, ttl_s=0.05)
    time.sleep(0.1)
    assert service.get(made.id).current() == "expired"
    with pytest.raises(ApprovalError) as caught:
        service.decide(made.id, approve=True, reviewer_id="alice")
    assert caught.value.code == "expired"
    assert service.expire_due() == []
    items, total = service.list(ApprovalQuery(tenant="acme", status="expired"))
    assert total == 1 and items[0].id == made.id
    assert service.list(ApprovalQuery(tenant="acme", status="pending"))[1] == 0
    records = sink.for_approval(made.id)
    assert [r.status for r in records] == ["expired"]


def test_concurrent_expiry_is_recorded_once(db_url: str, sink: ListSink) -> None:
    stores = [open_store(db_url), open_store(db_url)]
    try:
        services = [Approvals(s, audit=sink) for s in stores]
        made = create(services[0], ttl_s=0.05)
        time.sleep(0.1)
        done, errors = race(4, lambda i: services[i % 2].expire_due())
        assert errors == []
        assert sum(len(d) for d in done) == 1
        assert len(sink.for_approval(made.id, "expired")) == 1
    finally:
        for s in stores:
            s.close()


# -- using an approval ------------------------------------------------------------------------------------

def test_use_rules(service: Approvals) -> None:
    made = create(service)
    with pytest.raises(ApprovalError) as caught:
        service.use(made.id, tenant="acme", prompt_sha256=HASH_A)
    assert caught.value.code == "not_approved"
    service.decide(made.id, approve=True, reviewer_id="alice")
    with pytest.raises(ApprovalError) as caught:
        service.use(made.id, tenant="acme", prompt_sha256=HASH_B)
    assert caught.value.code == "mismatch"
    used = service.use(made.id, tenant="acme", prompt_sha256=HASH_A)
    assert used.used_at is not None and service.get(made.id).used_at == pytest.approx(used.used_at)
    with pytest.raises(ApprovalError) as caught:
        service.use(made.id, tenant="acme", prompt_sha256=HASH_A)
    assert caught.value.code == "already_used"


def test_rejected_and_expired_cannot_be_used(service: Approvals) -> None:
    rejected, expired = create(service), create(service, ttl_s=0.05)
    service.decide(rejected.id, approve=False, reviewer_id="bob")
    time.sleep(0.1)
    for made in (rejected, expired):
        with pytest.raises(ApprovalError) as caught:
            service.use(made.id, tenant="acme", prompt_sha256=HASH_A)
        assert caught.value.code == "not_approved"
        assert service.get(made.id).used_at is None


def test_concurrent_use_has_one_winner(db_url: str) -> None:
    stores = [open_store(db_url), open_store(db_url)]
    try:
        services = [Approvals(s) for s in stores]
        made = create(services[0])
        services[0].decide(made.id, approve=True, reviewer_id="alice")
        won, errors = race(6, lambda i: services[i % 2].use(made.id, tenant="acme", prompt_sha256=HASH_A))
        assert len(won) == 1, errors
        assert len(errors) == 5
        assert all(isinstance(e, ApprovalError) and e.code == "already_used" for e in errors), errors
    finally:
        for s in stores:
            s.close()


# -- tenants ----------------------------------------------------------------------------------------------

def test_tenants_are_isolated(service: Approvals) -> None:
    mine, theirs = create(service), create(service, GLOBEX)
    calls: list[Callable[[], Approval]] = [
        lambda: service.get(mine.id, "globex"),
        lambda: service.decide(mine.id, approve=True, reviewer_id="eve", tenant="globex"),
        lambda: service.use(mine.id, tenant="globex", prompt_sha256=HASH_A),
    ]
    for call in calls:
        with pytest.raises(ApprovalError) as caught:
            call()
        assert caught.value.code == "not_found"
    assert service.get(mine.id).status == "pending"
    acme, total = service.list(ApprovalQuery(tenant="acme"))
    assert [a.id for a in acme] == [mine.id] and total == 1
    globex, total = service.list(ApprovalQuery(tenant="globex"))
    assert [a.id for a in globex] == [theirs.id] and total == 1
    assert service.stats("globex")["total_pending"] == 1


# -- what a reviewer sees ---------------------------------------------------------------------------------

def test_review_text_keeps_types_not_values() -> None:
    text = f"My SSN is {SSN}, mail {EMAIL} about it"
    shown = review_text(text, governor().check(text).findings)
    assert shown == "My SSN is [PII.SSN], mail [PII.EMAIL] about it"
    assert review_text("write a haiku", ()) == "write a haiku"


def test_review_text_hides_overlapping_findings_whole() -> None:
    text = "0123456789ABCDEFGHIJ tail"
    overlapping = (Finding("custom.a", 0, 10), Finding("custom.b", 5, 15), Finding("custom.c", 6, 8))
    assert review_text(text, overlapping) == "[CUSTOM.A]FGHIJ tail"
    assert review_text(text, (Finding("custom.b", 5, 15), Finding("custom.a", 0, 10))) == "[CUSTOM.A]FGHIJ tail"


def test_review_messages_keeps_types_not_values() -> None:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are a billing assistant."},
        {"role": "user", "content": f"Mail {EMAIL} the invoice"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": f'{{"ssn": "{SSN}"}}'}}]},
        {"role": "user", "content": [{"type": "text", "text": f"and {SSN} again"}]},
    ]
    decision = governor().check(messages)
    assert {f.message for f in decision.findings} == {1, 2, 3}
    shown = review_messages(messages, decision)
    assert SSN not in shown and EMAIL not in shown and "6789" not in shown
    assert shown.splitlines() == [
        "system: You are a billing assistant.",
        "user: Mail [PII.EMAIL] the invoice",
        "assistant: [PII.SSN]",
        "user: [PII.SSN]",
    ]


def test_review_messages_with_offsets_past_the_content_shows_types_only() -> None:
    # A finding whose span is not in the content string (e.g. from a field the scanner joined in)
    # cannot be placed: the whole message is replaced rather than risk cutting the wrong characters.
    messages = [{"role": "user", "content": f"short {SSN}"}]
    decision = Decision(Action.REQUIRE_APPROVAL, (Finding("pii.ssn", 40, 51, message=0),))
    assert review_messages(messages, decision) == "user: [PII.SSN]"


def test_stored_request_holds_no_matched_value(service: Approvals, db_url: str) -> None:
    messages = [{"role": "user", "content": f"SSN {SSN}, mail {EMAIL}"}]
    decision = governor().check(messages)
    made = service.create(ACME, decision, query=review_messages(messages, decision), prompt_sha256=HASH_A)
    assert service.get(made.id).query == "user: SSN [PII.SSN], mail [PII.EMAIL]"
    dump = repr(raw_rows(db_url, "SELECT * FROM approvals"))
    assert made.id in dump and "[PII.SSN]" in dump
    assert SSN not in dump and EMAIL not in dump


# -- waiting ----------------------------------------------------------------------------------------------

def test_wait_sync_returns_when_another_thread_decides(service: Approvals) -> None:
    made = create(service)
    timer = threading.Timer(0.1, lambda: service.decide(made.id, approve=False, reviewer_id="bob"))
    timer.start()
    started = time.monotonic()
    try:
        final = service.wait_sync(made.id, timeout_s=10, tenant="acme")
    finally:
        timer.join()
    assert final.status == "rejected" and final.reviewer_id == "bob"
    assert time.monotonic() - started < 5


def test_wait_sync_returns_pending_at_timeout(service: Approvals) -> None:
    made = create(service)
    started = time.monotonic()
    final = service.wait_sync(made.id, timeout_s=0.15)
    elapsed = time.monotonic() - started
    assert final.status == "pending" and final.current() == "pending"
    assert 0.15 <= elapsed < 3


def test_async_wait_sees_a_decision(service: Approvals) -> None:
    made = create(service)

    async def main() -> Approval:
        waiting = asyncio.ensure_future(service.wait(made.id, timeout_s=10))
        await asyncio.sleep(0.05)
        await asyncio.to_thread(service.decide, made.id, approve=True, reviewer_id="alice")
        return await asyncio.wait_for(waiting, 5)

    assert asyncio.run(main()).status == "approved"


# -- API keys ---------------------------------------------------------------------------------------------

def test_key_create_and_resolve(store: Store) -> None:
    ring = KeyRing(store)
    record, text = ring.create("acme", agent="billing-bot", team="billing", name="ci", admin=True)
    assert text.startswith(f"pk-{record.id}-") and len(text) > 50
    found = ring.resolve(text)
    assert found is not None and found.id == record.id and found.active
    assert (found.tenant, found.agent, found.team, found.name, found.admin) == ("acme", "billing-bot", "billing",
                                                                                 "ci", True)
    other, other_text = ring.create("globex")
    assert other_text != text
    resolved = ring.resolve(other_text)
    assert resolved is not None and resolved.tenant == "globex" and not resolved.admin and resolved.agent is None
    assert [k.id for k in ring.list("acme")] == [record.id]
    assert {k.id for k in ring.list()} == {record.id, other.id}


def test_key_revoke(store: Store) -> None:
    ring = KeyRing(store)  # default cache: a stale entry would keep the key alive for 10 s
    other_replica = KeyRing(store, cache_ttl_s=0)
    record, text = ring.create("acme")
    assert ring.resolve(text) is not None and other_replica.resolve(text) is not None
    assert ring.revoke(record.id) is True
    assert ring.resolve(text) is None
    assert other_replica.resolve(text) is None
    assert ring.revoke(record.id) is False
    assert ring.revoke("nosuchkey") is False
    [listed] = ring.list("acme")
    assert listed.revoked_at is not None and not listed.active


def test_key_unknown_or_malformed_resolves_to_none(store: Store) -> None:
    ring = KeyRing(store)
    record, text = ring.create("acme")
    tampered = text[:-1] + ("A" if text[-1] != "A" else "B")
    for candidate in ("", "pk-", f"pk-{record.id}-", tampered, text[3:], f"sk-{text[3:]}", text + "x" * 200,
                      "Bearer " + text):
        assert ring.resolve(candidate) is None, candidate


def test_key_bad_names_are_config_errors(store: Store) -> None:
    ring = KeyRing(store)
    bad: list[tuple[str, str]] = [("tenant", "acme corp"), ("tenant", ""), ("tenant", "-acme"), ("agent", "bad/agent"),
                                  ("team", "x" * 129)]
    for kind, value in bad:
        args: dict[str, Any] = {"tenant": "acme", kind: value}
        tenant = args.pop("tenant")
        with pytest.raises(ConfigError) as caught:
            ring.create(tenant, **args)
        assert kind in str(caught.value)
    assert ring.list() == []


def test_only_the_key_hash_is_stored(store: Store, db_url: str) -> None:
    ring = KeyRing(store)
    record, text = ring.create("acme", name="ci")
    secret = text[len(f"pk-{record.id}-"):]
    dump = repr(raw_rows(db_url, "SELECT * FROM api_keys"))
    assert record.id in dump and hash_key(text) in dump
    assert text not in dump and secret not in dump and secret[:16] not in dump
