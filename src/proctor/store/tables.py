"""The approvals and API-keys tables, written once for every SQL backend.

A backend mixes :class:`SqlTables` in and supplies two primitives, ``_rows`` (a query) and ``_change`` (one
auto-committed statement, returning the rows it changed). Statements use ``?`` placeholders; a backend
whose driver wants another style sets ``_placeholder`` and they are rewritten once, when first used.
Every state change is one conditional UPDATE, so concurrent replicas and reviewers cannot both win.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from proctor.approvals import Approval, ApprovalQuery
from proctor.keys import ApiKey

_APPROVAL_COLUMNS = ", ".join(Approval._COLUMNS)
_SELECT_APPROVAL = f"SELECT {_APPROVAL_COLUMNS}, doc FROM approvals"
_KEY_COLUMNS = "id, tenant, agent, team, name, admin, created_at, revoked_at"


def table_ddl(real: str) -> tuple[str, ...]:
    """Migration 3's statements; ``real`` is the backend's double-precision type."""
    return (
        f"""CREATE TABLE approvals (
            id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            status TEXT NOT NULL,
            created_at {real} NOT NULL,
            expires_at {real} NOT NULL,
            decided_at {real},
            used_at {real},
            severity TEXT NOT NULL,
            doc TEXT NOT NULL
        )""",
        "CREATE INDEX approvals_tenant_status ON approvals (tenant, status, created_at)",
        "CREATE INDEX approvals_due ON approvals (status, expires_at)",
        f"""CREATE TABLE api_keys (
            id TEXT PRIMARY KEY,
            key_hash TEXT NOT NULL UNIQUE,
            tenant TEXT NOT NULL,
            agent TEXT,
            team TEXT,
            name TEXT,
            admin INTEGER NOT NULL DEFAULT 0,
            created_at {real} NOT NULL,
            revoked_at {real}
        )""",
        "CREATE INDEX api_keys_tenant ON api_keys (tenant)",
    )


class SqlTables:
    """Approvals and keys over ``_rows``/``_change`` (see the module docstring)."""

    _placeholder = "?"

    def _rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def _change(self, sql: str, params: Sequence[Any]) -> int:
        raise NotImplementedError

    def _sql(self, sql: str) -> str:
        return _rewrite(sql, self._placeholder)

    # -- approvals ----------------------------------------------------------------------------------------
    def create_approval(self, approval: Approval) -> None:
        self._change(self._sql(f"INSERT INTO approvals ({_APPROVAL_COLUMNS}, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                     (*_columns(approval), _dump(approval)))

    def get_approval(self, approval_id: str) -> Approval | None:
        rows = self._rows(self._sql(f"{_SELECT_APPROVAL} WHERE id = ?"), (approval_id,))
        return _approval(rows[0]) if rows else None

    def list_approvals(self, query: ApprovalQuery, now: float) -> tuple[list[Approval], int]:
        where: list[str] = []
        params: list[Any] = []
        if query.tenant is not None:
            where.append("tenant = ?")
            params.append(query.tenant)
        if query.status == "pending":
            where.append("status = 'pending' AND expires_at > ?")
            params.append(now)
        elif query.status == "expired":
            where.append("(status = 'expired' OR (status = 'pending' AND expires_at <= ?))")
            params.append(now)
        elif query.status is not None:
            where.append("status = ?")
            params.append(query.status)
        if query.severity is not None:
            where.append("severity = ?")
            params.append(query.severity)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        total = int(self._rows(self._sql(f"SELECT count(*) FROM approvals{clause}"), params)[0][0])
        rows = self._rows(self._sql(f"{_SELECT_APPROVAL}{clause} ORDER BY created_at DESC, id LIMIT ? OFFSET ?"),
                          [*params, query.limit, query.offset])
        return [_approval(row) for row in rows], total

    def update_approval(self, approval: Approval, *, expect_status: str, expect_unused: bool = False,
                        not_expired_at: float | None = None) -> bool:
        sql = "UPDATE approvals SET status = ?, decided_at = ?, used_at = ?, doc = ? WHERE id = ? AND status = ?"
        params: list[Any] = [approval.status, approval.decided_at, approval.used_at, _dump(approval), approval.id,
                             expect_status]
        if expect_unused:
            sql += " AND used_at IS NULL"
        if not_expired_at is not None:
            sql += " AND expires_at > ?"
            params.append(not_expired_at)
        return self._change(self._sql(sql), params) == 1

    def due_approvals(self, now: float, limit: int) -> list[Approval]:
        rows = self._rows(self._sql(f"{_SELECT_APPROVAL} WHERE status = 'pending' AND expires_at <= ? "
                                    "ORDER BY expires_at LIMIT ?"), (now, limit))
        return [_approval(row) for row in rows]

    # -- keys ---------------------------------------------------------------------------------------------
    def create_key(self, key: ApiKey, key_hash: str) -> None:
        self._change(self._sql(f"INSERT INTO api_keys ({_KEY_COLUMNS}, key_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                     (key.id, key.tenant, key.agent, key.team, key.name, int(key.admin), key.created_at,
                      key.revoked_at, key_hash))

    def find_key(self, key_hash: str) -> ApiKey | None:
        rows = self._rows(self._sql(f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE key_hash = ?"), (key_hash,))
        return _key(rows[0]) if rows else None

    def list_keys(self, tenant: str | None) -> list[ApiKey]:
        if tenant is None:
            rows = self._rows(f"SELECT {_KEY_COLUMNS} FROM api_keys ORDER BY tenant, created_at", ())
        else:
            rows = self._rows(self._sql(f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE tenant = ? ORDER BY created_at"),
                              (tenant,))
        return [_key(row) for row in rows]

    def revoke_key(self, key_id: str, now: float) -> bool:
        sql = self._sql("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
        return self._change(sql, (now, key_id)) == 1


@lru_cache(maxsize=64)
def _rewrite(sql: str, placeholder: str) -> str:
    return sql if placeholder == "?" else sql.replace("?", placeholder)


def _columns(a: Approval) -> tuple[Any, ...]:
    return (a.id, a.tenant, a.status, a.created_at, a.expires_at, a.decided_at, a.used_at, a.severity)


def _dump(a: Approval) -> str:
    return json.dumps(a.to_doc(), ensure_ascii=False, separators=(",", ":"))


def _approval(row: Sequence[Any]) -> Approval:
    return Approval.from_row(row[:-1], json.loads(row[-1]))


def _key(row: Sequence[Any]) -> ApiKey:
    key_id, tenant, agent, team, name, admin, created, revoked = row
    return ApiKey(id=key_id, tenant=tenant, agent=agent, team=team, name=name, admin=bool(admin),
                  created_at=float(created), revoked_at=None if revoked is None else float(revoked))
