"""The SQLite store: one file in WAL mode, one locked write connection, a fresh connection per read.

URL: ``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db``. Query options:
``synchronous`` (``full``, the default, fsyncs every commit; ``normal`` survives a process crash but not a
power loss), ``busy_timeout`` (milliseconds to wait for another writer's lock, default 10000),
``cache_mb`` (the write connection's page cache, default 64: index pages stay cached as the tables grow;
it is most of a busy server's resident memory, so lower it where memory is tight) and
``mode=ro`` (open read-only: reads work, every write fails with StoreError).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from functools import cache
from itertools import chain
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from proctor.errors import ConfigError, StoreError
from proctor.store import AuditBatch, AuditQuery, ChainHead, SealedRow
from proctor.store.migrations import SCHEMA_TABLE_SQLITE, pending
from proctor.store.tables import SqlTables

_SYNCHRONOUS = ("full", "normal", "extra")
_ORDER = {
    "chain": "chain_id, seq",
    "chain_desc": "chain_id DESC, seq DESC",
    "newest": "time DESC, chain_id, seq DESC",
}
_ROW_COLUMNS = "chain_id, seq, prev_hash, prev_signed, hash, signature, doc"
# Rows per INSERT statement: 128 rows x 7 columns stays under SQLite's oldest variable limit (999). Python's
# sqlite3 releases the interpreter lock around every statement step, so executemany() would hand the lock
# back and forth once per row while producer threads want it; one step per 128 rows lets them run.
_ROWS_PER_INSERT = 128


def sqlite_path(url: str) -> Path | None:
    """The file path in a ``sqlite:///`` URL (None when the URL names no file)."""
    parts = urlsplit(url)
    raw = unquote(parts.path)
    if parts.netloc:
        raw = f"{parts.netloc}{raw}"
    elif raw.startswith("/"):
        raw = raw[1:]
    return Path(raw) if raw else None


def open_sqlite(url: str) -> SQLiteStore:
    """Open (creating and migrating when needed) the SQLite store named by ``url``."""
    return SQLiteStore(url)


