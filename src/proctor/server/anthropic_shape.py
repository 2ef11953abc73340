"""Translation between Anthropic's Messages shape and the OpenAI chat shape the Governor runs on.

Requests: ``system`` becomes a system message, text blocks become text parts, ``tool_use`` blocks become
``tool_calls`` and ``tool_result`` blocks become ``tool`` messages, so every piece of text is checked the
same way as on the OpenAI routes. Responses and stream chunks are translated back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "function_call": "tool_use",
                 "content_filter": "refusal"}
_ROLES = ("user", "assistant")


class ShapeError(ValueError):
    """The Anthropic request is malformed; the message names the field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _text_of(blocks: Any, where: str) -> str:
    if isinstance(blocks, str):
        return blocks
    if isinstance(blocks, list):
        parts = []
        for j, block in enumerate(blocks):
            if not isinstance(block, Mapping) or block.get("type") != "text" or not isinstance(block.get("text"), str):
                raise ShapeError(f"{where}[{j}] must be a text block {{\"type\": \"text\", \"text\": ...}}.", where)
            parts.append(block["text"])
        return "\n".join(parts)
    raise ShapeError(f"{where} must be a string or a list of text blocks.", where)


def to_openai(body: Mapping[str, Any]) -> dict[str, Any]:
    """An OpenAI chat-completions body for an Anthropic Messages body (raises ShapeError when malformed)."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise ShapeError("model: Field required (a non-empty string).", "model")
    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise ShapeError("max_tokens: Field required (a positive integer).", "max_tokens")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ShapeError("messages: Field required (a non-empty list).", "messages")
    out: list[dict[str, Any]] = []
    if body.get("system") is not None:
        out.append({"role": "system", "content": _text_of(body["system"], "system")})
    for i, msg in enumerate(messages):
        where = f"messages.{i}"
        if not isinstance(msg, Mapping) or msg.get("role") not in _ROLES:
            raise ShapeError(f"{where}.role must be 'user' or 'assistant'.", f"{where}.role")
        out.extend(_message(msg, where))
    request: dict[str, Any] = {"model": model, "messages": out, "max_tokens": max_tokens}
    for key in ("temperature", "top_p", "stream"):
        if key in body:
            request[key] = body[key]
    if body.get("stream"):
        request["stream_options"] = {"include_usage": True}  # Anthropic streams always end with usage
    if "stop_sequences" in body:
        request["stop"] = body["stop_sequences"]
    metadata = body.get("metadata")
    if isinstance(metadata, Mapping) and isinstance(metadata.get("user_id"), str):
        request["user"] = metadata["user_id"]
    if isinstance(body.get("tools"), list):
        request["tools"] = [
            {"type": "function", "function": {"name": t.get("name"), "description": t.get("description", ""),
                                              "parameters": t.get("input_schema", {})}}
            for t in body["tools"] if isinstance(t, Mapping)]
    return request


def _message(msg: Mapping[str, Any], where: str) -> Iterator[dict[str, Any]]:
    role, content = msg["role"], msg.get("content")
    if isinstance(content, str):
        yield {"role": role, "content": content}
        return
    if not isinstance(content, list):
        raise ShapeError(f"{where}.content must be a string or a list of content blocks.", f"{where}.content")
    parts: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for j, block in enumerate(content):
        kind = block.get("type") if isinstance(block, Mapping) else None
        if kind == "text" and isinstance(block.get("text"), str):
            parts.append({"type": "text", "text": block["text"]})
        elif kind == "tool_use" and role == "assistant":
            calls.append({"id": block.get("id"), "type": "function", "function": {
                "name": block.get("name"), "arguments": json.dumps(block.get("input", {}), ensure_ascii=False)}})
        elif kind == "tool_result" and role == "user":
            inner = block.get("content", "")
            text = inner if isinstance(inner, str) else _text_of(inner, f"{where}.content.{j}.content")
            results.append({"role": "tool", "tool_call_id": block.get("tool_use_id"), "content": text})
        elif kind == "image" and isinstance(block.get("source"), Mapping):
            parts.append({"type": "image_url", "image_url": {"url": _image_url(block["source"])}})
        else:
            raise ShapeError(f"{where}.content.{j}: unsupported block type {kind!r}.", f"{where}.content.{j}")
    yield from results
    if parts or calls or not results:
        out: dict[str, Any] = {"role": role, "content": parts}
        if calls:
            out["tool_calls"] = calls
        yield out


def _image_url(source: Mapping[str, Any]) -> str:
    if source.get("type") == "base64":
        return f"data:{source.get('media_type', 'image/png')};base64,{source.get('data', '')}"
    return str(source.get("url", ""))


def from_openai(response: Mapping[str, Any], model: str) -> dict[str, Any]:
    """An Anthropic Messages response for an OpenAI chat completion."""
    choices = response.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], Mapping) else {}
    message = choice.get("message") or {}
    content: list[dict[str, Any]] = []
    if isinstance(message.get("content"), str) and message["content"]:
        content.append({"type": "text", "text": message["content"]})
    for call in message.get("tool_calls") or []:
        fn = call.get("function") or {}
        try:
            args = json.loads(fn.get("arguments") or "{}")
        except ValueError:
            args = {"_raw": fn.get("arguments")}
        content.append({"type": "tool_use", "id": call.get("id"), "name": fn.get("name"), "input": args})
    usage = response.get("usage") or {}
    return {
        "id": "msg_" + str(response.get("id", "")).removeprefix("chatcmpl-"),
        "type": "message",
        "role": "assistant",
        "model": response.get("model") or model,
        "content": content,
        "stop_reason": _STOP_REASONS.get(str(choice.get("finish_reason")), "end_turn"),
        "stop_sequence": None,
        "usage": {"input_tokens": usage.get("prompt_tokens", 0), "output_tokens": usage.get("completion_tokens", 0)},
    }


class StreamTranslator:
    """Turns OpenAI chat.completion.chunk bodies into Anthropic stream events (name, data) in order."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.started = False
        self.block_open = False
        self.output_tokens = 0
        self.stop_reason: str | None = None

    def _start(self, chunk_id: str) -> Iterator[tuple[str, dict[str, Any]]]:
        self.started = True
        yield "message_start", {"type": "message_start", "message": {
            "id": "msg_" + chunk_id.removeprefix("chatcmpl-"), "type": "message", "role": "assistant", "content": [],
            "model": self.model, "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0}}}
        yield "content_block_start", {"type": "content_block_start", "index": 0,
                                      "content_block": {"type": "text", "text": ""}}
        self.block_open = True

    def feed(self, chunk: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
        if "error" in chunk:
            err = chunk["error"] or {}
            kind = "invalid_request_error" if err.get("code") == "policy_denied" else "api_error"
            yield "error", {"type": "error", "error": {"type": kind, "message": err.get("message", "error")}}
            return
        if not self.started:
            yield from self._start(str(chunk.get("id", "")))
        usage = chunk.get("usage")
        if isinstance(usage, Mapping) and isinstance(usage.get("completion_tokens"), int):
            self.output_tokens = usage["completion_tokens"]
        for choice in chunk.get("choices") or []:
            text = (choice.get("delta") or {}).get("content")
            if isinstance(text, str) and text:
                yield "content_block_delta", {"type": "content_block_delta", "index": 0,
                                              "delta": {"type": "text_delta", "text": text}}
            if choice.get("finish_reason") is not None:
                self.stop_reason = _STOP_REASONS.get(str(choice["finish_reason"]), "end_turn")

    def finish(self) -> Iterator[tuple[str, dict[str, Any]]]:
        if not self.started:
            yield from self._start("")
        if self.block_open:
            yield "content_block_stop", {"type": "content_block_stop", "index": 0}
        yield "message_delta", {"type": "message_delta", "delta": {"stop_reason": self.stop_reason or "end_turn",
                                                                   "stop_sequence": None},
                                "usage": {"output_tokens": self.output_tokens}}
        yield "message_stop", {"type": "message_stop"}
