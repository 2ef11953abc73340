"""The remote client and `Governed(endpoint=...)` against a real `proctor serve` app on loopback.

The model is called by LiteLLM in the test process (the fake OpenAI-compatible upstream); checks and the
audit record happen on the server. A small ASGI wrapper in front of the server makes it fail or stall on
demand, for the circuit breaker, fail-open/closed and timeouts.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from proctor import Governor, PolicyDenied
from proctor.client import CircuitBreaker, ProctorClient, RemoteUnavailable
from proctor.config import Settings
from proctor.errors import ConfigError
from proctor.identity import Identity
from proctor.server import create_app
from tests.server.conftest import FakeUpstream, ListSink, free_port, running

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # never fetch the price list from the internet
SECRET = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"


class Flaky:
    """ASGI wrapper: answers 503 while ``down``, waits ``delay_s`` before passing on; counts HTTP calls."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.down = False
        self.delay_s = 0.0
        self.calls = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.calls += 1
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            if self.down:
                await send({"type": "http.response.start", "status": 503,
                            "headers": [(b"content-type", b"application/json")]})
                await send({"type": "http.response.body", "body": b'{"error": {"message": "down for a test"}}'})
                return
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Flaky, ListSink]]:
    sink = ListSink()
    settings = Settings(storage=f"sqlite:///{tmp_path_factory.mktemp('remote') / 'proctor.db'}")
    flaky = Flaky(create_app(settings, Governor.from_settings(settings, audit=sink)))
    with running(flaky) as url:
        yield url, flaky, sink


@pytest.fixture
def remote(server: tuple[str, Flaky, ListSink]) -> Iterator[tuple[str, Flaky, ListSink]]:
    _, flaky, _ = server
    flaky.down, flaky.delay_s = False, 0.0
    yield server
    flaky.down, flaky.delay_s = False, 0.0


# -- Governed in remote mode ----------------------------------------------------------------------------------

litellm = pytest.importorskip("litellm", reason="the litellm extra is not installed")
from proctor.integrations.litellm import Governed  # noqa: E402


@pytest.fixture
def governed(remote: tuple[str, Flaky, ListSink]) -> Iterator[Governed]:
    url, _, _ = remote
    gov = Governed(endpoint=url, api_key="pk-test", timeout_s=5)
    yield gov
    gov.close()


def call(governed: Governed, url: str, content: str, **kwargs: Any) -> Any:
    return governed.completion(model="openai/gpt-4o-mini", api_base=f"{url}/v1", api_key="sk-upstream",
                               messages=[{"role": "user", "content": content}], **kwargs)


def test_remote_allows_redacts_and_records_on_the_server(governed: Governed, fake: FakeUpstream, upstream,  # type: ignore[no-untyped-def]
                                                         remote: tuple[str, Flaky, ListSink]) -> None:
    _, up = upstream
    _, _, sink = remote
    before = len(sink.records)
    resp = call(governed, up, "Mail jane@example.com a summary", user="u-1", metadata={"agent_name": "billing-bot"})
    assert resp.choices[0].message.content == "Hello from upstream."
    assert fake.requests[-1]["messages"][0]["content"] == "Mail [EMAIL_1] a summary"
    assert fake.auth[-1] == "Bearer sk-upstream"  # the provider key goes upstream, never to Proctor
    assert len(sink.records) == before + 1
    record = sink.records[-1]
    assert (record.agent, record.user, record.action, record.status) == ("billing-bot", "u-1", "redact", "ok")
    assert (record.tokens_in, record.tokens_out, record.provider) == (11, 7, "litellm")


def test_remote_denied_input_never_calls_the_model(governed: Governed, fake: FakeUpstream, upstream,  # type: ignore[no-untyped-def]
                                                   remote: tuple[str, Flaky, ListSink]) -> None:
    _, up = upstream
    with pytest.raises(PolicyDenied) as info:
        call(governed, up, "My SSN is 123-45-6789")
    assert info.value.policies == ("default-deny-high-risk-pii",) and "pii.ssn" in info.value.reason
    assert fake.requests == []
    assert remote[2].records[-1].decision_id == info.value.decision_id
    assert remote[2].records[-1].status == "blocked"


