"""Gateway-mode contexts are signed and self-contained: a pre-check answered by one process is audited by
another that shares the secret (workers, replicas), once, and a forged or foreign id is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from axonflow import AxonFlow
from axonflow.exceptions import AxonFlowError
from axonflow.types import TokenUsage

from proctor.config import Settings
from proctor.contexts import SECRET_ENV, ContextCache
from proctor.governor import Governor
from proctor.identity import Identity
from proctor.server import create_app
from tests.server.conftest import ListSink, running

USAGE = TokenUsage(prompt_tokens=3, completion_tokens=2, total_tokens=5)


@pytest.fixture
def two_replicas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str, str, ListSink]]:
    """Two servers sharing the secret, and a third with its own."""
    sink = ListSink()
    with_secret = Settings(storage=f"sqlite:///{tmp_path}/shared.db")
    monkeypatch.setenv(SECRET_ENV, "replica-secret")
    first, second = Governor.from_settings(with_secret, audit=sink), Governor.from_settings(with_secret, audit=sink)
    monkeypatch.delenv(SECRET_ENV)
    stranger = Governor.from_settings(Settings(storage=f"sqlite:///{tmp_path}/other.db"), audit=sink)
    with running(create_app(with_secret, first)) as a, running(create_app(with_secret, second)) as b, \
            running(create_app(with_secret, stranger)) as c:
        yield a, b, c, sink


def axon(url: str) -> AxonFlow:
    return AxonFlow.sync(endpoint=url, client_id="replicated", client_secret="x")


def test_pre_check_on_one_replica_audits_on_another_once(two_replicas: tuple[str, str, str, ListSink]) -> None:
    a, b, c, sink = two_replicas
    first, second, third = axon(a), axon(b), axon(c)
    try:
        ctx = first.get_policy_approved_context(user_token="u", query="Summarise the meeting notes",
                                                context={"agent_name": "notes-bot"})
        assert ctx.approved and ctx.context_id.startswith("c1.")
        with pytest.raises(AxonFlowError, match="404"):  # a process without the secret cannot read it
            third.audit_llm_call(context_id=ctx.context_id, response_summary="ok", provider="openai",
                                 model="gpt-4o", token_usage=USAGE, latency_ms=5)
        done = second.audit_llm_call(context_id=ctx.context_id, response_summary="Three decisions were made.",
                                     provider="openai", model="gpt-4o", token_usage=USAGE, latency_ms=5)
        assert done.success
        record = next(r for r in sink.records if r.record_id == done.audit_id)
        assert (record.agent, record.client, record.context_id, record.decision_id) == (
            "notes-bot", "replicated", ctx.context_id, ctx.decision_id)
        with pytest.raises(AxonFlowError, match="404"):  # audited once
            second.audit_llm_call(context_id=ctx.context_id, response_summary="again", provider="openai",
                                  model="gpt-4o", token_usage=USAGE, latency_ms=5)
    finally:
        for client in (first, second, third):
            client.close()


def test_a_forged_or_expired_context_is_refused() -> None:
    made = ContextCache(secret=b"k").create(Identity(agent="a"), Governor().check("hello"), "d", "h")
    body, mac = made.id[3:].rsplit(".", 1)
    forged = "c1." + body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + "." + mac
    assert ContextCache(secret=b"k").take(forged) is None
    expired = ContextCache(ttl_s=-1, secret=b"k")
    assert expired.take(expired.create(made.identity, made.decision, "d", "h").id) is None
    assert ContextCache(secret=b"k").take(made.id) is not None
