"""Policy fixtures: example inputs with expected outcomes, so policy sets have unit tests like code."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from proctor.identity import Identity
from proctor.policy.loader import BUILTIN_PREFIX

_CASE_KEYS = {"name", "input", "scope", "identity", "expect"}
_EXPECT_KEYS = {"action", "types", "policies"}
_IDENTITY_KEYS = {"tenant", "agent", "model", "client", "session", "user"}


class FixtureError(ValueError):
    """A fixture file is malformed; the message names the file and case."""


@dataclass(frozen=True)
class CaseResult:
    file: str
    name: str
    passed: bool
    problems: tuple[str, ...] = field(default=())


def _is_fixture(data: Any) -> bool:
    return isinstance(data, dict) and "cases" in data


def run_fixture_dir(directory: Path, *, default_sources: Sequence[str] = ()) -> list[CaseResult]:
    """Run every fixture file in ``directory`` (or the one file given) and return one result per case."""
    from proctor.governor import Governor  # local: the policy package must not depend on the pipeline
    from proctor.policy import load_policies

    files = [directory] if directory.is_file() else sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    loaded: list[tuple[Path, dict[str, Any]]] = []
    policy_files: list[str] = []
    for f in files:
        try:
            data = yaml.safe_load(f.read_text("utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise FixtureError(f"{f}: not valid YAML: {exc}") from None
        if _is_fixture(data):
            loaded.append((f, data))
        elif isinstance(data, dict) and "policies" in data:
            policy_files.append(str(f))
    if not loaded:
        raise FixtureError(f"{directory}: no fixture file (a YAML file with a top-level 'cases' list)")
    results: list[CaseResult] = []
    governors: dict[tuple[str, ...], Governor] = {}
    for f, data in loaded:
        sources = _sources(f, data, default_sources, policy_files)
        if sources not in governors:
            governors[sources] = Governor(load_policies(*sources))
        gov = governors[sources]
        cases = data["cases"]
        if not isinstance(cases, list):
            raise FixtureError(f"{f}: 'cases' must be a list")
        for i, case in enumerate(cases, start=1):
            results.append(_run_case(gov, f, i, case))
    return results


def _sources(f: Path, data: dict[str, Any], default_sources: Sequence[str],
             policy_files: Sequence[str]) -> tuple[str, ...]:
    named = data.get("policies")
    if named is None:
        return tuple(default_sources) or tuple(policy_files) or ("builtin:default",)
    if not isinstance(named, list) or not all(isinstance(s, str) for s in named):
        raise FixtureError(f"{f}: 'policies' must be a list of sources such as builtin:default or ./file.yaml")
    return tuple(s if s.startswith(BUILTIN_PREFIX) else str((f.parent / s).resolve()) for s in named)


def _run_case(gov: Any, f: Path, i: int, case: Any) -> CaseResult:
    if not isinstance(case, dict):
        raise FixtureError(f"{f}: case {i} must be a mapping with 'input' and 'expect'")
    name = str(case.get("name", f"case {i}"))
    unknown = set(case) - _CASE_KEYS
    if unknown:
        raise FixtureError(f"{f}: case {name!r}: unknown field(s) {', '.join(sorted(unknown))}; "
                           f"expected {', '.join(sorted(_CASE_KEYS))}")
    if "input" not in case or "expect" not in case:
        raise FixtureError(f"{f}: case {name!r}: needs both 'input' and 'expect'")
    expect = case["expect"]
    if not isinstance(expect, dict) or "action" not in expect or set(expect) - _EXPECT_KEYS:
        raise FixtureError(f"{f}: case {name!r}: 'expect' must be a mapping with 'action' and optionally "
                           "'types' and 'policies'")
    ident = case.get("identity") or {}
    if not isinstance(ident, dict) or set(ident) - _IDENTITY_KEYS:
        raise FixtureError(f"{f}: case {name!r}: 'identity' may hold {', '.join(sorted(_IDENTITY_KEYS))}")
    scope = case.get("scope", "input")
    try:
        decision = gov.check(case["input"], Identity(**ident), scope=scope)
    except (TypeError, ValueError) as exc:
        raise FixtureError(f"{f}: case {name!r}: {exc}") from None
    problems: list[str] = []
    if decision.action.value != expect["action"]:
        problems.append(f"action: expected {expect['action']}, got {decision.action.value} ({decision.reason})")
    if "types" in expect and sorted(set(expect["types"] or [])) != list(decision.finding_types):
        problems.append(f"types: expected {sorted(set(expect['types'] or []))}, got {list(decision.finding_types)}")
    if "policies" in expect and sorted(expect["policies"] or []) != sorted(decision.policies):
        problems.append(f"policies: expected {sorted(expect['policies'] or [])}, got {sorted(decision.policies)}")
    return CaseResult(str(f), name, not problems, tuple(problems))
