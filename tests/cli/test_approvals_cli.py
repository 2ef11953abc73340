"""``proctor approvals``: list, show, approve and reject the review queue of a store."""

from __future__ import annotations

import functools
import json
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from proctor import Governor
from proctor.approvals import Approval, Approvals
from proctor.identity import Identity
from proctor.store import AuditQuery, open_store

SSN = "123-45-6789"


def run(*args: str) -> tuple[int, str, str]:
    from proctor.cli import cli

    result = CliRunner().invoke(cli, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@functools.lru_cache(maxsize=1)
def governor() -> Governor:
    return Governor()


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/proctor.db"


def hold(store_url: str, tenant: str = "acme", *, severity: str = "medium", ttl_s: float | None = None) -> Approval:
    """Queue one approval request straight through the service, as a server would."""
    decision = governor().check(f"My SSN is {SSN}")
    store = open_store(store_url)
    try:
        return Approvals(store).create(Identity(tenant=tenant, agent="billing-bot", model="gpt-4o"), decision,
                                       query="user: My SSN is [PII.SSN]", prompt_sha256="a" * 64,
                                       severity=severity, ttl_s=ttl_s)
    finally:
        store.close()


def audit_docs(store_url: str) -> list[dict[str, Any]]:
    store = open_store(store_url)
    try:
        rows = store.read_audit(AuditQuery(limit=10_000))
    finally:
        store.close()
    return [json.loads(row.doc) for row in rows]


def test_list_empty(store_url: str) -> None:
    open_store(store_url).close()
    code, out, err = run("approvals", "--store", store_url, "list")
    assert code == 0 and out == ""
    assert "No pending approval requests." in err
    code, out, err = run("approvals", "--store", store_url, "list", "--json")
    assert code == 0 and out == ""


def test_list_table_and_json(store_url: str) -> None:
    first, second = hold(store_url, severity="high"), hold(store_url)
    code, out, err = run("approvals", "--store", store_url, "list")
    assert code == 0, err
    header, *rows = out.splitlines()
    assert header.split()[:4] == ["ID", "STATUS", "SEVERITY", "TENANT"]
    assert [r.split()[0] for r in rows] == [second.id, first.id]  # newest first
    assert rows[1].split()[1:5] == ["pending", "high", "acme", "billing-bot"]
    assert rows[0].endswith("default-deny-high-risk-pii")
    code, out, _ = run("approvals", "--store", store_url, "list", "--json")
    items = [json.loads(line) for line in out.splitlines()]
    assert [i["approval_id"] for i in items] == [second.id, first.id]
    assert items[1]["severity"] == "high" and items[1]["status"] == "pending" and items[1]["tenant_id"] == "acme"
    code, out, err = run("approvals", "--store", store_url, "list", "--limit", "1")
    assert code == 0 and len(out.splitlines()) == 2
    assert "(2 in all; --offset 1 for more)" in err
    code, out, _ = run("approvals", "--store", store_url, "list", "--severity", "high", "--json")
    assert [json.loads(line)["approval_id"] for line in out.splitlines()] == [first.id]


def test_list_status_and_tenant(store_url: str) -> None:
    decided, pending, other = hold(store_url), hold(store_url), hold(store_url, "globex")
    code, _, err = run("approvals", "--store", store_url, "approve", decided.id, "--reviewer", "alice")
    assert code == 0, err

    def listed(*args: str) -> list[str]:
        code, out, err = run("approvals", "--store", store_url, "list", "--json", *args)
        assert code == 0, err
        return [json.loads(line)["approval_id"] for line in out.splitlines()]

    assert set(listed()) == {pending.id, other.id}
    assert set(listed("--status", "all")) == {decided.id, pending.id, other.id}
    assert listed("--status", "approved") == [decided.id]
    assert listed("--status", "rejected") == []
    assert set(listed("--status", "all", "--tenant", "acme")) == {decided.id, pending.id}
    assert listed("--tenant", "globex") == [other.id]
    code, out, _ = run("approvals", "--store", store_url, "list", "--status", "all")
    assert "approved" in out and "pending" in out


def test_show(store_url: str) -> None:
    made = hold(store_url)
    code, out, err = run("approvals", "--store", store_url, "show", made.id)
    assert code == 0, err
    fields = dict(line.split(":", 1) for line in out.splitlines() if not line.startswith(" ") and ":" in line)
    assert fields["id"].strip() == made.id and fields["status"].strip() == "pending"
    assert fields["tenant"].strip() == "acme" and fields["agent"].strip() == "billing-bot"
    assert fields["findings"].strip() == "pii.ssn" and fields["reviewer"].strip() == "-"
    assert "request (findings replaced by their types):\n  user: My SSN is [PII.SSN]" in out
    assert SSN not in out
    code, out, _ = run("approvals", "--store", store_url, "show", made.id, "--json")
    view = json.loads(out)
    assert code == 0 and view["approval_id"] == made.id and view["status"] == "pending"
    assert view["original_query"] == "user: My SSN is [PII.SSN]" and view["finding_types"] == ["pii.ssn"]
    code, out, err = run("approvals", "--store", store_url, "show", "no-such-id")
    assert code == 1 and out == "" and "no approval request 'no-such-id'" in err


def test_approve_is_recorded_and_verifiable(store_url: str) -> None:
    made = hold(store_url)
    code, out, err = run("approvals", "--store", store_url, "approve", made.id, "--reviewer", "alice@example.com",
                         "--role", "compliance_officer", "--comment", "refund checked")
    assert code == 0, err
    assert out.strip() == f"{made.id}: approved by alice@example.com"
    code, out, err = run("audit", "verify", "--store", store_url)
    assert code == 0, out + err
    [record] = [d for d in audit_docs(store_url) if d.get("status") == "approved"]
    assert record["meta"] == {"approval_id": made.id, "reviewer": "alice@example.com",
                              "reviewer_email": "alice@example.com", "reviewer_role": "compliance_officer",
                              "comment": "refund checked", "decided_via": f"cli:{socket.gethostname()}"}
    assert record["tenant"] == "acme" and record["action"] == "require_approval"
    _, out, _ = run("approvals", "--store", store_url, "show", made.id, "--json")
    view = json.loads(out)
    assert view["status"] == "approved" and view["reviewer_id"] == "alice@example.com"
    assert view["review_comment"] == "refund checked"


def test_reject_then_second_decision_fails(store_url: str) -> None:
    made = hold(store_url)
    code, out, err = run("approvals", "--store", store_url, "reject", made.id, "--reviewer", "bob", "-m", "no")
    assert code == 0, err
    assert out.strip() == f"{made.id}: rejected by bob"
    for verb in ("approve", "reject"):
        code, out, err = run("approvals", "--store", store_url, verb, made.id, "--reviewer", "mallory")
        assert code == 1 and out == ""
        assert "already rejected" in err and "Traceback" not in err
    records = [d for d in audit_docs(store_url) if (d.get("meta") or {}).get("approval_id") == made.id]
    assert [(r["status"], r["meta"]["reviewer"], r["meta"]["comment"]) for r in records] == [("rejected", "bob", "no")]
    code, out, err = run("audit", "verify", "--store", store_url)
    assert code == 0, out + err


def test_expired_and_unknown_cannot_be_decided(store_url: str) -> None:
    made = hold(store_url, ttl_s=0.05)
    time.sleep(0.1)
    code, _, err = run("approvals", "--store", store_url, "approve", made.id, "--reviewer", "alice")
    assert code == 1 and "expired" in err
    code, _, err = run("approvals", "--store", store_url, "approve", "no-such-id", "--reviewer", "alice")
    assert code == 1 and "no approval request" in err
    _, out, _ = run("approvals", "--store", store_url, "list", "--status", "expired", "--json")
    assert [json.loads(line)["approval_id"] for line in out.splitlines()] == [made.id]


def test_reading_records_an_expiry_it_finds(store_url: str) -> None:
    # Whichever process first sees a request past its expiry moves it to expired, and only that one
    # records it: a CLI read must record it too, or the trail would never hold the expiry.
    live, stale = hold(store_url), hold(store_url, ttl_s=0.05)
    code, _, err = run("approvals", "--store", store_url, "list")
    assert code == 0, err
    assert audit_docs(store_url) == []  # nothing moved: reading writes nothing
    time.sleep(0.1)
    code, out, err = run("approvals", "--store", store_url, "list", "--status", "all")
    assert code == 0, err
    assert f"{stale.id}  expired" in out and f"{live.id}  pending" in out
    records = [d for d in audit_docs(store_url) if (d.get("meta") or {}).get("approval_id")]
    assert [(r["status"], r["meta"]["approval_id"]) for r in records] == [("expired", stale.id)]
    run("approvals", "--store", store_url, "show", stale.id)
    assert len([d for d in audit_docs(store_url) if d.get("status") == "expired"]) == 1
    code, out, err = run("audit", "verify", "--store", store_url)
    assert code == 0, out + err


def test_missing_store_is_a_usage_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/nothing-here.db"
    for command in (["list"], ["show", "x"], ["approve", "x", "--reviewer", "alice"]):
        code, out, err = run("approvals", "--store", url, *command)
        assert code == 2 and out == "", command
        assert "nothing-here.db" in err and "Traceback" not in err
    assert not (tmp_path / "nothing-here.db").exists()


def test_invalid_config_names_the_key(tmp_path: Path) -> None:
    config = tmp_path / "proctor.yaml"
    config.write_text("approvals:\n  ttl_s: -5\n")
    code, out, err = run("approvals", "--config", str(config), "list")
    assert code == 2 and out == ""
    assert "key 'approvals.ttl_s'" in err and "a positive number of seconds" in err and "-5" in err


def test_config_supplies_the_store(store_url: str, tmp_path: Path) -> None:
    made = hold(store_url)
    config = tmp_path / "proctor.yaml"
    config.write_text(f"storage: {store_url}\napprovals:\n  ttl_s: 60\n")
    code, out, err = run("approvals", "--config", str(config), "list", "--json")
    assert code == 0, err
    assert [json.loads(line)["approval_id"] for line in out.splitlines()] == [made.id]
