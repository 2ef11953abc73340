"""`auth: keys`: every call needs a Proctor key; keys bind tenant and agent; tenants never see each other."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anthropic
import httpx
import openai
import pytest
from axonflow import AxonFlow
from axonflow.exceptions import AuthenticationError

from proctor.config import Settings, check_exposure, load_settings
from proctor.errors import ConfigError
from proctor.governor import Governor
from proctor.server import create_app
from proctor.store import AuditQuery, open_store
from tests.server.conftest import FakeUpstream, running
from tests.server.test_approvals_api import HELD, make_settings


@dataclass
class Deployment:
    url: str
    settings: Settings
    gov: Governor
    acme: str  # acme's agent key (agent billing-bot)
    acme_admin: str
    globex_admin: str


@pytest.fixture(scope="module")
def dep(upstream: tuple[FakeUpstream, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    settings = make_settings(tmp_path_factory.mktemp("auth"), upstream[1], auth="keys", auth_explicit=True)
    gov = Governor.from_settings(settings)
    assert gov.keys is not None
    _, acme = gov.keys.create("acme", agent="billing-bot", name="billing")
    _, acme_admin = gov.keys.create("acme", admin=True, name="acme-reviewers")
    _, globex_admin = gov.keys.create("globex", admin=True)
    with running(create_app(settings, gov)) as url:
        yield Deployment(url, settings, gov, acme, acme_admin, globex_admin)


def oai(dep: Deployment, key: str, **headers: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{dep.url}/v1", api_key=key, max_retries=0,
                         default_headers={"X-Provider-Key": "sk-upstream-secret", **headers})


def last_records(dep: Deployment, n: int = 50) -> list[dict[str, Any]]:
    time.sleep(0.3)
    store = open_store(dep.settings.storage)
    try:
        rows = store.read_audit(AuditQuery(order="newest", limit=n + 10))
    finally:
        store.close()
    return [doc for doc in map(json.loads, (r.doc for r in rows)) if doc["kind"] == "call"][:n]


def test_calls_without_a_valid_key_are_401_in_each_callers_shape(dep: Deployment) -> None:
    with pytest.raises(openai.AuthenticationError) as info:
        oai(dep, "sk-not-a-proctor-key").chat.completions.create(model="echo", messages=[{"role": "user",
                                                                                            "content": "hi"}])
    body: Any = info.value.body
    assert body["code"] == "invalid_api_key"
    with pytest.raises(openai.AuthenticationError):
        oai(dep, "pk-000000000000-forged").models.list()
    claude = anthropic.Anthropic(base_url=dep.url, api_key="wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError):
        claude.messages.create(model="echo", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    axon = AxonFlow.sync(endpoint=dep.url, client_id="billing", client_secret="wrong")
    try:
        with pytest.raises(AuthenticationError):
            axon.get_policy_approved_context(user_token="u", query="hello")
    finally:
        axon.close()


def test_key_binds_tenant_and_agent_and_the_provider_key_alone_goes_upstream(dep: Deployment,
                                                                              fake: FakeUpstream) -> None:
    answer = oai(dep, dep.acme).chat.completions.create(model="gpt-4o-mini",
                                                        messages=[{"role": "user", "content": "hello there"}])
    assert answer.choices[0].message.content
    assert fake.auth == ["Bearer sk-upstream-secret"]  # the Proctor key never leaves Proctor
    record = last_records(dep, 1)[0]
    assert (record["tenant"], record["agent"], record["client"]) == ("acme", "billing-bot", "billing")
    named = oai(dep, dep.acme).chat.completions.create(model="echo", messages=[{"role": "user", "content": "hi"}],
                                                       metadata={"agent_name": "refund-bot"})
    assert named.choices[0].message.content
    assert last_records(dep, 1)[0]["agent"] == "refund-bot"  # metadata.agent_name wins over the key's agent
    with pytest.raises(openai.AuthenticationError):  # the caller's Bearer is Proctor's key, never a provider key
        openai.OpenAI(base_url=f"{dep.url}/v1", api_key="sk-upstream-secret", max_retries=0).models.list()


def test_axonflow_sdk_authenticates_with_client_id_and_the_key_as_secret(dep: Deployment) -> None:
    axon = AxonFlow.sync(endpoint=dep.url, client_id="billing-desk", client_secret=dep.acme)
    try:
        ctx = axon.get_policy_approved_context(user_token="u-1", query="What is our refund window?")
        assert ctx.approved
    finally:
        axon.close()


def test_management_routes_need_an_admin_key_of_the_same_tenant(dep: Deployment) -> None:
    with pytest.raises(openai.PermissionDeniedError) as info:
        oai(dep, dep.acme).chat.completions.create(model="echo", messages=HELD)  # type: ignore[arg-type]
    body: Any = info.value.body
    request_id = body["approval_id"]
    agent = {"Authorization": f"Bearer {dep.acme}"}
    admin = {"Authorization": f"Bearer {dep.acme_admin}"}
    other = {"Authorization": f"Bearer {dep.globex_admin}"}
    review = {"reviewer_id": "alice", "reviewer_email": "alice@example.com"}
    # The caller may poll its own tenant's request, but not list or decide.
    assert httpx.get(f"{dep.url}/api/v1/hitl/queue/{request_id}", headers=agent).json()["data"]["status"] == "pending"
    assert httpx.get(f"{dep.url}/api/v1/hitl/queue", headers=agent).status_code == 403
    denied = httpx.post(f"{dep.url}/api/v1/hitl/queue/{request_id}/approve", headers=agent, json=review)
    assert denied.status_code == 403 and denied.json()["error"] == "forbidden"
    assert httpx.get(f"{dep.url}/api/v1/hitl/queue").status_code == 401
    # Another tenant's admin sees nothing of acme's: not in its list, 404 by id, cannot decide it.
    listed = httpx.get(f"{dep.url}/api/v1/hitl/queue", headers=other).json()
    assert all(item["tenant_id"] == "globex" for item in listed["data"])
    assert request_id not in {item["request_id"] for item in listed["data"]}
    assert httpx.get(f"{dep.url}/api/v1/hitl/queue/{request_id}", headers=other).status_code == 404
    assert httpx.post(f"{dep.url}/api/v1/hitl/queue/{request_id}/approve", headers=other, json=review).status_code \
        == 404
    assert httpx.get(f"{dep.url}/api/v1/hitl/stats", headers=other).json()["data"]["total_pending"] == 0
    # acme's admin decides it.
    mine = httpx.get(f"{dep.url}/api/v1/hitl/queue", headers=admin).json()
    assert request_id in {item["request_id"] for item in mine["data"]}
    assert httpx.post(f"{dep.url}/api/v1/hitl/queue/{request_id}/approve", headers=admin, json=review).json()[
        "data"]["status"] == "approved"
    decided = [r for r in last_records(dep, 50) if r["status"] == "approved" and r["meta"]["approval_id"] == request_id]
    assert decided[0]["meta"]["decided_via"].startswith("key:")  # which key decided, beside the named reviewer
    ok = oai(dep, dep.acme, **{"X-Proctor-Approval-Id": request_id}).chat.completions.create(
        model="echo", messages=HELD)  # type: ignore[arg-type]
    assert ok.choices[0].message.content


def test_another_tenant_cannot_spend_an_approval(dep: Deployment) -> None:
    with pytest.raises(openai.PermissionDeniedError) as info:
        oai(dep, dep.acme).chat.completions.create(model="echo", messages=HELD)  # type: ignore[arg-type]
    body: Any = info.value.body
    request_id = body["approval_id"]
    httpx.post(f"{dep.url}/api/v1/hitl/queue/{request_id}/approve", headers={"X-Proctor-Key": dep.acme_admin},
               json={"reviewer_id": "alice", "reviewer_email": "alice@example.com"})
    with pytest.raises(openai.PermissionDeniedError) as info:
        oai(dep, dep.globex_admin, **{"X-Proctor-Approval-Id": request_id}).chat.completions.create(
            model="echo", messages=HELD)  # type: ignore[arg-type]
    body = info.value.body
    assert body["approval_id"] != request_id  # globex's call is held on a request of its own


def test_revoked_key_stops_working(dep: Deployment) -> None:
    assert dep.gov.keys is not None
    record, key = dep.gov.keys.create("acme", agent="short-lived")
    assert oai(dep, key).models.list().data
    assert dep.gov.keys.revoke(record.id)
    with pytest.raises(openai.AuthenticationError):
        oai(dep, key).models.list()


def test_auth_settings_are_validated(tmp_path: Any) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text("auth: maybe\n")
    with pytest.raises(ConfigError, match="'auth'"):
        load_settings(bad, env={})
    exposed = tmp_path / "exposed.yaml"
    exposed.write_text("server: {host: 0.0.0.0}\n")
    with pytest.raises(ConfigError, match="without authentication"):
        check_exposure(load_settings(exposed, env={}))
    exposed.write_text("server: {host: 0.0.0.0}\nauth: off\n")
    check_exposure(load_settings(exposed, env={}))  # written on purpose: allowed
    hooks = tmp_path / "hooks.yaml"
    hooks.write_text("approvals: {webhook_urls: ['https://hooks.example.com/proctor']}\n")
    with pytest.raises(ConfigError, match="webhook_secret_env"):
        load_settings(hooks, env={})
    assert load_settings(None, env={"PROCTOR_AUTH": "keys"}).auth == "keys"


def test_audit_route_shows_a_tenant_its_own_records_only(dep: Deployment) -> None:
    oai(dep, dep.acme).chat.completions.create(model="echo", messages=[{"role": "user", "content": "acme call"}],
                                               metadata={"agent_name": "audit-probe"})
    globex = dep.gov.keys.create("globex", agent="globex-bot")[1] if dep.gov.keys else ""
    oai(dep, globex).chat.completions.create(model="echo", messages=[{"role": "user", "content": "globex call"}],
                                             metadata={"agent_name": "audit-probe"})
    time.sleep(0.3)
    admin = {"Authorization": f"Bearer {dep.acme_admin}"}
    mine = httpx.get(f"{dep.url}/api/v1/audit", headers=admin, params={"agent": "audit-probe"}).json()["data"]
    assert [r["tenant"] for r in mine] == ["acme"]
    assert mine[0]["hash"] and mine[0]["prompt_sha256"] and "acme call" not in json.dumps(mine[0])
    # Asking for another tenant is ignored with auth on: the key's tenant is the only one shown.
    forced = httpx.get(f"{dep.url}/api/v1/audit", headers=admin, params={"tenant": "globex"}).json()["data"]
    assert forced and {r["tenant"] for r in forced} == {"acme"}
    theirs = httpx.get(f"{dep.url}/api/v1/audit", headers={"X-Proctor-Key": dep.globex_admin},
                       params={"agent": "audit-probe"}).json()["data"]
    assert [r["tenant"] for r in theirs] == ["globex"]
    assert httpx.get(f"{dep.url}/api/v1/audit", headers={"X-Proctor-Key": dep.acme}).status_code == 403
    bad = httpx.get(f"{dep.url}/api/v1/audit", headers=admin, params={"since": "yesterday"})
    assert bad.status_code == 400 and "since" in bad.json()["message"]
    assert httpx.get(f"{dep.url}/api/v1/audit", headers=admin, params={"colour": "red"}).status_code == 400
