"""SQL detector: injection payloads (``sqli``), destructive or privileged statements (``dangerous.sql``)."""

from __future__ import annotations

from proctor.detect.scan import PatternSet
from proctor.detect.sql_checks import CHECKS, DANGEROUS, SQLI
from proctor.detect.sql_filters import (
    has_sql_left_context,
    in_complete_statement,
    is_code_call,
    is_injected_fragment,
    is_math_context,
    is_object_name,
    is_question_about_sql,
    is_quote_break,
    is_tautology,
    is_trailing_sql_comment,
    looks_like_statement,
    writes_every_row,
)
from proctor.detect.sql_normalise import Offsets, lower, normalise, to_original
from proctor.detect.sql_rules import RULES
from proctor.findings import Finding

# Decisions (documented here because policies depend on them):
# - A question *about* SQL is not a finding. A question that quotes a strong injection payload
#   ("is `' OR 1=1--` dangerous?") is still `sqli`: the payload is in the prompt either way. Weaker sqli
#   signals (score < _STRONG) and every `dangerous.sql` statement are dropped inside a question.
# - A legitimate compound query (`SELECT a FROM t UNION SELECT a FROM u`) is not `sqli`; `sqli` needs a
#   structural break (quote or value before UNION, NULL/number lists, system functions, trailing comment).
# - `dangerous.sql` needs statement shape (keyword + object + identifier) and one sign that it is SQL rather
#   than prose: statement start, upper-case keywords, or a `;`/end terminator.
_STRONG = 0.9
# Findings per type are capped: a prompt of thousands of payloads is settled long before, and an attacker's
# megabyte of `1; DROP TABLE x` must not cost seconds. Types are never lost (the cap needs that many of them);
# only spans past the cap are not reported.
_MAX_FINDINGS = 1000


def _clause_end(text: str, pos: int) -> int:
    """End of the clause holding ``pos`` (next `;` or newline; 200 at most): the span covers the payload."""
    hi = min(len(text), pos + 200)
    ends = [i for i in (text.find(";", pos, hi), text.find("\n", pos, hi)) if i >= 0]
    end = min(ends) if ends else hi
    return pos + len(text[pos:end].rstrip())


def _merge(found: list[Finding]) -> list[Finding]:
    """One finding per overlapping run of the same type, with the highest score."""
    out: list[Finding] = []
    for f in sorted(found, key=lambda f: (f.type, f.start, f.end)):
        last = out[-1] if out else None
        if last is not None and last.type == f.type and f.start < last.end:
            out[-1] = Finding(f.type, last.start, max(last.end, f.end), max(last.score, f.score))
        else:
            out.append(f)
    return out


class SqlDetector:
    """Finds SQL injection payloads (``sqli``) and destructive/privileged SQL statements (``dangerous.sql``).

    One Hyperscan prefilter pass decides whether anything SQL-like (or encoded) is present; benign prose stops
    there. Encoded text (URL, double URL, HTML entities, ``\\u`` escapes, ``/**/`` and ``#``/``--`` comment
    splitting) is normalised first; spans always refer to the original text.
    """

    name = "sql"
    types: tuple[str, ...] = (SQLI, DANGEROUS)

    def __init__(self) -> None:
        self._set = PatternSet(RULES)
        self._norm_ids = frozenset(i for i, r in enumerate(RULES) if r.key.startswith("norm:"))

    def detect(self, text: str) -> list[Finding]:
        """Return ``sqli`` / ``dangerous.sql`` findings in ``text`` (spans in ``text``'s offsets)."""
        low = lower(text)
        hits = self._set.candidates(low)
        if not hits:
            return []
        maps: list[Offsets] = []
        orig = text
        triggers = frozenset(self._set.rules[i].key for i in hits if i in self._norm_ids)
        if triggers:
            orig, maps = normalise(text, triggers)
            low = lower(orig)
            hits = self._set.candidates(low)  # the decoded text may hold rules the encoded one hid
        found: list[Finding] = []
        covered: dict[tuple[str, str], int] = {}  # (rule, type) -> end of its last finding
        counts = dict.fromkeys(self.types, 0)
        for rule, m in self._set.finditer(low, hits):
            for ftype, check, extend in CHECKS.get(rule.key, ()):
                if m.start() < covered.get((rule.key, ftype), -1) or counts[ftype] >= _MAX_FINDINGS:
                    continue  # repeats inside a finding add nothing; past the cap the type is settled
                score = check(low, m, orig)
                if score is None:
                    continue
                if (ftype == DANGEROUS or score < _STRONG) and is_question_about_sql(low, m.start(), m.end()):
                    continue
                start, end = m.start(), _clause_end(low, m.end()) if extend else m.end()
                covered[(rule.key, ftype)] = end
                counts[ftype] += 1
                if maps:
                    start, end = to_original(maps, start, end)
                found.append(Finding(ftype, start, end, score))
        return _merge(found)


__all__ = [
    "DANGEROUS",
    "SQLI",
    "SqlDetector",
    "has_sql_left_context",
    "in_complete_statement",
    "is_code_call",
    "is_injected_fragment",
    "is_math_context",
    "is_object_name",
    "is_question_about_sql",
    "is_quote_break",
    "is_tautology",
    "is_trailing_sql_comment",
    "looks_like_statement",
    "writes_every_row",
]
