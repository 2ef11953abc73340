"""The policy model: what a policy matches, where, for whom, and what it does."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import lru_cache

from proctor.decision import Action
from proctor.findings import CUSTOM_PREFIX
from proctor.identity import Identity

SCOPES = ("input", "output", "both")
SEVERITIES = ("low", "medium", "high", "critical")
WHEN_KEYS = ("tenant", "agent", "model")
POLICY_ID = re.compile(r"[a-z0-9_-]{1,64}")


@dataclass(frozen=True, slots=True)
class Policy:
    """One validated policy. ``types`` are finding-type globs; ``patterns``/``keywords`` produce
    ``custom.<id>`` findings; ``when`` maps tenant/agent/model to globs that must all match."""

    id: str
    action: Action
    description: str = ""
    types: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    scope: str = "input"
    severity: str | None = None
    when: tuple[tuple[str, tuple[str, ...]], ...] = ()
    source: str = field(default="", compare=False)

    @property
    def custom_type(self) -> str:
        return CUSTOM_PREFIX + self.id

    def applies_to(self, scope: str) -> bool:
        return self.scope == "both" or self.scope == scope

    def applies_for(self, identity: Identity) -> bool:
        for key, globs in self.when:
            value = getattr(identity, key)
            if value is None or not any(fnmatchcase(value, g) for g in globs):
                return False
        return True

    def matches_type(self, finding_type: str) -> bool:
        custom = CUSTOM_PREFIX + self.id if (self.patterns or self.keywords) else None
        return _matches(self.types, custom, finding_type)


@lru_cache(maxsize=16384)
def _matches(globs: tuple[str, ...], custom_type: str | None, finding_type: str) -> bool:
    """Glob matching is the hot loop of evaluation (policies × findings); the set of types is small."""
    return finding_type == custom_type or any(fnmatchcase(finding_type, g) for g in globs)
