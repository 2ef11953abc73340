"""The anthropic provider against a fake Anthropic Messages API on loopback, and end to end through Proctor."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from proctor.config import Settings
from proctor.errors import ProviderError, ProviderTimeout
from proctor.governor import Governor
from proctor.providers import ProviderConfig
from proctor.providers.anthropic import AnthropicProvider
from proctor.server import create_app
from tests.server.conftest import ListSink, free_port, running

MODEL = "claude-test-1"  # a name no SDK lists as deprecated, so none warns
USER = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
Event = tuple[str, dict[str, Any]]


def text_message(text: str, *, stop_reason: str = "end_turn", usage: dict[str, int] | None = None) -> dict[str, Any]:
    return {"id": "msg_01abc", "type": "message", "role": "assistant", "model": MODEL,
            "content": [{"type": "text", "text": text}], "stop_reason": stop_reason, "stop_sequence": None,
            "usage": usage or {"input_tokens": 12, "output_tokens": 5}}


def text_events(pieces: list[str], *, input_tokens: int = 12, output_tokens: int = 5) -> list[Event]:
    """A stream the way Anthropic sends one: start, a ping, one text block in pieces, the stop reason, the end."""
    events: list[Event] = [
        ("message_start", {"type": "message_start", "message": {
            "id": "msg_01stream", "type": "message", "role": "assistant", "model": MODEL, "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": input_tokens, "output_tokens": 1}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        ("ping", {"type": "ping"}),
    ]
    events += [("content_block_delta", {"type": "content_block_delta", "index": 0,
                                        "delta": {"type": "text_delta", "text": p}}) for p in pieces]
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                           "usage": {"output_tokens": output_tokens}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return events


class FakeAnthropic:
    """Anthropic's ``POST /v1/messages``: answers what the test set, and remembers each request and its headers."""

    def __init__(self) -> None:
        self.reply: dict[str, Any] = text_message("Hello from Claude.")
        self.events: list[Event] = text_events(["Hello ", "from ", "Claude."])
        self.status = 200
        self.error_body: dict[str, Any] = {"type": "error", "error": {"type": "api_error", "message": "boom"}}
        self.delay_s = 0.0
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []

    async def messages(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.status != 200:
            return JSONResponse(self.error_body, status_code=self.status)
        if not body.get("stream"):
            return JSONResponse(self.reply)

        async def sse() -> Any:
            for name, data in self.events:
                yield f"event: {name}\ndata: {json.dumps(data)}\n\n"

        return StreamingResponse(sse(), media_type="text/event-stream")

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/messages", self.messages, methods=["POST"])])


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[FakeAnthropic, str]]:
    fake = FakeAnthropic()
    with running(fake.app()) as url:
        yield fake, url


@pytest.fixture
def fake(upstream: tuple[FakeAnthropic, str]) -> FakeAnthropic:
    fake, _ = upstream
    fake.__init__()  # type: ignore[misc]
    return fake


@pytest.fixture
def up_url(upstream: tuple[FakeAnthropic, str]) -> str:
    return upstream[1]


def call(base_url: str, method: str, body: dict[str, Any], api_key: str | None = "sk-ant-caller",
         **config: Any) -> Any:
    """Build a provider, make one call (a stream is collected into a list), close the provider."""
    async def main() -> Any:
        provider = AnthropicProvider(ProviderConfig(name="claude", kind="anthropic", base_url=base_url, **config))
        try:
            if method == "stream":
                return [chunk async for chunk in provider.stream(body, api_key)]
            return await getattr(provider, method)(body, api_key)
        finally:
            await provider.aclose()
    return asyncio.run(main())