def test_remote_denied_output_raises_and_is_recorded(governed: Governed, fake: FakeUpstream, upstream,  # type: ignore[no-untyped-def]
                                                     remote: tuple[str, Flaky, ListSink]) -> None:
    _, up = upstream
    fake.reply_chunks = ["here: ", SECRET]
    with pytest.raises(PolicyDenied, match=r"secret\.github_token"):
        call(governed, up, "a token please")
    assert remote[2].records[-1].status == "blocked" and remote[2].records[-1].action == "deny"


def test_remote_stream_never_leaks_a_split_secret(governed: Governed, fake: FakeUpstream, upstream,  # type: ignore[no-untyped-def]
                                                  remote: tuple[str, Flaky, ListSink]) -> None:
    _, up = upstream
    fake.reply_chunks = ["Your token: ", SECRET[:8], SECRET[8:24], SECRET[24:], " ok"]

    async def main() -> str:
        got = ""
        stream = await governed.acompletion(model="openai/gpt-4o", api_base=f"{up}/v1", api_key="sk-test",
                                            messages=[{"role": "user", "content": "token?"}], stream=True)
        with pytest.raises(PolicyDenied):
            async for chunk in stream:
                got += (chunk.choices[0].delta.content or "") if chunk.choices else ""
        return got

    assert SECRET[:8] not in asyncio.run(main())
    assert remote[2].records[-1].status == "blocked"


def test_remote_clean_stream_arrives_whole_and_is_recorded(governed: Governed, fake: FakeUpstream, upstream,  # type: ignore[no-untyped-def]
                                                           remote: tuple[str, Flaky, ListSink]) -> None:
    _, up = upstream
    fake.reply_chunks = ["The answer ", "is ", "42."]

    async def main() -> str:
        stream = await governed.acompletion(model="openai/gpt-4o", api_base=f"{up}/v1", api_key="sk-test",
                                            messages=[{"role": "user", "content": "6 x 7?"}], stream=True)
        return "".join([(c.choices[0].delta.content or "") async for c in stream if c.choices])

    assert asyncio.run(main()) == "The answer is 42."
    assert remote[2].records[-1].status == "ok" and remote[2].records[-1].action == "allow"


def test_remote_stream_without_finish_reason_arrives_whole(governed: Governed, fake: FakeUpstream, upstream,  # type: ignore[no-untyped-def]
                                                          remote: tuple[str, Flaky, ListSink]) -> None:
    _, up = upstream
    fake.reply_chunks, fake.finish = ["The answer ", "is ", "42."], False  # the held-back tail must still come

    async def main() -> str:
        stream = await governed.acompletion(model="openai/gpt-4o", api_base=f"{up}/v1", api_key="sk-test",
                                            messages=[{"role": "user", "content": "6 x 7?"}], stream=True)
        return "".join([(c.choices[0].delta.content or "") async for c in stream if c.choices])

    try:
        assert asyncio.run(main()) == "The answer is 42."
    finally:
        fake.finish = True
    assert remote[2].records[-1].status == "ok"


def test_fail_closed_refuses_the_call_when_proctor_is_down(fake: FakeUpstream, upstream,  # type: ignore[no-untyped-def]
                                                           remote: tuple[str, Flaky, ListSink]) -> None:
    url, flaky, _ = remote
    _, up = upstream
    flaky.down = True
    gov = Governed(endpoint=url, failure_threshold=10)
    try:
        with pytest.raises(RemoteUnavailable, match="503"):
            call(gov, up, "hello")
    finally:
        gov.close()
    assert fake.requests == []


def test_fail_open_lets_the_call_through_and_says_so(fake: FakeUpstream, upstream,  # type: ignore[no-untyped-def]
                                                     caplog: pytest.LogCaptureFixture) -> None:
    _, up = upstream
    gov = Governed(endpoint=f"http://127.0.0.1:{free_port()}", fail_open=True, timeout_s=1)
    try:
        with caplog.at_level(logging.WARNING, logger="proctor.client"):
            resp = call(gov, up, "hello")
    finally:
        gov.close()
    assert resp.choices[0].message.content == "Hello from upstream."
    assert any("fail_open=True" in r.getMessage() for r in caplog.records)


