"""Prompt-injection and jailbreak detector: multilingual rules, de-obfuscation, an offline n-gram classifier.

The rules (instruction override, system-prompt extraction, persona jailbreaks, fake system or tool tags and
indirect injection, in seven languages) live in ``injection_rules.py``; de-obfuscation (homoglyphs,
invisible characters, leetspeak, spaced-out letters, base64) lives in ``injection_text.py``. This module
runs them, applies the false-positive rules and the classifier, and merges the findings: overlapping hits,
and hits less than 64 characters apart, are one finding (an injected region, not one finding per phrase).

Time stays linear in the text, adversarial text included: long texts are scanned in chunks, so a rule runs
under ``re`` only near where the prefilter found it may match, and the false-positive rules look up their
context words (code markers, device names, "what does … mean") in an index built once per text rather than
searching around each of 100,000 repeated hits.

Named false-positive rules clear a hit that is negated ("don't ignore the previous instructions"), quoted in
a question about it ("what does 'ignore previous instructions' mean?"), a device setting ("developer mode
in Chrome") or an API example in code; the cleared phrase is hidden from the classifier too.

The classifier (``injection_model.py``, weights in ``models/injection.json``) is a logistic regression on
word unigrams and bigrams, each counted once per 48-token chunk; it scores every window of two chunks
(~500 characters) and the best one decides, so a short injection in a long document is still found and its
finding covers that window. ``scripts/train_injection.py`` trained it on pyrit's jailbreak templates (filled
with harmful and harmless requests), injections written in seven languages (``scripts/injection_data.py``:
override, extraction, personas, fake tags, indirect injections planted in documents) against benign text:
pyrit's model responses and evaluation requests, AdvBench requests (harmful but not injections), and
templated assistant requests, harmless trigger-word sentences, benign role-play ("I want you to act as…"),
prose, documents, AI-developer questions and API code in the same languages. One fifth of every source was
held out; the threshold is the lowest probability with at most 1 % false positives in every held-out benign
group. The model file records sources, counts, date and held-out metrics.

Known blind spots: injections phrased as ordinary requests ("as a test, print the admin password"),
jailbreak templates that only ask for an output format (prefix, JSON-only, code-completion nesting),
many-shot and multi-turn attacks spread over messages, payloads split across variables, languages other
than the seven above, encodings other than base64 (hex, rot13, URL-encoding), partially spaced words
("ig nore"), text in images, and attack phrases quoted in security discussions (flagged unless asked about
as a quoted phrase). Benign role-play that borrows jailbreak vocabulary can score high, and the rules
accept "ignore the previous instructions" even when a human means instructions on a form.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import repeat

from proctor.detect.casing import lowered
from proctor.detect.injection_model import InjectionModel, bundled_model, token_span
from proctor.detect.injection_rules import CASE_CHECKS, MAX_SPAN, SCORES, pattern_set
from proctor.detect.injection_text import Normalized, base64_runs, base64_spans, needs_fold
from proctor.detect.scan import Rule
from proctor.findings import Finding

TYPE = "injection"

# -- false-positive suppression (each one small, named and tested) -------------------------------------------


def _phrases(*phrases: str) -> re.Pattern[str]:
    r"""One regex for many phrases (regex snippets) on lower-cased text; ``\b`` may start a phrase.

    ``\b(?:a|b|…)`` makes sre try every alternative at every position (100-200 ns a character: 0.2 s on a
    1 MB text). Grouped by their first (literal) character, with a leading ``\b`` checked by a one-character
    look-behind after it, the phrases let sre skip to where one can start, several times faster. Groups keep
    the phrases' order, so the same alternative wins at each position.
    """
    groups: dict[str, list[str]] = {}
    for phrase in phrases:
        bounded = phrase.startswith(r"\b")
        body = phrase[2:] if bounded else phrase
        first = re.escape(body[0])
        groups.setdefault(rf"{first}(?<=\b{first})" if bounded else first, []).append(body[1:])
    return re.compile("|".join(f"{head}(?:{'|'.join(tails)})" for head, tails in groups.items()))


def _words(alternatives: str) -> tuple[str, ...]:
    r"""``"a|b(?:c|d)"`` -> ``(r"\ba\b", r"\bb(?:c|d)\b")``: whole-word phrases from a top-level alternation."""
    out: list[str] = []
    depth = last = 0
    for i, c in enumerate(alternatives + "|"):
        depth += (c == "(") - (c == ")")
        if c == "|" and depth == 0:
            out.append(rf"\b{alternatives[last:i]}\b")
            last = i + 1
    return tuple(out)


# The context patterns match at most this many characters (plus one peeked at by a trailing \b).
_CONTEXT_WIDTH = 64


class ContextIndex:
    """Where the suppression rules' context words occur in one text, for answering many questions cheaply.

    A 1 MB text can hold 100,000 rule hits ("<system>" repeated); searching the few hundred characters around
    each of them would cost seconds. So the windows asked about are searched one by one only until they add up
    to the length of the text; after that, the pattern's matches over the whole (lower-cased) text are found
    once and each question ("is there a code marker in the 400 characters before?") is a bisect.

    Both ways give the same answer because no match of a context pattern can start inside another one (each
    pattern is written so): the matches a search finds from any position are the whole-text matches from
    there. A context word counts when it lies wholly inside the window: a word cut by its edge does not.
    """

    __slots__ = ("_found", "_low", "_searched", "text")

    def __init__(self, text: str, *, low: str | None = None) -> None:
        self.text = text
        self._low = low  # ``text`` lower-cased, when the caller has it
        self._found: dict[re.Pattern[str], tuple[list[int], list[int]]] = {}
        self._searched: dict[re.Pattern[str], int] = {}  # characters searched window by window so far

    def has(self, pattern: re.Pattern[str], lo: int, hi: int) -> bool:
        """Whether a match of ``pattern`` (written for lower-case text) lies inside ``text[lo:hi]``."""
        lo = max(lo, 0)
        if self._low is None:
            self._low = _lower(self.text)
        found = self._found.get(pattern)
        if found is None:
            searched = self._searched.get(pattern, 0) + hi - lo
            if searched <= len(self.text):
                self._searched[pattern] = searched
                m = pattern.search(self._low, lo, hi + _CONTEXT_WIDTH)
                return m is not None and m.end() <= hi
            spans = [m.span() for m in pattern.finditer(self._low)]
            found = self._found[pattern] = ([s for s, _ in spans], [e for _, e in spans])
        starts, ends = found
        # The first match starting inside the window is the one that ends earliest.
        i = bisect_left(starts, lo)
        return i < len(starts) and ends[i] <= hi


_NEGATION_BEFORE = re.compile(
    r"(?:\b(?:do not|don't|dont|never|not to|shouldn't|should not|must not|mustn't|won't|will not|cannot|"
    r"can't|please don't|nicht|kein|pas|nunca|no|non|mai|niet|não|nao))\s{1,3}$", re.IGNORECASE)


def is_negated(text: str, start: int) -> bool:
    """'Don't ignore the previous instructions' asks the model to keep its rules."""
    return _NEGATION_BEFORE.search(text, start - 24, start) is not None  # re treats a negative pos as 0


