"""The Finding: what a detector reports, without the matched value."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Finding:
    """One detected span.

    ``type`` is a stable finding-type name (``pii.email``, ``sqli``, ``custom.<policy id>`` …), ``start`` and
    ``end`` are character offsets into the scanned text (end exclusive), ``score`` is the detector's
    confidence in [0, 1]. ``message`` is the index of the message the span came from when a list of
    messages was checked, else ``None``. A Finding never holds the matched text itself.
    """

    type: str
    start: int
    end: int
    score: float = 1.0
    message: int | None = None

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"type": self.type, "start": self.start, "end": self.end,
                                  "score": round(self.score, 4)}
        if self.message is not None:
            out["message"] = self.message
        return out


# The stable finding-type names of DESIGN.md. Plugins may add types; these names never change.
BUILTIN_FINDING_TYPES: tuple[str, ...] = (
    "pii.ssn", "pii.credit_card", "pii.email", "pii.phone", "pii.aadhaar", "pii.pan", "pii.iban",
    "pii.ip_address", "pii.passport",
    "secret.aws_access_key", "secret.github_token", "secret.openai_key", "secret.anthropic_key",
    "secret.slack_token", "secret.stripe_key", "secret.private_key", "secret.jwt", "secret.generic",
    "sqli", "dangerous.sql", "injection",
)
CUSTOM_PREFIX = "custom."
