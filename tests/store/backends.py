"""Store fixtures shared by tests/store and tests/audit: a SQLite file, a throwaway PostgreSQL database."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import uuid
from collections.abc import Iterator
from typing import Any, NoReturn

import pytest

# Read once at import: the hygiene fixture clears PROCTOR_* variables for every test.
REQUIRE_SERVICES = os.environ.get("PROCTOR_REQUIRE_SERVICES") == "1"
POSTGRES_ADMIN_URL = os.environ.get(
    "PROCTOR_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def unavailable(reason: str) -> NoReturn:
    """Skip with ``reason``, or fail when PROCTOR_REQUIRE_SERVICES=1."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (PROCTOR_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _hygiene(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for name in list(os.environ):
        if name.startswith("PROCTOR_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # default key files land in the test's own directory


@pytest.fixture(scope="session")
def postgres_admin() -> str:
    try:
        import psycopg
    except ImportError:
        unavailable("psycopg is not installed (pip install 'proctor[postgres]')")
    try:
        psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3).close()
    except psycopg.Error as exc:
        unavailable(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {str(exc).strip()}")
    return POSTGRES_ADMIN_URL


@pytest.fixture
def postgres_url(postgres_admin: str) -> Iterator[str]:
    import psycopg

    name = f"proctor_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = postgres_admin.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(postgres_admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Any) -> str:
    return f"sqlite:///{tmp_path}/proctor.db"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest) -> str:
    """The same test against a SQLite file and a real PostgreSQL database of its own."""
    return str(
        request.getfixturevalue(f"{request.param}_url" if request.param == "sqlite" else "postgres_url")
    )


class Attacker:
    """Direct SQL on an audit store, append-only triggers dropped: an attacker with database access."""

    COLUMNS = ("chain_id", "seq", "prev_hash", "prev_signed", "hash", "signature", "doc")

    def __init__(self, url: str) -> None:
        self.postgres = url.startswith("postgres")
        if self.postgres:
            import psycopg

            self.conn: Any = psycopg.connect(url, autocommit=True)
            self.conn.execute("ALTER TABLE audit_records DISABLE TRIGGER USER")
            self.mark = "%s"
        else:
            self.conn = sqlite3.connect(url.split("sqlite:///", 1)[1], isolation_level=None)
            for trigger in ("audit_records_no_delete", "audit_records_no_update"):
                self.conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
            self.mark = "?"

    def _run(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        cur = self.conn.execute(sql.replace("?", self.mark), params)
        return list(cur.fetchall()) if cur.description else []

    def rows(self, chain_id: str = "main") -> list[dict[str, Any]]:
        found = self._run(
            f"SELECT {', '.join(self.COLUMNS)} FROM audit_records WHERE chain_id = ? ORDER BY seq",
            (chain_id,),
        )
        return [dict(zip(self.COLUMNS, row, strict=True)) for row in found]

    def head(self, chain_id: str = "main") -> dict[str, Any]:
        found = self._run("SELECT seq, hash, last_signed FROM audit_chains WHERE chain_id = ?", (chain_id,))
        return dict(zip(("seq", "hash", "last_signed"), found[0], strict=True))

    def update(self, chain_id: str, seq: int, **values: Any) -> None:
        sets = ", ".join(f"{name} = ?" for name in values)
        self._run(
            f"UPDATE audit_records SET {sets} WHERE chain_id = ? AND seq = ?",
            (*values.values(), chain_id, seq),
        )

    def delete(self, chain_id: str, seq: int) -> None:
        self._run("DELETE FROM audit_records WHERE chain_id = ? AND seq = ?", (chain_id, seq))

    def insert(self, row: dict[str, Any]) -> None:
        marks = ", ".join("?" for _ in self.COLUMNS)
        self._run(
            f"INSERT INTO audit_records ({', '.join(self.COLUMNS)}) VALUES ({marks})",
            tuple(row[c] for c in self.COLUMNS),
        )

    def replace_all(self, rows: list[dict[str, Any]], head: dict[str, Any], chain_id: str = "main") -> None:
        """Make the chain hold exactly ``rows`` (renumbering is the caller's business) and ``head``."""
        self._run("DELETE FROM audit_records WHERE chain_id = ?", (chain_id,))
        for row in rows:
            self.insert(row)
        self._run(
            "UPDATE audit_chains SET seq = ?, hash = ?, last_signed = ? WHERE chain_id = ?",
            (head["seq"], head["hash"], head["last_signed"], chain_id),
        )

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()


@pytest.fixture
def attacker(store_url: str) -> Iterator[Any]:
    """A factory: ``attacker()`` gives raw SQL on ``store_url`` with the append-only triggers dropped."""
    opened: list[Attacker] = []

    def make() -> Attacker:
        opened.append(Attacker(store_url))
        return opened[-1]

    yield make
    for one in opened:
        one.close()
