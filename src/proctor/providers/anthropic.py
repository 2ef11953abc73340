"""The ``anthropic`` provider: Anthropic's Messages API, translated to and from OpenAI's chat shape.

The Governor speaks OpenAI's chat-completions shape, so this provider turns each request into a Messages
request (``POST {base_url}/v1/messages``) and each answer, or each stream event, back into a chat.completion
(chunk). The reverse translation, for Proctor's own ``/v1/messages`` route, is ``server/anthropic_shape.py``;
the two stay separate because a stage never imports a face (STYLE: dependencies point one way).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

from proctor.errors import ProviderError, ProviderTimeout
from proctor.providers import ProviderConfig
from proctor.providers.http11 import open_upstream

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
# Anthropic requires max_tokens; OpenAI callers often leave it out. Every current Claude model allows 4096.
DEFAULT_MAX_TOKENS = 4096

_FINISH_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "pause_turn": "stop", "max_tokens": "length",
                   "model_context_window_exceeded": "length", "tool_use": "tool_calls", "refusal": "content_filter"}
# Statuses for the error types Anthropic sends inside a stream, where there is no HTTP status to read.
_ERROR_STATUS = {"invalid_request_error": 400, "authentication_error": 401, "permission_error": 403,
                 "not_found_error": 404, "request_too_large": 413, "rate_limit_error": 429, "api_error": 500,
                 "timeout_error": 504, "overloaded_error": 529}
_RETRYABLE = (429, 500, 502, 503, 504, 529)
_DATA_URL = re.compile(r"data:([\w.+-]+/[\w.+-]+);base64,(.*)", re.DOTALL)


def _openai_error(message: str, type_: str, code: str | None = None, param: str | None = None) -> dict[str, object]:
    return {"error": {"message": message, "type": type_, "code": code, "param": param}}


class _BadRequest(ValueError):
    """The OpenAI request cannot be said in Anthropic's shape; ``param`` names the field."""

    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.param = param


# -- OpenAI request -> Anthropic request -----------------------------------------------------------------
def to_messages_request(body: Mapping[str, Any], *, stream: bool) -> dict[str, Any]:
    """An Anthropic Messages body for an OpenAI chat-completions body (raises ``_BadRequest``)."""
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise _BadRequest("messages must be a list of chat messages.", "messages")
    for i, msg in enumerate(messages):
        where = f"messages[{i}]"
        role = msg.get("role") if isinstance(msg, Mapping) else None
        if role in ("system", "developer"):
            system.append(_plain_text(msg.get("content"), f"{where}.content"))
            continue
        if role == "user":
            blocks = _content_blocks(msg.get("content"), f"{where}.content")
        elif role == "assistant":
            blocks = _assistant_blocks(msg, where)
        elif role == "tool":
            role = "user"  # Anthropic carries tool results in the user turn that follows the tool_use
            blocks = [{"type": "tool_result", "tool_use_id": msg.get("tool_call_id"),
                       "content": _plain_text(msg.get("content"), f"{where}.content")}]
        else:
            raise _BadRequest(f"{where}.role must be one of system, developer, user, assistant, tool; "
                              f"found {role!r}.", f"{where}.role")
        if not blocks:
            continue
        # Anthropic wants user and assistant turns to alternate, with tool results first in their turn:
        # merging neighbours of one role keeps both true (tool messages come right after the tool calls).
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens") or DEFAULT_MAX_TOKENS
    request: dict[str, Any] = {"model": body.get("model"), "messages": turns, "max_tokens": max_tokens}
    if system:
        request["system"] = "\n\n".join(system)
    for key in ("temperature", "top_p"):
        if body.get(key) is not None:
            request[key] = body[key]
    stop = body.get("stop")
    if stop:
        request["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    if isinstance(body.get("user"), str):
        request["metadata"] = {"user_id": body["user"]}
    if body.get("n") not in (None, 1):
        raise _BadRequest("n: Anthropic returns one choice per request; send n=1 or leave it out.", "n")
    if body.get("tools"):
        request["tools"] = [_tool(t, f"tools[{j}]") for j, t in enumerate(body["tools"])]
        choice = _tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
        if choice is not None:
            request["tool_choice"] = choice
    if stream:
        request["stream"] = True
    return request


def _plain_text(content: Any, where: str) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [p.get("text") for p in content if isinstance(p, Mapping) and p.get("type") == "text"]
        if len(texts) == len(content) and all(isinstance(t, str) for t in texts):
            return "\n".join(str(t) for t in texts)
    raise _BadRequest(f"{where} must be a string or a list of text parts.", where)


def _content_blocks(content: Any, where: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if content is None:
        return []
    if not isinstance(content, list):
        raise _BadRequest(f"{where} must be a string or a list of content parts.", where)
    blocks: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, Mapping) else None
        if kind == "text" and isinstance(part.get("text"), str):
            if part["text"]:  # Anthropic rejects empty text blocks
                blocks.append({"type": "text", "text": part["text"]})
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, Mapping) else image
            blocks.append({"type": "image", "source": _image_source(url, f"{where}[{j}].image_url")})
        else:
            raise _BadRequest(f"{where}[{j}]: content part type {kind!r} has no Anthropic equivalent here; "
                              "use text or image_url.", f"{where}[{j}]")
    return blocks