class SQLiteStore(SqlTables):
    """Store on one SQLite file (see the module docstring for the URL)."""

    def __init__(self, url: str) -> None:
        path = sqlite_path(url)
        if path is None or str(path) == ":memory:":
            raise ConfigError(
                f"store URL {url!r}: expected a file path, e.g. sqlite:///./proctor.db "
                f"(an in-memory database cannot be shared by the audit writer thread)"
            )
        options = {key: values[-1] for key, values in parse_qs(urlsplit(url).query).items()}
        synchronous = options.get("synchronous", "full").lower()
        if synchronous not in _SYNCHRONOUS:
            raise ConfigError(
                f"store URL option synchronous: expected one of {', '.join(_SYNCHRONOUS)}; "
                f"found {synchronous!r}"
            )
        try:
            self._busy_ms = int(options.get("busy_timeout", "10000"))
        except ValueError:
            raise ConfigError(
                f"store URL option busy_timeout: expected milliseconds; found {options['busy_timeout']!r}"
            ) from None
        try:
            self._cache_mb = int(options.get("cache_mb", "64"))
            if self._cache_mb < 1:
                raise ValueError
        except ValueError:
            raise ConfigError(
                f"store URL option cache_mb: expected a positive number of MiB; found {options['cache_mb']!r}"
            ) from None
        self.path = path
        self._url = f"sqlite:///{path}"
        self._synchronous = synchronous
        self._read_only = options.get("mode", "rw").lower() == "ro"
        self._lock = threading.Lock()
        self._writer: sqlite3.Connection | None = None
        if not path.parent.exists():
            raise StoreError(
                f"SQLite store {path}: directory {path.parent} does not exist. Create it, or "
                f"point --store at another path"
            )
        with self._lock:
            self._migrate(self._write_connection())

    @property
    def url(self) -> str:
        return self._url

    def close(self) -> None:
        with self._lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None

    # -- connections ------------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        try:
            target = f"file:{quote(str(self.path.resolve()))}?mode=ro" if self._read_only else str(self.path)
            conn = sqlite3.connect(
                target,
                timeout=self._busy_ms / 1000,
                isolation_level=None,
                check_same_thread=False,
                uri=self._read_only,
            )
            conn.execute(f"PRAGMA busy_timeout = {self._busy_ms}")
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
            return conn
        except sqlite3.Error as exc:
            raise self._error("cannot open", exc) from exc

    def _write_connection(self) -> sqlite3.Connection:
        if self._writer is None:
            conn = self._connect()
            try:
                # A read-only file keeps its journal mode; its writes fail later, and say so.
                with contextlib.suppress(sqlite3.OperationalError):
                    conn.execute("PRAGMA journal_mode = WAL")
                conn.execute(f"PRAGMA cache_size = -{self._cache_mb * 1024}")
                conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
            except sqlite3.Error as exc:
                conn.close()
                raise self._error("cannot open", exc) from exc
            self._writer = conn
        return self._writer

    def _drop_writer(self) -> None:
        # After a write error the connection may be stuck read-only (file permissions changed back, disk
        # remounted): reconnect on the next write.
        if self._writer is not None:
            with contextlib.suppress(sqlite3.Error):
                self._writer.close()
            self._writer = None

    @contextlib.contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        conn = self._connect()
        try:
            yield conn
        finally:
            conn.close()

    def _error(self, what: str, exc: sqlite3.Error) -> StoreError:
        return StoreError(f"SQLite store {self.path}: {what}: {exc}")

    # -- migrations -------------------------------------------------------------------------------------

    def _migrate(self, conn: sqlite3.Connection) -> None:
        try:
            found = _schema_version(conn)
            todo = pending(found, str(self.path))
            if not todo:
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(SCHEMA_TABLE_SQLITE)
                found = _schema_version(conn)  # re-read under the lock: another process may have migrated
                for migration in pending(found, str(self.path)):
                    for statement in migration.sqlite:
                        conn.execute(statement)
                    conn.execute(
                        "INSERT INTO proctor_schema (version, description) VALUES (?, ?)",
                        (migration.version, migration.description),
                    )
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            self._drop_writer()
            raise self._error("cannot apply schema migrations", exc) from exc

    # -- the primitives of SqlTables (approvals and keys) -------------------------------------------------

    def _rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        try:
            with self._reader() as conn:
                return conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._error("cannot read", exc) from exc

    def _change(self, sql: str, params: Sequence[Any]) -> int:
        with self._lock:  # the one write connection, in autocommit mode: each statement is a transaction
            try:
                return self._write_connection().execute(sql, params).rowcount
            except sqlite3.IntegrityError as exc:
                raise self._error("cannot write", exc) from exc
            except sqlite3.Error as exc:
                self._drop_writer()
                raise self._error("cannot write", exc) from exc

    # -- audit ------------------------------------------------------------------------------------------

    def append_audit(self, batch: AuditBatch) -> bool:
        with self._lock:
            conn = self._write_connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    if not _move_head(conn, batch) or not _sign_head(conn, batch):
                        conn.execute("ROLLBACK")
                        return False
                    _insert_rows(conn, batch.rows)
                    conn.execute("COMMIT")
                    return True
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.IntegrityError:
                return False  # another writer created the chain or took the sequence number first
            except sqlite3.Error as exc:
                self._drop_writer()
                raise self._error("cannot write audit records", exc) from exc

    def audit_heads(self) -> dict[str, ChainHead]:
        try:
            with self._reader() as conn:
                rows = conn.execute(
                    "SELECT chain_id, seq, hash, last_signed, public_key, mac FROM audit_chains"
                ).fetchall()
        except sqlite3.Error as exc:
            raise self._error("cannot read chain heads", exc) from exc
        return {row[0]: ChainHead(*row) for row in rows}

    def read_audit(self, query: AuditQuery) -> list[SealedRow]:
        where, params = _where(query)
        order = _ORDER[query.order]
        sql = (
            f"SELECT {_ROW_COLUMNS} FROM audit_records {'WHERE ' + ' AND '.join(where) if where else ''} "
            f"ORDER BY {order} LIMIT ?"
        )
        try:
            with self._reader() as conn:
                rows = conn.execute(sql, [*params, query.limit]).fetchall()
        except sqlite3.Error as exc:
            raise self._error("cannot read audit records", exc) from exc
        return list(map(SealedRow._make, rows))


