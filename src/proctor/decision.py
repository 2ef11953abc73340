"""Actions and the Decision a check returns."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from proctor.findings import Finding


class Action(str, enum.Enum):
    """What happens to a call. Ordered by strictness: the strictest matching policy wins."""

    ALLOW = "allow"
    LOG = "log"
    REDACT = "redact"
    REQUIRE_APPROVAL = "require_approval"
    DENY = "deny"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @classmethod
    def strictest(cls, actions: list[Action] | tuple[Action, ...]) -> Action:
        return max(actions, key=_RANK.__getitem__, default=cls.ALLOW)

    def __str__(self) -> str:
        return self.value


_RANK = {Action.ALLOW: 0, Action.LOG: 1, Action.REDACT: 2, Action.REQUIRE_APPROVAL: 3, Action.DENY: 4}


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one check.

    ``action`` is the strictest action of the matched policies (``allow`` when none matched), ``findings``
    every finding the matched policies care about, ``policies`` the ids of the matched policies, ``reason`` a
    sentence naming what was found (never the value). When redacting, ``redacted`` holds the rewritten
    input (a string, or the messages list in the shape it came in) and ``placeholders`` maps each
    placeholder to the original text, for reversible redaction; treat it as sensitive and never log it.
    """

    action: Action
    findings: tuple[Finding, ...] = ()
    policies: tuple[str, ...] = ()
    reason: str = "No policy matched."
    redacted: str | list[dict[str, Any]] | None = None
    placeholders: Mapping[str, str] = field(default_factory=dict, repr=False)
    scope: str = "input"

    @property
    def allowed(self) -> bool:
        """True when the call may go ahead as is or after redaction (allow, log, redact)."""
        return self.action in (Action.ALLOW, Action.LOG, Action.REDACT)

    @property
    def finding_types(self) -> tuple[str, ...]:
        return tuple(sorted({f.type for f in self.findings}))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form without matched values or the placeholder map."""
        return {
            "action": self.action.value,
            "findings": [f.to_dict() for f in self.findings],
            "policies": list(self.policies),
            "reason": self.reason,
        }