def test_remote_and_embedded_options_do_not_mix() -> None:
    with pytest.raises(ConfigError, match="either endpoint"):
        Governed(endpoint="http://127.0.0.1:1", storage="sqlite:///x.db")


# -- the client itself ------------------------------------------------------------------------------------------


def test_breaker_opens_after_the_threshold_and_closes_after_recovery(remote: tuple[str, Flaky, ListSink],
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    url, flaky, _ = remote
    client = ProctorClient(url, failure_threshold=2, recovery_s=0.3)
    flaky.down = True
    with caplog.at_level(logging.INFO, logger="proctor.client"):
        for _ in range(2):
            with pytest.raises(RemoteUnavailable) as info:
                client.check("hello")
            assert not info.value.breaker_open
        assert client.breaker.state == "open" and client.metrics()["proctor_client_breaker_state"] == 2
        calls = flaky.calls
        with pytest.raises(RemoteUnavailable) as info:
            client.check("hello")
        assert info.value.breaker_open and flaky.calls == calls  # refused without a request
        flaky.down = False
        time.sleep(0.35)
        assert client.breaker.state == "half_open"
        assert client.check("hello").decision.action.value == "allow"  # the trial call
        assert client.breaker.state == "closed"
    moves = [r.getMessage() for r in caplog.records if "circuit breaker" in r.getMessage()]
    assert any("closed -> open" in m for m in moves) and any("half_open -> closed" in m for m in moves)
    assert client.metrics()["proctor_client_breaker_opened_total"] == 1
    client.close()


def test_a_failed_trial_opens_the_breaker_again() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=1, recovery_s=10, clock=lambda: now[0])
    breaker.failure()
    assert breaker.state == "open" and not breaker.allow()
    now[0] = 10.0
    assert breaker.allow() and not breaker.allow()  # one trial at a time
    breaker.failure()
    assert breaker.state == "open" and breaker.opened_total == 2


def test_per_call_timeout(remote: tuple[str, Flaky, ListSink]) -> None:
    url, flaky, _ = remote
    flaky.delay_s = 1.0
    client = ProctorClient(url, timeout_s=5)
    started = time.monotonic()
    with pytest.raises(RemoteUnavailable, match="Timeout"):
        client.check("hello", timeout=0.2)
    assert time.monotonic() - started < 0.9

    async def main() -> None:
        with pytest.raises(RemoteUnavailable, match="Timeout"):
            await client.acheck("hello", timeout=0.2)
        await client.aclose()

    asyncio.run(main())


def test_async_check_and_audit(remote: tuple[str, Flaky, ListSink]) -> None:
    url, _, sink = remote

    async def main() -> str:
        client = ProctorClient(url)
        try:
            first = await client.acheck([{"role": "user", "content": "hi"}], Identity(agent="a-bot"), audit=True)
            assert first.context_id
            return await client.aaudit(first.context_id, response="hello", model="m", status="ok")
        finally:
            await client.aclose()

    record_id = asyncio.run(main())
    assert sink.records[-1].record_id == record_id and sink.records[-1].agent == "a-bot"


def test_bad_input_and_settings_are_clear_errors(remote: tuple[str, Flaky, ListSink]) -> None:
    url, _, _ = remote
    client = ProctorClient(url)
    with pytest.raises(ValueError, match=r"HTTP 400.*'input' is required"):
        client.check(42)
    with pytest.raises(ValueError, match="scope must be"):
        client.check("x", scope="both")
    assert client.breaker.state == "closed"  # the server answered: a 400 is not a failure of the server
    client.close()
    with pytest.raises(ConfigError, match="endpoint"):
        ProctorClient("proctor:8080")
    with pytest.raises(ConfigError, match="failure_threshold"):
        ProctorClient(url, failure_threshold=0)
