"""Store fixtures (store_url over SQLite and PostgreSQL, sqlite_url, postgres_url, attacker, hygiene)."""

from tests.store.backends import (  # noqa: F401 - pytest fixtures, registered by import
    _hygiene,
    attacker,
    postgres_admin,
    postgres_url,
    sqlite_url,
    store_url,
)
