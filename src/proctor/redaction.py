"""Typed, reversible redaction: spans become placeholders such as ``[EMAIL_1]``.

The same value gets the same placeholder within one request (one ``Redactor``), so a model can still tell
two different addresses apart. The placeholder → original map is kept on the Redactor so that a later step
may restore originals in the response (reversible redaction, off by default: the map is sensitive).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache

from proctor.findings import Finding

_LABEL_CLEAN = re.compile(r"[^A-Z0-9]+")
_PLACEHOLDER = re.compile(r"\[[A-Z0-9_]{1,40}_\d{1,6}\]")


@lru_cache(maxsize=1024)
def label_for(finding_type: str) -> str:
    """``pii.credit_card`` → ``CREDIT_CARD``; ``custom.hold-refunds`` → ``HOLD_REFUNDS``."""
    tail = finding_type.split(".", 1)[-1] if "." in finding_type else finding_type
    return _LABEL_CLEAN.sub("_", tail.upper()).strip("_") or "REDACTED"


class Redactor:
    """Replaces spans with numbered typed placeholders, consistently across the texts of one request."""

    def __init__(self) -> None:
        self._by_value: dict[tuple[str, str], str] = {}
        self._counts: dict[str, int] = {}
        self.placeholders: dict[str, str] = {}

    def placeholder(self, finding_type: str, value: str) -> str:
        label = label_for(finding_type)
        key = (label, value)
        existing = self._by_value.get(key)
        if existing is not None:
            return existing
        n = self._counts.get(label, 0) + 1
        self._counts[label] = n
        ph = f"[{label}_{n}]"
        self._by_value[key] = ph
        self.placeholders[ph] = value
        return ph

    def redact(self, text: str, findings: Iterable[Finding]) -> str:
        """Replace each finding's span in ``text``; overlapping spans merge, the earliest type names it."""
        spans = sorted(((f.start, f.end, f.type) for f in findings), key=lambda s: (s[0], -s[1]))
        merged: list[tuple[int, int, str]] = []
        for start, end, ftype in spans:
            if merged and start < merged[-1][1]:
                s0, e0, t0 = merged[-1]
                merged[-1] = (s0, max(e0, end), t0)
            else:
                merged.append((start, end, ftype))
        out: list[str] = []
        pos = 0
        for start, end, ftype in merged:
            out.append(text[pos:start])
            out.append(self.placeholder(ftype, text[start:end]))
            pos = end
        out.append(text[pos:])
        return "".join(out)


def restore(text: str, placeholders: Mapping[str, str]) -> str:
    """Put originals back where a response repeats placeholders (reversible redaction)."""
    if not placeholders:
        return text
    return _PLACEHOLDER.sub(lambda m: placeholders.get(m.group(0), m.group(0)), text)
