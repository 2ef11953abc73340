"""Versioned schema migrations for every store backend, applied in order when a store opens.

Each migration has one version number and the SQL for each backend. The ``proctor_schema`` table lists the
versions applied. A store whose highest version is above :data:`LATEST` was written by a newer Proctor and
is refused. To change the schema, append a Migration with the next version; never edit a released one.
"""

from __future__ import annotations

from dataclasses import dataclass

from proctor.errors import StoreError
from proctor.store.tables import table_ddl


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: its version, a description, and the statements for SQLite and PostgreSQL."""

    version: int
    description: str
    sqlite: tuple[str, ...]
    postgres: tuple[str, ...]


# Columns other than the chain fields are generated from the sealed document, so they cannot drift from
# what the hash covers; indexes on them serve `proctor audit query`. Triggers keep records append-only
# (an accident guard: verification, not the database, is what proves nothing was changed).
_AUDIT_SQLITE = (
    """CREATE TABLE audit_chains (
        chain_id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL,
        hash TEXT NOT NULL,
        last_signed INTEGER,
        public_key TEXT NOT NULL,
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    )""",
    """CREATE TABLE audit_records (
        chain_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        prev_hash TEXT,
        prev_signed INTEGER,
        hash TEXT NOT NULL,
        signature TEXT,
        doc TEXT NOT NULL,
        record_id TEXT GENERATED ALWAYS AS (json_extract(doc, '$.record_id')) VIRTUAL,
        time TEXT GENERATED ALWAYS AS (json_extract(doc, '$.time')) VIRTUAL,
        tenant TEXT GENERATED ALWAYS AS (json_extract(doc, '$.tenant')) VIRTUAL,
        agent TEXT GENERATED ALWAYS AS (json_extract(doc, '$.agent')) VIRTUAL,
        session TEXT GENERATED ALWAYS AS (json_extract(doc, '$.session')) VIRTUAL,
        user TEXT GENERATED ALWAYS AS (json_extract(doc, '$.user')) VIRTUAL,
        action TEXT GENERATED ALWAYS AS (json_extract(doc, '$.action')) VIRTUAL,
        model TEXT GENERATED ALWAYS AS (json_extract(doc, '$.model')) VIRTUAL,
        kind TEXT GENERATED ALWAYS AS (json_extract(doc, '$.kind')) VIRTUAL,
        PRIMARY KEY (chain_id, seq)
    )""",
    "CREATE INDEX audit_records_time ON audit_records (time)",
    "CREATE INDEX audit_records_tenant_time ON audit_records (tenant, time)",
    "CREATE INDEX audit_records_record_id ON audit_records (record_id)",
    """CREATE TRIGGER audit_records_no_delete BEFORE DELETE ON audit_records
       BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END""",
    """CREATE TRIGGER audit_records_no_update BEFORE UPDATE ON audit_records
       BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END""",
)

_AUDIT_POSTGRES = (
    """CREATE TABLE audit_chains (
        chain_id TEXT PRIMARY KEY,
        seq BIGINT NOT NULL,
        hash TEXT NOT NULL,
        last_signed BIGINT,
        public_key TEXT NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )""",
    # One generated JSONB copy of the document, parsed once per insert; the indexes are on expressions
    # over it (a generated column per field would parse the text once per column, 3x slower to write).
    """CREATE TABLE audit_records (
        chain_id TEXT NOT NULL,
        seq BIGINT NOT NULL,
        prev_hash TEXT,
        prev_signed BIGINT,
        hash TEXT NOT NULL,
        signature TEXT,
        doc TEXT NOT NULL,
        fields JSONB GENERATED ALWAYS AS (doc::jsonb) STORED,
        PRIMARY KEY (chain_id, seq)
    )""",
    "CREATE INDEX audit_records_time ON audit_records ((fields ->> 'time'))",
    "CREATE INDEX audit_records_tenant_time ON audit_records ((fields ->> 'tenant'), (fields ->> 'time'))",
    "CREATE INDEX audit_records_record_id ON audit_records ((fields ->> 'record_id'))",
    """CREATE FUNCTION proctor_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'audit records are append-only'; END $$""",
    """CREATE TRIGGER audit_records_append_only BEFORE UPDATE OR DELETE ON audit_records
       FOR EACH ROW EXECUTE FUNCTION proctor_audit_append_only()""",
)

# Version 2: signatures at most every sign interval (see proctor.audit.chain). A chain head not signed yet
# carries a MAC, and the newest record's missing signature may be added later: the append-only guard
# allows exactly that one change, from NULL to a value, with every other column unchanged.
_SEAL_SQLITE = (
    "ALTER TABLE audit_chains ADD COLUMN mac TEXT",
    "DROP TRIGGER audit_records_no_update",
    """CREATE TRIGGER audit_records_no_update BEFORE UPDATE ON audit_records
       WHEN NOT (OLD.signature IS NULL AND NEW.signature IS NOT NULL AND NEW.chain_id IS OLD.chain_id
                 AND NEW.seq IS OLD.seq AND NEW.prev_hash IS OLD.prev_hash
                 AND NEW.prev_signed IS OLD.prev_signed AND NEW.hash IS OLD.hash AND NEW.doc IS OLD.doc)
       BEGIN SELECT RAISE(ABORT, 'audit records are append-only (only a missing signature may be added)'); END""",
)

_SEAL_POSTGRES = (
    "ALTER TABLE audit_chains ADD COLUMN mac TEXT",
    """CREATE OR REPLACE FUNCTION proctor_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP = 'UPDATE' AND OLD.signature IS NULL AND NEW.signature IS NOT NULL
            AND (NEW.chain_id, NEW.seq, NEW.prev_hash, NEW.prev_signed, NEW.hash, NEW.doc)
                IS NOT DISTINCT FROM (OLD.chain_id, OLD.seq, OLD.prev_hash, OLD.prev_signed, OLD.hash, OLD.doc)
         THEN
           RETURN NEW;
         END IF;
         RAISE EXCEPTION 'audit records are append-only (only a missing signature may be added)';
       END $$""",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "audit chains and records", _AUDIT_SQLITE, _AUDIT_POSTGRES),
    Migration(2, "chain head MAC; a missing signature may be added", _SEAL_SQLITE, _SEAL_POSTGRES),
    # Version 3: the approvals queue and API keys (proctor.store.tables holds their SQL).
    Migration(3, "approvals queue and API keys", table_ddl("REAL"), table_ddl("DOUBLE PRECISION")),
)

LATEST = MIGRATIONS[-1].version

SCHEMA_TABLE_SQLITE = """CREATE TABLE IF NOT EXISTS proctor_schema (
    version INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
)"""

SCHEMA_TABLE_POSTGRES = """CREATE TABLE IF NOT EXISTS proctor_schema (
    version INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)"""


def pending(found: int | None, where: str) -> tuple[Migration, ...]:
    """The migrations still to apply to a store at version ``found`` (None: empty store).

    Raises StoreError when the store is newer than this Proctor knows.
    """
    current = found or 0
    if current > LATEST:
        raise StoreError(
            f"store {where} was written by a newer Proctor (schema version {current}; this "
            f"version knows up to {LATEST}). Upgrade Proctor, or point it at another store; the "
            f"store was not changed"
        )
    return tuple(m for m in MIGRATIONS if m.version > current)
