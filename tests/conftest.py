"""Shared fixtures and environment hygiene for the whole suite."""

from __future__ import annotations

import os

import pytest

REQUIRE_SERVICES = os.environ.get("PROCTOR_REQUIRE_SERVICES") == "1"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's proxies or Proctor settings."""
    for name in list(os.environ):
        if name.startswith("PROCTOR_") and name != "PROCTOR_REQUIRE_SERVICES":
            monkeypatch.delenv(name, raising=False)
        if name.lower() in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
            monkeypatch.delenv(name, raising=False)


def skip_or_fail(reason: str) -> None:
    """Skip when a service is absent, but fail under PROCTOR_REQUIRE_SERVICES=1 (CI)."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)
