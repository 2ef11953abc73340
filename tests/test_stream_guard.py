"""StreamGuard: nothing denied ever leaves, redaction works across chunk boundaries, output order is kept."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proctor import Governor
from proctor.decision import Decision
from proctor.stream_guard import StreamGuard, guard_chunks, run_inline

SECRET = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"


@pytest.fixture(scope="module")
def gov() -> Governor:
    return Governor(["builtin:default", "builtin:pii"])


def run(gov: Governor, chunks: list[str], holdback: int = 64) -> tuple[str, bool]:
    guard = StreamGuard(lambda t: gov.check(t, scope="output"), holdback)
    out = []
    for c in chunks:
        rel = guard.push(c)
        if rel.denied:
            return "".join(out), True
        out.append(rel.text)
    rel = guard.finish()
    if rel.denied:
        return "".join(out), True
    out.append(rel.text)
    return "".join(out), False


def chunked(text: str, size: int) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)]


@pytest.mark.parametrize("size", [1, 3, 7, 50])
def test_benign_text_passes_unchanged(gov: Governor, size: int) -> None:
    text = "The quick brown fox jumps over the lazy dog. " * 20
    assert run(gov, chunked(text, size)) == (text, False)


@pytest.mark.parametrize("size", [1, 2, 5, 11, 40])
def test_split_secret_is_never_released(gov: Governor, size: int) -> None:
    text = "Some preamble that is long enough to be released early on. Token: " + SECRET + " and more text after."
    released, denied = run(gov, chunked(text, size))
    assert denied
    assert SECRET[:10] not in released
    assert released == text[: len(released)]


@pytest.mark.parametrize("size", [1, 4, 9, 30])
def test_split_email_is_redacted_whole(gov: Governor, size: int) -> None:
    text = "Please write to jane.doe@example.com or to bob@example.org when you can, thanks a lot for it."
    released, denied = run(gov, chunked(text, size))
    assert not denied
    assert released == ("Please write to [EMAIL_1] or to [EMAIL_2] when you can, thanks a lot for it.")


def test_holdback_bounds_the_delay(gov: Governor) -> None:
    guard = StreamGuard(lambda t: gov.check(t, scope="output"), holdback=10)
    text = "a" * 100
    sent = "".join(guard.push(c).text for c in text)
    assert len(sent) == 90  # everything but the last `holdback` characters is already out
    assert guard.finish().text == "a" * 10


def test_holdback_must_be_positive(gov: Governor) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        StreamGuard(lambda t: gov.check(t), 0)


SECRETS = [SECRET, "AKIA" + "Q3EGRKQ7XZ2WJPLM", "sk-ant-api03-" + "7M_G2wLle7utEzVilCsnkQ8KCeJCEgZQVKyhFKmToPT46ZzGRk"
           "vwilx3bsHA4e2-S0cBtqHHctvC7AsKrkDuJIge1TU_WAA"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_chunking_never_releases_any_part_of_a_denied_secret(gov: Governor, data: st.DataObject) -> None:
    secret = data.draw(st.sampled_from(SECRETS))
    before = data.draw(st.text(alphabet="abcdefghij ,.\n", min_size=0, max_size=400))
    after = data.draw(st.text(alphabet="abcdefghij ,.\n", min_size=0, max_size=100))
    text = before + " " + secret + " " + after
    cuts = sorted(set(data.draw(st.lists(st.integers(1, len(text) - 1), max_size=40))))
    chunks = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    holdback = data.draw(st.sampled_from([len(secret) + 2, 128, 256]))
    released, denied = run(gov, chunks, holdback)
    assert denied
    assert released == text[: len(released)]
    assert len(released) <= len(before) + 1  # nothing of the secret left before the stream was stopped


def test_checks_once_per_step_and_text_lags_at_most_holdback_plus_step() -> None:
    from proctor.decision import Action, Decision

    checked: list[int] = []

    def check(window: str) -> Decision:
        checked.append(len(window))
        return Decision(Action.ALLOW)

    guard = StreamGuard(check, holdback=256)
    text = "abcd" * 2500  # 10,000 characters in 4-character deltas
    out, received = [], 0
    for i in range(0, len(text), 4):
        out.append(guard.push(text[i:i + 4]).text)
        received += 4
        assert received - len("".join(out)) <= guard.holdback + guard.step - 1
    out.append(guard.finish().text)
    assert "".join(out) == text == guard.received
    assert len(checked) <= len(text) // guard.step + 2  # not one check per delta
    assert max(checked) <= guard.holdback * 2 + guard.step  # each check sees a window, not the whole stream


# -- guard_chunks: the chunk loop shared by the gateway, Governor.admit streams and the remote client ----------

def _chunk(text: str | None = None, finish: str | None = None, **delta: str) -> dict[str, Any]:
    if text is not None:
        delta["content"] = text
    return {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


async def _source(chunks: list[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    for c in chunks:
        yield c


def _through(gov: Governor, chunks: list[dict[str, Any]], **kwargs: Any) -> list[dict[str, Any] | Decision]:
    guards: dict[int, StreamGuard] = {}

    async def main() -> list[dict[str, Any] | Decision]:
        new = lambda: StreamGuard(lambda t: gov.check(t, scope="output"), 64)  # noqa: E731
        return [item async for item in guard_chunks(_source(chunks), guards, new, **kwargs)]

    return asyncio.run(main())


def _text(items: list[dict[str, Any] | Decision]) -> str:
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in items
                   if isinstance(c, dict) and c.get("choices"))


def test_chunks_pass_whole_and_held_back_deltas_are_not_forwarded(gov: Governor) -> None:
    chunks = [_chunk("", role="assistant"), _chunk("The answer "), _chunk("is 42."), _chunk(finish="stop")]
    items = _through(gov, chunks)
    assert _text(items) == "The answer is 42."
    assert len(items) == 2  # the role chunk, then everything at the finish: the held-back deltas carried nothing


@pytest.mark.parametrize("run_step", [run_inline, None])
def test_a_stream_ending_without_finish_reason_still_releases_its_tail(gov: Governor, run_step: Any) -> None:
    async def in_thread(step: Any, *args: Any) -> Any:
        return await asyncio.to_thread(step, *args)

    items = _through(gov, [_chunk("The answer "), _chunk("is 42.")], run=run_step or in_thread)
    assert _text(items) == "The answer is 42."


def test_a_denied_span_never_leaves_and_the_decision_comes_last(gov: Governor) -> None:
    items = _through(gov, [_chunk("Your token: "), _chunk(SECRET[:10]), _chunk(SECRET[10:]), _chunk(" ok", "stop")])
    assert isinstance(items[-1], Decision) and not items[-1].allowed
    assert SECRET[:10] not in _text(items[:-1])


def test_usage_chunks_go_to_the_callback_and_on_only_when_it_says_so(gov: Governor) -> None:
    seen: list[Mapping[str, Any]] = []
    usage = {"object": "chat.completion.chunk", "choices": [], "usage": {"total_tokens": 3}}
    kept = _through(gov, [_chunk("hi", "stop"), usage], on_usage=lambda u: seen.append(u) or True)
    dropped = _through(gov, [_chunk("hi", "stop"), usage], on_usage=lambda u: seen.append(u) is not None)
    assert usage in kept and usage not in dropped and seen == [{"total_tokens": 3}] * 2
