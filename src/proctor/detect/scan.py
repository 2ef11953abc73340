"""PatternSet: many regexes, one linear-time prefilter pass, then `re` only where it can match.

Each detector family keeps its rules in one PatternSet. When the ``hyperscan`` wheel is installed, all of
a set's patterns are compiled into one Hyperscan database in prefilter mode: a single pass over the text
(microseconds per KB, linear time) reports which patterns *may* match, and only those run under Python's
``re`` to produce exact spans. Without Hyperscan every pattern runs under ``re``; results are identical.

A rule may give its own ``prefilter``: a simpler regex that Hyperscan compiles instead of the rule's pattern
(through the same ``prefilter_pattern`` rewrite). It must over-approximate the rule: wherever ``re`` finds a
match of the pattern, the prefilter must match somewhere in the text. Usually it is the rule's rare, required
literals, written in ASCII (a non-ASCII letter as ``.``, which matches one whole code point in UTF-8 mode) so
the database builds without UCP. A few literals instead of a long alternation under Unicode classes make the
database, and so the scan, several times smaller and cheaper; the cost is a few more rules reaching ``re``.

Patterns must keep ``re`` linear too (an attacker writes the prompt): bound every repetition (``{1,64}``
rather than ``+``) and never nest quantifiers over overlapping classes.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_hs: Any
try:  # optional accelerator; see module docstring
    import hyperscan as _hs
except ImportError:  # pragma: no cover - exercised on platforms without the wheel
    _hs = None

HYPERSCAN_AVAILABLE = _hs is not None

# Compiled databases are cached on disk (a few hundred ms to seconds to build, milliseconds to load), keyed
# by the Hyperscan version and the exact patterns and flags, so a changed rule never loads a stale database.
_CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "proctor" / "hyperscan"

# The prefilter only has to over-approximate each pattern (never miss what `re` would match), and two
# rewrites make Hyperscan compile in milliseconds instead of minutes:
# - large bounded repeats ({8,2000}) become unbounded ({2,}): Hyperscan unrolls bounded repeats into huge
#   automata ("pattern too large"), while unbounded ones are cheap;
# - Unicode classes are costly (UCP mode compiles ~8x slower), so patterns compile in ASCII mode over UTF-8
#   with every positive \w, \d, \s also accepting any non-ASCII code point, and \b / \B dropped (an
#   assertion removed only widens the language). Rules with non-ASCII literals keep UCP, so case-folding of
#   e.g. "É" stays exact.
_WIDEN_LIMIT = 2
_RANGE = re.compile(r"(?<!\\)\{(\d+),(\d*)\}")
_EXACT = re.compile(r"(?<!\\)\{(\d+)\}")
_NON_ASCII = r"\x{80}-\x{10ffff}"
_SEPARATORS = r"\x1c-\x1f"  # file, group, record and unit separators: whitespace to Python, not to Hyperscan


def _widen_repeats(pattern: str) -> str:
    def widen_range(m: re.Match[str]) -> str:
        lo, hi = m.group(1), m.group(2)
        if hi and int(hi) <= _WIDEN_LIMIT:
            return m.group(0)
        return f"{{{min(int(lo), _WIDEN_LIMIT)},}}"

    def widen_exact(m: re.Match[str]) -> str:
        return m.group(0) if int(m.group(1)) <= _WIDEN_LIMIT else f"{{{_WIDEN_LIMIT},}}"

    return _EXACT.sub(widen_exact, _RANGE.sub(widen_range, pattern))


def _ascii_classes(pattern: str, *, ucp: bool = False) -> str:
    """Rewrite the class escapes of ``pattern`` for Hyperscan (see the comment above).

    Every positive ``\\s`` also accepts ``\\x1c``-``\\x1f``: Python's ``\\s`` is ``str.isspace``, which counts
    those four separators, and Hyperscan's (ASCII or Unicode White_Space) does not. Without ``ucp`` the rule
    compiles in ASCII mode, so positive ``\\w``, ``\\d``, ``\\s`` also accept any non-ASCII code point and
    ``\\b``/``\\B`` are dropped; with ``ucp`` Hyperscan's Unicode classes are kept as they are.
    """
    wide = "" if ucp else _NON_ASCII
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = negated = widen_class = space_class = False
    while i < n:
        ch = pattern[i]
        if ch == "\\" and i + 1 < n:
            esc = pattern[i + 1]
            if in_class:
                if esc in "wds" and not negated:
                    widen_class = True
                    space_class = space_class or esc == "s"
                out.append(pattern[i:i + 2])
            elif esc in "bB" and not ucp:
                pass  # drop word-boundary assertions (see above)
            elif esc in "wds":
                extra = (_SEPARATORS if esc == "s" else "") + (wide if esc != "s" or not ucp else "")
                out.append(f"(?:\\{esc}|[{extra}])" if extra else pattern[i:i + 2])
            else:
                out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            if ch == "]" and out and not out[-1].endswith("["):
                if widen_class:
                    out.append(wide)
                if space_class:
                    out.append(_SEPARATORS)
                in_class = False
            out.append(ch)
        elif ch == "[":
            in_class, widen_class, space_class = True, False, False
            negated = pattern[i + 1:i + 2] == "^"
            out.append("[^" if negated else "[")
            i += 2 if negated else 1
            if pattern[i:i + 1] == "]":  # a literal ] first in a class
                out.append("]")
                i += 1
            continue
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def prefilter_pattern(pattern: str) -> str:
    """The over-approximation of ``pattern`` that Hyperscan compiles (see the comment above)."""
    widened = _widen_repeats(pattern)
    return _ascii_classes(widened, ucp=_needs_ucp(pattern))


_ESCAPED_NON_ASCII = re.compile(r"\\(?:[uUN]|x\{|x[89a-fA-F])")


def _needs_ucp(pattern: str) -> bool:
    return not pattern.isascii() or _ESCAPED_NON_ASCII.search(pattern) is not None


def _collect(rule_id: int, _from: int, _to: int, _flags: int, hits: list[int]) -> None:
    """Hyperscan's match callback: one module-level function, not a closure made per scan."""
    hits.append(rule_id)


