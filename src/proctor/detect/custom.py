"""Custom rules from policies: user regexes and case-insensitive keywords, as ``custom.<policy id>``."""

from __future__ import annotations

import re
from collections.abc import Sequence

from proctor.detect.scan import PatternSet, Rule
from proctor.findings import Finding


class CustomDetector:
    """Runs policy-supplied patterns and keywords; built by the Governor from the loaded policy set."""

    name = "custom"

    def __init__(self, rules: Sequence[tuple[str, Sequence[str], Sequence[str]]]) -> None:
        """``rules`` holds ``(finding type, regexes, keywords)`` triples."""
        built: list[Rule] = []
        for ftype, patterns, keywords in rules:
            built.extend(Rule(ftype, p) for p in patterns)
            # Keywords are literals matched case-insensitively on word boundaries where the keyword has them.
            built.extend(Rule(ftype, _keyword_regex(k), re.IGNORECASE) for k in keywords)
        self.types: tuple[str, ...] = tuple(dict.fromkeys(r.key for r in built))
        self._set = PatternSet(built)

    def detect(self, text: str) -> list[Finding]:
        out: list[Finding] = []
        for rule, m in self._set.finditer(text):
            if m.end() > m.start():
                out.append(Finding(rule.key, m.start(), m.end(), 1.0))
        return out


def _keyword_regex(keyword: str) -> str:
    body = re.escape(keyword.strip())
    left = r"\b" if keyword.strip()[:1].isalnum() else ""
    right = r"\b" if keyword.strip()[-1:].isalnum() else ""
    return f"{left}{body}{right}"
