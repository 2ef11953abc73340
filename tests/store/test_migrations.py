"""Schema migrations: applied on open, recorded, idempotent; a store from a newer Proctor is refused."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from proctor.errors import StoreError
from proctor.store import open_store
from proctor.store.migrations import LATEST, MIGRATIONS


def _versions(url: str) -> list[int]:
    if url.startswith("sqlite"):
        with sqlite3.connect(url.split("sqlite:///", 1)[1]) as conn:
            return [row[0] for row in conn.execute("SELECT version FROM proctor_schema ORDER BY version")]
    import psycopg

    with psycopg.connect(url) as conn:
        return [row[0] for row in conn.execute("SELECT version FROM proctor_schema ORDER BY version")]


def _set_version(url: str, version: int) -> None:
    sql = "INSERT INTO proctor_schema (version, description) VALUES ({0}, {0})"
    if url.startswith("sqlite"):
        with sqlite3.connect(url.split("sqlite:///", 1)[1]) as conn:
            conn.execute(sql.format("?"), (version, "from the future"))
        return
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute(sql.format("%s"), (version, "from the future"))


def test_opening_applies_every_migration_once(store_url: str) -> None:
    open_store(store_url).close()
    open_store(store_url).close()
    assert _versions(store_url) == [m.version for m in MIGRATIONS]
    assert MIGRATIONS[-1].version == LATEST


def test_a_store_written_by_a_newer_schema_is_refused_untouched(store_url: str) -> None:
    open_store(store_url).close()
    _set_version(store_url, LATEST + 1)
    with pytest.raises(
        StoreError, match=f"newer Proctor \\(schema version {LATEST + 1}; this version knows up to"
    ):
        open_store(store_url)
    assert _versions(store_url)[-1] == LATEST + 1


def test_records_are_append_only_in_the_database(store_url: str) -> None:
    from proctor.audit import AuditLog, AuditRecord, LogSettings

    with AuditLog.open(store_url, sync=True, settings=LogSettings(sign_interval=60.0)) as audit_log:
        for _ in range(3):  # commits after the first are not signed (close signs the last one in place)
            audit_log.append(AuditRecord.new())
    conn: Any
    if store_url.startswith("sqlite"):
        conn = sqlite3.connect(store_url.split("sqlite:///", 1)[1])
        errors: tuple[type[Exception], ...] = (sqlite3.DatabaseError,)
    else:
        import psycopg

        conn = psycopg.connect(store_url, autocommit=True)
        errors = (psycopg.Error,)
    try:
        for statement in (
            "UPDATE audit_records SET doc = '{}'",
            "UPDATE audit_records SET signature = NULL",
            "UPDATE audit_records SET signature = 'other' WHERE signature IS NOT NULL",
            "UPDATE audit_records SET signature = 'added', doc = '{}' WHERE signature IS NULL",
            "DELETE FROM audit_records",
        ):
            with pytest.raises(errors, match="append-only"):
                conn.execute(statement)
        conn.execute("UPDATE audit_records SET signature = 'added' WHERE signature IS NULL")  # the one change
    finally:
        conn.close()
