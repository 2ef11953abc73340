"""Proctor API keys: who is calling, for ``auth: keys``.

A key looks like ``pk-<id>-<secret>``: the id is public (listed, revoked, shown in logs), the secret is
48 random URL-safe characters. Only the key's SHA-256 is stored; the key itself is printed once by
``proctor keys create``. (A fast hash is right here: the secret has 288 bits of entropy, so there is nothing
to brute-force, and every request pays for the lookup.)

A key binds a tenant, and optionally an agent and a team (the agent alias used when the request names
none). ``admin`` keys may also use the management routes (approvals queue, decisions, stats) of their
tenant. Tenants never see each other's approvals or audit records.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

from proctor.errors import ConfigError

KEY_PREFIX = "pk"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$")
CACHE_TTL_S = 10.0  # a revoked key stops working within this long on every replica
_CACHE_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A stored key (never the secret): its id, what it binds, and its lifetime."""

    id: str
    tenant: str
    agent: str | None = None
    team: str | None = None
    name: str | None = None
    admin: bool = False
    created_at: float = 0.0
    revoked_at: float | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class KeyStore(Protocol):
    """The keys concern of a Store (``proctor.store``)."""

    def create_key(self, key: ApiKey, key_hash: str) -> None: ...

    def find_key(self, key_hash: str) -> ApiKey | None: ...

    def list_keys(self, tenant: str | None) -> list[ApiKey]: ...

    def revoke_key(self, key_id: str, now: float) -> bool: ...


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def check_name(kind: str, value: str | None) -> str | None:
    """Tenant, agent and team names: 1-128 of letters, digits and ``_ . : @ -``."""
    if value is None:
        return None
    if not _NAME.match(value):
        raise ConfigError(f"{kind} {value!r}: expected 1-128 letters, digits or _ . : @ - (starting with a letter "
                          "or digit)")
    return value


class KeyRing:
    """Creates, resolves (with a short cache), lists and revokes keys in a :class:`KeyStore`."""

    def __init__(self, store: KeyStore, *, cache_ttl_s: float = CACHE_TTL_S) -> None:
        self.store = store
        self.cache_ttl_s = cache_ttl_s
        self._cache: OrderedDict[str, tuple[float, ApiKey | None]] = OrderedDict()
        self._lock = threading.Lock()

    def create(self, tenant: str, *, agent: str | None = None, team: str | None = None, name: str | None = None,
               admin: bool = False) -> tuple[ApiKey, str]:
        """A new key: the stored record, and the key text, which is shown once and never stored."""
        check_name("tenant", tenant)
        check_name("agent", agent)
        check_name("team", team)
        key_id = secrets.token_hex(6)
        text = f"{KEY_PREFIX}-{key_id}-{secrets.token_urlsafe(36)}"
        record = ApiKey(id=key_id, tenant=tenant, agent=agent, team=team, name=name, admin=admin,
                        created_at=time.time())
        self.store.create_key(record, hash_key(text))
        return record, text

    def resolve(self, text: str) -> ApiKey | None:
        """The active key with this text, or None (unknown, malformed or revoked)."""
        if not text.startswith(f"{KEY_PREFIX}-") or len(text) > 200:
            return None
        digest = hash_key(text)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(digest)
        if hit is not None and now - hit[0] < self.cache_ttl_s:
            return hit[1]
        found = self.store.find_key(digest)
        if found is not None and not found.active:
            found = None
        with self._lock:
            self._cache[digest] = (now, found)
            self._cache.move_to_end(digest)
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return found

    def list(self, tenant: str | None = None) -> list[ApiKey]:
        return self.store.list_keys(tenant)

    def revoke(self, key_id: str) -> bool:
        """Revoke a key by id; False when no active key has that id. Other replicas stop accepting it within
        ``cache_ttl_s``; this one at once."""
        done = self.store.revoke_key(key_id, time.time())
        with self._lock:
            self._cache.clear()
        return done
