"""When the store cannot be written: the bounded spill file, its replay, fail-open and fail-closed."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest

import proctor.audit.log as logmod
from proctor.audit import AuditLog, AuditRecord, LogSettings, verify
from proctor.errors import StoreError
from proctor.store import AuditQuery, Store, open_store


def _read_only(url: str) -> str:
    if url.startswith("sqlite"):
        return f"{url}?mode=ro"
    return f"{url}?options=-c%20default_transaction_read_only%3Don"


def _stored_tenants(url: str) -> list[str]:
    store = open_store(url)
    try:
        rows = store.read_audit(AuditQuery(kind="call", limit=10_000))
    finally:
        store.close()
    return [AuditRecord.from_json(r.doc).tenant for r in rows]


def test_a_read_only_store_spills_and_the_next_open_replays(store_url: str, tmp_path: Path) -> None:
    spill = tmp_path / "spill.jsonl"
    with AuditLog.open(store_url, spill_path=str(spill)) as audit_log:
        audit_log.append(AuditRecord.new(tenant="t0"))
    with AuditLog.open(_read_only(store_url), sync=True, spill_path=str(spill)) as audit_log:
        for n in (1, 2, 3):
            audit_log.append(AuditRecord.new(tenant=f"t{n}"))  # durable in the spill file when it returns
        stats = audit_log.stats()
        assert (stats.spilled, stats.degraded, stats.dropped) == (3, True, 0)
        assert "read-only" in (stats.last_error or "") or "readonly" in (stats.last_error or "")
    assert len(spill.read_text().splitlines()) == 3
    assert _stored_tenants(store_url) == ["t0"]
    with AuditLog.open(store_url, spill_path=str(spill)) as audit_log:
        audit_log.append(AuditRecord.new(tenant="t4"))
    assert _stored_tenants(store_url) == ["t0", "t1", "t2", "t3", "t4"]
    assert spill.read_text() == ""
    assert verify(store_url).records == 6


class _Flaky:
    """A store whose writes fail while ``down`` is set, as when a database restarts."""

    def __init__(self, inner: Store) -> None:
        self.inner, self.down = inner, False
        self.url = inner.url

    def append_audit(self, batch: Any) -> bool:
        if self.down:
            raise StoreError("database is restarting")
        return self.inner.append_audit(batch)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_records_spilled_while_running_are_replayed_in_order(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flaky: list[_Flaky] = []

    def open_flaky(url: str) -> _Flaky:
        flaky.append(_Flaky(open_store(url)))
        return flaky[-1]

    monkeypatch.setattr(logmod, "open_store", open_flaky)
    settings = LogSettings(retry_interval=0.01)
    with AuditLog.open(sqlite_url, sync=True, settings=settings, spill_path=str(tmp_path / "s")) as audit_log:
        audit_log.append(AuditRecord.new(tenant="a"))
        flaky[0].down = True
        audit_log.append(AuditRecord.new(tenant="b"))
        audit_log.append(AuditRecord.new(tenant="c"))
        assert audit_log.stats().spilled == 2
        flaky[0].down = False
        time.sleep(0.05)
        audit_log.append(AuditRecord.new(tenant="d"))
        assert audit_log.stats().spilled == 0 and not audit_log.stats().degraded
    assert _stored_tenants(sqlite_url) == ["a", "b", "c", "d"]
    assert verify(sqlite_url).records == 5


def test_fail_closed_raises_once_the_spill_is_full(store_url: str, tmp_path: Path) -> None:
    with AuditLog.open(store_url) as audit_log:
        audit_log.append(AuditRecord.new())
    settings = LogSettings(spill_max_records=2, sync_timeout=0.5)
    audit_log = AuditLog.open(
        _read_only(store_url), sync=True, settings=settings, spill_path=str(tmp_path / "s")
    )
    audit_log.append(AuditRecord.new())
    audit_log.append(AuditRecord.new())
    with pytest.raises(StoreError, match="not durable"):
        audit_log.append(AuditRecord.new())  # held in memory, not durable: the call fails
    with pytest.raises(StoreError, match=r"spill file .* is full; failing closed"):
        audit_log.append(AuditRecord.new())
    with pytest.raises(StoreError, match="closed with 1 record"):
        audit_log.close()


def test_fail_open_never_raises_and_counts_what_it_drops(
    sqlite_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with AuditLog.open(sqlite_url) as audit_log:
        audit_log.append(AuditRecord.new())
    settings = LogSettings(spill_max_records=1, max_pending=1, linger=0)
    audit_log = AuditLog.open(
        _read_only(sqlite_url), failure_mode="open", settings=settings, spill_path=str(tmp_path / "s")
    )
    with caplog.at_level(logging.ERROR, logger="proctor.audit"):
        for _ in range(5):
            audit_log.append(AuditRecord.new())
        deadline = time.monotonic() + 10
        while sum(getattr(audit_log.stats(), k) for k in ("spilled", "held", "dropped")) < 5:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        stats = audit_log.stats()
        assert (stats.spilled, stats.held, stats.dropped) == (1, 1, 3)
        audit_log.close()  # logs the held record it could not keep; does not raise in fail-open mode
    assert "dropped" in caplog.text and "closed with 1 record" in caplog.text


def test_a_torn_last_spill_line_is_skipped_on_replay(
    sqlite_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spill = tmp_path / "s"
    kept = AuditRecord.new(tenant="kept")
    spill.write_text(kept.canonical_doc() + "\n" + kept.canonical_doc()[:40], encoding="utf-8")
    with (
        caplog.at_level(logging.WARNING, logger="proctor.audit"),
        AuditLog.open(sqlite_url, spill_path=str(spill)),
    ):
        pass
    assert _stored_tenants(sqlite_url) == ["kept"]
    assert "skipped unreadable line 2" in caplog.text