# -- requests: OpenAI in, Anthropic out -----------------------------------------------------------------------
def test_request_is_translated_to_messages(fake: FakeAnthropic, up_url: str) -> None:
    image = "data:image/png;base64,iVBORw0KGgo="
    call(up_url, "chat", {
        "model": MODEL, "max_completion_tokens": 300, "temperature": 0.2, "top_p": 0.9, "stop": "END", "user": "u-7",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
            {"role": "user", "content": [{"type": "text", "text": "What is in this picture?"},
                                         {"type": "image_url", "image_url": {"url": image}},
                                         {"type": "image_url", "image_url": {"url": "https://example.com/a.jpg"}}]},
            {"role": "assistant", "content": "Let me look it up.", "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "cat"}'}},
                {"id": "call_2", "type": "function", "function": {"name": "lookup", "arguments": ""}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "a cat"},
            {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "no result"}]},
            {"role": "user", "content": "Thanks."},
        ],
        "tools": [{"type": "function", "function": {"name": "lookup", "description": "Search the web",
                                                    "parameters": {"type": "object", "properties": {
                                                        "q": {"type": "string"}}}}}],
        "tool_choice": "required",
    })
    assert fake.requests[-1] == {
        "model": MODEL, "max_tokens": 300, "temperature": 0.2, "top_p": 0.9, "stop_sequences": ["END"],
        "metadata": {"user_id": "u-7"}, "system": "Be brief.\n\nAnswer in French.",
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "What is in this picture?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
                {"type": "image", "source": {"type": "url", "url": "https://example.com/a.jpg"}}]},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Let me look it up."},
                {"type": "tool_use", "id": "call_1", "name": "lookup", "input": {"q": "cat"}},
                {"type": "tool_use", "id": "call_2", "name": "lookup", "input": {}}]},
            # both tool results and the next user text share one user turn, results first
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "a cat"},
                {"type": "tool_result", "tool_use_id": "call_2", "content": "no result"},
                {"type": "text", "text": "Thanks."}]},
        ],
        "tools": [{"name": "lookup", "description": "Search the web",
                   "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}}],
        "tool_choice": {"type": "any"},
    }
    headers = fake.headers[-1]
    assert headers["anthropic-version"] == "2023-06-01" and headers["x-api-key"] == "sk-ant-caller"
    assert "authorization" not in headers


def test_request_defaults_and_named_tool_choice(fake: FakeAnthropic, up_url: str) -> None:
    call(up_url, "chat", {**USER, "stop": ["a", "b"], "parallel_tool_calls": False,
                          "tools": [{"type": "function", "function": {"name": "now"}}],
                          "tool_choice": {"type": "function", "function": {"name": "now"}}})
    sent = fake.requests[-1]
    assert sent["max_tokens"] == 4096  # Anthropic requires it; OpenAI callers may leave it out
    assert "system" not in sent and "metadata" not in sent and "stream" not in sent
    assert sent["stop_sequences"] == ["a", "b"]
    assert sent["tools"] == [{"name": "now", "input_schema": {"type": "object", "properties": {}}}]
    assert sent["tool_choice"] == {"type": "tool", "name": "now", "disable_parallel_tool_use": True}
    call(up_url, "chat", {**USER, "max_tokens": 64})
    assert fake.requests[-1]["max_tokens"] == 64


@pytest.mark.parametrize(("body", "param"), [
    ({"model": MODEL, "messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]},
     "messages[0].content[0]"),
    ({"model": MODEL, "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "file:///etc/passwd"}}]}]}, "messages[0].content[0].image_url"),
    ({"model": MODEL, "messages": [{"role": "assistant", "tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "f", "arguments": "[1]"}}]}]},
     "messages[0].tool_calls[0].function.arguments"),
    ({**USER, "n": 2}, "n"),
])
def test_request_anthropic_cannot_take_is_a_400_before_the_upstream(fake: FakeAnthropic, up_url: str,
                                                                    body: dict[str, Any], param: str) -> None:
    with pytest.raises(ProviderError) as info:
        call(up_url, "chat", body)
    assert info.value.status == 400 and info.value.body is not None
    assert info.value.body["error"]["param"] == param  # type: ignore[index]
    assert info.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
    assert fake.requests == []


# -- answers: Anthropic in, OpenAI out ------------------------------------------------------------------------
def test_message_is_translated_to_a_chat_completion(fake: FakeAnthropic, up_url: str) -> None:
    fake.reply = {**text_message("Checking."), "stop_reason": "tool_use",
                  "content": [{"type": "text", "text": "Checking."},
                              {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "café"}}],
                  "usage": {"input_tokens": 10, "output_tokens": 20, "cache_creation_input_tokens": 3,
                            "cache_read_input_tokens": 100}}
    out = call(up_url, "chat", USER)
    assert out["id"] == "chatcmpl-01abc" and out["object"] == "chat.completion" and out["model"] == MODEL
    choice = out["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] == "Checking."
    call_ = choice["message"]["tool_calls"][0]
    assert call_["id"] == "toolu_1" and call_["type"] == "function" and call_["function"]["name"] == "lookup"
    assert json.loads(call_["function"]["arguments"]) == {"q": "café"}
    # OpenAI's prompt_tokens counts cached tokens, which Anthropic's input_tokens leaves out
    assert out["usage"] == {"prompt_tokens": 113, "completion_tokens": 20, "total_tokens": 133,
                            "prompt_tokens_details": {"cached_tokens": 100}}


@pytest.mark.parametrize(("stop_reason", "finish_reason"), [
    ("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"), ("tool_use", "tool_calls"),
    ("refusal", "content_filter"),
])
def test_stop_reasons_map_to_finish_reasons(fake: FakeAnthropic, up_url: str, stop_reason: str,
                                            finish_reason: str) -> None:
    fake.reply = text_message("x", stop_reason=stop_reason)
    assert call(up_url, "chat", USER)["choices"][0]["finish_reason"] == finish_reason


def test_tool_only_answer_has_null_content(fake: FakeAnthropic, up_url: str) -> None:
    fake.reply = {**text_message(""), "stop_reason": "tool_use",
                  "content": [{"type": "tool_use", "id": "toolu_2", "name": "now", "input": {}}]}
    message = call(up_url, "chat", USER)["choices"][0]["message"]
    assert message["content"] is None and message["tool_calls"][0]["function"]["arguments"] == "{}"


# -- streams --------------------------------------------------------------------------------------------------
def test_text_stream_becomes_chunks_with_a_usage_chunk(fake: FakeAnthropic, up_url: str) -> None:
    fake.events = text_events(["Once ", "upon ", "a time."], input_tokens=9, output_tokens=4)
    chunks = call(up_url, "stream", {**USER, "stream": True, "stream_options": {"include_usage": True}})
    assert fake.requests[-1]["stream"] is True
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == "chatcmpl-01stream" for c in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "Once upon a time."
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13,
                                   "prompt_tokens_details": {"cached_tokens": 0}}
    without = call(up_url, "stream", {**USER, "stream": True})
    assert not any("usage" in c for c in without)


def test_tool_use_stream_becomes_tool_call_deltas(fake: FakeAnthropic, up_url: str) -> None:
    start = text_events([])[0]
    fake.events = [
        start,
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "text_delta", "text": "Let me check."}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("content_block_start", {"type": "content_block_start", "index": 1, "content_block": {
            "type": "tool_use", "id": "toolu_9", "name": "weather", "input": {}}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 1,
                                 "delta": {"type": "input_json_delta", "partial_json": '{"city": '}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 1,
                                 "delta": {"type": "input_json_delta", "partial_json": '"Paris"}'}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 1}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use"},
                           "usage": {"output_tokens": 30}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    chunks = call(up_url, "stream", {**USER, "stream": True, "stream_options": {"include_usage": True}})
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    calls = [d["tool_calls"][0] for d in deltas if "tool_calls" in d]
    assert calls[0] == {"index": 0, "id": "toolu_9", "type": "function",
                        "function": {"name": "weather", "arguments": ""}}
    assert all(c["index"] == 0 for c in calls)
    assert json.loads("".join(c["function"]["arguments"] for c in calls)) == {"city": "Paris"}
    assert "".join(d.get("content", "") for d in deltas) == "Let me check."
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["usage"]["completion_tokens"] == 30 and chunks[-1]["usage"]["prompt_tokens"] == 12


def test_error_event_mid_stream_raises_in_openai_shape(fake: FakeAnthropic, up_url: str) -> None:
    overloaded = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    fake.events = [*text_events(["partial "])[:4], ("error", overloaded)]
    got: list[dict[str, Any]] = []

    async def main() -> None:
        provider = AnthropicProvider(ProviderConfig(name="claude", kind="anthropic", base_url=up_url))
        try:
            async for chunk in provider.stream({**USER, "stream": True}, None):
                got.append(chunk)
        finally:
            await provider.aclose()

    with pytest.raises(ProviderError) as info:
        asyncio.run(main())
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in got) == "partial "
    assert info.value.status == 529 and info.value.retryable
    assert info.value.body == {"error": {"message": "Overloaded", "type": "overloaded_error",
                                         "code": "overloaded_error", "param": None}}


def test_stream_cut_short_is_an_error(fake: FakeAnthropic, up_url: str) -> None:
    fake.events = text_events(["half"])[:4]  # no message_delta, no message_stop
    with pytest.raises(ProviderError) as info:
        call(up_url, "stream", {**USER, "stream": True})
    assert info.value.status == 502


# -- errors ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["chat", "stream"])
def test_invalid_request_keeps_status_in_openai_shape(fake: FakeAnthropic, up_url: str, method: str) -> None:
    fake.status = 400
    fake.error_body = {"type": "error", "error": {"type": "invalid_request_error",
                                                  "message": "max_tokens: must be at most 8192"}}
    with pytest.raises(ProviderError) as info:
        call(up_url, method, {**USER, "stream": method == "stream"})
    assert info.value.status == 400 and not info.value.retryable
    assert info.value.body == {"error": {"message": "max_tokens: must be at most 8192",
                                         "type": "invalid_request_error", "code": "invalid_request_error",
                                         "param": None}}


def test_overloaded_is_retryable(fake: FakeAnthropic, up_url: str) -> None:
    fake.status = 529
    fake.error_body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    with pytest.raises(ProviderError) as info:
        call(up_url, "chat", USER)
    assert info.value.status == 529 and info.value.retryable
    assert info.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]


def test_error_body_that_is_not_anthropics_still_gets_openai_shape(fake: FakeAnthropic, up_url: str) -> None:
    fake.status = 503
    fake.error_body = {"detail": "upstream proxy down"}
    with pytest.raises(ProviderError) as info:
        call(up_url, "chat", USER)
    assert info.value.status == 503 and info.value.retryable
    assert info.value.body["error"]["message"] == "upstream returned HTTP 503"  # type: ignore[index]


def test_timeout_raises_provider_timeout(fake: FakeAnthropic, up_url: str) -> None:
    fake.delay_s = 1.0
    with pytest.raises(ProviderTimeout):
        call(up_url, "chat", USER, timeout_s=0.2)


@pytest.mark.parametrize("method", ["chat", "stream"])
def test_connection_refused_is_a_bad_gateway(method: str) -> None:
    with pytest.raises(ProviderError) as info:
        call(f"http://127.0.0.1:{free_port()}", method, {**USER, "stream": method == "stream"})
    assert info.value.status == 502 and not isinstance(info.value, ProviderTimeout)


def test_embeddings_are_a_400_without_calling_upstream(fake: FakeAnthropic, up_url: str) -> None:
    with pytest.raises(ProviderError) as info:
        call(up_url, "embeddings", {"model": MODEL, "input": "hello"})
    assert info.value.status == 400
    assert info.value.body["error"]["code"] == "embeddings_unsupported"  # type: ignore[index]
    assert "no embeddings API" in info.value.body["error"]["message"]  # type: ignore[index]
    assert fake.requests == []


# -- keys -----------------------------------------------------------------------------------------------------
def test_caller_key_wins_and_server_key_fills_in(fake: FakeAnthropic, up_url: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_ANTHROPIC_KEY", "sk-ant-server")
    # A base URL written OpenAI-style, with /v1, reaches the same /v1/messages.
    call(f"{up_url}/v1", "chat", USER, api_key="sk-ant-caller", api_key_env="TEST_ANTHROPIC_KEY")
    call(up_url, "chat", USER, api_key=None, api_key_env="TEST_ANTHROPIC_KEY")
    call(up_url, "chat", USER, api_key=None)
    assert [h.get("x-api-key") for h in fake.headers] == ["sk-ant-caller", "sk-ant-server", None]


# -- end to end: the real SDKs against Proctor, routed to the fake Anthropic ----------------------------------
@pytest.fixture(scope="module")
def sink() -> ListSink:
    return ListSink()


@pytest.fixture(scope="module")
def proctor_url(upstream: tuple[FakeAnthropic, str], sink: ListSink,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    store = tmp_path_factory.mktemp("store") / "proctor.db"
    settings = Settings(storage=f"sqlite:///{store}", providers=(
        ProviderConfig(name="claude", kind="anthropic", base_url=upstream[1], models=("claude-*",), timeout_s=5.0),))
    gov = Governor.from_settings(settings, audit=sink)
    with running(create_app(settings, gov)) as url:
        yield url


@pytest.fixture
def gpt(proctor_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{proctor_url}/v1", api_key="sk-ant-caller", max_retries=0)


@pytest.fixture
def claude(proctor_url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=proctor_url, api_key="sk-ant-caller", max_retries=0)


def test_openai_sdk_through_proctor(gpt: openai.OpenAI, fake: FakeAnthropic, sink: ListSink) -> None:
    resp = gpt.chat.completions.create(model=MODEL, messages=[{"role": "system", "content": "Be brief."},
                                                              {"role": "user", "content": "Say hello"}])
    assert resp.choices[0].message.content == "Hello from Claude." and resp.choices[0].finish_reason == "stop"
    assert resp.usage is not None and (resp.usage.prompt_tokens, resp.usage.completion_tokens) == (12, 5)
    assert fake.requests[-1]["system"] == "Be brief."
    assert fake.headers[-1]["x-api-key"] == "sk-ant-caller"
    record = sink.records[-1]
    assert record.provider == "claude" and record.status == "ok" and (record.tokens_in, record.tokens_out) == (12, 5)


def test_openai_sdk_tool_call_through_proctor(gpt: openai.OpenAI, fake: FakeAnthropic) -> None:
    fake.reply = {**text_message(""), "stop_reason": "tool_use",
                  "content": [{"type": "tool_use", "id": "toolu_3", "name": "weather", "input": {"city": "Oslo"}}]}
    resp = gpt.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Weather in Oslo?"}],
                                       tools=[{"type": "function", "function": {"name": "weather", "parameters": {
                                           "type": "object", "properties": {"city": {"type": "string"}}}}}])
    choice = resp.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.tool_calls is not None
    fn = choice.message.tool_calls[0].function  # type: ignore[union-attr]
    assert fn.name == "weather" and json.loads(fn.arguments) == {"city": "Oslo"}


def test_openai_sdk_stream_through_proctor(gpt: openai.OpenAI, fake: FakeAnthropic) -> None:
    fake.events = text_events(["Once ", "upon ", "a time."], output_tokens=6)
    stream = gpt.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "story"}],
                                         stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Once upon a time."
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 6


def test_upstream_error_reaches_openai_sdk_in_its_shape(gpt: openai.OpenAI, fake: FakeAnthropic) -> None:
    fake.status = 529
    fake.error_body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    with pytest.raises(openai.InternalServerError) as info:
        gpt.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert info.value.status_code == 529 and info.value.code == "overloaded_error"
    assert info.value.body == {"message": "Overloaded", "type": "overloaded_error", "code": "overloaded_error",
                               "param": None}


def test_anthropic_sdk_through_proctor(claude: anthropic.Anthropic, fake: FakeAnthropic) -> None:
    msg = claude.messages.create(model=MODEL, max_tokens=128, system="Be brief.",
                                 messages=[{"role": "user", "content": "Say hello"}])
    assert msg.content[0].text == "Hello from Claude."  # type: ignore[union-attr]
    assert msg.id == "msg_01abc" and msg.stop_reason == "end_turn"
    assert (msg.usage.input_tokens, msg.usage.output_tokens) == (12, 5)
    sent = fake.requests[-1]
    assert sent["system"] == "Be brief." and sent["max_tokens"] == 128
    assert fake.headers[-1]["x-api-key"] == "sk-ant-caller"

    fake.events = text_events(["Streamed ", "hello."], output_tokens=3)
    with claude.messages.stream(model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "again"}]) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text == "Streamed hello." and final.stop_reason == "end_turn" and final.usage.output_tokens == 3


def test_policy_denial_blocks_before_the_upstream(gpt: openai.OpenAI, claude: anthropic.Anthropic,
                                                  fake: FakeAnthropic, sink: ListSink) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        gpt.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "My SSN is 123-45-6789"}])
    assert info.value.code == "policy_denied"
    with pytest.raises(anthropic.BadRequestError):
        claude.messages.create(model=MODEL, max_tokens=64,
                               messages=[{"role": "user", "content": "My SSN is 123-45-6789"}])
    assert fake.requests == []
    assert sink.records[-1].action == "deny" and sink.records[-1].provider is None