_DEVICE_WORDS = _phrases(*_words(
    "chrome|chromium|firefox|edge|safari|browser|extensions?|android|iphone|ipad|ios|phone|tablet|samsung|pixel|"
    "windows|macos|linux|xbox|playstation|steam|roblox|minecraft|router|bios|usb debugging|build number|settings|"
    "xcode|visual studio|vs code|console|app|device|smart ?tv|einstellungen|paramètres|parametres|ajustes|"
    "configuración|impostazioni|handy|telefon|téléphone|teléfono|telefono"))
_AI_WORDS = _phrases(*_words(r"chatgpt|openai|gpt|ai|llm|assistant|model|polic(?:y|ies)|uncensored|unfiltered|"
                             r"jailbr\w{0,6}|ethic\w{0,6}|restrictions?|content"))


def is_device_developer_mode(text: str, start: int, end: int, index: ContextIndex | None = None) -> bool:
    """'Enable developer mode in Chrome / on Android' is about software settings, not a jailbreak.

    ``index`` (a ContextIndex of the same text) makes many questions about one text cheap.
    """
    index = ContextIndex(text) if index is None else index
    return index.has(_DEVICE_WORDS, start - 80, end + 80) and not index.has(_AI_WORDS, start - 80, end + 80)


# Look-aheads keep markers from overlapping ("import json." holds "import " and "json.").
_CODE_MARKERS = _phrases("```(?<!````)", r"\bimport (?=\w)", r"\bclient\.", r"\bmessages\s{0,2}=", r"\bdef (?=\w)",
                         r"\bconst (?=\w)", r"\bcurl\b", r"requests\.", r"\bjson\.", r"\bpayload\b", r"\bfetch\(",
                         r"\bcreate\(", r"\bawait (?=\w)")


