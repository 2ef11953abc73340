"""StreamGuard: checks streamed output before the client sees it, holding back a small window.

Text is released only once it is at least ``holdback`` characters behind the newest text received, so a
finding split across chunks (a key arriving in three deltas) is seen whole before any part of it is sent.
Each step checks only the unsent text plus ``holdback`` characters of context, and a step runs once
``step`` (``holdback // 8``, at most 32) characters are ready to go rather than on every delta, so a model
that streams a few characters per event costs one check per ``step`` characters: the work stays linear in
the length of the stream, and text waits at most ``holdback + step - 1`` characters behind the newest.
On ``deny`` the stream ends with no further content; on ``redact`` the released text carries placeholders.

``guard_chunks`` runs a stream of OpenAI-style chunk bodies through one guard per choice: the gateway, the
Governor's ``admit`` streams and the remote client (``proctor.client``) all use it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from proctor.decision import Action, Decision
from proctor.findings import Finding
from proctor.redaction import Redactor

CheckFn = Callable[[str], Decision]


@dataclass(frozen=True, slots=True)
class Release:
    """What may be sent now: ``text`` (possibly empty), or ``denied`` with the Decision that stopped it."""

    text: str
    denied: Decision | None = None


class StreamGuard:
    """One guard per streamed choice. Feed deltas with ``push``; call ``finish`` at the end of the stream."""

    def __init__(self, check: CheckFn, holdback: int = 256) -> None:
        if holdback < 1:
            raise ValueError("holdback must be at least 1 character")
        self._check = check
        self.holdback = holdback
        self.step = max(1, min(32, holdback // 8))
        self._parts: list[str] = []  # everything received, for `received`
        self._length = 0  # characters received
        self._tail = ""  # the received text from index _offset on: what a step may still check or send
        self._offset = 0
        self._pending: list[str] = []  # received since the last step, not yet in _tail
        self._sent = 0  # index up to which output was released
        self._redactor = Redactor()
        self.decisions: list[Decision] = []  # every non-allow decision seen, for the audit record
        self.released: list[str] = []

    @property
    def received(self) -> str:
        return "".join(self._parts)

    def push(self, delta: str) -> Release:
        self._parts.append(delta)
        self._pending.append(delta)
        self._length += len(delta)
        if self._length - self.holdback - self._sent < self.step:
            return Release("")  # not enough to release yet: no check, no copy
        return self._step(final=False)

    def finish(self) -> Release:
        return self._step(final=True)

    def _step(self, *, final: bool) -> Release:
        if self._pending:
            self._tail += "".join(self._pending)
            self._pending.clear()
        limit = self._length if final else self._length - self.holdback
        if limit <= self._sent:
            return Release("")
        base = max(0, self._sent - self.holdback)
        if base > self._offset:  # drop what no later step can look at, so each step copies O(window)
            self._tail = self._tail[base - self._offset:]
            self._offset = base
        window = self._tail[base - self._offset:]
        decision = self._check(window)
        if decision.action is not Action.ALLOW:
            self.decisions.append(decision)
        if decision.action in (Action.DENY, Action.REQUIRE_APPROVAL):
            return Release("", denied=decision)
        spans = []
        if decision.action is Action.REDACT:
            for f in decision.findings:
                start, end = f.start + base, f.end + base
                if end <= self._sent:
                    continue  # already released before it was complete: nothing left to hide
                if not final and end > self._length - 1:
                    limit = min(limit, start)  # the finding may still grow: hold it back
                elif start < limit < end:
                    limit = end  # release a finding whole, as its placeholder
                spans.append((max(start, self._sent), end, f))
        if limit <= self._sent:
            return Release("")
        piece_start = self._sent
        chosen = [(s, e, f) for s, e, f in spans if s >= piece_start and e <= limit]
        out = self._tail[piece_start - self._offset:limit - self._offset]
        if chosen:
            shifted = [Finding(f.type, s - piece_start, e - piece_start, f.score) for s, e, f in chosen]
            out = self._redactor.redact(out, shifted)
        self._sent = limit
        self.released.append(out)
        return Release(out)


# -- a stream of chat.completion.chunk bodies --------------------------------------------------------------

Run = Callable[..., Awaitable[Release]]


async def run_inline(step: Callable[..., Release], *args: Any) -> Release:
    """``Run`` for a check that is quick and local: call it right here."""
    return step(*args)


async def guard_chunks(chunks: AsyncIterator[dict[str, Any]], guards: dict[int, StreamGuard],
                       new_guard: Callable[[], StreamGuard], *, run: Run = run_inline,
                       on_usage: Callable[[Mapping[str, Any]], bool] | None = None
                       ) -> AsyncIterator[dict[str, Any] | Decision]:
    """OpenAI-style ``chat.completion.chunk`` bodies through one StreamGuard per choice (kept in ``guards``).

    Yields the chunks to forward, their deltas carrying only released text; or, last, the Decision that
    stopped the stream (nothing of the denied span is yielded). A delta whose text is all held back is not
    forwarded: it would cost the client a write for nothing (the first chunk, with the role, still goes out).
    Text still held back when the upstream ends without a ``finish_reason`` is released at the end.
    ``run(step, *args)`` runs a guard step (``run_inline``, or in a thread when the check does I/O);
    ``on_usage(usage)`` sees each usage block and says whether its chunk goes on to the client.
    """
    async for chunk in chunks:
        usage = chunk.get("usage")
        if usage and on_usage is not None and not on_usage(usage):
            continue
        choices = chunk.get("choices")
        if not isinstance(choices, list) or not choices:
            yield chunk
            continue
        out_choices = []
        for choice in choices:
            idx = int(choice.get("index", 0))
            guard = guards.get(idx)
            if guard is None:
                guard = guards[idx] = new_guard()
            delta = dict(choice.get("delta") or {})
            released = ""
            content = delta.get("content")
            if isinstance(content, str) and content:
                rel = await run(guard.push, content)
                if rel.denied is not None:
                    yield rel.denied
                    return
                released = rel.text
            if choice.get("finish_reason") is not None:
                rel = await run(guard.finish)
                if rel.denied is not None:
                    yield rel.denied
                    return
                released += rel.text
            if "content" in delta or released:
                delta["content"] = released
            out_choices.append({**choice, "delta": delta})
        if any(_carries(c) for c in out_choices):
            yield {**chunk, "choices": out_choices}
    for idx, guard in guards.items():  # an upstream that ended without finish_reason
        rel = await run(guard.finish)
        if rel.denied is not None:
            yield rel.denied
            return
        if rel.text:
            yield {"object": "chat.completion.chunk",
                   "choices": [{"index": idx, "delta": {"content": rel.text}, "finish_reason": None}]}


def received(guards: Mapping[int, StreamGuard]) -> str:
    """Everything the guards received, choice by choice: what the upstream sent (for the audit record)."""
    return "".join(guards[i].received for i in sorted(guards))


def _carries(choice: Mapping[str, Any]) -> bool:
    """Whether a streamed choice has something for the client: text, a role, tool calls, a finish."""
    return choice.get("finish_reason") is not None or any(v not in ("", None) for v in choice["delta"].values())
