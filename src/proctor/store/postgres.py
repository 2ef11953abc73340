"""The PostgreSQL store: psycopg 3 with a connection pool; audit batches are written by COPY in a transaction.

URL: ``postgresql://user:password@host:5432/dbname`` (any libpq URL). Proctor's own query options, removed
before connecting: ``pool_min`` (default 1), ``pool_max`` (default 4) and ``connect_timeout`` (seconds to
wait for a pooled connection, default 10).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from proctor.errors import ConfigError, StoreError
from proctor.store import AuditBatch, AuditQuery, ChainHead, SealedRow, redact_url
from proctor.store.migrations import SCHEMA_TABLE_POSTGRES, pending
from proctor.store.tables import SqlTables

_OWN_OPTIONS = ("pool_min", "pool_max", "connect_timeout")
_ROW_COLUMNS = "chain_id, seq, prev_hash, prev_signed, hash, signature, doc"
_ORDER = {
    "chain": "chain_id, seq",
    "chain_desc": "chain_id DESC, seq DESC",
    "newest": "fields ->> 'time' DESC, chain_id, seq DESC",
}
_MIGRATION_LOCK = 0x70726F63  # pg_advisory_xact_lock key: "proc"


def open_postgres(url: str) -> PostgresStore:
    """Open (migrating when needed) the PostgreSQL store named by ``url``."""
    return PostgresStore(url)


class PostgresStore(SqlTables):
    """Store on a PostgreSQL database (see the module docstring for the URL)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        query = parse_qsl(parts.query)
        options = {k: v for k, v in query if k in _OWN_OPTIONS}
        kept = urlencode([(k, v) for k, v in query if k not in _OWN_OPTIONS], quote_via=quote)
        conninfo = urlunsplit(parts._replace(scheme="postgresql", query=kept))
        try:
            pool_min = int(options.get("pool_min", "1"))
            pool_max = int(options.get("pool_max", "4"))
            self._timeout = float(options.get("connect_timeout", "10"))
        except ValueError:
            raise ConfigError(
                f"store URL {redact_url(url)!r}: pool_min, pool_max and connect_timeout must be "
                f"numbers; found {options}"
            ) from None
        self._url = redact_url(url)
        try:  # one direct attempt first: it fails fast, with the server's own reason
            psycopg.connect(conninfo, connect_timeout=max(1, round(self._timeout))).close()
        except psycopg.Error as exc:
            raise self._error("cannot connect", exc) from exc
        self._pool = ConnectionPool(
            conninfo,
            min_size=pool_min,
            max_size=max(pool_min, pool_max),
            open=False,
            timeout=self._timeout,
            name="proctor",
        )
        try:
            self._pool.open(wait=True, timeout=self._timeout)
        except PoolTimeout as exc:
            self._pool.close()
            raise StoreError(
                f"PostgreSQL store {self._url}: cannot connect within {self._timeout:g}s. Is the "
                f"server running, and do the host, port, database and credentials match?"
            ) from exc
        try:
            self._migrate()
        except BaseException:
            self._pool.close()
            raise

    @property
    def url(self) -> str:
        return self._url

    def close(self) -> None:
        self._pool.close()

    def _error(self, what: str, exc: Exception) -> StoreError:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return StoreError(f"PostgreSQL store {self._url}: {what}: {detail}")

    def _migrate(self) -> None:
        try:
            with self._pool.connection() as conn:
                found = _schema_version(conn)
                conn.commit()
                if not pending(found, self._url):
                    return
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                    conn.execute(SCHEMA_TABLE_POSTGRES)
                    for migration in pending(_schema_version(conn), self._url):
                        for statement in migration.postgres:
                            conn.execute(statement)
                        conn.execute(
                            "INSERT INTO proctor_schema (version, description) VALUES (%s, %s)",
                            (migration.version, migration.description),
                        )
        except (psycopg.Error, PoolTimeout) as exc:
            raise self._error("cannot apply schema migrations", exc) from exc

    # -- the primitives of SqlTables (approvals and keys) -------------------------------------------------

    _placeholder = "%s"

    def _rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        try:
            with self._pool.connection() as conn:
                return conn.execute(sql, params).fetchall()
        except (psycopg.Error, PoolTimeout) as exc:
            raise self._error("cannot read", exc) from exc

    def _change(self, sql: str, params: Sequence[Any]) -> int:
        try:
            with self._pool.connection() as conn:  # commits when the block ends
                return conn.execute(sql, params).rowcount
        except (psycopg.Error, PoolTimeout) as exc:
            raise self._error("cannot write", exc) from exc

    # -- audit ------------------------------------------------------------------------------------------

    def append_audit(self, batch: AuditBatch) -> bool:
        try:
            with self._pool.connection() as conn:
                with conn.transaction():
                    if not _move_head(conn, batch) or not _sign_head(conn, batch):
                        raise _Conflict
                    if batch.rows:
                        with (
                            conn.cursor() as cur,
                            cur.copy(f"COPY audit_records ({_ROW_COLUMNS}) FROM STDIN") as copy,
                        ):
                            for row in batch.rows:  # SealedRow is a tuple in column order
                                copy.write_row(row)
                return True
        except _Conflict:
            return False
        except psycopg.errors.UniqueViolation:
            return False  # another writer created the chain or took the sequence number first
        except (psycopg.Error, PoolTimeout) as exc:
            raise self._error("cannot write audit records", exc) from exc

    def audit_heads(self) -> dict[str, ChainHead]:
        try:
            with self._pool.connection() as conn:
                rows = conn.execute(
                    "SELECT chain_id, seq, hash, last_signed, public_key, mac FROM audit_chains"
                ).fetchall()
        except (psycopg.Error, PoolTimeout) as exc:
            raise self._error("cannot read chain heads", exc) from exc
        return {
            row[0]: ChainHead(
                row[0], int(row[1]), row[2], None if row[3] is None else int(row[3]), row[4], row[5]
            )
            for row in rows
        }

    def read_audit(self, query: AuditQuery) -> list[SealedRow]:
        where, params = _where(query)
        sql = (
            f"SELECT {_ROW_COLUMNS} FROM audit_records {'WHERE ' + ' AND '.join(where) if where else ''} "
            f"ORDER BY {_ORDER[query.order]} LIMIT %s"
        )
        try:
            with self._pool.connection() as conn, conn.transaction():
                if query.chain_id is not None and query.order != "newest":
                    # Walking one chain in pages: the primary key gives rows in order. Before ANALYZE has
                    # seen a freshly filled table the planner can pick a bitmap scan plus a sort of the
                    # whole remaining chain for every page, 20x slower; rule those out for this query.
                    conn.execute("SET LOCAL enable_bitmapscan = off")
                    conn.execute("SET LOCAL enable_sort = off")
                rows = conn.execute(sql, [*params, query.limit]).fetchall()
        except (psycopg.Error, PoolTimeout) as exc:
            raise self._error("cannot read audit records", exc) from exc
        return list(map(SealedRow._make, rows))


