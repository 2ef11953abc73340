"""Audit test fixtures: the shared store fixtures (SQLite and PostgreSQL), plus hygiene."""

from tests.store.backends import (  # noqa: F401 - pytest fixtures, registered by import
    _hygiene,
    attacker,
    postgres_admin,
    postgres_url,
    sqlite_url,
    store_url,
)
