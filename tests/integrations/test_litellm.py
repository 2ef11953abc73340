"""LiteLLM integration with the real `litellm` package, offline: a fake upstream on loopback and mock_response."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # never fetch the price list from the internet
litellm = pytest.importorskip("litellm", reason="the litellm extra is not installed")

from proctor import PolicyDenied  # noqa: E402
from proctor.audit import verify  # noqa: E402
from proctor.integrations.litellm import Governed, ProctorLogger  # noqa: E402
from tests.server.conftest import FakeUpstream  # noqa: E402

SECRET = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"


@pytest.fixture
def store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'audit.db'}"


@pytest.fixture
def governed(store: str) -> Iterator[Governed]:
    gov = Governed(storage=store)
    yield gov
    gov.close()


def records(store: str) -> list:  # type: ignore[type-arg]
    from proctor.store import AuditQuery, open_store

    st = open_store(store)
    try:
        return list(st.read_audit(AuditQuery(order="chain", limit=10_000)))
    except Exception:  # the store may not exist yet while the writer starts
        return []
    finally:
        st.close()


def test_wrapper_allows_redacts_and_denies(governed: Governed, fake: FakeUpstream, upstream, store: str) -> None:  # type: ignore[no-untyped-def]
    _, url = upstream
    resp = governed.completion(model="openai/gpt-4o-mini", api_base=f"{url}/v1", api_key="sk-test",
                               messages=[{"role": "user", "content": "Mail jane@example.com a summary"}],
                               user="u-1", metadata={"agent_name": "billing-bot"})
    assert resp.choices[0].message.content == "Hello from upstream."
    assert fake.requests[-1]["messages"][0]["content"] == "Mail [EMAIL_1] a summary"  # upstream saw the placeholder
    with pytest.raises(PolicyDenied) as info:
        governed.completion(model="openai/gpt-4o-mini", api_base=f"{url}/v1", api_key="sk-test",
                            messages=[{"role": "user", "content": "SSN 123-45-6789"}])
    assert info.value.policies == ("default-deny-high-risk-pii",) and info.value.decision_id
    assert "pii.ssn" in info.value.reason


def test_wrapper_works_inside_a_running_loop(governed: Governed) -> None:
    async def main() -> str:
        resp = governed.completion(model="gpt-4o", mock_response="fine, thanks",
                                   messages=[{"role": "user", "content": "how are you"}])
        again = await governed.acompletion(model="gpt-4o", mock_response="still fine",
                                           messages=[{"role": "user", "content": "and now"}])
        return resp.choices[0].message.content + " / " + again.choices[0].message.content

    assert asyncio.run(main()) == "fine, thanks / still fine"


def test_wrapper_stream_never_leaks_a_split_secret(governed: Governed, fake: FakeUpstream, upstream) -> None:  # type: ignore[no-untyped-def]
    _, url = upstream
    fake.reply_chunks = ["Your token: ", SECRET[:8], SECRET[8:24], SECRET[24:], " ok"]

    async def main() -> str:
        got = ""
        stream = await governed.acompletion(model="openai/gpt-4o", api_base=f"{url}/v1", api_key="sk-test",
                                            messages=[{"role": "user", "content": "token?"}], stream=True)
        with pytest.raises(PolicyDenied):
            async for chunk in stream:
                got += chunk.choices[0].delta.content or "" if chunk.choices else ""
        return got

    received = asyncio.run(main())
    assert SECRET[:8] not in received


@pytest.fixture(scope="module")
def callback(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ProctorLogger, str]]:
    """One ProctorLogger for the module: LiteLLM keeps registered callbacks in global lists."""
    store = f"sqlite:///{tmp_path_factory.mktemp('callback') / 'audit.db'}"
    logger = ProctorLogger(storage=store)
    litellm.callbacks = [logger]
    yield logger, store
    litellm.callbacks = []
    logger.governor.audit.close()  # type: ignore[union-attr]


def ours(store: str, agent: str) -> list[dict]:  # type: ignore[type-arg]
    import json

    return [d for d in (json.loads(r.doc) for r in records(store)) if d.get("agent") == agent]


def test_callback_records_200_concurrent_calls_and_the_chain_verifies(callback: tuple[ProctorLogger, str]) -> None:
    logger, store = callback

    async def main() -> None:
        await asyncio.gather(*(litellm.acompletion(
            model="gpt-4o-mini", mock_response=f"answer {i}",
            messages=[{"role": "user", "content": f"question {i} from jane@example.com"}],
            metadata={"agent_name": "support-bot"}) for i in range(200)))
        # LiteLLM runs async callbacks on its own worker task in this loop: keep the loop alive for them.
        end = asyncio.get_running_loop().time() + 60
        while len(ours(store, "support-bot")) < 200 and asyncio.get_running_loop().time() < end:
            await asyncio.sleep(0.2)

    asyncio.run(main())
    logger.governor.audit.flush(30)  # type: ignore[union-attr]
    calls = ours(store, "support-bot")
    assert len(calls) == 200
    assert all(d["findings"] == {"pii.email": 1} and d["action"] == "log" and d["tokens_out"] for d in calls)
    assert logger.errors == 0
    assert verify(store).records == len(records(store))


def test_callback_records_failures_with_the_error_text(callback: tuple[ProctorLogger, str]) -> None:
    _, store = callback
    with pytest.raises(Exception):  # noqa: B017 - whatever LiteLLM raises for an unreachable upstream
        litellm.completion(model="openai/gpt-4o", api_base="http://127.0.0.1:9/v1", api_key="sk-x",
                           messages=[{"role": "user", "content": "hi"}], num_retries=0, timeout=2,
                           metadata={"agent_name": "failing-bot"})
    import time

    end = time.monotonic() + 20
    while not ours(store, "failing-bot") and time.monotonic() < end:
        time.sleep(0.1)
    failed = ours(store, "failing-bot")
    assert failed and failed[0]["status"] == "error" and "Connection" in failed[0]["error"]