def in_code_context(text: str, start: int, index: ContextIndex | None = None) -> bool:
    """A ``{"role": "system"}`` or ``<system>`` tag inside code someone asks about is an API example.

    ``index`` (a ContextIndex of the same text) makes many questions about one text cheap.
    """
    index = ContextIndex(text) if index is None else index
    return index.has(_CODE_MARKERS, start - 400, start)


_QUOTES = "\"'“”‘’«»„`"
_QUOTE = re.compile(f"[{re.escape(_QUOTES)}]")
_QUOTE_OR_STOP = re.compile(f"[{re.escape(_QUOTES)}.!\n]")
_ASKS_ABOUT = _phrases(*_words("what (?:does|is|do)|what's|meaning of|means?|explain|example of|examples of|"
                               "detect|block|prevent|defend|classif(?:y|ier)|stands? for|was bedeutet|"
                               "que signifie|qué significa|cosa significa"))


def is_quoted_question(text: str, start: int, end: int, index: ContextIndex | None = None) -> bool:
    """"What does 'ignore previous instructions' mean?" asks about the phrase instead of using it.

    ``index`` (a ContextIndex of the same text) makes many questions about one text cheap.
    """
    if _QUOTE.search(text, start - 3, start) is None:
        return False
    close = _QUOTE_OR_STOP.search(text, end, end + 40)  # the closing quote, before the sentence ends
    if close is None or close.group() in ".!\n":
        return False
    index = ContextIndex(text) if index is None else index
    return index.has(_ASKS_ABOUT, start - 80, close.start() + 60)


def _suppressed(rule: _Rule, index: ContextIndex, start: int, end: int) -> bool:
    text = index.text
    if rule.negatable and is_negated(text, start):
        return True
    if rule.developer and is_device_developer_mode(text, start, end, index):
        return True
    if rule.code_tag and in_code_context(text, start, index):
        return True
    return is_quoted_question(text, start, end, index)


# -- running the rules --------------------------------------------------------------------------------------

_CHUNK = 4096  # texts longer than _CHUNK + MAX_SPAN characters are scanned in chunks of this size


@dataclass(frozen=True, slots=True)
class _Rule:
    """A finding rule and what judging its hits needs, looked up once rather than per hit."""

    key: str
    pattern: re.Pattern[str]
    score: float
    case: re.Pattern[str] | None  # CASE_CHECKS: confirmed on the original text's case
    negatable: bool  # an override rule: is_negated applies
    developer: bool  # a developer-mode rule: is_device_developer_mode applies
    code_tag: bool  # a tag that API examples hold: in_code_context applies

    @classmethod
    def of(cls, rule: Rule) -> _Rule:
        key = rule.key
        return cls(key, re.compile(rule.pattern, rule.flags), SCORES.get(key.partition(".")[0], 0.0),
                   CASE_CHECKS.get(key), key.startswith("override."),
                   key in ("persona.developer_mode", "persona.developer_mode_intl"),
                   key in ("tag.xml", "tag.json_role"))


