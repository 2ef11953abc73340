"""Every rule's explicit Hyperscan prefilter over-approximates its pattern: wherever ``re`` matches, it fires."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proctor.detect import injection_rules, pii, secrets, sql_rules
from proctor.detect.scan import HYPERSCAN_AVAILABLE, PatternSet, Rule

pytestmark = pytest.mark.skipif(not HYPERSCAN_AVAILABLE, reason="hyperscan wheel not installed on this platform")

# The texts each detector's rules see: injection and SQL rules run on lower-cased text.
_SETS: list[tuple[tuple[Rule, ...], bool]] = [
    (injection_rules.pattern_set().rules, True),
    (sql_rules.RULES, True),
    (pii._RULES, False),  # the rule table itself: no public name, and these rules are what is under test
    (secrets.CASED_RULES, False),
    (secrets.FOLDED_RULES, True),
]
EXPLICIT = [(rule, low) for rules, low in _SETS for rule in rules if rule.prefilter is not None]
CORPUS = [json.loads(line)["text"] for path in sorted((Path(__file__).parents[1] / "corpus").glob("*.jsonl"))
          for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _fires(rule: Rule, text: str) -> bool:
    return PatternSet([rule]).candidates(text) == [0]


def test_some_rules_have_explicit_prefilters() -> None:
    keys = {rule.key for rule, _ in EXPLICIT}
    assert {"override.es.post", "passport", "mrz1", "sys_from", "num_logic"} <= keys


@pytest.mark.parametrize(("rule", "low"), EXPLICIT, ids=[rule.key for rule, _ in EXPLICIT])
def test_explicit_prefilter_fires_wherever_the_rule_matches_the_corpus(rule: Rule, low: bool) -> None:
    pattern = re.compile(rule.pattern, rule.flags)
    texts = [t.lower() if low else t for t in CORPUS]
    matched = [t for t in texts if pattern.search(t)]
    assert all(_fires(rule, t) for t in matched)


# Context around a generated match: ASCII, accented letters and Unicode spaces and case variants ("ſ", "İ").
_CONTEXT = st.text(alphabet=st.sampled_from(list("aZ 9\n.:é\u00a0\u2003ſİ")), max_size=6)


@pytest.mark.parametrize(("rule", "low"), EXPLICIT, ids=[rule.key for rule, _ in EXPLICIT])
def test_explicit_prefilter_fires_on_generated_matches(rule: Rule, low: bool) -> None:
    pattern = re.compile(rule.pattern, rule.flags)
    single = PatternSet([rule])

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                       HealthCheck.filter_too_much])
    @given(before=_CONTEXT, body=st.from_regex(pattern), after=_CONTEXT)
    def check(before: str, body: str, after: str) -> None:
        text = before + body + after
        if low:
            text = text.lower()
        if pattern.search(text):
            assert single.candidates(text) == [0], text

    check()


# Hyperscan 0.9.1 here can miss a match that ends the buffer: `['"][ \t+)]*(?:--|#|/\*)` alone never fires on
# "xxxxxxxxxxxxxx'--" (a 14-byte prefix or longer), while it does with one more byte after it. Whether a rule
# of a set is hit depends on how the whole database is laid out, so every rule of every set is checked here
# with its match at the very end of a text long enough to reach the engine's block path.
_ALL = [(rule, i, rules, low) for rules, low in _SETS for i, rule in enumerate(rules)]
_PREFIXES = st.sampled_from(["", "x" * 14 + " ", "the quick brown fox jumps over the lazy dog. " * 2])


@pytest.mark.parametrize(("rule", "index", "rules", "low"), _ALL, ids=[f"{rules[i].key}" for _, i, rules, _ in _ALL])
def test_set_fires_on_a_match_that_ends_the_text(rule: Rule, index: int, rules: tuple[Rule, ...], low: bool) -> None:
    pattern = re.compile(rule.pattern, rule.flags)
    patterns = _set_of(rules)

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(before=_PREFIXES, body=st.from_regex(pattern))
    def check(before: str, body: str) -> None:
        text = (before + body).lower() if low else before + body
        m = pattern.search(text)
        if m is not None:
            text = text[:m.end()]  # the match (or an earlier one of the cut text) now ends the text
        if m is not None and pattern.search(text):
            assert index in patterns.candidates(text), text

    check()


_SET_CACHE: dict[int, PatternSet] = {}


def _set_of(rules: tuple[Rule, ...]) -> PatternSet:
    key = id(rules)
    if key not in _SET_CACHE:
        _SET_CACHE[key] = PatternSet(rules)
    return _SET_CACHE[key]