def _image_source(url: Any, where: str) -> dict[str, str]:
    if not isinstance(url, str):
        raise _BadRequest(f"{where}.url must be a string.", where)
    found = _DATA_URL.fullmatch(url)
    if found:
        return {"type": "base64", "media_type": found.group(1), "data": found.group(2)}
    if url.startswith(("https://", "http://")):
        return {"type": "url", "url": url}
    raise _BadRequest(f"{where}.url must be a base64 data URL (data:image/png;base64,...) or an http(s) URL.", where)


def _assistant_blocks(msg: Mapping[str, Any], where: str) -> list[dict[str, Any]]:
    blocks = _content_blocks(msg.get("content"), f"{where}.content")
    for j, call in enumerate(msg.get("tool_calls") or []):
        fn = call.get("function") if isinstance(call, Mapping) else None
        if not isinstance(fn, Mapping):
            raise _BadRequest(f"{where}.tool_calls[{j}] must be a function call.", f"{where}.tool_calls[{j}]")
        try:
            args = json.loads(fn.get("arguments") or "{}")
        except ValueError:
            args = None
        if not isinstance(args, dict):  # tool_use.input must be an object
            raise _BadRequest(f"{where}.tool_calls[{j}].function.arguments must be a JSON object.",
                              f"{where}.tool_calls[{j}].function.arguments")
        blocks.append({"type": "tool_use", "id": call.get("id"), "name": fn.get("name"), "input": args})
    return blocks


def _tool(tool: Any, where: str) -> dict[str, Any]:
    fn = tool.get("function") if isinstance(tool, Mapping) and tool.get("type") == "function" else None
    if not isinstance(fn, Mapping):
        raise _BadRequest(f"{where} must be a function tool {{\"type\": \"function\", \"function\": ...}}.", where)
    out: dict[str, Any] = {"name": fn.get("name"),
                           "input_schema": fn.get("parameters") or {"type": "object", "properties": {}}}
    if fn.get("description"):
        out["description"] = fn["description"]
    return out


def _tool_choice(choice: Any, parallel: Any) -> dict[str, Any] | None:
    out: dict[str, Any] | None
    if choice is None:
        out = None
    elif choice in ("auto", "none"):
        out = {"type": choice}
    elif choice == "required":
        out = {"type": "any"}
    elif isinstance(choice, Mapping) and isinstance(choice.get("function"), Mapping):
        out = {"type": "tool", "name": choice["function"].get("name")}
    else:
        raise _BadRequest("tool_choice must be auto, none, required or {\"type\": \"function\", ...}.", "tool_choice")
    if parallel is False and (out is None or out["type"] != "none"):
        out = {**(out or {"type": "auto"}), "disable_parallel_tool_use": True}
    return out


# -- Anthropic answer -> OpenAI answer -------------------------------------------------------------------
def _chat_id(message_id: Any) -> str:
    # The inverse of /v1/messages' "msg_" + id, so an id survives the round trip through both shapes.
    return "chatcmpl-" + str(message_id or "").removeprefix("msg_")


def _usage(usage: Mapping[str, Any]) -> dict[str, Any]:
    # Anthropic's input_tokens leaves out cached tokens; OpenAI's prompt_tokens counts them (and says how many).
    cached = usage.get("cache_read_input_tokens") or 0
    prompt = (usage.get("input_tokens") or 0) + (usage.get("cache_creation_input_tokens") or 0) + cached
    completion = usage.get("output_tokens") or 0
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached}}