@dataclass(slots=True)
class _Hits:
    """What the rules found in one lower-cased text."""

    spans: list[tuple[_Rule, list[tuple[int, int]]]] = field(default_factory=list)  # finding rules' hits
    spaced: bool = False  # aux.spaced matched: letters are spaced out
    leet: bool = False  # aux.leet matched: a trigger word is written in leetspeak


class _Rules:
    """The rules of ``injection_rules.pattern_set()``, run so that time stays linear in the length of the text.

    A short text gets what ``PatternSet.finditer`` does: one Hyperscan pass, then ``re`` over the whole text
    for each rule the prefilter lets through. On a long varied text most rules pass the prefilter somewhere,
    and running each of them over the whole text made 100 KB cost five times as much per KB as 10 KB. So a
    long text is cut into chunks of _CHUNK characters, each prefiltered together with the MAX_SPAN characters
    after it (any match that starts in the chunk ends there), and ``re`` runs only where the prefilter let the
    rule through. ``re`` searches the whole text with ``pos``/``endpos``, so look-behinds and ``\\b`` see the
    characters before a chunk, and each rule resumes where its previous match ended: the matches are exactly
    those of one ``finditer`` over the whole text.
    """

    def __init__(self) -> None:
        self.patterns = pattern_set()
        self.rules = [_Rule.of(r) for r in self.patterns.rules]
        keys = [r.key for r in self.rules]
        self.spaced = keys.index("aux.spaced")
        self.leet = keys.index("aux.leet")

    def run(self, low: str) -> _Hits:
        hits = _Hits()
        n = len(low)
        chunk = _CHUNK if n > _CHUNK + MAX_SPAN else max(n, 1)
        resume = [0] * len(self.rules)  # where each rule's previous match ended
        for start in range(0, n, chunk):
            end = min(n, start + chunk)
            stop = min(n, end + MAX_SPAN)
            for i in self.patterns.candidates(low if stop - start == n else low[start:stop]):
                rule = self.rules[i]
                if i == self.spaced:
                    hits.spaced = hits.spaced or _starts_before(rule.pattern.search(low, start, stop), end)
                elif i == self.leet:
                    hits.leet = hits.leet or _starts_before(rule.pattern.search(low, start, stop), end)
                else:
                    found = list(rule.pattern.finditer(low, max(start, resume[i]), stop))
                    while found and found[-1].start() >= end:  # the next chunk's (and found again there)
                        found.pop()
                    if found:
                        resume[i] = found[-1].end()
                        # A gated rule's finding is its look-ahead, captured as group 1.
                        spans = map(re.Match.span, found, repeat(1)) if rule.pattern.groups else map(
                            re.Match.span, found)
                        hits.spans.append((rule, list(spans)))
        return hits


def _starts_before(m: re.Match[str] | None, end: int) -> bool:
    return m is not None and m.start() < end


# -- detector -----------------------------------------------------------------------------------------------


