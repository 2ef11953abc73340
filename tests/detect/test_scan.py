"""PatternSet: the Hyperscan prefilter never changes what `re` finds."""

from __future__ import annotations

import re
import threading

import pytest

from proctor.detect import scan
from proctor.detect.scan import PatternSet, Rule, prefilter_pattern

RULES = [
    Rule("ssn", r"\b\d{3}-\d{2}-\d{4}\b"),
    Rule("word", r"\bignore\s{1,5}previous\b", re.IGNORECASE),
    Rule("lookbehind", r"(?<![A-Z0-9])AKIA[0-9A-Z]{16}(?![A-Z0-9])"),
    Rule("backref", r"(['\"])x\1"),  # approximated by the prefilter, confirmed by re
    Rule("named-char", r"\N{DIGIT ONE}\d"),  # Hyperscan cannot compile \N{...}: must always run under re
]
TEXTS = [
    "nothing to see here",
    "SSN 123-45-6789 and IGNORE   Previous orders",
    "key AKIAABCDEFGHIJKLMNOP, quoted 'x' and \"x\"",
    "ünïcödé ignore previous 123-45-6789",
    "lone surrogate \udc80 ignore previous",
    "named char 12 and 1x",
]


@pytest.mark.parametrize("text", TEXTS)
def test_prefilter_matches_plain_re(text: str) -> None:
    fast = [(r.key, m.span()) for r, m in PatternSet(RULES).finditer(text)]
    plain = [(r.key, m.span()) for r, m in PatternSet(RULES, prefilter=False).finditer(text)]
    assert sorted(fast) == sorted(plain)


def test_prefilter_pattern_over_approximates() -> None:
    assert prefilter_pattern(r"eyJ[A-Za-z0-9_-]{8,2000}x{1,2}") == "eyJ[A-Za-z0-9_-]{2,}x{1,2}"
    assert prefilter_pattern(r"\bkey\w{3}") == r"key(?:\w|[\x{80}-\x{10ffff}]){2,}"
    assert prefilter_pattern(r"[^\s][\d_]") == r"[^\s][\d_\x{80}-\x{10ffff}]"
    assert prefilter_pattern(r"(?i)\bpr\u00e9c\w") == r"(?i)\bpr\u00e9c\w"  # escaped non-ASCII: exact
    assert prefilter_pattern("(?i)précédentes\\b") == "(?i)précédentes\\b"  # non-ASCII: exact, UCP mode


@pytest.mark.parametrize("text", ["ＳＳＮ １２３-４５-６７８９", "clé AKIAÉ", "naïve ignore\u00a0previous"])
def test_unicode_classes_stay_sound(text: str) -> None:
    rules = [Rule("d", r"\d{3}-\d{2}-\d{4}"), Rule("w", r"\bcl\w\b"), Rule("s", r"ignore\s{1,3}previous")]
    fast = [(r.key, m.span()) for r, m in PatternSet(rules).finditer(text)]
    plain = [(r.key, m.span()) for r, m in PatternSet(rules, prefilter=False).finditer(text)]
    assert fast == plain and plain


@pytest.mark.parametrize("sep", ["\x1c", "\x1d", "\x1e", "\x1f"])
def test_separators_python_counts_as_whitespace_reach_re(sep: str) -> None:
    """Python's \\s matches the four ASCII separators; Hyperscan's does not, so the rewrite adds them."""
    rules = [Rule("ascii", r"ignore\s{1,3}previous"), Rule("cls", r"ignore[\s,]previous"),
             Rule("ucp", r"ignorez\s{1,3}précédentes")]
    text = f"ignore{sep}previous ignorez{sep}précédentes"
    fast = [(r.key, m.span()) for r, m in PatternSet(rules).finditer(text)]
    plain = [(r.key, m.span()) for r, m in PatternSet(rules, prefilter=False).finditer(text)]
    assert fast == plain and len(plain) == 3


@pytest.mark.parametrize("head", ["", "x" * 13, "x" * 14, "x" * 100])
def test_a_match_that_ends_the_text_is_not_missed(head: str) -> None:
    """Hyperscan 0.9.1 misses this match at the end of a buffer of 17 bytes or more: scan.py works around it."""
    if not scan.HYPERSCAN_AVAILABLE:
        pytest.skip("hyperscan wheel not installed on this platform")
    ps = PatternSet([Rule("comment", r"['\"][ \t+)]{0,24}(?:--|#|/\*)")])
    assert ps.candidates(head + "'--") == [0]


@pytest.mark.parametrize("text", TEXTS)
def test_finditer_reuses_the_candidates_it_is_given(text: str) -> None:
    ps = PatternSet(RULES)
    hits = ps.candidates(text)
    given = [(r.key, m.span()) for r, m in ps.finditer(text, hits)]
    assert given == [(r.key, m.span()) for r, m in ps.finditer(text)]
    assert list(ps.finditer(text, [])) == []  # only the rules it is given run


def test_prefilter_skips_rules_that_cannot_match() -> None:
    if not scan.HYPERSCAN_AVAILABLE:
        pytest.skip("hyperscan wheel not installed on this platform")
    ps = PatternSet(RULES)
    assert ps.candidates("nothing to see here") == [4]  # only the rule Hyperscan could not compile
    assert 0 in ps.candidates("SSN 123-45-6789")


def test_threads_share_a_set_safely() -> None:
    ps = PatternSet(RULES)
    expected = [(r.key, m.span()) for r, m in PatternSet(RULES, prefilter=False).finditer(TEXTS[1])]
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(300):
                assert [(r.key, m.span()) for r, m in ps.finditer(TEXTS[1])] == expected
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_compiled_databases_are_cached_and_a_bad_cache_rebuilds(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    if not scan.HYPERSCAN_AVAILABLE:
        pytest.skip("hyperscan wheel not installed on this platform")
    monkeypatch.setattr(scan, "_CACHE_DIR", tmp_path)
    rules = [Rule("ssn", r"\b\d{3}-\d{2}-\d{4}\b"), Rule("named-char", r"\N{DIGIT ONE}\d")]
    first = PatternSet(rules)
    assert first.candidates("SSN 123-45-6789") == [0, 1]
    (cached,) = tmp_path.iterdir()
    second = PatternSet(rules)
    assert second.candidates("SSN 123-45-6789") == [0, 1] and second._always == (1,)
    assert second.candidates("nothing") == [1]
    cached.write_bytes(b"\x00\x00garbage")
    third = PatternSet(rules)
    assert third.candidates("SSN 123-45-6789") == [0, 1]
