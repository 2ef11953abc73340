"""The LiteLLM proxy guardrail in a real `litellm --config` process, called with the `openai` SDK.

Two proxies start once for the module, side by side (start-up is mostly imports): one with Proctor as a
`guardrails:` entry, one with `litellm_settings: {callbacks: [proxy_handler]}`. Both reach the fake
OpenAI-compatible upstream of the server tests. The hooks' own logic (async mode, identity from keys) is
tested in-process below.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # never fetch the price list from the internet
litellm = pytest.importorskip("litellm", reason="the litellm extra is not installed")
pytest.importorskip("fastapi", reason="the litellm-proxy extra is not installed")

import openai  # noqa: E402
from click.testing import CliRunner  # noqa: E402

from proctor import Governor  # noqa: E402
from proctor.audit import AuditLog  # noqa: E402
from proctor.cli import cli  # noqa: E402
from proctor.errors import ConfigError  # noqa: E402
from proctor.integrations.litellm import ProctorGuardrail  # noqa: E402
from tests.server.conftest import FakeUpstream, free_port  # noqa: E402

MASTER_KEY = "sk-proctor-test-" + "0123456789abcdef" * 2
SECRET = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
HOST = socket.gethostname()


class Proxy:
    """One `litellm --config` subprocess and the audit store its guardrail writes."""

    def __init__(self, root: Path, upstream_url: str, form: str) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.store = f"sqlite:///{root / 'proctor.db'}"
        (root / "proctor.yaml").write_text(f"storage: {self.store}\npolicies: [builtin:default]\n", "utf-8")
        model = {"model_name": "gpt-4o-mini", "litellm_params": {
            "model": "openai/gpt-4o-mini", "api_base": f"{upstream_url}/v1", "api_key": "sk-upstream"}}
        config: dict[str, Any] = {"model_list": [model], "general_settings": {"master_key": MASTER_KEY}}
        if form == "guardrail":
            config["guardrails"] = [{"guardrail_name": "proctor", "litellm_params": {
                "guardrail": "proctor.integrations.litellm.ProctorGuardrail", "mode": ["pre_call", "post_call"],
                "default_on": True}}]
        else:
            config["litellm_settings"] = {"callbacks": ["proctor.integrations.litellm.proxy_handler"]}
        (root / "config.yaml").write_text(json.dumps(config), "utf-8")  # JSON is YAML
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("PROCTOR_") and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
        env.update(PROCTOR_CONFIG=str(root / "proctor.yaml"), LITELLM_LOCAL_MODEL_COST_MAP="True",
                   NO_PROXY="127.0.0.1,localhost", PYTHONPATH=str(Path(__file__).resolve().parents[2]))
        self.log = (root / "proxy.log").open("wb")
        litellm_bin = Path(sys.executable).with_name("litellm")
        self.proc = subprocess.Popen(
            [str(litellm_bin), "--config", str(root / "config.yaml"), "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=root, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if httpx.get(f"{self.url}/health/liveliness", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.stop()
        log = Path(self.log.name).read_text("utf-8", errors="replace")[-3000:]
        raise RuntimeError(f"the LiteLLM proxy did not start:\n{log}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.log.close()

    def client(self) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.url}/v1", api_key=MASTER_KEY, max_retries=0, timeout=30)

    def records(self, expect: int = 1, **match: Any) -> list[dict[str, Any]]:
        """Records whose fields equal ``match``; waits (the writer batches) until ``expect`` are there."""
        from proctor.store import AuditQuery, open_store

        found: list[dict[str, Any]] = []
        end = time.monotonic() + 15
        while time.monotonic() < end:
            st = open_store(self.store)
            try:
                docs = [json.loads(r.doc) for r in st.read_audit(AuditQuery(order="chain", limit=10_000))]
            except Exception:  # the proxy creates the store on its first request
                docs = []
            finally:
                st.close()
            found = [d for d in docs if d.get("kind") == "call" and all(d.get(k) == v for k, v in match.items())]
            if len(found) >= expect:
                break
            time.sleep(0.1)
        return found


@pytest.fixture(scope="module")
def proxies(upstream: tuple[FakeUpstream, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Proxy]]:
    _, url = upstream
    root = tmp_path_factory.mktemp("litellm-proxy")
    started = {form: Proxy(root / form, url, form) for form in ("guardrail", "callback")}
    try:
        deadline = time.monotonic() + 180
        for proxy in started.values():
            proxy.wait_ready(deadline)
        yield started
    finally:
        for proxy in started.values():
            if proxy.proc.poll() is None:
                proxy.stop()


@pytest.fixture
def proxy(proxies: dict[str, Proxy]) -> Proxy:
    return proxies["guardrail"]


def ask(proxy: Proxy, content: str, session: str, **kwargs: Any) -> Any:
    """One chat completion in its own session, so each test finds its own audit record."""
    return proxy.client().chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": content}],
                                                  extra_headers={"x-session-id": session}, **kwargs)


def test_allowed_call_reaches_the_upstream_and_is_audited(proxy: Proxy, fake: FakeUpstream) -> None:
    resp = ask(proxy, "What is the capital of France?", "s-7")
    assert resp.choices[0].message.content == "Hello from upstream."
    assert fake.requests[-1]["messages"][0]["content"] == "What is the capital of France?"
    (record,) = proxy.records(session="s-7")
    assert record["action"] == "allow" and record["status"] == "ok" and record["tokens_in"] == 11
    assert record["agent"] == HOST  # no agent_name, no key alias, no team: the proxy's host
    assert record["user"] == "default_user_id"  # the key's user id (the master key's) wins over the request's


def test_denied_input_is_a_400_policy_denied_and_never_reaches_the_upstream(proxy: Proxy, fake: FakeUpstream) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        ask(proxy, "My SSN is 123-45-6789", "s-8")
    error = info.value.body
    assert isinstance(error, dict)
    assert error["type"] == "policy_violation" and "default-deny-high-risk-pii" in error["message"]
    assert error["provider_specific_fields"]["error"]["code"] == "policy_denied"
    assert "123-45-6789" not in json.dumps(error)
    assert info.value.response.headers["x-proctor-decision-id"]
    assert fake.requests == []
    (record,) = proxy.records(session="s-8")
    assert record["action"] == "deny" and record["status"] == "blocked" and record["findings"] == {"pii.ssn": 1}
    assert record["decision_id"] == info.value.response.headers["x-proctor-decision-id"]


def test_redacted_input_reaches_the_upstream_with_the_placeholder(proxy: Proxy, fake: FakeUpstream) -> None:
    resp = ask(proxy, "Mail jane@example.com a summary", "s-9")
    assert resp.choices[0].message.content == "Hello from upstream."
    assert fake.requests[-1]["messages"][0]["content"] == "Mail [EMAIL_1] a summary"
    (record,) = proxy.records(session="s-9")
    assert record["action"] == "redact" and record["policies"] == ["default-redact-contact"]


def test_denied_output_is_a_400_and_the_client_never_sees_it(proxy: Proxy, fake: FakeUpstream) -> None:
    fake.reply_chunks = ["Here is the key: ", SECRET]
    with pytest.raises(openai.BadRequestError) as info:
        ask(proxy, "Give me a token", "s-10")
    assert "Response blocked by policy" in str(info.value) and SECRET not in str(info.value.body)
    (record,) = proxy.records(session="s-10")
    assert record["action"] == "deny" and record["status"] == "blocked"
    assert record["findings"] == {"secret.github_token": 1}


def test_stream_with_a_secret_split_across_chunks_never_reaches_the_client(proxy: Proxy, fake: FakeUpstream) -> None:
    fake.reply_chunks = ["Your token: ", SECRET[:8], SECRET[8:24], SECRET[24:], " ok"]
    received = ""
    stream = ask(proxy, "token?", "s-11", stream=True)
    with pytest.raises(openai.APIError, match="Response blocked by policy"):
        for chunk in stream:
            received += (chunk.choices[0].delta.content or "") if chunk.choices else ""
    assert SECRET[:8] not in received
    (record,) = proxy.records(session="s-11")
    assert record["action"] == "deny" and record["status"] == "blocked"


def test_clean_stream_arrives_whole(proxy: Proxy, fake: FakeUpstream) -> None:
    fake.reply_chunks = ["The answer ", "is ", "42."]
    stream = ask(proxy, "What is six times seven?", "s-12", stream=True)
    text = "".join((c.choices[0].delta.content or "") for c in stream if c.choices)
    assert text == "The answer is 42."
    (record,) = proxy.records(session="s-12")
    assert record["action"] == "allow" and record["status"] == "ok"


def test_agent_and_session_land_in_the_audit_record(proxy: Proxy) -> None:
    ask(proxy, "Summarise invoice 1234", "sess-42", metadata={"agent_name": "billing-bot"}, user="end-user-13")
    (record,) = proxy.records(session="sess-42")
    assert record["agent"] == "billing-bot" and record["session"] == "sess-42"
    out = CliRunner().invoke(cli, ["audit", "query", "--store", proxy.store, "--agent", "billing-bot", "--json"])
    assert out.exit_code == 0, out.output
    assert [json.loads(line)["session"] for line in out.output.splitlines()] == ["sess-42"]


def test_callbacks_form_blocks_and_records_too(proxies: dict[str, Proxy], fake: FakeUpstream) -> None:
    proxy = proxies["callback"]
    assert ask(proxy, "hello there", "cb-1").choices[0].message.content == "Hello from upstream."
    with pytest.raises(openai.BadRequestError) as info:
        ask(proxy, "card 4111 1111 1111 1111", "cb-2")
    assert info.value.body["provider_specific_fields"]["error"]["code"] == "policy_denied"  # type: ignore[index]
    assert len(fake.requests) == 1
    assert proxy.records(session="cb-1")[0]["action"] == "allow"
    assert proxy.records(session="cb-2")[0]["status"] == "blocked"


# -- the hooks in-process: async mode, identity from the key, bad settings ------------------------------------


@pytest.fixture
def audited(tmp_path: Path) -> Iterator[tuple[Governor, str]]:
    store = f"sqlite:///{tmp_path / 'audit.db'}"
    gov = Governor(audit=AuditLog.open(store))
    yield gov, store
    gov.audit.close()  # type: ignore[union-attr]


def test_async_mode_never_blocks_and_records_after_the_fact(audited: tuple[Governor, str]) -> None:
    gov, store = audited
    guard = ProctorGuardrail(proctor_mode="async", governor=gov, guardrail_name="proctor")
    data = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "My SSN is 123-45-6789"}],
            "litellm_call_id": "c-1"}
    assert asyncio.run(guard.async_pre_call_hook(None, None, data, "acompletion")) is None
    response = litellm.ModelResponse(choices=[{"message": {"role": "assistant", "content": "noted"}}])
    kwargs = {"model": "gpt-4o-mini", "messages": data["messages"], "call_type": "acompletion",
              "litellm_params": {"metadata": {"user_api_key_alias": "ops-key"}}}
    asyncio.run(guard.async_log_success_event(kwargs, response, None, None))
    gov.audit.flush(10)  # type: ignore[union-attr]
    from proctor.store import AuditQuery, open_store

    st = open_store(store)
    docs = [json.loads(r.doc) for r in st.read_audit(AuditQuery(order="chain"))]
    st.close()
    calls = [d for d in docs if d["kind"] == "call"]
    assert len(calls) == 1 and calls[0]["action"] == "log" and calls[0]["findings"] == {"pii.ssn": 1}
    assert calls[0]["agent"] == "ops-key" and guard.errors == 0


def test_identity_prefers_agent_name_then_key_alias_then_team_alias_then_host() -> None:
    from litellm.proxy._types import UserAPIKeyAuth

    guard = ProctorGuardrail(governor=Governor(), guardrail_name="proctor")
    key = UserAPIKeyAuth(key_alias="billing-key", team_alias="finance", user_id="u-17")
    headers = {"X-Session-Id": "s-1"}
    data: dict[str, Any] = {"model": "m", "metadata": {"agent_name": "billing-bot"},
                            "proxy_server_request": {"headers": headers}}
    assert guard.identity(data, key).agent == "billing-bot"
    assert guard.identity(data, key).session == "s-1" and guard.identity(data, key).user == "u-17"
    assert guard.identity({"model": "m"}, key).agent == "billing-key"
    assert guard.identity({"model": "m"}, UserAPIKeyAuth(team_alias="finance")).agent == "finance"
    assert guard.identity({"model": "m", "litellm_session_id": "s-2", "user": "end"}, None).agent == HOST
    assert guard.identity({"model": "m", "litellm_session_id": "s-2", "user": "end"}, None).session == "s-2"
    assert guard.identity({"model": "m", "user": "end"}, UserAPIKeyAuth()).user == "end"


def test_bad_mode_is_a_config_error_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"proctor_mode.*sync or async.*'block'"):
        ProctorGuardrail(proctor_mode="block")


def test_importing_the_integration_does_not_load_the_proxy() -> None:
    code = ("import sys, proctor.integrations.litellm as m; "
            "assert m.proxy_handler._governor is None; "
            "assert 'fastapi' not in sys.modules and 'litellm.proxy.proxy_server' not in sys.modules")
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