class _Conflict(Exception):
    """The chain head moved: roll the transaction back and report False."""


def _schema_version(conn: psycopg.Connection[Any]) -> int | None:
    row = conn.execute("SELECT to_regclass('proctor_schema') IS NOT NULL").fetchone()
    if row is None or not row[0]:
        return None
    found = conn.execute("SELECT max(version) FROM proctor_schema").fetchone()
    return None if found is None or found[0] is None else int(found[0])


def _move_head(conn: psycopg.Connection[Any], batch: AuditBatch) -> bool:
    head = batch.head
    if batch.expect is None:
        conn.execute(
            "INSERT INTO audit_chains (chain_id, seq, hash, last_signed, public_key, mac) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            (head.chain_id, head.seq, head.hash, head.last_signed, head.public_key, head.mac),
        )
        return True
    cur = conn.execute(
        "UPDATE audit_chains SET seq = %s, hash = %s, last_signed = %s, public_key = %s, mac = %s, "
        "updated_at = now() "
        "WHERE chain_id = %s AND seq = %s AND hash = %s AND last_signed IS NOT DISTINCT FROM %s::bigint",
        (
            head.seq,
            head.hash,
            head.last_signed,
            head.public_key,
            head.mac,
            batch.chain_id,
            batch.expect.seq,
            batch.expect.hash,
            batch.expect.last_signed,
        ),
    )
    return cur.rowcount == 1


def _sign_head(conn: psycopg.Connection[Any], batch: AuditBatch) -> bool:
    if batch.head_signature is None or batch.expect is None:
        return True
    cur = conn.execute(
        "UPDATE audit_records SET signature = %s WHERE chain_id = %s AND seq = %s AND signature IS NULL",
        (batch.head_signature, batch.chain_id, batch.expect.seq),
    )
    return cur.rowcount == 1


def _where(query: AuditQuery) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    equal = (
        ("chain_id", query.chain_id),
        ("fields ->> 'tenant'", query.tenant),
        ("fields ->> 'agent'", query.agent),
        ("fields ->> 'session'", query.session),
        ("fields ->> 'user'", query.user),
        ("fields ->> 'action'", query.action),
        ("fields ->> 'model'", query.model),
        ("fields ->> 'kind'", query.kind),
    )
    for column, value in equal:
        if value is not None:
            where.append(f"{column} = %s")
            params.append(value)
    if query.after is not None and query.order != "newest":
        where.append("(chain_id, seq) > (%s, %s)" if query.order == "chain" else "(chain_id, seq) < (%s, %s)")
        params.extend(query.after)
    if query.seq_to is not None:
        where.append("seq <= %s")
        params.append(query.seq_to)
    if query.since is not None:
        where.append("fields ->> 'time' >= %s")
        params.append(query.since)
    if query.until is not None:
        where.append("fields ->> 'time' < %s")
        params.append(query.until)
    if query.signed is not None:
        where.append("signature IS NOT NULL" if query.signed else "signature IS NULL")
    if query.policy is not None:
        where.append("fields -> 'policies' ? %s")
        params.append(query.policy)
    if query.record_ids:
        where.append("fields ->> 'record_id' = ANY(%s)")
        params.append(list(query.record_ids))
    return where, params
