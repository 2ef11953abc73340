"""Docs cannot drift: the CLI reference is generated, and every stable name appears in the README."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import proctor
from proctor.findings import BUILTIN_FINDING_TYPES
from proctor.policy import builtin_packs

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text("utf-8")


def test_cli_reference_is_current() -> None:
    spec = importlib.util.spec_from_file_location("gen_cli_docs", ROOT / "scripts" / "gen_cli_docs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    current = (ROOT / "docs" / "cli.md").read_text("utf-8")
    assert current == module.render(), "docs/cli.md is stale: run python scripts/gen_cli_docs.py"


def test_readme_names_every_finding_type_and_pack() -> None:
    for t in BUILTIN_FINDING_TYPES:
        assert f"`{t}`" in README, t
    for pack in builtin_packs():
        assert f"`{pack}`" in README, pack


def test_readme_first_screen_has_run_and_test_commands() -> None:
    first = "\n".join(README.splitlines()[:40])
    assert "make run" in first and "make test" in first and "import proctor" in first


def test_every_public_name_has_a_docstring() -> None:
    for name in proctor.__all__:
        obj = getattr(proctor, name)
        if name != "__version__":
            assert (obj.__doc__ or "").strip(), name
