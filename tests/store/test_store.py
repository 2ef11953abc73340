"""The Store seam: opening by URL, compare-and-set batches, reads and filters, on SQLite and PostgreSQL."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest

from proctor.errors import ConfigError, StoreError
from proctor.store import AuditBatch, AuditQuery, ChainHead, SealedRow, Store, open_store
from proctor.store.sqlite import sqlite_path


def _doc(n: int, **fields: Any) -> str:
    import json

    base: dict[str, Any] = {
        "kind": "call",
        "record_id": f"00000000-0000-4000-8000-{n:012d}",
        "time": f"2025-01-01T00:00:{n:02d}",
        "tenant": "acme",
        "agent": "bot",
        "session": None,
        "user": None,
        "action": "allow",
        "model": "m",
        "policies": [],
    }
    base.update(fields)
    return json.dumps(base, sort_keys=True)


def _rows(chain: str, start: int, docs: list[str]) -> tuple[SealedRow, ...]:
    return tuple(
        SealedRow(chain, start + i, f"p{start + i}", None, f"h{start + i}", None, d)
        for i, d in enumerate(docs)
    )


def _head(chain: str, seq: int) -> ChainHead:
    return ChainHead(chain, seq, f"h{seq}", seq, "pk")


@pytest.fixture
def store(store_url: str) -> Any:
    opened = open_store(store_url)
    yield opened
    opened.close()


def test_batches_move_the_head_only_from_where_it_was(store: Store) -> None:
    assert isinstance(store, Store)
    first = AuditBatch("c", None, _head("c", 1), _rows("c", 0, [_doc(0), _doc(1)]))
    assert store.append_audit(first)
    assert not store.append_audit(first)  # the chain exists now: nothing is written
    stale = AuditBatch("c", _head("c", 0), _head("c", 2), _rows("c", 2, [_doc(2)]))
    assert not store.append_audit(stale)
    good = AuditBatch("c", _head("c", 1), _head("c", 2), _rows("c", 2, [_doc(2)]))
    assert store.append_audit(good)
    assert store.audit_heads() == {"c": _head("c", 2)}
    assert [r.seq for r in store.read_audit(AuditQuery(chain_id="c"))] == [0, 1, 2]


def test_a_missing_signature_is_added_to_the_head_record_only_once(store: Store) -> None:
    unsigned = ChainHead("c", 1, "h1", 0, "pk", mac="m")
    assert store.append_audit(AuditBatch("c", None, unsigned, _rows("c", 0, [_doc(0), _doc(1)])))
    assert store.audit_heads()["c"].mac == "m"
    signed = ChainHead("c", 1, "h1", 1, "pk")
    stale = ChainHead("c", 1, "h1", 1, "pk")  # the head moves only from the last_signed it has
    assert not store.append_audit(AuditBatch("c", stale, signed, head_signature="sig"))
    assert store.append_audit(AuditBatch("c", unsigned, signed, head_signature="sig"))
    assert store.audit_heads()["c"] == signed
    assert [r.signature for r in store.read_audit(AuditQuery(chain_id="c"))] == [None, "sig"]
    again = AuditBatch("c", ChainHead("c", 1, "h1", 0, "pk"), signed, head_signature="other")
    assert not store.append_audit(again)  # already signed: nothing changes
    assert [r.signature for r in store.read_audit(AuditQuery(chain_id="c"))] == [None, "sig"]


def test_a_taken_sequence_number_writes_nothing(store: Store) -> None:
    assert store.append_audit(AuditBatch("c", None, _head("c", 0), _rows("c", 0, [_doc(0)])))
    clash = AuditBatch(
        "c", _head("c", 0), _head("c", 1), (*_rows("c", 1, [_doc(1)]), *_rows("c", 0, [_doc(9)]))
    )
    assert not store.append_audit(clash)
    assert store.audit_heads()["c"].seq == 0
    assert len(store.read_audit(AuditQuery())) == 1


def test_reads_filter_order_and_page(store: Store) -> None:
    docs = [
        _doc(0, tenant="a"),
        _doc(1, tenant="b", policies=["pii"]),
        _doc(2, tenant="a", agent="x"),
        _doc(3, tenant="a", action="deny"),
    ]
    store.append_audit(AuditBatch("c", None, _head("c", 3), _rows("c", 0, docs)))
    store.append_audit(AuditBatch("d", None, _head("d", 0), _rows("d", 0, [_doc(4, tenant="a")])))

    def seqs(**query: Any) -> list[tuple[str, int]]:
        return [(r.chain_id, r.seq) for r in store.read_audit(AuditQuery(**query))]

    assert seqs(tenant="a") == [("c", 0), ("c", 2), ("c", 3), ("d", 0)]
    assert seqs(policy="pii") == [("c", 1)]
    assert seqs(agent="x") == [("c", 2)]
    assert seqs(action="deny") == [("c", 3)]
    assert seqs(since="2025-01-01T00:00:02", until="2025-01-01T00:00:04") == [("c", 2), ("c", 3)]
    assert seqs(after=("c", 1), limit=2) == [("c", 2), ("c", 3)]
    assert seqs(after=("c", 3)) == [("d", 0)]
    assert seqs(order="chain_desc", limit=2) == [("d", 0), ("c", 3)]
    assert seqs(order="newest", limit=2) == [("d", 0), ("c", 3)]
    assert seqs(chain_id="c", seq_to=1) == [("c", 0), ("c", 1)]
    assert seqs(record_ids=("00000000-0000-4000-8000-000000000002",)) == [("c", 2)]


def test_sqlite_urls_name_files() -> None:
    assert sqlite_path("sqlite:///./proctor.db") == Path("proctor.db")
    assert sqlite_path("sqlite:////var/lib/p.db") == Path("/var/lib/p.db")
    assert sqlite_path("sqlite:///data/p.db") == Path("data/p.db")


def test_unknown_schemes_and_bad_options_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="expected a scheme among"):
        open_store("mysql://x/y")
    with pytest.raises(ConfigError, match="synchronous"):
        open_store(f"sqlite:///{tmp_path}/p.db?synchronous=sometimes")
    with pytest.raises(StoreError, match="does not exist"):
        open_store(f"sqlite:///{tmp_path}/missing/p.db")
    with pytest.raises(StoreError, match="nothing was written there yet"):
        open_store(f"sqlite:///{tmp_path}/p.db", must_exist=True)


def test_unreachable_postgres_is_a_store_error() -> None:
    pytest.importorskip("psycopg")
    with pytest.raises(StoreError, match="cannot connect"):
        open_store("postgresql://postgres@127.0.0.1:1/nowhere?connect_timeout=1")


def test_third_party_stores_come_from_the_entry_point_group(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import proctor.store as seam

    opened: list[str] = []

    def fake_entry_points(group: str) -> list[EntryPoint]:
        assert group == "proctor.stores"
        return [EntryPoint("memo", "tests_fake_store:open_memo", group)]

    def load(self: EntryPoint) -> Any:
        def open_memo(url: str) -> Any:
            opened.append(url)
            return "a store"

        return open_memo

    monkeypatch.setattr(seam, "entry_points", fake_entry_points)
    monkeypatch.setattr(EntryPoint, "load", load)
    assert open_store("memo://anything") == "a store"  # type: ignore[comparison-overlap]
    assert opened == ["memo://anything"]



def test_sqlite_cache_option(tmp_path: Any) -> None:
    store = open_store(f"sqlite:///{tmp_path}/c.db?cache_mb=8")
    try:
        conn = store._write_connection()  # type: ignore[attr-defined]
        assert conn.execute("PRAGMA cache_size").fetchone()[0] == -8 * 1024
    finally:
        store.close()
    with pytest.raises(ConfigError, match="cache_mb"):
        open_store(f"sqlite:///{tmp_path}/c.db?cache_mb=0")
