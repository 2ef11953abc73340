"""The OpenAI-compatible face, called with the real `openai` SDK against a real server on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import openai
import pytest

from proctor.config import Settings
from proctor.governor import Governor
from proctor.providers import ProviderConfig
from proctor.server import create_app
from tests.server.conftest import FakeUpstream, ListSink, running

SECRET = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"


@pytest.fixture(scope="module")
def sink() -> ListSink:
    return ListSink()


@pytest.fixture(scope="module")
def base_url(upstream: tuple[FakeUpstream, str], sink: ListSink,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    _, up_url = upstream
    store = tmp_path_factory.mktemp("store") / "proctor.db"  # approvals and keys; the audit goes to `sink`
    settings = Settings(storage=f"sqlite:///{store}", providers=(
        ProviderConfig(name="echo", kind="echo", models=("echo", "echo-*")),
        ProviderConfig(name="fake", kind="openai", base_url=f"{up_url}/v1", models=("gpt-*",), timeout_s=2.0),
    ))
    gov = Governor.from_settings(settings, audit=sink)
    with running(create_app(settings, gov)) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base_url}/v1", api_key="sk-caller-key", max_retries=0)


def test_echo_allowed_with_headers(client: openai.OpenAI, sink: ListSink) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="echo", messages=[{"role": "user", "content": "What is the capital of France?"}],
        extra_headers={"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})
    resp = raw.parse()
    assert resp.choices[0].message.content == "What is the capital of France?"
    assert raw.headers["x-proctor-trace-id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    decision_id = raw.headers["x-proctor-decision-id"]
    record = sink.records[-1]
    assert record.decision_id == decision_id and record.action == "allow" and record.status == "ok"
    assert record.provider == "echo" and record.tokens_in and record.tokens_out


def test_denied_input_raises_bad_request(client: openai.OpenAI, sink: ListSink, fake: FakeUpstream) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "My SSN is 123-45-6789"}])
    err = info.value
    assert err.code == "policy_denied" and err.type == "policy_violation"
    assert "Request blocked by policy" in err.message and "pii.ssn" in err.message
    assert "123-45-6789" not in err.message
    assert fake.requests == []  # never reached the upstream
    record = sink.records[-1]
    assert record.action == "deny" and record.status == "blocked" and record.finding_counts == {"pii.ssn": 1}


def test_redacted_input_reaches_upstream_redacted(client: openai.OpenAI, fake: FakeUpstream) -> None:
    resp = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Mail jane@example.com please"}],
        extra_body={"custom_field": {"kept": True}})
    assert resp.choices[0].message.content == "Hello from upstream."
    sent = fake.requests[-1]
    assert sent["messages"][0]["content"] == "Mail [EMAIL_1] please"
    assert sent["custom_field"] == {"kept": True}  # unknown fields are forwarded
    assert fake.auth[-1] == "Bearer sk-caller-key"


def test_output_secret_is_blocked_non_streaming(client: openai.OpenAI, fake: FakeUpstream) -> None:
    fake.reply_chunks = ["Here is the token: ", SECRET]
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "give me a token"}])
    assert "Response blocked by policy" in info.value.message
    assert SECRET not in str(info.value.body)


def test_stream_passes_text_and_usage(client: openai.OpenAI, fake: FakeUpstream, sink: ListSink) -> None:
    fake.reply_chunks = ["The ", "quick ", "brown ", "fox."]
    stream = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "tell me"}],
                                            stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "The quick brown fox."
    assert fake.requests[-1]["stream_options"] == {"include_usage": True}
    record = sink.records[-1]
    assert record.status == "ok" and record.tokens_out == 7


def test_stream_secret_split_across_chunks_never_reaches_client(client: openai.OpenAI, fake: FakeUpstream,
                                                                 sink: ListSink) -> None:
    fake.reply_chunks = ["Sure. Your token is ", SECRET[:9], SECRET[9:20], SECRET[20:], " keep it safe."]
    received = ""
    with pytest.raises(openai.APIError) as info:
        for chunk in client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "token please"}], stream=True):
            if chunk.choices:
                received += chunk.choices[0].delta.content or ""
    assert "Response blocked by policy" in str(info.value)
    assert SECRET[:4] not in received or SECRET[:9] not in received
    assert SECRET not in received
    record = sink.records[-1]
    assert record.action == "deny" and record.status == "blocked"
    assert "secret.github_token" in record.finding_counts


def test_stream_output_email_passes_under_default_policies(client: openai.OpenAI, fake: FakeUpstream) -> None:
    fake.reply_chunks = ["Contact ", "jane@", "example.com", " today."]
    stream = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "who?"}],
                                            stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "Contact jane@example.com today."  # builtin:default does not redact email in output


def test_upstream_error_passes_through(client: openai.OpenAI, fake: FakeUpstream, sink: ListSink) -> None:
    fake.status = 429
    fake.error_body = {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded",
                                 "param": None}}
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert info.value.code == "rate_limit_exceeded"
    assert sink.records[-1].status == "error"


def test_upstream_timeout_is_504(client: openai.OpenAI, fake: FakeUpstream) -> None:
    fake.delay_s = 3.0
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert info.value.status_code == 504


def test_models_lists_literal_names(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["echo"]


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"\xff\xfe", 400, "not valid UTF-8"),
        (b"[]", 400, "must be a JSON object"),
        (b"", 400, "empty"),
        (json.dumps({"messages": [{"role": "user", "content": "x"}]}).encode(), 400, "'model' is required"),
        (json.dumps({"model": "echo", "messages": []}).encode(), 400, "'messages' is required"),
        (json.dumps({"model": "echo", "messages": [{"role": "wizard", "content": "x"}]}).encode(), 400,
         "messages[0].role"),
        (json.dumps({"model": "echo", "messages": [{"role": "user", "content": 5}]}).encode(), 400,
         "messages[0].content"),
        (json.dumps({"model": "echo", "stream": "yes", "messages": [{"role": "user", "content": "x"}]}).encode(),
         400, "'stream' must be a boolean"),
        (b"{" + b'"a":"' + b"x" * (5 * 1024 * 1024) + b'"}', 413, "larger than the limit"),
    ],
)
def test_bad_requests_get_openai_errors(base_url: str, body: bytes, status: int, needle: str) -> None:
    r = httpx.post(f"{base_url}/v1/chat/completions", content=body, headers={"content-type": "application/json"})
    assert r.status_code == status
    err = r.json()["error"]
    assert needle in err["message"] and set(err) == {"message", "type", "code", "param"}


def test_unknown_model_and_route(base_url: str) -> None:
    r = httpx.post(f"{base_url}/v1/chat/completions",
                   json={"model": "claude-3", "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"
    r = httpx.get(f"{base_url}/v1/nope")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert httpx.get(f"{base_url}/health").json()["status"] == "healthy"


def test_embeddings_checked_and_redacted(client: openai.OpenAI, sink: ListSink) -> None:
    resp = client.embeddings.create(model="echo", input=["hello world", "mail jane@example.com"])
    assert len(resp.data) == 2 and len(resp.data[0].embedding) == 16
    same = client.embeddings.create(model="echo", input="hello world")
    assert same.data[0].embedding == resp.data[0].embedding
    redacted = client.embeddings.create(model="echo", input="mail [EMAIL_1]")
    assert redacted.data[0].embedding == resp.data[1].embedding  # the provider saw the placeholder
    with pytest.raises(openai.BadRequestError) as info:
        client.embeddings.create(model="echo", input="SSN 123-45-6789")
    assert info.value.code == "policy_denied"
    assert sink.records[-1].status == "blocked"


def test_embeddings_token_arrays_refused(base_url: str) -> None:
    r = httpx.post(f"{base_url}/v1/embeddings", json={"model": "echo", "input": [[1, 2, 3]]})
    assert r.status_code == 400 and "token-id arrays" in r.json()["error"]["message"]