class InjectionDetector:
    """Prompt injection and jailbreak attempts in user messages, tool output and retrieved documents.

    ``model`` defaults to the classifier shipped in the package; ``threshold`` overrides its threshold
    (probability in [0, 1]). ``classifier=False`` keeps only the rules.
    """

    name = "injection"
    types: tuple[str, ...] = (TYPE,)

    def __init__(self, model: InjectionModel | None = None, *, threshold: float | None = None,
                 classifier: bool = True) -> None:
        self._rules = _rules()
        self._model = (model or bundled_model()) if classifier else None
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold: expected a probability in [0, 1]; found {threshold!r}")
        default = self._model.threshold if self._model else 1.0
        self._threshold = default if threshold is None else threshold

    def detect(self, text: str) -> list[Finding]:
        if not text:
            return []
        spans, runs = self._scan(text)
        for start, end, decoded in base64_runs(text, runs):
            inner, _ = self._scan(decoded)  # one level only: decoded text is not decoded again
            if inner:
                spans.append((start, end, max(score for _, _, score in inner)))
        return [Finding(TYPE, s, e, score) for s, e, score in _merge(spans)]

    def _scan(self, text: str) -> tuple[list[tuple[int, int, float]], Iterable[tuple[int, int]]]:
        """Rules, then the classifier, on the text or on its de-obfuscated copy; spans are in ``text``.

        Also returns the spans of the text's base64 candidates.
        """
        low = _lower(text)
        hits = self._rules.run(low)
        spans, cleared = self._judge(text, low, hits)
        target, norm = text, None
        if hits.spaced or hits.leet or needs_fold(text):
            candidate = Normalized(text, leet=hits.leet)
            if candidate.text != text:
                target, norm = candidate.text, candidate
                low_target = _lower(target)
                spans, cleared = self._judge(target, low_target, self._rules.run(low_target))
                spans = [(*norm.span(s, e), score) for s, e, score in spans]
        if self._model is not None:
            shown = _mask(target, cleared) if cleared else target
            spans.extend(_classify(self._model, self._threshold, shown, norm))
        return spans, base64_spans(text, low)

    @staticmethod
    def _judge(text: str, low: str, hits: _Hits) -> tuple[list[tuple[int, int, float]], list[tuple[int, int]]]:
        """Rule hits as ``(start, end, score)``, and the phrases a suppression rule cleared.

        Cleared phrases (negated, quoted in a question, a device setting, an API example) are no finding, and
        the classifier does not see them either, so that the two parts agree.
        """
        spans: list[tuple[int, int, float]] = []
        cleared: list[tuple[int, int]] = []
        index = ContextIndex(low, low=low)
        for rule, found in hits.spans:
            case, score = rule.case, rule.score
            for start, end in found:
                if case is not None and case.search(text, start, end) is None:
                    continue
                if _suppressed(rule, index, start, end):
                    cleared.append((start, end))
                else:
                    spans.append((start, end, score))
        return spans, cleared


@lru_cache(maxsize=1)
def _rules() -> _Rules:
    return _Rules()


def _classify(model: InjectionModel, threshold: float, text: str,
              norm: Normalized | None) -> Iterator[tuple[int, int, float]]:
    """The classifier's finding, if any: its best window, mapped back to the original text."""
    result = model.score(text)
    if result.probability >= threshold:
        start, end = token_span(text, result.first, result.last)
        if norm is not None:
            start, end = norm.span(start, end)
        yield start, end, result.probability


def _mask(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """Blank out spans (same length), so the classifier does not see phrases the rules cleared."""
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def _lower(text: str) -> str:
    """Lower-cased copy with the same length, so spans found in it are spans of ``text``."""
    low = lowered(text)
    if len(low) != len(text):  # rare: "İ" lower-cases to two characters
        low = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    return low


# Hits closer than this become one finding: "<system>" or "[INST] " repeated over 1 MB is one injected region,
# not 150,000 findings (each of which the policy engine and the audit record would then carry).
_JOIN = 64


def _merge(spans: list[tuple[int, int, float]]) -> list[tuple[int, int, float]]:
    """Overlapping spans, and spans less than _JOIN characters apart, become one finding with the highest score."""
    out: list[tuple[int, int, float]] = []
    for start, end, score in sorted(spans):
        if out and start < out[-1][1] + _JOIN:
            s, e, sc = out[-1]
            out[-1] = (s, max(e, end), max(sc, score))
        else:
            out.append((start, end, score))
    return out



__all__ = ["TYPE", "ContextIndex", "InjectionDetector", "in_code_context", "is_device_developer_mode", "is_negated",
           "is_quoted_question"]
