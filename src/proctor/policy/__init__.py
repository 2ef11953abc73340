"""Policies as code: the model, the YAML loader, and evaluation of findings into an action."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from proctor.decision import Action
from proctor.findings import BUILTIN_FINDING_TYPES, Finding
from proctor.identity import Identity
from proctor.policy.loader import BUILTIN_PREFIX, builtin_packs, load_policy_files
from proctor.policy.model import Policy

DEFAULT_POLICIES = ("builtin:default",)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a policy set makes of some findings: the action, the matched policies and their findings."""

    action: Action
    policies: tuple[Policy, ...]
    findings: tuple[Finding, ...]


class PolicySet:
    """An ordered, validated collection of policies with unique ids."""

    def __init__(self, policies: Iterable[Policy]) -> None:
        self.policies: tuple[Policy, ...] = tuple(policies)
        ids = [p.id for p in self.policies]
        if len(ids) != len(set(ids)):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            raise ValueError(f"duplicate policy ids: {', '.join(dupes)}")

    def __len__(self) -> int:
        return len(self.policies)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.policies)

    def active(self, scope: str, identity: Identity) -> tuple[Policy, ...]:
        """The policies that apply to this scope and caller."""
        return tuple(p for p in self.policies if p.applies_to(scope) and p.applies_for(identity))

    def evaluate(self, findings: Sequence[Finding], policies: Sequence[Policy]) -> Outcome:
        """Match findings against ``policies`` (from ``active``); the strictest action wins."""
        # Few distinct types, many findings: match types, not findings.
        action, matched, relevant = self.evaluate_types({f.type for f in findings}, policies)
        return Outcome(action, matched, tuple(f for f in findings if f.type in relevant))

    @staticmethod
    def evaluate_types(types: Iterable[str], policies: Sequence[Policy]
                       ) -> tuple[Action, tuple[Policy, ...], frozenset[str]]:
        """``evaluate`` on finding types alone: the action, the matched policies and the types they name."""
        types = tuple(types)
        matched: list[Policy] = []
        relevant: set[str] = set()
        for policy in policies:
            hits = [t for t in types if policy.matches_type(t)]
            if hits:
                matched.append(policy)
                relevant.update(hits)
        if not matched:
            return Action.ALLOW, (), frozenset()
        return Action.strictest([p.action for p in matched]), tuple(matched), frozenset(relevant)


def load_policies(*sources: str, known_types: Sequence[str] = BUILTIN_FINDING_TYPES) -> PolicySet:
    """Load policy files and built-in packs into one PolicySet.

    Each source is a YAML file, a directory of them, or ``builtin:NAME`` (see ``builtin_packs()``); with no
    source, ``builtin:default``. Raises ``PolicyFileError`` naming file, line, policy and field when any
    file is invalid, and then nothing is loaded.

    >>> load_policies("builtin:default", "policies/refunds.yaml")  # doctest: +SKIP
    """
    return PolicySet(load_policy_files(sources or DEFAULT_POLICIES, known_types))


__all__ = ["BUILTIN_PREFIX", "DEFAULT_POLICIES", "Outcome", "Policy", "PolicySet", "builtin_packs", "load_policies"]
