"""PatternSet: many regexes, one linear-time prefilter pass, then `re` only where it can match.

Each detector family keeps its rules in one PatternSet. When the ``hyperscan`` wheel is installed, all of
a set's patterns are compiled into one Hyperscan database in prefilter mode: a single pass over the text
(microseconds per KB, linear time) reports which patterns *may* match, and only those run under Python's
``re`` to produce exact spans. Without Hyperscan every pattern runs under ``re``; results are identical.

Patterns must keep ``re`` linear too (an attacker writes the prompt): bound every repetition (``{1,64}``
rather than ``+``) and never nest quantifiers over overlapping classes.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

_hs: Any
try:  # optional accelerator; see module docstring
    import hyperscan as _hs
except ImportError:  # pragma: no cover - exercised on platforms without the wheel
    _hs = None

HYPERSCAN_AVAILABLE = _hs is not None


@dataclass(frozen=True, slots=True)
class Rule:
    """One named regex. ``key`` is what the detector uses to tell rules apart (often a finding type)."""

    key: str
    pattern: str
    flags: int = 0


class PatternSet:
    """A fixed list of rules scanned together; safe to share between threads."""

    def __init__(self, rules: Sequence[Rule], *, prefilter: bool = True) -> None:
        self.rules: tuple[Rule, ...] = tuple(rules)
        self._compiled: tuple[re.Pattern[str], ...] = tuple(re.compile(r.pattern, r.flags) for r in self.rules)
        self._use_prefilter = prefilter and HYPERSCAN_AVAILABLE and bool(self.rules)
        self._db: Any = None
        self._always: tuple[int, ...] = ()  # rules Hyperscan could not compile: always run under re
        self._lock = threading.Lock()
        self._local = threading.local()  # Hyperscan scratch space is per thread

    # -- prefilter ---------------------------------------------------------------------------------
    def _hs_flags(self, rule: Rule) -> int:
        assert _hs is not None
        flags = _hs.HS_FLAG_PREFILTER | _hs.HS_FLAG_SINGLEMATCH | _hs.HS_FLAG_UTF8 | _hs.HS_FLAG_UCP
        if rule.flags & re.IGNORECASE:
            flags |= _hs.HS_FLAG_CASELESS
        if rule.flags & re.DOTALL:
            flags |= _hs.HS_FLAG_DOTALL
        if rule.flags & re.MULTILINE:
            flags |= _hs.HS_FLAG_MULTILINE
        return int(flags)

    def _build(self) -> Any:
        assert _hs is not None
        ok: list[int] = []
        bad: list[int] = []
        for i, rule in enumerate(self.rules):
            probe = _hs.Database(mode=_hs.HS_MODE_BLOCK)
            try:
                probe.compile(expressions=[rule.pattern.encode()], ids=[i], elements=1,
                              flags=[self._hs_flags(rule)])
                ok.append(i)
            except _hs.error:
                bad.append(i)
        self._always = tuple(bad)
        if not ok:
            return None
        db = _hs.Database(mode=_hs.HS_MODE_BLOCK)
        db.compile(
            expressions=[self.rules[i].pattern.encode() for i in ok],
            ids=ok,
            elements=len(ok),
            flags=[self._hs_flags(self.rules[i]) for i in ok],
        )
        return db

    def _database(self) -> Any:
        if self._db is None:
            with self._lock:
                if self._db is None:
                    self._db = self._build() or False
        return self._db

    def candidates(self, text: str) -> list[int]:
        """Indices of the rules that may match ``text`` (all of them when there is no prefilter)."""
        if not self._use_prefilter:
            return list(range(len(self.rules)))
        db = self._database()
        if db is False:
            return list(range(len(self.rules)))
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = _hs.Scratch(db)
            self._local.scratch = scratch
        hits: list[int] = list(self._always)

        def on_match(rule_id: int, _from: int, _to: int, _flags: int, _ctx: object) -> None:
            hits.append(rule_id)

        # "replace" keeps the bytes valid UTF-8 (lone surrogates would break Hyperscan's UTF-8 mode);
        # the prefilter only needs to know which patterns can match, not where.
        db.scan(text.encode("utf-8", "replace"), match_event_handler=on_match, scratch=scratch)
        if self._always:
            hits.sort()
        return hits

    # -- matching ----------------------------------------------------------------------------------
    def finditer(self, text: str) -> Iterator[tuple[Rule, re.Match[str]]]:
        """Yield ``(rule, match)`` for every ``re`` match of every rule that passed the prefilter."""
        for i in self.candidates(text):
            rule = self.rules[i]
            for m in self._compiled[i].finditer(text):
                yield rule, m

    def search(self, text: str) -> Iterator[tuple[Rule, re.Match[str]]]:
        """Yield ``(rule, first match)`` for each rule that matches ``text`` at least once."""
        for i in self.candidates(text):
            m = self._compiled[i].search(text)
            if m is not None:
                yield self.rules[i], m