def _schema_version(conn: sqlite3.Connection) -> int | None:
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'proctor_schema'"
    ).fetchone()
    if exists is None:
        return None
    row = conn.execute("SELECT max(version) FROM proctor_schema").fetchone()
    return None if row is None or row[0] is None else int(row[0])


def _insert_rows(conn: sqlite3.Connection, rows: Sequence[SealedRow]) -> None:
    """Insert ``rows`` (tuples in column order) with few statements: full chunks, then halving sizes, so
    only a handful of distinct statements ever reach the statement cache."""
    start, total, size = 0, len(rows), _ROWS_PER_INSERT
    while start < total:
        while size > total - start:
            size //= 2
        conn.execute(_insert_sql(size), list(chain.from_iterable(rows[start : start + size])))
        start += size


@cache
def _insert_sql(rows: int) -> str:
    return f"INSERT INTO audit_records ({_ROW_COLUMNS}) VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * rows)


def _move_head(conn: sqlite3.Connection, batch: AuditBatch) -> bool:
    head = batch.head
    if batch.expect is None:
        conn.execute(
            "INSERT INTO audit_chains (chain_id, seq, hash, last_signed, public_key, mac) VALUES (?, ?, ?, ?, ?, ?)",
            (head.chain_id, head.seq, head.hash, head.last_signed, head.public_key, head.mac),
        )
        return True
    cur = conn.execute(
        "UPDATE audit_chains SET seq = ?, hash = ?, last_signed = ?, public_key = ?, mac = ?, "
        "updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') "
        "WHERE chain_id = ? AND seq = ? AND hash = ? AND last_signed IS ?",
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


def _sign_head(conn: sqlite3.Connection, batch: AuditBatch) -> bool:
    if batch.head_signature is None or batch.expect is None:
        return True
    cur = conn.execute(
        "UPDATE audit_records SET signature = ? WHERE chain_id = ? AND seq = ? AND signature IS NULL",
        (batch.head_signature, batch.chain_id, batch.expect.seq),
    )
    return cur.rowcount == 1


def _where(query: AuditQuery) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    equal = (
        ("chain_id", query.chain_id),
        ("tenant", query.tenant),
        ("agent", query.agent),
        ("session", query.session),
        ("user", query.user),
        ("action", query.action),
        ("model", query.model),
        ("kind", query.kind),
    )
    for column, value in equal:
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if query.after is not None and query.order != "newest":
        if query.after[0] == query.chain_id:
            # Within one chain, a plain seq bound: SQLite uses a row-value bound only for its first column,
            # so each page of a chain walk would rescan the chain from its start.
            where.append("seq > ?" if query.order == "chain" else "seq < ?")
            params.append(query.after[1])
        else:
            where.append("(chain_id, seq) > (?, ?)" if query.order == "chain" else "(chain_id, seq) < (?, ?)")
            params.extend(query.after)
    if query.seq_to is not None:
        where.append("seq <= ?")
        params.append(query.seq_to)
    if query.since is not None:
        where.append("time >= ?")
        params.append(query.since)
    if query.until is not None:
        where.append("time < ?")
        params.append(query.until)
    if query.signed is not None:
        where.append("signature IS NOT NULL" if query.signed else "signature IS NULL")
    if query.policy is not None:
        where.append("EXISTS (SELECT 1 FROM json_each(audit_records.doc, '$.policies') WHERE value = ?)")
        params.append(query.policy)
    if query.record_ids:
        where.append(f"record_id IN ({', '.join('?' * len(query.record_ids))})")
        params.extend(query.record_ids)
    return where, params