@dataclass(frozen=True, slots=True)
class Rule:
    """One named regex. ``key`` is what the detector uses to tell rules apart (often a finding type).

    ``prefilter``, when given, is what Hyperscan compiles instead of ``pattern`` (with the same ``flags``): a
    smaller regex that must match somewhere in every text where ``pattern`` matches (see the module
    docstring). ``None`` compiles ``prefilter_pattern(pattern)``.
    """

    key: str
    pattern: str
    flags: int = 0
    prefilter: str | None = None

    @property
    def hs_source(self) -> str:
        """The regex the Hyperscan prefilter is built from: ``prefilter`` if given, else ``pattern``."""
        return self.pattern if self.prefilter is None else self.prefilter


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
        flags = _hs.HS_FLAG_PREFILTER | _hs.HS_FLAG_SINGLEMATCH | _hs.HS_FLAG_UTF8
        if _needs_ucp(rule.hs_source):
            flags |= _hs.HS_FLAG_UCP
        if rule.flags & re.IGNORECASE:
            flags |= _hs.HS_FLAG_CASELESS
        if rule.flags & re.DOTALL:
            flags |= _hs.HS_FLAG_DOTALL
        if rule.flags & re.MULTILINE:
            flags |= _hs.HS_FLAG_MULTILINE
        return int(flags)

    def _compile(self, indices: Sequence[int]) -> Any:
        assert _hs is not None
        db = _hs.Database(mode=_hs.HS_MODE_BLOCK)
        db.compile(
            expressions=[prefilter_pattern(self.rules[i].hs_source).encode() for i in indices],
            ids=list(indices),
            elements=len(indices),
            flags=[self._hs_flags(self.rules[i]) for i in indices],
        )
        return db

    def _cache_key(self) -> str:
        h = hashlib.sha256(str(getattr(_hs, "__version__", "")).encode())
        for rule in self.rules:
            h.update(b"\0" + prefilter_pattern(rule.hs_source).encode() + b"\0" + str(self._hs_flags(rule)).encode())
        return h.hexdigest()[:32]

    def _load_or_build(self) -> Any:
        """Load the compiled database from the cache, or build and cache it; any cache trouble just rebuilds."""
        assert _hs is not None
        path = _CACHE_DIR / f"{self._cache_key()}.hsdb"
        try:
            blob = path.read_bytes()
            always_len = int.from_bytes(blob[:2], "big")
            always = tuple(int.from_bytes(blob[2 + 2 * i:4 + 2 * i], "big") for i in range(always_len))
            db = _hs.loadb(blob[2 + 2 * always_len:], mode=_hs.HS_MODE_BLOCK)
            self._always = always
            return db
        except (OSError, ValueError, _hs.error):
            pass
        db = self._build()
        if db is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                head = len(self._always).to_bytes(2, "big") + b"".join(i.to_bytes(2, "big") for i in self._always)
                tmp = path.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_bytes(head + _hs.dumpb(db))
                os.replace(tmp, path)
            except OSError:
                pass  # a read-only home is fine: we just compile again next time
        return db

    def _build(self) -> Any:
        assert _hs is not None
        everything = range(len(self.rules))
        try:
            return self._compile(everything)
        except _hs.error:
            pass
        # Some rule cannot be compiled: find which ones (one probe each) and let them always run under re.
        ok: list[int] = []
        bad: list[int] = []
        for i in everything:
            try:
                self._compile([i])
                ok.append(i)
            except _hs.error:
                bad.append(i)
        self._always = tuple(bad)
        return self._compile(ok) if ok else None

    def _database(self) -> Any:
        if self._db is None:
            with self._lock:
                if self._db is None:
                    self._db = self._load_or_build() or False
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
        # "replace" keeps the bytes valid UTF-8 (lone surrogates would break Hyperscan's UTF-8 mode);
        # the prefilter only needs to know which patterns can match, not where. The trailing newline works
        # around a Hyperscan bug: it can miss a match that ends the buffer (`['"][ \t+)]*(?:--|#|/\*)` never
        # fires on "xxxxxxxxxxxxxx'--", even outside prefilter mode). A newline can only add candidates: `$`
        # still matches before a final newline, and it is no word character, so \b and \B are unchanged.
        data = text.encode("utf-8", "replace") + b"\n"
        db.scan(data, match_event_handler=_collect, context=hits, scratch=scratch)
        if self._always:
            hits.sort()
        return hits

    # -- matching ----------------------------------------------------------------------------------
    def finditer(self, text: str, candidates: Iterable[int] | None = None) -> Iterator[tuple[Rule, re.Match[str]]]:
        """Yield ``(rule, match)`` for every ``re`` match of every rule that passed the prefilter.

        ``candidates`` (from an earlier ``candidates(text)`` on the same text) saves a second prefilter pass.
        """
        for i in self.candidates(text) if candidates is None else candidates:
            rule = self.rules[i]
            for m in self._compiled[i].finditer(text):
                yield rule, m

    def search(self, text: str) -> Iterator[tuple[Rule, re.Match[str]]]:
        """Yield ``(rule, first match)`` for each rule that matches ``text`` at least once."""
        for i in self.candidates(text):
            m = self._compiled[i].search(text)
            if m is not None:
                yield self.rules[i], m
