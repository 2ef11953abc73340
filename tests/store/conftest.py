"""Store fixtures (store_url over SQLite and PostgreSQL, sqlite_url, postgres_url, attacker, hygiene)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def _backends() -> ModuleType:
    # tests/ is not a package: load the shared fixture module once, by path, for tests/store and tests/audit.
    name = "proctor_test_backends"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).parents[1] / "store" / "backends.py"
        )
        if spec is None or spec.loader is None:
            raise ImportError(name)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


_shared = _backends()
_hygiene = _shared._hygiene
attacker = _shared.attacker
postgres_admin = _shared.postgres_admin
postgres_url = _shared.postgres_url
sqlite_url = _shared.sqlite_url
store_url = _shared.store_url