def from_messages_response(message: Mapping[str, Any]) -> dict[str, Any]:
    """An OpenAI chat.completion for an Anthropic Message."""
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in message.get("content") or []:
        if not isinstance(block, Mapping):
            continue
        if block.get("type") == "text":
            texts.append(str(block.get("text") or ""))
        elif block.get("type") == "tool_use":
            calls.append({"id": block.get("id"), "type": "function", "function": {
                "name": block.get("name"), "arguments": json.dumps(block.get("input") or {}, ensure_ascii=False)}})
    out: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts or not calls else None}
    if calls:
        out["tool_calls"] = calls
    return {
        "id": _chat_id(message.get("id")),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": message.get("model"),
        "choices": [{"index": 0, "message": out, "logprobs": None,
                     "finish_reason": _FINISH_REASONS.get(str(message.get("stop_reason")), "stop")}],
        "usage": _usage(message.get("usage") or {}),
    }


class _StreamState:
    """Turns Anthropic stream events into chat.completion.chunk bodies, one event at a time."""

    def __init__(self, model: Any, include_usage: bool) -> None:
        self.base: dict[str, Any] = {"id": "chatcmpl-", "object": "chat.completion.chunk",
                                     "created": int(time.time()), "model": model}
        self.include_usage = include_usage
        self.usage: dict[str, Any] = {}
        self.tool_index: dict[int, int] = {}  # content block index -> OpenAI tool_calls index
        self.stopped = False

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {**self.base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason,
                                          "logprobs": None}]}

    def feed(self, event: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        kind = event.get("type")
        if kind == "message_start":
            message = event.get("message") or {}
            self.base["id"] = _chat_id(message.get("id"))
            self.base["model"] = message.get("model") or self.base["model"]
            self.usage.update(message.get("usage") or {})
            yield self._chunk({"role": "assistant", "content": ""})
        elif kind == "content_block_start":
            block = event.get("content_block") or {}
            if block.get("type") == "tool_use":
                index = self.tool_index[int(event.get("index", 0))] = len(self.tool_index)
                yield self._chunk({"tool_calls": [{"index": index, "id": block.get("id"), "type": "function",
                                                   "function": {"name": block.get("name"), "arguments": ""}}]})
            elif block.get("type") == "text" and block.get("text"):
                yield self._chunk({"content": block["text"]})
        elif kind == "content_block_delta":
            delta = event.get("delta") or {}
            if delta.get("type") == "text_delta":
                yield self._chunk({"content": delta.get("text", "")})
            elif delta.get("type") == "input_json_delta" and int(event.get("index", 0)) in self.tool_index:
                index = self.tool_index[int(event.get("index", 0))]
                yield self._chunk({"tool_calls": [{"index": index,
                                                   "function": {"arguments": delta.get("partial_json", "")}}]})
            # thinking and signature deltas have no place in a chat.completion.chunk
        elif kind == "message_delta":
            # message_delta's usage is cumulative, so it replaces what message_start said.
            self.usage.update({k: v for k, v in (event.get("usage") or {}).items() if v is not None})
            reason = (event.get("delta") or {}).get("stop_reason")
            if reason:
                yield self._chunk({}, _FINISH_REASONS.get(str(reason), "stop"))
        elif kind == "message_stop":
            self.stopped = True
            if self.include_usage:
                yield {**self.base, "choices": [], "usage": _usage(self.usage)}


# -- the provider ------------------------------------------------------------------------------------------
class AnthropicProvider:
    """Calls Anthropic's Messages API in OpenAI's shape; the caller's key wins over the server's ``api_key_env``.

    Chat and streaming are translated both ways; Anthropic has no embeddings API, so ``embeddings`` answers
    HTTP 400 in OpenAI's error shape. Upstream errors keep their status and carry OpenAI's error shape.
    """

    def __init__(self, config: ProviderConfig) -> None:
        self.name = config.name
        # Anthropic's SDK takes the base URL without /v1; accept it with /v1 as well, as OpenAI users write it.
        self.base_url = (config.base_url or DEFAULT_BASE_URL).rstrip("/").removesuffix("/v1")
        # Read once at start-up (STYLE: environment is read once); the value is never logged.
        self._server_key = os.environ.get(config.api_key_env) if config.api_key_env else None
        self._upstream = open_upstream(self.name, self.base_url, config.timeout_s)

    def _headers(self, api_key: str | None) -> dict[str, str]:
        headers = {"content-type": "application/json", "anthropic-version": API_VERSION}
        key = api_key or self._server_key
        if key:
            headers["x-api-key"] = key
        return headers

    def _request(self, body: Mapping[str, Any], stream: bool) -> bytes:
        try:
            request = to_messages_request(body, stream=stream)
        except _BadRequest as exc:
            raise ProviderError(self.name, str(exc), status=400, body=_openai_error(
                str(exc), "invalid_request_error", "unsupported_for_anthropic", exc.param)) from exc
        return json.dumps(request, ensure_ascii=False).encode()

    def _error(self, status: int, raw: bytes) -> ProviderError:
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        error = data.get("error") if isinstance(data, dict) else None
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            kind = str(error.get("type") or "api_error")
            body = _openai_error(error["message"], kind, kind)
        else:
            body = _openai_error(f"upstream returned HTTP {status}", "upstream_error", "upstream_error")
        return ProviderError(self.name, f"upstream returned HTTP {status}", status=status,
                             retryable=status in _RETRYABLE, body=body)

    def _unreachable(self, exc: ProviderError) -> ProviderError:
        """A failure with no HTTP answer (refused, reset) is a bad gateway to the caller."""
        if isinstance(exc, ProviderTimeout) or exc.status is not None:
            return exc
        return ProviderError(self.name, f"cannot reach {self.base_url}", status=502, retryable=exc.retryable)

    async def chat(self, body: Mapping[str, Any], api_key: str | None) -> dict[str, Any]:
        payload = self._request(body, stream=False)
        try:
            status, raw = await self._upstream.post("/v1/messages", payload, self._headers(api_key))
        except ProviderError as exc:
            raise self._unreachable(exc) from exc
        if status >= 400:
            raise self._error(status, raw)
        try:
            message = json.loads(raw)
        except ValueError as exc:
            raise ProviderError(self.name, "upstream answered with a body that is not JSON", status=502) from exc
        if not isinstance(message, dict) or message.get("type") != "message":
            raise ProviderError(self.name, "upstream answered with JSON that is not a Message", status=502)
        return from_messages_response(message)

    async def stream(self, body: Mapping[str, Any], api_key: str | None) -> AsyncIterator[dict[str, Any]]:
        payload = self._request(body, stream=True)
        options = body.get("stream_options")
        state = _StreamState(body.get("model"), isinstance(options, Mapping) and bool(options.get("include_usage")))
        try:
            response = await self._upstream.post_stream("/v1/messages", payload, self._headers(api_key))
        except ProviderError as exc:
            raise self._unreachable(exc) from exc
        try:
            if response.status >= 400:
                raise self._error(response.status, await response.aread())
            async for event in self._events(response.lines()):
                if state.stopped:
                    continue  # read to the end, so the connection goes back to the pool
                if event.get("type") == "error":
                    error = event.get("error") or {}
                    kind = str(error.get("type") or "api_error")
                    status = _ERROR_STATUS.get(kind, 500)
                    raise ProviderError(self.name, f"upstream stream failed: {kind}", status=status,
                                        retryable=status in _RETRYABLE,
                                        body=_openai_error(str(error.get("message") or kind), kind, kind))
                for chunk in state.feed(event):
                    yield chunk
            if not state.stopped:  # a stream cut short must not read as a complete answer
                raise ProviderError(self.name, "upstream stream ended before message_stop", status=502,
                                    retryable=True)
        finally:
            await response.aclose()

    async def _events(self, lines: AsyncIterator[str]) -> AsyncIterator[dict[str, Any]]:
        """Server-sent events' data, decoded; the ``type`` field inside names the event, so ``event:`` is unread."""
        data: list[str] = []
        while True:
            try:
                line = await anext(lines)
            except StopAsyncIteration:
                break
            except ProviderError as exc:  # the connection failed mid-stream
                raise self._unreachable(exc) from exc
            if line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
            elif not line and data:
                yield self._decode("\n".join(data))
                data = []
        if data:
            yield self._decode("\n".join(data))

    def _decode(self, data: str) -> dict[str, Any]:
        try:
            event = json.loads(data)
        except ValueError as exc:
            raise ProviderError(self.name, "upstream sent a stream event that is not JSON", status=502) from exc
        return event if isinstance(event, dict) else {}

    async def embeddings(self, body: Mapping[str, Any], api_key: str | None) -> dict[str, Any]:
        message = (f"Provider {self.name!r} (kind anthropic) has no embeddings API; route embedding models "
                   "to another provider.")
        raise ProviderError(self.name, "Anthropic has no embeddings API", status=400, body=_openai_error(
            message, "invalid_request_error", "embeddings_unsupported", "model"))

    async def aclose(self) -> None:
        await self._upstream.aclose()
