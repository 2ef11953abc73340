"""AuditRecord: building records, the canonical document and the JSON form shared by store and exports."""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proctor.audit import AuditRecord
from proctor.audit.record import CHAIN_FIELDS, canonical_json
from proctor.decision import Action, Decision
from proctor.errors import ConfigError
from proctor.findings import Finding
from proctor.identity import Identity


def test_new_fills_ids_and_utc_time() -> None:
    before = datetime.now(timezone.utc)
    record = AuditRecord.new()
    assert uuid.UUID(record.record_id).version == 7
    assert record.record_id == record.record_id.lower()
    assert before <= record.time <= datetime.now(timezone.utc)
    assert record.time.utcoffset() == timedelta(0)
    assert not record.sealed
    time.sleep(0.002)
    assert AuditRecord.new().record_id > record.record_id  # version 7 ids sort by creation time


def test_ids_made_on_many_threads_at_once_are_unique() -> None:
    made: list[list[str]] = [[] for _ in range(8)]

    def make(slot: int) -> None:
        made[slot].extend(AuditRecord.new().record_id for _ in range(5000))

    threads = [threading.Thread(target=make, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [i for ids in made for i in ids]
    assert len(set(ids)) == len(ids) == 40_000
    assert {uuid.UUID(i).version for i in ids} == {7}


def test_identity_and_decision_fill_their_fields_and_explicit_fields_win() -> None:
    identity = Identity(
        tenant="acme", client="key-7", agent="support", session="s-1", user="u-2", model="gpt-4o"
    )
    decision = Decision(
        Action.REDACT,
        findings=(Finding("pii.email", 0, 5), Finding("pii.email", 9, 15), Finding("secret.jwt", 20, 40)),
        policies=("pii.redact", "secrets.block"),
    )
    record = AuditRecord.new(identity=identity, decision=decision, agent="override", provider="openai")
    assert (record.tenant, record.client, record.agent, record.session, record.user) == (
        "acme",
        "key-7",
        "override",
        "s-1",
        "u-2",
    )
    assert record.model == "gpt-4o"
    assert record.action == "redact"
    assert record.policies == ("pii.redact", "secrets.block")
    assert record.finding_counts == {"pii.email": 2, "secret.jwt": 1}


def test_prompt_and_response_are_hashed_never_stored() -> None:
    record = AuditRecord.new(prompt="my SSN is 123-45-6789", response="ok")
    assert record.prompt_sha256 == hashlib.sha256(b"my SSN is 123-45-6789").hexdigest()
    assert record.response_sha256 == hashlib.sha256(b"ok").hexdigest()
    assert "123-45-6789" not in record.to_json()
    assert record.prompt_text is None


def test_json_form_round_trips_and_has_every_field() -> None:
    record = AuditRecord.new(
        tenant="acme",
        model="claude-3-5-sonnet",
        provider="anthropic",
        action=Action.DENY,
        status="blocked",
        policies=["b", "a"],
        findings={"sqli": 1},
        tokens_in=10,
        tokens_out=0,
        cost_usd=0.0000301,
        latency_ms=12.3456,
        error=None,
        meta={"approval_id": "ap-1"},
        trace_id="t-1",
        prompt_text="[REDACTED]",
    )
    line = record.to_json()
    data = json.loads(line)
    assert list(data)[-len(CHAIN_FIELDS) :] == list(CHAIN_FIELDS)
    assert data["time"].endswith("+00:00") and len(data["time"]) == 32
    assert data["policies"] == ["a", "b"] and data["findings"] == {"sqli": 1} and data["latency_ms"] == 12.346
    assert AuditRecord.from_json(line) == record
    # the document part is exactly the canonical JSON of the content
    doc = {k: v for k, v in data.items() if k not in CHAIN_FIELDS}
    assert canonical_json(doc) == record.canonical_doc()


def test_canonical_document_is_stable_and_unicode_literal() -> None:
    record = AuditRecord.new(tenant="café", error="zürich – ok", record_id=str(uuid.uuid4()).upper())
    doc = record.canonical_doc()
    assert "café" in doc and "\\u" not in doc
    assert json.loads(doc)["record_id"] == record.record_id.lower()
    assert AuditRecord.from_json(record.to_json()).canonical_doc() == doc


texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@settings(max_examples=300, deadline=None)
@given(
    text=texts,
    optional=st.none() | texts,
    number=st.none() | st.floats(allow_nan=False, allow_infinity=False),
    count=st.none() | st.integers(0, 2**70),
    pairs=st.dictionaries(texts, texts, max_size=3),
    moment=st.datetimes(timezones=st.just(timezone.utc)),
)
def test_the_canonical_bytes_are_those_of_the_standard_library_encoder(
    text: str,
    optional: str | None,
    number: float | None,
    count: int | None,
    pairs: dict[str, str],
    moment: datetime,
) -> None:
    # The writer encodes with orjson when it is installed; the bytes must not depend on it.
    record = AuditRecord.new(
        tenant=text,
        error=optional,
        prompt_text=text,
        cost_usd=number,
        latency_ms=number,
        tokens_in=count,
        meta=pairs,
        findings={k: 1 for k in pairs},
        policies=list(pairs.values()),
        time=moment,
    )
    expected = json.dumps(
        record.to_doc(), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")
    assert record.canonical_bytes() == expected
    assert record.canonical_doc() == expected.decode("utf-8")


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"action": "block"}, "action"),
        ({"tokens_in": -1}, "tokens_in"),
        ({"cost_usd": float("nan")}, "cost_usd"),
        ({"time": datetime(2025, 1, 1)}, "time"),
        ({"colour": "red"}, "colour"),
        ({"kind": "whatever"}, "kind"),
    ],
)
def test_bad_fields_are_refused_with_the_field_named(fields: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        AuditRecord.new(**fields)


def test_from_json_rejects_what_is_not_a_record() -> None:
    with pytest.raises(ValueError):
        AuditRecord.from_json("[1, 2]")
    with pytest.raises(ValueError):
        AuditRecord.from_json('{"tenant": "x"}')
