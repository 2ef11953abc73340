"""The Store seam: small Protocols per concern, opened by URL from built-ins or the ``proctor.stores`` group.

Built-in stores are keyed by URL scheme: ``sqlite:///path/to/proctor.db`` (default; WAL) and
``postgresql://user@host:5432/db`` (psycopg 3 with a pool; ``pip install 'proctor[postgres]'``). A third-party
store registers a callable ``open(url) -> Store`` under the entry-point group ``proctor.stores`` with its
scheme as the name. Every store applies its versioned schema migrations when opened and refuses, with a
``StoreError``, a database written by a newer schema.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import NamedTuple, Protocol, runtime_checkable

from proctor.approvals import ApprovalStore
from proctor.errors import StoreError
from proctor.keys import KeyStore

ENTRY_POINT_GROUP = "proctor.stores"
AUDIT_ORDERS = ("chain", "chain_desc", "newest")

# scheme -> "module:attribute" of a callable(url) -> Store; imported lazily so optional drivers stay optional.
BUILTIN_STORES: tuple[tuple[str, str], ...] = (
    ("sqlite", "proctor.store.sqlite:open_sqlite"),
    ("postgresql", "proctor.store.postgres:open_postgres"),
    ("postgres", "proctor.store.postgres:open_postgres"),
)


class SealedRow(NamedTuple):
    """One sealed audit record as stored: its chain position, hash, optional signature and document text.

    A NamedTuple rather than a frozen dataclass: verification builds hundreds of thousands per second.
    """

    chain_id: str
    seq: int
    prev_hash: str | None
    prev_signed: int | None
    hash: str
    signature: str | None
    doc: str


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The last record of a chain, and the key that signs it now.

    ``mac`` is set while the last record carries no signature yet (``last_signed < seq``): an HMAC over the
    head by a secret derived from the signing key, so the writer that reopens the chain, or a verifier
    holding the key, can tell its own unsigned records from records appended outside Proctor.
    """

    chain_id: str
    seq: int
    hash: str
    last_signed: int | None
    public_key: str
    mac: str | None = None


@dataclass(frozen=True, slots=True)
class AuditBatch:
    """One atomic write to a chain.

    The store writes ``rows`` and moves the chain head from ``expect`` (None: the chain must not exist yet)
    to ``head`` in one transaction, or writes nothing and returns False when the head is no longer
    ``expect`` (its seq, hash and last_signed). ``head_signature`` (with no rows) signs the record at
    ``expect.seq``, which must have no signature yet: the one change a stored record may ever see.
    """

    chain_id: str
    expect: ChainHead | None
    head: ChainHead
    rows: tuple[SealedRow, ...] = ()
    head_signature: str | None = None


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Which audit rows to read. Filters combine with AND; times are record-time strings (UTC ISO).

    ``order`` is ``chain`` (by chain, then sequence, resuming after the ``after`` = (chain_id, seq) key),
    ``chain_desc`` (the reverse; ``after`` then resumes below the key) or ``newest`` (by record time, newest
    first; ``after`` is ignored).
    """

    chain_id: str | None = None
    after: tuple[str, int] | None = None
    seq_to: int | None = None
    since: str | None = None
    until: str | None = None
    tenant: str | None = None
    agent: str | None = None
    session: str | None = None
    user: str | None = None
    action: str | None = None
    model: str | None = None
    policy: str | None = None
    kind: str | None = None
    signed: bool | None = None
    record_ids: tuple[str, ...] = field(default=())
    order: str = "chain"
    limit: int = 1000

    def __post_init__(self) -> None:
        if self.order not in AUDIT_ORDERS:
            raise ValueError(f"AuditQuery.order: expected one of {AUDIT_ORDERS}; found {self.order!r}")


@runtime_checkable
class AuditStore(Protocol):
    """The audit concern: append sealed batches atomically, read chain heads, read rows."""

    def append_audit(self, batch: AuditBatch) -> bool:
        """Write ``batch`` atomically; False (nothing written) if the chain head moved. Raises StoreError."""
        ...

    def audit_heads(self) -> dict[str, ChainHead]:
        """Every chain's head, by chain id."""
        ...

    def read_audit(self, query: AuditQuery) -> list[SealedRow]:
        """Up to ``query.limit`` rows matching ``query``, in its order."""
        ...


@runtime_checkable
class Store(AuditStore, ApprovalStore, KeyStore, Protocol):
    """A Proctor store: every concern's methods (audit, approvals, keys), plus its URL (password hidden) and
    close(). The built-in SQL stores get approvals and keys from ``proctor.store.tables.SqlTables``."""

    @property
    def url(self) -> str: ...

    def close(self) -> None: ...


def open_store(url: str, *, must_exist: bool = False) -> Store:
    """Open the store named by ``url``, applying pending migrations. StoreError/ConfigError say what failed.

    ``must_exist`` (for read-only commands) refuses to create a new SQLite file where none exists.
    """
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if must_exist and scheme == "sqlite":
        from proctor.store.sqlite import sqlite_path

        path = sqlite_path(url)
        if path is not None and not path.exists():
            raise StoreError(
                f"no Proctor store at {path}: nothing was written there yet. Check --store (or PROCTOR_STORAGE)"
            )
    opener = _opener(scheme)
    if opener is None:
        known = sorted({name for name, _ in BUILTIN_STORES} | set(_plugin_names()))
        from proctor.errors import ConfigError

        raise ConfigError(
            f"store URL {redact_url(url)!r}: expected a scheme among {', '.join(known)} "
            f"(e.g. sqlite:///./proctor.db); found {scheme or 'none'!r}"
        )
    return opener(url)


def _opener(scheme: str) -> Callable[[str], Store] | None:
    for name, target in BUILTIN_STORES:
        if name == scheme:
            module_name, _, attribute = target.partition(":")
            try:
                module = importlib.import_module(module_name)
            except ImportError as exc:
                raise StoreError(
                    f"the {scheme} store needs an optional package that is not installed "
                    f"({exc.name}). Fix: pip install 'proctor[postgres]'"
                ) from exc
            opener: Callable[[str], Store] = getattr(module, attribute)
            return opener
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name == scheme:
            plugin: Callable[[str], Store] = entry.load()
            return plugin
    return None


def _plugin_names() -> Sequence[str]:
    return [entry.name for entry in entry_points(group=ENTRY_POINT_GROUP)]


def redact_url(url: str) -> str:
    """Hide a password in a URL for messages."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return url
    credentials, _, host = rest.partition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else url


__all__ = [
    "BUILTIN_STORES",
    "ENTRY_POINT_GROUP",
    "AuditBatch",
    "AuditQuery",
    "AuditStore",
    "ChainHead",
    "SealedRow",
    "Store",
    "open_store",
    "redact_url",
]
