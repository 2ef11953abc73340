"""AuditLog: batched single-writer appends, sync durability, reopening, concurrent writers, key rotation."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from proctor.audit import AuditLog, AuditRecord, LogSettings, verify
from proctor.audit import keys as keymod
from proctor.audit.chain import chain_hash
from proctor.errors import AuditIntegrityError, ConfigError, StoreError
from proctor.store import AuditQuery, open_store


def _ids(url: str, chain: str = "main") -> list[str]:
    store = open_store(url)
    try:
        rows = store.read_audit(AuditQuery(chain_id=chain, kind="call", limit=1_000_000))
    finally:
        store.close()
    return [AuditRecord.from_json(r.doc).record_id for r in rows]


def test_appended_records_are_sealed_in_order_and_verify(store_url: str) -> None:
    records = [AuditRecord.new(tenant="acme", tokens_in=i) for i in range(25)]
    with AuditLog.open(store_url) as audit_log:
        for record in records:
            audit_log.append(record)
    summary = verify(store_url)
    assert summary.records == 26  # the genesis record, then ours
    assert summary.chains == {"main": 25}
    assert summary.keys == (keymod.read_public_key("proctor-signing.key"),)
    assert _ids(store_url) == [r.record_id for r in records]


def test_sync_append_is_durable_when_it_returns(store_url: str) -> None:
    with AuditLog.open(store_url, sync=True) as audit_log:
        record = AuditRecord.new(agent="bot")
        audit_log.append(record)
        assert _ids(store_url) == [record.record_id]  # visible to another connection, before close


def test_sync_commits_share_their_signatures(store_url: str) -> None:
    settings = LogSettings(sign_interval=60.0)
    with AuditLog.open(store_url, sync=True, settings=settings) as audit_log:

        def produce() -> None:
            for _ in range(50):
                audit_log.append(AuditRecord.new())  # each returns once durable, most of them unsigned

        threads = [threading.Thread(target=produce) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        public = audit_log.public_key_hex
    summary = verify(store_url, public_keys=[public])  # close() signed the newest record
    assert summary.records == 201
    assert summary.signatures <= 3  # the genesis record, the first commit, the close


def test_a_quiet_chain_signs_its_newest_records_within_the_sign_interval(store_url: str) -> None:
    with AuditLog.open(store_url, sync=True, settings=LogSettings(sign_interval=2.0)) as audit_log:
        public = audit_log.public_key_hex
        audit_log.append(AuditRecord.new())  # the first commit of a session is signed
        audit_log.append(AuditRecord.new())  # durable, not signed yet
        assert verify(store_url).mac_checked == 1  # the private key checks it by the chain head's MAC
        with pytest.raises(AuditIntegrityError, match="no signature covers"):
            verify(store_url, public_keys=[public], seal_wait=0)
        summary = verify(store_url, public_keys=[public], seal_wait=30)  # the writer signs it, idle
        assert (summary.records, summary.mac_checked) == (3, 0)


def test_verifying_during_writes_with_only_the_public_key_waits_for_signatures(store_url: str) -> None:
    settings = LogSettings(sign_interval=0.2)
    with AuditLog.open(store_url, sync=True, settings=settings) as audit_log:
        public = audit_log.public_key_hex
        audit_log.append(AuditRecord.new())
        stop = threading.Event()

        def produce() -> None:
            while not stop.is_set():
                audit_log.append(AuditRecord.new())

        thread = threading.Thread(target=produce)
        thread.start()
        try:
            for _ in range(3):
                assert verify(store_url, public_keys=[public], seal_wait=30).records > 1
        finally:
            stop.set()
            thread.join()


def test_a_record_signed_in_place_while_it_is_verified_still_verifies(store_url: str) -> None:
    settings = LogSettings(sign_interval=3600.0)
    with AuditLog.open(store_url, sync=True, settings=settings) as audit_log:
        public = audit_log.public_key_hex
        for _ in range(3):
            audit_log.append(AuditRecord.new())  # seq 1 is signed, 2 and 3 are not yet
        store = open_store(store_url)

        class WrittenMeanwhile:
            """The store as verification sees it while the writer goes on behind its back."""

            url = store.url
            reads = 0

            def audit_heads(self) -> Any:
                return store.audit_heads()

            def read_audit(self, query: AuditQuery) -> Any:
                rows = store.read_audit(query)
                self.reads += 1
                if self.reads == 1:  # verification has read seq 3 unsigned: now the writer signs it in place,
                    audit_log.flush()
                    audit_log.append(AuditRecord.new())  # commits seq 4 after it, unsigned,
                    audit_log.flush()  # and signs that in place too
                return rows

            def append_audit(self, batch: Any) -> bool:
                raise AssertionError("verification never writes")

            def close(self) -> None:
                store.close()

        try:
            summary = verify(WrittenMeanwhile(), public_keys=[public], seal_wait=30)  # type: ignore[arg-type]
        finally:
            store.close()
    assert summary.chains == {"main": 4}


def test_concurrent_producers_lose_nothing_and_never_fork(store_url: str) -> None:
    appended: list[list[str]] = [[] for _ in range(6)]
    with AuditLog.open(store_url, settings=LogSettings(batch_max=64)) as audit_log:

        def produce(slot: int) -> None:
            for _ in range(150):
                record = AuditRecord.new(agent=f"agent-{slot}")
                audit_log.append(record)
                appended[slot].append(record.record_id)

        threads = [threading.Thread(target=produce, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    stored = _ids(store_url)
    assert sorted(stored) == sorted(i for ids in appended for i in ids)
    for ids in appended:  # each producer's records keep their order
        positions = [stored.index(i) for i in ids]
        assert positions == sorted(positions)
    assert verify(store_url).records == 901


def test_two_writers_sharing_a_chain_interleave_without_forking(store_url: str) -> None:
    first = AuditLog.open(store_url, sync=True)
    second = AuditLog.open(store_url, sync=True)
    try:
        for n in range(10):
            (first if n % 2 else second).append(AuditRecord.new(tokens_in=n))
    finally:
        first.close()
        second.close()
    assert verify(store_url).records == 11


def test_reopening_continues_the_same_chain(store_url: str) -> None:
    for _ in range(3):
        with AuditLog.open(store_url) as audit_log:
            audit_log.append(AuditRecord.new())
            audit_log.append(AuditRecord.new())
    summary = verify(store_url)
    assert summary.chains == {"main": 6}
    assert summary.signatures == 4  # the genesis record and one per session (close signs)


def test_chains_are_independent(store_url: str) -> None:
    with (
        AuditLog.open(store_url, chain_id="writer-a") as a,
        AuditLog.open(store_url, chain_id="writer-b") as b,
    ):
        a.append(AuditRecord.new())
        b.append(AuditRecord.new())
        b.append(AuditRecord.new())
    assert dict(verify(store_url).chains) == {"writer-a": 1, "writer-b": 2}


def test_a_chain_refuses_a_different_key(store_url: str, tmp_path: Path) -> None:
    with AuditLog.open(store_url) as audit_log:
        audit_log.append(AuditRecord.new())
    with pytest.raises(ConfigError, match="signed by key"):
        AuditLog.open(store_url, key_file=str(tmp_path / "other.key"))


@pytest.mark.parametrize("head", ["signed", "unsigned"])
def test_a_head_changed_outside_proctor_is_refused(store_url: str, attacker: Any, head: str) -> None:
    running = AuditLog.open(store_url, sync=True, settings=LogSettings(sign_interval=60.0))
    running.append(AuditRecord.new())
    if head == "unsigned":
        running.append(AuditRecord.new())  # the head is not signed yet: its MAC vouches for it
    else:
        running.close()
    sql = attacker()
    head = sql.head()
    forged = AuditRecord.new(tenant="evil").canonical_doc()
    new_hash = chain_hash("main", head["seq"] + 1, head["hash"], head["last_signed"], forged)
    sql.insert(
        {
            "chain_id": "main",
            "seq": head["seq"] + 1,
            "prev_hash": head["hash"],
            "prev_signed": head["last_signed"],
            "hash": new_hash,
            "signature": None,
            "doc": forged,
        }
    )
    sql.replace_all(
        sql.rows(), {"seq": head["seq"] + 1, "hash": new_hash, "last_signed": head["last_signed"]}
    )
    with pytest.raises(StoreError, match="changed outside Proctor"):
        AuditLog.open(store_url)
    running.close()  # its head moved under it: it cannot sign the forgery either
    with pytest.raises(AuditIntegrityError):
        verify(store_url)


def test_rotation_hands_the_chain_to_a_new_key(store_url: str) -> None:
    with AuditLog.open(store_url) as audit_log:
        old = audit_log.public_key_hex
        audit_log.append(AuditRecord.new())
        new = audit_log.rotate_key()
    assert new != old and keymod.read_public_key("proctor-signing.key") == new
    with AuditLog.open(store_url) as audit_log:  # the head is the hand-over, signed by the old key
        assert audit_log.public_key_hex == new
        audit_log.append(AuditRecord.new())
    assert verify(store_url, public_keys=[old]).keys == (old, new)
    assert verify(store_url, public_keys=[new]).records == 4
    with pytest.raises(AuditIntegrityError, match="none is a trusted public key"):
        verify(store_url, public_keys=[keymod.SigningKey.generate().public_key_hex])


def test_a_rotation_that_never_reached_the_chain_is_abandoned(store_url: str) -> None:
    with AuditLog.open(store_url) as audit_log:
        audit_log.append(AuditRecord.new())
        old = audit_log.public_key_hex
    keymod.stage_rotation("proctor-signing.key")  # as if the process died before writing the hand-over
    with AuditLog.open(store_url) as audit_log:
        assert audit_log.public_key_hex == old
    assert keymod.staged_key("proctor-signing.key") is None


def test_append_takes_only_new_call_records(sqlite_url: str) -> None:
    audit_log = AuditLog.open(sqlite_url)
    with pytest.raises(TypeError):
        audit_log.append({"tenant": "x"})  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        audit_log.append(AuditRecord.new(kind="genesis"))
    audit_log.close()
    with pytest.raises(StoreError, match="closed"):
        audit_log.append(AuditRecord.new())


def test_a_record_its_json_form_cannot_hold_is_refused_by_append(sqlite_url: str) -> None:
    with AuditLog.open(sqlite_url) as audit_log:
        with pytest.raises(ConfigError, match="cannot be encoded"):
            audit_log.append(AuditRecord.new(error="half a surrogate pair: \ud800"))
        audit_log.append(AuditRecord.new())  # the writer was never handed it, and goes on
    assert verify(sqlite_url).records == 2


def test_failure_mode_is_checked() -> None:
    with pytest.raises(ConfigError, match="failure_mode"):
        AuditLog.open("sqlite:///x.db", failure_mode="sometimes")  # type: ignore[arg-type]
